import { describe, expect, it } from 'vitest';
import type { Grid } from '../../geo/raster.js';
import { shippedChangeModel, type ChangeModel } from './change-model.js';
import { extractComponents } from './components.js';
import { DEFAULT_DETECTOR_PARAMS, componentParams } from './detector-params.js';
import { OBJECT_FEATURE_COUNT, OBJECT_FEATURE_NAMES, objectFeatures } from './object-features.js';
import { checkObjectModel, objectModelFits, objectProbability, shippedObjectModel, type ObjectModel } from './object-model.js';
import { CHANGE_TYPE_CODES, NOT_OBSERVED } from './score.js';
import { StageTimer } from './stage-timer.js';
import { vectoriseComponents } from './vectorise.js';

const W = 40, H = 40;
const f = (name: (typeof OBJECT_FEATURE_NAMES)[number]) => OBJECT_FEATURE_NAMES.indexOf(name);

/** A probability plane of 0.1 with a bright 6×6 square (label 1) and a faint 1×10 sliver (label 2), both construction; an unobserved strip of 6 rows at the top. */
function plane(): { score: Float32Array; type: Uint8Array; labels: Int32Array } {
  const score = new Float32Array(W * H).fill(0.1), type = new Uint8Array(W * H), labels = new Int32Array(W * H);
  for (let y = 10; y < 16; y++) for (let x = 10; x < 16; x++) {
    score[y * W + x] = 0.99;
    type[y * W + x] = CHANGE_TYPE_CODES.construction;
    labels[y * W + x] = 1;
  }
  for (let x = 25; x < 35; x++) {
    score[30 * W + x] = 0.91;
    type[30 * W + x] = CHANGE_TYPE_CODES.construction;
    labels[30 * W + x] = 2;
  }
  for (let i = 0; i < 6 * W; i++) {
    type[i] = NOT_OBSERVED;
    score[i] = NaN;
  }
  return { score, type, labels };
}

/** A one-tree model splitting on `feature` at `at`: left leaf `left`, right leaf `right` (logits), bias 0. */
function stump(feature: number, at: number, left: number, right: number, threshold = 0.5): ObjectModel {
  return {
    kind: 'object-boosted', version: '0.0.0-test', features: [...OBJECT_FEATURE_NAMES], pixelFeatures: shippedChangeModel().features, bias: 0,
    // Node 0 splits; nodes 1–6 send everything left (+∞), so leaves 0 and 4 carry the two sides.
    treeFeature: [feature, 0, 0, 0, 0, 0, 0], treeThreshold: [at, 3e38, 3e38, 3e38, 3e38, 3e38, 3e38],
    treeLeaf: [left, 0, 0, 0, right, 0, 0, 0], threshold, trainedOn: [], dataHash: '',
  };
}

describe('objectFeatures', () => {
  const { score, type, labels } = plane();
  const x = objectFeatures({ labels, count: 2, candidate: Uint8Array.from([0, 1, 1]), score, type, width: W, height: H, threshold: 0.93, pixelSizeM: 10, mmuM2: 300 });
  const F = OBJECT_FEATURE_COUNT;

  it('measures size, seeds and shape of each component', () => {
    expect(x[F + f('log10_area_over_mmu')]).toBeCloseTo(Math.log10(3600 / 300), 5);
    expect(x[F + f('seed_share')]).toBe(1);
    expect(x[2 * F + f('seed_share')]).toBe(0); // 0.91 < 0.93
    expect(x[F + f('bbox_fill')]).toBe(1);
    expect(x[2 * F + f('bbox_aspect')]).toBeCloseTo(0.1, 5);
    // A square is more compact than a sliver.
    expect(x[F + f('compactness')]).toBeGreaterThan(x[2 * F + f('compactness')]);
  });

  it('reads the contrast against the ring around it and the dominant type', () => {
    expect(x[F + f('ring_mean_score')]).toBeCloseTo(0.1, 5);
    expect(x[F + f('contrast')]).toBeCloseTo(0.89, 5);
    expect(x[F + f('type_construction')]).toBe(1);
    expect(x[F + f('type_agreement')]).toBe(1);
  });

  it('sees the unobserved strip in the neighbourhood of the component near it, not of the far one', () => {
    // 40 m pixels: cells of 4 px, a neighbourhood of 20 px round each centre.
    const c = objectFeatures({ labels, count: 2, candidate: Uint8Array.from([0, 1, 1]), score, type, width: W, height: H, threshold: 0.93, pixelSizeM: 40, mmuM2: 300 });
    expect(c[F + f('nbhd_not_observed')]).toBeGreaterThan(0);
    expect(c[2 * F + f('nbhd_not_observed')]).toBe(0);
  });

  it('leaves non-candidates at zero', () => {
    const y = objectFeatures({ labels, count: 2, candidate: Uint8Array.from([0, 1, 0]), score, type, width: W, height: H, threshold: 0.93, pixelSizeM: 10, mmuM2: 300 });
    expect(Array.from(y.subarray(2 * F, 3 * F)).every((v) => v === 0)).toBe(true);
  });
});

