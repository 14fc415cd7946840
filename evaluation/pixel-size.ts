/**
 * One OSCD city through the product path at 10 m and upsampled to 10/f m (resampled-scene.ts), compared
 * object by object: what `npm run bench:pixel-size` prints and evaluation/pixel-size.test.ts checks.
 */
import { join } from 'node:path';
import type { BandName } from '../geo/raster.js';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import { parseDetectorParams } from '../pipeline/detect/detector-params.js';
import { detectScene, evaluateScene } from './detect-scene.js';
import { objectHits, resampledCityFiles } from './resampled-scene.js';

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
