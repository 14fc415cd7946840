import { describe, it, expect } from 'vitest';
import { buildCoarseMap, integerShift, warpBilinear } from './warp.js';

/** A 4×3 source whose value is 10·col + row (linear, so bilinear reproduces it exactly). */
const W = 4;
const H = 3;
const ramp = Float32Array.from({ length: W * H }, (_, i) => 10 * (i % W) + Math.floor(i / W));

function warp(src: Float32Array, outW: number, outH: number, fn: (c: number, r: number) => [number, number], step = 2) {
  const out = new Float32Array(outW * outH).fill(NaN);
  const valid = new Uint8Array(outW * outH);
  warpBilinear([src], W, H, buildCoarseMap(outW, outH, step, fn), [out], outW, outH, valid);
  return { out, valid };
}

describe('warpBilinear', () => {
  it('copies pixel centres exactly under the identity map', () => {
    const { out, valid } = warp(ramp, W, H, (c, r) => [c, r]);
    expect(Array.from(out)).toEqual(Array.from(ramp));
    expect(valid.every((v) => v === 1)).toBe(true);
  });

  it('interpolates a half-pixel shift linearly and ends coverage at the source edge', () => {
    // fn gets target pixel centres (c + 0.5): pixel c samples source x = c + 1, between centres c+0.5 and c+1.5
    const { out, valid } = warp(ramp, W, H, (x, y) => [x + 0.5, y]);
    expect(out[0]).toBeCloseTo(5, 5); // halfway between 0 and 10
    expect(out[2]).toBeCloseTo(25, 5);
    expect(out[3]).toBeCloseTo(30, 5); // x = 4.0: exactly on the right edge, still covered
    // x = 4.1 lies past the right edge (4): no data
    const past = warp(ramp, W, H, (x, y) => [x + 0.6, y]);
    expect(past.valid[3]).toBe(0);
    expect(past.out[3]).toBeNaN();
    expect(valid[3]).toBe(1);
  });

  it('leaves out NaN neighbours and renormalises, but needs half the weight', () => {
    const src = ramp.slice();
    src[1] = NaN; // (col 1, row 0)
    const { out, valid } = warp(src, W, H, (x, y) => [x + 0.25, y]);
    // pixel 0 samples x = 0.75: centre 0.5 (w .75) and 1.5 (w .25, NaN) → the value of the first
    expect(out[0]).toBeCloseTo(0, 5);
    // pixel 1 samples x = 1.75: centre 1.5 (w .75, NaN) and 2.5 (w .25) → too little weight
    expect(valid[1]).toBe(0);
    expect(valid[W + 1]).toBe(1); // row 1 unaffected
  });

  it('does not overwrite pixels already valid (first source wins)', () => {
    const out = new Float32Array(W * H).fill(-1);
    const valid = new Uint8Array(W * H).fill(1);
    valid[5] = 0;
    warpBilinear([ramp], W, H, buildCoarseMap(W, H, 2, (c, r) => [c, r]), [out], W, H, valid);
    expect(out[4]).toBe(-1);
    expect(out[5]).toBe(ramp[5]);
  });
});

describe('integerShift', () => {
  it('finds whole-pixel offsets between aligned grids and nothing otherwise', () => {
    expect(integerShift([1020, 10, 0, 2000, 0, -10], [1000, 10, 0, 2030, 0, -10])).toEqual([2, 3]);
    expect(integerShift([1025, 10, 0, 2000, 0, -10], [1000, 10, 0, 2030, 0, -10])).toBeNull();
    expect(integerShift([1000, 20, 0, 2000, 0, -20], [1000, 10, 0, 2000, 0, -10])).toBeNull();
  });
});
