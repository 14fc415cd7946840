import { describe, expect, it } from 'vitest';
import { componentStats, labelComponents } from './label.js';
import { polygonizeLabels } from './polygonize.js';
import type { PixelPolygon } from './polygonize.js';
import { ringArea } from './ring.js';
import { maskFromRows, mulberry32, pointInPolygon, polygonProblem, randomMask } from './testing/kernel-fixtures.js';

function polygonsOf(rows: string[], conn: 4 | 8 = 8): (PixelPolygon[] | null)[] {
  const { mask, w, h } = maskFromRows(rows);
  const labels = new Int32Array(w * h);
  const n = labelComponents(mask, w, h, labels, conn);
  return polygonizeLabels(labels, w, h, n);
}

const area = (p: PixelPolygon): number => p.reduce((s, r) => s + ringArea(r), 0);

describe('polygonProblem (test helper)', () => {
  it('rejects a shell pinched at a vertex, a crossing hole and a hole outside', () => {
    // two squares joined at (1,1) as one ring
    expect(polygonProblem([[[0, 0], [1, 0], [1, 1], [2, 1], [2, 2], [1, 2], [1, 1], [0, 1], [0, 0]]])).toMatch(/self-intersects/);
    const shell = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]];
    expect(polygonProblem([shell, [[3, 1], [3, 5], [1, 5], [1, 1], [3, 1]].reverse()])).not.toBeNull();
    expect(polygonProblem([shell, [[6, 1], [6, 2], [5, 2], [5, 1], [6, 1]].reverse()])).toMatch(/outside/);
    expect(polygonProblem([shell, [[1, 1], [1, 2], [2, 2], [2, 1], [1, 1]]])).toBeNull();
  });
});

