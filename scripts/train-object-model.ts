/**
 * Trains the object model (the detector's second stage, pipeline/detect/object-model.ts) on the
 * candidate components of the 9 labelled OSCD cities.
 *
 * Candidates: each city is run through the product path (detectScene → detectPair) with the
 * LEAVE-ONE-CITY-OUT pixel model that never saw it (bench-results/change-model-loco.json) and no
 * object stage; every component it would issue is a candidate, described by objectFeatures (the
 * function the product calls) and labelled 1 when it touches labelled change (the bench's
 * "polygon touching labelled change"). Candidates lying wholly on unlabelled pixels are left out.
 * So the object model learns what the pixel model's output looks like on a city it has not seen.
 *
 * Writes:
 *   pipeline/detect/object-model.json        trained on all 9 cities (shipped)
 *   bench-results/object-model-loco.json     fold k trained on the 8 other cities' candidates only
 *
 * The rejection threshold is chosen on the training cities only, by an inner leave-one-city-out:
 * each training city's candidates are scored by trees fitted on the other training cities, and the
 * threshold is the one that maximises their pooled pixel F1 while keeping their object recall
 * within RECALL_SLACK of what it was without the stage. The held-out city never informs it.
 *
 *   npm run train            (runs train-change-model first, then this)
 *   node dist/scripts/train-object-model.js [--data ../shared/data] [--cache /tmp/candidates.json]
 *     [--loco trial-pixel-folds.json --folds-only trial-object-folds.json]   (a trial: nothing shipped is written)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelComponents } from '../geo/kernels/label.js';
import { OSCD_CITIES, oscdCityFiles } from '../evaluation/bench-data.js';
import { detectScene } from '../evaluation/detect-scene.js';
import { REF_CHANGE, REF_IGNORE } from '../evaluation/metrics.js';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import { flatParams, parseDetectorParams, type DetectorParams } from '../pipeline/detect/detector-params.js';
import { OBJECT_FEATURE_COUNT, OBJECT_FEATURE_NAMES, objectFeatures } from '../pipeline/detect/object-features.js';
import { OBJECT_TREE_DEPTH, objectProbability, type ObjectModel } from '../pipeline/detect/object-model.js';
import { fitBoostedTrees } from './boosted-trees.js';

export const OBJECT_MODEL_VERSION = '1.1.0';
const TREES = 120;
const SHRINK = 0.06;
const BINS = 32;
const MIN_LEAF_HESS = 4;
const LEAF_L2 = 2;
const ROW_SAMPLE = 0.7;
/** The inner-LOCO object recall may fall this far (absolute) below the stage-free one. */
const RECALL_SLACK = 0.005;
const F = OBJECT_FEATURE_COUNT;

/** One city's candidates and what rejecting each would cost or gain. */
export interface CityCandidates {
  city: string;
  n: number;
  x: number[]; // n × F
  y: number[]; // 1 = touches labelled change
  /** Labelled change / no-change pixels of each candidate. */
  tp: number[];
  fp: number[];
  /** Reference objects (≥ MMU) each candidate touches. */
  refs: number[][];
  /** Scene totals without the stage: pixel counts and reference objects (≥ MMU). */
  totals: { tp: number; fp: number; fn: number; refObjects: number };
}

