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
function guessScale(p99: number): number {
  if (p99 <= 2) return 1;
  if (p99 <= 255) return 255;
  return 10_000;
}

/**
 * The k-th smallest of a[0..n) (0-based), reordering a[0..n) in place: Hoare's selection, O(n) on
 * average where a sort is O(n log n) — the fit takes ~20 order statistics of 250k samples. The
 * value is exactly the sorted array's a[k] (an order statistic does not depend on how it is found).
 */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    // Median of three as the pivot: no quadratic case on sorted or constant runs.
    const mid = (lo + hi) >> 1;
    const x = a[lo], y = a[mid], z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Scratch for order statistics, so they do not reorder the caller's array. */
let orderScratch = new Float64Array(0);

/** The k-th smallest of a[0..n), as `a.slice(0, n).sort()[k]`. */
function orderStatistic(a: Float64Array, n: number, k: number): number {
  if (orderScratch.length < n) orderScratch = new Float64Array(n);
  orderScratch.set(a.subarray(0, n));
  return select(orderScratch, n, k);
}

function median(a: Float64Array, n: number): number {
  if (n === 0) return 0;
  if (n % 2) return orderStatistic(a, n, (n - 1) >> 1);
  // The upper middle is the smallest value above the lower middle's position after selecting it.
  const lower = orderStatistic(a, n, n / 2 - 1);
  let upper = Infinity;
  for (let i = n / 2; i < n; i++) if (orderScratch[i] < upper) upper = orderScratch[i];
  return (lower + upper) / 2;
}

type FitOptions = Pick<ScoreParams, 'normIterations' | 'normKeepShare'>;

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
  // x = after, y = before, band-major: x[b*n + k].
  const x = new Float64Array(nb * n);
  const y = new Float64Array(nb * n);
  let k = 0;
  let seen = 0;
  for (const s of samples) {
    const v0 = s.before.valid;
    const v1 = s.after.valid;
    for (let i = 0; i < v0.length; i++) {
      if (!v0[i] || !v1[i]) continue;
      if (seen++ % stride !== 0 || k >= n) continue;
      for (let b = 0; b < nb; b++) {
        x[b * n + k] = s.after.bands[bands[b]]![i];
        y[b * n + k] = s.before.bands[bands[b]]![i];
      }
      k++;
    }
  }
  const m = k;
  const fit: NormFit = { bands: {}, reflectanceScale: 1, samplePixels: m, invariantPixels: m };
  if (m < 10 || nb === 0) return fit;

  const keep = new Uint8Array(m).fill(1);
  const gain = new Float64Array(nb).fill(1);
  const offset = new Float64Array(nb);
  const sigma = new Float64Array(nb).fill(1);
  const tmp = new Float64Array(m);
  const chi = new Float64Array(m);
  let kept = m;

  const refit = () => {
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
      sigma[b] = Math.max(1.4826 * median(tmp, m), 1e-6);
    }
  };

  refit();
  for (let it = 0; it < opts.normIterations; it++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let b = 0; b < nb; b++) {
        const r = (y[b * n + j] - (gain[b] * x[b * n + j] + offset[b])) / sigma[b];
        s += r * r;
      }
      chi[j] = s;
    }
    const cut = orderStatistic(chi, m, Math.min(m - 1, Math.floor(opts.normKeepShare * m)));
    kept = 0;
    for (let j = 0; j < m; j++) {
      keep[j] = chi[j] <= cut ? 1 : 0;
      kept += keep[j];
    }
    refit();
  }

  // Reflectance scale from the 99th percentile of the brightest band.
  let p99 = 0;
  for (let bi = 0; bi < nb; bi++) {
    p99 = Math.max(p99, orderStatistic(y.subarray(bi * n, bi * n + m), m, Math.floor(0.99 * (m - 1))));
  }
  fit.reflectanceScale = guessScale(p99);
  fit.invariantPixels = kept;
  for (let b = 0; b < nb; b++) fit.bands[bands[b]] = { gain: gain[b], offset: offset[b], sigma: sigma[b] };
  return fit;
}
