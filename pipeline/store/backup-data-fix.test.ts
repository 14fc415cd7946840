/**
 * A backup of an older schema restored into a database already past it (a fresh embedded one is a
 * copy of the current template): the later migrations' data steps had no rows to move when they ran,
 * so the restore runs them again. Migration 21 moved a tile's store stamp from tiles.info.storedAt to
 * tiles.stored_at; a restored pre-21 row kept it where nothing reads it, and a re-run of the batch took
 * another batch's later result for a take-over.
 * On the PostgreSQL server of TUBAN_TEST_DATABASE_URL in a fresh schema when set, else PGlite.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpDatabase, restoreDatabase } from './backup.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { openDatabase } from './open-database.js';

describe('restoring a backup older than a migration with a data step', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });
  const open = async (name: string) => {
    const url = process.env.TUBAN_TEST_DATABASE_URL;
    const db = url ? await openDatabase(url, { schema: `tuban_backup_fix_${name}_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
    cleanup.push(() => db.close());
    return db;
  };

  it('moves a pre-21 tile row\'s info.storedAt into tiles.stored_at', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-backup-fix-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const old = await open('old');
    await migrate(old, MIGRATIONS.filter((m) => m.version <= 20));
    await old.query(`INSERT INTO batches (id, epoch, status) VALUES ('b1', '2026-10', 'done')`);
    await old.query(`INSERT INTO tiles (batch_id, tile_id, status, info) VALUES ('b1', 't1', 'done', '{"storedAt": "2026-11-02T03:04:05.000Z", "tile": {"id": "t1"}}'::jsonb)`);
    await mkdir(join(dir, 'tables'), { recursive: true });
    const manifest = await dumpDatabase(old, dir);
    expect(manifest.schemaVersion).toBe(20);

    // Already at the latest version, as a fresh embedded database is.
    const fresh = await open('fresh');
    await migrate(fresh);
    await restoreDatabase(fresh, dir, manifest);
    const r = await fresh.query<{ stored_at: Date | string | null; info: Record<string, unknown> }>(`SELECT stored_at, info FROM tiles WHERE batch_id = 'b1'`);
    expect(r.rows.map((row) => [row.stored_at && new Date(row.stored_at).toISOString(), row.info])).toEqual([['2026-11-02T03:04:05.000Z', { tile: { id: 't1' } }]]);
  }, 120_000);

  // Migration 15 filled cases.township_code in its schema step: a pre-15 backup restored into a
  // database past it left every case without a township, out of the township accounts' sight.
  it('finds every migration\'s step over rows in its dataFix, where a restore runs it again', () => {
    const rowSteps = (sql: string) => sql.split('\n').filter((line) => /^\s*(UPDATE|INSERT\s+INTO|DELETE\s+FROM)\b/i.test(line));
    expect(MIGRATIONS.filter((m) => rowSteps(m.sql).length > 0).map((m) => [m.version, rowSteps(m.sql)])).toEqual([]);
    expect(MIGRATIONS.filter((m) => m.dataFix).map((m) => m.version)).toEqual(expect.arrayContaining([15, 21]));
  });
});
