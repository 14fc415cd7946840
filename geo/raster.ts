/**
 * The one value that flows between raster stages (after rio-tiler's ImageData):
 * typed-array bands + grid + validity mask. Plain data, so it moves between
 * worker threads by transferring the underlying buffers.
 */

/** GDAL-order affine transform: x = t0 + col*t1 + row*t2, y = t3 + col*t4 + row*t5 (map units of `crs`). */
export type GeoTransform = readonly [number, number, number, number, number, number];

/** A pixel grid on the ground. `crs` is an authority string such as 'EPSG:32650'. */
export interface Grid {
  readonly width: number;
  readonly height: number;
  readonly transform: GeoTransform;
  readonly crs: string;
}

/** A rectangle of pixels inside a grid (col/row of its top-left corner). */
export interface Window {
  readonly col: number;
  readonly row: number;
  readonly width: number;
  readonly height: number;
}

export type BandName = 'blue' | 'green' | 'red' | 'nir' | 'swir1' | 'swir2';
export const BAND_NAMES: readonly BandName[] = ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];

/**
 * Reflectance bands on one grid. Band values are surface/TOA reflectance scaled
 * as in the file (e.g. ×10000 for Sentinel-2 uint16); kernels only assume "larger = brighter".
 * `valid[i]` is 1 where every band has data at pixel i (nodata, outside footprint → 0).
 */
export interface Raster extends Grid {
  readonly bands: Partial<Record<BandName, Float32Array>>;
  readonly valid: Uint8Array;
}

/** The grid of a window cut out of `grid`. */
export function windowGrid(grid: Grid, win: Window): Grid {
  const [t0, t1, t2, t3, t4, t5] = grid.transform;
  return {
    width: win.width,
    height: win.height,
    crs: grid.crs,
    transform: [t0 + win.col * t1 + win.row * t2, t1, t2, t3 + win.col * t4 + win.row * t5, t4, t5],
  };
}

/** Map coordinates of a pixel-space point (col, row may be fractional; 0,0 = top-left corner). */
export function pixelToMap(t: GeoTransform, col: number, row: number): [number, number] {
  return [t[0] + col * t[1] + row * t[2], t[3] + col * t[4] + row * t[5]];
}

/** Inverse of pixelToMap. */
export function mapToPixel(t: GeoTransform, x: number, y: number): [number, number] {
  const det = t[1] * t[5] - t[2] * t[4];
  const dx = x - t[0];
  const dy = y - t[3];
  return [(dx * t[5] - dy * t[2]) / det, (dy * t[1] - dx * t[4]) / det];
}

/** Map-space bounds [minX, minY, maxX, maxY] of a grid. */
export function gridBounds(grid: Grid): [number, number, number, number] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [c, r] of [[0, 0], [grid.width, 0], [0, grid.height], [grid.width, grid.height]] as const) {
    const [x, y] = pixelToMap(grid.transform, c, r);
    xs.push(x);
    ys.push(y);
  }
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** Ground size of one pixel in map units (mean of |x| and |y| steps). */
export function pixelSize(grid: Grid): number {
  const [, t1, t2, , t4, t5] = grid.transform;
  return (Math.hypot(t1, t4) + Math.hypot(t2, t5)) / 2;
}