describe('polygonizeLabels', () => {
  it('a single square: 4 corners, closed, shell positive', () => {
    const out = polygonsOf(['....', '.##.', '.##.', '....']);
    expect(out[0]).toBeNull();
    expect(out[1]).toEqual([[[[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]]]);
  });

  it('a square with a hole: shell then hole ring of opposite orientation', () => {
    const [poly] = polygonsOf(['###', '#.#', '###'])[1]!;
    expect(poly.length).toBe(2);
    expect(ringArea(poly[0])).toBe(9);
    expect(ringArea(poly[1])).toBe(-1);
    expect(poly[1].length).toBe(5);
    expect(polygonProblem(poly)).toBeNull();
  });

  it('two squares touching diagonally: one 8-connected label, two polygons meeting at a point', () => {
    const out = polygonsOf(['##..', '##..', '..##', '..##']);
    expect(out.length).toBe(2);
    const polys = out[1]!;
    expect(polys).toEqual([
      [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]],
      [[[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]],
    ]);
  });

  it('a ring closed only by a diagonal contact: the background pocket becomes a hole touching the shell at one vertex', () => {
    const polys = polygonsOf(['.##', '#.#', '###'], 4)[1]!;
    expect(polys.length).toBe(1);
    const [poly] = polys;
    expect(poly.length).toBe(2);
    expect(ringArea(poly[0])).toBe(8);
    expect(ringArea(poly[1])).toBe(-1);
    expect(polygonProblem(poly)).toBeNull();
    // shell passes vertex (1,1) once, and so does the hole
    const count = (r: number[][]) => r.slice(1).filter((p) => p[0] === 1 && p[1] === 1).length;
    expect(count(poly[0])).toBe(1);
    expect(count(poly[1])).toBe(1);
  });

  it('checkerboard: every pixel its own polygon, all valid', () => {
    const polys = polygonsOf(['#.#.', '.#.#', '#.#.', '.#.#'])[1]!;
    expect(polys.length).toBe(8);
    for (const p of polys) {
      expect(p.length).toBe(1);
      expect(ringArea(p[0])).toBe(1);
    }
  });

  it('components on the image border close along the edge', () => {
    const out = polygonsOf(['###', '#..', '#..']);
    expect(out[1]).toEqual([[[[0, 0], [3, 0], [3, 1], [1, 1], [1, 3], [0, 3], [0, 0]]]]);
    const full = polygonsOf(['##', '##']);
    expect(full[1]).toEqual([[[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]]);
  });

  it('a hole holding another label and an island of the same label', () => {
    const out = polygonsOf(['#####', '#...#', '#.#.#', '#...#', '#####'], 8);
    // 8-connected: frame and island are separate components (no contact at all)
    expect(out.length).toBe(3);
    expect(out[1]![0].length).toBe(2);
    expect(area(out[1]![0])).toBe(16);
    expect(out[2]).toEqual([[[[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]]]]);
  });

  it('keep[] skips labels', () => {
    const { mask, w, h } = maskFromRows(['#.#']);
    const labels = new Int32Array(w * h);
    const n = labelComponents(mask, w, h, labels, 8);
    const out = polygonizeLabels(labels, w, h, n, new Uint8Array([0, 0, 1]));
    expect(out[1]).toBeNull();
    expect(out[2]!.length).toBe(1);
  });

  it('random masks: every polygon valid, areas match pixel counts, coverage is exact', () => {
    const rand = mulberry32(20240601);
    for (let t = 0; t < 200; t++) {
      const w = 32;
      const h = 32;
      const m = randomMask(w, h, 0.35 + rand() * 0.3, rand);
      const conn = t % 2 ? 4 : 8;
      const labels = new Int32Array(w * h);
      const n = labelComponents(m, w, h, labels, conn);
      const out = polygonizeLabels(labels, w, h, n);
      let total = 0;
      for (let l = 1; l <= n; l++) {
        for (const poly of out[l]!) {
          const problem = polygonProblem(poly);
          if (problem) throw new Error(`mask ${t} label ${l}: ${problem}`);
          total += area(poly);
        }
      }
      expect(total).toBe(m.reduce((s, v) => s + v, 0));
      // Every pixel centre lies in exactly the polygons of its own label (once) and no other.
      // (Sampled every 3rd pixel to keep the test fast.)
      let wrong = 0;
      for (let i = t % 3; i < w * h; i += 3) {
        const x = (i % w) + 0.5;
        const y = Math.floor(i / w) + 0.5;
        for (let l = 1; l <= n; l++) {
          let inside = 0;
          for (const poly of out[l]!) if (pointInPolygon(x, y, poly)) inside++;
          if (inside !== (labels[i] === l ? 1 : 0)) wrong++;
        }
      }
      expect(wrong).toBe(0);
    }
  });
});

describe('polygonizeLabels with the bboxes of componentStats', () => {
  it('traces the same polygons as with its own bbox scan', () => {
    const w = 7, h = 5;
    // Three labels, one with two 4-connected parts touching at a corner, one kept out by `keep`.
    const labels = Int32Array.from([
      1, 1, 0, 2, 2, 2, 0,
      1, 0, 0, 2, 0, 2, 0,
      0, 1, 0, 2, 2, 2, 0,
      0, 0, 1, 0, 0, 0, 3,
      0, 0, 0, 0, 0, 3, 3,
    ]);
    const stats = componentStats(labels, w, h, 4);
    const keep = Uint8Array.from([0, 1, 1, 0, 1]);
    expect(polygonizeLabels(labels, w, h, 4, keep, stats)).toEqual(polygonizeLabels(labels, w, h, 4, keep));
    expect(polygonizeLabels(labels, w, h, 4, undefined, stats)).toEqual(polygonizeLabels(labels, w, h, 4));
  });
  it('refuses bboxes that cover fewer labels than asked', () => {
    const labels = Int32Array.from([1, 2]);
    expect(() => polygonizeLabels(labels, 2, 1, 2, undefined, componentStats(labels, 2, 1, 1))).toThrow(/bbox covers 1 labels, need 2/);
  });
});
