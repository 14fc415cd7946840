/**
 * Trains the learned change model (logistic regression over FEATURE_NAMES) on the 9 labelled OSCD
 * cities, reading them through the product's stages (catalogue → openTile/openMosaic → fitEpochs →
 * streamScores, observing each strip's learned features), so training sees exactly the features
 * the product computes.
 *
 * Writes:
 *   pipeline/detect/change-model.json          final model, fitted on all 9 cities (shipped)
 *   bench-results/change-model-loco.json       9 leave-one-city-out models (fold k never saw city k),
 *                                              used by bench:accuracy for the scores that count
 *
 * Sampling: every labelled change pixel, and labelled no-change pixels at rate NO_CHANGE_RATE
 * (deterministic hash of city + pixel index), weighted 1/rate when choosing the threshold so the
 * F1 it maximises is the one on all pixels. Training weights balance the two classes.
 *
 * Object weighting: a change pixel weighs size^−OBJECT_WEIGHT_EXPONENT, size being the pixel count of
 * its labelled change object (8-connected), rescaled so change pixels keep their total weight. With
 * plain pixel weights a 1 000 px site outvotes a hundred 10 px buildings and the model learns large
 * sites; enforcement needs the small ones found too (object recall). The threshold maximises the same
 * object-weighted F1, so training and cut share one objective.
 *
 *   npm run train [-- --data ../shared/data]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OSCD_CITIES, oscdCityFiles } from '../evaluation/bench-data.js';
import { withScene } from '../evaluation/detect-scene.js';
import { REF_CHANGE, REF_IGNORE } from '../evaluation/metrics.js';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_NAMES_4BAND } from '../pipeline/detect/change-features.js';
import type { BandName } from '../geo/raster.js';
import { treeDepth, type ChangeModel, type ModelScoring } from '../pipeline/detect/change-model.js';
import { DEFAULT_DETECTOR_PARAMS, atPixelSize, type DetectorParams } from '../pipeline/detect/detector-params.js';
import { pixelSizeM } from '../pipeline/detect/detect-tile.js';
import { fitEpochs } from '../pipeline/detect/epoch-fit.js';
import { streamScores, type StripObserver } from '../pipeline/detect/score-stream.js';
import { StageTimer } from '../pipeline/detect/stage-timer.js';
import { CLOUD_CANDIDATE_FLAG } from '../pipeline/detect/score.js';
import { labelComponents } from '../geo/kernels/label.js';
import { fitBoostedTrees, hash01 } from './boosted-trees.js';

export const MODEL_VERSION = '1.5.0';
/**
 * Version of the 4-band model (change-model-4band.json); its stamp reads `+model-4band.<version>`.
 * 1.2.0: 1.0.1's trees with its own scoring settings (FOUR_BAND_SCORING); 1.1.0 was a trial that never shipped.
 */
export const MODEL_VERSION_4BAND = '1.2.0';

/**
 * What the 4-band model scores with ('auto' on 4-band tiles), chosen by looking at OSCD
 * leave-one-city-out and the generated scenes (BENCHMARKS.md, "The misregistration-tolerant gate"): the
 * misregistration-tolerant gate, both ways, each pixel on its own evidence (false components on the
 * footprint-integrated Shandong-like scenes 85 → 4 and 207 → 0, LOCO F1 0.433 → 0.407), and the
 * unsupervised evidence that calls a pixel whatever the trees say at 5σ instead of 8σ (LOCO F1
 * 0.407 → 0.417; object recall on the peer bench scene 0.89 → 0.98, whose greenhouses, quarries
 * and fills OSCD does not have). Training samples are drawn with the defaults, as before.
 */
export const FOUR_BAND_SCORING: ModelScoring = { gateShift: 0.5, gateBothWays: true, gateSmooth: false, rescueSigma: 5 };

