import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../fixtures/scene-math.js';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_NAMES_4BAND, SWIR_FEATURES } from './change-features.js';
import { TREE_DEPTHS, TREE_LEAVES, TREE_NODES, checkModel, foldModel, modelHash, modelNeedsSwir, predictPlanes, predictPlanesScalar, shippedChangeModel, shippedChangeModel4Band, type ChangeModel } from './change-model.js';

/** One depth-3 tree that splits only on feature 0 at 1.0 (every node), leaves −2 … +2. */
/** Feature planes that hit every awkward case: values on a split's exact threshold, NaN, ±∞, ±0. */
function awkwardPlanes(th: Float32Array, n: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  return Array.from({ length: FEATURE_COUNT }, () => Float32Array.from({ length: n }, () => {
    const u = rand();
    return u < 0.3 ? th[Math.floor(rand() * th.length)] : u < 0.35 ? NaN : u < 0.37 ? (rand() < 0.5 ? Infinity : -Infinity) : u < 0.39 ? (rand() < 0.5 ? 0 : -0) : (rand() - 0.5) * 4;
  }));
}

/** The WebAssembly kernel's float32 bits equal the scalar walk's, over a pixel list with gaps and an odd count. */
function expectKernelBitsEqualScalar(folded: ReturnType<typeof foldModel>, planes: Float32Array[]): void {
  const n = planes[0].length;
  const at = Int32Array.from({ length: n - 3 }, (_, k) => k + (k % 2));
  const simd = new Float32Array(n), scalar = new Float32Array(n);
  predictPlanes(folded, planes, at, at.length, simd);
  predictPlanesScalar(folded, planes, at, at.length, scalar);
  expect(new Uint8Array(simd.buffer)).toEqual(new Uint8Array(scalar.buffer));
  // And the probabilities are not all one value (the test would pass on a constant).
  expect(new Set(simd).size).toBeGreaterThan(50);
}

function oneTree(): ChangeModel {
  const treeFeature = Array(TREE_NODES).fill(0);
  const treeThreshold = Array(TREE_NODES).fill(1);
  // x ≤ 1 goes left at every level → leaf 0; x > 1 → leaf 7.
  const treeLeaf = Array(TREE_LEAVES).fill(0);
  treeLeaf[0] = -2;
  treeLeaf[TREE_LEAVES - 1] = 2;
  return {
    kind: 'boosted', version: 't', features: [...FEATURE_NAMES], mean: [], scale: [], weights: [], bias: 0,
    treeFeature, treeThreshold, treeLeaf, threshold: 0.5, trainedOn: [], dataHash: '',
  };
}

