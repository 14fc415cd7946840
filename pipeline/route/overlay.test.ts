import { bboxClip, featureCollection, intersect, union } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { areaM2 } from '../../geo/area.js';
import type { LandUseParcel, Zone } from '../model.js';
import { overlayPolygon } from './overlay.js';
import { rng, starPolygon } from '../../geo/kernels/testing/random-rings.js';
import { rect } from './testing/test-geometry.js';
import { bboxOf, ZoneIndex } from './zone-index.js';

function zone(id: string, kind: Zone['kind'], geometry: Polygon, extra: Partial<Zone> = {}): Zone {
  return { id, kind, geometry, source: 'test', ...extra };
}

// The change polygon: 100 m × 100 m at the origin.
const poly = rect(0, 0, 100, 100);

describe('overlayPolygon', () => {
  it('measures per-kind overlap in m² and share of the polygon', () => {
    const index = new ZoneIndex([
      zone('w1', 'drinking_water_source', rect(-500, -500, 60, 500)), // 60 % of the polygon
      zone('f1', 'forest', rect(60, 0, 200, 50)), // 40 × 50 = 20 %
      zone('far', 'mining', rect(5000, 5000, 5100, 5100)),
    ]);
    const r = overlayPolygon(poly, index);
    expect(r.areaM2).toBeGreaterThan(9990);
    expect(r.overlaps.drinking_water_source!.share).toBeCloseTo(0.6, 3);
    expect(r.overlaps.drinking_water_source!.m2).toBeCloseTo(0.6 * r.areaM2, 0);
    expect(r.overlaps.forest!.share).toBeCloseTo(0.2, 3);
    expect(r.overlaps.mining).toBeUndefined();
    expect(r.failedZoneIds).toEqual([]);
  });

  it('does not double count overlapping zones of one kind', () => {
    const index = new ZoneIndex([
      zone('f1', 'forest', rect(0, 0, 60, 100)),
      zone('f2', 'forest', rect(40, 0, 80, 100)), // overlaps f1 over 40..60
      zone('f3', 'forest', rect(-10, -10, 110, 110)), // covers everything: union is the whole polygon
    ]);
    expect(overlayPolygon(poly, new ZoneIndex(index.items.slice(0, 2))).overlaps.forest!.share).toBeCloseTo(0.8, 3);
    expect(overlayPolygon(poly, index).overlaps.forest!.share).toBeCloseTo(1, 5);
  });

  it('takes the district with the largest overlap, and snaps to a near one just outside', () => {
    const d1 = zone('d1', 'district', rect(-1000, -1000, 30, 1000), { code: '370102', name: '历下区' });
    const d2 = zone('d2', 'district', rect(30, -1000, 2000, 1000), { code: '370103', name: '市中区' });
    const r = overlayPolygon(poly, new ZoneIndex([d1, d2]));
    expect(r.district).toEqual({ code: '370103', name: '市中区' });
    expect(r.overlaps.district).toBeUndefined();
    // 300 m east of d2's edge at x = 2000: snapped; 3 km away: none.
    expect(overlayPolygon(rect(2250, 0, 2350, 100), new ZoneIndex([d1, d2])).district?.code).toBe('370103');
    expect(overlayPolygon(rect(5000, 0, 5100, 100), new ZoneIndex([d1, d2])).district).toBeNull();
  });

  it('takes the township (乡镇/街道) with the largest overlap, none outside every township (no snapping), and keeps townships out of the overlaps', () => {
    const d = zone('d', 'district', rect(-5000, -5000, 5000, 5000), { code: '370112', name: '历城区' });
    const t1 = zone('t1', 'township', rect(-1000, -1000, 40, 1000), { code: '370112001', name: '王家镇' });
    const t2 = zone('t2', 'township', rect(40, -1000, 2000, 1000), { code: '370112002', name: '城关街道' });
    const r = overlayPolygon(poly, new ZoneIndex([d, t1, t2]));
    expect(r.township).toEqual({ code: '370112002', name: '城关街道' }); // 60 % against 40 %
    expect(r.district?.code).toBe('370112');
    expect(r.overlaps).toEqual({});
    // 250 m east of t2 (a district would snap to it): no township.
    expect(overlayPolygon(rect(2250, 0, 2350, 100), new ZoneIndex([d, t1, t2])).township).toBeNull();
    // No township layer at all: none, as before.
    expect(overlayPolygon(poly, new ZoneIndex([d])).township).toBeNull();
    // A layer of names only gives the name and no code.
    expect(overlayPolygon(poly, new ZoneIndex([zone('t3', 'township', rect(-10, -10, 110, 110), { name: '无码街道' })])).township).toEqual({ code: null, name: '无码街道' });
  });

  it('takes the village (村/社区) with the largest overlap, none outside every village (no snapping), apart from the township and out of the overlaps', () => {
    const d = zone('d', 'district', rect(-5000, -5000, 5000, 5000), { code: '370112', name: '历城区' });
    const t = zone('t', 'township', rect(-5000, -5000, 5000, 5000), { code: '370112001', name: '王家镇' });
    const v1 = zone('v1', 'village', rect(-1000, -1000, 70, 1000), { code: '370112001201', name: '东村' });
    const v2 = zone('v2', 'village', rect(70, -1000, 2000, 1000), { code: '370112001202', name: '西村' });
    // A village planning zone (村庄规划) is a routing zone, not a village.
    const plan = zone('p', 'village_planning', rect(-10, -10, 110, 110));
    const r = overlayPolygon(poly, new ZoneIndex([d, t, v2, v1, plan]));
    expect(r.village).toEqual({ code: '370112001201', name: '东村' }); // 70 % against 30 %
    expect(r.township).toEqual({ code: '370112001', name: '王家镇' });
    expect(Object.keys(r.overlaps)).toEqual(['village_planning']);
    // 250 m east of v2, still in the township: no village.
    const east = overlayPolygon(rect(2250, 0, 2350, 100), new ZoneIndex([d, t, v1, v2]));
    expect([east.village, east.township?.name]).toEqual([null, '王家镇']);
    // No village layer at all: none.
    expect(overlayPolygon(poly, new ZoneIndex([d, t])).village).toBeNull();
    // A layer of names only gives the name and no code.
    expect(overlayPolygon(poly, new ZoneIndex([zone('v3', 'village', rect(-10, -10, 110, 110), { name: '无码村' })])).village).toEqual({ code: null, name: '无码村' });
  });

  it('takes the land class before from the parcel class covering most of the polygon', () => {
    const parcels = new ZoneIndex<LandUseParcel>([
      { dlbm: '0103', geometry: rect(-100, -100, 30, 200) },
      { dlbm: '0301', geometry: rect(30, -100, 70, 200) },
      { dlbm: '0301', geometry: rect(70, -100, 200, 200) }, // two 0301 parcels together: 70 %
    ]);
    expect(overlayPolygon(poly, new ZoneIndex([]), parcels).landClassBefore).toBe('0301');
    expect(overlayPolygon(poly, new ZoneIndex([])).landClassBefore).toBeNull();
  });

  it('skips a zone whose geometry turf cannot intersect, and names it', () => {
    const [a, , c] = poly.coordinates[0];
    // A NaN vertex inside the polygon's box: turf throws "degenerate segment".
    const broken = zone('broken', 'forest', { type: 'Polygon', coordinates: [[a, [Number.NaN, a[1]], c, a]] });
    const r = overlayPolygon(poly, new ZoneIndex([broken, zone('ok', 'farmland', rect(-10, -10, 50, 110))]));
    expect(r.failedZoneIds).toEqual(['broken']);
    expect(r.overlaps.forest).toBeUndefined();
    expect(r.overlaps.farmland!.share).toBeCloseTo(0.5, 3);
  });
});

