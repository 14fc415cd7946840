/**
 * Whether a change polygon lies wholly inside or wholly outside a zone, decided without the exact
 * clipper. Most pairs that the box clip leaves undecided do one or the other (bench scenes: 434 of
 * 631 at 4096², 2 781 of 3 770 at 10980²), and turf's `intersect` (polyclip-ts on bignumber.js)
 * costs 1-4 ms a pair for an answer that is then the polygon itself or nothing. Only pairs whose
 * boundaries meet or come close still go to turf.
 *
 * The reasoning, for a polygon P and a zone Z read the way polyclip-ts reads them (a point is in a
 * polygon when the winding number of its exterior ring is non-zero and that of every hole is zero; in
 * a multipolygon when in any of its polygons):
 *   1. if no edge of P meets an edge of Z, every ring of Z lies wholly inside P or wholly outside it;
 *   2. if moreover no ring of Z has a vertex inside P, Z's boundary does not enter P, so P — closed
 *      and connected — is all on one side of Z: any vertex of P says which.
 * (With Z clipped to P's bounding box, Z's edges along the box are the exception: see relateToZone.)
 * Every orientation sign used is either certain or the answer is 'unknown': a sign is trusted only
 * when the determinant exceeds 1e-9 of its terms' magnitude, far above double rounding (≤ 3.3e-16,
 * Shewchuk) and above polyclip's own inexactness (its intersection points are quotients to 20 decimal
 * places), so whatever is decided here is what polyclip decides, and every touching, collinear or
 * near-miss case is left to it. NaN and infinite coordinates also give 'unknown'.
 * Coordinates are lon/lat degrees (any planar x/y works the same).
 */
import type { Position } from 'geojson';
import type { BBox } from '../../geo/bbox.js';
import { orient, segmentsApart } from '../../geo/kernels/segments.js';

export type ZoneRelation = 'inside' | 'outside' | 'unknown';

/** A polygon's rings with its edges flattened once, for testing it against many zones. */
export interface PreparedPolygon {
  readonly rings: readonly Position[][];
  readonly bbox: BBox;
  /** Four numbers per edge (x0, y0, x1, y1), every ring's closing edge included. */
  readonly edges: Float64Array;
  /**
   * False when a ring has fewer than 4 positions, a coordinate is not finite or an edge lies along
   * the polygon's bounding box (where a clipped zone's box-side edges could coincide with it):
   * then every answer is 'unknown'.
   */
  readonly usable: boolean;
}

export function preparePolygon(rings: readonly Position[][], bbox: BBox): PreparedPolygon {
  let n = 0;
  let usable = rings.length > 0;
  for (const ring of rings) {
    n += ring.length;
    if (ring.length < 4 || !allFinite(ring)) usable = false;
  }
  const edges = new Float64Array(usable ? n * 4 : 0);
  let k = 0;
  if (usable) {
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const ax = ring[j][0], ay = ring[j][1], bx = ring[i][0], by = ring[i][1];
        if (ax === bx && ay === by) continue; // the closing repeat (or a repeated vertex): no edge
        if (onBoxSide(ax, ay, bx, by, bbox)) usable = false;
        edges[k++] = ax;
        edges[k++] = ay;
        edges[k++] = bx;
        edges[k++] = by;
      }
    }
  }
  return { rings, bbox, edges: edges.subarray(0, k), usable };
}

/** Whether segment a–b lies along one side of the box (both ends exactly on the same side's line). */
function onBoxSide(ax: number, ay: number, bx: number, by: number, [x0, y0, x1, y1]: BBox): boolean {
  return (ax === x0 && bx === x0) || (ax === x1 && bx === x1) || (ay === y0 && by === y0) || (ay === y1 && by === y1);
}

function onBoxBoundary(x: number, y: number, [x0, y0, x1, y1]: BBox): boolean {
  return x === x0 || x === x1 || y === y0 || y === y1;
}

function allFinite(ring: Position[]): boolean {
  for (const p of ring) if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) return false;
  return true;
}

/**
 * True only when no edge of `ring` meets an edge of the polygon, leaving out the ring's edges along
 * the polygon's box (`onBoxSide`): the box is the polygon's own, so such an edge can touch the
 * polygon's outline but never enter it, and touching does not change what the intersection is.
 */
