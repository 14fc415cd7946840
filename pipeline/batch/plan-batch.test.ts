import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Grid } from '../../geo/raster.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import { BatchArgsSchema } from './batch-args.js';
import { largestFirst, planBatch, type TilePlan } from './plan-batch.js';

const root = mkdtempSync(join(tmpdir(), 'tuban-plan-'));
const grid: Grid = { crs: 'EPSG:32650', width: 16, height: 8, transform: [500000, 10, 0, 4000000, 0, -10] };

async function s2(dir: string, stem: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const b of ['B02', 'B03', 'B04', 'B08', 'B11', 'B12']) {
    await writeGeoTiffArrays(join(dir, `${stem}_${b}.tif`), { grid, dtype: 'uint16', bands: [new Uint16Array(16 * 8).fill(500)], nodata: 0 });
  }
}

describe('planBatch bands (issue 15)', () => {
  it('uses B11/B12 on per-band Sentinel-2 data unless --bands names only the four, and the ids differ', async () => {
    await s2(join(root, 'cur'), 'T50SNA_20261005');
    await s2(join(root, 'pri'), 'T50SNA_20260905');
    // Planning stops without a district layer (ZONES.NO_DISTRICTS), so give it one.
    const districts = join(root, 'districts.geojson');
    const ring = [[117, 36.6], [117.01, 36.6], [117.01, 36.61], [117, 36.61], [117, 36.6]];
    writeFileSync(districts, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { kind: 'district', code: '370102' }, geometry: { type: 'Polygon', coordinates: [ring] } }] }));
    const base = { epoch: '2026-10', tiles: [join(root, 'cur')], prior: [join(root, 'pri')], zones: [districts] };
    const all = await planBatch(BatchArgsSchema.parse(base));
    expect(all.tiles.map((t) => t.bands)).toEqual([['blue', 'green', 'red', 'nir', 'swir1', 'swir2']]);
    const four = await planBatch(BatchArgsSchema.parse({ ...base, bands: ['blue', 'green', 'red', 'nir'] }));
    expect(four.rejected).toEqual([]);
    expect(four.tiles.map((t) => t.bands)).toEqual([['blue', 'green', 'red', 'nir']]);
    expect(four.batchId).not.toBe(all.batchId);
    expect([...all.warnings, ...four.warnings].filter((w) => /swir/.test(w))).toEqual([]);
  });

  it('says so when a band file one epoch has is missing in the other (B11 not delivered): the tile is read without it', async () => {
    // The month's delivery lacked B11: the tile was scored by the 4-band model with exit 0 and no word.
    const cur = join(root, 'lacks-b11');
    await s2(cur, 'T50SNA_20261005');
    rmSync(join(cur, 'T50SNA_20261005_B11.tif'));
    const districts = join(root, 'districts.geojson');
    const plan = await planBatch(BatchArgsSchema.parse({ epoch: '2026-10', tiles: [cur], prior: [join(root, 'pri')], zones: [districts] }));
    expect(plan.tiles.map((t) => t.bands)).toEqual([['blue', 'green', 'red', 'nir', 'swir2']]);
    expect(plan.warnings).toEqual([
      `${join(cur, 'T50SNA_20261005_B02.tif')}: swir1 is missing in this tile (its prior tiles have it): read without swir1, the tile is not scored by the 6-band model, which needs swir1 and swir2 in both epochs; deliver the missing band file to use it (or pass --bands blue,green,red,nir to read four bands without this warning)`,
    ]);
  });
});

describe('planBatch swir with a 4-band multiband prior', () => {
  it('says once per batch, not once per tile, that 6-band tiles over a 4-band prior are read with four bands, and what fits', async () => {
    // ~100 tiles of a province each got "swir1 and swir2 are missing in a prior tile over it … deliver the
    // missing band file", which cannot apply to a 4-band stack.
    const cur = join(root, 'six-over-four');
    mkdirSync(cur, { recursive: true });
    for (const [k, stem] of ['T50SNA_20261005', 'T50SNB_20261005', 'T50SNC_20261005'].entries()) {
      for (const b of ['B02', 'B03', 'B04', 'B08', 'B11', 'B12']) {
        await writeGeoTiffArrays(join(cur, `${stem}_${b}.tif`), { grid, dtype: 'uint16', bands: [new Uint16Array(16 * 8).fill(500 + 10 * k)], nodata: 0 });
      }
    }
    const pri = join(root, 'four-prior');
    mkdirSync(pri, { recursive: true });
    await writeGeoTiffArrays(join(pri, 'stack_20260905.tif'), { grid, dtype: 'uint16', bands: [1, 2, 3, 4].map((b) => new Uint16Array(16 * 8).fill(400 + b)), nodata: 0 });
    const districts = join(root, 'districts-four.geojson');
    const ring = [[117, 36.6], [117.01, 36.6], [117.01, 36.61], [117, 36.61], [117, 36.6]];
    writeFileSync(districts, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { kind: 'district', code: '370102' }, geometry: { type: 'Polygon', coordinates: [ring] } }] }));
    const plan = await planBatch(BatchArgsSchema.parse({ epoch: '2026-10', tiles: [cur], prior: [pri], zones: [districts] }));
    expect(plan.rejected).toEqual([]);
    expect(plan.tiles.map((t) => t.bands)).toEqual([0, 1, 2].map(() => ['blue', 'green', 'red', 'nir']));
    const swir = plan.warnings.filter((w) => /swir/.test(w));
    expect(swir).toHaveLength(1);
    expect(swir[0]).toContain('3 tiles');
    expect(swir[0]).toContain(join(pri, 'stack_20260905.tif'));
    expect(swir[0]).not.toContain('deliver the missing band file');
  });
});

