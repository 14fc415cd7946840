import { describe, expect, it } from 'vitest';
import { componentStats, labelComponents, removeSmallComponents, seedStats } from './label.js';
import { maskFromRows, mulberry32, randomMask } from './testing/kernel-fixtures.js';

function grid(labels: Int32Array, w: number, h: number): number[][] {
  const out: number[][] = [];
  for (let y = 0; y < h; y++) out.push(Array.from(labels.subarray(y * w, y * w + w)));
  return out;
}

/** Reference labelling by flood fill (explicit stack), numbering in scan order. */
function floodLabels(mask: Uint8Array, w: number, h: number, conn: 4 | 8): Int32Array {
  const out = new Int32Array(w * h);
  let n = 0;
  for (let s = 0; s < w * h; s++) {
    if (!mask[s] || out[s]) continue;
    out[s] = ++n;
    const stack = [s];
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      const y = (i - x) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (conn === 4 && dx !== 0 && dy !== 0)) continue;
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const j = yy * w + xx;
          if (mask[j] && !out[j]) {
            out[j] = n;
            stack.push(j);
          }
        }
      }
    }
  }
  return out;
}

describe('labelComponents', () => {
  const { mask, w, h } = maskFromRows(['#..#', '.#.#', '..#.', '#...']);

  it('4-connectivity keeps diagonal neighbours apart', () => {
    const labels = new Int32Array(w * h);
    expect(labelComponents(mask, w, h, labels, 4)).toBe(5);
    expect(grid(labels, w, h)).toEqual([
      [1, 0, 0, 2],
      [0, 3, 0, 2],
      [0, 0, 4, 0],
      [5, 0, 0, 0],
    ]);
  });

  it('8-connectivity joins them, numbered by first pixel in scan order', () => {
    const labels = new Int32Array(w * h);
    expect(labelComponents(mask, w, h, labels, 8)).toBe(2);
    expect(grid(labels, w, h)).toEqual([
      [1, 0, 0, 1],
      [0, 1, 0, 1],
      [0, 0, 1, 0],
      [2, 0, 0, 0],
    ]);
  });

  it('a U shape merged late keeps the number of its first pixel (deterministic)', () => {
    const u = maskFromRows(['#.#', '#.#', '###']);
    const labels = new Int32Array(9);
    expect(labelComponents(u.mask, 3, 3, labels, 4)).toBe(1);
    expect(Array.from(labels)).toEqual([1, 0, 1, 1, 0, 1, 1, 1, 1]);
  });

  it('matches a flood-fill reference on random masks, with a tiny parent table that must grow', () => {
    const rand = mulberry32(5);
    for (let t = 0; t < 40; t++) {
      const w = 5 + Math.floor(rand() * 40);
      const h = 5 + Math.floor(rand() * 40);
      const m = randomMask(w, h, 0.3 + rand() * 0.4, rand);
      for (const conn of [4, 8] as const) {
        const labels = new Int32Array(w * h).fill(-7);
        const n = labelComponents(m, w, h, labels, conn, { parent: new Int32Array(2) });
        const ref = floodLabels(m, w, h, conn);
        expect(labels).toEqual(ref);
        expect(n).toBe(Math.max(0, ...ref));
      }
    }
  });

  it('with `cleared`, labels a zero buffer the same and writes the foreground alone', () => {
    const rand = mulberry32(5);
    for (let t = 0; t < 30; t++) {
      const w = 3 + Math.floor(rand() * 50);
      const h = 3 + Math.floor(rand() * 30);
      const m = randomMask(w, h, 0.05 + rand() * 0.6, rand);
      for (const conn of [4, 8] as const) {
        const ref = floodLabels(m, w, h, conn);
        const fresh = new Int32Array(w * h);
        expect(labelComponents(m, w, h, fresh, conn, { cleared: true })).toBe(Math.max(0, ...ref));
        expect(fresh).toEqual(ref);
        // A background pixel is never read nor written: a marker there survives, and the
        // foreground still gets its labels.
        const marked = new Int32Array(w * h).fill(-7);
        labelComponents(m, w, h, marked, conn, { cleared: true });
        expect(Array.from(marked, (l, i) => (m[i] === 0 ? (l === -7 ? 0 : -1) : l))).toEqual(Array.from(ref));
      }
    }
  });
});

