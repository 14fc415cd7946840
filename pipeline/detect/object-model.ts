/**
 * The object model: the detector's second stage. Each candidate component of the learned change
 * mask (components.ts) is described by OBJECT_FEATURE_NAMES (object-features.ts) and given the
 * probability that it touches real change, by gradient-boosted depth-3 trees trained by
 * scripts/train-object-model.ts on the 9 labelled OSCD cities' candidates. Components under the
 * model's `threshold` are not issued; the probability of the rest is their confidence.
 *
 * The model is trained on the candidates of one pixel model's feature set (`pixelFeatures`): it
 * applies only to a change model with those features (objectModelFor), never to another detector's
 * candidates, whose scores mean something else.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ChangeModel } from './change-model.js';
import { OBJECT_FEATURE_COUNT, OBJECT_FEATURE_NAMES } from './object-features.js';

export const OBJECT_TREE_DEPTH = 3;
const NODES = (1 << OBJECT_TREE_DEPTH) - 1;
const LEAVES = 1 << OBJECT_TREE_DEPTH;

export interface ObjectModel {
  kind: 'object-boosted';
  /** Semantic version; bumps with every retrain that changes weights. */
  version: string;
  features: string[];
  /** Feature names of the pixel model whose candidates it was trained on. */
  pixelFeatures: string[];
  bias: number;
  /** Complete depth-3 trees, breadth-first: node k of tree t splits on treeFeature[t·7+k] at treeThreshold[t·7+k] (x ≤ threshold goes left); leaf j holds treeLeaf[t·8+j], a logit increment. */
  treeFeature: number[];
  treeThreshold: number[];
  treeLeaf: number[];
  /** Probability under which a candidate is not issued (chosen on the training cities by inner leave-one-city-out). */
  threshold: number;
  trainedOn: string[];
  dataHash: string;
  training?: Record<string, unknown>;
}

/** Short hash of the model's numbers: it joins the detector stamp so polygons trace to weights. */
export function objectModelHash(m: ObjectModel): string {
  const canon = JSON.stringify([m.kind, m.version, m.features, m.pixelFeatures, m.bias, m.treeFeature, m.treeThreshold, m.treeLeaf, m.threshold]);
  return createHash('sha256').update(canon).digest('hex').slice(0, 12);
}

export function checkObjectModel(m: ObjectModel, source = 'object model'): ObjectModel {
  const names = OBJECT_FEATURE_NAMES as readonly string[];
  if (m.kind !== 'object-boosted') throw new Error(`${source}: kind ${String(m.kind)} is not object-boosted`);
  if (m.features.length !== OBJECT_FEATURE_COUNT || m.features.some((f, i) => f !== names[i])) {
    throw new Error(`${source} ${m.version}: features [${m.features.join(',')}] do not match this build's [${names.join(',')}]; retrain with npm run train`);
  }
  const t = m.treeLeaf.length / LEAVES;
  if (!Number.isInteger(t) || m.treeFeature.length !== t * NODES || m.treeThreshold.length !== t * NODES || m.treeFeature.some((f) => f < 0 || f >= OBJECT_FEATURE_COUNT)) {
    throw new Error(`${source} ${m.version}: tree arrays do not describe whole depth-${OBJECT_TREE_DEPTH} trees over ${OBJECT_FEATURE_COUNT} features`);
  }
  return m;
}

/** Probability that the candidate in row `row` of `x` (OBJECT_FEATURE_COUNT per row) touches real change. */
export function objectProbability(m: ObjectModel, x: Float32Array, row: number): number {
  const o = row * OBJECT_FEATURE_COUNT;
  const tf = m.treeFeature, tt = m.treeThreshold, tl = m.treeLeaf;
  let z = m.bias;
  for (let t = 0, trees = tl.length / LEAVES; t < trees; t++) {
    let k = 0;
    for (let d = 0; d < OBJECT_TREE_DEPTH; d++) k = 2 * k + (x[o + tf[t * NODES + k]] <= tt[t * NODES + k] ? 1 : 2);
    z += tl[t * LEAVES + k - NODES];
  }
  return 1 / (1 + Math.exp(-z));
}

/** Whether `om` was trained on candidates of a pixel model with `pm`'s features. */
export function objectModelFits(om: ObjectModel, pm: ChangeModel): boolean {
  return om.pixelFeatures.length === pm.features.length && om.pixelFeatures.every((f, i) => f === pm.features[i]);
}

let shipped: ObjectModel | null = null;

/** The object model shipped with this build (pipeline/detect/object-model.json), loaded once. */
export function shippedObjectModel(): ObjectModel {
  if (!shipped) {
    // Beside the source or the built file (tsc copies no JSON it does not import).
    const candidates = [new URL('./object-model.json', import.meta.url), new URL('../../../pipeline/detect/object-model.json', import.meta.url)];
    let text: string | null = null;
    let path = '';
    for (const u of candidates) {
      try {
        text = readFileSync(u, 'utf8');
        path = u.pathname;
        break;
      } catch {
        /* try the next */
      }
    }
    if (text === null) throw new Error('object-model.json not found beside pipeline/detect: run npm run train');
    shipped = checkObjectModel(JSON.parse(text) as ObjectModel, path);
  }
  return shipped;
}

/**
 * The object model for candidates of pixel model `pm` when `enabled`: the shipped one if it was
 * trained on `pm`'s features, else none (the candidates are issued as before).
 */
export function objectModelFor(pm: ChangeModel | null, enabled: boolean): ObjectModel | null {
  if (!pm || !enabled) return null;
  const om = shippedObjectModel();
  return objectModelFits(om, pm) ? om : null;
}