/**
 * The overlay as it was before its fast paths: turf's intersect for every zone whose clipped part
 * is not the whole box, turf's union per kind. The fast paths must give exactly these numbers.
 */
function turfOnlyOverlay(geom: Polygon, zones: ZoneIndex<Zone>): { overlaps: Record<string, { m2: number; share: number }>; district: string | null } {
  type Piece = Feature<Polygon | MultiPolygon>;
  const asF = (g: Polygon | MultiPolygon): Piece => ({ type: 'Feature', properties: {}, geometry: g });
  const bbox = bboxOf(geom);
  const polyArea = areaM2(geom);
  const whole = asF(geom);
  const piecesByKind = new Map<string, Piece[]>();
  let best: { id: string; m2: number } | null = null;
  for (const zone of zones.candidates(bbox)) {
    const clipped = bboxClip(zone.geometry, bbox).geometry as Polygon | MultiPolygon;
    const polys = clipped.type === 'Polygon' ? [clipped.coordinates] : clipped.coordinates;
    const rings = polys.filter((p) => p.length > 0 && p[0].length >= 4);
    if (rings.length === 0) continue;
    let piece: Piece | null;
    const [x0, y0, x1, y1] = bbox;
    if (rings.length === 1 && rings[0].length === 1) {
      const r = rings[0][0];
      let a = 0;
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] - r[i][0]) * (r[j][1] + r[i][1]);
      const box = (x1 - x0) * (y1 - y0);
      piece = box > 0 && Math.abs(Math.abs(a / 2) - box) <= box * 1e-9 ? whole : (intersect(featureCollection([whole, asF(clipped)])) as Piece | null);
    } else {
      piece = intersect(featureCollection([whole, asF(clipped)])) as Piece | null;
    }
    if (!piece) continue;
    if (zone.kind === 'district') {
      const m2 = areaM2(piece.geometry);
      if (m2 > 0 && (!best || m2 > best.m2)) best = { id: zone.id, m2 };
      continue;
    }
    piecesByKind.set(zone.kind, [...(piecesByKind.get(zone.kind) ?? []), piece]);
  }
  const overlaps: Record<string, { m2: number; share: number }> = {};
  for (const [kind, pieces] of piecesByKind) {
    const u = pieces.length === 1 ? pieces[0] : (union(featureCollection(pieces)) as Piece | null);
    const m2 = Math.min(polyArea, u ? areaM2(u.geometry) : 0);
    if (m2 > 0) overlaps[kind] = { m2, share: Math.min(1, m2 / polyArea) };
  }
  return { overlaps, district: best?.id ?? null };
}

