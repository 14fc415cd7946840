/**
 * Per-pixel change score and change type over two aligned Rasters (same grid).
 *
 * Score = change-vector magnitude of the radiometrically normalised difference, each
 * band in units of its own no-change noise σ (NormFit), RMS over the bands present
 * (4 bands: blue/green/red/nir; swir1/swir2 join when both epochs have them), box-smoothed
 * so that single-pixel misregistration does not pass and coherent patches do. Change
 * that keeps vegetation in both epochs (phenology, crops) or that is vegetation regrowth
 * is down-weighted, since enforcement is about land taken, not crops turning.
 * Clouds and shadows (either epoch) are "not observable": score NaN, type NOT_OBSERVED.
 */
import type { BandName, Raster } from '../../geo/raster.js';
import type { ChangeType } from '../model.js';
import type { DetectorParams } from './detector-params.js';
import type { NormFit } from './normalise.js';

/** uint8 code of each change type in the per-pixel type plane; 0 = no change. */
export const CHANGE_TYPE_CODES: Readonly<Record<ChangeType | 'none', number>> = Object.freeze({
  none: 0,
  construction: 1,
  bare_soil: 2,
  vegetation_loss: 3,
  water_fill: 4,
  new_water: 5,
});
/** Type code of pixels hidden by cloud or shadow in either epoch, or invalid. */
export const NOT_OBSERVED = 255;

const CODE_TO_TYPE: (ChangeType | null)[] = [null, 'construction', 'bare_soil', 'vegetation_loss', 'water_fill', 'new_water'];

/** The ChangeType of a code, or null for none / not observed / unknown. */
export function changeTypeOfCode(code: number): ChangeType | null {
  return CODE_TO_TYPE[code] ?? null;
}

const ALL_BANDS: BandName[] = ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];

/** Visible mean reflectance above which a flat ("white") spectrum is taken as cloud. */
const CLOUD_VIS = 0.3;
/** Max relative spread of blue/green/red for "white". */
const CLOUD_WHITENESS = 0.25;
/** Reflectance below which every band must lie for "shadow". */
const SHADOW_MAX = 0.04;
/** NDWI / MNDWI above which a pixel is open water. */
const NDWI_WATER = 0.05;
const MNDWI_WATER = 0.2;
/** Bare-soil index (with swir) / visible redness (without) above which a non-vegetated pixel reads as soil. */
const BSI_SOIL = 0.1;
const REDNESS_SOIL = 0.15;

const nd = (a: number, b: number): number => (a - b) / (a + b + 1e-9);

/** Cloud (bright and white in the visible) or shadow (dark in every band); reflectances in [0, 1]. */
export function isCloudOrShadow(blue: number, green: number, red: number, nir: number, swir1: number): boolean {
  const vis = (blue + green + red) / 3;
  if (vis > CLOUD_VIS) {
    const spread = (Math.max(blue, green, red) - Math.min(blue, green, red)) / vis;
    // Clouds are white and bright in the nir too, unlike vegetation.
    if (spread < CLOUD_WHITENESS && nir > 0.8 * vis && !(swir1 >= 0 && swir1 < 0.5 * vis)) return true;
  }
  const hi = Math.max(blue, green, red, nir, swir1 >= 0 ? swir1 : 0);
  return hi < SHADOW_MAX;
}

/**
 * Writes `out.score` (σ units, ≥ 0, NaN where invalid or not observable) and
 * `out.type` (CHANGE_TYPE_CODES; NOT_OBSERVED where hidden) for every pixel of the grid.
 * `before` and `after` must share the grid; `fit` maps after onto before.
 */
