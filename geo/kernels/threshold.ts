/**
 * Histogram-based thresholds for change scores (index differences, distances…).
 *
 * All functions share one binning: `bins.length` equal bins over [lo, hi) in data units,
 * bin k covering [lo + k·step, lo + (k+1)·step) with step = (hi − lo) / bins.length.
 * Values below lo land in bin 0 and values ≥ hi in the last bin, so counts are never lost.
 *
 * Which threshold for what:
 * - `otsuThreshold`: two populations of comparable weight (e.g. water/land on NDWI). On change
 *   scores where only a few % of pixels change it is pulled towards the big no-change mode and
 *   over-detects.
 * - `kittlerIllingworth`: minimum-error fit of two Gaussians with their own weights and spreads;
 *   copes with imbalanced classes (down to a few %) as long as the change tail forms a bump.
 * - `robustUpperThreshold`: median + k·MAD of the whole histogram. Treats the change pixels as
 *   outliers of the no-change population; right when change is rare (≲ 5 %) and may have no
 *   bump at all. k = 3…5 robust sigmas is typical.
 * - `quantileFromHistogram`: fixed-rate cuts (e.g. "top 2 %") and the building block of the above.
 */

/**
 * Accumulate `values` into `bins` (counts are added, not reset — call `bins.fill(0)` first for a
 * fresh histogram). NaN values and pixels with `valid[i] === 0` are skipped; others are clamped
 * into the first/last bin. `lo`/`hi` in data units, hi > lo.
 */
export function histogram(
  values: Float32Array,
  valid: Uint8Array | null,
  lo: number,
  hi: number,
  bins: Uint32Array | Float64Array,
): void {
  const nb = bins.length;
  if (!(hi > lo)) throw new Error(`histogram: hi (${hi}) must be greater than lo (${lo}).`);
  if (nb === 0) throw new Error('histogram: bins is empty; pass e.g. new Uint32Array(256).');
  if (valid && valid.length < values.length) {
    throw new Error(`histogram: valid has ${valid.length} entries for ${values.length} values.`);
  }
  const scale = nb / (hi - lo);
  const last = nb - 1;
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v) continue; // NaN
    if (valid !== null && valid[i] === 0) continue;
    const t = (v - lo) * scale;
    // t ≥ 0 here, so truncation is floor; the range check comes first so | 0 never overflows.
    bins[t < 1 ? 0 : t >= last ? last : t | 0]++;
  }
}

/**
 * Otsu's threshold: maximises the between-class variance. Returns a bin edge in data units;
 * "above" = values ≥ the returned threshold. NaN when the histogram is empty or single-valued.
 */
export function otsuThreshold(hist: ArrayLike<number>, lo: number, hi: number): number {
  const nb = hist.length;
  let total = 0;
  let sumAll = 0;
  for (let k = 0; k < nb; k++) {
    total += hist[k];
    sumAll += k * hist[k];
  }
  if (total === 0) return NaN;
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let bestK = -1;
  for (let k = 0; k < nb - 1; k++) {
    w0 += hist[k];
    sum0 += k * hist[k];
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const d = sum0 / w0 - (sumAll - sum0) / w1;
    const between = w0 * w1 * d * d;
    if (between > best) {
      best = between;
      bestK = k;
    }
  }
  if (bestK < 0) return NaN;
  // Several bins can tie when the classes are separated by empty bins: take the middle of the
  // flat stretch so the cut sits halfway between the populations, not glued to one of them.
  // (Empty bins leave w0, and so the criterion, unchanged.)
  let endK = bestK;
  while (endK + 1 < nb - 1 && hist[endK + 1] === 0) endK++;
  const step = (hi - lo) / nb;
  return lo + ((bestK + endK) / 2 + 1) * step;
}

