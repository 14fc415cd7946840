import { describe, expect, it } from 'vitest';
import { histogram, kittlerIllingworth, otsuThreshold, quantileFromHistogram, robustUpperThreshold } from './threshold.js';
import { mulberry32 } from './testing/kernel-fixtures.js';

/** Box–Muller normal sample. */
function gauss(rand: () => number, mean: number, sd: number): number {
  return mean + sd * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

describe('histogram', () => {
  it('accumulates, clamps out-of-range values and skips NaN and invalid pixels', () => {
    const v = new Float32Array([-5, 0, 0.49, 0.5, 0.99, 1, 7, NaN, 0.7]);
    const valid = new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1, 0]);
    const bins = new Uint32Array(2);
    histogram(v, valid, 0, 1, bins);
    expect(Array.from(bins)).toEqual([3, 4]);
    histogram(new Float32Array([0.1]), null, 0, 1, bins);
    expect(Array.from(bins)).toEqual([4, 4]);
  });
  it('counts the same without a mask (its fast path) as with an all-valid one, NaN, infinities and edges included', () => {
    const rand = mulberry32(3);
    for (const [n, nb, lo, hi] of [[1, 1, 0, 1], [997, 7, -1, 3], [20011, 4096, 0, 64], [5003, 33, -0.5, 1.5]]) {
      const v = new Float32Array(n);
      const specials = [NaN, Infinity, -Infinity, lo, hi, lo - 1, hi + 1, lo + ((hi - lo) / nb) * 1.0000001, hi - ((hi - lo) / nb)];
      for (let i = 0; i < n; i++) v[i] = rand() < 0.1 ? specials[Math.floor(rand() * specials.length)] : lo - 0.2 + rand() * (hi - lo) * 1.4;
      for (const Bins of [Uint32Array, Float64Array]) {
        const fast = new Bins(nb).fill(2);
        const reference = new Bins(nb).fill(2);
        histogram(v, null, lo, hi, fast);
        histogram(v, new Uint8Array(n).fill(1), lo, hi, reference);
        expect(Array.from(fast)).toEqual(Array.from(reference));
      }
    }
  });
  it('rejects an empty range', () => {
    expect(() => histogram(new Float32Array(1), null, 1, 1, new Uint32Array(4))).toThrow(/greater/);
  });
});

describe('otsuThreshold', () => {
  it('cuts halfway between two separated spikes', () => {
    const hist = new Uint32Array(10);
    hist[2] = 100;
    hist[7] = 100;
    // bins of width 1 over [0, 10): spikes at [2,3) and [7,8); gap bins 3…6 → cut at 5
    expect(otsuThreshold(hist, 0, 10)).toBeCloseTo(5, 9);
  });
  it('separates a bimodal Gaussian mixture near the valley', () => {
    const rand = mulberry32(7);
    const v = new Float32Array(20000);
    for (let i = 0; i < v.length; i++) v[i] = i % 2 ? gauss(rand, 0.2, 0.05) : gauss(rand, 0.7, 0.05);
    const bins = new Uint32Array(256);
    histogram(v, null, 0, 1, bins);
    const t = otsuThreshold(bins, 0, 1);
    expect(t).toBeGreaterThan(0.4);
    expect(t).toBeLessThan(0.5);
  });
  it('is NaN for an empty histogram', () => {
    expect(otsuThreshold(new Uint32Array(8), 0, 1)).toBeNaN();
  });
});

describe('quantileFromHistogram', () => {
  it('interpolates within bins', () => {
    const hist = new Uint32Array([10, 10, 10, 10]); // uniform over [0, 4)
    expect(quantileFromHistogram(hist, 0, 4, 0.5)).toBeCloseTo(2, 9);
    expect(quantileFromHistogram(hist, 0, 4, 0.125)).toBeCloseTo(0.5, 9);
    expect(quantileFromHistogram(hist, 0, 4, 1)).toBeCloseTo(4, 9);
  });
});

describe('thresholds for rare change (3 % of pixels)', () => {
  const rand = mulberry32(11);
  const v = new Float32Array(50000);
  for (let i = 0; i < v.length; i++) v[i] = i % 33 === 0 ? gauss(rand, 0.6, 0.06) : gauss(rand, 0.1, 0.05);
  const bins = new Uint32Array(256);
  histogram(v, null, -0.5, 1.5, bins);

  it('Kittler–Illingworth lands between no-change and change', () => {
    const t = kittlerIllingworth(bins, -0.5, 1.5);
    expect(t).toBeGreaterThan(0.25);
    expect(t).toBeLessThan(0.45);
  });
  it('median + 4 robust sigmas sits above the no-change core and below the change mode', () => {
    const t = robustUpperThreshold(bins, -0.5, 1.5, 4);
    // core σ = 0.05 → ≈ 0.1 + 4·0.05 = 0.3 (the 3 % tail shifts it slightly). The MAD is read at
    // bin centres, so it moves in steps of one bin: 4 · 1.4826 · 2/256 ≈ 0.046 here.
    expect(t).toBeGreaterThan(0.27);
    expect(t).toBeLessThan(0.37);
  });
});

describe('edge cases the change detector relies on', () => {
  it('Kittler–Illingworth is hi and the robust threshold lo on an empty histogram (a tile with nothing observed)', () => {
    expect(kittlerIllingworth(new Float64Array(16), 0, 64)).toBe(64);
    expect(robustUpperThreshold(new Float64Array(16), 0, 64, 6)).toBe(0);
  });
});
