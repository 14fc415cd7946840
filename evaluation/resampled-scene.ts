/**
 * An OSCD city at another pixel size, resampled in code and never stored: both dates upsampled
 * by an integer factor (bilinear at pixel centres, edges replicated) and written as 6-band uint16
 * GeoTIFFs on a UTM grid of 10/factor m in a caller-owned temporary directory; the reference by
 * nearest neighbour (each label a factor × factor block). The 10 m run goes through the same
 * writer (factor 1), so the two runs differ only in pixel size. The question it answers: do the
 * detector's metre-based windows, minimum mapping unit and cloud rules find the same objects
 * on 5 m pixels (GF-1 PMS fused, SuperView, PlanetScope sizes) as on 10 m ones?
 */
import { join } from 'node:path';
import type { Raster } from '../geo/raster.js';
import { writeGeoTiff } from '../geo/tiff/write-geotiff.js';
import { readOscdCity, type BenchSceneFiles } from './bench-data.js';
import { BANDS } from './stability-scenes.js';
import { labelComponents } from '../geo/kernels/label.js';
import { REF_CHANGE } from './metrics.js';

/** Ground size of an OSCD pixel as written here, m (Sentinel-2's 10 m bands). */
export const OSCD_PIXEL_M = 10;

/** Bilinear upsampling of one band by `f` at pixel centres, as DN (0 where the nearest source pixel is invalid: nodata). */
export function upsampleBand(r: Raster, band: Float32Array, f: number): Uint16Array {
  const { width: w, height: h } = r;
  const W = w * f, H = h * f;
  const out = new Uint16Array(W * H);
  const at = (x: number, y: number) => band[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
  for (let Y = 0; Y < H; Y++) {
    const sy = (Y + 0.5) / f - 0.5;
    const y0 = Math.floor(sy), fy = sy - y0;
    for (let X = 0; X < W; X++) {
      const sx = (X + 0.5) / f - 0.5;
      const x0 = Math.floor(sx), fx = sx - x0;
      const near = Math.min(h - 1, Math.max(0, Math.round(sy))) * w + Math.min(w - 1, Math.max(0, Math.round(sx)));
      if (!r.valid[near]) continue;
      const v = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      out[Y * W + X] = Math.max(1, Math.min(65535, Math.round(v)));
    }
  }
  return out;
}

/** Nearest-neighbour upsampling of a label plane by `f`. */
export function upsampleNearest(src: Uint8Array, w: number, h: number, f: number): Uint8Array {
  const W = w * f;
  const out = new Uint8Array(W * h * f);
  for (let Y = 0; Y < h * f; Y++) for (let X = 0; X < W; X++) out[Y * W + X] = src[Math.floor(Y / f) * w + Math.floor(X / f)];
  return out;
}

async function writeDate(path: string, r: Raster, f: number, date: string): Promise<void> {
  const planes = BANDS.map((b) => upsampleBand(r, r.bands[b]!, f));
  const width = r.width * f;
  const px = OSCD_PIXEL_M / f;
  await writeGeoTiff(path, {
    grid: { width, height: r.height * f, crs: 'EPSG:32650', transform: [400_000, px, 0, 3_500_000, 0, -px] },
    dtype: 'uint16', nodata: 0, date, tileSize: 256, compression: 'deflate', bandCount: BANDS.length,
    rows: (row0, n) => planes.map((p) => p.subarray(row0 * width, (row0 + n) * width)),
  });
}

/**
 * Writes OSCD `city` at 10/factor m into `dir` (both dates, 6 bands in BANDS order) and returns
 * it as a bench scene for detectScene; restrict `bands` there for the 4-band path.
 */
export async function resampledCityFiles(root: string, city: string, factor: number, dir: string): Promise<BenchSceneFiles> {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`resampledCityFiles: factor must be a whole number ≥ 1, got ${factor}`);
  const scene = await readOscdCity(root, city);
  const first = join(dir, `${city}-x${factor}-before.tif`);
  const second = join(dir, `${city}-x${factor}-after.tif`);
  await writeDate(first, scene.before, factor, scene.beforeDate);
  await writeDate(second, scene.after, factor, scene.afterDate);
  const { width: w, height: h } = scene.before;
  return {
    name: `${city}@${OSCD_PIXEL_M / factor}m`, first: [first], second: [second], bands: [...BANDS], fileBands: [...BANDS],
    reference: upsampleNearest(scene.reference, w, h, factor), width: w * factor, height: h * factor,
  };
}

/**
 * Which labelled change objects of the `w` × `h` reference a detection mask at `factor` times
 * the resolution touches: one entry per 8-connected object of at least minPixels (reference
 * pixels), 1 = hit. Lets a 5 m run be compared object by object with the 10 m one.
 */
export function objectHits(mask: Uint8Array, factor: number, reference: Uint8Array, w: number, h: number, minPixels: number): Uint8Array {
  const ref = new Uint8Array(w * h);
  for (let i = 0; i < ref.length; i++) ref[i] = reference[i] === REF_CHANGE ? 1 : 0;
  const labels = new Int32Array(w * h);
  const count = labelComponents(ref, w, h, labels, 8);
  const size = new Int32Array(count + 1), hit = new Uint8Array(count + 1);
  const W = w * factor;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const l = labels[y * w + x];
      if (!l) continue;
      size[l]++;
      for (let dy = 0; dy < factor && !hit[l]; dy++) for (let dx = 0; dx < factor; dx++) if (mask[(y * factor + dy) * W + x * factor + dx]) { hit[l] = 1; break; }
    }
  }
  const out: number[] = [];
  for (let l = 1; l <= count; l++) if (size[l] >= minPixels) out.push(hit[l]);
  return Uint8Array.from(out);
}