/** The boosted pixel model's settings (the shipped ones; --sweep tries others, leave-one-city-out). */
export interface BoostConfig {
  trees: number;
  depth: number;
  bins: number;
  shrink: number;
  leafL2: number;
  /** Smallest hessian (≈ balanced sample weight) a leaf may hold: keeps leaves off single buildings. */
  minLeafHess: number;
  rowSample: number;
  /** Share of features each tree may split on. */
  featureSample: number;
  /** Multiplies the change class's weight after balancing (1 = both classes carry half). */
  posWeight: number;
  /** Row (and feature) sampling seed. */
  seed: number;
}

/**
 * Model 1.5.0: leaves held to a hessian of 200 (was 30) and an L2 of 10 (was 1), chosen by looking
 * at leave-one-city-out results (BENCHMARKS.md, "Pixel-model capacity"): deeper trees (4–6), more trees,
 * feature sampling and a weaker or stronger hold all did no better there.
 */
export const BOOST_CONFIG: BoostConfig = { trees: 120, depth: 3, bins: 64, shrink: 0.15, leafL2: 10, minLeafHess: 200, rowSample: 0.5, featureSample: 1, posWeight: 1, seed: 7919 };
/** Model 1.4.0's settings (and the 4-band model 1.0.0's); such a model keeps its old training record. */
export const BOOST_CONFIG_1_4: BoostConfig = { ...BOOST_CONFIG, leafL2: 1, minLeafHess: 30 };

/** A model the trainer fits: its features (a subset of FEATURE_NAMES, in order), the bands it reads, where it is written. */
export interface ModelSpec {
  name: '6band' | '4band';
  version: string;
  features: readonly string[];
  bands: BandName[];
  file: string;
  locoFile: string;
  /** The tree settings it is fitted with (--config overrides some). */
  boost: BoostConfig;
  /** Learned-stage settings it scores with (ChangeModel.scoring); absent: the defaults. */
  scoring?: ModelScoring;
}

