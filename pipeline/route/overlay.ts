/**
 * Overlay one change polygon with the zone layers: exact intersections (turf, lon/lat) with the
 * zones whose bounding boxes it touches, measured in m² with `areaM2` (local equal-area projection).
 */
import { bboxClip } from '@turf/bbox-clip';
import { centroid } from '@turf/centroid';
import { featureCollection, polygon as turfPolygon } from '@turf/helpers';
import { intersect } from '@turf/intersect';
import { pointToPolygonDistance } from '@turf/point-to-polygon-distance';
import { union } from '@turf/union';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { areaM2 } from '../../geo/area.js';
import type { LandUseParcel, Zone } from '../model.js';
import type { Overlap } from '../../schemas/polygon.js';
import type { ZoneKind } from '../../schemas/vocabulary.js';
import { bboxOf } from './zone-index.js';
import type { BBox, ZoneIndex } from './zone-index.js';
import { asClipperWrites } from './clipper-order.js';
import { preparePolygon, relateToZone, type PreparedPolygon } from './zone-relation.js';

/** How far (m) outside every district a polygon may lie and still take the nearest one (simplified boundaries). */
export const DISTRICT_SNAP_M = 1000;

export interface OverlayResult {
  /** Area of the polygon itself, m². */
  areaM2: number;
  /** Per zone kind (districts, townships and villages excluded): m² inside the union of that kind's zones, and share of the polygon. */
  overlaps: Partial<Record<ZoneKind, Overlap>>;
  /**
   * The district zone with the largest overlap; when none overlaps, the nearest district within
   * DISTRICT_SNAP_M of the polygon's centroid; else null (the caller decides, e.g. report it unassigned).
   */
  district: { code: string; name: string } | null;
  /**
   * The township (乡镇/街道) zone with the largest overlap, null when the polygon overlaps none (no
   * township layer, or outside it: no snapping, a township layer is the 三调 boundary, not a sketch).
   * Code null when the layer gives only names.
   */
  township: { code: string | null; name: string } | null;
  /** The village (村/社区) zone with the largest overlap, as the township: none outside every village. */
  village: { code: string | null; name: string } | null;
  /** 三调 dlbm with the largest overlap among land-use parcels; null without parcels or overlap. */
  landClassBefore: string | null;
  /** Ids of zones (or 'parcel#i') whose intersection turf could not compute (bad geometry); they were skipped. */
  failedZoneIds: string[];
}

type Piece = Feature<Polygon | MultiPolygon>;

function asFeature(geom: Polygon | MultiPolygon): Piece {
  return { type: 'Feature', properties: {}, geometry: geom };
}

/** The change polygon being overlaid, with what is worked out once for all its zones. */
interface Subject {
  feature: Piece;
  bbox: BBox;
  /** areaM2 of the polygon. */
  m2: number;
  prepared: PreparedPolygon;
  /**
   * The polygon as turf's intersect returns it whole (clipper-order.ts) and its area; computed when
   * first needed, null when it cannot be written without turf.
   */
  whole?: { piece: Piece; m2: number } | null;
}

/** Intersection of two geometries, null when disjoint; throws on geometry turf cannot handle. */
function intersection(a: Piece, b: Piece): Piece | null {
  return intersect(featureCollection([a, b])) as Piece | null;
}

function wholeOf(s: Subject): { piece: Piece; m2: number } | null {
  if (s.whole === undefined) {
    const rings = asClipperWrites(s.feature.geometry.coordinates as Position[][]);
    const piece = rings ? asFeature({ type: 'Polygon', coordinates: rings }) : null;
    s.whole = piece ? { piece, m2: areaM2(piece.geometry) } : null;
  }
  return s.whole;
}

/** Area of a piece of the subject, reusing the areas already measured. */
function pieceArea(piece: Piece, s: Subject): number {
  if (piece === s.feature) return s.m2;
  if (s.whole && piece === s.whole.piece) return s.whole.m2;
  return areaM2(piece.geometry);
}

/**
 * Intersection of a small polygon with a (possibly huge) zone. The zone is first clipped to the
 * polygon's bounding box — linear and cheap — so the exact clipper only sees a few vertices;
 * a zone that covers the whole box contains the polygon, which is then its own intersection.
 * This turns ~4 ms per polygon against district-sized zones into a fraction of that.
 * Then a polygon that lies wholly outside the clipped zone has no piece, and one wholly inside it
 * is its own piece, written as turf would write it (zone-relation.ts decides either exactly or
 * not at all; most pairs are one or the other): only polygons whose outline meets the zone's
 * reach the exact clipper, and every result is the one turf gives.
 */
function zoneIntersection(s: Subject, zone: Polygon | MultiPolygon): Piece | null {
  const { bbox } = s;
  const clipped = bboxClip(zone, bbox).geometry as Polygon | MultiPolygon;
  const polys = clipped.type === 'Polygon' ? [clipped.coordinates] : clipped.coordinates;
  const rings = polys.filter((p) => p.length > 0 && p[0].length >= 4);
  if (rings.length === 0) return null;
  if (rings.length === 1 && rings[0].length === 1 && coversBox(rings[0][0], bbox)) return s.feature;
  const relation = relateToZone(s.prepared, polys);
  if (relation === 'outside') return null;
  if (relation === 'inside') {
    const whole = wholeOf(s);
    if (whole) return whole.piece;
  }
  try {
    return intersection(s.feature, asFeature(clipped));
  } catch {
    // Clipping can leave slivers along the box edge that the exact clipper rejects: use the whole zone.
    return intersection(s.feature, asFeature(zone));
  }
}