describe('overlayPolygon fast paths', () => {
  it('give exactly the numbers of turf on every zone: random polygons over tiled, nested, holed and overlapping zones', () => {
    const rand = rng(2026);
    const zones: Zone[] = [];
    // Farmland tiles sharing edges (polygons cross them), forest blobs that overlap one another, some
    // with holes, and districts: two halves sharing an edge.
    const tile = 0.004;
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 6; j++) {
        const x = 117 + i * tile, y = 36.6 + j * tile;
        zones.push(zone(`t${i}.${j}`, 'farmland', { type: 'Polygon', coordinates: [[[x, y], [x + tile, y], [x + tile, y + tile], [x, y + tile], [x, y]]] }));
      }
    }
    for (let k = 0; k < 25; k++) {
      zones.push(zone(`f${k}`, 'forest', { type: 'Polygon', coordinates: starPolygon(rand, 117 + rand() * 0.024, 36.6 + rand() * 0.024, 0.001 + rand() * 0.006, rand() < 0.3) }));
    }
    zones.push(zone('dW', 'district', { type: 'Polygon', coordinates: [[[116.9, 36.5], [117.012, 36.5], [117.012, 36.7], [116.9, 36.7], [116.9, 36.5]]] }));
    zones.push(zone('dE', 'district', { type: 'Polygon', coordinates: [[[117.012, 36.5], [117.1, 36.5], [117.1, 36.7], [117.012, 36.7], [117.012, 36.5]]] }));
    const index = new ZoneIndex(zones);
    let crossing = 0;
    for (let c = 0; c < 150; c++) {
      const poly: Polygon = { type: 'Polygon', coordinates: starPolygon(rand, 117 + rand() * 0.024, 36.6 + rand() * 0.024, 0.0003 + rand() * 0.0015, rand() < 0.2) };
      const fast = overlayPolygon(poly, index);
      const ref = turfOnlyOverlay(poly, index);
      expect(fast.overlaps, `polygon ${c}`).toEqual(ref.overlaps);
      expect(fast.district?.code, `polygon ${c}`).toBe(ref.district ?? undefined);
      if (Object.values(ref.overlaps).some((o) => o.share < 1)) crossing++;
    }
    expect(crossing).toBeGreaterThan(30); // the cases are not all trivial
  });
});