export const MODEL_SPECS: readonly ModelSpec[] = [
  { name: '6band', version: MODEL_VERSION, features: FEATURE_NAMES, bands: ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'], file: 'change-model.json', locoFile: 'change-model-loco.json', boost: BOOST_CONFIG },
  // GF-1/2/6, ZY-3, SuperView, PlanetScope: the same cities read through the four 10 m bands only.
  // Still model 1.4.0's settings: the 4-band model was not part of the capacity sweep.
  { name: '4band', version: MODEL_VERSION_4BAND, features: FEATURE_NAMES_4BAND, bands: ['blue', 'green', 'red', 'nir'], file: 'change-model-4band.json', locoFile: 'change-model-4band-loco.json', boost: BOOST_CONFIG_1_4, scoring: FOUR_BAND_SCORING },
];
/** 0 = every change pixel equal; 1 = every change object equal. */
const OBJECT_WEIGHT_EXPONENT = 0.5;
const NO_CHANGE_RATE = 0.06;
const LAMBDA = 1e-2;
const NEWTON_ITERATIONS = 12;

interface CitySamples {
  city: string;
  /** Columns per sample (the model's feature count). */
  F: number;
  x: Float32Array; // n × F
  y: Uint8Array;
  /** Weight of each sample as a stand-in for all labelled pixels (1 for change, 1/rate for no-change). */
  popWeight: Float64Array;
  /** Object weight of each sample: size^−OBJECT_WEIGHT_EXPONENT for change pixels (unscaled), 1 for no-change. */
  objectWeight: Float64Array;
  n: number;
}

const placeholderModel = (): ChangeModel => ({
  kind: 'logistic', version: '0.0.0-tap', features: [...FEATURE_NAMES], mean: Array(FEATURE_COUNT).fill(0),
  scale: Array(FEATURE_COUNT).fill(1), weights: Array(FEATURE_COUNT).fill(0), bias: 0, threshold: 2, trainedOn: [], dataHash: '', // only its feature planes are read
});

/** Streams a scene through the detector's first two stages (fit, scores) with the learned features observed strip by strip. */
async function observeFeatures(files: Parameters<typeof withScene>[0], params: DetectorParams, observe: StripObserver): Promise<void> {
  await withScene(files, async ({ pair, bands, grid }) => {
    // The stages' radii in this scene's pixels, as detectPair sets them (identical at OSCD's 10 m).
    const learnedParams: DetectorParams = { ...atPixelSize(params, pixelSizeM(grid)), model: 'learned' };
    const timer = new StageTimer();
    const fitted = await fitEpochs(pair, bands, learnedParams.score);
    await streamScores(fitted.pair, { bands, params: learnedParams, fit: fitted.fit, model: placeholderModel(), workers: 0, observe, timer });
  });
}

export async function citySamples(data: string, city: string, params: DetectorParams, spec: ModelSpec = MODEL_SPECS[0]): Promise<CitySamples> {
  const all = await oscdCityFiles(join(data, 'oscd'), city);
  const files = { ...all, bands: all.bands.filter((b) => spec.bands.includes(b)) };
  // The model's features, as planes of the full feature set (a 4-band model reads a subset).
  const cols = spec.features.map((f) => (FEATURE_NAMES as readonly string[]).indexOf(f));
  const F = cols.length;
  const seed = Number.parseInt(createHash('sha256').update(city).digest('hex').slice(0, 8), 16);
  const rows: number[][] = [];
  const ys: number[] = [];
  const ws: number[] = [];
  const ow: number[] = [];
  const w = files.width;
  const objectSize = changeObjectSizes(files.reference, w, files.height);
  await observeFeatures(files, params, (planes, row, count, types) => {
    for (let k = 0; k < w * count; k++) {
      const i = row * w + k;
      const r = files.reference[i];
      // Cloud-like in one epoch: mostly white roofs and building shadows, which the product
      // scores once their patch is too small for weather; kept out of training, whose features
      // they would skew (with them: leave-one-city-out 0.47 but Landsat Taizhou 0.96 → 0.93).
      if (r === REF_IGNORE || types[k] & CLOUD_CANDIDATE_FLAG) continue;
      const change = r === REF_CHANGE;
      if (!change && hash01(seed, i) >= NO_CHANGE_RATE) continue;
      const v = new Array<number>(F);
      let ok = true;
      for (let f = 0; f < F; f++) {
        v[f] = planes[cols[f]][k];
        if (!Number.isFinite(v[f])) ok = false;
      }
      if (!ok) continue; // not observable: the product never scores it either
      rows.push(v);
      ys.push(change ? 1 : 0);
      ws.push(change ? 1 : 1 / NO_CHANGE_RATE);
      ow.push(change ? objectSize[i] ** -OBJECT_WEIGHT_EXPONENT : 1);
    }
  });
  const n = rows.length;
  const x = new Float32Array(n * F);
  for (let j = 0; j < n; j++) x.set(rows[j], j * F);
  return { city, F, x, y: Uint8Array.from(ys), popWeight: Float64Array.from(ws), objectWeight: Float64Array.from(ow), n };
}

/** Per pixel, the pixel count of the labelled change object (8-connected) it belongs to; 0 off change. */
export function changeObjectSizes(reference: Uint8Array, width: number, height: number): Int32Array {
  const mask = new Uint8Array(reference.length);
  for (let i = 0; i < mask.length; i++) mask[i] = reference[i] === REF_CHANGE ? 1 : 0;
  const labels = new Int32Array(mask.length);
  const count = labelComponents(mask, width, height, labels, 8);
  const size = new Int32Array(count + 1);
  for (let i = 0; i < labels.length; i++) size[labels[i]]++;
  for (let i = 0; i < labels.length; i++) labels[i] = labels[i] ? size[labels[i]] : 0;
  return labels;
}

/** Factor that rescales the object weights of the change samples in `sets` to a mean of 1. */
export function objectWeightScale(sets: CitySamples[]): number {
  let count = 0, sum = 0;
  for (const s of sets) for (let j = 0; j < s.n; j++) if (s.y[j]) { count++; sum += s.objectWeight[j]; }
  return sum > 0 ? count / sum : 1;
}

/** Solves A x = b (A symmetric positive definite, d × d row-major) by Cholesky; A is overwritten. */
function cholSolve(a: Float64Array, b: Float64Array, d: number): Float64Array {
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j];
    for (let k = 0; k < j; k++) s -= a[j * d + k] * a[j * d + k];
    const l = Math.sqrt(Math.max(s, 1e-12));
    a[j * d + j] = l;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j];
      for (let k = 0; k < j; k++) t -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = t / l;
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let t = b[i];
    for (let k = 0; k < i; k++) t -= a[i * d + k] * z[k];
    z[i] = t / a[i * d + i];
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let t = z[i];
    for (let k = i + 1; k < d; k++) t -= a[k * d + i] * x[k];
    x[i] = t / a[i * d + i];
  }
  return x;
}

