import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../fixtures/scene-math.js';
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

  it('its 3×3 fast path gives the bits of the plain definition (every valid neighbour scanned), nodata and NaN included', () => {
    /** The definition, written out: each pixel past SHIFT_SKIP, every valid neighbour within R. */
    const reference = (j: ShiftGateJob, shift: number): Float32Array => {
      const out = j.plain.slice();
      for (let row = j.r0; row < j.r1; row++) {
        for (let col = 0; col < j.width; col++) {
          const i = row * j.width + col;
          if (!(j.plain[i] > SHIFT_SKIP)) continue;
          let m2 = 0, r2 = 0;
          for (let k = 0; k < j.before.length; k++) {
            const b = j.before[k][i], av = j.gain[k] * j.after[k][i] + j.off[k];
            let lo = b, hi = b, alo = av, ahi = av;
            for (let rr = Math.max(0, row - j.rangeR); rr <= Math.min(j.height - 1, row + j.rangeR); rr++) {
              for (let cc = Math.max(0, col - j.rangeR); cc <= Math.min(j.width - 1, col + j.rangeR); cc++) {
                const n = rr * j.width + cc;
                if (j.v0[n]) { const v = j.before[k][n]; if (v < lo) lo = v; else if (v > hi) hi = v; }
                if (j.v1[n]) { const v = j.gain[k] * j.after[k][n] + j.off[k]; if (v < alo) alo = v; else if (v > ahi) ahi = v; }
              }
            }
            const tlo = b - shift * (b - lo), thi = b + shift * (hi - b);
            const d = av < tlo ? (tlo - av) * j.isig[k] : av > thi ? (av - thi) * j.isig[k] : 0;
            const ulo = av - shift * (av - alo), uhi = av + shift * (ahi - av);
            const e = b < ulo ? (ulo - b) * j.isig[k] : b > uhi ? (b - uhi) * j.isig[k] : 0;
            m2 += d * d;
            r2 += e * e;
          }
          out[i] = Math.sqrt(j.bothWays && r2 < m2 ? r2 / j.before.length : m2 / j.before.length);
        }
      }
      return out;
    };
    const rand = mulberry32(17);
    const w = 23, h = 19, n = w * h;
    for (const [shift, bothWays, rangeR] of [[0.3, false, 1], [1, false, 1], [0.5, true, 1], [0.6, true, 2]] as const) {
      const band = () => Float32Array.from({ length: n }, () => (rand() < 0.01 ? NaN : 500 + 2500 * Math.floor(rand() * 3) / 2 + 60 * rand()));
      const before = [band(), band(), band(), band()];
      const after = before.map((a) => a.map((v) => (rand() < 0.3 ? 500 + 2500 * rand() : v + 40 * (rand() - 0.5))));
      const v0 = Uint8Array.from({ length: n }, () => (rand() < 0.05 ? 0 : 1)), v1 = Uint8Array.from({ length: n }, () => (rand() < 0.05 ? 0 : 1));
      const gain = [1.02, 0.98, 1, 1.01], off = [-5, 3, 0, 7], isig = [1 / 31, 1 / 33, 1 / 37, 1 / 110];
      const plain = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let m2 = 0;
        for (let k = 0; k < 4; k++) { const d = (gain[k] * after[k][i] + off[k] - before[k][i]) * isig[k]; m2 += d * d; }
        plain[i] = Math.sqrt(m2 / 4);
      }
      const j: ShiftGateJob = { width: w, height: h, r0: 1, r1: h - 1, rangeR, v0, v1, bothWays, before, after, gain, off, isig, plain };
      const want = reference(j, shift);
      expect(tolerateShift(j, shift)).toBeGreaterThan(50);
      expect(new Uint32Array(j.plain.buffer)).toEqual(new Uint32Array(want.buffer));
    }
  });

  it('refuses a shift outside [0, 1]', () => {
    expect(() => tolerateShift(job(EDGE, SHIFTED), 1.5)).toThrow(/\[0, 1\]/);
    expect(() => tolerateShift(job(EDGE, SHIFTED), Number.NaN)).toThrow(/\[0, 1\]/);
  });
});
