/** Bounding boxes of lon/lat geometries: [minX, minY, maxX, maxY]. */
import type { MultiPolygon, Polygon } from 'geojson';

export type BBox = [number, number, number, number];

/** Bounding box of a geometry's outer rings; all Infinity / -Infinity when it has no coordinates. */
export function bboxOf(geom: Polygon | MultiPolygon): BBox {
  const polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates;
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const rings of polys) {
    for (const p of rings[0] ?? []) {
      if (p[0] < minX) minX = p[0];
      if (p[0] > maxX) maxX = p[0];
      if (p[1] < minY) minY = p[1];
      if (p[1] > maxY) maxY = p[1];
    }
  }
  return [minX, minY, maxX, maxY];
}
