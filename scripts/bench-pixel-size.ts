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
import { comparePixelSizes, type PixelSizeRow } from '../evaluation/pixel-size.js';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import type { BandName } from '../geo/raster.js';
import { flag } from './bench-lib.js';

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
