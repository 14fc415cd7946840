/**
 * Per-pixel change score and change type over two aligned Rasters (same grid).
 *
 * Score = change-vector magnitude of the radiometrically normalised difference, each
 * band in units of its own no-change noise σ (NormFit), RMS over the bands present
 * (4 bands: blue/green/red/nir; swir1/swir2 join when both epochs have them), box-smoothed
 * so that single-pixel misregistration does not pass and coherent patches do. Change
 * that keeps vegetation in both epochs (phenology, crops) or that is vegetation regrowth
 * is down-weighted, since enforcement is about land taken, not crops turning.
 * Clouds and shadows (either epoch) are flagged CLOUD_CANDIDATE_FLAG; the tile driver hides
 * those that are weather (maskCloudFringes). Nodata is "not observable": score NaN, NOT_OBSERVED.
 */
import type { BandName, Raster } from '../../geo/raster.js';
import type { ChangeType } from '../../schemas/vocabulary.js';
import type { DetectorParams } from './detector-params.js';
import type { NormFit } from './normalise.js';
import { BASE, D_CLIP, FEATURE_CONTEXT, contextFeatures, type FeatureScratch } from './change-features.js';
import { predictPlanes, type FoldedModel } from './change-model.js';
import { boxMeanRows, createBoxMeanScratch, type BoxMeanScratch } from './box-mean.js';

/**
 * The learned model's state for scorePixels: folded weights, its scratch, and the feature planes
 * (FEATURE_COUNT × output pixels) it leaves filled for the caller (the trainer reads them).
 */
export interface LearnedScoring {
  folded: FoldedModel;
  threshold: number;
  scratch: FeatureScratch;
  features: Float32Array[];
}

/** uint8 code of each change type in the per-pixel type plane; 0 = no change. */
export const CHANGE_TYPE_CODES: Readonly<Record<ChangeType | 'none', number>> = Object.freeze({
  none: 0,
  construction: 1,
  bare_soil: 2,
  vegetation_loss: 3,
  water_fill: 4,
  new_water: 5,
});
/**
 * Type code of a pixel that is vegetated in both epochs (phenology, crop rotation, canopy
 * texture): spectral change, but no land taken. Not a ChangeType: a component whose
 * score-weighted vote is mostly this (or regrowth, code 0) is seasonal, not a violation.
 */
export const STILL_VEGETATED = 6;
/** Type code of pixels that cannot be compared: nodata in either epoch, or hidden by cloud or shadow. */
export const NOT_OBSERVED = 255;
/**
 * Type code of pixels hidden as weather (cloud or shadow patches, their fringes and halos) while
 * maskCloudFringes works; it turns them into NOT_OBSERVED before it returns. Every code ≥ CLOUDED
 * is hidden.
 */
export const CLOUDED = 254;
/**
 * Flag bit on a type code: the pixel changed like thin cloud or cloud shadow would (see
 * isIlluminationChange). The tile driver hides flagged pixels connected to a cloud or shadow
 * (maskCloudFringes) and clears the flag on the rest.
 */
export const CLOUD_FRINGE_FLAG = 0x40;
/**
 * Flag bit on a type code: cloud or shadow in one epoch by the per-pixel tests. Such pixels are
 * scored like any other; maskCloudFringes hides those in patches large enough to be weather and
 * clears the flag on the rest (OSCD: most are white roofs and building shadows).
 */
export const CLOUD_CANDIDATE_FLAG = 0x80;

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

/** After-NDVI above which vegetation that lost its cover reads as cleared (slash, stubble, partial cover) rather than bare soil or built: between soil/concrete (≈ 0.05–0.12) and cleared forest (≈ 0.25). */
const CLEARED_NDVI = 0.18;

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

/** Caller-owned working memory of scorePixels, reused strip after strip (no allocation per strip). */
export interface ScoreScratch extends BoxMeanScratch {
  /** Pixels it can hold (width × rows of the largest halo'd strip). */
  capacity: number;
  /** Unsmoothed weighted change magnitude, σ units. */
  raw: Float32Array;
  /** Unsmoothed plain (pixel against pixel) RMS difference over every band, σ units: the learned gate's evidence. */
  plain: Float32Array;
  /** Per-pixel type code of the halo'd strip (copied to the output rows). */
  type: Uint8Array;
  /**
   * Where set, scorePixels adds each kernel's milliseconds here (one clock read per kernel per
   * strip, never per pixel), and under `askedPx` the pixels the learned gate put to the trees:
   * scripts/bench-kernels.ts reads it.
   */
  kernelMs?: KernelTimes;
}

