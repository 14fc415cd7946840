/**
 * False alarms where nothing changed. Each OSCD city's first date is scored against copies of
 * itself that differ only as two acquisitions of an unchanged place do: other sun and haze (a gain
 * and offset per band, stronger in blue), sensor noise, and a misregistration of half a pixel or of
 * a whole pixel. Everything goes through the product path (GeoTIFF → catalogue → detectTile).
 * Prints, per city and pooled, polygons per 100 km² and the share of the scene flagged, next to the
 * real pair's, so a detector change that buys recall with instability shows up.
 *
 *   npm run bench:stability [-- --cities beirut,rennes --params '{"model":"unsupervised"}' --data ../shared/data
 *                               --out bench-results/stability.json]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BandName, Raster } from '../geo/raster.js';
import { writeGeoTiff } from '../geo/tiff/write-geotiff.js';
import { openMosaic, openTile } from '../geo/tile-reader.js';
import { OSCD_CITIES, readOscdCity } from '../pipeline/accuracy/bench-data.js';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { detectTile, type Coregistration } from '../pipeline/detect/detect-tile.js';
import { DEFAULT_DETECTOR_PARAMS, type DetectorParams } from '../pipeline/detect/detector-params.js';
import { hashN } from '../fixtures/scene-math.js';
import { flag } from './bench-lib.js';

export const BANDS: BandName[] = ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];
const PIXEL_M = 10;
// Haze and sun between two dates: multiplicative and additive, stronger at short wavelengths (DN = reflectance × 10⁴).
const GAIN = [1.1, 1.08, 1.06, 1.04, 1.03, 1.02];
const OFFSET = [200, 150, 100, 50, 30, 20];
const NOISE_DN = 40;

export interface Variant {
  name: string;
  /** Shift of the content in pixels (x, y): the second date's misregistration. */
  shift: [number, number];
  radiometric: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'identical', shift: [0, 0], radiometric: false },
  { name: 'haze+noise', shift: [0, 0], radiometric: true },
  { name: '+0.5 px', shift: [0.5, 0.5], radiometric: true },
  { name: '+1 px', shift: [1, 0], radiometric: true },
  { name: '+2 px', shift: [2, 0], radiometric: true },
  { name: '+3 px', shift: [3, 2], radiometric: true },
];

/** One band of `src` resampled bilinearly at (x − dx, y − dy), edges replicated; optionally hazed and noised. */
export function perturb(src: Float32Array, w: number, h: number, v: Variant, k: number): Uint16Array {
  const out = new Uint16Array(w * h);
  const [dx, dy] = v.shift;
  const at = (x: number, y: number) => src[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x - dx, sy = y - dy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      let val = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      if (v.radiometric) val = GAIN[k] * val + OFFSET[k] + NOISE_DN * hashN(k, x, y, 0x5eed);
      out[y * w + x] = Math.max(1, Math.min(65535, Math.round(val))); // 0 is nodata
    }
  }
  return out;
}

export async function writeBands(path: string, r: Raster, date: string, band: (k: number) => Uint16Array): Promise<void> {
  const { width, height } = r;
  const planes = BANDS.map((_, k) => band(k));
  await writeGeoTiff(path, {
    grid: { width, height, crs: 'EPSG:32650', transform: [400_000, PIXEL_M, 0, 3_500_000, 0, -PIXEL_M] },
    dtype: 'uint16', nodata: 0, date, tileSize: 256, compression: 'deflate', bandCount: BANDS.length,
    rows: (row0, n) => planes.map((p) => p.slice(row0 * width, (row0 + n) * width)),
  });
}

export const asDn = (r: Raster, k: number): Uint16Array => {
  const src = r.bands[BANDS[k]]!;
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = r.valid[i] ? Math.max(1, Math.min(65535, Math.round(src[i]))) : 0;
  return out;
};

export interface ControlResult {
  polygons: number;
  flaggedM2: number;
  coregistration: Coregistration | null;
}

export async function detect(beforePath: string, afterPath: string, params: DetectorParams): Promise<ControlResult> {
  const [before, after] = await Promise.all([beforePath, afterPath].map((f) => catalogueTiles([f], { bands: BANDS })));
  const reader = await openTile(after.tiles[0]);
  const mosaic = await openMosaic(before.tiles);
  try {
    const r = await detectTile(reader, mosaic, { params, bands: BANDS });
    return { polygons: r.detections.length, flaggedM2: r.detections.reduce((a, d) => a + d.areaM2, 0), coregistration: r.coregistration };
  } finally {
    await Promise.allSettled([reader.close(), mosaic.close()]);
  }
}

async function main(): Promise<void> {
  const data = flag('data', '../shared/data');
  const cities = flag('cities', OSCD_CITIES.join(',')).split(',');
  const outPath = flag('out', 'bench-results/stability.json');
  const params: DetectorParams = { ...DEFAULT_DETECTOR_PARAMS, ...(JSON.parse(flag('params', '{}')) as Partial<DetectorParams>) };
  const dir = join(tmpdir(), `tuban-stability-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const columns = ['real pair', ...VARIANTS.map((v) => v.name)];
  const width = 14;
  const totals = columns.map(() => ({ polygons: 0, flaggedM2: 0 }));
  const cell = (r: { polygons: number; flaggedM2: number }, km2: number) => `${((r.polygons / km2) * 100).toFixed(0)} (${((r.flaggedM2 / (km2 * 1e6)) * 100).toFixed(2)} %)`.padStart(width);
  let totalKm2 = 0;
  const rows: Record<string, unknown>[] = [];
  console.log(`polygons per 100 km² (share of scene flagged), model ${params.model}`);
  console.log(['city'.padEnd(12), ...columns.map((c) => c.padStart(width))].join(''));
  try {
    for (const city of cities) {
      const scene = await readOscdCity(join(data, 'oscd'), city);
      const km2 = (scene.before.width * scene.before.height * PIXEL_M * PIXEL_M) / 1e6;
      const before = join(dir, `${city}-before.tif`);
      await writeBands(before, scene.before, '2016-06-01', (k) => asDn(scene.before, k));
      const results: ControlResult[] = [];
      const real = join(dir, `${city}-after.tif`);
      await writeBands(real, scene.after, '2017-06-01', (k) => asDn(scene.after, k));
      results.push(await detect(before, real, params));
      for (const v of VARIANTS) {
        const path = join(dir, `${city}-control.tif`);
        await writeBands(path, scene.before, '2016-07-01', (k) => perturb(scene.before.bands[BANDS[k]]!, scene.before.width, scene.before.height, v, k));
        results.push(await detect(before, path, params));
      }
      totalKm2 += km2;
      results.forEach((r, j) => {
        totals[j].polygons += r.polygons;
        totals[j].flaggedM2 += r.flaggedM2;
      });
      console.log([city.padEnd(12), ...results.map((r) => cell(r, km2))].join(''));
      rows.push({ city, km2, ...Object.fromEntries(columns.map((c, j) => [c, results[j]])) });
    }
    console.log(['pooled'.padEnd(12), ...totals.map((t) => cell(t, totalKm2))].join(''));
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, JSON.stringify({ params, variants: VARIANTS, gain: GAIN, offsetDn: OFFSET, noiseDn: NOISE_DN, cities: rows, pooled: { km2: totalKm2, ...Object.fromEntries(columns.map((c, j) => [c, totals[j]])) } }, null, 1));
    console.log(`wrote ${outPath}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
