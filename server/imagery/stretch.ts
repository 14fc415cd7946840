/**
 * True-colour display of reflectance bands: a linear stretch per band between two percentiles
 * (2 % and 98 % by default, what rio-tiler users reach for), measured once on the overviews
 * (per satellite tile, and pooled over a month's tiles for the map and chips, so the mosaic has
 * no seams) and reused for every map tile and chip.
 */

/** Lower and upper band values mapped to 0 and 255. */
export interface BandStretch {
  readonly lo: number;
  readonly hi: number;
}

/** Stretch of the red, green and blue bands, in that order. */
export type RgbStretch = readonly [BandStretch, BandStretch, BandStretch];

/**
 * Percentiles `pLo`/`pHi` (0–100) of the finite values of `values` where `valid` is 1.
 * Sorts a copy of at most `maxSamples` values taken at a regular stride: an overview of a
 * 10980² tile has ~0.5 M pixels, a stride keeps the sort cheap and the estimate stable.
 * Returns null when no pixel is valid.
 */
export function percentileStretch(values: Float32Array, valid: Uint8Array, pLo = 2, pHi = 98, maxSamples = 262_144): BandStretch | null {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (valid[i] && values[i] === values[i]) count++;
  if (count === 0) return null;
  const stride = Math.max(1, Math.floor(count / maxSamples));
  const sample = new Float32Array(Math.ceil(count / stride));
  let n = 0;
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    if (!valid[i] || values[i] !== values[i]) continue;
    if (seen++ % stride === 0 && n < sample.length) sample[n++] = values[i];
  }
  const sorted = sample.subarray(0, n).sort();
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.round((p / 100) * (n - 1))))];
  const lo = at(pLo);
  let hi = at(pHi);
  // A flat band (all one value) would divide by zero; give it a unit range so it renders grey-ish.
  if (!(hi > lo)) hi = lo + 1;
  return { lo, hi };
}

/**
 * Write RGBA bytes (`out`, 4 per pixel) from red/green/blue arrays and a stretch; alpha is 0
 * where `valid` is 0 (nodata and outside the imagery are transparent), 255 elsewhere.
 */
export function toRgba(r: Float32Array, g: Float32Array, b: Float32Array, valid: Uint8Array, stretch: RgbStretch, out: Uint8Array): void {
  const [sr, sg, sb] = stretch;
  const kr = 255 / (sr.hi - sr.lo);
  const kg = 255 / (sg.hi - sg.lo);
  const kb = 255 / (sb.hi - sb.lo);
  for (let i = 0, o = 0; i < valid.length; i++, o += 4) {
    if (!valid[i]) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    // Uint8Array stores clamp-free (modulo 256), so clamp by hand.
    out[o] = clamp255((r[i] - sr.lo) * kr);
    out[o + 1] = clamp255((g[i] - sg.lo) * kg);
    out[o + 2] = clamp255((b[i] - sb.lo) * kb);
    out[o + 3] = 255;
  }
}

function clamp255(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5;
}

/**
 * One stretch for several tiles (a month's mosaic): the percentiles of their pooled overview
 * pixels, so neighbouring satellite tiles meet without a seam. Each tile contributes about the
 * same number of samples (a regular stride), whatever its size.
 */
export function pooledStretch(parts: readonly { bands: readonly [Float32Array, Float32Array, Float32Array]; valid: Uint8Array }[], perPart = 65_536): RgbStretch | null {
  const out: BandStretch[] = [];
  for (let k = 0; k < 3; k++) {
    const vals: number[] = [];
    for (const p of parts) {
      const stride = Math.max(1, Math.floor(p.valid.length / perPart));
      const b = p.bands[k];
      for (let i = 0; i < p.valid.length; i += stride) if (p.valid[i] && b[i] === b[i]) vals.push(b[i]);
    }
    const s = percentileStretch(Float32Array.from(vals), new Uint8Array(vals.length).fill(1));
    if (!s) return null;
    out.push(s);
  }
  return [out[0], out[1], out[2]];
}
