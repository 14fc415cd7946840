import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import type { MultiPolygon, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { interiorPoint } from './interior-point.js';

const inside = (g: Polygon | MultiPolygon) => {
  const p = interiorPoint(g);
  expect(p).not.toBeNull();
  return booleanPointInPolygon(p!, g, { ignoreBoundary: true });
};

describe('interiorPoint', () => {
  it('lies inside a square, a crescent whose centroid is outside, a ring around a hole, and the largest part of a multipolygon', () => {
    expect(interiorPoint({ type: 'Polygon', coordinates: [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]] })).toEqual([1, 1]);
    // A U: its centroid lies in the notch.
    const u: Polygon = { type: 'Polygon', coordinates: [[[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]] };
    expect(inside(u)).toBe(true);
    // A square with a hole in its middle: the line through the middle crosses the hole.
    const ring: Polygon = { type: 'Polygon', coordinates: [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]] };
    expect(inside(ring)).toBe(true);
    expect(interiorPoint(ring)![0] < 1 || interiorPoint(ring)![0] > 3).toBe(true);
    // A vertex exactly on the line (a diamond) counts once.
    expect(interiorPoint({ type: 'Polygon', coordinates: [[[1, 0], [2, 1], [1, 2], [0, 1], [1, 0]]] })).toEqual([1, 1]);
    const multi: MultiPolygon = { type: 'MultiPolygon', coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], [[[10, 10], [14, 10], [14, 14], [10, 14], [10, 10]]]] };
    expect(interiorPoint(multi)).toEqual([12, 12]);
  });

  it('is null for a polygon with no inside', () => {
    expect(interiorPoint({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [2, 0], [0, 0]]] })).toBeNull();
  });
});
