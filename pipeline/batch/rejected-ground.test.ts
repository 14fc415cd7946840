/**
 * A rejected tile's ground is not observed. With one of four tiles rejected (all nodata → 
 * TILE.NOT_OBSERVABLE when detected; dated after the month → TILE.DATE_MISMATCH when planned), the
 * batch used to say "not observable 0.0 %" and leave that tile out of not-observed.geojson, so a
 * bureau read "no polygons there" as "no change there". Its footprint (the header was read) is now
 * not-observed ground with the error code; a file with no readable header is listed by name only.
 */
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureCollection } from 'geojson';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { areaM2 } from '../../geo/area.js';
import type { Grid } from '../../geo/raster.js';
import { openTile } from '../../geo/tile-reader.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../catalogue.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import { BatchArgsSchema } from './batch-args.js';
import { runBatch } from './run-batch.js';

const NODATA = 65535;

/** Rewrites `file` with nodata everywhere (`date` to redate it). */
async function rewrite(file: string, opts: { blank?: boolean; date?: string }): Promise<void> {
  const { tiles: [info] } = await catalogueTiles([file]);
  const reader = await openTile(info);
  const bands = Object.keys(info.bands) as (keyof typeof info.bands)[];
  const { width, height } = info.grid;
  const r = await reader.readWindow({ col: 0, row: 0, width, height }, bands as never);
  await reader.close();
  const out = bands.map((b) => (opts.blank ? new Float32Array(width * height).fill(NODATA) : Float32Array.from(r.bands[b]!)));
  await writeGeoTiffArrays(file, { grid: info.grid, dtype: 'uint16', nodata: NODATA, date: opts.date ?? info.date, bands: out });
}

/** Ground (m²) of the `rejected` grids' pixels outside every `used` grid: one CRS, one pixel lattice. */
function groundOutside(rejected: Grid[], used: Grid[]): number {
  const px = rejected[0].transform[1];
  const inside = (g: Grid, x: number, y: number) => x > g.transform[0] && x < g.transform[0] + g.width * px && y < g.transform[3] && y > g.transform[3] - g.height * px;
  const seen = new Set<string>();
  for (const g of rejected) {
    for (let r = 0; r < g.height; r++) {
      for (let c = 0; c < g.width; c++) {
        const x = g.transform[0] + (c + 0.5) * px;
        const y = g.transform[3] - (r + 0.5) * px;
        if (!used.some((u) => inside(u, x, y))) seen.add(`${Math.round(x)} ${Math.round(y)}`);
      }
    }
  }
  return seen.size * px * px;
}