/** Runs one city through the product path with its fold pixel model and no object stage; returns its candidates. */
export async function cityCandidates(data: string, city: string, pixelModel: ChangeModel, params: DetectorParams): Promise<CityCandidates> {
  const files = await oscdCityFiles(join(data, 'oscd'), city);
  const { det, ref, detection } = await detectScene(files, params, { model: pixelModel, objectModel: null });
  const { width: w, height: h } = ref;
  const count = det.components.reduce((m, c) => Math.max(m, c.label), 0);
  const candidate = new Uint8Array(count + 1);
  for (const c of det.components) candidate[c.label] = 1;
  // The product's pixel area (detectPair's), so features match what the hook computes.
  const pixelAreaM2 = (detection.observedM2 + detection.notObservedM2) / detection.pixels;
  const x = objectFeatures({ labels: det.labels, count, candidate, score: det.score, type: det.type, width: w, height: h, threshold: det.threshold, pixelSizeM: Math.sqrt(pixelAreaM2), mmuM2: params.components.mmuM2 });
  // Reference objects (8-connected, as the bench counts them) of at least the MMU.
  const refMask = new Uint8Array(w * h);
  for (let i = 0; i < refMask.length; i++) refMask[i] = ref.reference[i] === REF_CHANGE ? 1 : 0;
  const refLabels = new Int32Array(w * h);
  const refCount = labelComponents(refMask, w, h, refLabels, 8);
  const refSize = new Int32Array(refCount + 1);
  for (let i = 0; i < refLabels.length; i++) if (refLabels[i]) refSize[refLabels[i]]++;
  const minRefPixels = Math.max(1, Math.ceil(params.components.mmuM2 / (ref.pixelSizeM * ref.pixelSizeM)));
  const tp = new Array<number>(count + 1).fill(0), fp = new Array<number>(count + 1).fill(0);
  const refs: Set<number>[] = Array.from({ length: count + 1 }, () => new Set());
  let fn = 0;
  for (let i = 0; i < det.labels.length; i++) {
    const r = ref.reference[i];
    const l = det.labels[i];
    if (r === REF_IGNORE) continue;
    if (!l) {
      if (r === REF_CHANGE) fn++;
      continue;
    }
    if (r === REF_CHANGE) {
      tp[l]++;
      if (refSize[refLabels[i]] >= minRefPixels) refs[l].add(refLabels[i]);
    } else fp[l]++;
  }
  let refObjects = 0;
  for (let k = 1; k <= refCount; k++) if (refSize[k] >= minRefPixels) refObjects++;
  const out: CityCandidates = { city, n: 0, x: [], y: [], tp: [], fp: [], refs: [], totals: { tp: 0, fp: 0, fn, refObjects } };
  for (let l = 1; l <= count; l++) {
    if (!candidate[l]) continue;
    out.totals.tp += tp[l];
    out.totals.fp += fp[l];
    if (tp[l] + fp[l] === 0) continue; // wholly unlabelled: neither hit nor miss
    out.n++;
    for (let f = 0; f < F; f++) out.x.push(+x[l * F + f].toPrecision(7));
    out.y.push(tp[l] > 0 ? 1 : 0);
    out.tp.push(tp[l]);
    out.fp.push(fp[l]);
    out.refs.push([...refs[l]]);
  }
  return out;
}

/**
 * Gradient-boosted depth-3 trees, logistic loss, unweighted (so the probability is calibrated to
 * "touches labelled change"), histogram splits on BINS quantile bins, deterministic row sampling.
 */
export function fitObjectTrees(sets: CityCandidates[]): Omit<ObjectModel, 'threshold' | 'dataHash' | 'pixelFeatures'> {
  let n = 0;
  for (const s of sets) n += s.n;
  const x = new Float32Array(n * F), y = new Uint8Array(n);
  {
    let o = 0;
    for (const s of sets) {
      x.set(s.x, o * F);
      y.set(s.y, o);
      o += s.n;
    }
  }
  let pos = 0;
  for (let j = 0; j < n; j++) pos += y[j];
  const prior = Math.min(Math.max(pos / n, 1e-3), 1 - 1e-3);
  const bias = +Math.log(prior / (1 - prior)).toPrecision(6);
  // Unweighted, and bin edges from every candidate (there are few).
  const { treeFeature, treeThreshold, treeLeaf } = fitBoostedTrees({ x, y, n, F }, {
    trees: TREES, bins: BINS, depth: OBJECT_TREE_DEPTH, shrink: SHRINK, leafL2: LEAF_L2, minLeafHess: MIN_LEAF_HESS, rowSample: ROW_SAMPLE,
    seed: 104729, quantileRows: Infinity, bias,
  });
  return { kind: 'object-boosted', version: OBJECT_MODEL_VERSION, features: [...OBJECT_FEATURE_NAMES], bias, treeFeature, treeThreshold, treeLeaf, trainedOn: sets.map((s) => s.city) };
}

