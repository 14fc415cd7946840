/**
 * A newer Tuban's command beside an older Tuban's running `tuban serve` on the same embedded
 * database: every command that migrates (migrate, user, ledger, report, batch) went through the old
 * server's socket and upgraded the database under it (`applied migrations 12, …, 21`, exit 0), so the
 * old server went on serving the bureaus on tables it does not know — what DB.TOO_NEW keeps a stopped
 * old server from doing. Now such a command is refused, DB.SERVER_OLDER (exit 1), and nothing changes.
 * The older server here: a database migrated to 11 only (a release of 2026-12-06), shared on the
 * directory's socket as `tuban serve` does (a server of this version migrates before it shares).
 * Needs `npm run build` first.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDirectoryLock, type DirectoryLock } from '../pipeline/store/directory-lock.js';
import { migrate, MIGRATIONS } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import type { Database } from '../pipeline/store/queryable.js';
import { shareDatabase, type SharedDatabase } from '../pipeline/store/shared-database.js';
import { CLI, runCli } from './testing/run-cli.js';

const OLD = 11;
let root: string;
let dir: string;
let lock: DirectoryLock;
let server: Database;
let shared: SharedDatabase;

const versions = async () => (await server.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  root = await mkdtemp(join(tmpdir(), 'tuban-older-server-'));
  dir = join(root, 'db');
  lock = await acquireDirectoryLock(dir);
  // The server's database is in memory here; the directory only has to look like one to the
  // commands that read an existing database (user, ledger), as the real one's PG_VERSION does.
  await mkdir(dir);
  await writeFile(join(dir, 'PG_VERSION'), '17\n');
  server = await openDatabase('memory://');
  await migrate(server, MIGRATIONS.filter((m) => m.version <= OLD));
  shared = await shareDatabase(server, dir);
}, 120_000);

afterAll(async () => {
  await shared?.close();
  await server?.close();
  await lock?.release();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a newer command beside an older running tuban serve', () => {
  it('refuses to migrate the database under it, through the socket or the API', async () => {
    const client = await openDatabase(dir);
    try {
      await expect(migrate(client)).rejects.toMatchObject({ code: 'DB.SERVER_OLDER' });
    } finally {
      await client.close();
    }
    expect(await versions()).toEqual(MIGRATIONS.filter((m) => m.version <= OLD).map((m) => m.version));
  }, 60_000);

  it.each([['migrate'], ['user', 'list'], ['ledger', '--epoch', '2026-10', '--format', 'csv']])('tuban %s exits 1 naming the server and what to do, nothing changed', async (...args) => {
    const out = join(root, `out-${args[0]}`);
    const r = await runCli([...args, '--db', dir, ...(args[0] === 'ledger' ? ['--out', out] : [])]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DB.SERVER_OLDER');
    expect(r.stderr).toContain(`schema version ${OLD}`);
    expect(r.stderr).toMatch(/stop (that|the) server/);
    expect(r.stdout).not.toContain('applied migrations');
    expect(existsSync(out)).toBe(false);
    expect(Math.max(...(await versions()))).toBe(OLD);
  }, 60_000);

  it('still lets a command of the server’s own version through (nothing to migrate)', async () => {
    const client = await openDatabase(dir);
    try {
      expect(await migrate(client, MIGRATIONS.filter((m) => m.version <= OLD))).toEqual([]);
    } finally {
      await client.close();
    }
  }, 60_000);
});