/** Class-balanced, L2-regularised logistic regression by Newton's method on standardised features. */
export function fitLogistic(sets: CitySamples[], names: string[], version = MODEL_VERSION): ChangeModel {
  const F = names.length;
  const d = F + 1;
  let n = 0, nPos = 0;
  for (const s of sets) { n += s.n; for (let j = 0; j < s.n; j++) nPos += s.y[j]; }
  const mean = new Float64Array(F), sq = new Float64Array(F);
  for (const s of sets) for (let j = 0; j < s.n; j++) for (let f = 0; f < F; f++) { const v = s.x[j * F + f]; mean[f] += v; sq[f] += v * v; }
  const scale = new Float64Array(F);
  for (let f = 0; f < F; f++) { mean[f] /= n; scale[f] = Math.sqrt(Math.max(sq[f] / n - mean[f] * mean[f], 1e-12)); }
  // Balanced: each class carries half of the total weight n.
  const wPos = n / (2 * nPos), wNeg = n / (2 * (n - nPos));
  const ows = objectWeightScale(sets);
  const beta = new Float64Array(d);
  const z = new Float64Array(d);
  for (let it = 0; it < NEWTON_ITERATIONS; it++) {
    const g = new Float64Array(d);
    const h = new Float64Array(d * d);
    for (const s of sets) {
      for (let j = 0; j < s.n; j++) {
        let eta = beta[F];
        for (let f = 0; f < F; f++) { z[f] = (s.x[j * F + f] - mean[f]) / scale[f]; eta += beta[f] * z[f]; }
        z[F] = 1;
        const p = 1 / (1 + Math.exp(-eta));
        const sw = s.y[j] ? wPos * ows * s.objectWeight[j] : wNeg;
        const r = sw * (p - s.y[j]);
        const q = sw * p * (1 - p);
        for (let a = 0; a < d; a++) {
          g[a] += r * z[a];
          const qa = q * z[a];
          for (let b = 0; b <= a; b++) h[a * d + b] += qa * z[b];
        }
      }
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) h[b * d + a] = h[a * d + b];
    for (let a = 0; a < F; a++) { g[a] += LAMBDA * n * beta[a]; h[a * d + a] += LAMBDA * n; }
    const step = cholSolve(h, g, d);
    let mx = 0;
    for (let a = 0; a < d; a++) { beta[a] -= step[a]; mx = Math.max(mx, Math.abs(step[a])); }
    if (mx < 1e-6) break;
  }
  const model: ChangeModel = {
    kind: 'logistic', version, features: names,
    mean: [...mean].map((v) => +v.toPrecision(7)), scale: [...scale].map((v) => +v.toPrecision(7)),
    weights: [...beta.subarray(0, F)].map((v) => +v.toPrecision(7)), bias: +beta[F].toPrecision(7),
    threshold: 0.5, trainedOn: sets.map((s) => s.city), dataHash: '',
  };
  model.threshold = chooseThreshold(model, sets);
  return model;
}

