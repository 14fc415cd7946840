import { describe, expect, it } from 'vitest';
import { SHIFT_SKIP, tolerateShift, type ShiftGateJob } from './shift-gate.js';

const SIGMA = 30;
const W = 5, H = 5;

/** One band, 5×5, σ 30, gain 1, offset 0; `plain` as the pass writes it (|after − before| / σ). */
function job(before: number[], after: number[], valid = new Array(W * H).fill(1)): ShiftGateJob {
  const b = Float32Array.from(before), a = Float32Array.from(after);
  const plain = Float32Array.from(before, (v, i) => Math.abs(a[i] - v) / SIGMA);
  return { width: W, height: H, r0: 0, r1: H, rangeR: 1, v0: Uint8Array.from(valid), v1: new Uint8Array(W * H).fill(1), bothWays: false, before: [b], after: [a], gain: [1], off: [0], isig: [1 / SIGMA], plain };
}

/** Columns 0–1 at 1000, 2–4 at 2500 (a 1500 DN field edge, 50 σ). */
const EDGE = Array.from({ length: W * H }, (_, i) => (i % W < 2 ? 1000 : 2500));
/** The edge 0.3 px further left in the after epoch, bilinear: column 2 is 30 % field. */
const SHIFTED = EDGE.map((v, i) => (i % W === 2 ? 0.7 * 2500 + 0.3 * 1000 : v));
const at = (row: number, col: number) => row * W + col;

describe('tolerateShift: the misregistration-tolerant gate evidence', () => {
  it('forgives a 0.3 px blend of a strong edge at δ 0.5 (the plain difference is 15 σ there)', () => {
    const j = job(EDGE, SHIFTED);
    expect(j.plain[at(2, 2)]).toBeCloseTo(15, 4);
    tolerateShift(j, 0.5);
    expect(j.plain[at(2, 2)]).toBe(0);
  });

  it('forgives only δ of the edge: at δ 0.25 the blend is 2.5 σ past the tolerated interval', () => {
    const j = job(EDGE, SHIFTED);
    tolerateShift(j, 0.25);
    // Interval [2500 − 0.25·1500, 2500] = [2125, 2500]; the after is 2050.
    expect(j.plain[at(2, 2)]).toBeCloseTo(75 / SIGMA, 4);
  });

  it('keeps a low-contrast change on flat ground exactly as the plain difference', () => {
    const flat = new Array(W * H).fill(1000);
    const after = flat.map((v, i) => (i === at(2, 2) ? v + 100 : v));
    const j = job(flat, after);
    const plain = j.plain[at(2, 2)];
    expect(plain).toBeGreaterThan(SHIFT_SKIP);
    tolerateShift(j, 0.75);
    expect(j.plain[at(2, 2)]).toBe(plain);
  });

  it('at δ 1 is the 3×3 range distance', () => {
    const after = EDGE.map((v, i) => (i === at(2, 1) ? 2800 : v));
    const j = job(EDGE, after);
    tolerateShift(j, 1);
    // Column 1's 3×3 range is [1000, 2500]: 2800 is 300 DN above it.
    expect(j.plain[at(2, 1)]).toBeCloseTo(300 / SIGMA, 5);
  });

  it('leaves quiet pixels and hidden (NaN) pixels as they are, and says how many it revisited', () => {
    const after = EDGE.map((v) => v + 20); // 0.67 σ everywhere: below SHIFT_SKIP
    const j = job(EDGE, after);
    j.plain[at(0, 0)] = NaN;
    const before = j.plain.slice();
    expect(tolerateShift(j, 1)).toBe(0);
    expect([...j.plain].map(String)).toEqual([...before].map(String));
  });

  it('leaves neighbours that are not valid out of the range (nodata is no edge to forgive)', () => {
    const before = new Array(W * H).fill(1000);
    before[at(2, 3)] = 0; // nodata with a value far below
    const valid = before.map((v) => (v === 0 ? 0 : 1));
    const after = before.map((v, i) => (i === at(2, 2) ? 700 : v));
    const j = job(before, after, valid);
    tolerateShift(j, 1);
    expect(j.plain[at(2, 2)]).toBeCloseTo(300 / SIGMA, 5);
  });

  it('both ways: forgives a thin road blurred in the before epoch only, and keeps half a new one-pixel roof at δ 0.5', () => {
    const field = new Array(W * H).fill(1000);
    // The road (3000 DN) is column 2; resampling left 60 % of it in the before epoch.
    const road = field.map((v, i) => (i % W === 2 ? 3000 : v));
    const blurred = field.map((v, i) => (i % W === 2 ? 0.6 * 3000 + 0.4 * 1000 : v));
    const oneWay = job(blurred, road);
    tolerateShift(oneWay, 0.5);
    expect(oneWay.plain[at(2, 2)]).toBeCloseTo(800 / SIGMA, 4); // 3000 is 800 DN above the before's 3×3 max
    const both = { ...job(blurred, road), bothWays: true };
    tolerateShift(both, 0.5);
    expect(both.plain[at(2, 2)]).toBe(0); // 2200 lies in [3000 − 0.5·2000, 3000]
    const roof = { ...job(field, field.map((v, i) => (i === at(2, 2) ? 3000 : v))), bothWays: true };
    tolerateShift(roof, 0.5);
    expect(roof.plain[at(2, 2)]).toBeCloseTo(1000 / SIGMA, 4); // 1000 is 1000 DN below [2000, 3000]
  });

  it('refuses a shift outside [0, 1]', () => {
    expect(() => tolerateShift(job(EDGE, SHIFTED), 1.5)).toThrow(/\[0, 1\]/);
    expect(() => tolerateShift(job(EDGE, SHIFTED), Number.NaN)).toThrow(/\[0, 1\]/);
  });
});
