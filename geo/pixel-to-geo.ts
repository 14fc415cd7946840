/**
 * Pixel-corner polygons (from geo/kernels/polygonize.ts) → lon/lat GeoJSON, with RFC 7946
 * winding (shell counter-clockwise, holes clockwise) whatever the grid's orientation.
 */
import type { Polygon } from 'geojson';
import { LONLAT, transformer } from './crs.js';
import type { PixelPolygon } from './kernels/polygonize.js';
import { ringArea } from './kernels/ring.js';
import type { Grid } from './raster.js';

/** `scale` maps polygon coordinates to grid pixels (e.g. 16 for a mask downsampled 16×). */
export function pixelPolygonToLonLat(poly: PixelPolygon, grid: Grid, scale = 1): Polygon {
  const t = grid.transform;
  const toLonLat = transformer(grid.crs, LONLAT);
  const coordinates = poly.map((ring, i) => {
    const out = ring.map(([c0, r0]) => {
      // Clamp: a downsampled cell at the right/bottom edge covers fewer pixels than `scale`.
      const c = Math.min(c0 * scale, grid.width);
      const r = Math.min(r0 * scale, grid.height);
      return toLonLat(t[0] + c * t[1] + r * t[2], t[3] + c * t[4] + r * t[5]);
    });
    const ccw = ringArea(out) > 0;
    if ((i === 0) !== ccw) out.reverse();
    return out;
  });
  return { type: 'Polygon', coordinates };
}
