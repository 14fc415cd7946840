/**
 * Ground areas of lon/lat polygons, in square metres.
 *
 * Each geometry is projected into a Lambert azimuthal equal-area projection centred on it
 * (`localEqualAreaDef`, GRS80) and measured with the shoelace formula there. Equal-area means the
 * projected area equals the ellipsoidal area wherever the polygon lies; only the straight-edge
 * approximation remains, negligible for the tens-of-metres edges of change polygons and zones.
 * Never measure in degrees: a degree² shrinks with cos(latitude).
 */
import type { MultiPolygon, Position, Polygon } from 'geojson';
import proj4 from 'proj4';
import { bboxOf } from './bbox.js';
import { localEqualAreaDef } from './crs.js';
import { ringArea } from './kernels/ring.js';

const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';

/** proj4 converters keyed by the rounded centre; building one costs far more than one projected ring. */
const projections = new Map<string, proj4.Converter>();
const MAX_CACHED = 256;

/**
 * The centre is snapped to 0.25° so nearby polygons share a converter: the projection stays
 * equal-area at any distance, and within ~30 km of its centre edge bending is irrelevant.
 */
function projectionNear(lon: number, lat: number): proj4.Converter {
  const cLon = Math.round(lon * 4) / 4;
  const cLat = Math.max(-89.75, Math.min(89.75, Math.round(lat * 4) / 4));
  const key = `${cLon},${cLat}`;
  let conv = projections.get(key);
  if (!conv) {
    if (projections.size >= MAX_CACHED) projections.clear();
    conv = proj4(WGS84, localEqualAreaDef(cLon, cLat));
    projections.set(key, conv);
  }
  return conv;
}

/** Signed area of a lon/lat ring in projected m² (counter-clockwise positive). */
function ringAreaProjected(ring: Position[], conv: proj4.Converter): number {
  return ringArea(ring.map((p) => conv.forward([p[0], p[1]])));
}

function polygonRingsArea(rings: Position[][], conv: proj4.Converter): number {
  if (rings.length === 0) return 0;
  // Holes are subtracted by absolute value so ring orientation in the input does not matter.
  let a = Math.abs(ringAreaProjected(rings[0], conv));
  for (let i = 1; i < rings.length; i++) a -= Math.abs(ringAreaProjected(rings[i], conv));
  return Math.max(0, a);
}


/**
 * Area of a lon/lat (EPSG:4326 / 4490) Polygon or MultiPolygon in square metres (ellipsoidal, GRS80).
 * Holes are subtracted; empty or degenerate geometries give 0. Not valid across the antimeridian.
 */
export function areaM2(geom: Polygon | MultiPolygon): number {
  const polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates;
  const [minX, minY, maxX, maxY] = bboxOf(geom);
  if (!Number.isFinite(minX)) return 0;
  const conv = projectionNear((minX + maxX) / 2, (minY + maxY) / 2);
  let total = 0;
  for (const rings of polys) total += polygonRingsArea(rings, conv);
  return total;
}