/** The kernels scorePixels runs in turn, as ScoreScratch.kernelMs names them. */
export type ScoreKernel = 'pixels' | 'smooth' | 'types' | 'features' | 'gate' | 'trees' | 'rescue';

export type KernelTimes = Partial<Record<ScoreKernel | 'askedPx', number>>;

/** Adds the time since `t0` to `ms[k]` and returns now (no-op without `ms`). */
function lap(ms: KernelTimes | undefined, k: ScoreKernel, t0: number): number {
  if (!ms) return 0;
  const t = performance.now();
  ms[k] = (ms[k] ?? 0) + (t - t0);
  return t;
}

export function createScoreScratch(width: number, rows: number): ScoreScratch {
  const n = width * rows;
  return { ...createBoxMeanScratch(width, n), capacity: n, raw: new Float32Array(n), plain: new Float32Array(n), type: new Uint8Array(n) };
}

/** Which rows of the (halo'd) input rasters `out` stands for; the rows around them are context only. */
export interface ScoreRows {
  /** First output row, as a row of the input rasters. */
  first: number;
  /** Number of output rows. */
  count: number;
}

/**
 * RMS (σ units) below which the plain difference is kept as is: the neighbourhood-range
 * distance is never larger than the plain one, so pixels this quiet cannot become change and
 * skipping the 3×3 search there saves most of the work.
 */
const RANGE_SKIP = 1.5;

/** Smallest visible brightening (reflectance) that can read as thin cloud. */
const FRINGE_MIN_BRIGHTEN = 0.03;

/**
 * Whether before → after (reflectances, blue/green/red/nir) looks like a change of illumination or
 * of thin cloud rather than of the ground: either a white brightening of the visible bands (each
 * band up by a similar amount, blue at least as much as red — scattering is never redder than
 * the ground — and nir not falling), or a darkening by one common factor in every band (shadow).
 * Real land-cover change alters the spectral shape. Returns 2 for certain (a shadow darker than
 * 0.7×), 1 for possible, 0 for not.
 */
export function isIlluminationChange(y: Float64Array, x: Float64Array, iB: number, iG: number, iR: number, iN: number): 0 | 1 | 2 {
  const db = x[iB] - y[iB], dg = x[iG] - y[iG], dr = x[iR] - y[iR], dn = x[iN] - y[iN];
  const lo = Math.min(db, dg, dr), hi = Math.max(db, dg, dr);
  if (lo > FRINGE_MIN_BRIGHTEN && lo > 0.5 * hi && db >= 0.8 * dr && dn > -0.03) return 1;
  // Unrolled: this runs twice per pixel, and an array literal here allocated ~240 M arrays per tile.
  const rb = x[iB] / Math.max(y[iB], 1e-4), rg = x[iG] / Math.max(y[iG], 1e-4);
  const rr = x[iR] / Math.max(y[iR], 1e-4), rn = x[iN] / Math.max(y[iN], 1e-4);
  const rlo = Math.min(rb, rg, rr, rn), rhi = Math.max(0, rb, rg, rr, rn);
  if (rhi < 0.93 && rhi < 1.3 * rlo) return rhi < 0.7 ? 2 : 1;
  return 0;
}

/**
 * Writes `out.score` (σ units, ≥ 0, NaN where invalid or not observable) and
 * `out.type` (CHANGE_TYPE_CODES, with CLOUD_CANDIDATE_FLAG under cloud or shadow; NOT_OBSERVED on nodata) for rows `rows` of the grid
 * (default: all rows). `before` and `after` must share the grid; `fit` maps after onto before.
 *
 * The difference is misregistration-robust: each normalised after band is compared with the
 * RANGE [min, max] of the before band over the 3×3 neighbourhood (distance 0 inside it). A
 * sub-pixel shift makes a pixel a mix of its neighbours, which lies inside their range, so edges
 * of roads, roofs and field borders no longer read as change; a new object differs from every
 * neighbour and keeps its full score. Rows outside `rows` (a halo of smoothRadius + 1 rows on
 * each side where the strip has them) are context for the 3×3 range and the box mean, so strip
 * seams do not show.
 */
