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
import { ALL_PLANES, BASE, BASE_PLANES, D_CLIP, contextFeatures, featureBoxMean, featureRadii, rangeRow, type FeatureScratch, type FeatureUse, type RangeRows } from './change-features.js';
import { predictPlanes, type FoldedModel } from './change-model.js';
import { boxMeanRows, createBoxMeanScratch, type BoxMeanScratch } from './box-mean.js';
import { createPassRegion, passRegionBytes, rangeRadius, runPass, type PassJob, type PassRegion } from './score-pass.js';
import { wasmMemory } from './wasm-module.js';
import { SHIFT_SKIP, tolerateShift } from './shift-gate.js';

export { rangeRadius };

/**
 * The learned model's state for scorePixels: folded weights, its scratch, and the feature planes
 * (FEATURE_COUNT × output pixels) it leaves filled for the caller (the trainer reads them).
 */
export interface LearnedScoring {
  folded: FoldedModel;
  threshold: number;
  scratch: FeatureScratch;
  features: Float32Array[];
  /**
   * What the model reads (foldedFeatureUse). Where set, scorePixels computes only that: the base
   * planes and box means of the features the trees read, and the texture features at the pixels
   * the gate puts to the trees only; the other planes and pixels of `features` are left stale (the
   * probabilities are the same bits). Absent: every feature at every output pixel, as the trainer
   * reads them.
   */
  use?: FeatureUse;
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
 * illumination). The tile driver hides flagged pixels connected to a cloud or shadow
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
  ONE[0] = blue; ONE[1] = green; ONE[2] = red; ONE[3] = nir; ONE[4] = swir1;
  return cloudAt(ONE, 0, 4);
}

/** isCloudOrShadow's arguments, for cloudAt. */
const ONE = new Float64Array(5);

/**
 * isCloudOrShadow of the blue, green, red and nir reflectances at p[o…o+3] and the swir1 at p[s]
 * (−1: none). Reads its doubles from an array, so a call that V8 does not inline boxes none (see
 * weatherBits).
 */
