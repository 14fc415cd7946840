/**
 * Reads the accuracy-benchmark scenes (OSCD cities, Landsat Taizhou) into aligned
 * before/after Rasters plus a reference mask. Harness-only: the product reads tiles
 * through geo/tile-reader; this stays separate so the benchmark can switch to that path.
 *
 * Reference masks use REF_CHANGE / REF_NO_CHANGE / REF_IGNORE (see metrics.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import type { BandName, GeoTransform, Raster } from '../geo/raster.js';
import { REF_CHANGE, REF_IGNORE, REF_NO_CHANGE } from './metrics.js';

export interface BenchScene {
  name: string;
  before: Raster;
  after: Raster;
  /** REF_* codes on the before grid. */
  reference: Uint8Array;
  /** Ground size of a pixel, m. */
  pixelSizeM: number;
  beforeDate: string;
  afterDate: string;
}

export const OSCD_CITIES = [
  'abudhabi',
  'aguasclaras',
  'beirut',
  'bercy',
  'nantes',
  'paris',
  'pisa',
  'rennes',
  'saclay_e',
] as const;

/** Sentinel-2 band file suffix per Tuban band (10 m: B02–B04, B08; 20 m: B11, B12). */
const S2_BANDS: Record<BandName, string> = {
  blue: 'B02',
  green: 'B03',
  red: 'B04',
  nir: 'B08',
  swir1: 'B11',
  swir2: 'B12',
};

interface Plane {
  data: Float32Array;
  width: number;
  height: number;
  transform: GeoTransform;
}

async function readPlane(path: string, sample = 0): Promise<Plane> {
  const tiff = await fromFile(path);
  const img = await tiff.getImage();
  // OSCD label files carry no geotransform (they lie on the first date's grid): identity then.
  let ox = 0, oy = 0, rx = 1, ry = -1;
  try {
    [ox, oy] = img.getOrigin();
    [rx, ry] = img.getResolution();
  } catch {
    /* no affine transform */
  }
  const rasters = await img.readRasters({ samples: [sample] });
  const src = rasters[0] as ArrayLike<number>;
  const data = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) data[i] = src[i];
  return { data, width: img.getWidth(), height: img.getHeight(), transform: [ox, rx, 0, oy, 0, ry] };
}

/** Bilinear resample of `src` onto a north-up target grid (same CRS); 0 outside (treated as nodata). */
function resampleOnto(src: Plane, width: number, height: number, t: GeoTransform): Float32Array {
  const out = new Float32Array(width * height);
  const [sx0, sdx, , sy0, , sdy] = src.transform;
  for (let r = 0; r < height; r++) {
    const y = t[3] + (r + 0.5) * t[5];
    const fr = (y - sy0) / sdy - 0.5;
    for (let c = 0; c < width; c++) {
      const x = t[0] + (c + 0.5) * t[1];
      const fc = (x - sx0) / sdx - 0.5;
      let c0 = Math.floor(fc);
      let r0 = Math.floor(fr);
      let wc = fc - c0;
      let wr = fr - r0;
      // Clamp at the edges (half a source pixel) instead of dropping the border row.
      if (c0 < 0) { c0 = 0; wc = 0; }
      if (r0 < 0) { r0 = 0; wr = 0; }
      if (c0 >= src.width - 1) { c0 = src.width - 1; wc = 0; }
      if (r0 >= src.height - 1) { r0 = src.height - 1; wr = 0; }
      if (fc < -1 || fr < -1 || fc > src.width || fr > src.height) continue;
      const c1 = Math.min(c0 + 1, src.width - 1);
      const r1 = Math.min(r0 + 1, src.height - 1);
      const d = src.data;
      const v =
        (1 - wr) * ((1 - wc) * d[r0 * src.width + c0] + wc * d[r0 * src.width + c1]) +
        wr * ((1 - wc) * d[r1 * src.width + c0] + wc * d[r1 * src.width + c1]);
      out[r * width + c] = v;
    }
  }
  return out;
}

function validOf(bands: Partial<Record<BandName, Float32Array>>, n: number): Uint8Array {
  const valid = new Uint8Array(n).fill(1);
  for (const b of Object.values(bands)) {
    if (!b) continue;
    for (let i = 0; i < n; i++) if (!(b[i] > 0)) valid[i] = 0;
  }
  return valid;
}

async function readOscdDate(dir: string, width: number, height: number, t: GeoTransform): Promise<Raster> {
  const files = readdirSync(dir);
  const bands: Partial<Record<BandName, Float32Array>> = {};
  for (const [name, suffix] of Object.entries(S2_BANDS) as [BandName, string][]) {
    const f = files.find((x) => x.endsWith(`_${suffix}.tif`));
    if (!f) throw new Error(`OSCD: no ${suffix} in ${dir}`);
    bands[name] = resampleOnto(await readPlane(join(dir, f)), width, height, t);
  }
  return { width, height, transform: t, crs: 'EPSG:4326', bands, valid: validOf(bands, width * height) };
}

