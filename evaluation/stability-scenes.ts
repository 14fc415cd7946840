/**
 * Unchanged-pair scenes for the stability benchmark and the co-registration test: a scene's first
 * date re-written as another acquisition of the same unchanged place (other sun and haze, sensor
 * noise, a misregistration), and the product detector (detectTile) run on a pair of such files.
 */
import type { BandName, Raster } from '../geo/raster.js';
import { writeGeoTiff } from '../geo/tiff/write-geotiff.js';
import { openMosaic, openTile } from '../geo/tile-reader.js';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { detectTile, type Coregistration } from '../pipeline/detect/detect-tile.js';
import type { DetectorParams } from '../pipeline/detect/detector-params.js';
import { hashN } from '../fixtures/scene-math.js';

export const BANDS: BandName[] = ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];
export const PIXEL_M = 10;
// Haze and sun between two dates: multiplicative and additive, stronger at short wavelengths (DN = reflectance × 10⁴).
export const GAIN = [1.1, 1.08, 1.06, 1.04, 1.03, 1.02];
export const OFFSET = [200, 150, 100, 50, 30, 20];
export const NOISE_DN = 40;

export interface Variant {
  name: string;
  /** Shift of the content in pixels (x, y): the second date's misregistration. */
  shift: [number, number];
  radiometric: boolean;
}
export const VARIANTS: Variant[] = [
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

/** `bands`: the bands the detector reads (the files hold BANDS): blue,green,red,nir for the 4-band path. */
export async function detect(beforePath: string, afterPath: string, params: DetectorParams, bands: BandName[] = BANDS): Promise<ControlResult> {
  const [before, after] = await Promise.all([beforePath, afterPath].map((f) => catalogueTiles([f], { bands: BANDS })));
  const reader = await openTile(after.tiles[0]);
  const mosaic = await openMosaic(before.tiles);
  try {
    const r = await detectTile(reader, mosaic, { params, bands });
    return { polygons: r.detections.length, flaggedM2: r.detections.reduce((a, d) => a + d.areaM2, 0), coregistration: r.coregistration };
  } finally {
    await Promise.allSettled([reader.close(), mosaic.close()]);
  }
}