function predictCity(m: Pick<ObjectModel, 'bias' | 'treeFeature' | 'treeThreshold' | 'treeLeaf'>, s: CityCandidates): Float64Array {
  const x = Float32Array.from(s.x);
  const p = new Float64Array(s.n);
  for (let j = 0; j < s.n; j++) p[j] = objectProbability(m as ObjectModel, x, j);
  return p;
}

/** Pooled pixel F1, object recall and share of kept candidates touching change when candidates with p < t are dropped. */
export function effectAt(sets: CityCandidates[], probs: Float64Array[], t: number): { f1: number; objectRecall: number; share: number; kept: number } {
  let tp = 0, fp = 0, fn = 0, refObjects = 0, hitObjects = 0, kept = 0, keptHit = 0;
  sets.forEach((s, k) => {
    const p = probs[k];
    tp += s.totals.tp;
    fp += s.totals.fp;
    fn += s.totals.fn;
    refObjects += s.totals.refObjects;
    const hit = new Set<number>();
    for (let j = 0; j < s.n; j++) {
      if (p[j] < t) {
        tp -= s.tp[j];
        fp -= s.fp[j];
        fn += s.tp[j];
      } else {
        kept++;
        keptHit += s.y[j];
        for (const r of s.refs[j]) hit.add(r);
      }
    }
    hitObjects += hit.size;
  });
  return { f1: (2 * tp) / (2 * tp + fp + fn), objectRecall: refObjects ? hitObjects / refObjects : 0, share: kept ? keptHit / kept : 0, kept };
}

/**
 * The rejection threshold for trees trained on `sets`: out-of-city probabilities by an inner
 * leave-one-city-out, then the threshold (0…0.5, step 0.01) with the best pooled pixel F1 among
 * those that keep object recall within RECALL_SLACK of the stage-free recall.
 */
function chooseObjectThreshold(sets: CityCandidates[]): { threshold: number; inner: ReturnType<typeof effectAt>; base: ReturnType<typeof effectAt> } {
  const oof = sets.map((s) => predictCity(fitObjectTrees(sets.filter((o) => o !== s)), s));
  const base = effectAt(sets, oof, 0);
  let bestT = 0, best = base;
  for (let i = 1; i <= 50; i++) {
    const t = i / 100;
    const e = effectAt(sets, oof, t);
    if (e.objectRecall >= base.objectRecall - RECALL_SLACK && e.f1 > best.f1) {
      best = e;
      bestT = t;
    }
  }
  return { threshold: bestT, inner: best, base };
}

