/**
 * The learned per-pixel change model: gradient-boosted trees of depth 3 to 6 (or, kept for comparison,
 * logistic regression) over FEATURE_NAMES,
 * trained by scripts/train-change-model.ts on the 9 labelled OSCD cities only. Its weights ship
 * as change-model.json beside this file; the probability threshold chosen on the training cities
 * is part of the model, so the product never looks at a histogram to decide what is change.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FEATURE_COUNT, FEATURE_NAMES, SWIR_FEATURES, featureUse, type FeatureUse } from './change-features.js';
import { treeKernel, type KernelHost } from './tree-kernel.js';
import { DEFAULT_DETECTOR_PARAMS, withModelSettings, type LearnedParams } from './detector-params.js';

export interface ChangeModel {
  /** 'boosted': trees below, logit = bias + Σ leaf; 'logistic': logit = bias + Σ weights·(x − mean)/scale. */
  kind: 'logistic' | 'boosted';
  /** Semantic version of the model; bumps with every retrain that changes weights. */
  version: string;
  features: string[];
  /** Standardisation: z_f = (x_f − mean_f) / scale_f. */
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
  /**
   * Boosted only: complete trees of depth D = treeDepth (3 when absent), breadth-first, with
   * N = 2^D − 1 nodes and 2^D leaves each. Node k of tree t splits on feature treeFeature[t·N + k]
   * at treeThreshold[t·N + k] (x ≤ threshold goes left); leaf j holds treeLeaf[t·2^D + j], a logit
   * increment.
   */
  treeFeature?: number[];
  /** Boosted only: depth of every tree; absent = 3 (the models before 1.5.0). */
  treeDepth?: number;
  treeThreshold?: number[];
  treeLeaf?: number[];
  /** Probability at or above which a pixel is change (chosen on the training cities). */
  threshold: number;
  /** Scenes it was fitted on and a hash of their label files + sampled pixels (provenance). */
  trainedOn: string[];
  dataHash: string;
  /** Free-form training notes (λ, sample counts, seed). */
  training?: Record<string, unknown>;
  /**
   * Learned-stage settings this model was chosen with (its gate, its rescue), in force wherever the
   * caller leaves that key at its default (withModelSettings in detector-params.ts): they travel
   * with the weights, so the model's stamp (version and hash) names them. Absent: the defaults.
   */
  scoring?: ModelScoring;
}

/** The learned-stage settings a model may carry. */
export type ModelScoring = Partial<Pick<LearnedParams, (typeof MODEL_SCORING_KEYS)[number]>>;
export const MODEL_SCORING_KEYS = ['gateShift', 'gateBothWays', 'gateSmooth', 'rescueSigma'] as const;

/** Short hash of the model's numbers: it joins the DetectorStamp so polygons trace to weights. */
export function modelHash(m: ChangeModel): string {
  // The depth and the settings join only when given, so the hashes of the models from before them stay as they were.
  const scoring = m.scoring ? [MODEL_SCORING_KEYS.map((k) => m.scoring![k] ?? null)] : [];
  const canon = JSON.stringify([m.kind, m.version, m.features, m.mean, m.scale, m.weights, m.bias, m.threshold, m.treeFeature ?? [], m.treeThreshold ?? [], m.treeLeaf ?? [], ...(m.treeDepth === undefined ? [] : [m.treeDepth]), ...scoring]);
  return createHash('sha256').update(canon).digest('hex').slice(0, 12);
}

/**
 * Checks a model against this build: its features must be FEATURE_NAMES' in their order, all of
 * them (the 6-band model) or some (the 4-band model, FEATURE_NAMES_4BAND); each is read from the
 * plane of that name.
 */
