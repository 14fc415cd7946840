/**
 * Accuracy regression on real imagery: three small OSCD cities through the product path
 * (catalogue → openTile/openMosaic → detectTile), each scored with the leave-one-city-out model
 * that never saw it (bench-results/change-model-loco.json, written by npm run train) and sorted by
 * the leave-one-city-out object model (bench-results/object-model-loco.json). The confidence floor
 * (object stage, objects 1.1.0, rennes + nantes + bercy): polygons at confidence ≥ 0.5 touch
 * labelled change 80 % of the time (59 polygons; 69 % with model 1.4.0 / objects 1.0.0), those
 * under 0.2 17 % (313 polygons), all of them 28 % (475 polygons). The pixel floors
 * sit a few points under what the detector measures (detector 0.7.0, model 1.5.0, rennes + nantes
 * + bercy: pooled F1 0.481, object recall 0.854 (model 1.4.0: 0.480, 0.822); paris, under two
 * cloud haze rings: F1 0.297 (0.319 with model 1.4.0; 0.12 before the halo hid the haze)), so a change to features,
 * model or post-processing that loses
 * real change fails here, not in a benchmark nobody reran. Reads ../shared/data (CI has it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addReliability, detectScene, emptyReliability, evaluateScene } from './detect-scene.js';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import { DEFAULT_DETECTOR_PARAMS } from '../pipeline/detect/detector-params.js';
import type { ObjectModel } from '../pipeline/detect/object-model.js';
import { oscdCityFiles } from './bench-data.js';
import { addCounts, pixelMetrics, type PixelCounts } from './metrics.js';

const DATA = new URL('../../shared/data/oscd', import.meta.url).pathname;
const LOCO = new URL('../bench-results/change-model-loco.json', import.meta.url).pathname;
const OBJECT_LOCO = new URL('../bench-results/object-model-loco.json', import.meta.url).pathname;
const objectFolds = (): Record<string, ObjectModel> => (JSON.parse(readFileSync(OBJECT_LOCO, 'utf8')) as { folds: Record<string, ObjectModel> }).folds;
const CITIES = ['rennes', 'nantes', 'bercy'];

describe('OSCD accuracy regression (leave-one-city-out, product path)', () => {
  it('keeps pooled pixel F1, object recall and the meaning of confidence on rennes, nantes and bercy above their floors', async () => {
    expect(existsSync(DATA), `${DATA} is missing: the shared OSCD data must sit beside the checkout`).toBe(true);
    const folds = (JSON.parse(readFileSync(LOCO, 'utf8')) as { folds: Record<string, ChangeModel> }).folds;
    const objects = objectFolds();
    let counts: PixelCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
    let refObjects = 0, hit = 0;
    let reliability = emptyReliability();
    for (const city of CITIES) {
      expect(folds[city]?.trainedOn, `fold model for ${city}`).not.toContain(city);
      expect(objects[city]?.trainedOn, `fold object model for ${city}`).not.toContain(city);
      const files = await oscdCityFiles(DATA, city);
      const { det, ref } = await detectScene(files, DEFAULT_DETECTOR_PARAMS, { model: folds[city], objectModel: objects[city] });
      const r = evaluateScene(ref, det, 0, DEFAULT_DETECTOR_PARAMS);
      counts = addCounts(counts, r.counts);
      refObjects += r.refObjects;
      hit += r.objectRecall * r.refObjects;
      reliability = addReliability(reliability, r.reliability);
    }
    const m = pixelMetrics(counts);
    expect(m.f1, `pooled P ${m.precision.toFixed(3)} R ${m.recall.toFixed(3)}`).toBeGreaterThanOrEqual(0.47);
    expect(hit / refObjects).toBeGreaterThanOrEqual(0.83);
    // Confidence means something: polygons at ≥ 0.5 mostly touch labelled change, those under 0.2 rarely.
    const share = (from: number, to: number) => {
      const n = reliability.polygons.slice(from, to).reduce((a, v) => a + v, 0);
      return { n, precision: reliability.hit.slice(from, to).reduce((a, v) => a + v, 0) / n };
    };
    const high = share(5, 10), low = share(0, 2), all = share(0, 10);
    expect(high.precision, `${high.n} polygons at confidence ≥ 0.5`).toBeGreaterThanOrEqual(0.7);
    expect(low.precision, `${low.n} polygons under 0.2`).toBeLessThanOrEqual(0.22);
    // Share of the issued polygons touching labelled change (0.28 on 475 polygons, objects 1.1.0).
    expect(all.precision, `${all.n} polygons`).toBeGreaterThanOrEqual(0.27);
  }, 180_000);

  it('keeps paris above its floor: cloud haze rings are hidden, white roofs are not', async () => {
    const folds = (JSON.parse(readFileSync(LOCO, 'utf8')) as { folds: Record<string, ChangeModel> }).folds;
    const { det, ref } = await detectScene(await oscdCityFiles(DATA, 'paris'), DEFAULT_DETECTOR_PARAMS, { model: folds.paris, objectModel: objectFolds().paris });
    const r = evaluateScene(ref, det, 0, DEFAULT_DETECTOR_PARAMS);
    expect(r.f1, `paris P ${r.precision.toFixed(3)} R ${r.recall.toFixed(3)}`).toBeGreaterThanOrEqual(0.26);
  }, 120_000);
});