/** One OSCD city, second date resampled onto the first date's 10 m grid (labels lie on it). */
export async function readOscdCity(root: string, city: string): Promise<BenchScene> {
  const imgDir = join(root, 'images', city);
  const b02 = readdirSync(join(imgDir, 'imgs_1')).find((f) => f.endsWith('_B02.tif'))!;
  const grid = await readPlane(join(imgDir, 'imgs_1', b02));
  const { width, height, transform } = grid;
  const before = await readOscdDate(join(imgDir, 'imgs_1'), width, height, transform);
  const after = await readOscdDate(join(imgDir, 'imgs_2'), width, height, transform);
  const lab = await readPlane(join(root, 'labels', city, `${city}-cm.tif`));
  if (lab.width !== width || lab.height !== height) throw new Error(`OSCD ${city}: label grid differs from B02`);
  const reference = new Uint8Array(width * height);
  for (let i = 0; i < reference.length; i++) {
    reference[i] = lab.data[i] === 2 ? REF_CHANGE : lab.data[i] === 1 ? REF_NO_CHANGE : REF_IGNORE;
  }
  const dates = readFileSync(join(imgDir, 'dates.txt'), 'utf8');
  const d1 = /date_1:\s*(\d{8})/.exec(dates)?.[1] ?? '';
  const d2 = /date_2:\s*(\d{8})/.exec(dates)?.[1] ?? '';
  const iso = (s: string) => `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
  // Degrees → metres at the scene's latitude.
  const lat = transform[3] + (height / 2) * transform[5];
  const pixelSizeM = (Math.abs(transform[1]) * Math.cos((lat * Math.PI) / 180) + Math.abs(transform[5])) / 2 * 111_320;
  return { name: city, before, after, reference, pixelSizeM, beforeDate: iso(d1), afterDate: iso(d2) };
}

/** Band order of the 6-band files (OSCD as read here, Landsat TM/ETM+ Taizhou). */
const TM_BANDS: BandName[] = ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];

/** Where a benchmark scene's two dates lie on disk, and its reference on the first date's grid. */
export interface BenchSceneFiles {
  name: string;
  /** Inputs for catalogueTiles: the first date (its grid is scored; labels lie on it) and the second. */
  first: string[];
  second: string[];
  /** The bands to detect with; also the band order of multiband files unless `fileBands` is given. */
  bands: BandName[];
  /**
   * Every band of the multiband files, in order, where `bands` may be fewer (the 4-band path on a
   * 6-band file): the catalogue rejects a file with more bands than it is told of.
   */
  fileBands?: BandName[];
  /** REF_* codes on the first date's grid. */
  reference: Uint8Array;
  width: number;
  height: number;
}

/** One OSCD city as files for the product path: imgs_1 is scored, imgs_2 warped onto it. */
export async function oscdCityFiles(root: string, city: string): Promise<BenchSceneFiles> {
  const imgDir = join(root, 'images', city);
  const lab = await readPlane(join(root, 'labels', city, `${city}-cm.tif`));
  const reference = new Uint8Array(lab.width * lab.height);
  for (let i = 0; i < reference.length; i++) reference[i] = lab.data[i] === 2 ? REF_CHANGE : lab.data[i] === 1 ? REF_NO_CHANGE : REF_IGNORE;
  return {
    name: city, first: [join(imgDir, 'imgs_1')], second: [join(imgDir, 'imgs_2')],
    bands: [...TM_BANDS], reference, width: lab.width, height: lab.height,
  };
}

/** Landsat Taizhou as files for the product path (6-band GeoTIFFs, 2000 scored, 2003 aligned onto it). */
export async function taizhouFiles(dir: string): Promise<BenchSceneFiles> {
  const ref = await readPlane(join(dir, 'Taizhou_reference_0unlabeled_1unchanged_2changed.tif'));
  const reference = new Uint8Array(ref.data.length);
  for (let i = 0; i < reference.length; i++) reference[i] = ref.data[i] === 2 ? REF_CHANGE : ref.data[i] === 1 ? REF_NO_CHANGE : REF_IGNORE;
  return {
    name: 'taizhou',
    first: [join(dir, 'Taizhou_2000-03-17_L7ETM_6b.tif')],
    second: [join(dir, 'Taizhou_2003-02-06_L7ETM_6b.tif')],
    bands: [...TM_BANDS], fileBands: [...TM_BANDS], reference, width: ref.width, height: ref.height,
  };
}
