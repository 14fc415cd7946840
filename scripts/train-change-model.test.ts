import { describe, expect, it } from 'vitest';
import { REF_CHANGE, REF_IGNORE, REF_NO_CHANGE } from '../evaluation/metrics.js';
import { changeObjectSizes, objectWeightScale } from './train-change-model.js';

describe('object weighting of training samples', () => {
  it('gives each change pixel the size of its 8-connected labelled object, 0 elsewhere', () => {
    const C = REF_CHANGE, N = REF_NO_CHANGE, I = REF_IGNORE;
    // A 3-pixel diagonal object (one object under 8-connectivity), a lone pixel, ignore and no-change.
    const ref = Uint8Array.from([
      C, N, N, C,
      N, C, N, N,
      N, N, C, I,
    ]);
    expect([...changeObjectSizes(ref, 4, 3)]).toEqual([
      3, 0, 0, 1,
      0, 3, 0, 0,
      0, 0, 3, 0,
    ]);
  });

  it('rescales change-sample weights to a mean of 1, leaving the no-change samples out', () => {
    const set = (y: number[], w: number[]) => ({ city: 'x', F: 0, x: new Float32Array(0), y: Uint8Array.from(y), popWeight: new Float64Array(y.length), objectWeight: Float64Array.from(w), n: y.length });
    // Change weights 0.5 and 0.25 (mean 0.375) across two cities; the no-change weight 7 is not counted.
    expect(objectWeightScale([set([1, 0], [0.5, 7]), set([1], [0.25])])).toBeCloseTo(1 / 0.375, 12);
  });
});