describe('a rejected tile', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('puts its footprint in not-observed with the error code, and the share counts it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-rejected-ground-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 11, tilesPerSide: 2 });
    const tiles = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(scene.currentDir, f));
    const infos = await Promise.all(tiles.map(async (t) => (await catalogueTiles([t])).tiles[0]));
    const footprints = infos.slice(0, 2).map((t) => t.footprint);
    await rewrite(tiles[0], { blank: true }); // rejected by its tile job
    await rewrite(tiles[1], { date: '2026-11-20' }); // rejected by planning
    // Its name says the day too (a name's day wins over a DateTime tag that disagrees: catalogue.ts).
    const late = tiles[1].replace('_20261008_', '_20261120_');
    await rename(tiles[1], late);
    tiles[1] = late;
    const broken = join(scene.currentDir, 'broken.tif');
    await writeFile(broken, Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x13])); // no header: no footprint

    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const out = join(dir, 'out');
    const { report } = await runBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] }), { db, log: pino({ level: 'silent' }), out });

    expect(report.rejected.map((r) => `${r.error.code} ${r.subject}`).sort()).toEqual(
      [`TILE.DATE_MISMATCH ${tiles[1]}`, `TILE.NOT_OBSERVABLE ${tiles[0]}`, `TILE.UNREADABLE ${broken}`].sort(),
    );
    expect(report.tiles.filter((t) => t.status === 'done')).toHaveLength(2);
    const hidden = JSON.parse(await readFile(join(out, 'not-observed.geojson'), 'utf8')) as FeatureCollection;
    const byReason = new Map(hidden.features.filter((f) => f.properties?.reason).map((f) => [f.properties!.file as string, f]));
    expect([...byReason.keys()].sort()).toEqual([tiles[0], tiles[1]]);
    expect(byReason.get(tiles[0])!.properties!.reason).toBe('TILE.NOT_OBSERVABLE');
    expect(byReason.get(tiles[1])!.properties!.reason).toBe('TILE.DATE_MISMATCH');
    const ground = footprints.map((f) => areaM2(f));
    for (const [k, t] of tiles.slice(0, 2).entries()) expect(byReason.get(t)!.properties!.area_m2).toBeCloseTo(ground[k], -2);
    // The scene's tiles overlap (as granules do): the two rejected tiles' ground where neither used tile
    // lies was not looked at (counted once), plus the used tiles' nodata.
    const alone = groundOutside(infos.slice(0, 2).map((t) => t.grid), infos.slice(2).map((t) => t.grid));
    expect(alone).toBeGreaterThan(0.9 * Math.max(...ground)); // far more than either tile's ground is unseen
    const used = report.tiles.filter((t) => t.status === 'done');
    const usedGround = used.reduce((n, t) => n + t.observedM2 + t.notObservedM2, 0);
    expect(Math.abs(report.rejectedNotObservedM2! - alone)).toBeLessThan(0.002 * alone); // UTM metres, measured on the ellipsoid
    expect(report.notObservedShare).toBeGreaterThan(alone / (usedGround + alone) - 0.01);
    expect(report.notObservedShare).toBeGreaterThan(0.3);
  }, 240_000);

  it('counts the ground of rejected tiles once, and not where a used tile lies (overlapping granules)', async () => {
    // Sentinel-2 granules overlap by ~10 km: a rejected granule's strip under a used one was observed,
    // yet its whole footprint was added to the not-observed area, and two rejected files over one
    // ground added it twice (a TCI beside its bands: 'not observable 80 %' over observed ground).
    const dir = await mkdtemp(join(tmpdir(), 'tuban-rejected-overlap-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 11, tilesPerSide: 1 });
    const [tile] = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).map((f) => join(scene.currentDir, f));
    const { tiles: [info] } = await catalogueTiles([tile]);
    const { width, height, transform } = info.grid;
    // Two later acquisitions (rejected: after the month) over the tile's east half and as far again east of it.
    const grid = { ...info.grid, transform: [transform[0] + (width / 2) * transform[1], transform[1], 0, transform[3], 0, transform[5]] as typeof transform };
    const late = [join(scene.currentDir, 'late_20261120.tif'), join(scene.currentDir, 'later_20261125.tif')];
    for (const [k, f] of late.entries()) {
      await writeGeoTiffArrays(f, { grid, dtype: 'uint16', nodata: 0, bands: [1, 2, 3, 4].map((b) => new Uint16Array(width * height).map((_, i) => 500 + 100 * b + 7 * k + (i % 13))) });
    }
    const lateGround = areaM2((await catalogueTiles([late[0]])).tiles[0].footprint);
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const { report } = await runBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] }), { db, log: pino({ level: 'silent' }), out: join(dir, 'out') });
    expect(report.rejected.map((r) => `${r.error.code} ${r.subject}`).sort()).toEqual(late.map((f) => `TILE.DATE_MISMATCH ${f}`));
    const [used] = report.tiles.filter((t) => t.status === 'done');
    expect(report.rejectedNotObservedM2).toBeCloseTo(lateGround / 2, -3); // its west half is the used tile's
    expect(report.notObservedM2).toBeCloseTo(used.notObservedM2 + lateGround / 2, -3);
  }, 240_000);
});
