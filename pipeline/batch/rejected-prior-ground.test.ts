/**
 * A rejected prior tile's ground is not observed, and says so by name. A current tile rejected
 * with its header read puts its footprint in not-observed.geojson with the error code and its file;
 * a rejected prior tile used to add nothing of its own: the current tiles it would have served were
 * compared with the prior that remained, and where none remained the ground was outlined as
 * nodata (or the current tile's own file was named), so an analyst could not tell "no prior imagery
 * here" from "the prior file for here is broken: download it again". A prior that does not decode
 * when a tile reads it is named the same way, on the ground the priors the tile falls back to do
 * not cover (prior-fallback.test.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { pino } from 'pino';
import { difference, featureCollection, feature, intersect, union } from '@turf/turf';
import { afterAll, describe, expect, it } from 'vitest';
import { areaM2 } from '../../geo/area.js';
import type { Grid } from '../../geo/raster.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import * as repo from '../store/repository.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import { BatchArgsSchema } from './batch-args.js';
import { loadNotObserved, storePlan } from './batch-store.js';
import { planBatch } from './plan-batch.js';
import { runBatch } from './run-batch.js';
import { rejectedPriorScene } from './testing/rejected-prior-scene.js';

type Area = Polygon | MultiPolygon;
const unionOf = (gs: Area[]): Area => (gs.length === 1 ? gs[0] : union(featureCollection(gs.map((g) => feature(g))))!.geometry);
const minus = (a: Area, b: Area): Area | null => difference(featureCollection([feature(a), feature(b)]))?.geometry ?? null;
const and = (a: Area, b: Area): Area | null => intersect(featureCollection([feature(a), feature(b)]))?.geometry ?? null;
const m2 = (g: Area | null) => (g ? areaM2(g) : 0);

describe('a rejected prior tile', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('puts the ground it alone would have served in not-observed with its error code and file, counted once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-rejected-prior-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await rejectedPriorScene(dir);
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const out = join(dir, 'out');
    const { report } = await runBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] }), { db, log: pino({ level: 'silent' }), out });

    // Both broken prior files are rejected inputs, named (which makes the batch exit 3, as a rejected
    // current tile does): the centre one when planned, the north-west one by the current tile it
    // serves, which fell back to the priors left over it (north and west of the centre) and was
    // compared there, as the other three were.
    const byCode = new Map(report.rejected.map((r) => [r.error.code, r]));
    expect([...byCode.keys()].sort()).toEqual(['TILE.BAND_MISMATCH', 'TILE.UNREADABLE']);
    expect(byCode.get('TILE.BAND_MISMATCH')!.subject).toBe(scene.threeBands);
    expect(byCode.get('TILE.UNREADABLE')!.subject).toBe(scene.badChecksum);
    expect(byCode.get('TILE.UNREADABLE')!.error.subject).toBe(scene.badChecksum);
    const nwTile = report.tiles.find((t) => t.files[0] === scene.current[0].file)!;
    expect(report.tiles.map((t) => t.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(nwTile.rejectedPriors?.map((r) => [r.subject, r.error.code])).toEqual([[scene.badChecksum, 'TILE.UNREADABLE']]);

    const hidden = JSON.parse(await readFile(join(out, 'not-observed.geojson'), 'utf8')) as FeatureCollection<MultiPolygon>;
    const reasoned = hidden.features.filter((f) => f.properties?.reason);
    const byFile = new Map(reasoned.map((f) => [f.properties!.file as string, f]));
    expect([...byFile.keys()].sort()).toEqual([scene.badChecksum, scene.threeBands].sort());

    // The centre prior (rejected when planned): the part of its footprint over the current tiles that
    // no accepted prior covers, named by its file, its code and its epoch.
    const centre = byFile.get(scene.threeBands)!;
    expect(centre.properties).toMatchObject({ reason: 'TILE.BAND_MISMATCH', file: scene.threeBands, input: 'prior' });
    const accepted = scene.prior.filter((p) => p.file !== scene.threeBands).map((p) => p.footprint);
    const currentGround = unionOf(scene.current.map((c) => c.footprint));
    const alone = minus(and(scene.prior[4].footprint, currentGround)!, unionOf(accepted))!;
    expect(m2(alone)).toBeGreaterThan(0.8 * areaM2(scene.prior[4].footprint));
    expect(centre.properties!.area_m2).toBeCloseTo(m2(alone), -3);
    expect(m2(minus(centre.geometry, alone))).toBeLessThan(0.01 * m2(alone));
    expect(m2(minus(alone, centre.geometry))).toBeLessThan(0.01 * m2(alone));

    // The north-west prior (it did not decode when the north-west tile read it): its ground over that
    // tile which the priors the tile fell back to (north and west of the centre) do not cover, named
    // by the prior file that needs downloading again, on the tile that read it.
    const nw = byFile.get(scene.badChecksum)!;
    expect(nw.properties).toMatchObject({ reason: 'TILE.UNREADABLE', file: scene.badChecksum, input: 'prior', tile_id: nwTile.tileId });
    const nwGround = minus(and(scene.current[0].footprint, scene.prior[0].footprint)!, unionOf([scene.prior[1].footprint, scene.prior[3].footprint]))!;
    expect(m2(nwGround)).toBeGreaterThan(0.35 * areaM2(scene.current[0].footprint));
    expect(nw.properties!.area_m2).toBeCloseTo(m2(nwGround), -3);
    expect(m2(minus(nw.geometry, nwGround))).toBeLessThan(0.01 * m2(nwGround));

    // Counted once: both lie over the tiles used, in their nodata already (their notObservedM2); they
    // add to the rejected inputs' share of the not-observed ground, not to the not-observed ground.
    const usedNotObserved = report.tiles.reduce((n, t) => n + t.notObservedM2, 0);
    expect(usedNotObserved).toBeGreaterThan(0.95 * (m2(alone) + m2(nwGround)));
    expect(report.notObservedM2).toBeCloseTo(usedNotObserved, -2);
    expect(report.rejectedNotObservedM2).toBeCloseTo(m2(alone) + m2(nwGround), -3);
    expect(report.rejectedNotObservedM2!).toBeLessThanOrEqual(report.notObservedM2);
  }, 240_000);

  it('over a current tile it alone would have served: the tile is rejected naming the prior, and the ground counts once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-rejected-prior-only-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const grid: Grid = { crs: 'EPSG:32650', width: 32, height: 32, transform: [500000, 10, 0, 4000000, 0, -10] };
    const band = () => new Uint16Array(32 * 32).fill(500);
    await mkdir(join(dir, 'cur'));
    await mkdir(join(dir, 'pri'));
    const tile = join(dir, 'cur', 'after_20261005.tif');
    const prior = join(dir, 'pri', 'before_20260905.tif');
    await writeGeoTiffArrays(tile, { grid, dtype: 'uint16', bands: [band(), band(), band(), band()] });
    await writeGeoTiffArrays(prior, { grid, dtype: 'uint16', bands: [band(), band(), band()] }); // RGB: no nir
    const districts = join(dir, 'districts.geojson');
    const ring = [[117, 36.1], [117.01, 36.1], [117.01, 36.11], [117, 36.11], [117, 36.1]];
    await writeFile(districts, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { kind: 'district', code: '370102' }, geometry: { type: 'Polygon', coordinates: [ring] } }] }));

    const plan = await planBatch(BatchArgsSchema.parse({ epoch: '2026-10', tiles: [join(dir, 'cur')], prior: [join(dir, 'pri')], zones: [districts] }));
    const noOverlap = plan.rejected.find((r) => r.subject === tile)!;
    expect(noOverlap.error.code).toBe('TILE.NO_OVERLAP');
    expect(noOverlap.error.message).toContain(`the prior tile(s) over it were rejected, ${prior} (TILE.BAND_MISMATCH)`);

    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    await storePlan(db, plan);
    const features = (await loadNotObserved(db, plan.batchId)).features.map((f) => ({ ...f.properties, area_m2: Math.round(f.properties!.area_m2 / 100) }));
    const ground = Math.round(areaM2(plan.rejectedFootprints![0].footprint) / 100);
    expect(features.sort((a, b) => String(a.epoch).localeCompare(String(b.epoch)))).toEqual([
      { tile_id: plan.rejectedFootprints![0].tileId, area_m2: ground, reason: 'TILE.NO_OVERLAP', file: tile, input: 'current' },
      { tile_id: prior, area_m2: ground, reason: 'TILE.BAND_MISMATCH', file: prior, input: 'prior' },
    ]);
    // The prior's ground is the rejected tile's footprint: once in the rejected inputs' ground, not twice.
    const rejected = await repo.loadRejectedGround(db, plan.batchId);
    expect(rejected.footprintsM2).toBeCloseTo(ground * 100, -2);
    expect(rejected.priorOverUsedM2).toBeLessThan(1);
  }, 60_000);
});
