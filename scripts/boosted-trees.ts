/**
 * The gradient boosting both trainers fit: complete depth-`depth` trees, logistic loss, histogram
 * splits on quantile bins per feature, deterministic row sampling per tree. The pixel change model
 * (train-change-model.ts) and the object model (train-object-model.ts) differ only in constants and
 * in their per-sample weights, which they pass in; what a sample weighs is the trainer's choice.
 *
 * A node without a useful split sends everything left (threshold +∞ stored as 3e38), so every tree
 * has 2^depth − 1 nodes and 2^depth leaves, laid out breadth-first.
 */

export interface BoostOptions {
  trees: number;
  /** Quantile bins per feature (≤ 256: bins are stored as bytes). */
  bins: number;
  depth: number;
  /** Shrinkage applied to each leaf value. */
  shrink: number;
  /** L2 penalty on leaf values (added to the hessian). */
  leafL2: number;
  /** Smallest hessian either side of a split may hold, summed over the sampled rows. */
  minLeafHess: number;
  /** Share of rows each tree is fitted on. */
  rowSample: number;
  /** Tree t samples row j when hash01(t + seed, j) < rowSample. */
  seed: number;
  /**
   * Share of features each tree may split on (absent or 1: all). Tree t offers feature f when
   * hash01(t + seed + FEATURE_SEED, f) < featureSample; at least one feature is always offered.
   */
  featureSample?: number;
  /** Bin edges come from a strided subsample of about this many rows (Infinity: all rows). */
  quantileRows: number;
  /** Starting log-odds of every row. */
  bias: number;
}

export interface BoostSamples {
  /** n × F, row-major. */
  x: Float32Array;
  y: Uint8Array;
  n: number;
  F: number;
  /** Weight of each sample in the loss; absent = 1 each. */
  weight?: Float64Array;
}

export interface BoostedTrees {
  /** Per tree, 2^depth − 1 split features and thresholds (breadth-first), then 2^depth leaf values. */
  treeFeature: number[];
  treeThreshold: number[];
  treeLeaf: number[];
}

/** Deterministic uniform [0, 1) from a seed and an index (reproducible sampling without a global RNG). */
export function hash01(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Per feature, bins − 1 quantile edges from a strided subsample, and each row's bin (first edge ≥ value). */
function quantileBins(x: Float32Array, n: number, F: number, bins: number, quantileRows: number): { edges: Float32Array[]; bin: Uint8Array } {
  const edges: Float32Array[] = [];
  const bin = new Uint8Array(n * F);
  const stride = Math.max(1, Math.floor(n / quantileRows));
  for (let f = 0; f < F; f++) {
    const vals: number[] = [];
    for (let j = 0; j < n; j += stride) vals.push(x[j * F + f]);
    vals.sort((a, b) => a - b);
    const e = new Float32Array(bins - 1);
    for (let b = 0; b < bins - 1; b++) e[b] = vals[Math.floor(((b + 1) * vals.length) / bins)];
    edges.push(e);
    for (let j = 0; j < n; j++) {
      const v = x[j * F + f];
      let lo = 0, hi = bins - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (e[mid] >= v) hi = mid;
        else lo = mid + 1;
      }
      bin[j * F + f] = lo;
    }
  }
  return { edges, bin };
}

/** Offsets the feature-sampling hash from the row-sampling one so the two draws are independent. */
const FEATURE_SEED = 0x5bd1e995;

/** The features tree t may split on (1 = offered). */
function offeredFeatures(t: number, F: number, o: BoostOptions): Uint8Array {
  const offered = new Uint8Array(F).fill(1);
  const share = o.featureSample ?? 1;
  if (share >= 1) return offered;
  let any = false;
  for (let f = 0; f < F; f++) any = (offered[f] = hash01(t + o.seed + FEATURE_SEED, f) < share ? 1 : 0) === 1 || any;
  if (!any) offered[Math.floor(hash01(t + o.seed + FEATURE_SEED, F) * F)] = 1;
  return offered;
}

