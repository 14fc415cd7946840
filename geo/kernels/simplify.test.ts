import { describe, expect, it } from 'vitest';
import { labelComponents } from './label.js';
import { polygonizeLabels } from './polygonize.js';
import { ringArea } from './ring.js';
import { douglasPeucker, segmentsConflict, simplifyPolygon } from './simplify.js';
import { mulberry32, polygonProblem, randomMask } from './testing/kernel-fixtures.js';

describe('ringArea', () => {
  it('is signed: clockwise on screen (row down) positive', () => {
    expect(ringArea([[0, 0], [2, 0], [2, 3], [0, 3], [0, 0]])).toBe(6);
    expect(ringArea([[0, 0], [0, 3], [2, 3], [2, 0], [0, 0]])).toBe(-6);
    expect(ringArea([[0, 0], [2, 0], [2, 3], [0, 3]])).toBe(6); // open ring: closing implied
  });
});

describe('segmentsConflict', () => {
  it('allows a single shared endpoint, rejects crossings, touches and overlaps', () => {
    expect(segmentsConflict(0, 0, 2, 0, 2, 0, 2, 2)).toBe(false);
    expect(segmentsConflict(0, 0, 2, 2, 0, 2, 2, 0)).toBe(true);
    expect(segmentsConflict(0, 0, 2, 0, 1, 0, 1, 2)).toBe(true); // T-touch
    expect(segmentsConflict(0, 0, 2, 0, 1, 0, 3, 0)).toBe(true); // collinear overlap
    expect(segmentsConflict(0, 0, 2, 0, 2, 0, 1, 0)).toBe(true); // fold-back
    expect(segmentsConflict(0, 0, 1, 0, 2, 0, 3, 0)).toBe(false);
  });
});

describe('douglasPeucker', () => {
  it('turns a staircase into its diagonal at tolerance 1', () => {
    // staircase from (0,0) to (4,4), closed back along the axes
    const ring = [[0, 0], [1, 0], [1, 1], [2, 1], [2, 2], [3, 2], [3, 3], [4, 3], [4, 4], [0, 4], [0, 0]];
    expect(douglasPeucker(ring, 1)).toEqual([[0, 0], [4, 4], [0, 4], [0, 0]]);
  });
});

describe('simplifyPolygon', () => {
  it('never collapses a shell below 4 points', () => {
    const sq = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]];
    expect(simplifyPolygon(sq, 10)).toEqual(sq);
  });

  it('keeps a bump that holds a hole, and drops small holes', () => {
    // 10×10 square with a 4×2 bump below; a 1×1 hole sits inside the bump
    const shell = [[0, 0], [10, 0], [10, 10], [7, 10], [7, 12], [3, 12], [3, 10], [0, 10], [0, 0]];
    const hole = [[4, 10], [5, 10], [5, 11], [4, 11], [4, 10]].reverse();
    expect(polygonProblem([shell, hole])).toBeNull();
    // Without the hole the bump (2 deep) goes at tolerance 2.5 …
    expect(simplifyPolygon([shell], 2.5)[0].some((p) => p[1] === 12)).toBe(false);
    // … with it, dropping the bump would leave the hole outside: the bump stays.
    const out = simplifyPolygon([shell, hole], 2.5);
    expect(polygonProblem(out)).toBeNull();
    expect(out.length).toBe(2);
    expect(out[0].some((p) => p[1] === 12)).toBe(true);
    // minHoleArea 2 drops the 1-pixel hole, and then the bump can go.
    const dropped = simplifyPolygon([shell, hole], 2.5, 2);
    expect(dropped.length).toBe(1);
    expect(dropped[0].some((p) => p[1] === 12)).toBe(false);
  });

  it('stays valid on random pixel polygons and removes vertices', () => {
    const rand = mulberry32(777);
    let before = 0;
    let after = 0;
    for (let t = 0; t < 200; t++) {
      const w = 32;
      const h = 32;
      const m = randomMask(w, h, 0.4 + rand() * 0.3, rand);
      const labels = new Int32Array(w * h);
      const n = labelComponents(m, w, h, labels, t % 2 ? 4 : 8);
      const out = polygonizeLabels(labels, w, h, n);
      const tol = [0.5, 1, 1.5, 3][t % 4];
      for (let l = 1; l <= n; l++) {
        for (const poly of out[l]!) {
          const s = simplifyPolygon(poly, tol);
          const problem = polygonProblem(s);
          if (problem) throw new Error(`mask ${t} label ${l} tol ${tol}: ${problem}`);
          expect(s.length).toBe(poly.length);
          for (const r of poly) before += r.length;
          for (const r of s) after += r.length;
        }
      }
    }
    expect(after).toBeLessThan(before * 0.8);
  });
});
