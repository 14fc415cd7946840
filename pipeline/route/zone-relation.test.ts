import { bboxClip, featureCollection, intersect } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { bboxOf } from '../../geo/bbox.js';
import { asClipperWrites } from './clipper-order.js';
import { rng, star, starPolygon } from '../../geo/kernels/testing/random-rings.js';
import { preparePolygon, relateToZone } from './zone-relation.js';

const feature = (geometry: Polygon | MultiPolygon): Feature<Polygon | MultiPolygon> => ({ type: 'Feature', properties: {}, geometry });

/** Shoelace area in degrees², holes subtracted: enough to compare turf's result with the polygon. */
function planarArea(geom: Polygon | MultiPolygon): number {
  const polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates;
  let total = 0;
  for (const rings of polys) {
    rings.forEach((ring, i) => {
      let a = 0;
      for (let k = 0, j = ring.length - 1; k < ring.length; j = k++) a += ring[j][0] * ring[k][1] - ring[k][0] * ring[j][1];
      total += (i === 0 ? 1 : -1) * Math.abs(a / 2);
    });
  }
  return total;
}

/** The zone as overlay.ts hands it to turf: clipped to the polygon's box. */
function clippedTo(zone: Polygon | MultiPolygon, poly: Polygon): Polygon | MultiPolygon {
  return bboxClip(zone, bboxOf(poly)).geometry as Polygon | MultiPolygon;
}

function coordsOf(g: Polygon | MultiPolygon): Position[][][] {
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
}

describe('relateToZone', () => {
  it('agrees with turf on random polygons and zones (holes, multipolygons, crossing, containing, apart)', () => {
    const rand = rng(16);
    const tally = { inside: 0, outside: 0, unknown: 0, sameAsTurf: 0 };
    for (let c = 0; c < 400; c++) {
      const cx = 117 + rand() * 0.01;
      const cy = 36.6 + rand() * 0.01;
      const poly: Polygon = { type: 'Polygon', coordinates: starPolygon(rand, cx, cy, 0.002, rand() < 0.3) };
      // Zones around the polygon: bigger, smaller, offset; some with holes, some in two parts.
      const small = rand() < 0.4; // small zones often sit in the polygon's box without meeting it
      const zx = cx + (rand() - 0.5) * (small ? 0.005 : 0.008);
      const zy = cy + (rand() - 0.5) * (small ? 0.005 : 0.008);
      const part = starPolygon(rand, zx, zy, small ? 0.0003 + rand() * 0.0007 : 0.001 + rand() * 0.012, rand() < 0.4);
      const zone: Polygon | MultiPolygon = rand() < 0.3
        ? { type: 'MultiPolygon', coordinates: [part, starPolygon(rand, cx + (rand() - 0.5) * 0.01, cy + (rand() - 0.5) * 0.01, 0.002, false)] }
        : { type: 'Polygon', coordinates: part };
      const clipped = clippedTo(zone, poly);
      const polys = coordsOf(clipped);
      if (!polys.some((p) => p.length > 0)) continue; // overlay.ts stops before: nothing in the box
      const relation = relateToZone(preparePolygon(poly.coordinates, bboxOf(poly)), polys);
      tally[relation]++;
      if (relation === 'unknown') continue;
      const turf = intersect(featureCollection([feature(poly), feature(clipped)]));
      if (relation === 'outside') {
        expect(turf, `case ${c}`).toBeNull();
      } else {
        expect(turf, `case ${c}`).not.toBeNull();
        expect(planarArea(turf!.geometry)).toBeCloseTo(planarArea(poly), 12);
        const written = asClipperWrites(poly.coordinates);
        if (written) {
          // The copy the overlay takes instead of turf's result: the same numbers in the same order.
          expect(turf!.geometry).toEqual({ type: 'Polygon', coordinates: written });
          tally.sameAsTurf++;
        }
      }
    }
    // The fast path must actually decide a good share of the cases (else it silently went dead).
    expect(tally.inside).toBeGreaterThan(20);
    expect(tally.outside).toBeGreaterThan(20);
    expect(tally.unknown).toBeGreaterThan(20);
    expect(tally.sameAsTurf).toBeGreaterThan(tally.inside * 0.9);
  });

  it('leaves touching edges, shared vertices and a zone edge through a vertex to turf', () => {
    const rand = rng(7);
    const poly: Polygon = { type: 'Polygon', coordinates: [star(rand, 117, 36.6, 0.001, 0.002, 12)] };
    const prepared = preparePolygon(poly.coordinates, bboxOf(poly));
    const [a, b] = poly.coordinates[0];
    // Outside, sharing the edge a–b (apex on its right, the polygon being counter-clockwise on its left).
    const mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
    const apex = [mx + (b[1] - a[1]), my - (b[0] - a[0])];
    const sharesEdge: Position[][] = [[b, a, apex, b]];
    // Outside, touching at vertex a only.
    const touchesVertex: Position[][] = [[a, [a[0] + 0.001, a[1] - 0.003], [a[0] - 0.001, a[1] - 0.003], a]];
    for (const zone of [sharesEdge, touchesVertex]) {
      const clipped = clippedTo({ type: 'Polygon', coordinates: zone }, poly);
      expect(relateToZone(prepared, coordsOf(clipped))).toBe('unknown');
      expect(intersect(featureCollection([feature(poly), feature(clipped)]))).toBeNull();
    }
  });

  it('decides a polygon inside a zone hole (outside) and inside a zone around the hole (inside)', () => {
    const rand = rng(3);
    const poly: Polygon = { type: 'Polygon', coordinates: [star(rand, 117, 36.6, 0.0005, 0.001, 10)] };
    const prepared = preparePolygon(poly.coordinates, bboxOf(poly));
    const outer = star(rand, 117, 36.6, 0.02, 0.03, 20);
    const hole = star(rand, 117, 36.6, 0.005, 0.006, 8, true);
    const inHole: Polygon = { type: 'Polygon', coordinates: [outer, hole] };
    const holeElsewhere: Polygon = { type: 'Polygon', coordinates: [outer, star(rand, 117.015, 36.6, 0.001, 0.002, 8, true)] };
    expect(relateToZone(prepared, coordsOf(clippedTo(inHole, poly)))).toBe('outside');
    expect(relateToZone(prepared, coordsOf(clippedTo(holeElsewhere, poly)))).toBe('inside');
    // Unclipped zones work the same way.
    expect(relateToZone(prepared, coordsOf(inHole))).toBe('outside');
    expect(relateToZone(prepared, coordsOf(holeElsewhere))).toBe('inside');
  });

  it('says unknown for a zone hole inside the polygon, for NaN and for short rings', () => {
    const rand = rng(5);
    const poly: Polygon = { type: 'Polygon', coordinates: [star(rand, 117, 36.6, 0.008, 0.01, 16)] };
    const prepared = preparePolygon(poly.coordinates, bboxOf(poly));
    const zone: Polygon = { type: 'Polygon', coordinates: [star(rand, 117, 36.6, 0.05, 0.06, 12), star(rand, 117, 36.6, 0.001, 0.002, 6, true)] };
    expect(relateToZone(prepared, coordsOf(zone))).toBe('unknown');
    const [p0, p1, p2] = poly.coordinates[0];
    expect(relateToZone(prepared, [[[p0, [Number.NaN, p1[1]], p2, p0]]])).toBe('unknown');
    expect(relateToZone(prepared, [[[p0, p1, p0]]])).toBe('unknown');
    expect(relateToZone(prepared, [[]])).toBe('unknown');
  });
});