function ringApart(poly: PreparedPolygon, ring: Position[]): boolean {
  const [px0, py0, px1, py1] = poly.bbox;
  const e = poly.edges;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const ax = ring[j][0], ay = ring[j][1], bx = ring[i][0], by = ring[i][1];
    const ex0 = ax < bx ? ax : bx, ex1 = ax < bx ? bx : ax;
    const ey0 = ay < by ? ay : by, ey1 = ay < by ? by : ay;
    // Exact box rejections: boxes that do not meet hold segments that do not meet (polyclip's first test too).
    if (ex1 < px0 || ex0 > px1 || ey1 < py0 || ey0 > py1) continue;
    if (onBoxSide(ax, ay, bx, by, poly.bbox)) continue;
    for (let k = 0; k < e.length; k += 4) {
      const cx = e[k], cy = e[k + 1], dx = e[k + 2], dy = e[k + 3];
      if ((cx < dx ? dx : cx) < ex0 || (cx < dx ? cx : dx) > ex1 || (cy < dy ? dy : cy) < ey0 || (cy < dy ? cy : dy) > ey1) continue;
      if (!segmentsApart(ax, ay, bx, by, cx, cy, dx, dy)) return false;
    }
  }
  return true;
}

/**
 * Winding number of `ring` (closed or not: the closing edge is implied, as polyclip implies it)
 * around (px, py); NaN when an edge that decides it passes too close to the point.
 */
function winding(ring: Position[], px: number, py: number): number {
  let w = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const ax = ring[j][0], ay = ring[j][1], bx = ring[i][0], by = ring[i][1];
    if (ay <= py) {
      if (by > py) {
        const s = orient(ax, ay, bx, by, px, py);
        if (s === 0) return NaN;
        if (s > 0) w++;
      }
    } else if (by <= py) {
      const s = orient(ax, ay, bx, by, px, py);
      if (s === 0) return NaN;
      if (s < 0) w--;
    }
  }
  return w;
}

/** Whether (px, py) is in the polygon (polyclip's reading), or null when too close to call. */
function polygonContains(rings: readonly Position[][], px: number, py: number): boolean | null {
  const outer = winding(rings[0], px, py);
  if (Number.isNaN(outer)) return null;
  if (outer === 0) return false;
  for (let h = 1; h < rings.length; h++) {
    const w = winding(rings[h], px, py);
    if (Number.isNaN(w)) return null;
    if (w !== 0) return false;
  }
  return true;
}

/**
 * Where polygon `poly` lies relative to the zone `zonePolys` (a Polygon's or MultiPolygon's
 * coordinates as passed to turf, normally the zone clipped to the polygon's box): 'inside' when
 * their intersection is the polygon itself, 'outside' when it is empty, 'unknown' when boundaries
 * meet or come too close to tell — then ask turf.
 *
 * With the zone clipped to the polygon's box, the zone's edges along the box are left out of the
 * boundary test (see ringApart); what remains of each zone ring then falls into chains whose ends
 * lie on the box, outside the polygon's interior, so such a chain that meets no polygon edge lies
 * wholly outside the polygon. Rings with no point on the box are checked by one vertex instead.
 */
export function relateToZone(poly: PreparedPolygon, zonePolys: readonly Position[][][]): ZoneRelation {
  if (!poly.usable || zonePolys.length === 0) return 'unknown';
  for (const rings of zonePolys) {
    if (rings.length === 0) return 'unknown';
    for (const ring of rings) if (ring.length < 4 || !allFinite(ring)) return 'unknown';
  }
  for (const rings of zonePolys) for (const ring of rings) if (!ringApart(poly, ring)) return 'unknown';
  const box = poly.bbox;
  const [x0, y0, x1, y1] = box;
  for (const rings of zonePolys) {
    for (const ring of rings) {
      if (ring.some((p) => onBoxBoundary(p[0], p[1], box))) continue;
      const [x, y] = ring[0];
      if (x < x0 || x > x1 || y < y0 || y > y1) continue; // outside the polygon's box: not inside it
      if (polygonContains(poly.rings, x, y) !== false) return 'unknown';
    }
  }
  // Any vertex of the polygon off its box is on no zone edge: its side is the whole polygon's.
  const probe = poly.rings[0].find((p) => p[0] > x0 && p[0] < x1 && p[1] > y0 && p[1] < y1);
  if (!probe) return 'unknown';
  let inside = false;
  for (const rings of zonePolys) {
    const c = polygonContains(rings, probe[0], probe[1]);
    if (c === null) return 'unknown';
    if (c) inside = true;
  }
  return inside ? 'inside' : 'outside';
}
