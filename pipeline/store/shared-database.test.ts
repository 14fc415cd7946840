/**
 * The embedded database shared over `<dir>.sock` (what `tuban serve` does for the other commands):
 * queries and transactions answered by the holder's PGlite, errors with PostgreSQL's code, a
 * client's open transaction holding the server's own queries until it ends, a client that goes
 * away mid-transaction rolled back, and openDatabase using the socket instead of failing DB.LOCKED.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.js';
import { openDatabase } from './open-database.js';
import type { Database } from './queryable.js';
import { connectSharedDatabase, shareDatabase, socketPathFor, type SharedDatabase } from './shared-database.js';

let root: string;
let dir: string;
let lock: DirectoryLock;
let server: Database;
let shared: SharedDatabase;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tuban-shared-'));
  dir = join(root, 'db');
  // What tuban serve does: hold the directory, open it, share it.
  lock = await acquireDirectoryLock(dir);
  server = await openDatabase('memory://');
  await server.query('CREATE TABLE t (id int PRIMARY KEY, b bytea, at timestamptz)');
  shared = await shareDatabase(server, dir);
}, 120_000);

afterAll(async () => {
  await shared?.close();
  await server?.close();
  await lock?.release();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a database shared on a socket', () => {
  it('answers queries and transactions with the holder’s database, bytes and dates intact', async () => {
    const client = (await connectSharedDatabase(dir))!;
    try {
      const bytes = Uint8Array.from([0, 1, 254, 255]);
      await client.query('INSERT INTO t VALUES (1, $1, $2)', [bytes, '2026-12-06T01:02:03Z']);
      const r = await client.query<{ b: Uint8Array; at: Date }>('SELECT b, at FROM t WHERE id = 1');
      expect([...r.rows[0].b]).toEqual([0, 1, 254, 255]);
      expect(r.rows[0].at.toISOString()).toBe('2026-12-06T01:02:03.000Z');
      await client.transaction(async (tx) => {
        await tx.query('INSERT INTO t (id) VALUES (2)');
      });
      await expect(
        client.transaction(async (tx) => {
          await tx.query('INSERT INTO t (id) VALUES (3)');
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await server.query<{ id: number }>('SELECT id FROM t ORDER BY id')).rows.map((x) => x.id)).toEqual([1, 2]);
      // PostgreSQL's fields come back: a unique violation is 23505.
      const dup = await client.query('INSERT INTO t (id) VALUES (1)').catch((e: unknown) => e);
      expect((dup as { code?: string }).code).toBe('23505');
    } finally {
      await client.close();
    }
  });

  it("holds the server's own queries while a client's transaction is open, and rolls back a client that goes away", async () => {
    const client = (await connectSharedDatabase(dir))!;
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const txDone = client.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES (10)');
      inside();
      await new Promise(() => {}); // never ends: the client process dies here
    });
    void txDone; // stays pending: its process has gone
    await entered;
    let serverAnswered = false;
    const serverQuery = server.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE id = 10').then((r) => {
      serverAnswered = true;
      return r.rows[0].n;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(serverAnswered).toBe(false); // waits for the client's transaction, as for its own
    await client.close(); // the client goes away mid-transaction
    expect(await serverQuery).toBe(0); // rolled back, and the server goes on
  });

  it('is what openDatabase uses for a held directory, unless told not to (the server itself)', async () => {
    const viaServer = await openDatabase(dir, { templateCache: null });
    try {
      expect((await viaServer.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
    } finally {
      await viaServer.close();
    }
    await expect(openDatabase(dir, { templateCache: null, viaServer: false })).rejects.toMatchObject({ code: 'DB.LOCKED' });
  });

  it('with --wait-db, goes through a server that was still starting (its lock taken, its socket not yet made) once it shares', async () => {
    const starting = join(root, 'starting');
    // tuban serve between taking the lock and listening on its socket (opening, migrating: seconds).
    const serverLock = await acquireDirectoryLock(starting, { role: 'server' });
    let late: SharedDatabase | undefined;
    try {
      const t0 = Date.now();
      const opening = openDatabase(starting, { templateCache: null, lock: { waitSeconds: 20, pollMs: 50 } });
      setTimeout(() => void shareDatabase(server, starting).then((s) => (late = s)), 500);
      const db = await opening;
      try {
        expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
        expect(Date.now() - t0).toBeLessThan(10_000);
      } finally {
        await db.close();
      }
    } finally {
      await late?.close();
      await serverLock.release();
    }
  });

  it('with --wait-db, goes through a restarted server still starting beside the socket file its killed predecessor left', async () => {
    const restarted = join(root, 'restarted');
    // The killed server's socket file: nobody answers there until the new server replaces it.
    await writeFile(socketPathFor(restarted), '');
    const serverLock = await acquireDirectoryLock(restarted, { role: 'server' });
    let late: SharedDatabase | undefined;
    try {
      const opening = openDatabase(restarted, { templateCache: null, lock: { waitSeconds: 20, pollMs: 50 } });
      setTimeout(() => void shareDatabase(server, restarted).then((s) => (late = s)), 500);
      const db = await opening;
      try {
        expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
      } finally {
        await db.close();
      }
    } finally {
      await late?.close();
      await serverLock.release();
    }
  });

  it('finds nobody at a missing socket or a dead holder’s socket file', async () => {
    expect(await connectSharedDatabase(join(root, 'nobody'))).toBeNull();
    await writeFile(socketPathFor(join(root, 'dead')), '');
    expect(await connectSharedDatabase(join(root, 'dead'))).toBeNull();
  });
});
