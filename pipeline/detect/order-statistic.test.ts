import { describe, expect, it } from 'vitest';
import { kthSmallest, medianOf } from './order-statistic.js';

/** Deterministic LCG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function sortedMedian(a: Float64Array): number {
  const s = a.slice().sort();
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const shapes: Record<string, (n: number, r: () => number) => Float64Array> = {
  uniform: (n, r) => Float64Array.from({ length: n }, () => r() * 1000 - 300),
  'few distinct': (n, r) => Float64Array.from({ length: n }, () => Math.floor(r() * 5)),
  ascending: (n) => Float64Array.from({ length: n }, (_, i) => i * 0.5),
  descending: (n) => Float64Array.from({ length: n }, (_, i) => -i),
  constant: (n) => new Float64Array(n).fill(7.25),
  'organ pipe': (n) => Float64Array.from({ length: n }, (_, i) => Math.min(i, n - i)),
  'heavy tail': (n, r) => Float64Array.from({ length: n }, () => 1 / (r() + 1e-9)),
};

describe('kthSmallest / medianOf', () => {
  for (const [name, make] of Object.entries(shapes)) {
    it(`equals the sorted value on ${name} data, every size 1–40 and a large one`, () => {
      const r = rng(name.length * 7919);
      for (const n of [...Array.from({ length: 40 }, (_, i) => i + 1), 5001, 20_000]) {
        const a = make(n, r);
        const s = a.slice().sort();
        const ks = n <= 40 ? Array.from({ length: n }, (_, i) => i) : [0, 1, n >> 1, Math.floor(0.6 * n), Math.floor(0.99 * (n - 1)), n - 1];
        for (const k of ks) expect(Object.is(kthSmallest(a, n, k), s[k])).toBe(true);
        expect(Object.is(medianOf(a, n), sortedMedian(a))).toBe(true);
      }
    });
  }

  it('leaves the source alone unless it is the scratch, and then still answers right', () => {
    const a = Float64Array.from([5, 1, 4, 2, 3, 9, 0]);
    const copy = a.slice();
    expect(kthSmallest(a, 7, 3)).toBe(3);
    expect(a).toEqual(copy);
    expect(medianOf(a, 6, a)).toBe(3.5); // the first six sorted: 1 2 3 4 5 9 → (3 + 4) / 2
  });

  it('orders NaN last and -0 before +0, as TypedArray sort does', () => {
    const a = Float64Array.from([0, NaN, -0, 3, -1, NaN, 0, 2]);
    const s = a.slice().sort();
    for (let k = 0; k < a.length; k++) expect(Object.is(kthSmallest(a, a.length, k), s[k])).toBe(true);
    expect(Object.is(medianOf(a, a.length), sortedMedian(a))).toBe(true);
  });

  it('median of nothing is 0; an order statistic out of range is an error', () => {
    expect(medianOf(new Float64Array(0), 0)).toBe(0);
    expect(() => kthSmallest(new Float64Array(3), 3, 3)).toThrow(RangeError);
  });
});
