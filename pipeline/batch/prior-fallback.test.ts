/**
 * A prior tile that does not decode when a current tile reads it: the tile falls back to the next
 * prior the plan would have chosen among those that still decode, and only the ground none of them
 * covers is not observed, named by the broken file. It used to reject the whole tile (its footprint
 * named by the broken prior) though another prior over it read fine.
 *
 * And the ground of a prior rejected when planned counts as covered only where a prior that could
 * serve the tile (overlapping it, dated before it: the plan's rule) lies: an accepted prior dated on
 * or after the tile is never in its mosaic, and used to hide the broken prior's ground.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { pino } from 'pino';
import { difference, featureCollection, feature, intersect } from '@turf/turf';
import { afterAll, describe, expect, it } from 'vitest';
import { areaM2 } from '../../geo/area.js';
import type { Grid } from '../../geo/raster.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import { loadRuleTable } from '../route/load-rule-table.js';
import * as repo from '../store/repository.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { BatchArgsSchema } from './batch-args.js';
import { loadNotObserved, storePlan } from './batch-store.js';
import { createHandlers } from './handlers.js';
import { planBatch } from './plan-batch.js';
import { exportBatch, planForRun, runBatch } from './run-batch.js';
import { priorFallbackScene } from './testing/prior-fallback-scene.js';
import { breakFirstChunk } from './testing/rejected-prior-scene.js';

type Area = Polygon | MultiPolygon;
const minus = (a: Area, b: Area): Area | null => difference(featureCollection([feature(a), feature(b)]))?.geometry ?? null;
const and = (a: Area, b: Area): Area | null => intersect(featureCollection([feature(a), feature(b)]))?.geometry ?? null;
const m2 = (g: Area | null) => (g ? areaM2(g) : 0);
const log = pino({ level: 'silent' });

describe('a prior tile that does not decode', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });
  async function database(): Promise<Database> {
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    return db;
  }

  it('the tile falls back to the next prior over it, and only the ground none covers is not observed; a re-run gives the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-prior-fallback-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await priorFallbackScene(dir);
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
    const db = await database();
    const { plan, report } = await runBatch(args, { db, log, out: join(dir, 'out') });
    // The broken prior is first in the tile's mosaic: the one it reads first.
    expect(plan.prior.filter((p) => plan.tiles[0].priorIds.includes(p.id)).map((p) => p.files[0])).toEqual([scene.broken.file, scene.westHalf.file]);

    // Compared with the west half, not rejected; the broken file is a rejected input, by name.
    expect(report.tiles.map((t) => t.status)).toEqual(['done']);
    expect(report.rejected.map((r) => [r.subject, r.error.code])).toEqual([[scene.broken.file, 'TILE.UNREADABLE']]);

    // The same detections as a batch given the west half alone: the next prior, nothing else.
    const alone = await runBatch({ ...args, prior: [scene.westOnly] }, { db: await database(), log, out: join(dir, 'out-west') });
    const detections = (r: typeof report) => ({ n: r.counts.polygons, observed: r.observedM2, notObserved: r.notObservedM2, byType: r.counts.byChangeType });
    expect(alone.report.counts.polygons).toBeGreaterThan(0);
    expect(detections(report)).toEqual(detections(alone.report));
    const polygons = async (out: string) => (JSON.parse(await readFile(join(out, 'polygons.geojson'), 'utf8')) as FeatureCollection).features.map((f) => [f.properties!.code, f.properties!.before_date, f.properties!.area_m2, f.geometry]);
    expect(await polygons(join(dir, 'out'))).toEqual(await polygons(join(dir, 'out-west')));

    // Not observed: the east half, which only the broken prior covers, named by it on the tile.
    const hidden = JSON.parse(await readFile(join(dir, 'out', 'not-observed.geojson'), 'utf8')) as FeatureCollection<MultiPolygon>;
    const named = hidden.features.filter((f) => f.properties?.reason);
    expect(named.map((f) => f.properties)).toEqual([
      { tile_id: plan.tiles[0].tile.id, area_m2: expect.any(Number), reason: 'TILE.UNREADABLE', file: scene.broken.file, input: 'prior' },
    ]);
    const east = minus(and(scene.current.footprint, scene.broken.footprint)!, scene.westHalf.footprint)!;
    expect(m2(east)).toBeGreaterThan(0.45 * areaM2(scene.current.footprint));
    expect(named[0].properties!.area_m2).toBeCloseTo(m2(east), -3);
    expect(m2(minus(named[0].geometry, east))).toBeLessThan(0.01 * m2(east));
    // Counted once: it is the tile's nodata (no prior there), so it is not added to the not-observed ground.
    expect(report.rejectedNotObservedM2).toBeCloseTo(m2(east), -3);
    expect(report.notObservedM2).toBeLessThan(report.tiles[0].notObservedM2 + 1);

    // Crash-safety: the plan stored again (a resumed run re-plans; a finished tile job is not run
    // again) keeps the tile's row; the tile job run again replaces it; the outputs are the same.
    const figures = (r: typeof report) => [r.notObservedM2, r.rejectedNotObservedM2, r.rejected];
    await storePlan(db, plan);
    const handlers = createHandlers({ db, log, mode: 'embedded' });
    const ctx = { progress: () => {}, signal: new AbortController().signal };
    await handlers['batch.finalise']({ batchId: plan.batchId }, ctx);
    const resumed = await exportBatch(db, plan.batchId, join(dir, 'out-resumed'), await loadRuleTable(args.rules));
    expect(figures(resumed.report)).toEqual(figures(report));
    expect(await loadNotObserved(db, plan.batchId)).toEqual(hidden);
    await handlers['tile.detect']({ batchId: plan.batchId, tileId: plan.tiles[0].tile.id }, ctx);
    const again = await runBatch(args, { db, log, out: join(dir, 'out-again') });
    expect(figures(again.report)).toEqual(figures(report));
    expect(again.report.tiles.map((t) => t.status)).toEqual(['done']);
    expect(await loadNotObserved(db, plan.batchId)).toEqual(hidden);
  }, 240_000);

  it('where every prior over the tile fails to decode, the tile is rejected and each prior is a rejected input by its own name, the last one too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-prior-fallback-all-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await priorFallbackScene(dir, 37);
    await breakFirstChunk(scene.westHalf.file);
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
    const { report } = await runBatch(args, { db: await database(), log, out: join(dir, 'out') });
    const subjects = report.rejected.map((r) => r.subject);
    // Before, the west half (the last to fail) was reported under the current tile's name only.
    expect(subjects).toContain(scene.broken.file);
    expect(subjects).toContain(scene.westHalf.file);
    expect(report.rejected.every((r) => r.error.code === 'TILE.UNREADABLE')).toBe(true);
  }, 240_000);

  it('says why it fell back in the words of the reason: a prior not found here is not one that did not decode', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-prior-fallback-moved-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await priorFallbackScene(dir);
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
    // Planned where the first prior was; gone when the tile reads it (a queue worker that cannot see it).
    const planned = await planForRun(args);
    await rm(scene.broken.file);
    const lines: { msg: string; code?: string }[] = [];
    const capture = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string; code?: string }) });
    const { report } = await runBatch(args, { db: await database(), log: capture, out: join(dir, 'out'), planned });
    expect(report.tiles.map((t) => t.status)).toEqual(['done']);
    expect(report.rejected.map((r) => [r.subject, r.error.code])).toEqual([[scene.broken.file, 'INPUT.NOT_FOUND']]);
    const fellBack = lines.filter((l) => l.msg.includes('falls back'));
    expect(fellBack.map((l) => [l.code, l.msg])).toEqual([['INPUT.NOT_FOUND', 'prior tile was not found here (INPUT.NOT_FOUND); the tile falls back to the next prior over it']]);
  }, 240_000);
});

describe('the ground of a prior rejected when planned', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });


  it('is covered only by priors that could serve the tile: one dated on or after it is not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-prior-cover-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const grid: Grid = { crs: 'EPSG:32650', width: 32, height: 32, transform: [500000, 10, 0, 4000000, 0, -10] };
    const west: Grid = { ...grid, width: 16 };
    const band = (g: Grid) => new Uint16Array(g.width * g.height).fill(500);
    await mkdir(join(dir, 'cur'));
    await mkdir(join(dir, 'pri'));
    const tile = join(dir, 'cur', 'after_20261005.tif');
    const broken = join(dir, 'pri', 'broken_20260905.tif');
    await writeGeoTiffArrays(tile, { grid, dtype: 'uint16', bands: [band(grid), band(grid), band(grid), band(grid)] });
    await writeGeoTiffArrays(broken, { grid, dtype: 'uint16', bands: [band(grid), band(grid), band(grid)] }); // RGB: no nir
    // The tile's prior: the west half. And a whole-tile one dated after it, which never serves it.
    await writeGeoTiffArrays(join(dir, 'pri', 'before_20260905.tif'), { grid: west, dtype: 'uint16', bands: [band(west), band(west), band(west), band(west)] });
    await writeGeoTiffArrays(join(dir, 'pri', 'later_20261020.tif'), { grid, dtype: 'uint16', bands: [band(grid), band(grid), band(grid), band(grid)] });
    const districts = join(dir, 'districts.geojson');
    const ring = [[117, 36.1], [117.01, 36.1], [117.01, 36.11], [117, 36.11], [117, 36.1]];
    await writeFile(districts, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { kind: 'district', code: '370102' }, geometry: { type: 'Polygon', coordinates: [ring] } }] }));

    const plan = await planBatch(BatchArgsSchema.parse({ epoch: '2026-10', tiles: [join(dir, 'cur')], prior: [join(dir, 'pri')], zones: [districts] }));
    expect(plan.tiles.map((t) => plan.prior.filter((p) => t.priorIds.includes(p.id)).map((p) => p.files[0]))).toEqual([[join(dir, 'pri', 'before_20260905.tif')]]);
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    await storePlan(db, plan);
    const features = (await loadNotObserved(db, plan.batchId)).features.filter((f) => f.properties?.reason);
    expect(features.map((f) => f.properties)).toEqual([{ tile_id: broken, area_m2: expect.any(Number), reason: 'TILE.BAND_MISMATCH', file: broken, input: 'prior' }]);
    // The east half: the broken prior's ground that no prior dated before the tile covers.
    const half = areaM2(plan.tiles[0].tile.footprint) / 2;
    expect(features[0].properties!.area_m2).toBeCloseTo(half, -3);
    expect((await repo.loadRejectedGround(db, plan.batchId)).priorOverUsedM2).toBeCloseTo(half, -3);
  }, 60_000);
});
