import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import type { LandUseParcel, Zone } from '../model.js';
import { overlayPolygon } from './overlay.js';
import { rect } from './testing/test-geometry.js';
import { ZoneIndex } from './zone-index.js';

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
