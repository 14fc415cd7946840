/**
 * Relative radiometric normalisation of the after epoch onto the before epoch
 * (IR-MAD-lite): per band, before ≈ gain·after + offset, fitted by least squares on
 * pseudo-invariant pixels. Start from all valid sample pixels, score each pixel by its
 * standardised residual over all bands, keep the least-changed share, refit; repeat.
 * Works from sparse sample windows chosen by the driver, so a whole tile is never held.
 */
import type { BandName, Raster } from '../../geo/raster.js';
import { BAND_NAMES } from '../../geo/raster.js';
import type { ScoreParams } from './detector-params.js';
import { kthSmallest, medianOf } from './order-statistic.js';

export interface BandFit {
  /** before ≈ gain · after + offset, in the file's reflectance units. */
  gain: number;
  offset: number;
  /** Robust σ (1.4826·MAD) of before − normalised after over all sample pixels, file units: the no-change noise. */
  sigma: number;
}

/** Plain JSON, so it can be stored with the detection and shipped to workers. */
export interface NormFit {
  bands: Partial<Record<BandName, BandFit>>;
  /** Divide file values by this to get reflectance in [0, 1] (10000 for Sentinel-2 L1C/L2A, 255 for 8-bit DN). */
  reflectanceScale: number;
  /** Sample pixels used in the first fit / kept as pseudo-invariant in the last. */
  samplePixels: number;
  invariantPixels: number;
}

/** At most this many sample pixels enter the fit (strided evenly), keeping memory and time bounded. */
const MAX_SAMPLES = 250_000;

/** Guess the file's reflectance scale from the 0.99 quantile of the brightest band (nir of a green scene still exceeds 255 at ×10000). */
export function guessScale(p99: number): number {
  if (p99 <= 2) return 1;
  if (p99 <= 255) return 255;
  return 10_000;
}

type FitOptions = Pick<ScoreParams, 'normIterations' | 'normKeepShare'>;

/**
 * The fit's scratch (samples of both epochs, residuals), kept for the next tile where it is small:
 * fitNormalisation is synchronous, so one block serves every call in the process. A 300² tile's fit
 * needs ~10 MB; allocated per tile it was a large share of the external memory that schedules V8's
 * major GCs on a worker running many small tiles. A large tile's (up to 28 MB) is not kept.
 */
const KEEP_SCRATCH_DOUBLES = (16 * 2 ** 20) / 8;
let keptScratch = new Float64Array(0);
function fitScratch(doubles: number): Float64Array {
  if (keptScratch.length >= doubles) return keptScratch;
  const fresh = new Float64Array(doubles);
  if (doubles <= KEEP_SCRATCH_DOUBLES) keptScratch = fresh;
  return fresh;
}

/** Fewest pixels valid in both epochs that a normalisation is fitted from (fewer: an empty fit). */
export const MIN_FIT_SAMPLES = 10;

/**
 * Fits the normalisation from sample windows (each a before/after pair on one grid).
 * Bands present in every sample of both epochs are fitted; others are left out.
 */
