/**
 * A month's batch over the very acquisition an earlier month filed (last month's folder given as
 * --tiles) rejects that tile (TILE.ALREADY_FILED): it made every site over it "continuing" and the
 * month read "no new violation", exit 0, over ground nobody had looked at this month. Its ground is
 * not observed, the batch exits 3. Another acquisition of the tile (another date and other bytes),
 * the month's own batch run again, or an earlier month's, are not "already filed". Last month's
 * undated tile (dated by each month's --epoch) is known by its bytes; another delivery of the same
 * names, sizes and grid is not. On PGlite,
 * or on the PostgreSQL server of TUBAN_TEST_DATABASE_URL in a fresh schema.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { FeatureCollection } from 'geojson';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import type { TileInfo } from '../../geo/tile-reader.js';
import { openGeoTiff } from '../../geo/tiff/open-geotiff.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../catalogue.js';
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
  const url = process.env.TUBAN_TEST_DATABASE_URL;
  db = url ? await openDatabase(url, { schema: `tuban_refiled_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
  await migrate(db);
}, 120_000);
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  await db?.close();
});

const tile = (id: string, date: string, fingerprint?: string) => ({ id, date, files: [`/data/${id}.tif`], ...(fingerprint ? { fingerprint } : {}) }) as unknown as TileInfo;

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
    expect(await filedInEarlierMonth(db, '2026-11', tile('t1', '2026-10-08'))).toEqual({ epoch: '2026-10', batchId: 'b-oct', date: '2026-10-08', tileId: 't1', file: '/data/t1.tif' });
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
    expect(await filedInEarlierMonth(db, '2026-08', tile('t-jul', '2026-07-08'))).toEqual({ epoch: '2026-07', batchId: 'b-jul', date: '2026-07-08', tileId: 't-jul', file: '/data/t-jul.tif' });
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

describe('filedInEarlierMonth by the imagery fingerprint', () => {
  it("knows the same bytes dated otherwise (an undated tile dated by each month's --epoch); not another delivery of the same names", async () => {
    await upsertBatch(db, { id: 'b-fp-jan', epoch: '2030-01', params: {} });
    await upsertTiles(db, 'b-fp-jan', [
      { tileId: 'u1', role: 'current', info: { tile: tile('u1', '2030-01-01', 'f-jan') } },
      // Stored before fingerprints were kept.
      { tileId: 'u2', role: 'current', info: { tile: tile('u2', '2030-01-01') } },
    ]);
    await db.query("UPDATE tiles SET status = 'done' WHERE batch_id = 'b-fp-jan'");
    await db.query("UPDATE batches SET status = 'done' WHERE id = 'b-fp-jan'");
    const january = { epoch: '2030-01', batchId: 'b-fp-jan', date: '2030-01-01', tileId: 'u1', file: '/data/u1.tif' };
    expect(await filedInEarlierMonth(db, '2030-02', tile('u1', '2030-02-01', 'f-jan'))).toEqual(january);
    // Another delivery of the same names, sizes and grid (its id) with other pixels.
    expect(await filedInEarlierMonth(db, '2030-02', tile('u1', '2030-02-01', 'f-feb'))).toBeNull();
    // The same bytes under other names (another id: last month's folder renamed, or delivered again
    // under new names) are the same imagery; the same date under another id is another tile.
    expect(await filedInEarlierMonth(db, '2030-02', tile('u9', '2030-02-01', 'f-jan'))).toEqual(january);
    expect(await filedInEarlierMonth(db, '2030-02', tile('u9', '2030-01-01', 'f-other'))).toBeNull();
    // A row with no fingerprint still matches by date, and only so.
    expect(await filedInEarlierMonth(db, '2030-02', tile('u2', '2030-01-01', 'f-any'))).toEqual({ ...january, tileId: 'u2', file: '/data/u2.tif' });
    expect(await filedInEarlierMonth(db, '2030-02', tile('u2', '2030-02-01', 'f-any'))).toBeNull();
  });
});

describe('filedInEarlierMonth for a blank tile (all nodata in both months)', () => {
  it("is not last month's: a blank tile's fingerprint tells nothing of its acquisition, so only the tile and date match", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-refiled-blank-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const grid = { width: 300, height: 210, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] as [number, number, number, number, number, number] };
    // Each month's new acquisition, all nodata (beyond the swath), under the same undated name.
    const months: TileInfo[] = [];
    for (const month of ['2031-01', '2031-02']) {
      const path = join(dir, month, 'T50SMH.tif');
      await mkdir(dirname(path), { recursive: true });
      await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: [0, 1, 2, 3].map(() => new Uint16Array(grid.width * grid.height)), nodata: 0 });
      const { tiles } = await catalogueTiles([path], { fallbackDate: month, fingerprint: true });
      months.push(tiles[0]);
    }
    expect(months[0].id).toBe(months[1].id);
    await upsertBatch(db, { id: 'b-blank-jan', epoch: '2031-01', params: {} });
    await upsertTiles(db, 'b-blank-jan', [{ tileId: months[0].id, role: 'current', info: { tile: months[0] } }]);
    await db.query("UPDATE tiles SET status = 'done' WHERE batch_id = 'b-blank-jan'");
    await db.query("UPDATE batches SET status = 'done' WHERE id = 'b-blank-jan'");
    expect(await filedInEarlierMonth(db, '2031-02', months[1])).toBeNull();
    expect(months.map((t) => t.fingerprint)).toEqual([undefined, undefined]);
    // The same blank acquisition (its date) is still last month's.
    expect(await filedInEarlierMonth(db, '2031-02', { ...months[1], date: months[0].date })).toMatchObject({ epoch: '2031-01', batchId: 'b-blank-jan' });
  });
});

/** The pixels of `src`, written uncompressed with no date tag: a file's size says nothing of its pixels then. */
async function undatedCopy(src: string, dest: string): Promise<void> {
  const f = await openGeoTiff(src);
  try {
    const bands = await f.readWindow({ col: 0, row: 0, width: f.grid.width, height: f.grid.height }, [0, 1, 2, 3]);
    await mkdir(dirname(dest), { recursive: true });
    await writeGeoTiffArrays(dest, { grid: f.grid, dtype: 'uint16', bands, nodata: 0, compression: 'none' });
  } finally {
    await f.close();
  }
}

