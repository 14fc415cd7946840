/**
 * Test geometry helpers: rectangles given in metres east/north of a point near Jinan, built in
 * UTM zone 50 (EPSG:32650) and returned in lon/lat, so expected areas are known in m².
 * Imported by tests only.
 */
import type { Polygon } from 'geojson';
import { transformer } from '../../../geo/crs.js';

const ORIGIN_E = 500000;
const ORIGIN_N = 4056000; // ≈ 36.64°N, 117.0°E

/** UTM grid area is the true area × k², k = 0.9996 on the central meridian. */
export const UTM_TRUE_AREA_FACTOR = 1 / (0.9996 * 0.9996);

/** Rectangle [x0, x1] × [y0, y1] metres from the origin, counter-clockwise, lon/lat. */
export function rect(x0: number, y0: number, x1: number, y1: number): Polygon {
  const toLonLat = transformer('EPSG:32650', 'EPSG:4326');
  const ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]].map(([x, y]) => toLonLat(ORIGIN_E + x, ORIGIN_N + y));
  return { type: 'Polygon', coordinates: [ring] };
}