describe('object model', () => {
  it('walks its trees: a stump on size puts the square right and the sliver left', () => {
    const { score, type, labels } = plane();
    const x = objectFeatures({ labels, count: 2, candidate: Uint8Array.from([0, 1, 1]), score, type, width: W, height: H, threshold: 0.93, pixelSizeM: 10, mmuM2: 300 });
    const m = stump(f('log10_area_over_mmu'), 0.8, -2, 2);
    expect(objectProbability(m, x, 1)).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(objectProbability(m, x, 2)).toBeCloseTo(1 / (1 + Math.exp(2)), 6);
  });

  it('refuses a model file whose features are not this build’s', () => {
    const m = stump(0, 0, 0, 0);
    expect(() => checkObjectModel({ ...m, features: ['area', ...m.features.slice(1)] }, 'x.json')).toThrow(/x\.json 0\.0\.0-test: features .* retrain with npm run train/);
    expect(() => checkObjectModel({ ...m, treeLeaf: [0] }, 'x.json')).toThrow(/whole depth-3 trees/);
  });

  it('ships a model trained on the shipped change model’s candidates, and no other model’s', () => {
    const om = shippedObjectModel();
    expect(om.trainedOn).toHaveLength(9);
    expect(objectModelFits(om, shippedChangeModel())).toBe(true);
    const other: ChangeModel = { ...shippedChangeModel(), features: ['ndvi_diff'] };
    expect(objectModelFits(om, other)).toBe(false);
  });
});

describe('the object stage in vectorise', () => {
  const grid: Grid = { width: W, height: H, crs: 'EPSG:32650', transform: [500000, 10, 0, 3500000, 0, -10] };
  const model = shippedChangeModel();
  const params = { ...DEFAULT_DETECTOR_PARAMS, components: componentParams(DEFAULT_DETECTOR_PARAMS, true) };

  async function run(objectModel: ObjectModel | null) {
    const { score, type } = plane();
    const scores = { score, type };
    const timer = new StageTimer();
    const comps = await extractComponents(scores, { params, model: { ...model, threshold: 0.9 }, width: W, height: H, pixelAreaM2: 100, timer });
    return vectoriseComponents(scores, comps, { params: params.components, learned: true, grid, pixelAreaM2: 100, tileId: 't', afterDate: '2026-10-01', timer, objectModel });
  }

  it('issues what the model accepts with its probability as confidence, and drops what it rejects', async () => {
    const without = await run(null);
    expect(without.detections).toHaveLength(2);
    // Accept the square (right of the size split), reject the sliver.
    const withStage = await run(stump(f('log10_area_over_mmu'), 0.8, -2, 2));
    expect(withStage.detections).toHaveLength(1);
    expect(withStage.detections[0].pixelCount).toBe(36);
    expect(withStage.detections[0].confidence).toBeCloseTo(1 / (1 + Math.exp(-2)), 3);
    expect(withStage.detections[0].reasons[0]).toMatch(/^object model 0\.88/);
    expect(Number.isNaN(withStage.labelConfidence[2])).toBe(true);
  });
});