describe('componentStats and removeSmallComponents', () => {
  it('gives the same stats and seeds reading labels only where the mask is set (aligned or not) as over every pixel', () => {
    const rand = mulberry32(21);
    for (const [w, h, density] of [[37, 23, 0.3], [64, 17, 0.05], [101, 9, 0.6], [3, 5, 0.5]]) {
      const mask = randomMask(w, h, density, rand);
      for (let x = 0; x < w; x++) mask[(h >> 1) * w + x] = 0; // a whole empty row
      const labels = new Int32Array(w * h);
      const n = labelComponents(mask, w, h, labels, 8);
      const values = new Float32Array(w * h).map(() => (rand() < 0.1 ? NaN : rand() * 100));
      const flat = (st: ReturnType<typeof componentStats>) => [st.count, st.minCol, st.minRow, st.maxCol, st.maxRow, st.sum!, st.max!].map((a) => Array.from(a));
      const every = flat(componentStats(labels, w, h, n, values));
      expect(flat(componentStats(labels, w, h, n, values, mask))).toEqual(every);
      const unaligned = new Uint8Array(w * h + 1).subarray(1);
      unaligned.set(mask);
      expect(flat(componentStats(labels, w, h, n, values, unaligned))).toEqual(every);
      const seeds = seedStats(labels, values, 50, n);
      for (const m of [mask, unaligned]) {
        const masked = seedStats(labels, values, 50, n, m);
        expect([Array.from(masked.count), Array.from(masked.sum)]).toEqual([Array.from(seeds.count), Array.from(seeds.sum)]);
      }
    }
  });

  it('counts pixels, bboxes and value sums; removes specks', () => {
    const { mask, w, h } = maskFromRows(['##...', '##..#', '.....', '..###']);
    const labels = new Int32Array(w * h);
    const n = labelComponents(mask, w, h, labels, 8);
    expect(n).toBe(3);
    const values = new Float32Array(w * h).map((_, i) => i);
    values[0] = NaN;
    const s = componentStats(labels, w, h, n, values);
    expect(Array.from(s.count)).toEqual([0, 4, 1, 3]);
    expect([s.minCol[1], s.minRow[1], s.maxCol[1], s.maxRow[1]]).toEqual([0, 0, 1, 1]);
    expect([s.minCol[3], s.minRow[3], s.maxCol[3], s.maxRow[3]]).toEqual([2, 3, 4, 3]);
    expect(s.sum![1]).toBe(1 + 5 + 6); // NaN at pixel 0 skipped
    expect(s.max![3]).toBe(19);
    const keep = new Uint8Array(n + 1);
    expect(removeSmallComponents(labels, w, h, s, 2, keep)).toBe(2);
    expect(Array.from(keep)).toEqual([0, 1, 0, 1]);
    expect(labels[1 * w + 4]).toBe(0);
    expect(labels[3 * w + 3]).toBe(3);
    expect(s.count[2]).toBe(0);
  });
});

describe('seedStats', () => {
  it('counts and sums, per label, only the pixels at or above the cut (NaN and label 0 ignored)', () => {
    // Two components drawn at a low cut: label 1 holds one seed (0.95), label 2 two (0.92, 0.99).
    const labels = Int32Array.from([1, 1, 1, 0, 2, 2, 2, 0]);
    const score = Float32Array.from([0.8, 0.95, 0.85, 0.99, 0.92, 0.99, NaN, 0.97]);
    const { count, sum } = seedStats(labels, score, 0.9, 2);
    expect([...count]).toEqual([0, 1, 2]);
    expect(sum[1]).toBeCloseTo(0.95, 6);
    expect(sum[2]).toBeCloseTo(0.92 + 0.99, 6);
  });
});