/**
 * Gradient-boosted trees (logistic loss, class-balanced), histogram splits on quantile bins per
 * feature, deterministic row subsampling per tree. Complete trees: a node without a useful split
 * sends everything left (threshold +∞ stored as 3e38).
 */
export function fitBoosted(sets: CitySamples[], names: string[], version = MODEL_VERSION, c: BoostConfig = BOOST_CONFIG): ChangeModel {
  const F = names.length;
  let n = 0, nPos = 0;
  for (const s of sets) { n += s.n; for (let j = 0; j < s.n; j++) nPos += s.y[j]; }
  const x = new Float32Array(n * F), y = new Uint8Array(n), ow = new Float64Array(n);
  const ows = objectWeightScale(sets);
  { let o = 0; for (const s of sets) { x.set(s.x.subarray(0, s.n * F), o * F); y.set(s.y.subarray(0, s.n), o); ow.set(s.objectWeight.subarray(0, s.n), o); o += s.n; } }
  // Class-balanced, and change pixels object-weighted (see the header).
  const wPos = (c.posWeight * n) / (2 * nPos), wNeg = n / (2 * (n - nPos));
  const weight = new Float64Array(n);
  for (let j = 0; j < n; j++) weight[j] = y[j] ? wPos * ows * ow[j] : wNeg;
  const { treeFeature, treeThreshold, treeLeaf } = fitBoostedTrees({ x, y, n, F, weight }, {
    trees: c.trees, bins: c.bins, depth: c.depth, shrink: c.shrink, leafL2: c.leafL2, minLeafHess: c.minLeafHess * c.rowSample, rowSample: c.rowSample,
    ...(c.featureSample < 1 ? { featureSample: c.featureSample } : {}),
    seed: c.seed, quantileRows: 50_000, bias: 0, // bias 0 = balanced prior
  });
  const model: ChangeModel = {
    kind: 'boosted', version, features: names, mean: [], scale: [], weights: [], bias: 0,
    ...(c.depth === 3 ? {} : { treeDepth: c.depth }),
    treeFeature, treeThreshold, treeLeaf, threshold: 0.5, trainedOn: sets.map((s) => s.city), dataHash: '',
  };
  model.threshold = chooseThreshold(model, sets);
  return model;
}

function predict(m: ChangeModel, x: Float32Array, j: number): number {
  const F = m.features.length;
  if (m.kind === 'boosted') {
    let z = m.bias;
    const tf = m.treeFeature!, tt = m.treeThreshold!, tl = m.treeLeaf!;
    const depth = treeDepth(m), nodes = (1 << depth) - 1, leaves = 1 << depth;
    for (let t = 0; t < tl.length / leaves; t++) {
      let k = 0;
      for (let d = 0; d < depth; d++) k = 2 * k + (x[j * F + tf[t * nodes + k]] <= tt[t * nodes + k] ? 1 : 2);
      z += tl[t * leaves + k - nodes];
    }
    return 1 / (1 + Math.exp(-z));
  }
  let eta = m.bias;
  for (let f = 0; f < F; f++) eta += (m.weights[f] * (x[j * F + f] - m.mean[f])) / m.scale[f];
  return 1 / (1 + Math.exp(-eta));
}

/** Pooled object-weighted pixel F1 (training cities, before morphology) at the last chosen threshold: for the log. */
let lastTrainF1 = 0;

/**
 * Probability cut that maximises pooled object-weighted pixel F1 over the given cities: no-change
 * samples stand in for all no-change pixels (population weight), change pixels carry their object
 * weight, so a small building counts as much in the cut as in training.
 */