export function checkModel(m: ChangeModel): ChangeModel {
  const names = FEATURE_NAMES as readonly string[];
  const at = m.features.map((f) => names.indexOf(f));
  if (!m.features.length || at.some((i, k) => i < 0 || (k > 0 && i <= at[k - 1]))) {
    throw new Error(`change model ${m.version}: features [${m.features.join(',')}] are not in this build's [${names.join(',')}]; retrain with npm run train`);
  }
  const F = m.features.length;
  if (m.kind === 'logistic') {
    for (const a of [m.mean, m.scale, m.weights]) if (a.length !== F) throw new Error(`change model ${m.version}: expected ${F} coefficients`);
  } else {
    const depth = treeDepth(m);
    if (!TREE_DEPTHS.includes(depth)) throw new Error(`change model ${m.version}: tree depth ${String(m.treeDepth)} is not one this build walks (${TREE_DEPTHS.join(', ')})`);
    const nodes = (1 << depth) - 1, leaves = 1 << depth;
    const t = (m.treeLeaf?.length ?? 0) / leaves;
    if (!Number.isInteger(t) || !t || m.treeFeature?.length !== t * nodes || m.treeThreshold?.length !== t * nodes) throw new Error(`change model ${m.version}: tree arrays do not describe whole depth-${depth} trees`);
    if (m.treeFeature.some((f) => f < 0 || f >= F)) throw new Error(`change model ${m.version}: a tree splits on a feature it does not list`);
  }
  const unknown = Object.keys(m.scoring ?? {}).filter((k) => !(MODEL_SCORING_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new Error(`change model ${m.version}: scoring settings [${unknown.join(', ')}] are not ones a model carries (${MODEL_SCORING_KEYS.join(', ')})`);
  try {
    withModelSettings(DEFAULT_DETECTOR_PARAMS, m.scoring);
  } catch (e) {
    throw new Error(`change model ${m.version}: ${(e as Error).message}`);
  }
  return m;
}

/** Whether a model reads swir features (the 6-band model), so needs swir1 and swir2 in both epochs. */
export function modelNeedsSwir(m: ChangeModel): boolean {
  return m.features.some((f) => SWIR_FEATURES.includes(f));
}

/** The shipped models by file name, loaded once each. */
const shipped = new Map<string, ChangeModel>();

function loadShipped(file: string): ChangeModel {
  let m = shipped.get(file);
  if (!m) {
    // Read beside the source or the built file (tsc copies no JSON it does not import).
    const candidates = [new URL(`./${file}`, import.meta.url), new URL(`../../../pipeline/detect/${file}`, import.meta.url)];
    let text: string | null = null;
    for (const u of candidates) {
      try {
        text = readFileSync(u, 'utf8');
        break;
      } catch {
        /* try the next */
      }
    }
    if (text === null) throw new Error(`${file} not found beside pipeline/detect: run npm run train`);
    m = checkModel(JSON.parse(text) as ChangeModel);
    shipped.set(file, m);
  }
  return m;
}

/** The 6-band model shipped with this build (pipeline/detect/change-model.json): tiles whose epochs both have swir1/swir2. */
export function shippedChangeModel(): ChangeModel {
  return loadShipped('change-model.json');
}

/**
 * The 4-band model shipped with this build (pipeline/detect/change-model-4band.json): blue, green,
 * red and nir only, for GF-1/2/6, ZY-3, SuperView, PlanetScope and any tile without swir.
 */
export function shippedChangeModel4Band(): ChangeModel {
  return loadShipped('change-model-4band.json');
}

/** Depth of the trees of a model without `treeDepth` (every model before 1.5.0), and its node and leaf counts. */
export const TREE_DEPTH = 3;
export const TREE_NODES = (1 << TREE_DEPTH) - 1;
export const TREE_LEAVES = 1 << TREE_DEPTH;
/** The depths the WebAssembly kernel (assembly/predict-trees.ts) and the scalar reference walk. */
export const TREE_DEPTHS: readonly number[] = [3, 4, 5, 6];

/** A boosted model's tree depth. */
export function treeDepth(m: ChangeModel): number {
  return m.treeDepth ?? TREE_DEPTH;
}

/** A model ready to apply: typed arrays, standardisation folded into logistic weights. */
export interface FoldedModel {
  w: Float64Array;
  b: number;
  trees?: { feature: Int32Array; threshold: Float32Array; leaf: Float32Array; count: number; depth: number };
}

/**
 * Folds standardisation into the weights once (w' = w/scale, b' = b − Σ w·mean/scale), so each
 * pixel costs FEATURE_COUNT multiply-adds.
 */
export function foldModel(m: ChangeModel): FoldedModel {
  const w = new Float64Array(FEATURE_COUNT);
  let b = m.bias;
  // The model's k-th feature lives in the plane of its name (a 4-band model lists a subset).
  const plane = m.features.map((f) => (FEATURE_NAMES as readonly string[]).indexOf(f));
  if (m.kind === 'boosted') {
    const depth = treeDepth(m);
    const count = m.treeLeaf!.length / (1 << depth);
    return { w, b, trees: { feature: Int32Array.from(m.treeFeature!, (f) => plane[f]), threshold: Float32Array.from(m.treeThreshold!), leaf: Float32Array.from(m.treeLeaf!), count, depth } };
  }
  for (let k = 0; k < plane.length; k++) {
    const f = plane[k];
    w[f] = m.weights[k] / m.scale[k];
    b -= w[f] * m.mean[k];
  }
  return { w, b };
}

/**
 * The features a folded model reads and the base planes they come from (LearnedScoring.use): a
 * boosted model's are those its trees split on; a logistic model multiplies every plane (a weight
 * of 0 times a NaN is NaN), so it reads them all.
 */
export function foldedFeatureUse(folded: FoldedModel): FeatureUse {
  if (!folded.trees) return featureUse(FEATURE_NAMES.map((_, f) => f));
  return featureUse(usedFeatures(folded.trees.feature, FEATURE_COUNT));
}

/** Pixels whose features are gathered together before the trees run over them (fits in L1/L2). */
const BLOCK = 256;

/**
 * Writes the change probability of pixels at[0..n) into out[0..n) (NaN features go right, as in
 * training). Taking the pixels by index lets the caller skip the ones its gate already ruled out.
 * `host`: the memory region of the feature scratch whose planes these are (the features and `at`
 * are gathered there, in WebAssembly, instead of in JS; the same values either way).
 *
 * Trees: the asked pixels go in blocks of BLOCK; each block's features are gathered once into a
 * small feature-major array, then every tree runs over the block: the 120 trees × 3 levels read
 * ~30 KB that stays in cache instead of gathering from ~30 strip-sized planes per tree. The trees
 * run in WebAssembly SIMD (tree-kernel.ts: at depth 3 all seven comparisons and the leaf picked by
 * masks, four pixels at a time; deeper trees level by level, ~3× the cost at depth 4), bit for bit the scalar walk's result (predictTreesScalar, the reference
 * the tests hold it to): the logit is accumulated tree after tree in float32 as before.
 */
export function predictPlanes(folded: FoldedModel, planes: Float32Array[], at: Int32Array, n: number, out: Float32Array, host?: KernelHost): void {
  const { w, b, trees } = folded;
  if (trees) predictTrees(trees, b, planes, at, n, out, host);
  else {
    out.fill(b, 0, n);
    for (let f = 0; f < FEATURE_COUNT; f++) {
      const p = planes[f];
      const wf = w[f];
      for (let k = 0; k < n; k++) out[k] += wf * p[at[k]];
    }
  }
  sigmoid(out, n);
}

function sigmoid(out: Float32Array, n: number): void {
  for (let k = 0; k < n; k++) out[k] = 1 / (1 + Math.exp(-out[k]));
}

/** The features the trees read (only those are gathered). */
function usedFeatures(feature: Int32Array, nf: number): Int32Array {
  const used = new Uint8Array(nf);
  for (let k = 0; k < feature.length; k++) {
    if (!(feature[k] >= 0 && feature[k] < nf)) throw new Error(`predictPlanes: a tree splits on feature ${feature[k]}, ${nf} planes given`);
    used[feature[k]] = 1;
  }
  const list: number[] = [];
  for (let f = 0; f < nf; f++) if (used[f]) list.push(f);
  return Int32Array.from(list);
}

function predictTrees(trees: NonNullable<FoldedModel['trees']>, bias: number, planes: Float32Array[], at: Int32Array, n: number, out: Float32Array, host?: KernelHost): void {
  const kernel = treeKernel(trees, bias, planes.length, BLOCK, host);
  const block = kernel.features;
  const used = usedFeatures(trees.feature, planes.length);
  // Planes and pixel list in the host's memory (the tile driver's feature scratch): gathered there.
  const inWasm = kernel.prepareGather(planes, used, at);
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const m = Math.min(BLOCK, n - k0);
    if (inWasm) kernel.gather(k0, m);
    else for (let u = 0; u < used.length; u++) {
      const f = used[u];
      const p = planes[f];
      const o = f * BLOCK;
      for (let j = 0; j < m; j++) block[o + j] = p[at[k0 + j]];
    }
    kernel.run(m);
    out.set(kernel.logits.subarray(0, m), k0);
  }
}

/**
 * predictPlanes with the trees walked in scalar JS: the reference the WebAssembly kernel is held
 * to (change-model.test.ts, scripts/bench-kernels.ts). Same blocks, same float32 accumulation.
 */
export function predictPlanesScalar(folded: FoldedModel, planes: Float32Array[], at: Int32Array, n: number, out: Float32Array): void {
  const { b, trees } = folded;
  if (!trees) {
    predictPlanes(folded, planes, at, n, out);
    return;
  }
  const { feature, threshold, leaf, count, depth } = trees;
  const block = new Float32Array(planes.length * BLOCK), acc = new Float32Array(BLOCK);
  const rowOf = new Int32Array(feature.length);
  for (let k = 0; k < feature.length; k++) rowOf[k] = feature[k] * BLOCK;
  const used = usedFeatures(feature, planes.length);
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const m = Math.min(BLOCK, n - k0);
    for (let u = 0; u < used.length; u++) {
      const p = planes[used[u]];
      const o = used[u] * BLOCK;
      for (let j = 0; j < m; j++) block[o + j] = p[at[k0 + j]];
    }
    acc.fill(b, 0, m);
    if (depth !== 3) {
      // Any other depth: the plain walk, node k → 2k + 1 (left, x ≤ threshold; NaN goes right) or 2k + 2.
      const nodes = (1 << depth) - 1, leaves = 1 << depth;
      for (let t = 0; t < count; t++) {
        const nb = t * nodes, lb = t * leaves - nodes;
        for (let j = 0; j < m; j++) {
          let k = 0;
          for (let d = 0; d < depth; d++) k = 2 * k + (block[rowOf[nb + k] + j] <= threshold[nb + k] ? 1 : 2);
          acc[j] += leaf[lb + k];
        }
      }
      out.set(acc.subarray(0, m), k0);
      continue;
    }
    for (let t = 0; t < count; t++) {
      // Depth 3, unrolled with every row offset, threshold and leaf in a local: node 0 → 1|2 → 3..6 → leaves.
      const nb = t * TREE_NODES, lb = t * TREE_LEAVES;
      const o0 = rowOf[nb], o1 = rowOf[nb + 1], o2 = rowOf[nb + 2], o3 = rowOf[nb + 3], o4 = rowOf[nb + 4], o5 = rowOf[nb + 5], o6 = rowOf[nb + 6];
      const t0 = threshold[nb], t1 = threshold[nb + 1], t2 = threshold[nb + 2], t3 = threshold[nb + 3], t4 = threshold[nb + 4], t5 = threshold[nb + 5], t6 = threshold[nb + 6];
      const l0 = leaf[lb], l1 = leaf[lb + 1], l2 = leaf[lb + 2], l3 = leaf[lb + 3], l4 = leaf[lb + 4], l5 = leaf[lb + 5], l6 = leaf[lb + 6], l7 = leaf[lb + 7];
      for (let j = 0; j < m; j++) {
        acc[j] += block[o0 + j] <= t0
          ? block[o1 + j] <= t1 ? (block[o3 + j] <= t3 ? l0 : l1) : (block[o4 + j] <= t4 ? l2 : l3)
          : block[o2 + j] <= t2 ? (block[o5 + j] <= t5 ? l4 : l5) : (block[o6 + j] <= t6 ? l6 : l7);
      }
    }
    out.set(acc.subarray(0, m), k0);
  }
  sigmoid(out, n);
}
