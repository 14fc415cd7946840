/**
 * Resampling kernels: plain functions over typed arrays, writing into caller-owned outputs.
 * A warp is described by a coarse map (GDAL's approximate transformer): the continuous source
 * pixel coordinates of target pixel centres at every `step`-th column and row, interpolated
 * bilinearly in between. For an affine relation (same CRS) that interpolation is exact.
 */
import type { GeoTransform } from './raster.js';
import { mapToPixel, pixelToMap } from './raster.js';
import type { Transform } from './crs.js';

/**
 * Source pixel coordinates (0,0 = top-left corner of the source array; the centre of source
 * pixel (i, j) is (i + 0.5, j + 0.5)) of target pixel centres (c + 0.5, r + 0.5) for
 * c = i·step, r = j·step, i < cols, j < rows. NaN where the point could not be transformed.
 */
export interface CoarseMap {
  readonly step: number;
  readonly cols: number;
  readonly rows: number;
  readonly x: Float64Array;
  readonly y: Float64Array;
}

/** Build a coarse map for a `width`×`height` target; `fn` maps a target pixel-space point to source pixel space. */
export function buildCoarseMap(width: number, height: number, step: number, fn: (col: number, row: number) => [number, number]): CoarseMap {
  // Nodes run one step past the last pixel so every pixel lies inside a cell (no clamping in the kernel).
  const cols = Math.ceil((width - 1) / step) + 2;
  const rows = Math.ceil((height - 1) / step) + 2;
  const x = new Float64Array(cols * rows);
  const y = new Float64Array(cols * rows);
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < cols; i++) {
      const [sx, sy] = fn(i * step + 0.5, j * step + 0.5);
      const ok = Number.isFinite(sx) && Number.isFinite(sy);
      x[j * cols + i] = ok ? sx : NaN;
      y[j * cols + i] = ok ? sy : NaN;
    }
  }
  return { step, cols, rows, x, y };
}

/**
 * Coarse map from a target grid to a source array whose top-left pixel is `srcOrigin` of the
 * source grid: target pixel → target map coords → (`toSource`) source map coords → source pixel.
 * `toSource` null means both grids share one CRS (pure affine).
 */
export function gridCoarseMap(
  target: { width: number; height: number; transform: GeoTransform },
  source: GeoTransform,
  srcOrigin: { col: number; row: number },
  toSource: Transform | null,
  step = 32,
): CoarseMap {
  return buildCoarseMap(target.width, target.height, toSource ? step : Math.max(target.width, target.height, 1), (c, r) => {
    const [x, y] = pixelToMap(target.transform, c, r);
    const [sx, sy] = toSource ? toSource(x, y) : [x, y];
    const [pc, pr] = mapToPixel(source, sx, sy);
    return [pc - srcOrigin.col, pr - srcOrigin.row];
  });
}

/** Min/max source pixel coordinates the map touches (NaN nodes skipped); null when none are finite. */
export function coarseMapBounds(map: CoarseMap): [number, number, number, number] | null {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let k = 0; k < map.x.length; k++) {
    const x = map.x[k];
    const y = map.y[k];
    if (x !== x || y !== y) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return x0 === Infinity ? null : [x0, y0, x1, y1];
}

/**
 * Bilinear warp of several co-registered source bands (`srcW`×`srcH`, NaN = no data) onto a
 * `outW`×`outH` target, for pixels where `outValid` is 0; sets `outValid` to 1 where every band
 * got a value. Missing neighbours are left out and the weights renormalised, but a value needs
 * at least half the weight from valid neighbours — so coverage ends at the source raster's edge
 * (and at the mid-line of nodata pixels) rather than bleeding half a pixel outward.
 */
export function warpBilinear(
  srcs: readonly Float32Array[],
  srcW: number,
  srcH: number,
  map: CoarseMap,
  outs: readonly Float32Array[],
  outW: number,
  outH: number,
  outValid: Uint8Array,
): void {
  const { step, cols, x: mx, y: my } = map;
  const nb = srcs.length;
  const rowX = new Float64Array(cols);
  const rowY = new Float64Array(cols);
  const vals = new Float64Array(nb);
  for (let r = 0; r < outH; r++) {
    const gj = Math.floor(r / step);
    const fy = (r - gj * step) / step;
    const a = gj * cols;
    const b = a + cols;
    for (let i = 0; i < cols; i++) {
      rowX[i] = mx[a + i] + (mx[b + i] - mx[a + i]) * fy;
      rowY[i] = my[a + i] + (my[b + i] - my[a + i]) * fy;
    }
    let o = r * outW;
    for (let c = 0; c < outW; c++, o++) {
      if (outValid[o]) continue;
      const gi = Math.floor(c / step);
      const fx = (c - gi * step) / step;
      const sx = rowX[gi] + (rowX[gi + 1] - rowX[gi]) * fx - 0.5;
      const sy = rowY[gi] + (rowY[gi + 1] - rowY[gi]) * fx - 0.5;
      if (!(sx > -1 && sy > -1 && sx < srcW && sy < srcH)) continue; // also rejects NaN
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const wx = sx - x0;
      const wy = sy - y0;
      let ok = true;
      for (let k = 0; k < nb; k++) {
        const s = srcs[k];
        let sum = 0;
        let wsum = 0;
        // Four neighbours, each skipped when outside the array or NaN.
        for (let q = 0; q < 4; q++) {
          const xx = x0 + (q & 1);
          const yy = y0 + (q >> 1);
          if (xx < 0 || yy < 0 || xx >= srcW || yy >= srcH) continue;
          const w = ((q & 1) ? wx : 1 - wx) * ((q >> 1) ? wy : 1 - wy);
          if (w === 0) continue;
          const v = s[yy * srcW + xx];
          if (v !== v) continue;
          sum += v * w;
          wsum += w;
        }
        if (wsum < 0.5 - 1e-9) {
          ok = false;
          break;
        }
        vals[k] = sum / wsum;
      }
      if (!ok) continue;
      for (let k = 0; k < nb; k++) outs[k][o] = vals[k];
      outValid[o] = 1;
    }
  }
}

/**
 * If the map is an exact integer shift (same CRS, same pixel size, aligned grids), return the
 * shift [dc, dr] (source pixel = target pixel + shift), else null — callers then copy instead of
 * interpolating, so aligned reads return the file's values bit for bit.
 */
export function integerShift(target: GeoTransform, source: GeoTransform, tolerance = 1e-6): [number, number] | null {
  for (const k of [1, 2, 4, 5] as const) {
    if (Math.abs(target[k] - source[k]) > tolerance * Math.max(Math.abs(source[k]), 1e-12)) return null;
  }
  const [c, r] = mapToPixel(source, target[0], target[3]);
  const dc = Math.round(c);
  const dr = Math.round(r);
  return Math.abs(c - dc) < 1e-6 && Math.abs(r - dr) < 1e-6 ? [dc, dr] : null;
}