function chooseThreshold(m: ChangeModel, sets: CitySamples[]): number {
  const bins = 200;
  const pos = new Float64Array(bins), neg = new Float64Array(bins);
  const ows = objectWeightScale(sets);
  for (const s of sets) {
    for (let j = 0; j < s.n; j++) {
      const b = Math.min(bins - 1, Math.floor(predict(m, s.x, j) * bins));
      if (s.y[j]) pos[b] += s.popWeight[j] * ows * s.objectWeight[j];
      else neg[b] += s.popWeight[j];
    }
  }
  let tp = 0, fp = 0, totalPos = 0;
  for (let b = 0; b < bins; b++) totalPos += pos[b];
  let best = 0, bestT = 0.5;
  for (let b = bins - 1; b >= 0; b--) {
    tp += pos[b];
    fp += neg[b];
    const f1 = (2 * tp) / (2 * tp + fp + (totalPos - tp));
    if (f1 > best) { best = f1; bestT = b / bins; }
  }
  lastTrainF1 = best;
  return bestT;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
  const data = arg('--data', '../shared/data');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // --models 6band,4band (default both): which of MODEL_SPECS to fit.
  const wanted = arg('--models', MODEL_SPECS.map((m) => m.name).join(',')).split(',');
  const unknown = wanted.filter((w) => !MODEL_SPECS.some((m) => m.name === w));
  if (unknown.length) throw new Error(`--models: unknown ${unknown.join(',')}; give some of ${MODEL_SPECS.map((m) => m.name).join(',')}`);
  const opts: TrainOptions = {
    kind: arg('--kind', 'boosted'),
    cache: arg('--cache', ''),
    config: parseConfig(arg('--config', '{}'), '--config'),
    sweep: args.includes('--sweep') ? (JSON.parse(arg('--sweep', '[]')) as unknown[]).map((c, k) => parseConfig(JSON.stringify(c), `--sweep[${k}]`)) : null,
    foldsOnly: arg('--folds-only', ''),
  };
  for (const spec of MODEL_SPECS.filter((m) => wanted.includes(m.name))) await trainModel(spec, data, root, opts);
}

interface TrainOptions {
  kind: string;
  /** Folder where each city's samples are kept between runs (features take most of a run to compute). */
  cache: string;
  /** Settings that replace the model's own (ModelSpec.boost). */
  config: Partial<BoostConfig>;
  /** Configurations to compare leave-one-city-out (held-out pixel F1 per fold), each over the model's own settings; nothing is written. */
  sweep: Partial<BoostConfig>[] | null;
  /** Write the leave-one-city-out folds here (not the shipped model or bench-results): a trial for bench:accuracy --loco. */
  foldsOnly: string;
}

