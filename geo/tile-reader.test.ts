import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Grid } from './raster.js';
import { gridBounds, pixelToMap, windowGrid } from './raster.js';
import { LONLAT, transformer } from './crs.js';
import { writeGeoTiffArrays } from './tiff/write-geotiff.js';
import { openGeoTiff } from './tiff/open-geotiff.js';
import { openMosaic, openTile } from './tile-reader.js';
import { catalogueTiles } from '../pipeline/catalogue.js';
import type { TileInfo } from './tile-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'tuban-tiles-'));

/** A smooth ground pattern in lon/lat: ~900 m and ~890 m wavelengths, so bilinear at ~10 m is accurate to < 1. */
function pattern(lon: number, lat: number): number {
  return 1000 + 300 * Math.sin((2 * Math.PI * lon) / 0.01) + 300 * Math.cos((2 * Math.PI * lat) / 0.008);
}

/** Write the pattern sampled at the pixel centres of `grid` (one band, float32, nodata -1). */
async function writePattern(path: string, grid: Grid, hole?: { col: number; row: number; size: number }): Promise<void> {
  const toLonLat = transformer(grid.crs, LONLAT);
  const band = new Float32Array(grid.width * grid.height);
  for (let r = 0; r < grid.height; r++) {
    for (let c = 0; c < grid.width; c++) {
      const [lon, lat] = toLonLat(...pixelToMap(grid.transform, c + 0.5, r + 0.5));
      band[r * grid.width + c] = pattern(lon, lat);
    }
  }
  if (hole) {
    for (let r = hole.row; r < hole.row + hole.size; r++) band.fill(-1, r * grid.width + hole.col, r * grid.width + hole.col + hole.size);
  }
  await writeGeoTiffArrays(path, { grid, dtype: 'float32', bands: [band], nodata: -1, date: '2023-06-01', tileSize: 64 });
}

/** A grid in `crs` covering `target` with a margin, at roughly `px` map units per pixel. */
function coveringGrid(target: Grid, crs: string, px: number, margin: number): Grid {
  const [x0, y0, x1, y1] = gridBounds(target);
  const t = transformer(target.crs, crs);
  const pts = [[x0, y0], [x1, y0], [x0, y1], [x1, y1]].map(([x, y]) => t(x, y));
  const minX = Math.min(...pts.map((p) => p[0])) - margin;
  const maxX = Math.max(...pts.map((p) => p[0])) + margin;
  const minY = Math.min(...pts.map((p) => p[1])) - margin;
  const maxY = Math.max(...pts.map((p) => p[1])) + margin;
  return { crs, width: Math.ceil((maxX - minX) / px), height: Math.ceil((maxY - minY) / px), transform: [minX, px, 0, maxY, 0, -px] };
}

async function tileOf(path: string): Promise<TileInfo> {
  const { tiles, rejected } = await catalogueTiles([path], { bands: ['red'] });
  expect(rejected).toEqual([]);
  return tiles[0];
}

const target: Grid = { crs: 'EPSG:32650', width: 160, height: 120, transform: [500000, 10, 0, 4000000, 0, -10] };

function expected(grid: Grid): Float32Array {
  const toLonLat = transformer(grid.crs, LONLAT);
  return Float32Array.from({ length: grid.width * grid.height }, (_, i) =>
    pattern(...toLonLat(...pixelToMap(grid.transform, (i % grid.width) + 0.5, Math.floor(i / grid.width) + 0.5))),
  );
}

