/**
 * Pixel size: does the detector find the same objects when the pixels are smaller? Each OSCD city
 * is written at 10 m and upsampled to 10/f m in code (evaluation/resampled-scene.ts; nothing
 * stored), both run through the product path (detectScene → detectPair) with the city's
 * leave-one-city-out fold model, and compared: pixel F1 at each size, object recall, and how many
 * labelled objects are found at one size and not the other. The detector's windows, minimum
 * mapping unit and cloud rules are set in metres (atPixelSize), so the figures should hold.
 *
 *   npm run bench:pixel-size [-- --cities rennes,nantes --factor 2 --bands blue,green,red,nir
 *                               --data ../shared/data --out bench-results/pixel-size.json]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { OSCD_CITIES } from '../evaluation/bench-data.js';
import { detectScene, evaluateScene } from '../evaluation/detect-scene.js';
import { objectHits, resampledCityFiles } from '../evaluation/resampled-scene.js';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import { parseDetectorParams } from '../pipeline/detect/detector-params.js';
import type { BandName } from '../geo/raster.js';
import { flag } from './bench-lib.js';

export interface PixelSizeRow {
  city: string;
  f1: [number, number];
  objectRecall: [number, number];
  polygons: [number, number];
  /** Labelled objects (≥ MMU) found at both sizes, at 10 m only, at the finer size only, at neither. */
  both: number;
  coarseOnly: number;
  fineOnly: number;
  neither: number;
}

/** One city at 10 m and at 10/factor m through the product path, with `model` (a leave-one-city-out fold). */
export async function comparePixelSizes(data: string, city: string, factor: number, bands: BandName[], model: ChangeModel | null, dir: string): Promise<PixelSizeRow> {
  const params = parseDetectorParams({ model: model ? 'learned' : 'unsupervised' }, 'bench:pixel-size');
  const runs = [];
  for (const f of [1, factor]) {
    const files = await resampledCityFiles(join(data, 'oscd'), city, f, dir);
    const { det, ref } = await detectScene({ ...files, bands: files.bands.filter((b) => bands.includes(b)) }, params, { model });
    const r = evaluateScene(ref, det, 0, params);
    // Objects on the 10 m reference (minimum mapping unit in 10 m pixels).
    const w = files.width / f, h = files.height / f;
    const ref10 = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) ref10[y * w + x] = files.reference[y * f * files.width + x * f];
    const hits = objectHits(det.mask, f, ref10, w, h, Math.ceil(params.components.mmuM2 / 100));
    runs.push({ r, hits });
  }
  const [a, b] = runs;
  let both = 0, coarseOnly = 0, fineOnly = 0, neither = 0;
  for (let k = 0; k < a.hits.length; k++) {
    if (a.hits[k] && b.hits[k]) both++;
    else if (a.hits[k]) coarseOnly++;
    else if (b.hits[k]) fineOnly++;
    else neither++;
  }
  return {
    city, f1: [a.r.f1, b.r.f1], objectRecall: [a.r.objectRecall, b.r.objectRecall], polygons: [a.r.polygons, b.r.polygons],
    both, coarseOnly, fineOnly, neither,
  };
}

async function main(): Promise<void> {
  const data = flag('data', '../shared/data');
  const cities = flag('cities', OSCD_CITIES.join(',')).split(',');
  const factor = Number(flag('factor', '2'));
  const bands = flag('bands', 'blue,green,red,nir').split(',') as BandName[];
  const fourBand = !(bands.includes('swir1') && bands.includes('swir2'));
  const locoPath = flag('loco', fourBand ? 'bench-results/change-model-4band-loco.json' : 'bench-results/change-model-loco.json');
  const outPath = flag('out', 'bench-results/pixel-size.json');
  const folds = (JSON.parse(readFileSync(locoPath, 'utf8')) as { folds: Record<string, ChangeModel> }).folds;
  const dir = mkdtempSync(join(tmpdir(), 'tuban-pixel-size-'));
  const px = 10 / factor;
  console.log(`bands ${bands.join(',')}, leave-one-city-out folds from ${locoPath}; 10 m vs ${px} m (upsampled in code)`);
  console.log(`city         F1@10  F1@${px}    ΔF1  objR@10 objR@${px}  poly@10 poly@${px}  objects: both 10only ${px}only neither`);
  const rows: PixelSizeRow[] = [];
  try {
    for (const city of cities) {
      if (!folds[city]) throw new Error(`no leave-one-out model for ${city} in ${locoPath}: run npm run train`);
      const r = await comparePixelSizes(data, city, factor, bands, folds[city], dir);
      rows.push(r);
      const p = (v: number) => v.toFixed(3).padStart(6);
      console.log(`${city.padEnd(12)} ${p(r.f1[0])} ${p(r.f1[1])} ${p(r.f1[1] - r.f1[0])}  ${p(r.objectRecall[0])} ${p(r.objectRecall[1])}  ${String(r.polygons[0]).padStart(7)} ${String(r.polygons[1]).padStart(6)}  ${String(r.both).padStart(13)} ${String(r.coarseOnly).padStart(6)} ${String(r.fineOnly).padStart(5)} ${String(r.neither).padStart(7)}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify({ bands, factor, locoPath, rows }, null, 1));
  console.log(`wrote ${outPath}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