function parseConfig(text: string, where: string): Partial<BoostConfig> {
  const c = JSON.parse(text) as Record<string, unknown>;
  for (const [k, v] of Object.entries(c)) {
    if (!(k in BOOST_CONFIG) || typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: ${k}=${String(v)} is not a numeric setting of ${Object.keys(BOOST_CONFIG).join(',')}`);
  }
  return c as Partial<BoostConfig>;
}

/** A city's samples from the cache folder, or computed through the product's stages (and cached). */
async function cachedSamples(data: string, city: string, params: DetectorParams, spec: ModelSpec, cache: string): Promise<CitySamples> {
  if (!cache) return citySamples(data, city, params, spec);
  const file = join(cache, `${spec.name}-${city}.bin`);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    const [n, F] = [buf.readUInt32LE(0), buf.readUInt32LE(4)];
    let o = 8;
    const take = (bytes: number) => { const b = new Uint8Array(bytes); b.set(buf.subarray(o, o + bytes)); o += bytes; return b.buffer; };
    const x = new Float32Array(take(n * F * 4));
    const popWeight = new Float64Array(take(n * 8)), objectWeight = new Float64Array(take(n * 8));
    const y = new Uint8Array(take(n));
    return { city, F, x, y, popWeight, objectWeight, n };
  }
  const s = await citySamples(data, city, params, spec);
  mkdirSync(cache, { recursive: true });
  const head = Buffer.alloc(8);
  head.writeUInt32LE(s.n, 0);
  head.writeUInt32LE(s.F, 4);
  const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(file, Buffer.concat([head, bytes(s.x), bytes(s.popWeight), bytes(s.objectWeight), bytes(s.y)]));
  return s;
}

/** Bins of the pooled held-out probability histograms (best-cut F1 and average precision). */
const CURVE_BINS = 1000;

/**
 * Held-out scores of a fold model on the city it never saw, at the model's own threshold, before
 * morphology and the object stage (a cheap stand-in for bench:accuracy): labelled pixels weighted
 * as the population they stand for (tp, fp, fn), and the same with change pixels object-weighted.
 */
function heldOut(m: ChangeModel, s: CitySamples, pos: Float64Array, neg: Float64Array): { tp: number; fp: number; fn: number; otp: number; ofn: number; logLoss: number } {
  let tp = 0, fp = 0, fn = 0, otp = 0, ofn = 0, ll = 0, w = 0;
  for (let j = 0; j < s.n; j++) {
    const p = predict(m, s.x, j);
    (s.y[j] ? pos : neg)[Math.min(CURVE_BINS - 1, Math.floor(p * CURVE_BINS))] += s.popWeight[j];
    const hit = p >= m.threshold;
    if (s.y[j]) {
      if (hit) { tp += s.popWeight[j]; otp += s.objectWeight[j]; } else { fn += s.popWeight[j]; ofn += s.objectWeight[j]; }
    } else if (hit) fp += s.popWeight[j];
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p));
    ll -= s.popWeight[j] * (s.y[j] ? Math.log(q) : Math.log(1 - q));
    w += s.popWeight[j];
  }
  return { tp, fp, fn, otp, ofn, logLoss: ll / w };
}

/** Leave-one-city-out comparison of boosted configurations on held-out pixels; prints one row each. */
function sweep(sets: CitySamples[], names: string[], configs: BoostConfig[]): void {
  const keys = Object.keys(BOOST_CONFIG) as (keyof BoostConfig)[];
  console.log(`${keys.join(' ')} | pooled F1 (pixels, held out, before morphology) | object-weighted recall | log loss | per city F1 | s`);
  for (const c of configs) {
    const t0 = performance.now();
    let tp = 0, fp = 0, fn = 0, otp = 0, ofn = 0, ll = 0;
    const per: string[] = [];
    // Held-out probabilities of all cities pooled: F1 at the best single cut and average precision (ranking, not the cut).
    const pos = new Float64Array(CURVE_BINS), neg = new Float64Array(CURVE_BINS);
    for (const held of OSCD_CITIES) {
      const m = fitBoosted(sets.filter((s) => s.city !== held), names, MODEL_VERSION, c);
      const r = heldOut(m, sets.find((s) => s.city === held)!, pos, neg);
      tp += r.tp; fp += r.fp; fn += r.fn; otp += r.otp; ofn += r.ofn; ll += r.logLoss / OSCD_CITIES.length;
      per.push(`${held.slice(0, 4)} ${((2 * r.tp) / (2 * r.tp + r.fp + r.fn)).toFixed(3)}`);
    }
    const f1 = (2 * tp) / (2 * tp + fp + fn);
    let ctp = 0, cfp = 0, bestF1 = 0, ap = 0;
    const allPos = pos.reduce((a, v) => a + v, 0);
    for (let b = CURVE_BINS - 1; b >= 0; b--) {
      ctp += pos[b];
      cfp += neg[b];
      if (ctp + cfp > 0) ap += (pos[b] / allPos) * (ctp / (ctp + cfp));
      bestF1 = Math.max(bestF1, (2 * ctp) / (ctp + cfp + allPos));
    }
    console.log(`SWEEP ${JSON.stringify(c)} | F1 ${f1.toFixed(4)} | best-cut F1 ${bestF1.toFixed(4)} | AP ${ap.toFixed(4)} | objR ${(otp / (otp + ofn)).toFixed(4)} | ll ${ll.toFixed(4)} | ${per.join(', ')} | ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}

/** Fits one model (and its leave-one-city-out folds) on the 9 OSCD cities and writes both files. */
async function trainModel(spec: ModelSpec, data: string, root: string, opts: TrainOptions): Promise<void> {
  const { kind } = opts;
  const config: BoostConfig = { ...spec.boost, ...opts.config };
  console.log(`== ${spec.name} model ${spec.version}: ${spec.bands.join(',')}, ${spec.features.length} features`);
  const params: DetectorParams = { ...DEFAULT_DETECTOR_PARAMS };
  const sets: CitySamples[] = [];
  const hash = createHash('sha256');
  for (const city of OSCD_CITIES) {
    const t0 = performance.now();
    const s = await cachedSamples(data, city, params, spec, opts.cache);
    sets.push(s);
    hash.update(readFileSync(join(data, 'oscd', 'labels', city, `${city}-cm.tif`)));
    let pos = 0;
    for (let j = 0; j < s.n; j++) pos += s.y[j];
    console.log(`${city.padEnd(12)} ${s.n} samples (${pos} change) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const dataHash = hash.digest('hex').slice(0, 16);
  const names = [...spec.features];
  if (opts.sweep) {
    sweep(sets, names, opts.sweep.map((c) => ({ ...spec.boost, ...c })));
    return;
  }
  const fitted = (s: CitySamples[]) => (kind === 'logistic' ? fitLogistic(s, names, spec.version) : fitBoosted(s, names, spec.version, config));
  const fit = (s: CitySamples[]): ChangeModel => (spec.scoring ? { ...fitted(s), scoring: spec.scoring } : fitted(s));
  // A model fitted with 1.4.0's settings keeps 1.4.0's record (so a retrain rewrites its files byte for byte).
  const legacy = (Object.keys(config) as (keyof BoostConfig)[]).every((k) => config[k] === BOOST_CONFIG_1_4[k]);
  const training = {
    kind, ...(legacy ? { trees: config.trees, shrink: config.shrink, bins: config.bins, minLeafHess: config.minLeafHess, rowSample: config.rowSample } : config),
    lambda: LAMBDA, noChangeRate: NO_CHANGE_RATE, objectWeightExponent: OBJECT_WEIGHT_EXPONENT,
    samples: sets.reduce((a, s) => a + s.n, 0), params: 'DEFAULT_DETECTOR_PARAMS', ...(spec.name === '6band' ? {} : { bands: spec.bands }),
  };
  const folds: Record<string, ChangeModel> = {};
  for (const held of OSCD_CITIES) {
    const t0 = performance.now();
    const m = fit(sets.filter((s) => s.city !== held));
    folds[held] = { ...m, dataHash, training: { ...training, heldOut: held } };
    console.log(`fold −${held.padEnd(12)} threshold ${m.threshold.toFixed(3)}, training object-weighted F1 ${lastTrainF1.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const foldsText = `${JSON.stringify({ note: 'fold k is trained on the 8 OSCD cities other than k', folds }, null, 1)}\n`;
  if (opts.foldsOnly) {
    writeFileSync(opts.foldsOnly, foldsText);
    console.log(`wrote ${opts.foldsOnly} (folds only)`);
    return;
  }
  const final: ChangeModel = { ...fit(sets), dataHash, training };
  console.log(`final: threshold ${final.threshold.toFixed(3)}, training object-weighted F1 ${lastTrainF1.toFixed(3)}`);
  const modelPath = join(root, 'pipeline', 'detect', spec.file);
  writeFileSync(modelPath, `${JSON.stringify(final, null, 1)}\n`);
  const locoPath = join(root, 'bench-results', spec.locoFile);
  mkdirSync(dirname(locoPath), { recursive: true });
  writeFileSync(locoPath, foldsText);
  console.log(`wrote ${modelPath} and ${locoPath}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
