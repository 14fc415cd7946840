/**
 * A point inside a polygon (PostGIS's ST_PointOnSurface, by the same scan line): to ask which unit
 * of a coarser layer holds a whole one, one point-in-polygon test instead of an intersection. A
 * centroid can fall outside (a crescent, a ring around a lake); this point cannot.
 */
import type { MultiPolygon, Polygon, Position } from 'geojson';

/**
 * The middle of the widest stretch inside the largest part (by its shell's bounding box) along the
 * horizontal line through that box's middle; null for a part with no height (no inside).
 */
export function interiorPoint(geom: Polygon | MultiPolygon): Position | null {
  const parts = geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates;
  let best: { rings: Position[][]; y: number; size: number } | null = null;
  for (const rings of parts) {
    if (!rings[0] || rings[0].length < 4) continue;
    const ys = rings[0].map((p) => p[1]);
    const xs = rings[0].map((p) => p[0]);
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const size = (Math.max(...xs) - Math.min(...xs)) * (y1 - y0);
    if (y1 > y0 && (!best || size > best.size)) best = { rings, y: (y0 + y1) / 2, size };
  }
  if (!best) return null;
  const { rings, y } = best;
  // Where every ring (holes too) crosses the line; between the 1st and 2nd, 3rd and 4th … is inside.
  // An edge counts when its ends lie on either side (one at or below, one above): a vertex on the line once.
  const crossings: number[] = [];
  for (const ring of rings) {
    for (let i = 1; i < ring.length; i++) {
      const [ax, ay] = ring[i - 1];
      const [bx, by] = ring[i];
      if (ay > y !== by > y) crossings.push(ax + ((y - ay) * (bx - ax)) / (by - ay));
    }
  }
  crossings.sort((a, b) => a - b);
  let at: Position | null = null;
  let width = -1;
  for (let i = 0; i + 1 < crossings.length; i += 2) {
    if (crossings[i + 1] - crossings[i] > width) {
      width = crossings[i + 1] - crossings[i];
      at = [(crossings[i] + crossings[i + 1]) / 2, y];
    }
  }
  return at;
}
