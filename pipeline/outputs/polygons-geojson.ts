/**
 * Monitoring polygons as an RFC 7946 GeoJSON FeatureCollection: lon/lat EPSG:4326 (CGCS2000 at the
 * metre level), coordinates rounded to 1e-7° (≈ 1 cm, below any imagery's resolution), outer rings
 * counter-clockwise and holes clockwise, snake_case properties for GIS tools and bureaus' systems.
 */
import type { Feature, FeatureCollection, Polygon, Position } from 'geojson';
import { ringArea } from '../../geo/kernels/ring.js';
import { atomicWrite } from './ledger.js';
import type { BureauId, ZoneKind } from '../../schemas/vocabulary.js';
import type { MonitoringPolygon, Overlap, PolygonProperties } from '../../schemas/polygon.js';

const round7 = (v: number) => Math.round(v * 1e7) / 1e7;
const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

function cleanRing(r: Position[], ccw: boolean): Position[] {
  const out: Position[] = [];
  for (const p of r) {
    const q: Position = [round7(p[0]), round7(p[1])];
    const last = out[out.length - 1];
    // Rounding can merge neighbouring vertices; repeated positions are not allowed by RFC 7946 validators.
    if (!last || last[0] !== q[0] || last[1] !== q[1]) out.push(q);
  }
  if (out.length > 1) {
    const [a, b] = [out[0], out[out.length - 1]];
    if (a[0] !== b[0] || a[1] !== b[1]) out.push([a[0], a[1]]);
  }
  return ringArea(out) > 0 === ccw ? out : out.reverse();
}

/** RFC 7946 polygon: rounded, outer ring CCW, holes CW. */
export function rfc7946Polygon(g: Polygon): Polygon {
  return { type: 'Polygon', coordinates: g.coordinates.map((r, i) => cleanRing(r, i === 0)) };
}

/** One monitoring polygon as a GeoJSON Feature (id = its code). */
export function polygonFeature(p: MonitoringPolygon, bureauName: (id: BureauId) => string): Feature<Polygon, PolygonProperties> {
  return {
    type: 'Feature',
    id: p.code,
    geometry: rfc7946Polygon(p.geometry),
    properties: {
      code: p.code,
      epoch: p.epoch,
      district_code: p.districtCode,
      district_name: p.districtName,
      township_code: p.townshipCode,
      township_name: p.townshipName,
      village_code: p.villageCode,
      village_name: p.villageName,
      lead_bureau: p.leadBureau,
      lead_bureau_name: bureauName(p.leadBureau),
      co_bureaus: [...p.coBureaus],
      routing_reason: p.routingReason,
      rule_id: p.ruleId,
      priority: p.priority,
      priority_reasons: [...p.priorityReasons],
      area_m2: round(p.areaM2, 2),
      area_mu: round(p.areaMu, 4),
      centroid_lon: round7(p.centroid[0]),
      centroid_lat: round7(p.centroid[1]),
      change_type: p.changeType,
      change_class: p.changeClass,
      confidence: round(p.confidence, 4),
      reasons: [...p.reasons],
      before_date: p.beforeDate,
      after_date: p.afterDate,
      land_class_before: p.landClassBefore,
      overlaps: Object.fromEntries(
        Object.entries(p.overlaps).map(([k, o]) => [k, { m2: round(o!.m2, 2), share: round(o!.share, 4) }]),
      ) as Partial<Record<ZoneKind, Overlap>>,
      previous_code: p.previousCode,
      detector_name: p.detector.name,
      detector_version: p.detector.version,
      detector_params_hash: p.detector.paramsHash,
      tile_id: p.tileId,
    },
  };
}

/** Write polygons as one FeatureCollection (atomically: a reader never sees half a file). */
export async function writePolygonsGeoJson(path: string, polys: MonitoringPolygon[], bureauName: (id: BureauId) => string): Promise<void> {
  const fc: FeatureCollection<Polygon, PolygonProperties> = { type: 'FeatureCollection', features: polys.map((p) => polygonFeature(p, bureauName)) };
  await atomicWrite(path, JSON.stringify(fc));
}
