/**
 * Web-mercator (EPSG:3857) XYZ tile arithmetic, the scheme MapLibre requests: z/x/y with y
 * counted from the north. Units are metres of the spherical mercator plane.
 */
import type { Grid } from '../../geo/raster.js';

/** Half the width of the mercator plane in metres (π · 6378137). */
export const MERCATOR_HALF = Math.PI * 6378137;
export const WEB_MERCATOR = 'EPSG:3857';
/** Deepest zoom served: z22 is ~4 cm per pixel, far past any satellite image. */
export const MAX_ZOOM = 22;

/** Mercator bounds [minX, minY, maxX, maxY] of tile z/x/y. */
export function tileBounds(z: number, x: number, y: number): [number, number, number, number] {
  const size = (2 * MERCATOR_HALF) / 2 ** z;
  const minX = -MERCATOR_HALF + x * size;
  const maxY = MERCATOR_HALF - y * size;
  return [minX, maxY - size, minX + size, maxY];
}

/** True when z/x/y names a tile of the pyramid (integers, 0 ≤ z ≤ MAX_ZOOM, x and y inside 2^z). */
export function isValidTile(z: number, x: number, y: number): boolean {
  if (![z, x, y].every(Number.isInteger)) return false;
  if (z < 0 || z > MAX_ZOOM) return false;
  const n = 2 ** z;
  return x >= 0 && y >= 0 && x < n && y < n;
}

/** The pixel grid of a tile, `size` pixels square (north-up, pixel-is-area). */
export function tileGrid(z: number, x: number, y: number, size = 256): Grid {
  const [minX, , maxX, maxY] = tileBounds(z, x, y);
  const res = (maxX - minX) / size;
  return { width: size, height: size, crs: WEB_MERCATOR, transform: [minX, res, 0, maxY, 0, -res] };
}

/** lon/lat (degrees) → mercator metres. */
export function lonLatToMercator(lon: number, lat: number): [number, number] {
  const clamped = Math.max(-85.0511287798, Math.min(85.0511287798, lat));
  return [(lon * Math.PI * 6378137) / 180, 6378137 * Math.log(Math.tan(Math.PI / 4 + (clamped * Math.PI) / 360))];
}

/** The tile x/y that contains a lon/lat at zoom z. */
export function tileAt(lon: number, lat: number, z: number): { x: number; y: number } {
  const [mx, my] = lonLatToMercator(lon, lat);
  const n = 2 ** z;
  const x = Math.min(n - 1, Math.max(0, Math.floor(((mx + MERCATOR_HALF) / (2 * MERCATOR_HALF)) * n)));
  const y = Math.min(n - 1, Math.max(0, Math.floor(((MERCATOR_HALF - my) / (2 * MERCATOR_HALF)) * n)));
  return { x, y };
}
