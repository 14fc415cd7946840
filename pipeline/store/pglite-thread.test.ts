/**
 * The embedded database on its own thread (`openDatabase(…, { thread: true })`, what `tuban batch`
 * uses), with real PGlite: it is the same database as the in-process one (writes persist and the
 * in-process open reads them), transactions commit and roll back as there, PostgreSQL's errors
 * arrive with their code, the template is built and logged from the thread, the directory lock is
 * held until close, and a closed one refuses calls.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import type { TemplateLog } from './database-template.js';
import { migrate } from './migrations.js';
import { openDatabase } from './open-database.js';
import type { Database } from './queryable.js';

let dir: string;
let db: Database;
const lines: string[] = [];
const log: TemplateLog = (level, m) => lines.push(`${level}: ${m}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-pglite-thread-'));
  db = await openDatabase(join(dir, 'db'), { templateCache: join(dir, 'cache'), log, thread: true });
  await migrate(db);
  // Builds a template (initdb + PostGIS, ~15 s on an idle 2-core machine, minutes on a loaded one).
}, 600_000);
afterAll(async () => {
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the embedded database on its own thread', () => {
  it('built the template there and said so through the caller’s log', () => {
    expect(lines.some((l) => l.startsWith('info: building the embedded database template'))).toBe(true);
  });

  it('answers queries with parameters, PostGIS and typed rows like the in-process one', async () => {
    expect(db.kind).toBe('pglite');
    const r = await db.query<{ n: number; s: string; j: { a: number[] }; area: number }>(
      `SELECT $1::int + 1 AS n, $2::text AS s, $3::jsonb AS j, ST_Area(ST_MakeEnvelope(0, 0, 2, 3)) AS area`,
      [41, 'tile', JSON.stringify({ a: [1, 2] })],
    );
    expect(r.rows).toEqual([{ n: 42, s: 'tile', j: { a: [1, 2] }, area: 6 }]);
  });

  it('commits a transaction whose function resolves, and rolls back one that throws', async () => {
    await db.query('CREATE TABLE t (k int PRIMARY KEY, v text)');
    const out = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1, $1)', ['kept']);
      return (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0].n;
    });
    expect(out).toBe(1);
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (2, $1)', ['dropped']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    // A failing statement inside: the transaction is rolled back and the database's error comes out.
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (3, $1)', ['dropped too']);
        await tx.query('INSERT INTO t VALUES (1, $1)', ['duplicate']);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    const rows = await db.query<{ k: number; v: string }>('SELECT k, v FROM t ORDER BY k');
    expect(rows.rows).toEqual([{ k: 1, v: 'kept' }]);
  });

  it('passes PostgreSQL errors through with their code and message', async () => {
    await expect(db.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01', message: expect.stringContaining('no_such_table') });
    // And keeps answering afterwards.
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('holds the directory until closed; then the data are there for the in-process open, and the closed one refuses calls', async () => {
    const target = join(dir, 'db');
    const busy = await openDatabase(target).then(
      async (d) => {
        await d.close();
        return 'opened';
      },
      (err: unknown) => (err instanceof TubanError ? err.code : String(err)),
    );
    expect(busy).toBe('DB.LOCKED');
    await db.close();
    await expect(db.query('SELECT 1')).rejects.toThrow(/closed/);
    const again = await openDatabase(target);
    try {
      expect((await again.query<{ v: string }>('SELECT v FROM t')).rows).toEqual([{ v: 'kept' }]);
    } finally {
      await again.close();
    }
  });
});