export function scorePixels(
  before: Raster,
  after: Raster,
  fit: NormFit,
  params: DetectorParams,
  out: { score: Float32Array; type: Uint8Array },
): void {
  const { width, height } = before;
  const n = width * height;
  if (after.width !== width || after.height !== height) {
    throw new Error(`scorePixels: grids differ (${width}×${height} vs ${after.width}×${after.height}); warp the prior first`);
  }
  if (out.score.length < n || out.type.length < n) throw new Error(`scorePixels: outputs must hold ${n} pixels`);
  const bands = ALL_BANDS.filter((b) => before.bands[b] && after.bands[b] && fit.bands[b]);
  for (const b of ['blue', 'green', 'red', 'nir'] as const) {
    if (!bands.includes(b)) throw new Error(`scorePixels: band '${b}' missing in an epoch or in the NormFit`);
  }
  const hasSwir = bands.includes('swir1');
  const nb = bands.length;
  const src0 = bands.map((b) => before.bands[b]!);
  const src1 = bands.map((b) => after.bands[b]!);
  const gain = bands.map((b) => fit.bands[b]!.gain);
  const off = bands.map((b) => fit.bands[b]!.offset);
  const sig = bands.map((b) => fit.bands[b]!.sigma);
  const iB = bands.indexOf('blue'), iG = bands.indexOf('green'), iR = bands.indexOf('red'), iN = bands.indexOf('nir');
  const iS = bands.indexOf('swir1');
  const inv = 1 / fit.reflectanceScale;
  const y = new Float64Array(nb); // before, reflectance
  const x = new Float64Array(nb); // normalised after, reflectance
  const raw = new Float32Array(n); // unsmoothed weighted magnitude

  for (let i = 0; i < n; i++) {
    if (!before.valid[i] || !after.valid[i]) {
      raw[i] = NaN;
      out.type[i] = NOT_OBSERVED;
      continue;
    }
    let m2 = 0;
    for (let k = 0; k < nb; k++) {
      const a = gain[k] * src1[k][i] + off[k];
      const d = (a - src0[k][i]) / sig[k];
      m2 += d * d;
      y[k] = src0[k][i] * inv;
      x[k] = a * inv;
    }
    const s0 = hasSwir ? y[iS] : -1;
    const s1 = hasSwir ? x[iS] : -1;
    if (isCloudOrShadow(y[iB], y[iG], y[iR], y[iN], s0) || isCloudOrShadow(x[iB], x[iG], x[iR], x[iN], s1)) {
      raw[i] = NaN;
      out.type[i] = NOT_OBSERVED;
      continue;
    }
    const ndvi0 = nd(y[iN], y[iR]);
    const ndvi1 = nd(x[iN], x[iR]);
    const water0 = hasSwir ? nd(y[iG], s0) > MNDWI_WATER : nd(y[iG], y[iN]) > NDWI_WATER;
    const water1 = hasSwir ? nd(x[iG], s1) > MNDWI_WATER : nd(x[iG], x[iN]) > NDWI_WATER;
    const veg0 = ndvi0 > params.ndviVegetated;
    const veg1 = ndvi1 > params.ndviVegetated;
    const soil1 = hasSwir
      ? nd(s1 + x[iR], x[iN] + x[iB]) > BSI_SOIL
      : nd(x[iR], x[iB]) > REDNESS_SOIL;
    let w = 1;
    let code: number;
    if (water0 && !water1) code = CHANGE_TYPE_CODES.water_fill;
    else if (!water0 && water1) code = CHANGE_TYPE_CODES.new_water;
    else if (veg0 && veg1) {
      // Still vegetated: phenology or crop change, not land taken.
      w = params.vegetatedBothWeight;
      code = CHANGE_TYPE_CODES.vegetation_loss;
    } else if (veg1 && ndvi1 > ndvi0) {
      // Regrowth onto bare land is not an enforcement change.
      w = params.vegetatedBothWeight;
      code = CHANGE_TYPE_CODES.none;
    } else if (veg0 && ndvi1 > 0.25) code = CHANGE_TYPE_CODES.vegetation_loss;
    else code = soil1 ? CHANGE_TYPE_CODES.bare_soil : CHANGE_TYPE_CODES.construction;
    raw[i] = w * Math.sqrt(m2 / nb);
    out.type[i] = code;
  }
  boxMeanFinite(raw, width, height, params.smoothRadius, out.score);
  for (let i = 0; i < n; i++) if (out.type[i] === NOT_OBSERVED) out.score[i] = NaN;
}

/**
 * Box mean of radius r over finite values (NaN neighbours are skipped), separable
 * with running sums: O(n) whatever r. Writes into `out` (may not alias `src`).
 */
export function boxMeanFinite(src: Float32Array, width: number, height: number, r: number, out: Float32Array): void {
  const n = width * height;
  if (r <= 0) {
    out.set(src.subarray(0, n));
    return;
  }
  const sum = new Float64Array(n);
  const cnt = new Float64Array(n);
  // Horizontal pass.
  for (let row = 0; row < height; row++) {
    const base = row * width;
    let s = 0, c = 0;
    for (let col = 0; col < Math.min(r, width); col++) {
      const v = src[base + col];
      if (v === v) { s += v; c++; }
    }
    for (let col = 0; col < width; col++) {
      const add = col + r;
      if (add < width) { const v = src[base + add]; if (v === v) { s += v; c++; } }
      const rem = col - r - 1;
      if (rem >= 0) { const v = src[base + rem]; if (v === v) { s -= v; c--; } }
      sum[base + col] = s;
      cnt[base + col] = c;
    }
  }
  // Vertical pass.
  for (let col = 0; col < width; col++) {
    let s = 0, c = 0;
    for (let row = 0; row < Math.min(r, height); row++) { s += sum[row * width + col]; c += cnt[row * width + col]; }
    for (let row = 0; row < height; row++) {
      const add = row + r;
      if (add < height) { s += sum[add * width + col]; c += cnt[add * width + col]; }
      const rem = row - r - 1;
      if (rem >= 0) { s -= sum[rem * width + col]; c -= cnt[rem * width + col]; }
      out[row * width + col] = c > 0 ? s / c : NaN;
    }
  }
}