describe('asClipperWrites', () => {
  it('writes random polygons, with and without holes, exactly as turf returns them whole', () => {
    const rand = rng(11);
    let written = 0;
    for (let c = 0; c < 200; c++) {
      const rings = starPolygon(rand, 117 + rand(), 36 + rand(), 0.001 + rand() * 0.01, rand() < 0.5);
      if (rand() < 0.5) rings.forEach((r) => r.reverse()); // either orientation in
      if (rand() < 0.3) rings[0] = [...rings[0].slice(3, -1), ...rings[0].slice(0, 4)]; // another start vertex
      const poly: Polygon = { type: 'Polygon', coordinates: rings };
      const [x0, y0, x1, y1] = bboxOf(poly);
      const cover: Polygon = { type: 'Polygon', coordinates: [[[x0 - 1, y0 - 1], [x1 + 1, y0 - 1], [x1 + 1, y1 + 1], [x0 - 1, y1 + 1], [x0 - 1, y0 - 1]]] };
      const turf = intersect(featureCollection([feature(poly), feature(cover)]));
      const mine = asClipperWrites(rings);
      if (mine === null) continue;
      written++;
      expect(turf!.geometry, `case ${c}`).toEqual({ type: 'Polygon', coordinates: mine });
    }
    expect(written).toBeGreaterThan(190);
  });

  it('declines polygons turf would rewrite: a repeated vertex, a vertex that does not turn, a hole touching the shell', () => {
    const sq = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]];
    expect(asClipperWrites([sq])).not.toBeNull();
    expect(asClipperWrites([[[0, 0], [0.5, 0], [1, 0], [1, 1], [0, 1], [0, 0]]])).toBeNull(); // (0.5, 0) is on a straight edge
    expect(asClipperWrites([[[0, 0], [1, 0], [1, 1], [0.5, 0.5], [1, 1], [0, 1], [0, 0]]])).toBeNull(); // repeats (1, 1)
    expect(asClipperWrites([sq, [[0, 0.5], [0.5, 0.25], [0.5, 0.75], [0, 0.5]]])).toBeNull(); // hole vertex on the shell
    expect(asClipperWrites([[[0, 0], [1, 0], [1, 1], [0, 0]].slice(0, 3)])).toBeNull(); // not a closed ring of 4
  });
});