describe('openMosaic', () => {
  const want = expected(target);

  for (const [crs, px, margin] of [['EPSG:4326', 0.0001, 0.002], ['EPSG:4527', 8, 200], ['EPSG:32651', 9, 200]] as const) {
    it(`aligns a tile written in ${crs} onto a UTM 50N grid`, async () => {
      const path = join(dir, `pattern-${crs.replace(':', '')}.tif`);
      await writePattern(path, coveringGrid(target, crs, px, margin));
      const mosaic = await openMosaic([await tileOf(path)]);
      const r = await mosaic.readAligned(target, ['red']);
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(r.bands.red![i] - want[i]));
      expect(r.valid.every((v) => v === 1)).toBe(true);
      expect(maxErr).toBeLessThan(3); // of a 1200-unit range
      await mosaic.close();
    });
  }

  it('honours nodata, stitches two tiles and marks uncovered pixels invalid', async () => {
    const whole = coveringGrid(target, 'EPSG:4527', 8, 100);
    const half = Math.floor(whole.width / 2);
    const west: Grid = { ...whole, width: half };
    const east: Grid = windowGrid(whole, { col: half, row: 0, width: whole.width - half, height: whole.height });
    const hole = { col: 20, row: 20, size: 30 };
    await writePattern(join(dir, 'west.tif'), west, hole);
    await writePattern(join(dir, 'east.tif'), east);
    const mosaic = await openMosaic([await tileOf(join(dir, 'west.tif')), await tileOf(join(dir, 'east.tif'))]);
    // Extend the target past the sources' northern edge: those rows have no data.
    const tall: Grid = { ...target, height: target.height + 40, transform: [500000, 10, 0, 4000400, 0, -10] };
    const r = await mosaic.readAligned(tall, ['red']);
    await mosaic.close();

    const holeCentre = pixelToMap(west.transform, hole.col + hole.size / 2, hole.row + hole.size / 2);
    const [hx, hy] = transformer('EPSG:4527', tall.crs)(...holeCentre);
    const hc = Math.floor((hx - 500000) / 10);
    const hr = Math.floor((4000400 - hy) / 10);
    expect(r.valid[hr * tall.width + hc]).toBe(0);
    expect(r.bands.red![hr * tall.width + hc]).toBeNaN();
    expect(r.valid[0]).toBe(0); // north of every tile
    const want2 = expected(tall);
    let covered = 0;
    let maxErr = 0;
    const errs: number[] = [];
    for (let i = 50 * tall.width; i < want2.length; i++) {
      if (!r.valid[i]) continue;
      covered++;
      errs.push(Math.abs(r.bands.red![i] - want2[i]));
      maxErr = Math.max(maxErr, errs[errs.length - 1]);
    }
    errs.sort((a, b) => a - b);
    // Everything below row 50 is covered except the hole (≤ 30·8 m ≈ 24 px square) — including the seam.
    expect(covered).toBeGreaterThan(tall.width * (tall.height - 50) - 26 * 26);
    // Next to the hole and along the seam a pixel gets only its valid neighbours (renormalised,
    // ≈ nearest): a few units off there, exact-bilinear accuracy everywhere else.
    expect(maxErr).toBeLessThan(10);
    expect(errs[Math.floor(errs.length * 0.95)]).toBeLessThan(1);
  });

  it('reads a later tile only where the target still has holes: one whose footprint is covered is never opened', async () => {
    // Both on the target's own grid (integer shifts): the first covers the target, the second overlaps it.
    const first: Grid = { crs: target.crs, width: target.width + 40, height: target.height + 40, transform: [499800, 10, 0, 4000200, 0, -10] };
    const second: Grid = { crs: target.crs, width: 200, height: 160, transform: [500800, 10, 0, 4000200, 0, -10] };
    await writePattern(join(dir, 'first.tif'), first);
    await writePattern(join(dir, 'second.tif'), second);
    const infos = [await tileOf(join(dir, 'first.tif')), await tileOf(join(dir, 'second.tif'))];
    // Catalogued, then broken: any read of the second tile now fails with TILE.UNREADABLE.
    writeFileSync(join(dir, 'second.tif'), 'not a TIFF any more');
    const alone = await openMosaic([infos[0]]);
    const want = await alone.readAligned(target, ['red']);
    await alone.close();
    const both = await openMosaic(infos);
    try {
      const r = await both.readAligned(target, ['red']);
      expect(Array.from(r.bands.red!)).toEqual(Array.from(want.bands.red!));
      expect(r.valid.every((v) => v === 1)).toBe(true);
      // East of the first tile the second one is needed, so it is read (and its breakage surfaces).
      const wider: Grid = { ...target, width: target.width + 60 };
      await expect(both.readAligned(wider, ['red'])).rejects.toMatchObject({ code: 'TILE.UNREADABLE' });
    } finally {
      await both.close();
    }
  });
});