export function fitBoostedTrees(s: BoostSamples, o: BoostOptions): BoostedTrees {
  const { x, y, n, F, weight } = s;
  const BINS = o.bins;
  if (BINS > 256 || BINS < 2) throw new Error(`boosted trees: bins ${BINS} outside 2..256`);
  if (o.depth < 1 || o.depth > 7) throw new Error(`boosted trees: depth ${o.depth} outside 1..7`);
  const NODES = (1 << o.depth) - 1, LEAVES = 1 << o.depth;
  const { edges, bin } = quantileBins(x, n, F, BINS, o.quantileRows);
  const eta = new Float64Array(n).fill(o.bias);
  const g = new Float64Array(n), h = new Float64Array(n);
  const node = new Uint8Array(n), used = new Uint8Array(n);
  const treeFeature: number[] = [], treeThreshold: number[] = [], treeLeaf: number[] = [];
  const widest = 1 << (o.depth - 1);
  const hg = new Float64Array(widest * F * BINS), hh = new Float64Array(widest * F * BINS);
  for (let t = 0; t < o.trees; t++) {
    for (let j = 0; j < n; j++) {
      const p = 1 / (1 + Math.exp(-eta[j]));
      const sw = weight ? weight[j] : 1;
      g[j] = sw * (p - y[j]);
      h[j] = sw * p * (1 - p);
      used[j] = hash01(t + o.seed, j) < o.rowSample ? 1 : 0;
      node[j] = 0;
    }
    const offered = offeredFeatures(t, F, o);
    const splitF = new Int32Array(NODES), splitB = new Int32Array(NODES).fill(BINS - 1);
    for (let depth = 0; depth < o.depth; depth++) {
      const first = (1 << depth) - 1, width = 1 << depth;
      // One pass over the rows per depth: histograms of every node at this depth at once.
      hg.fill(0);
      hh.fill(0);
      const G = new Float64Array(width), H = new Float64Array(width);
      for (let j = 0; j < n; j++) {
        if (!used[j]) continue;
        const k = node[j] - first;
        G[k] += g[j];
        H[k] += h[j];
        const row = j * F, off = k * F * BINS;
        for (let f = 0; f < F; f++) {
          const b = off + f * BINS + bin[row + f];
          hg[b] += g[j];
          hh[b] += h[j];
        }
      }
      for (let k = 0; k < width; k++) {
        let best = 0, bf = 0, bb = BINS - 1;
        const parent = (G[k] * G[k]) / (H[k] + o.leafL2);
        for (let f = 0; f < F; f++) {
          if (!offered[f]) continue;
          let gl = 0, hl = 0;
          const off = k * F * BINS + f * BINS;
          for (let b = 0; b < BINS - 1; b++) {
            gl += hg[off + b];
            hl += hh[off + b];
            const gr = G[k] - gl, hr = H[k] - hl;
            if (hl < o.minLeafHess || hr < o.minLeafHess) continue;
            const gain = (gl * gl) / (hl + o.leafL2) + (gr * gr) / (hr + o.leafL2) - parent;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
            }
          }
        }
        splitF[first + k] = bf;
        splitB[first + k] = bb;
      }
      for (let j = 0; j < n; j++) {
        const k = node[j];
        node[j] = 2 * k + (bin[j * F + splitF[k]] <= splitB[k] ? 1 : 2);
      }
    }
    // Leaves from the sampled rows; then every row moves by its leaf.
    const lg = new Float64Array(LEAVES), lh = new Float64Array(LEAVES);
    for (let j = 0; j < n; j++) {
      if (!used[j]) continue;
      lg[node[j] - NODES] += g[j];
      lh[node[j] - NODES] += h[j];
    }
    const leaf = Array.from({ length: LEAVES }, (_, l) => +((-o.shrink * lg[l]) / (lh[l] + o.leafL2)).toPrecision(6));
    for (let j = 0; j < n; j++) eta[j] += leaf[node[j] - NODES];
    for (let k = 0; k < NODES; k++) {
      treeFeature.push(splitF[k]);
      treeThreshold.push(splitB[k] >= BINS - 1 ? 3e38 : +edges[splitF[k]][splitB[k]].toPrecision(7));
    }
    treeLeaf.push(...leaf);
  }
  return { treeFeature, treeThreshold, treeLeaf };
}
