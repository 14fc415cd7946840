/**
 * A month's batch over the very acquisition an earlier month filed (last month's folder given as
 * --tiles) rejects that tile (TILE.ALREADY_FILED): it made every site over it "continuing" and the
 * month read "no new violation", exit 0, over ground nobody had looked at this month. Its ground is
 * not observed, the batch exits 3. A tile of the same files with another date, the month's own batch
 * run again, or an earlier month's, are not "already filed". Embedded PGlite.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureCollection } from 'geojson';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import type { TileInfo } from '../../geo/tile-reader.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { upsertBatch, upsertTiles } from '../store/repository.js';
import { BatchArgsSchema } from './batch-args.js';
import { filedInEarlierMonth } from './refiled-imagery.js';
import { runBatch } from './run-batch.js';

let db: Database;
const cleanup: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  db = await openDatabase('memory://');
  await migrate(db);
}, 120_000);
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  await db?.close();
});

const tile = (id: string, date: string) => ({ id, date, files: [`/data/${id}.tif`] }) as unknown as TileInfo;

describe('filedInEarlierMonth', () => {
  it("names the earlier month's batch that used the same acquisition of the tile as its current imagery", async () => {
    await upsertBatch(db, { id: 'b-sep', epoch: '2026-09', params: {} });
    await upsertBatch(db, { id: 'b-oct', epoch: '2026-10', params: {} });
    const rows = (ts: TileInfo[], role: 'current' | 'prior') => ts.map((t) => ({ tileId: t.id, role, info: { tile: t } }));
    await upsertTiles(db, 'b-oct', rows([tile('t1', '2026-10-08'), tile('t2', '2026-10-08')], 'current'));
    await upsertTiles(db, 'b-oct', rows([tile('p1', '2026-09-08')], 'prior'));
    await upsertTiles(db, 'b-sep', rows([tile('t1', '2026-10-08')], 'current'));
    await db.query("UPDATE tiles SET status = 'done' WHERE role = 'current'");
    await db.query("UPDATE batches SET status = 'done'");
    expect(await filedInEarlierMonth(db, '2026-11', tile('t1', '2026-10-08'))).toEqual({ epoch: '2026-10', batchId: 'b-oct' });
    // A tile that month rejected (or never finished), a batch never finished or replaced: nothing
    // of the acquisition was issued, so it may serve a later month.
    for (const [id, status] of [['b-aug-skip', 'skipped'], ['b-aug-pend', 'pending']] as const) {
      await upsertBatch(db, { id, epoch: '2026-08', params: {} });
      await db.query("UPDATE batches SET status = 'done' WHERE id = $1", [id]);
      await upsertTiles(db, id, rows([tile(`t-${status}`, '2026-08-08')], 'current'));
      await db.query('UPDATE tiles SET status = $2 WHERE batch_id = $1', [id, status]);
      expect(await filedInEarlierMonth(db, '2026-09', tile(`t-${status}`, '2026-08-08'))).toBeNull();
    }
    await upsertBatch(db, { id: 'b-jul', epoch: '2026-07', params: {} });
    await upsertBatch(db, { id: 'b-jul-2', epoch: '2026-07', params: {} });
    await db.query("UPDATE batches SET status = 'done' WHERE epoch = '2026-07'");
    await upsertTiles(db, 'b-jul', rows([tile('t-jul', '2026-07-08')], 'current'));
    await db.query("UPDATE tiles SET status = 'done' WHERE batch_id = 'b-jul'");
    expect(await filedInEarlierMonth(db, '2026-08', tile('t-jul', '2026-07-08'))).toEqual({ epoch: '2026-07', batchId: 'b-jul' });
    await db.query("UPDATE batches SET replaced_by = 'b-jul-2' WHERE id = 'b-jul'");
    expect(await filedInEarlierMonth(db, '2026-08', tile('t-jul', '2026-07-08'))).toBeNull();
    // A batch that crashed or was abandoned before it finished (its tile rows done) issued nothing.
    await db.query("UPDATE batches SET replaced_by = NULL, status = 'running' WHERE id = 'b-jul'");
    expect(await filedInEarlierMonth(db, '2026-08', tile('t-jul', '2026-07-08'))).toBeNull();
    // Another acquisition of the tile, a tile never current, the month's own re-run, an earlier month.
    expect(await filedInEarlierMonth(db, '2026-11', tile('t2', '2026-11-05'))).toBeNull();
    expect(await filedInEarlierMonth(db, '2026-11', tile('p1', '2026-09-08'))).toBeNull();
    expect(await filedInEarlierMonth(db, '2026-10', tile('t2', '2026-10-08'))).toBeNull();
    expect(await filedInEarlierMonth(db, '2026-09', tile('t2', '2026-10-08'))).toBeNull();
  });
});

describe("a batch given last month's imagery", () => {
  it('rejects the tile an earlier month filed, its ground not observed, and exits 3; the other tiles are detected', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-refiled-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 5, tilesPerSide: 2, epoch: '2026-10' });
    const tiles = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(scene.currentDir, f));
    const log = pino({ level: 'silent' });
    const run = (epoch: string, tileInputs: string[], out: string) =>
      runBatch(BatchArgsSchema.parse({ epoch, tiles: tileInputs, prior: [scene.priorDir], zones: [scene.zonesPath] }), { db, log, out: join(dir, out) });

    const october = await run('2026-10', [tiles[0]], 'oct');
    expect(october.report.rejected).toEqual([]);

    const november = await run('2026-11', tiles.slice(0, 3), 'nov');
    expect(november.report.rejected.map((r) => `${r.error.code} ${r.subject}`)).toEqual([`TILE.ALREADY_FILED ${tiles[0]}`]);
    expect(november.report.rejected[0].error.message).toContain(`already the current imagery of 2026-10 (batch ${october.plan.batchId})`);
    expect(november.report.tiles.filter((t) => t.status === 'done')).toHaveLength(2);
    // Some tiles compared, one input rejected: `tuban batch` exits 3 (cli/batch-exit-code.test.ts).
    const hidden = JSON.parse(await readFile(join(dir, 'nov', 'not-observed.geojson'), 'utf8')) as FeatureCollection;
    expect(hidden.features.filter((f) => f.properties?.reason === 'TILE.ALREADY_FILED').map((f) => f.properties!.file)).toEqual([tiles[0]]);
    // Nothing of the rejected tile is stored as November's.
    const stored = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM detections WHERE batch_id = $1 AND tile_id = $2", [november.plan.batchId, october.report.tiles[0].tileId]);
    expect(stored.rows[0].n).toBe(0);

    // October's batch run again is not "already filed" by itself.
    const again = await run('2026-10', [tiles[0]], 'oct-again');
    expect(again.report.rejected).toEqual([]);

    // A December batch of last month's imagery only, replacing December's batch: nothing of it was
    // compared (exit 2), so the batch it names keeps its polygons in the month.
    const december = await run('2026-12', [tiles[3]], 'dec');
    const decCodes = await db.query<{ code: string }>('SELECT code FROM polygons WHERE epoch = $1', ['2026-12']);
    expect(decCodes.rows.length).toBeGreaterThan(0);
    const wrong = await runBatch(
      BatchArgsSchema.parse({ epoch: '2026-12', tiles: [tiles[0]], prior: [scene.priorDir], zones: [scene.zonesPath], replaces: [december.plan.batchId] }),
      { db, log, out: join(dir, 'dec-wrong') },
    );
    expect(wrong.report.rejected.map((r) => r.error.code)).toEqual(['TILE.ALREADY_FILED']);
    expect(wrong.report.tiles.some((t) => t.status === 'done')).toBe(false); // exit 2
    expect((await db.query('SELECT code FROM polygons WHERE epoch = $1', ['2026-12'])).rows).toEqual(decCodes.rows);
    const held = await db.query<{ replaced_by: string | null }>('SELECT replaced_by FROM batches WHERE id = $1', [december.plan.batchId]);
    expect(held.rows[0].replaced_by).toBeNull();
    expect(wrong.report.warnings).toContain(`--replaces ${december.plan.batchId} not applied: no tile of this batch was compared, so it keeps its polygons`);
  }, 240_000);
});