describe('change model', () => {
  it('walks boosted trees: x ≤ threshold goes left, the leaf value is a logit', () => {
    const planes = Array.from({ length: FEATURE_COUNT }, () => new Float32Array([0.5, 3]));
    const out = new Float32Array(2);
    predictPlanes(foldModel(oneTree()), planes, Int32Array.from([0, 1]), 2, out);
    expect(out[0]).toBeCloseTo(1 / (1 + Math.exp(2)), 5);
    expect(out[1]).toBeCloseTo(1 / (1 + Math.exp(-2)), 5);
  });

  it('scores only the pixels it is given, out[k] for pixel at[k]', () => {
    const planes = Array.from({ length: FEATURE_COUNT }, () => new Float32Array([3, 0.5, 3, 0.5]));
    const out = new Float32Array(4).fill(-1);
    predictPlanes(foldModel(oneTree()), planes, Int32Array.from([1, 2]), 2, out);
    expect(out[0]).toBeCloseTo(1 / (1 + Math.exp(2)), 5);
    expect(out[1]).toBeCloseTo(1 / (1 + Math.exp(-2)), 5);
    expect([out[2], out[3]]).toEqual([-1, -1]);
  });

  // The trees run over gathered blocks of 256 pixels sized by the planes given: more pixels than
  // one block, and a feature set of another size than this build's (a 4-band model), must work.
  it('walks the trees over several pixel blocks and over any number of feature planes', () => {
    const n = 700;
    // foldModel maps a model's features to this build's planes by name; a folded model may point
    // past them (planes of another feature set), so the plane index is set on the folded trees.
    const folded = foldModel(oneTree());
    const last = FEATURE_COUNT + 5;
    folded.trees!.feature.fill(last);
    const planes = Array.from({ length: last + 1 }, (_, f) => Float32Array.from({ length: n }, (_, i) => (f === last ? (i % 3 === 0 ? 3 : 0.5) : NaN)));
    const at = Int32Array.from({ length: n }, (_, k) => n - 1 - k);
    const out = new Float32Array(n);
    predictPlanes(folded, planes, at, n, out);
    for (let k = 0; k < n; k++) expect(out[k]).toBeCloseTo(1 / (1 + Math.exp(at[k] % 3 === 0 ? -2 : 2)), 5);
    expect(() => predictPlanes(folded, planes.slice(0, last), at, n, out)).toThrow(/splits on feature/);
  });

  // The WebAssembly kernel must give the scalar walk's float32 bits, not just close values: every
  // pixel on a split's exact threshold, NaN, ±∞, ±0 and plain values, for both shipped models, over
  // a pixel count that is not a multiple of the block or of the SIMD width.
  it('WebAssembly trees give the scalar walk\'s bits for both shipped models, ties, NaN and infinities', () => {
    for (const m of [shippedChangeModel(), shippedChangeModel4Band()]) {
      const folded = foldModel(m);
      expectKernelBitsEqualScalar(folded, awkwardPlanes(folded.trees!.threshold, 1001, 5));
    }
  });

  it('folds logistic standardisation so predictions equal the unfolded formula', () => {
    const m: ChangeModel = {
      kind: 'logistic', version: 't', features: [...FEATURE_NAMES], bias: 0.3, threshold: 0.5, trainedOn: [], dataHash: '',
      mean: Array.from({ length: FEATURE_COUNT }, (_, f) => f * 0.1),
      scale: Array.from({ length: FEATURE_COUNT }, (_, f) => 1 + f),
      weights: Array.from({ length: FEATURE_COUNT }, (_, f) => (f % 3) - 1),
    };
    const x = Array.from({ length: FEATURE_COUNT }, (_, f) => Math.sin(f));
    let z = m.bias;
    for (let f = 0; f < FEATURE_COUNT; f++) z += (m.weights[f] * (x[f] - m.mean[f])) / m.scale[f];
    const out = new Float32Array(1);
    predictPlanes(foldModel(m), x.map((v) => new Float32Array([v])), Int32Array.from([0]), 1, out);
    expect(out[0]).toBeCloseTo(1 / (1 + Math.exp(-z)), 5);
  });

  it('refuses a model with a feature this build does not compute', () => {
    const m = oneTree();
    m.features = [...m.features.slice(1), 'dCoastal'];
    expect(() => checkModel(m)).toThrow(/npm run train/);
  });

  it('reads a 4-band model\'s k-th feature from the plane of its name, not from plane k', () => {
    // The tree splits on the model's feature 0 = 'dBlue' (plane 0) in the 6-band list, but on
    // 'lr' in the 4-band one: lr is plane 6 of FEATURE_NAMES and feature 2 of FEATURE_NAMES_4BAND.
    const m = { ...oneTree(), features: [...FEATURE_NAMES_4BAND], treeFeature: Array(TREE_NODES).fill(FEATURE_NAMES_4BAND.indexOf('lr')) };
    const planes = Array.from({ length: FEATURE_COUNT }, () => new Float32Array([0.5]));
    planes[FEATURE_NAMES.indexOf('lr')][0] = 3;
    const out = new Float32Array(1);
    predictPlanes(foldModel(checkModel(m)), planes, Int32Array.from([0]), 1, out);
    expect(out[0]).toBeCloseTo(1 / (1 + Math.exp(-2)), 5);
  });

  it('refuses features out of this build\'s order, and trees that split on a feature the model does not list', () => {
    expect(() => checkModel({ ...oneTree(), features: ['lr', 'dBlue'] })).toThrow(/npm run train/);
    expect(() => checkModel({ ...oneTree(), features: ['dBlue', 'lr'], treeFeature: Array(TREE_NODES).fill(2) })).toThrow(/does not list/);
  });

  it('ships a 4-band model (no swir feature) trained on the same cities, with a version of its own', () => {
    const m4 = shippedChangeModel4Band();
    expect(m4.features).toEqual([...FEATURE_NAMES_4BAND]);
    expect(m4.features.some((f) => SWIR_FEATURES.includes(f))).toBe(false);
    expect(modelNeedsSwir(m4)).toBe(false);
    expect(modelNeedsSwir(shippedChangeModel())).toBe(true);
    expect([...m4.trainedOn].sort()).toEqual([...shippedChangeModel().trainedOn].sort());
    expect(modelHash(m4)).not.toBe(modelHash(shippedChangeModel()));
  });

  it('ships a boosted model trained on the OSCD cities only, whose hash changes with its weights', () => {
    const m = shippedChangeModel();
    expect(m.kind).toBe('boosted');
    expect([...m.trainedOn].sort()).toEqual(['abudhabi', 'aguasclaras', 'beirut', 'bercy', 'nantes', 'paris', 'pisa', 'rennes', 'saclay_e']);
    expect(m.threshold).toBeGreaterThan(0);
    expect(m.threshold).toBeLessThan(1);
    const changed = { ...m, treeLeaf: m.treeLeaf!.map((v, i) => (i === 0 ? v + 1 : v)) };
    expect(modelHash(changed)).not.toBe(modelHash(m));
  });

  /** `count` random complete trees of `depth` over all planes; thresholds from `values` (so pixels tie with them). */
  function randomTrees(depth: number, count: number, seed: number): ChangeModel {
    const rand = mulberry32(seed);
    const nodes = (1 << depth) - 1, leaves = 1 << depth;
    return {
      kind: 'boosted', version: 't', features: [...FEATURE_NAMES], mean: [], scale: [], weights: [], bias: 0.25, threshold: 0.5, trainedOn: [], dataHash: '',
      treeDepth: depth,
      treeFeature: Array.from({ length: count * nodes }, () => Math.floor(rand() * FEATURE_COUNT)),
      // Some nodes without a split (3e38: everything but NaN and +∞ goes left), as the trainer writes them.
      treeThreshold: Array.from({ length: count * nodes }, () => (rand() < 0.1 ? 3e38 : Math.fround((rand() - 0.5) * 4))),
      treeLeaf: Array.from({ length: count * leaves }, () => +((rand() - 0.5) * 0.6).toPrecision(6)),
    };
  }

  /** Planes where pixels sit on split thresholds, are NaN, ±∞, ±0 or plain values. */
  it('WebAssembly trees of every depth it walks give the scalar walk\'s bits: ties, NaN, ±∞, ±0', () => {
    for (const depth of TREE_DEPTHS) {
      const folded = foldModel(checkModel(randomTrees(depth, 40, depth)));
      expect(folded.trees!.depth).toBe(depth);
      expectKernelBitsEqualScalar(folded, awkwardPlanes(folded.trees!.threshold, 1001, 11 * depth));
    }
  });

  // A depth-3 tree is a depth-4 tree whose deepest nodes send everything left (threshold +∞ sends
  // all but NaN left: NaN features are kept out of this check): both kernels and both depths agree.
  it('a depth-4 model equal to a depth-3 one scores bit for bit what the depth-3 kernel does', () => {
    const m3 = shippedChangeModel();
    const T = m3.treeLeaf!.length / TREE_LEAVES;
    const f4: number[] = [], t4: number[] = [], l4: number[] = [];
    for (let t = 0; t < T; t++) {
      f4.push(...m3.treeFeature!.slice(t * 7, t * 7 + 7), ...Array(8).fill(0));
      t4.push(...m3.treeThreshold!.slice(t * 7, t * 7 + 7), ...Array(8).fill(Infinity));
      for (let j = 0; j < 8; j++) l4.push(m3.treeLeaf![t * 8 + j], 99);
    }
    const m4 = checkModel({ ...m3, treeDepth: 4, treeFeature: f4, treeThreshold: t4, treeLeaf: l4 });
    const n = 777;
    const planes = awkwardPlanes(foldModel(m3).trees!.threshold, n, 3).map((p) => p.map((v) => (Number.isNaN(v) ? 0.5 : v)));
    const at = Int32Array.from({ length: n }, (_, k) => k);
    const a = new Float32Array(n), b = new Float32Array(n), c = new Float32Array(n);
    predictPlanes(foldModel(m3), planes, at, n, a);
    predictPlanes(foldModel(m4), planes, at, n, b);
    predictPlanesScalar(foldModel(m4), planes, at, n, c);
    expect(new Uint8Array(b.buffer)).toEqual(new Uint8Array(a.buffer));
    expect(new Uint8Array(c.buffer)).toEqual(new Uint8Array(a.buffer));
    expect(modelHash(m4)).not.toBe(modelHash({ ...m4, treeDepth: undefined }));
  });

  it('refuses a depth it does not walk and tree arrays that do not fit the depth', () => {
    expect(() => checkModel({ ...randomTrees(4, 2, 1), treeDepth: 7 })).toThrow(/depth 7/);
    expect(() => checkModel({ ...randomTrees(4, 2, 1), treeDepth: 5 })).toThrow(/whole depth-5 trees/);
    expect(() => checkModel({ ...randomTrees(5, 2, 1), treeDepth: undefined })).toThrow(/whole depth-3 trees/);
  });
});