function finish(sets: CityCandidates[], pixelFeatures: string[], dataHash: string, training: Record<string, unknown>): ObjectModel {
  const trees = fitObjectTrees(sets);
  const { threshold, inner, base } = chooseObjectThreshold(sets);
  const r = (v: number) => +v.toFixed(4);
  return {
    ...trees,
    pixelFeatures,
    threshold,
    dataHash,
    training: { ...training, innerLoco: { withoutStage: { f1: r(base.f1), objectRecall: r(base.objectRecall), share: r(base.share), polygons: base.kept }, atThreshold: { f1: r(inner.f1), objectRecall: r(inner.objectRecall), share: r(inner.share), polygons: inner.kept } } },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
  const data = arg('--data', '../shared/data');
  const cache = arg('--cache', '');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // --loco: another set of pixel folds (a trial); --folds-only PATH: write only the object folds there.
  const locoPath = arg('--loco', join(root, 'bench-results', 'change-model-loco.json'));
  const foldsOnly = arg('--folds-only', '');
  const pixelFolds = (JSON.parse(readFileSync(locoPath, 'utf8')) as { folds: Record<string, ChangeModel> }).folds;
  const params: DetectorParams = parseDetectorParams(JSON.parse(arg('--params', '{}')), '--params');
  let sets: CityCandidates[];
  if (cache && existsSync(cache)) sets = JSON.parse(readFileSync(cache, 'utf8')) as CityCandidates[];
  else {
    sets = [];
    for (const city of OSCD_CITIES) {
      const t0 = performance.now();
      if (!pixelFolds[city]) throw new Error(`${locoPath}: no fold pixel model for ${city}: run npm run train`);
      const s = await cityCandidates(data, city, pixelFolds[city], params);
      sets.push(s);
      const pos = s.y.reduce((a, v) => a + v, 0);
      console.log(`${city.padEnd(12)} ${s.n} candidates (${pos} touch change) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (cache) writeFileSync(cache, JSON.stringify(sets));
  }
  const dataHash = createHash('sha256').update(JSON.stringify(sets)).digest('hex').slice(0, 16);
  const pixelFeatures = pixelFolds[OSCD_CITIES[0]].features;
  const training = { trees: TREES, shrink: SHRINK, bins: BINS, minLeafHess: MIN_LEAF_HESS, leafL2: LEAF_L2, rowSample: ROW_SAMPLE, recallSlack: RECALL_SLACK, candidates: sets.reduce((a, s) => a + s.n, 0), candidatesFrom: 'leave-one-city-out pixel models, no object stage', params: flatParams(params) };
  const folds: Record<string, ObjectModel> = {};
  for (const held of OSCD_CITIES) {
    const t0 = performance.now();
    const m = finish(sets.filter((s) => s.city !== held), pixelFeatures, dataHash, { ...training, heldOut: held });
    folds[held] = m;
    const inner = m.training!.innerLoco as { withoutStage: Record<string, number>; atThreshold: Record<string, number> };
    console.log(`fold −${held.padEnd(12)} threshold ${m.threshold.toFixed(2)}; inner LOCO F1 ${inner.withoutStage.f1} → ${inner.atThreshold.f1}, object recall ${inner.withoutStage.objectRecall} → ${inner.atThreshold.objectRecall}, share ${inner.withoutStage.share} → ${inner.atThreshold.share} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  // What a confidence cut would trade, leave-one-city-out at both stages: each city's candidates
  // scored by the fold that never saw it. Printed and stored for BENCHMARKS.md; no threshold is chosen here.
  const heldProbs = sets.map((s) => predictCity(folds[s.city], s));
  const locoCurve = [0, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8].map((t) => {
    const e = effectAt(sets, heldProbs, t);
    return { confidenceAtLeast: t, polygons: e.kept, objectRecall: +e.objectRecall.toFixed(4), pixelF1: +e.f1.toFixed(4), shareTouchingChange: +e.share.toFixed(4) };
  });
  console.log('LOCO trade-off of a confidence cut (both stages held out): cut → polygons, object recall, pixel F1, share touching change');
  for (const r of locoCurve) console.log(`  ≥ ${r.confidenceAtLeast.toFixed(2)}  ${String(r.polygons).padStart(5)}  ${r.objectRecall.toFixed(3)}  ${r.pixelF1.toFixed(3)}  ${r.shareTouchingChange.toFixed(3)}`);
  const foldsText = `${JSON.stringify({ note: 'fold k is trained on the candidates of the 8 OSCD cities other than k', locoCurve, folds }, null, 1)}\n`;
  if (foldsOnly) {
    writeFileSync(foldsOnly, foldsText);
    console.log(`wrote ${foldsOnly} (folds only)`);
    return;
  }
  const final = finish(sets, pixelFeatures, dataHash, training);
  console.log(`final: threshold ${final.threshold.toFixed(2)}; inner LOCO ${JSON.stringify(final.training!.innerLoco)}`);
  const modelPath = join(root, 'pipeline', 'detect', 'object-model.json');
  writeFileSync(modelPath, `${JSON.stringify(final, null, 1)}\n`);
  const foldPath = join(root, 'bench-results', 'object-model-loco.json');
  mkdirSync(dirname(foldPath), { recursive: true });
  writeFileSync(foldPath, foldsText);
  console.log(`wrote ${modelPath} and ${foldPath}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