export function scorePixels(
  before: Raster,
  after: Raster,
  fit: NormFit,
  params: Pick<DetectorParams, 'score' | 'learned'>,
  out: { score: Float32Array; type: Uint8Array },
  rows?: ScoreRows,
  scratch?: ScoreScratch,
  learned?: LearnedScoring,
): void {
  const { width, height } = before;
  const n = width * height;
  if (after.width !== width || after.height !== height) {
    throw new Error(`scorePixels: grids differ (${width}×${height} vs ${after.width}×${after.height}); warp the prior first`);
  }
  const first = rows?.first ?? 0;
  const count = rows?.count ?? height;
  if (first < 0 || first + count > height) throw new Error(`scorePixels: rows ${first}+${count} outside ${height}`);
  const nOut = width * count;
  if (out.score.length < nOut || out.type.length < nOut) throw new Error(`scorePixels: outputs must hold ${nOut} pixels`);
  const sc = scratch && scratch.capacity >= n && scratch.vsum.length >= width ? scratch : createScoreScratch(width, height);
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
  const isig = bands.map((b) => 1 / fit.bands[b]!.sigma);
  const iB = bands.indexOf('blue'), iG = bands.indexOf('green'), iR = bands.indexOf('red'), iN = bands.indexOf('nir');
  const iS = bands.indexOf('swir1');
  const iS2 = bands.indexOf('swir2');
  if (learned && (iS < 0 || iS2 < 0)) throw new Error("scorePixels: the learned model needs swir1 and swir2 in both epochs (use model 'auto' or 'unsupervised' on 4-band imagery)");
  const inv = 1 / fit.reflectanceScale;
  const y = new Float64Array(nb); // before, reflectance
  const x = new Float64Array(nb); // normalised after, reflectance
  const rd = new Float64Array(nb); // signed difference, σ units: 3×3-range distance where computed
  const raw = sc.raw;
  // Only the learned gate reads the plain difference: the unsupervised score never computes it.
  const plain = learned && params.learned.gateOn === 'plain' ? sc.plain : null;
  const type = sc.type;
  const bv = before.valid;
  // Rows the box means read (the score's, and the learned features' context).
  const ctx = learned ? Math.max(params.score.smoothRadius, FEATURE_CONTEXT) : params.score.smoothRadius;
  const r0 = Math.max(0, first - ctx);
  const r1 = Math.min(height, first + count + ctx);
  const planes = learned?.scratch.base;
  if (learned && learned.scratch.capacity < n) throw new Error(`scorePixels: feature scratch holds ${learned.scratch.capacity} px, strip has ${n}`);
  const useRange = params.score.rangeDifference !== false;
  const ms = sc.kernelMs;
  let t0 = ms ? performance.now() : 0;

  for (let row = r0; row < r1; row++) {
    for (let col = 0; col < width; col++) {
      const i = row * width + col;
      if (!bv[i] || !after.valid[i]) {
        raw[i] = NaN;
        if (plain) plain[i] = NaN;
        type[i] = NOT_OBSERVED;
        if (planes) for (const p of planes) p[i] = NaN;
        continue;
      }
      let m2 = 0;
      let m2v = 0; // over the four 10 m bands only (the learned features)
      for (let k = 0; k < nb; k++) {
        const a = gain[k] * src1[k][i] + off[k];
        const d = (a - src0[k][i]) * isig[k];
        m2 += d * d;
        rd[k] = d;
        if (k === iB || k === iG || k === iR || k === iN) m2v += d * d;
        y[k] = src0[k][i] * inv;
        x[k] = a * inv;
      }
      if (plain) plain[i] = Math.sqrt(m2 / nb);
      const s0 = hasSwir ? y[iS] : -1;
      const s1 = hasSwir ? x[iS] : -1;
      const illum = isIlluminationChange(y, x, iB, iG, iR, iN) | isIlluminationChange(x, y, iB, iG, iR, iN);
      const cloud0 = isCloudOrShadow(y[iB], y[iG], y[iR], y[iN], s0);
      const cloud1 = isCloudOrShadow(x[iB], x[iG], x[iR], x[iN], s1);
      // Cloud-like in one epoch: scored like any pixel and flagged; maskCloudFringes hides the
      // patches large enough to be weather (a small one is a white roof or a building's shadow).
      const candidate = illum >= 2 || cloud0 !== cloud1;
      if (!candidate && cloud0 && cloud1) {
        // White or black in both epochs is a surface (concrete apron, white roof, a building's
        // shadow), not weather; nothing to compare through it either.
        raw[i] = NaN;
        if (plain) plain[i] = NaN;
        type[i] = NOT_OBSERVED;
        if (planes) for (const p of planes) p[i] = NaN;
        continue;
      }
      if (useRange && m2 > RANGE_SKIP * RANGE_SKIP * nb) {
        // 3×3 before-range distance; neighbours off the raster or invalid are left out.
        m2 = 0;
        m2v = 0;
        const rA = row > 0 ? row - 1 : row, rB = row + 1 < height ? row + 1 : row;
        const cA = col > 0 ? col - 1 : col, cB = col + 1 < width ? col + 1 : col;
        for (let k = 0; k < nb; k++) {
          const b0 = src0[k];
          let lo = b0[i], hi = lo;
          for (let rr = rA; rr <= rB; rr++) {
            for (let cc = cA; cc <= cB; cc++) {
              const j = rr * width + cc;
              if (!bv[j]) continue;
              const v = b0[j];
              if (v < lo) lo = v;
              else if (v > hi) hi = v;
            }
          }
          const a = gain[k] * src1[k][i] + off[k];
          const d = a < lo ? (lo - a) * isig[k] : a > hi ? (a - hi) * isig[k] : 0;
          m2 += d * d;
          rd[k] = a < lo ? -d : d;
          if (k === iB || k === iG || k === iR || k === iN) m2v += d * d;
        }
      }
      const ndvi0 = nd(y[iN], y[iR]);
      const ndvi1 = nd(x[iN], x[iR]);
      const water0 = hasSwir ? nd(y[iG], s0) > MNDWI_WATER : nd(y[iG], y[iN]) > NDWI_WATER;
      const water1 = hasSwir ? nd(x[iG], s1) > MNDWI_WATER : nd(x[iG], x[iN]) > NDWI_WATER;
      const veg0 = ndvi0 > params.score.ndviVegetated;
      const veg1 = ndvi1 > params.score.ndviVegetated;
      const soil1 = hasSwir
        ? nd(s1 + x[iR], x[iN] + x[iB]) > BSI_SOIL
        : nd(x[iR], x[iB]) > REDNESS_SOIL;
      let w = 1;
      let code: number;
      if (water0 && !water1) code = CHANGE_TYPE_CODES.water_fill;
      else if (!water0 && water1) code = CHANGE_TYPE_CODES.new_water;
      else if (veg0 && veg1) {
        // Still vegetated: phenology or crop change, not land taken.
        w = params.score.vegetatedBothWeight;
        code = STILL_VEGETATED;
      } else if (veg1 && ndvi1 > ndvi0) {
        // Regrowth onto bare land is not an enforcement change.
        w = params.score.vegetatedBothWeight;
        code = CHANGE_TYPE_CODES.none;
      } else if (veg0 && ndvi1 > CLEARED_NDVI) code = CHANGE_TYPE_CODES.vegetation_loss;
      else code = soil1 ? CHANGE_TYPE_CODES.bare_soil : CHANGE_TYPE_CODES.construction;
      raw[i] = w * Math.sqrt(m2 / nb);
      type[i] = (illum ? code | CLOUD_FRINGE_FLAG : code) | (candidate ? CLOUD_CANDIDATE_FLAG : 0);
      if (planes) {
        const base = planes;
        const clip = (v: number) => (v > D_CLIP ? D_CLIP : v < -D_CLIP ? -D_CLIP : v);
        base[BASE.dBlue][i] = clip(rd[iB]);
        base[BASE.dGreen][i] = clip(rd[iG]);
        base[BASE.dRed][i] = clip(rd[iR]);
        base[BASE.dNir][i] = clip(rd[iN]);
        base[BASE.dSwir1][i] = clip(rd[iS]);
        base[BASE.dSwir2][i] = clip(rd[iS2]);
        base[BASE.ndbi0][i] = nd(y[iS], y[iN]);
        base[BASE.ndbi1][i] = nd(x[iS], x[iN]);
        base[BASE.lr][i] = Math.log1p(Math.sqrt(m2v / 4));
        base[BASE.ndvi0][i] = ndvi0;
        base[BASE.ndvi1][i] = ndvi1;
        base[BASE.ndwi0][i] = nd(y[iG], y[iN]);
        base[BASE.ndwi1][i] = nd(x[iG], x[iN]);
        const br0 = (y[iB] + y[iG] + y[iR] + y[iN]) / 4;
        const br1 = (x[iB] + x[iG] + x[iR] + x[iN]) / 4;
        base[BASE.br0][i] = br0;
        base[BASE.br1][i] = br1;
        base[BASE.br0sq][i] = br0 * br0;
        base[BASE.br1sq][i] = br1 * br1;
        base[BASE.dNdvi][i] = ndvi1 - ndvi0;
      }
    }
  }
  t0 = lap(ms, 'pixels', t0);
  const score = out.score;
  boxMeanRows(raw, width, height, params.score.smoothRadius, first, count, sc, score);
  t0 = lap(ms, 'smooth', t0);
  const base = first * width;
  for (let i = 0; i < nOut; i++) {
    const t = type[base + i];
    if (t >= CLOUDED) {
      out.type[i] = t;
      score[i] = NaN;
      continue;
    }
    out.type[i] = t;
  }
  t0 = lap(ms, 'types', t0);
  if (learned) {
    // Score = change probability. Gate: below LearnedParams.gateSigma of unsupervised evidence (plain or
    // 3×3-range difference, LearnedParams.gateOn) nothing is change. Rescue
    // (LearnedParams.rescueSigma): the model learned OSCD's small urban changes only, so a
    // change far above the unsupervised floor (vegetation cleared, water filled or dug, a large
    // uniform site) still passes at exactly the model's threshold.
    contextFeatures(learned.scratch, width, height, first, count, learned.features);
    t0 = lap(ms, 'features', t0);
    let gateScore = score;
    if (params.learned.gateOn === 'plain') {
      gateScore = learned.scratch.t1; // free again once contextFeatures is done
      boxMeanRows(plain!, width, height, params.score.smoothRadius, first, count, sc, gateScore);
    }
    const rescue = params.learned.rescueSigma;
    const gate = params.learned.gateSigma;
    // Only pixels past the gate ask the trees (the costliest step); a gated pixel's probability
    // could only ever be capped below the threshold, so it is written as 0.
    const asked = learned.scratch.asked;
    let nAsked = 0;
    for (let i = 0; i < nOut; i++) {
      if (out.type[i] < CLOUDED && (gate <= 0 || gateScore[i] >= gate)) asked[nAsked++] = i;
    }
    t0 = lap(ms, 'gate', t0);
    const prob = learned.scratch.t0;
    predictPlanes(learned.folded, learned.features, asked, nAsked, prob);
    t0 = lap(ms, 'trees', t0);
    if (ms) ms.askedPx = (ms.askedPx ?? 0) + nAsked;
    for (let i = 0, k = 0; i < nOut; i++) {
      const t = out.type[i];
      if (t >= CLOUDED) continue;
      let p = 0;
      if (k < nAsked && asked[k] === i) p = prob[k++];
      if (rescue > 0 && score[i] >= rescue) {
        const c = t & ~(CLOUD_FRINGE_FLAG | CLOUD_CANDIDATE_FLAG);
        const eligible = params.learned.rescueAllTypes
          ? c >= CHANGE_TYPE_CODES.construction && c <= CHANGE_TYPE_CODES.new_water
          : c === CHANGE_TYPE_CODES.vegetation_loss || c === CHANGE_TYPE_CODES.water_fill || c === CHANGE_TYPE_CODES.new_water;
        if (eligible && p < learned.threshold) p = learned.threshold;
      }
      score[i] = p === p ? p : 0;
    }
    lap(ms, 'rescue', t0);
  }
}