describe('openTile', () => {
  it('groups Sentinel-2 band files and resamples the 20 m band onto the 10 m grid', async () => {
    const s2 = join(dir, 's2');
    mkdirSync(s2);
    const g10: Grid = { crs: 'EPSG:32650', width: 60, height: 40, transform: [600000, 10, 0, 3500000, 0, -10] };
    const g20: Grid = { crs: 'EPSG:32650', width: 30, height: 20, transform: [600000, 20, 0, 3500000, 0, -20] };
    // Linear in map coordinates, so bilinear resampling must reproduce it exactly inside the tile.
    const ramp = (g: Grid, k: number) => Float32Array.from({ length: g.width * g.height }, (_, i) => {
      const [x, y] = pixelToMap(g.transform, (i % g.width) + 0.5, Math.floor(i / g.width) + 0.5);
      return k * 1000 + (x - 600000) / 10 + 2 * (3500000 - y) / 10;
    });
    for (const [b, k] of [['B02', 1], ['B03', 2], ['B04', 3], ['B08', 4]] as const) {
      await writeGeoTiffArrays(join(s2, `T50RPQ_20240501T030000_${b}.tif`), { grid: g10, dtype: 'float32', bands: [ramp(g10, k)] });
    }
    await writeGeoTiffArrays(join(s2, 'T50RPQ_20240501T030000_B11.tif'), { grid: g20, dtype: 'float32', bands: [ramp(g20, 5)] });
    await writeGeoTiffArrays(join(s2, 'T50RPQ_20240501T030000_B01.tif'), { grid: g20, dtype: 'float32', bands: [ramp(g20, 9)] });

    const { tiles, rejected } = await catalogueTiles([s2]);
    expect(rejected).toEqual([]);
    expect(tiles).toHaveLength(1);
    const info = tiles[0];
    expect(Object.keys(info.bands).sort()).toEqual(['blue', 'green', 'nir', 'red', 'swir1']);
    expect(info.grid).toEqual(g10);
    expect(info.date).toBe('2024-05-01');

    const tile = await openTile(info);
    const win = { col: 10, row: 5, width: 30, height: 20 };
    const r = await tile.readWindow(win, ['blue', 'swir1']);
    expect(r.transform).toEqual([600100, 10, 0, 3499950, 0, -10]);
    const want = ramp(g10, 5);
    const blue = ramp(g10, 1);
    for (let rr = 0; rr < win.height; rr++) {
      for (let c = 0; c < win.width; c++) {
        const i = rr * win.width + c;
        const j = (rr + win.row) * g10.width + c + win.col;
        expect(r.bands.blue![i]).toBe(blue[j]);
        expect(r.bands.swir1![i]).toBeCloseTo(want[j], 3);
        expect(r.valid[i]).toBe(1);
      }
    }
    // Past the tile's edge nothing is valid.
    const edge = await tile.readWindow({ col: 55, row: 0, width: 10, height: 2 }, ['red', 'swir1']);
    expect(Array.from(edge.valid.subarray(0, 10))).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    await tile.close();
  });

  it('reads a crop of the real OSCD Pisa scene (per-band files, EPSG:4326) and aligns the second date onto it', async () => {
    const pisa = fileURLToPath(new URL('../../shared/data/oscd/images/pisa', import.meta.url));
    if (!existsSync(pisa)) throw new Error(`../shared/data is missing (looked for ${pisa}); this test needs the shared OSCD data`);
    const { tiles, rejected } = await catalogueTiles([join(pisa, 'imgs_1'), join(pisa, 'imgs_2')], { bands: ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'] });
    expect(rejected).toEqual([]);
    expect(tiles.map((t) => t.date).sort()).toEqual(['2015-07-04', '2018-02-11']);
    const before = tiles.find((t) => t.date === '2015-07-04')!;
    expect(before.grid.crs).toBe('EPSG:4326');
    expect([before.grid.width, before.grid.height]).toEqual([718, 776]);

    const win = { col: 300, row: 400, width: 64, height: 48 };
    const tile = await openTile(before);
    const r = await tile.readWindow(win, ['red', 'swir1']);
    const b04 = await openGeoTiff(before.bands.red!.file);
    const [red] = await b04.readWindow(win, [0]);
    await b04.close();
    expect(Array.from(r.bands.red!)).toEqual(Array.from(red));
    expect(r.valid.every((v) => v === 1)).toBe(true);
    const swir = r.bands.swir1!;
    expect(Math.min(...swir)).toBeGreaterThan(0);
    expect(Math.max(...swir)).toBeLessThan(10000);
    await tile.close();

    const after = tiles.find((t) => t.date === '2018-02-11')!;
    const mosaic = await openMosaic([after]);
    const aligned = await mosaic.readAligned(windowGrid(before.grid, win), ['red']);
    await mosaic.close();
    expect(aligned.valid.every((v) => v === 1)).toBe(true);
    // Both dates share one grid here, so alignment must be an exact copy of the second date's pixels.
    const b04after = await openGeoTiff(after.bands.red!.file);
    const [redAfter] = await b04after.readWindow(win, [0]);
    await b04after.close();
    expect(Array.from(aligned.bands.red!)).toEqual(Array.from(redAfter));
    // Same place, two dates: correlated reflectance (GDAL's bilinear reprojection gives 0.481 here too;
    // the scene pair is misregistered by about one row).
    const a = Array.from(red);
    const b = Array.from(aligned.bands.red!);
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const [ma, mb] = [mean(a), mean(b)];
    let sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) ** 2;
      sbb += (b[i] - mb) ** 2;
    }
    expect(sab / Math.sqrt(saa * sbb)).toBeCloseTo(0.481, 2);
  });
});