function cloudAt(p: Float64Array, o: number, s: number): boolean {
  const blue = p[o], green = p[o + 1], red = p[o + 2], nir = p[o + 3], swir1 = p[s];
  const vis = (blue + green + red) / 3;
  if (vis > CLOUD_VIS) {
    const spread = (Math.max(blue, green, red) - Math.min(blue, green, red)) / vis;
    // Clouds are white and bright in the nir too, unlike vegetation.
    if (spread < CLOUD_WHITENESS && nir > 0.8 * vis && !(swir1 >= 0 && swir1 < 0.5 * vis)) return true;
  }
  // max(…) < SHADOW_MAX is every band below it, NaN included (a NaN fails both forms); most pixels
  // stop at the first band.
  return blue < SHADOW_MAX && green < SHADOW_MAX && red < SHADOW_MAX && nir < SHADOW_MAX && (swir1 >= 0 ? swir1 : 0) < SHADOW_MAX;
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
   * The per-pixel pass in WebAssembly over the memory raw, plain and type live in (score-pass.ts;
   * the learned path uses the feature scratch's instead).
   */
  pass: PassRegion;
  /**
   * Score with the JS pass (scoreRows), the reference the WebAssembly pass is tested against bit
   * for bit (score-pass.test.ts) and timed against (scripts/bench-kernels.ts --js-pass).
   */
  referencePass?: boolean;
  /**
   * Where set, scorePixels adds each kernel's milliseconds here (one clock read per kernel per
   * strip, never per pixel), and under `askedPx` the pixels the learned gate put to the trees:
   * scripts/bench-kernels.ts reads it.
   */
  kernelMs?: KernelTimes;
  /** The clock kernelMs is read from, milliseconds (default performance.now; the bench passes CPU time). */
  kernelClock?: () => number;
}

/** The kernels scorePixels runs in turn, as ScoreScratch.kernelMs names them. */
export type ScoreKernel = 'pixels' | 'shift' | 'smooth' | 'types' | 'features' | 'gate' | 'trees' | 'rescue';

export type KernelTimes = Partial<Record<ScoreKernel | 'askedPx', number>>;

const wallMs = (): number => performance.now();

/** Where scorePixels adds kernel times when the scratch names no sink of its own (recordKernelTimes). */
let threadSink: { ms: KernelTimes; clock: () => number } | null = null;

/**
 * From now on, every scorePixels on this thread whose scratch has no `kernelMs` adds its kernel
 * times to `ms` (clock: default wall milliseconds); null stops. For benchmarks that drive the whole
 * tile driver (scripts/bench-learned.ts), whose scratch they never see. One clock read per kernel per strip.
 */
export function recordKernelTimes(ms: KernelTimes | null, clock: () => number = wallMs): void {
  threadSink = ms ? { ms, clock } : null;
}

/** Adds the time since `t0` to `ms[k]` and returns now (no-op without `ms`). */
function lap(ms: KernelTimes | undefined, k: ScoreKernel, t0: number, clock: () => number): number {
  if (!ms) return 0;
  const t = clock();
  ms[k] = (ms[k] ?? 0) + (t - t0);
  return t;
}

/**
 * Scratch for halo'd strips of up to `rows` rows, `width` wide, on a grid of `pixelSizeM` metres
 * (the range radius, rangeRadius, sizes the pass kernel's ring of rows). raw, plain and type are
 * views of one WebAssembly memory, made at its final size and never grown, where the pass kernel
 * writes them.
 */
export function createScoreScratch(width: number, rows: number, pixelSizeM = 10): ScoreScratch {
  const n = width * rows;
  const maxR = rangeRadius(pixelSizeM);
  const typeAt = 2 * 4 * n;
  const passAt = Math.ceil((typeAt + n) / 64) * 64;
  const memory = wasmMemory(passAt + passRegionBytes(width, maxR));
  const buf = memory.buffer;
  return {
    ...createBoxMeanScratch(width, n), capacity: n,
    raw: new Float32Array(buf, 0, n), plain: new Float32Array(buf, 4 * n, n), type: new Uint8Array(buf, typeAt, n),
    pass: createPassRegion(memory, passAt, width, maxR),
  };
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
 * skipping the 3×3 search there saves most of the work. The tolerant gate skips the same pixels
 * for the same reason (shift-gate.ts), so the two share one value.
 */
const RANGE_SKIP = SHIFT_SKIP;

/** Smallest visible brightening (reflectance) that can read as thin cloud. */
const FRINGE_MIN_BRIGHTEN = 0.03;

/** One strip's inputs to scoreRows: the pass kernel's job, and the JS reference's row ranges. */
interface RowJob extends PassJob {
  /** The 3×3 before-range made a row at a time in WebAssembly (the learned path's scratch has it), else null: range9 per pixel. */
  range: RangeRows | null;
}

/**
 * Whether before (y…, at p[y…y+3]) → after (x…, at p[x…x+3]) reflectances, blue/green/red/nir, look like a change of illumination or
 * of thin cloud rather than of the ground: either a white brightening of the visible bands (each
 * band up by a similar amount, blue at least as much as red — scattering is never redder than
 * the ground — and nir not falling), or a darkening by one common factor in every band (shadow).
 * Real land-cover change alters the spectral shape. Returns 2 for certain (a shadow darker than
 * 0.7×), 1 for possible, 0 for not.
 */
function illumination(p: Float64Array, y: number, x: number): number {
  const yb = p[y], yg = p[y + 1], yr = p[y + 2], yn = p[y + 3];
  const xb = p[x], xg = p[x + 1], xr = p[x + 2], xn = p[x + 3];
  const db = xb - yb, dg = xg - yg, dr = xr - yr, dn = xn - yn;
  // min(db, dg, dr) > FRINGE_MIN_BRIGHTEN is every one of them above it (a NaN fails both
  // forms): the min and max are only taken for the few pixels that brightened.
  if (db > FRINGE_MIN_BRIGHTEN && dg > FRINGE_MIN_BRIGHTEN && dr > FRINGE_MIN_BRIGHTEN) {
    const lo = Math.min(db, dg, dr), hi = Math.max(db, dg, dr);
    if (lo > 0.5 * hi && db >= 0.8 * dr && dn > -0.03) return 1;
  }
  // A band that did not darken has a ratio ≥ 1 (x ≥ m > 0 gives x / m ≥ 1 exactly: division
  // rounds monotonically), so the test below fails: skip its four divisions (most pixels, in
  // at least one of the two directions it is asked). x ≥ max(y, 1e-4) is x ≥ y and x ≥ 1e-4 (a NaN
  // fails both forms).
  if ((xb >= yb && xb >= 1e-4) || (xg >= yg && xg >= 1e-4) || (xr >= yr && xr >= 1e-4) || (xn >= yn && xn >= 1e-4)) return 0;
  const mb = Math.max(yb, 1e-4), mg = Math.max(yg, 1e-4), mr = Math.max(yr, 1e-4), mn = Math.max(yn, 1e-4);
  const rb = xb / mb, rg = xg / mg;
  const rr = xr / mr, rn = xn / mn;
  const rlo = Math.min(rb, rg, rr, rn), rhi = Math.max(0, rb, rg, rr, rn);
  if (rhi < 0.93 && rhi < 1.3 * rlo) return rhi < 0.7 ? 2 : 1;
  return 0;
}

/**
 * The per-pixel weather tests of scoreRows in one call: illumination in both directions
 * (before → after | after → before: bits 0–1) and isCloudOrShadow of the before (bit 2) and the
 * after (bit 3) epoch, reading the reflectances from PX (before blue, green, red, nir, then
 * after; PX[8] and PX[9] the before and after swir1, −1 without it). No double crosses a call:
 * scoreRows is too large for V8 to inline all these tests into it, and every double passed to
 * (or returned from) a call that is not inlined is boxed on the heap: up to ~20 heap numbers per
 * pixel, ~0.5 GB of garbage per 2 Mpx strip.
 */
function weatherBits(): number {
  return illumination(PX, 0, 4) | illumination(PX, 4, 0) | (cloudAt(PX, 0, 8) ? 4 : 0) | (cloudAt(PX, 4, 9) ? 8 : 0);
}

/** weatherBits' inputs (module scratch: a thread scores one strip at a time). */
const PX = new Float64Array(10);

/**
 * Range [min, max] of band `a` over pixel i and its 8 neighbours, all inside the raster and valid,
 * written to RANGE[0] and RANGE[1] (the caller turns it into the distance: no double crosses the
 * call, see weatherBits). A branch per neighbour mispredicts (neighbours are noise), so min
 * and max are kept by arithmetic selects: with b = +(v < lo) ∈ {0, 1}, b·v + (1 − b)·lo is v or
 * lo exactly (the other term is ±0), for finite values. A NaN or infinity turns lo or hi into NaN
 * (0 · ∞), and then the neighbours are scanned again with comparisons, as rangeList does. The
 * sign of a zero bound can differ from the comparison scan's, which changes no distance.
 */
function range9(a: Float32Array, i: number, w: number): void {
  let lo = a[i], hi = lo, v = 0, b = 0;
  v = a[i - w - 1]; b = +(v < lo); lo = b * v + (1 - b) * lo; b = +(v > hi); hi = b * v + (1 - b) * hi;
  v = a[i - w]; b = +(v < lo); lo = b * v + (1 - b) * lo; b = +(v > hi); hi = b * v + (1 - b) * hi;
  v = a[i - w + 1]; b = +(v < lo); lo = b * v + (1 - b) * lo; b = +(v > hi); hi = b * v + (1 - b) * hi;
  v = a[i - 1]; b = +(v < lo); lo = b * v + (1 - b) * lo; b = +(v > hi); hi = b * v + (1 - b) * hi;
  v = a[i + 1]; b = +(v < lo); lo = b * v + (1 - b) * lo; b = +(v > hi); hi = b * v + (1 - b) * hi;
  v = a[i + w - 1]; b = +(v < lo); lo = b * v + (1 - b) * lo; b = +(v > hi); hi = b * v + (1 - b) * hi;
  v = a[i + w]; b = +(v < lo); lo = b * v + (1 - b) * lo; b = +(v > hi); hi = b * v + (1 - b) * hi;
  v = a[i + w + 1]; b = +(v < lo); lo = b * v + (1 - b) * lo; b = +(v > hi); hi = b * v + (1 - b) * hi;
  if (lo !== lo || hi !== hi) {
    range9Scan(a, i, w);
    return;
  }
  RANGE[0] = lo;
  RANGE[1] = hi;
}

/**
 * range9 from the nine values' min `lo` and max `hi` made beforehand (rangeRow: f32x4.min/max, exact
 * on ordered values, NaN when one of the nine is NaN): the same distance, and the same fallback to
 * the comparison scan wherever range9 takes it on NaN (where range9 falls back on an infinity, the
 * scan's min and max are the exact ones these are).
 */
function rangeAt(lo: number, hi: number, a: Float32Array, i: number, w: number, av: number, k: number): number {
  if (lo !== lo || hi !== hi) {
    range9Scan(a, i, w);
    return rangeDist(av, RANGE[0], RANGE[1], k);
  }
  return av < lo ? -((lo - av) * k) : av > hi ? (av - hi) * k : 0;
}

/** range9 by comparisons, whatever the values (NaN never compares, so it is left out). */
function range9Scan(a: Float32Array, i: number, w: number): void {
  let lo = a[i], hi = lo;
  for (let rr = -w; rr <= w; rr += w) {
    for (let cc = -1; cc <= 1; cc++) {
      const v = a[i + rr + cc];
      if (v < lo) lo = v;
      else if (v > hi) hi = v;
    }
  }
  RANGE[0] = lo;
  RANGE[1] = hi;
}

/** range9's bounds (module scratch). */
const RANGE = new Float64Array(2);

/** Signed distance (σ units: × k) of `av` from [lo, hi]: negative below, 0 inside. */
const rangeDist = (av: number, lo: number, hi: number, k: number): number => (av < lo ? -((lo - av) * k) : av > hi ? (av - hi) * k : 0);

/** range9 over pixel i and the `nn` valid neighbours listed in `nbr` (raster edges, nodata nearby). */
function rangeList(a: Float32Array, i: number, nbr: Int32Array, nn: number, av: number, k: number): number {
  let lo = a[i], hi = lo;
  for (let t = 0; t < nn; t++) {
    const v = a[nbr[t]];
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  return av < lo ? -((lo - av) * k) : av > hi ? (av - hi) * k : 0;
}

/** A pixel that cannot be compared (nodata, or white or black in both epochs): NaN everywhere, NOT_OBSERVED. */
function hideRow(i: number, raw: Float32Array, plain: Float32Array | null, type: Uint8Array, planes: Float32Array[] | null): void {
  raw[i] = NaN;
  if (plain !== null) plain[i] = NaN;
  type[i] = NOT_OBSERVED;
  if (planes !== null) {
    for (let k = 0; k < BASE_PLANES.length; k++) planes[k][i] = NaN; // BASE numbers the planes 0…17
  }
}

/**
 * The per-pixel pass of scorePixels over rows [r0, r1): raw score, type code, plain difference
 * and the learned base planes. Bands unrolled into locals (the band-array version read every value
 * through two arrays and allocated a closure per pixel); every sum keeps the band order of the
 * original loop, so the results are bit for bit the same.
 */
function scoreRows(job: RowJob): void {
  const { width, height, r0, r1, nb, inv, useRange, ndviVegetated, vegetatedBothWeight, v0, v1, hasS1, hasS2, rangeR, raw, plain, type, planes } = job;
  // Without both swir bands (4-band imagery) the swir planes hold 0: only the 4-band model, which
  // never reads them, scores such tiles (detectPair checks).
  const swir = hasS1 && hasS2;
  const { b0, g0, red0, n0, s10, s20, b1, g1, red1, n1, s11, s21 } = job;
  const gB = job.gain[0], gG = job.gain[1], gR = job.gain[2], gN = job.gain[3], gS1 = job.gain[4], gS2 = job.gain[5];
  const oB = job.off[0], oG = job.off[1], oR = job.off[2], oN = job.off[3], oS1 = job.off[4], oS2 = job.off[5];
  const kB = job.isig[0], kG = job.isig[1], kR = job.isig[2], kN = job.isig[3], kS1 = job.isig[4], kS2 = job.isig[5];
  const skip2 = RANGE_SKIP * RANGE_SKIP * nb;
  const nbr = new Int32Array((2 * rangeR + 1) * (2 * rangeR + 1));
  const learned = planes !== null;
  const dummy = raw; // stands in for the planes without the model (never written)
  const pDB = planes ? planes[BASE.dBlue] : dummy, pDG = planes ? planes[BASE.dGreen] : dummy, pDR = planes ? planes[BASE.dRed] : dummy;
  const pDN = planes ? planes[BASE.dNir] : dummy, pDS1 = planes ? planes[BASE.dSwir1] : dummy, pDS2 = planes ? planes[BASE.dSwir2] : dummy;
  const pNdbi0 = planes ? planes[BASE.ndbi0] : dummy, pNdbi1 = planes ? planes[BASE.ndbi1] : dummy, pLr = planes ? planes[BASE.lr] : dummy;
  const pNdvi0 = planes ? planes[BASE.ndvi0] : dummy, pNdvi1 = planes ? planes[BASE.ndvi1] : dummy;
  const pNdwi0 = planes ? planes[BASE.ndwi0] : dummy, pNdwi1 = planes ? planes[BASE.ndwi1] : dummy;
  const pBr0 = planes ? planes[BASE.br0] : dummy, pBr1 = planes ? planes[BASE.br1] : dummy;
  const pBr0sq = planes ? planes[BASE.br0sq] : dummy, pBr1sq = planes ? planes[BASE.br1sq] : dummy, pDNdvi = planes ? planes[BASE.dNdvi] : dummy;
  const hasPlain = plain !== null;
  const pPlain = plain ?? dummy;
  const ranges = useRange && rangeR === 1 ? job.range : null;
  const rangeBands = [b0, g0, red0, n0, hasS1 ? s10 : null, hasS2 ? s20 : null];
  if (ranges) ranges.last = -1;
  const loB = ranges ? ranges.lo[0] : dummy, loG = ranges ? ranges.lo[1] : dummy, loR = ranges ? ranges.lo[2] : dummy, loN = ranges ? ranges.lo[3] : dummy, loS1 = ranges ? ranges.lo[4] : dummy, loS2 = ranges ? ranges.lo[5] : dummy;
  const hiB = ranges ? ranges.hi[0] : dummy, hiG = ranges ? ranges.hi[1] : dummy, hiR = ranges ? ranges.hi[2] : dummy, hiN = ranges ? ranges.hi[3] : dummy, hiS1 = ranges ? ranges.hi[4] : dummy, hiS2 = ranges ? ranges.hi[5] : dummy;

  for (let row = r0; row < r1; row++) {
    const rowRange = ranges !== null && row > 0 && row + 1 < height;
    if (rowRange) rangeRow(ranges, rangeBands, width, row);
    for (let col = 0; col < width; col++) {
      const i = row * width + col;
      // Every double below is a const or merges only with other doubles: a local that starts as
      // the integer 0 and becomes a double on some path (or a `cond ? x : NaN`) is kept boxed by
      // V8, a heap number per pixel (measured: ~100 MB of garbage per 2 Mpx strip).
      if (!v0[i] || !v1[i]) {
        hideRow(i, raw, plain, type, planes);
        continue;
      }
      // Normalised after (a…), signed differences in σ (d…), reflectances before (y…) and after (x…).
      const aB = gB * b1[i] + oB, yB = b0[i] * inv, xB = aB * inv;
      const aG = gG * g1[i] + oG, yG = g0[i] * inv, xG = aG * inv;
      const aR = gR * red1[i] + oR, yR = red0[i] * inv, xR = aR * inv;
      const aN = gN * n1[i] + oN, yN = n0[i] * inv, xN = aN * inv;
      let dB = (aB - b0[i]) * kB, dG = (aG - g0[i]) * kG, dR = (aR - red0[i]) * kR, dN = (aN - n0[i]) * kN;
      // Same order as a running sum from 0 over the bands (0 + v is v exactly).
      let m2v = dB * dB + dG * dG + dR * dR + dN * dN;
      let m2 = m2v;
      // Swir (6-band tiles only): without it these stay 0 and are never read.
      let aS1 = 0, aS2 = 0, dS1 = 0, dS2 = 0, yS1 = 0, yS2 = 0, xS1 = 0, xS2 = 0;
      if (hasS1) { aS1 = gS1 * s11[i] + oS1; dS1 = (aS1 - s10[i]) * kS1; m2 += dS1 * dS1; yS1 = s10[i] * inv; xS1 = aS1 * inv; }
      if (hasS2) { aS2 = gS2 * s21[i] + oS2; dS2 = (aS2 - s20[i]) * kS2; m2 += dS2 * dS2; yS2 = s20[i] * inv; xS2 = aS2 * inv; }
      if (hasPlain) pPlain[i] = Math.sqrt(m2 / nb);
      PX[0] = yB; PX[1] = yG; PX[2] = yR; PX[3] = yN;
      PX[4] = xB; PX[5] = xG; PX[6] = xR; PX[7] = xN;
      if (hasS1) { PX[8] = yS1; PX[9] = xS1; } else { PX[8] = -1; PX[9] = -1; }
      const bits = weatherBits();
      const illum = bits & 3;
      const cloud0 = (bits & 4) !== 0;
      const cloud1 = (bits & 8) !== 0;
      // Cloud-like in one epoch: scored like any pixel and flagged; maskCloudFringes hides the
      // patches large enough to be weather (a small one is a white roof or a building's shadow).
      const candidate = illum >= 2 || cloud0 !== cloud1;
      // White or black in both epochs is a surface (concrete apron, white roof, a building's
      // shadow), not weather; nothing to compare through it either.
      if (!candidate && cloud0 && cloud1) {
        hideRow(i, raw, plain, type, planes);
        continue;
      }
      if (useRange && m2 > skip2) {
        // 3×3 before-range distance; neighbours off the raster or invalid are left out (found once
        // for every band: min and max do not depend on the order).
        const w = width;
        if (rangeR === 1 && row > 0 && row + 1 < height && col > 0 && col + 1 < width && v0[i - w - 1] && v0[i - w] && v0[i - w + 1] && v0[i - 1] && v0[i + 1] && v0[i + w - 1] && v0[i + w] && v0[i + w + 1]) {
          if (rowRange) {
            dB = rangeAt(loB[col], hiB[col], b0, i, w, aB, kB);
            dG = rangeAt(loG[col], hiG[col], g0, i, w, aG, kG);
            dR = rangeAt(loR[col], hiR[col], red0, i, w, aR, kR);
            dN = rangeAt(loN[col], hiN[col], n0, i, w, aN, kN);
            if (hasS1) dS1 = rangeAt(loS1[col], hiS1[col], s10, i, w, aS1, kS1);
            if (hasS2) dS2 = rangeAt(loS2[col], hiS2[col], s20, i, w, aS2, kS2);
          } else {
            range9(b0, i, w); dB = rangeDist(aB, RANGE[0], RANGE[1], kB);
            range9(g0, i, w); dG = rangeDist(aG, RANGE[0], RANGE[1], kG);
            range9(red0, i, w); dR = rangeDist(aR, RANGE[0], RANGE[1], kR);
            range9(n0, i, w); dN = rangeDist(aN, RANGE[0], RANGE[1], kN);
            if (hasS1) { range9(s10, i, w); dS1 = rangeDist(aS1, RANGE[0], RANGE[1], kS1); }
            if (hasS2) { range9(s20, i, w); dS2 = rangeDist(aS2, RANGE[0], RANGE[1], kS2); }
          }
        } else {
          const rA = row >= rangeR ? row - rangeR : 0, rB = row + rangeR < height ? row + rangeR : height - 1;
          const cA = col >= rangeR ? col - rangeR : 0, cB = col + rangeR < width ? col + rangeR : width - 1;
          let nn = 0;
          for (let rr = rA; rr <= rB; rr++) {
            for (let cc = cA; cc <= cB; cc++) {
              const j = rr * width + cc;
              if (v0[j]) nbr[nn++] = j;
            }
          }
          dB = rangeList(b0, i, nbr, nn, aB, kB);
          dG = rangeList(g0, i, nbr, nn, aG, kG);
          dR = rangeList(red0, i, nbr, nn, aR, kR);
          dN = rangeList(n0, i, nbr, nn, aN, kN);
          if (hasS1) dS1 = rangeList(s10, i, nbr, nn, aS1, kS1);
          if (hasS2) dS2 = rangeList(s20, i, nbr, nn, aS2, kS2);
        }
        // Same band order as the plain sum above.
        m2v = dB * dB + dG * dG + dR * dR + dN * dN;
        m2 = m2v;
        if (hasS1) m2 += dS1 * dS1;
        if (hasS2) m2 += dS2 * dS2;
      }
      const ndvi0 = nd(yN, yR);
      const ndvi1 = nd(xN, xR);
      const water0 = hasS1 ? nd(yG, yS1) > MNDWI_WATER : nd(yG, yN) > NDWI_WATER;
      const water1 = hasS1 ? nd(xG, xS1) > MNDWI_WATER : nd(xG, xN) > NDWI_WATER;
      const veg0 = ndvi0 > ndviVegetated;
      const veg1 = ndvi1 > ndviVegetated;
      const soil1 = hasS1 ? nd(xS1 + xR, xN + xB) > BSI_SOIL : nd(xR, xB) > REDNESS_SOIL;
      // Down-weighted (vegetatedBothWeight) or not: a flag, not a weight of 1 that a double
      // weight would replace (see the note at the top of the loop). 1 × x is x exactly.
      let weighted = false;
      let code: number;
      if (water0 && !water1) code = CHANGE_TYPE_CODES.water_fill;
      else if (!water0 && water1) code = CHANGE_TYPE_CODES.new_water;
      else if (veg0 && veg1) {
        // Still vegetated: phenology or crop change, not land taken.
        weighted = true;
        code = STILL_VEGETATED;
      } else if (veg1 && ndvi1 > ndvi0) {
        // Regrowth onto bare land is not an enforcement change.
        weighted = true;
        code = CHANGE_TYPE_CODES.none;
      } else if (veg0 && ndvi1 > CLEARED_NDVI) code = CHANGE_TYPE_CODES.vegetation_loss;
      else code = soil1 ? CHANGE_TYPE_CODES.bare_soil : CHANGE_TYPE_CODES.construction;
      const rms = Math.sqrt(m2 / nb);
      if (weighted) raw[i] = vegetatedBothWeight * rms;
      else raw[i] = rms;
      type[i] = (illum ? code | CLOUD_FRINGE_FLAG : code) | (candidate ? CLOUD_CANDIDATE_FLAG : 0);
      if (learned) {
        pDB[i] = dB > D_CLIP ? D_CLIP : dB < -D_CLIP ? -D_CLIP : dB;
        pDG[i] = dG > D_CLIP ? D_CLIP : dG < -D_CLIP ? -D_CLIP : dG;
        pDR[i] = dR > D_CLIP ? D_CLIP : dR < -D_CLIP ? -D_CLIP : dR;
        pDN[i] = dN > D_CLIP ? D_CLIP : dN < -D_CLIP ? -D_CLIP : dN;
        pDS1[i] = !swir ? 0 : dS1 > D_CLIP ? D_CLIP : dS1 < -D_CLIP ? -D_CLIP : dS1;
        pDS2[i] = !swir ? 0 : dS2 > D_CLIP ? D_CLIP : dS2 < -D_CLIP ? -D_CLIP : dS2;
        pNdbi0[i] = swir ? nd(yS1, yN) : 0;
        pNdbi1[i] = swir ? nd(xS1, xN) : 0;
        pLr[i] = Math.log1p(Math.sqrt(m2v / 4));
        pNdvi0[i] = ndvi0;
        pNdvi1[i] = ndvi1;
        pNdwi0[i] = nd(yG, yN);
        pNdwi1[i] = nd(xG, xN);
        const br0 = (yB + yG + yR + yN) / 4;
        const br1 = (xB + xG + xR + xN) / 4;
        pBr0[i] = br0;
        pBr1[i] = br1;
        pBr0sq[i] = br0 * br0;
        pBr1sq[i] = br1 * br1;
        pDNdvi[i] = ndvi1 - ndvi0;
      }
    }
  }
}

/**
 * Whether a pixel of type code `t` may be rescued (LearnedParams.rescueSigma): any change type
 * (`allTypes`, LearnedParams.rescueAllTypes), else vegetation loss and water only.
 */
function rescuable(t: number, allTypes: boolean): boolean {
  const c = t & ~(CLOUD_FRINGE_FLAG | CLOUD_CANDIDATE_FLAG);
  return allTypes
    ? c >= CHANGE_TYPE_CODES.construction && c <= CHANGE_TYPE_CODES.new_water
    : c === CHANGE_TYPE_CODES.vegetation_loss || c === CHANGE_TYPE_CODES.water_fill || c === CHANGE_TYPE_CODES.new_water;
}

/** score[i] = NaN where type[base + i] is hidden (≥ CLOUDED), for i < n. */
function hideScores(type: Uint8Array, base: number, score: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) if (type[base + i] >= CLOUDED) score[i] = NaN;
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
  const rangeR = rangeRadius(params.score.pixelSizeM);
  const fits = (s: ScoreScratch) => s.capacity >= n && s.vsum.length >= width && s.pass.width === width && s.pass.maxR >= rangeR;
  const sc = scratch && fits(scratch) ? scratch : { ...createScoreScratch(width, height, params.score.pixelSizeM), referencePass: scratch?.referencePass };
  const bands = ALL_BANDS.filter((b) => before.bands[b] && after.bands[b] && fit.bands[b]);
  for (const b of ['blue', 'green', 'red', 'nir'] as const) {
    if (!bands.includes(b)) throw new Error(`scorePixels: band '${b}' missing in an epoch or in the NormFit`);
  }
  const nb = bands.length;
  const gain = bands.map((b) => fit.bands[b]!.gain);
  const off = bands.map((b) => fit.bands[b]!.offset);
  const isig = bands.map((b) => 1 / fit.bands[b]!.sigma);
  const iB = bands.indexOf('blue'), iG = bands.indexOf('green'), iR = bands.indexOf('red'), iN = bands.indexOf('nir');
  const iS = bands.indexOf('swir1');
  const iS2 = bands.indexOf('swir2');
  const inv = 1 / fit.reflectanceScale;
  // The learned path keeps raw and plain in the feature scratch's memory, where its box means run in WebAssembly.
  const raw = learned ? learned.scratch.raw : sc.raw;
  // Only the learned gate reads the plain difference: the unsupervised score never computes it.
  const plain = learned && params.learned.gateOn === 'plain' ? learned.scratch.plain : null;
  // The pass kernel writes in place: the type codes live beside raw (the learned path: in the feature scratch).
  const type = learned ? learned.scratch.type : sc.type;
  const bv = before.valid;
  // Rows the box means read (the score's, and the learned features' context).
  // Feature windows are set in metres: their pixels follow the tile's pixel size (atPixelSize).
  const radii = featureRadii(params.score.pixelSizeM);
  const ctx = learned ? Math.max(params.score.smoothRadius, radii.context) : params.score.smoothRadius;
  const r0 = Math.max(0, first - ctx);
  const r1 = Math.min(height, first + count + ctx);
  const planes = learned?.scratch.base;
  if (learned && learned.scratch.capacity < n) throw new Error(`scorePixels: feature scratch holds ${learned.scratch.capacity} px, strip has ${n}`);
  const useRange = params.score.rangeDifference !== false;
  const ms = sc.kernelMs ?? threadSink?.ms;
  const clock = sc.kernelMs ? (sc.kernelClock ?? wallMs) : (threadSink?.clock ?? wallMs);
  let t0 = ms ? clock() : 0;

  // Per-band coefficients in the fixed slots blue, green, red, nir, swir1, swir2 (0 where absent).
  const slots = (a: number[]) => Float64Array.from([iB, iG, iR, iN, iS, iS2], (k) => (k >= 0 ? a[k] : 0));
  const band = (r: Raster, k: number) => (k >= 0 ? r.bands[bands[k]]! : r.bands.blue!); // absent swir: never read
  const job: RowJob = {
    width, height, r0, r1, nb, inv, useRange,
    ndviVegetated: params.score.ndviVegetated, vegetatedBothWeight: params.score.vegetatedBothWeight,
    v0: bv, v1: after.valid,
    b0: band(before, iB), g0: band(before, iG), red0: band(before, iR), n0: band(before, iN), s10: band(before, iS), s20: band(before, iS2),
    b1: band(after, iB), g1: band(after, iG), red1: band(after, iR), n1: band(after, iN), s11: band(after, iS), s21: band(after, iS2),
    hasS1: iS >= 0, hasS2: iS2 >= 0, rangeR,
    gain: slots(gain), off: slots(off), isig: slots(isig),
    raw, plain, type, planes: planes ?? null, planeMask: learned?.use?.planes ?? ALL_PLANES, range: learned?.scratch.range ?? null,
    gateShift: params.learned.gateShift, gateBothWays: params.learned.gateBothWays,
  };
  if (sc.referencePass) scoreRows(job);
  else runPass(learned ? learned.scratch.pass : sc.pass, job);
  t0 = lap(ms, 'pixels', t0, clock);
  // The misregistration-tolerant gate (LearnedParams.gateShift): the WebAssembly pass rewrote the
  // plain plane row by row already; the JS pass (the reference) takes this post-pass over it, the
  // same bits (revisits only pixels past SHIFT_SKIP).
  const shift = params.learned.gateShift;
  if (plain && shift > 0 && sc.referencePass) {
    tolerateShift({
      width, height, r0, r1, rangeR, v0: bv, v1: after.valid, plain, bothWays: params.learned.gateBothWays,
      before: bands.map((b) => before.bands[b]!), after: bands.map((b) => after.bands[b]!), gain, off, isig,
    }, shift);
    t0 = lap(ms, 'shift', t0, clock);
  }
  // The learned path smooths into its scratch (its gate runs in WebAssembly there) and copies the
  // probabilities out at the end.
  const score = learned ? learned.scratch.score : out.score;
  if (learned) featureBoxMean(learned.scratch, raw, width, height, params.score.smoothRadius, first, count, score);
  else boxMeanRows(raw, width, height, params.score.smoothRadius, first, count, sc, score);
  t0 = lap(ms, 'smooth', t0, clock);
  const base = first * width;
  // The output rows' types in one copy; the hidden ones' scores become NaN.
  out.type.set(type.subarray(base, base + nOut));
  // The learned gate below writes the hidden scores in the same sweep.
  if (!learned) hideScores(type, base, score, nOut);
  t0 = lap(ms, 'types', t0, clock);
  if (learned) {
    // Score = change probability. Gate: below LearnedParams.gateSigma of unsupervised evidence (plain or
    // 3×3-range difference, LearnedParams.gateOn) nothing is change. Rescue
    // (LearnedParams.rescueSigma): the model learned OSCD's small urban changes only, so a
    // change far above the unsupervised floor (vegetation cleared, water filled or dug, a large
    // uniform site) still passes at exactly the model's threshold.
    let gateScore = score;
    if (!params.learned.gateSmooth) {
      // Each pixel's own evidence (LearnedParams.gateSmooth false): a box mean lends a field edge's
      // difference to the pixels beside it, and the model's context features then call them.
      gateScore = (plain ?? raw).subarray(first * width, first * width + nOut);
    } else if (params.learned.gateOn === 'plain') {
      gateScore = learned.scratch.t1; // contextFeatures uses it afterwards (the asked list is made by then)
      featureBoxMean(learned.scratch, plain!, width, height, params.score.smoothRadius, first, count, gateScore);
    }
    const rescue = params.learned.rescueSigma;
    const gate = params.learned.gateSigma;
    const threshold = learned.threshold;
    const allTypes = params.learned.rescueAllTypes;
    const types = out.type;
    // Only pixels past the gate ask the trees (the costliest step); a gated pixel's probability
    // could only ever be capped below the threshold, so it is 0, or the threshold where rescued:
    // written in this sweep (assembly/box-mean.ts gateSweep), with the hidden pixels' NaN. The
    // asked pixels keep their smoothed score until the trees have answered (the rescue reads it).
    const asked = learned.scratch.asked;
    const fs = learned.scratch;
    if (gateScore.buffer !== fs.kernel.memory.buffer) throw new Error('scorePixels: the gate evidence is not in the feature scratch');
    const nAsked = fs.kernel.gateSweep(type.byteOffset + base, gateScore.byteOffset, score.byteOffset, nOut, gate, rescue, threshold, allTypes ? 1 : 0, asked.byteOffset);
    t0 = lap(ms, 'gate', t0, clock);
    // After the gate: with LearnedScoring.use, the texture is made at the asked pixels only.
    const use = learned.use;
    contextFeatures(learned.scratch, width, height, first, count, learned.features, radii, use ? { use, at: asked, n: nAsked } : undefined);
    t0 = lap(ms, 'features', t0, clock);
    const prob = learned.scratch.t0;
    predictPlanes(learned.folded, learned.features, asked, nAsked, prob, learned.scratch.trees);
    t0 = lap(ms, 'trees', t0, clock);
    if (ms) ms.askedPx = (ms.askedPx ?? 0) + nAsked;
    for (let k = 0; k < nAsked; k++) {
      const i = asked[k];
      let p = prob[k];
      if (rescue > 0 && score[i] >= rescue && rescuable(types[i], allTypes) && p < threshold) p = threshold;
      score[i] = p === p ? p : 0;
    }
    out.score.set(score.subarray(0, nOut));
    lap(ms, 'rescue', t0, clock);
  }
}
