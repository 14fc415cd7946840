/**
 * Internal overviews of a GeoTIFF / COG (the reduced-resolution images GDAL's `gdaladdo` and the COG
 * driver write after the full image): when every true-colour band's file has one at least as fine
 * as the overview a TileSource needs, it is read instead of decoding the full image — a real
 * Sentinel-2 COG then costs one small read, not a whole-file pass. The tile's reader reads it
 * (TileReader.readOverview) with the rules it reads the full image by — nodata, alpha, GDAL's masks,
 * fill, declared scale/offset — so the low zooms show what the close ones do; here it is only
 * brought to the overview's size.
 */
import type { BandName, Raster } from '../../geo/raster.js';

/**
 * `bands` of `src` at `ow`×`oh` (no larger than it): each output pixel the mean of the source pixels
 * it covers that are valid in every band (as the full image's decimation averages), NaN and not
 * valid where none is.
 */
export function resampleOverview(
  src: Raster,
  bands: readonly BandName[],
  grid: { ow: number; oh: number; factor: number; width: number; height: number },
): { bands: Float32Array[]; valid: Uint8Array } {
  const { ow, oh, factor: f, width, height } = grid;
  const { width: sw, height: sh, valid: sv } = src;
  const ins = bands.map((b) => src.bands[b]!);
  const outs = bands.map(() => new Float32Array(ow * oh));
  const valid = new Uint8Array(ow * oh);
  const sums = new Float64Array(bands.length);
  // Output pixel ox covers the tile's columns [ox·f, (ox+1)·f), the last one cut at the tile's edge: where
  // the tile is no whole number of f, mapping ow pixels onto the source's sw stretched them (up to ~¾
  // of a pixel off at the east and south edges: the COG driver rounds overview sizes down).
  const sx = (sw / width) * f;
  const sy = (sh / height) * f;
  for (let oy = 0; oy < oh; oy++) {
    const y0 = Math.min(sh - 1, Math.floor(oy * sy));
    const y1 = Math.max(y0 + 1, Math.min(sh, Math.floor((oy + 1) * sy)));
    for (let ox = 0; ox < ow; ox++) {
      const x0 = Math.min(sw - 1, Math.floor(ox * sx));
      const x1 = Math.max(x0 + 1, Math.min(sw, Math.floor((ox + 1) * sx)));
      sums.fill(0);
      let n = 0;
      for (let y = y0; y < y1; y++) {
        for (let i = y * sw + x0, end = y * sw + x1; i < end; i++) {
          if (!sv[i]) continue;
          for (let k = 0; k < ins.length; k++) sums[k] += ins[k][i];
          n++;
        }
      }
      const o = oy * ow + ox;
      for (let k = 0; k < outs.length; k++) outs[k][o] = n ? sums[k] / n : NaN;
      valid[o] = n ? 1 : 0;
    }
  }
  return { bands: outs, valid };
}