describe('planBatch dates: a prior is earlier imagery, a tile is not from after its month', () => {
  const dir = join(root, 'dates');
  const districts = join(dir, 'districts.geojson');
  const ring = [[117, 36.6], [117.01, 36.6], [117.01, 36.61], [117, 36.61], [117, 36.6]];
  const plan = (o: Record<string, unknown>) => planBatch(BatchArgsSchema.parse({ zones: [districts], ...o }));
  const codes = (p: Awaited<ReturnType<typeof planBatch>>) => p.rejected.map((r) => r.error.code);

  it('refuses swapped epochs, one folder given as both, and a month before the imagery; warns of old imagery', async () => {
    await s2(join(dir, 'oct'), 'T50SNA_20261005');
    await s2(join(dir, 'sep'), 'T50SNA_20260905');
    writeFileSync(districts, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { kind: 'district', code: '370102' }, geometry: { type: 'Polygon', coordinates: [ring] } }] }));
    const [oct, sep] = [join(dir, 'oct'), join(dir, 'sep')];

    const right = await plan({ epoch: '2026-10', tiles: [oct], prior: [sep] });
    expect([right.tiles.length, right.rejected, right.warnings]).toEqual([1, [], []]);

    const swapped = await plan({ epoch: '2026-10', tiles: [sep], prior: [oct] });
    expect(swapped.tiles).toEqual([]);
    expect(codes(swapped)).toEqual(['TILE.PRIOR_NOT_EARLIER']);
    expect(swapped.rejected[0].error.message).toContain('2026-10-05');

    // Both months in one folder, given as both: October against September; September has nothing earlier.
    const both = await plan({ epoch: '2026-10', tiles: [oct, sep], prior: [oct, sep] });
    expect(both.tiles.map((t) => [t.tile.date, both.prior.filter((p) => t.priorIds.includes(p.id)).map((p) => p.date)])).toEqual([['2026-10-05', ['2026-09-05']]]);
    expect(codes(both)).toEqual(['TILE.PRIOR_NOT_EARLIER']);

    const early = await plan({ epoch: '2025-03', tiles: [oct], prior: [sep] });
    expect([early.tiles.length, codes(early)]).toEqual([0, ['TILE.DATE_MISMATCH']]);

    const late = await plan({ epoch: '2027-03', tiles: [oct], prior: [sep] });
    expect(late.tiles.length).toBe(1);
    expect(late.warnings?.join('\n')).toMatch(/dated 2026-10-05, 5 months before the batch's month 2027-03/);

    // A prior years older than the tile (whatever older imagery was at hand): said, still used.
    await s2(join(dir, 'old'), 'T50SNA_20240317');
    const old = await plan({ epoch: '2026-10', tiles: [oct], prior: [join(dir, 'old')] });
    expect(old.tiles.length).toBe(1);
    expect(old.warnings?.join('\n')).toMatch(/its prior imagery is dated 2024-03-17, 31 months before it: every change over those months is filed as new in 2026-10/);
    const yearOnYear = await plan({ epoch: '2026-10', tiles: [oct], prior: [sep] });
    expect(yearOnYear.warnings).toEqual([]);
  });
});

