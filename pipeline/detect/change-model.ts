/**
 * The learned per-pixel change model: gradient-boosted depth-3 trees (or, kept for comparison,
 * logistic regression) over FEATURE_NAMES,
 * trained by scripts/train-change-model.ts on the 9 labelled OSCD cities only. Its weights ship
 * as change-model.json beside this file; the probability threshold chosen on the training cities
 * is part of the model, so the product never looks at a histogram to decide what is change.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FEATURE_COUNT, FEATURE_NAMES, SWIR_FEATURES } from './change-features.js';

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
   * Boosted only: complete trees of depth TREE_DEPTH, breadth-first. Node k of tree t splits on
   * feature treeFeature[t·7 + k] at treeThreshold[t·7 + k] (x ≤ threshold goes left); leaf j holds
   * treeLeaf[t·8 + j], a logit increment.
   */
  treeFeature?: number[];
  treeThreshold?: number[];
  treeLeaf?: number[];
  /** Probability at or above which a pixel is change (chosen on the training cities). */
  threshold: number;
  /** Scenes it was fitted on and a hash of their label files + sampled pixels (provenance). */
  trainedOn: string[];
  dataHash: string;
  /** Free-form training notes (λ, sample counts, seed). */
  training?: Record<string, unknown>;
}

/** Short hash of the model's numbers: it joins the DetectorStamp so polygons trace to weights. */
export function modelHash(m: ChangeModel): string {
  const canon = JSON.stringify([m.kind, m.version, m.features, m.mean, m.scale, m.weights, m.bias, m.threshold, m.treeFeature ?? [], m.treeThreshold ?? [], m.treeLeaf ?? []]);
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
    const t = (m.treeLeaf?.length ?? 0) / TREE_LEAVES;
    if (!t || m.treeFeature?.length !== t * TREE_NODES || m.treeThreshold?.length !== t * TREE_NODES) throw new Error(`change model ${m.version}: tree arrays do not describe whole depth-${TREE_DEPTH} trees`);
    if (m.treeFeature.some((f) => f < 0 || f >= F)) throw new Error(`change model ${m.version}: a tree splits on a feature it does not list`);
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

export const TREE_DEPTH = 3;
export const TREE_NODES = (1 << TREE_DEPTH) - 1;
export const TREE_LEAVES = 1 << TREE_DEPTH;

/** A model ready to apply: typed arrays, standardisation folded into logistic weights. */
export interface FoldedModel {
  w: Float64Array;
  b: number;
  trees?: { feature: Int32Array; threshold: Float32Array; leaf: Float32Array; count: number };
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
    const count = m.treeLeaf!.length / TREE_LEAVES;
    return { w, b, trees: { feature: Int32Array.from(m.treeFeature!, (f) => plane[f]), threshold: Float32Array.from(m.treeThreshold!), leaf: Float32Array.from(m.treeLeaf!), count } };
  }
  for (let k = 0; k < plane.length; k++) {
    const f = plane[k];
    w[f] = m.weights[k] / m.scale[k];
    b -= w[f] * m.mean[k];
  }
  return { w, b };
}

/**
 * Writes the change probability of pixels at[0..n) into out[0..n) (NaN features go right, as in
 * training). Taking the pixels by index lets the caller skip the ones its gate already ruled out.
 */
export function predictPlanes(folded: FoldedModel, planes: Float32Array[], at: Int32Array, n: number, out: Float32Array): void {
  const { w, b, trees } = folded;
  out.fill(b, 0, n);
  if (trees) {
    const { feature, threshold, leaf, count } = trees;
    // Tree-major: each tree streams its planes in ascending pixel order (cache-friendly); the
    // pixel-major order hops across ~30 planes per pixel.
    for (let t = 0; t < count; t++) {
      // Depth 3, unrolled with every plane, threshold and leaf in a local: node 0 → 1|2 → 3..6 →
      // leaves. Looking the third-level plane up per pixel (planes[feature[k]]) cost 4× more.
      const nb = t * TREE_NODES, lb = t * TREE_LEAVES;
      const p0 = planes[feature[nb]], p1 = planes[feature[nb + 1]], p2 = planes[feature[nb + 2]];
      const p3 = planes[feature[nb + 3]], p4 = planes[feature[nb + 4]], p5 = planes[feature[nb + 5]], p6 = planes[feature[nb + 6]];
      const t0 = threshold[nb], t1 = threshold[nb + 1], t2 = threshold[nb + 2];
      const t3 = threshold[nb + 3], t4 = threshold[nb + 4], t5 = threshold[nb + 5], t6 = threshold[nb + 6];
      const l0 = leaf[lb], l1 = leaf[lb + 1], l2 = leaf[lb + 2], l3 = leaf[lb + 3];
      const l4 = leaf[lb + 4], l5 = leaf[lb + 5], l6 = leaf[lb + 6], l7 = leaf[lb + 7];
      for (let k = 0; k < n; k++) {
        const i = at[k];
        out[k] += p0[i] <= t0
          ? p1[i] <= t1 ? (p3[i] <= t3 ? l0 : l1) : (p4[i] <= t4 ? l2 : l3)
          : p2[i] <= t2 ? (p5[i] <= t5 ? l4 : l5) : (p6[i] <= t6 ? l6 : l7);
      }
    }
  } else {
    for (let f = 0; f < FEATURE_COUNT; f++) {
      const p = planes[f];
      const wf = w[f];
      for (let k = 0; k < n; k++) out[k] += wf * p[at[k]];
    }
  }
  for (let k = 0; k < n; k++) out[k] = 1 / (1 + Math.exp(-out[k]));
}