describe("a batch given last month's undated imagery", () => {
  it('rejects the tile dated by the epoch whose bytes an earlier month filed; a new delivery of the same names and sizes, and the month chain, are compared', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-refiled-undated-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    // Three acquisitions of one tile: no date in tags or names (monthNames writes no tag), written
    // uncompressed under one name, so their names, sizes and grid (the tile id) are the same.
    const scenes = await Promise.all([5, 6, 7].map((seed) => generateScene({ dir: join(dir, `scene-${seed}`), size: 192, seed, monthNames: true })));
    const deliveries: string[] = [];
    for (const [k, scene] of scenes.entries()) {
      const [src] = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif'));
      const folder = join(dir, `delivery-${k}`);
      await undatedCopy(join(scene.currentDir, src), join(folder, 'T50SMF.tif'));
      deliveries.push(folder);
    }
    const ids = await Promise.all(deliveries.map(async (d) => (await catalogueTiles([d], { fallbackDate: '2027-01' })).tiles.map((t) => t.id)));
    expect(new Set(ids.flat()).size).toBe(1);
    const log = pino({ level: 'silent' });
    const run = (epoch: string, tiles: string, out: string, prior: { dir: string; date?: string } = { dir: scenes[0].priorDir }) =>
      runBatch(BatchArgsSchema.parse({ epoch, tiles: [tiles], prior: [prior.dir], ...(prior.date ? { priorDate: prior.date } : {}), zones: [scenes[0].zonesPath] }), { db, log, out: join(dir, out) });

    const january = await run('2027-01', deliveries[0], 'jan');
    expect(january.report.rejected).toEqual([]);
    expect(january.report.tiles.map((t) => `${t.status} ${t.date}`)).toEqual(['done 2027-01-01']);

    // January's folder again as February's: dated 2027-02 by the epoch, the same bytes.
    const february = await run('2027-02', deliveries[0], 'feb');
    expect(february.report.rejected.map((r) => r.error.code)).toEqual(['TILE.ALREADY_FILED']);
    expect(february.report.rejected[0].error.message).toContain(
      `this imagery (the same bytes, dated 2027-01-01 there and 2027-02-01 here) was already the current imagery of 2027-01 (batch ${january.plan.batchId})`,
    );
    expect(february.report.tiles.some((t) => t.status === 'done')).toBe(false);

    // The provider's new delivery: the same name, size and grid, other pixels.
    const march = await run('2027-03', deliveries[1], 'mar');
    expect(march.report.rejected).toEqual([]);
    expect(march.report.tiles.map((t) => t.status)).toEqual(['done']);

    // The month chain: March's current is April's prior.
    const april = await run('2027-04', deliveries[2], 'apr', { dir: deliveries[1], date: '2027-03' });
    expect(april.report.rejected).toEqual([]);
    expect(april.report.tiles.map((t) => t.status)).toEqual(['done']);

    // January's file renamed (another tile id): the same bytes, named with the month and file that used them.
    const renamed = join(dir, 'renamed', 'T50SMF_may.tif');
    await mkdir(dirname(renamed), { recursive: true });
    await copyFile(join(deliveries[0], 'T50SMF.tif'), renamed);
    const may = await run('2027-05', dirname(renamed), 'may', { dir: deliveries[1], date: '2027-03' });
    expect(may.report.rejected.map((r) => `${r.error.code} ${r.subject}`)).toEqual([`TILE.ALREADY_FILED ${renamed}`]);
    expect(may.report.rejected[0].error.message).toContain(
      `this imagery (the same bytes as ${join(deliveries[0], 'T50SMF.tif')}, dated 2027-01-01 there and 2027-05-01 here) was already the current imagery of 2027-01 (batch ${january.plan.batchId})`,
    );
  }, 240_000);
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

    // One of November's tiles given twice besides, under another name (a download saved again).
    const twice = join(dir, 'zz-again', basename(tiles[1]).replace(/\.tif$/, ' (1).tif'));
    await mkdir(dirname(twice), { recursive: true });
    await copyFile(tiles[1], twice);
    const november = await run('2026-11', [...tiles.slice(0, 3), twice], 'nov');
    expect(november.report.rejected.map((r) => `${r.error.code} ${r.subject}`)).toEqual([`TILE.DUPLICATE ${twice}`, `TILE.ALREADY_FILED ${tiles[0]}`]);
    expect(november.report.rejected[0].error.message).toContain(`the same imagery as ${tiles[1]} (the same bytes under other file names), given twice in this batch`);
    expect(november.report.rejected[1].error.message).toContain(`already the current imagery of 2026-10 (batch ${october.plan.batchId})`);
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
