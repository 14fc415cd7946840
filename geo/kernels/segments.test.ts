import { kinks } from '@turf/turf';
import type { Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { rng, starPolygon } from './testing/random-rings.js';
import { orient, ringsSimple, segmentsApart } from './segments.js';

describe('orient and segmentsApart', () => {
  it('give a sign only when sure of it', () => {
    expect(orient(0, 0, 1, 0, 0.5, 1)).toBe(1);
    expect(orient(0, 0, 1, 0, 0.5, -1)).toBe(-1);
    expect(orient(0, 0, 1, 0, 2, 0)).toBe(0); // collinear
    expect(orient(117, 36, 117.001, 36.001, 117.0005, 36.0005 + 1e-15)).toBe(0); // within rounding of the line
    expect(orient(0, 0, Number.NaN, 0, 1, 1)).toBe(0);
  });

  it('call segments apart only when they certainly share no point', () => {
    expect(segmentsApart(0, 0, 1, 0, 0, 1, 1, 1)).toBe(true); // parallel
    expect(segmentsApart(0, 0, 2, 0, 1, 1, 1, 0.5)).toBe(true); // would meet if longer
    expect(segmentsApart(0, 0, 2, 0, 1, -1, 1, 1)).toBe(false); // cross
    expect(segmentsApart(0, 0, 2, 0, 1, 0, 1, 1)).toBe(false); // T: an end on the other
    expect(segmentsApart(0, 0, 1, 0, 1, 0, 2, 1)).toBe(false); // shared end
    expect(segmentsApart(0, 0, 1, 0, 2, 0, 3, 0)).toBe(false); // collinear: not sure, so not apart
  });
});

describe('ringsSimple', () => {
  it('says simple only where turf kinks finds no self-intersection (random rings, some scrambled)', () => {
    const rand = rng(99);
    let simple = 0;
    let kinked = 0;
    for (let c = 0; c < 300; c++) {
      const rings = starPolygon(rand, 117 + rand(), 36 + rand(), 0.001 + rand() * 0.01, rand() < 0.4);
      if (rand() < 0.3) {
        // Swap two vertices of the shell: usually a bow-tie.
        const r = rings[0];
        const i = 1 + Math.floor(rand() * (r.length - 2));
        const j = 1 + Math.floor(rand() * (r.length - 2));
        [r[i], r[j]] = [r[j], r[i]];
      }
      const n = kinks({ type: 'Polygon', coordinates: rings }).features.length;
      if (ringsSimple(rings)) {
        simple++;
        expect(n, `case ${c}`).toBe(0);
      } else if (n > 0) {
        kinked++;
      }
    }
    expect(simple).toBeGreaterThan(150);
    expect(kinked).toBeGreaterThan(20);
  });

  it('refuses touching rings, repeated vertices, open or short rings and NaN', () => {
    const sq: Position[] = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]];
    expect(ringsSimple([sq])).toBe(true);
    expect(ringsSimple([sq, [[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.2, 0.2]]])).toBe(true);
    expect(ringsSimple([sq, [[0, 0.5], [0.5, 0.25], [0.5, 0.75], [0, 0.5]]])).toBe(false); // hole vertex on the shell
    expect(ringsSimple([[[0, 0], [1, 0], [1, 1], [0.5, 0.5], [1, 1], [0, 1], [0, 0]]])).toBe(false); // (1, 1) twice
    expect(ringsSimple([[[0, 0], [1, 0], [1, 1], [0, 1]]])).toBe(false); // open
    expect(ringsSimple([[[0, 0], [1, 0], [0, 0]]])).toBe(false); // short
    expect(ringsSimple([[[0, 0], [1, Number.NaN], [1, 1], [0, 0]]])).toBe(false);
  });
});