describe('reusing strip buffers', () => {
  it('fills the given arrays with exactly what a fresh read returns, for a tile and a same-grid prior', async () => {
    const grid: Grid = { ...target, width: 96, height: 80 };
    await writePattern(join(dir, 'reuse.tif'), grid, { col: 10, row: 10, size: 6 });
    const info = await tileOf(join(dir, 'reuse.tif'));
    const tile = await openTile(info);
    const mosaic = await openMosaic([info]);
    const a = { col: 0, row: 0, width: 96, height: 40 };
    const b = { col: 0, row: 40, width: 96, height: 40 };
    const first = await tile.readWindow(a, ['red']);
    const reused = await tile.readWindow(b, ['red'], first);
    const fresh = await tile.readWindow(b, ['red']);
    expect(reused.bands.red!.buffer).toBe(first.bands.red!.buffer);
    expect(Array.from(reused.bands.red!)).toEqual(Array.from(fresh.bands.red!));
    expect(Array.from(reused.valid)).toEqual(Array.from(fresh.valid));
    const p1 = await mosaic.readAligned(windowGrid(grid, a), ['red']);
    const p2 = await mosaic.readAligned(windowGrid(grid, a), ['red'], fresh);
    expect(p2.bands.red!.buffer).toBe(fresh.bands.red!.buffer);
    expect(Array.from(p2.bands.red!)).toEqual(Array.from(p1.bands.red!));
    expect(Array.from(p2.valid)).toEqual(Array.from(p1.valid));
    expect(p1.valid.includes(0)).toBe(true); // the nodata hole
    await Promise.all([tile.close(), mosaic.close()]);
  });
});

describe('openTile: zero fill in files without a nodata value', () => {
  const grid: Grid = { crs: 'EPSG:32650', width: 64, height: 50, transform: [500000, 10, 0, 4000000, 0, -10] };
  const n = grid.width * grid.height;
  /** Four bands of data with rows 0–19 zero in every band, and pixel (30, 40) zero in red only. */
  const bands = () => {
    const out = [0, 1, 2, 3].map((b) => Float32Array.from({ length: n }, (_, i) => 300 + b * 100 + (i % 7)));
    for (const band of out) band.fill(0, 0, 20 * grid.width);
    out[2][40 * grid.width + 30] = 0;
    return out;
  };

  it('counts a pixel that is 0 in every band as no data when the file declares no nodata value', async () => {
    const path = join(dir, 'zero-fill_20261008.tif');
    await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: bands(), tileSize: 32 });
    const { tiles } = await catalogueTiles([path]);
    expect(tiles[0].nodata).toBeNull();
    const reader = await openTile(tiles[0]);
    const r = await reader.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, ['blue', 'green', 'red', 'nir']);
    expect(r.valid.subarray(0, 20 * grid.width).every((v) => v === 0)).toBe(true);
    expect(r.bands.red![5 * grid.width + 3]).toBeNaN();
    expect(r.valid.subarray(20 * grid.width).every((v) => v === 1)).toBe(true); // 0 in one band only is data
    expect(r.bands.red![40 * grid.width + 30]).toBe(0);
    expect(r.bands.nir![40 * grid.width + 30]).toBe(600 + ((40 * grid.width + 30) % 7));
    await reader.close();
  });

  it('counts -0.0 in every band of a float file as 0, and a tiny value as data', async () => {
    const path = join(dir, 'zero-float_20261008.tif');
    const data = [0, 1, 2, 3].map((b) => Float32Array.from({ length: n }, (_, i) => 0.03 + b * 0.01 + (i % 7) * 0.001));
    for (const band of data) band[3 * grid.width + 5] = -0; // a fill written as negative zero
    data[0][4 * grid.width + 5] = 0; // 0 in the first band only: data
    for (const band of data) band[6 * grid.width + 7] = 1e-45; // the smallest float: not zero
    await writeGeoTiffArrays(path, { grid, dtype: 'float32', bands: data, tileSize: 32 });
    const { tiles } = await catalogueTiles([path]);
    const reader = await openTile(tiles[0]);
    const r = await reader.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, ['blue', 'green', 'red', 'nir']);
    expect(r.valid[3 * grid.width + 5]).toBe(0);
    expect(r.bands.nir![3 * grid.width + 5]).toBeNaN();
    expect(r.valid[4 * grid.width + 5]).toBe(1);
    expect(r.valid[6 * grid.width + 7]).toBe(1);
    expect(r.valid.reduce((a, v) => a + v, 0)).toBe(n - 1);
    await reader.close();
  });

  it('leaves zeros valid where the file declares another nodata value', async () => {
    const path = join(dir, 'zero-declared_20261008.tif');
    await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: bands(), tileSize: 32, nodata: 65535 });
    const { tiles } = await catalogueTiles([path]);
    const reader = await openTile(tiles[0]);
    const r = await reader.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, ['blue', 'green', 'red', 'nir']);
    expect(r.valid.every((v) => v === 1)).toBe(true);
    await reader.close();
  });
});
