/**
 * Automatic threshold on the change-score histogram. Otsu assumes two classes of
 * comparable size and fails when 0.3–4 % of pixels change; so the threshold is the
 * larger of Kittler–Illingworth (minimum-error, two Gaussians of unequal size and spread)
 * and a robust background model (median + k·MAD of the score), clamped to a floor and a
 * ceiling in σ units of the normalised difference.
 */
import type { DetectorParams } from './detector-params.js';

/** Adds finite `values` into `hist` (bins spanning [lo, hi); values ≥ hi go in the last bin). */
export function accumulateHistogram(values: Float32Array, lo: number, hi: number, hist: Float64Array): void {
  const nb = hist.length;
  const scale = nb / (hi - lo);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v === v)) continue; // NaN: not observable
    let b = Math.floor((v - lo) * scale);
    if (b < 0) b = 0;
    else if (b >= nb) b = nb - 1;
    hist[b]++;
  }
}

/** Value at quantile q ∈ [0, 1] of a histogram (bin centres), or lo when empty. */
export function histQuantile(hist: Float64Array, lo: number, hi: number, q: number): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i];
  if (total === 0) return lo;
  const w = (hi - lo) / hist.length;
  const target = q * total;
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i];
    if (acc >= target) return lo + (i + 0.5) * w;
  }
  return hi;
}

/** Otsu's between-class-variance threshold (reported for comparison; poor for rare change). */
export function otsuThreshold(hist: Float64Array, lo: number, hi: number): number {
  const w = (hi - lo) / hist.length;
  let total = 0, sumAll = 0;
  for (let i = 0; i < hist.length; i++) { total += hist[i]; sumAll += i * hist[i]; }
  let wB = 0, sumB = 0, best = -1, bestI = 0;
  for (let i = 0; i < hist.length; i++) {
    wB += hist[i];
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += i * hist[i];
    const mB = sumB / wB;
    const mF = (sumAll - sumB) / wF;
    const between = wB * wF * (mB - mF) * (mB - mF);
    if (between > best) { best = between; bestI = i; }
  }
  return lo + (bestI + 1) * w;
}

/** Kittler–Illingworth minimum-error threshold (upper edge of the chosen bin). */
export function kittlerThreshold(hist: Float64Array, lo: number, hi: number): number {
  const nb = hist.length;
  const w = (hi - lo) / nb;
  // Prefix sums of count, sum and sum of squares in bin-centre units.
  let total = 0;
  for (let i = 0; i < nb; i++) total += hist[i];
  if (total === 0) return hi;
  let c1 = 0, s1 = 0, q1 = 0;
  let cT = 0, sT = 0, qT = 0;
  for (let i = 0; i < nb; i++) { cT += hist[i]; sT += i * hist[i]; qT += i * i * hist[i]; }
  let best = Infinity, bestI = nb - 1;
  for (let i = 0; i < nb - 1; i++) {
    c1 += hist[i]; s1 += i * hist[i]; q1 += i * i * hist[i];
    const c2 = cT - c1;
    if (c1 < 2 || c2 < 2) continue;
    const m1 = s1 / c1, m2 = (sT - s1) / c2;
    const v1 = q1 / c1 - m1 * m1, v2 = (qT - q1) / c2 - m2 * m2;
    if (v1 <= 1e-6 || v2 <= 1e-6) continue;
    const p1 = c1 / total, p2 = c2 / total;
    const j = p1 * Math.log(v1) + p2 * Math.log(v2) - 2 * (p1 * Math.log(p1) + p2 * Math.log(p2));
    if (j < best) { best = j; bestI = i; }
  }
  return lo + (bestI + 1) * w;
}

/** median + k·(1.4826·MAD) of the histogrammed score: where the no-change background ends. */
export function madThreshold(hist: Float64Array, lo: number, hi: number, k: number): number {
  const med = histQuantile(hist, lo, hi, 0.5);
  // MAD from a histogram of |v − med|, built from the bins themselves.
  const w = (hi - lo) / hist.length;
  const dev = new Float64Array(hist.length);
  for (let i = 0; i < hist.length; i++) {
    const d = Math.abs(lo + (i + 0.5) * w - med);
    const b = Math.min(hist.length - 1, Math.floor(d / w));
    dev[b] += hist[i];
  }
  const mad = histQuantile(dev, 0, hi - lo, 0.5);
  return med + k * 1.4826 * mad;
}

/**
 * Threshold on the score (σ units) from a histogram of it over [lo, hi).
 * Always within [params.thresholdFloor, params.thresholdCeiling].
 */
export function chooseThreshold(
  hist: Float64Array,
  lo: number,
  hi: number,
  params: Pick<DetectorParams, 'thresholdMethod' | 'thresholdFloor' | 'thresholdCeiling' | 'madK'>,
): number {
  let t: number;
  switch (params.thresholdMethod) {
    case 'otsu': t = otsuThreshold(hist, lo, hi); break;
    case 'kittler': t = kittlerThreshold(hist, lo, hi); break;
    case 'mad': t = madThreshold(hist, lo, hi, params.madK); break;
    case 'max': t = Math.max(kittlerThreshold(hist, lo, hi), madThreshold(hist, lo, hi, params.madK)); break;
  }
  return Math.min(params.thresholdCeiling, Math.max(params.thresholdFloor, t));
}
