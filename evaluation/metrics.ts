/**
 * Accuracy of a change mask against a reference: pixel precision / recall / F1 of the
 * change class, object recall (labelled change objects found) and polygon precision
 * (predicted objects that are real). Plain functions over typed arrays on one grid.
 */
import { labelComponents as labelKernel } from '../geo/kernels/label.js';

/** 8-connected labels of a 0/1 mask (the product's kernel). */
const labelComponents = (mask: Uint8Array, w: number, h: number, out: Int32Array): number => labelKernel(mask, w, h, out, 8);

/** Reference codes: a reference mask holds only these. */
export const REF_IGNORE = 0;
export const REF_NO_CHANGE = 1;
export const REF_CHANGE = 2;

export interface PixelCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface PixelMetrics extends PixelCounts {
  precision: number;
  recall: number;
  f1: number;
  /** Overall accuracy on labelled pixels. */
  accuracy: number;
}

/** Counts over pixels whose reference is not REF_IGNORE; `pred` non-zero = change. */
export function pixelCounts(pred: Uint8Array, ref: Uint8Array): PixelCounts {
  if (pred.length !== ref.length) throw new Error(`pixelCounts: pred has ${pred.length} pixels, ref ${ref.length}`);
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i];
    if (r === REF_IGNORE) continue;
    const p = pred[i] !== 0;
    if (r === REF_CHANGE) p ? tp++ : fn++;
    else p ? fp++ : tn++;
  }
  return { tp, fp, fn, tn };
}

/** Precision, recall, F1 (0 when undefined) from counts; add counts across scenes to pool. */
export function pixelMetrics(c: PixelCounts): PixelMetrics {
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0;
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  const total = c.tp + c.fp + c.fn + c.tn;
  return { ...c, precision, recall, f1, accuracy: total > 0 ? (c.tp + c.tn) / total : 0 };
}

export function addCounts(a: PixelCounts, b: PixelCounts): PixelCounts {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn };
}

export interface ObjectMetrics {
  /** Labelled change objects (8-connected) of at least minRefPixels. */
  refObjects: number;
  refObjectsHit: number;
  /** refObjectsHit / refObjects (0 when there are none). */
  objectRecall: number;
  /** Predicted components (labels 1..n of predLabels). */
  predObjects: number;
  predObjectsHit: number;
  /** predObjectsHit / predObjects (0 when there are none). */
  polygonPrecision: number;
  /** hit[k] = 1 when predicted component k touches labelled change (index 0 unused). */
  predHit: Uint8Array;
}

/**
 * Object-level scores. `predLabels` holds predicted components (0 = none, 1..predCount);
 * a predicted component "touches" a reference object when they share a pixel.
 * Predicted components lying wholly on REF_IGNORE pixels count as neither hit nor miss
 * (sparse references such as Taizhou), so they are left out of polygon precision.
 */
export function objectMetrics(
  predLabels: Int32Array,
  predCount: number,
  ref: Uint8Array,
  width: number,
  height: number,
  minRefPixels: number,
): ObjectMetrics {
  const n = width * height;
  const refMask = new Uint8Array(n);
  for (let i = 0; i < n; i++) refMask[i] = ref[i] === REF_CHANGE ? 1 : 0;
  const refLabels = new Int32Array(n);
  const refCount = labelComponents(refMask, width, height, refLabels);
  const refSize = new Int32Array(refCount + 1);
  const refHit = new Uint8Array(refCount + 1);
  const predHit = new Uint8Array(predCount + 1);
  const predLabelled = new Uint8Array(predCount + 1);
  for (let i = 0; i < n; i++) {
    const r = refLabels[i];
    const p = predLabels[i];
    if (r) refSize[r]++;
    if (p && ref[i] !== REF_IGNORE) predLabelled[p] = 1;
    if (r && p) {
      refHit[r] = 1;
      predHit[p] = 1;
    }
  }
  let refObjects = 0, refObjectsHit = 0;
  for (let k = 1; k <= refCount; k++) {
    if (refSize[k] < minRefPixels) continue;
    refObjects++;
    refObjectsHit += refHit[k];
  }
  let predObjects = 0, predObjectsHit = 0;
  for (let k = 1; k <= predCount; k++) {
    if (!predLabelled[k]) continue;
    predObjects++;
    predObjectsHit += predHit[k];
  }
  return {
    refObjects,
    refObjectsHit,
    objectRecall: refObjects > 0 ? refObjectsHit / refObjects : 0,
    predObjects,
    predObjectsHit,
    polygonPrecision: predObjects > 0 ? predObjectsHit / predObjects : 0,
    predHit,
  };
}
