import { describe, expect, it } from 'vitest';
import { objectMetrics, pixelCounts, pixelMetrics, REF_CHANGE as C, REF_IGNORE as I, REF_NO_CHANGE as N } from './metrics.js';
import { labelComponents as labelKernel } from '../geo/kernels/label.js';

/** 8-connected labels of a 0/1 mask (the product's kernel). */
const labelComponents = (mask: Uint8Array, w: number, h: number, out: Int32Array): number => labelKernel(mask, w, h, out, 8);

describe('pixel metrics', () => {
  it('counts only labelled pixels and computes P/R/F1 of the change class', () => {
    const ref = Uint8Array.from([C, C, C, N, N, N, I, I]);
    const pred = Uint8Array.from([1, 1, 0, 1, 0, 0, 1, 0]);
    const c = pixelCounts(pred, ref);
    expect(c).toEqual({ tp: 2, fn: 1, fp: 1, tn: 2 });
    const m = pixelMetrics(c);
    expect(m.precision).toBeCloseTo(2 / 3);
    expect(m.recall).toBeCloseTo(2 / 3);
    expect(m.f1).toBeCloseTo(2 / 3);
    expect(m.accuracy).toBeCloseTo(4 / 6);
  });

  it('gives 0, not NaN, when nothing is predicted', () => {
    const m = pixelMetrics(pixelCounts(new Uint8Array(3), Uint8Array.from([C, N, N])));
    expect(m.precision).toBe(0);
    expect(m.f1).toBe(0);
  });
});

describe('object metrics', () => {
  // 6×4 grid: two reference objects (left 2×2, right 1 px), one predicted blob touching the left one,
  // one false blob in the middle, one blob lying on ignore pixels only.
  const w = 6, h = 4;
  const ref = Uint8Array.from([
    C, C, N, N, N, C,
    C, C, N, N, N, N,
    N, N, N, N, N, N,
    I, I, N, N, N, N,
  ]);
  const pred = Uint8Array.from([
    0, 1, 0, 0, 0, 0,
    0, 1, 0, 1, 0, 0,
    0, 0, 0, 0, 0, 0,
    1, 0, 0, 0, 0, 0,
  ]);
  const labels = new Int32Array(w * h);
  const n = labelComponents(pred, w, h, labels);

  it('labels 8-connected components', () => {
    expect(n).toBe(3);
  });

  it('object recall counts reference objects of at least minRefPixels touched by a prediction', () => {
    const m = objectMetrics(labels, n, ref, w, h, 2);
    expect(m.refObjects).toBe(1); // the 1-px object is below the MMU
    expect(m.objectRecall).toBe(1);
    const all = objectMetrics(labels, n, ref, w, h, 1);
    expect(all.refObjects).toBe(2);
    expect(all.objectRecall).toBe(0.5);
  });

  it('polygon precision leaves out predictions lying wholly on ignore pixels', () => {
    const m = objectMetrics(labels, n, ref, w, h, 1);
    expect(m.predObjects).toBe(2);
    expect(m.predObjectsHit).toBe(1);
    expect(m.polygonPrecision).toBe(0.5);
  });
});