/** Value (data units) at the linearly interpolated cumulative fraction q ∈ [0, 1]. NaN if empty. */
export function quantileFromHistogram(hist: ArrayLike<number>, lo: number, hi: number, q: number): number {
  const nb = hist.length;
  let total = 0;
  for (let k = 0; k < nb; k++) total += hist[k];
  if (total === 0) return NaN;
  const step = (hi - lo) / nb;
  const target = Math.min(Math.max(q, 0), 1) * total;
  let cum = 0;
  for (let k = 0; k < nb; k++) {
    const c = hist[k];
    if (c > 0 && cum + c >= target) return lo + (k + (target - cum) / c) * step;
    cum += c;
  }
  return hi;
}

/** Fraction of the histogram below x (data units), linear within a bin. */
function cdfAt(hist: ArrayLike<number>, lo: number, step: number, total: number, x: number): number {
  const t = (x - lo) / step;
  if (t <= 0) return 0;
  const nb = hist.length;
  if (t >= nb) return 1;
  const k = Math.floor(t);
  let cum = 0;
  for (let i = 0; i < k; i++) cum += hist[i];
  return (cum + (t - k) * hist[k]) / total;
}

/**
 * Kittler–Illingworth minimum-error threshold: fits one Gaussian per side of each candidate cut
 * and keeps the cut with the lowest classification-error criterion
 * J = 1 + 2(P0 ln σ0 + P1 ln σ1) − 2(P0 ln P0 + P1 ln P1). Data units; NaN when no cut has
 * both sides populated. Variances are floored at one bin's quantisation variance (step²/12)
 * so a spike of identical values does not drive ln σ to −∞.
 */
export function kittlerIllingworth(hist: ArrayLike<number>, lo: number, hi: number): number {
  const nb = hist.length;
  let total = 0;
  let s1 = 0;
  let s2 = 0;
  for (let k = 0; k < nb; k++) {
    const c = hist[k];
    total += c;
    s1 += c * k;
    s2 += c * k * k;
  }
  if (total === 0) return NaN;
  const floor = 1 / 12; // in bin units²
  let w0 = 0;
  let a1 = 0;
  let a2 = 0;
  let best = Infinity;
  let bestK = -1;
  for (let k = 0; k < nb - 1; k++) {
    const c = hist[k];
    w0 += c;
    a1 += c * k;
    a2 += c * k * k;
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = a1 / w0;
    const m1 = (s1 - a1) / w1;
    const v0 = Math.max(a2 / w0 - m0 * m0, floor);
    const v1 = Math.max((s2 - a2) / w1 - m1 * m1, floor);
    const p0 = w0 / total;
    const p1 = w1 / total;
    // 2·P·ln σ = P·ln σ²
    const j = 1 + p0 * Math.log(v0) + p1 * Math.log(v1) - 2 * (p0 * Math.log(p0) + p1 * Math.log(p1));
    if (j < best) {
      best = j;
      bestK = k;
    }
  }
  if (bestK < 0) return NaN;
  return lo + (bestK + 1) * ((hi - lo) / nb);
}

/**
 * Robust "no-change + k sigma" threshold: median + k · 1.4826 · MAD, all from the histogram
 * (MAD found by bisection on the interpolated CDF, to 1e-6 of the range). Data units; NaN if empty.
 * 1.4826·MAD estimates σ of a Gaussian core, so k reads as "robust sigmas above the median".
 */
export function robustUpperThreshold(hist: ArrayLike<number>, lo: number, hi: number, k: number): number {
  const nb = hist.length;
  let total = 0;
  for (let i = 0; i < nb; i++) total += hist[i];
  if (total === 0) return NaN;
  const step = (hi - lo) / nb;
  const med = quantileFromHistogram(hist, lo, hi, 0.5);
  let a = 0;
  let b = hi - lo;
  for (let it = 0; it < 60 && b - a > 1e-6 * (hi - lo); it++) {
    const d = (a + b) / 2;
    const inside = cdfAt(hist, lo, step, total, med + d) - cdfAt(hist, lo, step, total, med - d);
    if (inside < 0.5) a = d;
    else b = d;
  }
  const mad = (a + b) / 2;
  return med + k * 1.4826 * mad;
}