function coversBox(ring: number[][], [x0, y0, x1, y1]: BBox): boolean {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  const box = (x1 - x0) * (y1 - y0);
  return box > 0 && Math.abs(Math.abs(a / 2) - box) <= box * 1e-9;
}

/** Area of the union of the subject's pieces, which may overlap one another (zones of one kind can overlap). */
function unionArea(pieces: Piece[], s: Subject): number {
  if (pieces.length === 1) return pieceArea(pieces[0], s);
  try {
    const u = union(featureCollection(pieces)) as Piece | null;
    return u ? areaM2(u.geometry) : 0;
  } catch {
    // Union failed on a degenerate sliver: the sum can only overcount, so cap it at the polygon's area.
    return Math.min(s.m2, pieces.reduce((sum, p) => sum + areaM2(p.geometry), 0));
  }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * Overlay `geom` (lon/lat) with every zone in `zones` and, optionally, the 三调 baseline parcels.
 * A zone whose intersection throws is skipped and named in `failedZoneIds`, so one broken zone
 * feature cannot stop a batch.
 */
export function overlayPolygon(geom: Polygon, zones: ZoneIndex<Zone>, landUse?: ZoneIndex<LandUseParcel>): OverlayResult {
  const polyArea = areaM2(geom);
  const bbox = bboxOf(geom);
  const s: Subject = { feature: asFeature(geom), bbox, m2: polyArea, prepared: preparePolygon(geom.coordinates, bbox) };
  const failedZoneIds: string[] = [];

  const piecesByKind = new Map<ZoneKind, Piece[]>();
  // The administrative units a polygon lies in: the one it overlaps most of each, not an overlap share.
  const best: Partial<Record<'district' | 'township' | 'village', { zone: Zone; m2: number }>> = {};
  for (const zone of zones.candidates(bbox)) {
    let piece: Piece | null;
    try {
      piece = zoneIntersection(s, zone.geometry);
    } catch {
      failedZoneIds.push(zone.id);
      continue;
    }
    if (!piece) continue;
    if (zone.kind === 'district' || zone.kind === 'township' || zone.kind === 'village') {
      const m2 = pieceArea(piece, s);
      const held = best[zone.kind];
      if (m2 > 0 && (!held || m2 > held.m2)) best[zone.kind] = { zone, m2 };
      continue;
    }
    const list = piecesByKind.get(zone.kind);
    if (list) list.push(piece);
    else piecesByKind.set(zone.kind, [piece]);
  }

  const overlaps: Partial<Record<ZoneKind, Overlap>> = {};
  for (const [kind, pieces] of piecesByKind) {
    const m2 = Math.min(polyArea, unionArea(pieces, s));
    if (m2 <= 0) continue;
    overlaps[kind] = { m2, share: polyArea > 0 ? clamp01(m2 / polyArea) : 0 };
  }

  const districtZone = best.district?.zone ?? nearestDistrict(geom, zones);
  const district = districtZone ? { code: districtZone.code ?? districtZone.id, name: districtZone.name ?? '' } : null;
  const unit = (z: Zone | undefined) => (z ? { code: z.code ?? null, name: z.name ?? z.code ?? '' } : null);

  return { areaM2: polyArea, overlaps, district, township: unit(best.township?.zone), village: unit(best.village?.zone), landClassBefore: landUse ? dominantLandClass(s, landUse, failedZoneIds) : null, failedZoneIds };
}

function nearestDistrict(geom: Polygon, zones: ZoneIndex<Zone>): Zone | null {
  const c = centroid(turfPolygon(geom.coordinates));
  const [lon, lat] = c.geometry.coordinates;
  // Generous degree margin (1 km is < 0.0125° of longitude up to ~45° latitude); exact distance decides.
  const pad = (DISTRICT_SNAP_M / 111_000) * 1.5 / Math.max(0.2, Math.cos((lat * Math.PI) / 180));
  const box: BBox = [lon - pad, lat - pad, lon + pad, lat + pad];
  let best: Zone | null = null;
  let bestM = Infinity;
  for (const zone of zones.candidates(box, (z) => z.kind === 'district')) {
    let d: number;
    try {
      d = pointToPolygonDistance(c, zone.geometry, { units: 'meters' });
    } catch {
      continue;
    }
    const outside = Math.max(0, d); // negative = inside (cannot happen here, but harmless)
    if (outside <= DISTRICT_SNAP_M && outside < bestM) {
      best = zone;
      bestM = outside;
    }
  }
  return best;
}

function dominantLandClass(s: Subject, parcels: ZoneIndex<LandUseParcel>, failed: string[]): string | null {
  const byClass = new Map<string, number>();
  for (const i of parcels.candidateIndices(s.bbox)) {
    const parcel = parcels.items[i];
    let piece: Piece | null;
    try {
      piece = zoneIntersection(s, parcel.geometry);
    } catch {
      failed.push(`parcel#${i}`);
      continue;
    }
    if (!piece) continue;
    byClass.set(parcel.dlbm, (byClass.get(parcel.dlbm) ?? 0) + pieceArea(piece, s));
  }
  let best: string | null = null;
  let bestM2 = 0;
  // Ties go to the smaller code so the result does not depend on parcel order.
  for (const [dlbm, m2] of byClass) {
    if (m2 > bestM2 || (m2 === bestM2 && best !== null && dlbm < best)) {
      best = dlbm;
      bestM2 = m2;
    }
  }
  return best;
}
