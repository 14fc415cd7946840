import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { areaM2 } from './area.js';
import { transformer } from './crs.js';

/** A square of `side` metres with its south-west corner at (e, n) in a UTM CRS, as a lon/lat polygon. */
function utmSquare(crs: string, e: number, n: number, side: number): Polygon {
  const toLonLat = transformer(crs, 'EPSG:4326');
  const ring = [[e, n], [e + side, n], [e + side, n + side], [e, n + side], [e, n]].map(([x, y]) => toLonLat(x, y));
  return { type: 'Polygon', coordinates: [ring] };
}

/** Grid area in a UTM CRS is the true area scaled by k², k = 0.9996 at the central meridian. */
const UTM_K2 = 0.9996 * 0.9996;

describe('areaM2', () => {
  it('measures a 100 m UTM square near Jinan as 10000 m² (±0.5 %)', () => {
    const sq = utmSquare('EPSG:32650', 500000, 4060000, 100);
    expect(areaM2(sq)).toBeGreaterThan(10000 * 0.995);
    expect(areaM2(sq)).toBeLessThan(10000 * 1.005);
    expect(areaM2(sq) * UTM_K2).toBeCloseTo(10000, -1);
  });

  it('stays right at 70°N where a degree of longitude is a third of one at the equator', () => {
    const sq = utmSquare('EPSG:32633', 500000, 7770000, 100);
    const a = areaM2(sq);
    expect(a).toBeGreaterThan(10000 * 0.995);
    expect(a).toBeLessThan(10000 * 1.005);
    // Measuring in "degrees × 111 km" would be off by about 1/cos(70°) ≈ 2.9×.
    const ring = sq.coordinates[0];
    const naive = Math.abs(ring[1][0] - ring[0][0]) * 111320 * Math.abs(ring[2][1] - ring[1][1]) * 110574;
    expect(naive / a).toBeGreaterThan(2.5);
  });

  it('gives the ellipsoidal area of a 1° cell at the equator (≈ 12 308 km²)', () => {
    const cell: Polygon = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]] };
    expect(areaM2(cell) / 1e6).toBeGreaterThan(12300);
    expect(areaM2(cell) / 1e6).toBeLessThan(12320);
  });

  it('subtracts holes and sums multipolygon parts, whatever the ring orientation', () => {
    const outer = utmSquare('EPSG:32650', 500000, 4060000, 100).coordinates[0];
    const hole = utmSquare('EPSG:32650', 500025, 4060025, 50).coordinates[0];
    const withHole = areaM2({ type: 'Polygon', coordinates: [outer, hole] });
    const holeReversed = areaM2({ type: 'Polygon', coordinates: [outer, [...hole].reverse()] });
    expect(withHole * UTM_K2).toBeCloseTo(7500, -1);
    expect(holeReversed).toBeCloseTo(withHole, 6);
    const second = utmSquare('EPSG:32650', 501000, 4061000, 100).coordinates;
    const multi = areaM2({ type: 'MultiPolygon', coordinates: [[outer, hole], second] });
    expect(multi * UTM_K2).toBeCloseTo(17500, -1);
  });

  it('returns 0 for empty and degenerate rings', () => {
    expect(areaM2({ type: 'Polygon', coordinates: [] })).toBe(0);
    expect(areaM2({ type: 'MultiPolygon', coordinates: [] })).toBe(0);
    expect(areaM2({ type: 'Polygon', coordinates: [[[117, 36], [117.001, 36], [117, 36]]] })).toBe(0);
  });
});