export function fitNormalisation(
  samples: { before: Raster; after: Raster }[],
  opts: FitOptions = { normIterations: 3, normKeepShare: 0.6 },
): NormFit {
  const bands = BAND_NAMES.filter((b) => samples.length > 0 && samples.every((s) => s.before.bands[b] && s.after.bands[b]));
  let total = 0;
  for (const s of samples) {
    for (let i = 0; i < s.before.valid.length; i++) if (s.before.valid[i] && s.after.valid[i]) total++;
  }
  const stride = Math.max(1, Math.ceil(total / MAX_SAMPLES));
  const n = Math.ceil(total / stride);
  const nb = bands.length;
  // x = after, y = before, band-major: x[b*n + k]. Only [0, m) of each band is written and read,
  // so kept scratch (stale beyond) gives the same fit as fresh zeros.
  const space = fitScratch(2 * nb * n + 2 * n);
  const x = space.subarray(0, nb * n);
  const y = space.subarray(nb * n, 2 * nb * n);
  let k = 0;
  let seen = 0;
  for (const s of samples) {
    const v0 = s.before.valid;
    const v1 = s.after.valid;
    // The window's band arrays looked up once, not per pixel and band (a keyed lookup each).
    const after = bands.map((b) => s.after.bands[b]!);
    const before = bands.map((b) => s.before.bands[b]!);
    for (let i = 0; i < v0.length; i++) {
      if (!v0[i] || !v1[i]) continue;
      if (seen++ % stride !== 0 || k >= n) continue;
      for (let b = 0; b < nb; b++) {
        x[b * n + k] = after[b][i];
        y[b * n + k] = before[b][i];
      }
      k++;
    }
  }
  const m = k;
  const fit: NormFit = { bands: {}, reflectanceScale: 1, samplePixels: m, invariantPixels: m };
  if (m < MIN_FIT_SAMPLES || nb === 0) return fit;

  const keep = new Uint8Array(m).fill(1);
  const gain = new Float64Array(nb).fill(1);
  const offset = new Float64Array(nb);
  const sigma = new Float64Array(nb).fill(1);
  const tmp = space.subarray(2 * nb * n, 2 * nb * n + m);
  const chi = space.subarray(2 * nb * n + n, 2 * nb * n + n + m);
  let kept = m;

  refitBands(x, y, n, m, nb, keep, gain, offset, sigma, tmp);
  for (let it = 0; it < opts.normIterations; it++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let b = 0; b < nb; b++) {
        const r = (y[b * n + j] - (gain[b] * x[b * n + j] + offset[b])) / sigma[b];
        s += r * r;
      }
      chi[j] = s;
    }
    // tmp is free here (refitBands refills it); chi is read again below, so it is not the scratch.
    const cut = kthSmallest(chi, m, Math.min(m - 1, Math.floor(opts.normKeepShare * m)), tmp);
    kept = 0;
    for (let j = 0; j < m; j++) {
      keep[j] = chi[j] <= cut ? 1 : 0;
      kept += keep[j];
    }
    refitBands(x, y, n, m, nb, keep, gain, offset, sigma, tmp);
  }

  // Reflectance scale from the 99th percentile of the brightest band.
  let p99 = 0;
  for (let bi = 0; bi < nb; bi++) {
    p99 = Math.max(p99, kthSmallest(y.subarray(bi * n, bi * n + m), m, Math.floor(0.99 * (m - 1)), tmp));
  }
  fit.reflectanceScale = guessScale(p99);
  fit.invariantPixels = kept;
  for (let b = 0; b < nb; b++) fit.bands[bands[b]] = { gain: gain[b], offset: offset[b], sigma: sigma[b] };
  return fit;
}

/**
 * One fit of every band on the kept samples (x = after, y = before, band-major: x[b*n + j]): gain,
 * offset and robust σ. A module-level function rather than a closure inside fitNormalisation: V8
 * keeps a closure's optimised code only while an instance of it lives, so a per-tile closure was
 * compiled anew after every major GC (several per tile), and ran unoptimised meanwhile.
 */
function refitBands(x: Float64Array, y: Float64Array, n: number, m: number, nb: number, keep: Uint8Array, gain: Float64Array, offset: Float64Array, sigma: Float64Array, tmp: Float64Array): void {
  for (let b = 0; b < nb; b++) {
    let sx = 0, sy = 0, sxx = 0, syy = 0, c = 0;
    for (let j = 0; j < m; j++) {
      if (!keep[j]) continue;
      const xv = x[b * n + j];
      const yv = y[b * n + j];
      sx += xv; sy += yv; sxx += xv * xv; syy += yv * yv; c++;
    }
    const vx = sxx - (sx * sx) / c;
    const vy = syy - (sy * sy) / c;
    // Reduced-major-axis slope (σy/σx): both epochs are noisy, and ordinary least squares
    // would shrink the gain towards 0 as noise grows (regression dilution). Radiometric
    // gains are positive. A flat band (no variance) falls back to matching means.
    gain[b] = vx > 1e-9 && vy > 1e-9 ? Math.sqrt(vy / vx) : 1;
    offset[b] = (sy - gain[b] * sx) / c;
    // σ over ALL samples (robust: MAD tolerates up to half the pixels changing), so noise is not underestimated.
    for (let j = 0; j < m; j++) tmp[j] = Math.abs(y[b * n + j] - (gain[b] * x[b * n + j] + offset[b]));
    // Selected in place: tmp is refilled before every use.
    sigma[b] = Math.max(1.4826 * medianOf(tmp, m, tmp), 1e-6);
  }
}
