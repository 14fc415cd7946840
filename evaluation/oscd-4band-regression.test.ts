/**
 * Accuracy regression of the 4-band path (blue, green, red, nir only: GF-1/2/6, ZY-3, SuperView,
 * PlanetScope) on real imagery: three OSCD cities read through the product path with only the
 * four 10 m bands (catalogue → openTile/openMosaic → detectPair), each scored with the 4-band
 * leave-one-city-out fold that never saw it (bench-results/change-model-4band-loco.json, written by
 * npm run train) under the default 'auto', so with the scoring settings the model file carries.
 * Measured (detector 0.7.0, 4-band model 1.2.0, rennes + nantes + bercy): pooled F1 0.505, object
 * recall 0.828 (1.0.0 with the plain gate: 0.482 / 0.854; the unsupervised score these tiles had
 * before 1.2.0: 0.35 / 0.35). Floors sit a few points under, so a change that loses real change on
 * 4-band tiles fails here.
 * Reads ../shared/data (CI has it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectScene, evaluateScene } from './detect-scene.js';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import { shippedChangeModel4Band } from '../pipeline/detect/change-model.js';
import { modelFor } from '../pipeline/detect/detect-tile.js';
import { DEFAULT_DETECTOR_PARAMS, type DetectorParams } from '../pipeline/detect/detector-params.js';
import { oscdCityFiles } from './bench-data.js';
import { addCounts, pixelMetrics, type PixelCounts } from './metrics.js';

const DATA = new URL('../../shared/data/oscd', import.meta.url).pathname;
const LOCO = new URL('../bench-results/change-model-4band-loco.json', import.meta.url).pathname;
const CITIES = ['rennes', 'nantes', 'bercy'];
const FOUR = ['blue', 'green', 'red', 'nir'] as const;
/** The default ('auto'): the 4-band model on 4-band tiles. */
const LEARNED: DetectorParams = DEFAULT_DETECTOR_PARAMS;

describe('OSCD 4-band accuracy regression (leave-one-city-out, product path)', () => {
  it('keeps pooled pixel F1 and object recall on rennes, nantes and bercy above their floors', async () => {
    expect(existsSync(DATA), `${DATA} is missing: the shared OSCD data must sit beside the checkout`).toBe(true);
    // The product's learned choice on these bands is the 4-band model; the folds are its leave-one-out twins.
    expect(modelFor(LEARNED, [...FOUR])).toBe(shippedChangeModel4Band());
    const folds = (JSON.parse(readFileSync(LOCO, 'utf8')) as { folds: Record<string, ChangeModel> }).folds;
    let counts: PixelCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
    let objects = 0, hit = 0;
    for (const city of CITIES) {
      const fold = folds[city];
      expect(fold?.trainedOn, `fold model for ${city}`).not.toContain(city);
      expect(fold.features).toEqual(shippedChangeModel4Band().features);
      const all = await oscdCityFiles(DATA, city);
      const { det, ref, detection } = await detectScene({ ...all, bands: [...FOUR] }, LEARNED, { model: fold });
      expect(detection.stamp.version).toMatch(/\+model-4band\./);
      const r = evaluateScene(ref, det, 0, LEARNED);
      counts = addCounts(counts, r.counts);
      objects += r.refObjects;
      hit += r.objectRecall * r.refObjects;
    }
    const m = pixelMetrics(counts);
    expect(m.f1, `pooled P ${m.precision.toFixed(3)} R ${m.recall.toFixed(3)}`).toBeGreaterThanOrEqual(0.47);
    expect(hit / objects).toBeGreaterThanOrEqual(0.8);
  }, 240_000);
});