describe('planBatch with nothing to read', () => {
  const districts = join(root, 'districts-nothing.geojson');
  const ring = [[117, 36.6], [117.01, 36.6], [117.01, 36.61], [117, 36.61], [117, 36.6]];
  writeFileSync(districts, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { kind: 'district', code: '370102' }, geometry: { type: 'Polygon', coordinates: [ring] } }] }));
  const plan = (tiles: string, prior: string) => planBatch(BatchArgsSchema.parse({ epoch: '2026-10', tiles: [tiles], prior: [prior], zones: [districts] }));

  it('stops (TILE.NOT_FOUND) naming the folder when --tiles or --prior does not exist or holds no tile', async () => {
    await s2(join(root, 'pri-n'), 'T50SNA_20260905');
    await s2(join(root, 'cur-n'), 'T50SNA_20261005');
    const missing = join(root, 'no-such-folder');
    await expect(plan(missing, join(root, 'pri-n'))).rejects.toMatchObject({ code: 'TILE.NOT_FOUND', message: expect.stringContaining(`--tiles found no tile to read (${missing}: does not exist)`) });
    await expect(plan(join(root, 'cur-n'), missing)).rejects.toMatchObject({ code: 'TILE.NOT_FOUND', message: expect.stringContaining(`--prior found no tile to read (${missing}: does not exist)`) });
    const empty = join(root, 'empty-folder');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'no tiles here');
    await expect(plan(empty, join(root, 'pri-n'))).rejects.toMatchObject({ code: 'TILE.NOT_FOUND', message: expect.stringContaining(`${empty}: no TIFF files`) });
  });

  it('still plans a folder of only rejected tiles, listing them (the report names them)', async () => {
    const broken = join(root, 'only-broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'x_20261005.tif'), 'not a tiff at all');
    const p = await plan(broken, join(root, 'pri-n'));
    expect(p.tiles).toEqual([]);
    expect(p.rejected.map((r) => [r.subject, r.error.code])).toEqual([[join(broken, 'x_20261005.tif'), 'TILE.UNREADABLE']]);
  });
});

describe('planBatch pixel sizes: a prior coarser than its tile', () => {
  it('is used, with a warning naming both files and both pixel sizes; a prior at the same size gets none', async () => {
    const dir = join(root, 'coarse');
    const districts = join(dir, 'districts.geojson');
    mkdirSync(join(dir, 'cur'), { recursive: true });
    mkdirSync(join(dir, 'pri20'), { recursive: true });
    mkdirSync(join(dir, 'pri10'), { recursive: true });
    const ring = [[117, 36.6], [117.01, 36.6], [117.01, 36.61], [117, 36.61], [117, 36.6]];
    writeFileSync(districts, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { kind: 'district', code: '370102' }, geometry: { type: 'Polygon', coordinates: [ring] } }] }));
    const four = (n: number) => [1, 2, 3, 4].map(() => new Uint16Array(n).fill(500));
    const tile = join(dir, 'cur', 'after_20261005.tif');
    const coarse = join(dir, 'pri20', 'before_20260905.tif');
    const same = join(dir, 'pri10', 'before_20260905.tif');
    await writeGeoTiffArrays(tile, { grid, dtype: 'uint16', bands: four(16 * 8), nodata: 0 });
    await writeGeoTiffArrays(coarse, { grid: { ...grid, width: 8, height: 4, transform: [500000, 20, 0, 4000000, 0, -20] }, dtype: 'uint16', bands: four(8 * 4), nodata: 0 });
    await writeGeoTiffArrays(same, { grid, dtype: 'uint16', bands: four(16 * 8), nodata: 0 });
    const plan = (prior: string) => planBatch(BatchArgsSchema.parse({ epoch: '2026-10', tiles: [join(dir, 'cur')], prior: [prior], zones: [districts] }));
    const warned = await plan(join(dir, 'pri20'));
    expect(warned.tiles).toHaveLength(1);
    const w = (warned.warnings ?? []).filter((x) => x.includes('coarser'));
    expect(w).toHaveLength(1);
    expect(w[0]).toContain(tile);
    expect(w[0]).toContain(coarse);
    expect(w[0]).toMatch(/20 m pixels, 2\.0× coarser than the tile's 10 m/);
    expect((await plan(join(dir, 'pri10'))).warnings?.filter((x) => x.includes('coarser'))).toEqual([]);
  });
});

describe('largestFirst (the queue order of a batch\'s tiles)', () => {
  it('puts the tiles with most pixels first, equal ones in the plan\'s order', () => {
    const tile = (id: string, width: number, height: number) => ({ tile: { id, grid: { ...grid, width, height } } }) as TilePlan;
    const tiles = [tile('corner', 288, 288), tile('edge-a', 288, 320), tile('inner', 320, 320), tile('edge-b', 320, 288), tile('strip', 1000, 10)];
    expect(largestFirst({ tiles })).toEqual(['inner', 'edge-a', 'edge-b', 'corner', 'strip']);
  });
});
