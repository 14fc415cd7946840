/**
 * The detector's threshold policy on the change-score histogram. Otsu assumes two classes of
 * comparable size and fails when 0.3–4 % of pixels change; so the default ('max') is the larger
 * of Kittler–Illingworth (minimum-error, two Gaussians of unequal size and spread) and a robust
 * background model (median + k·MAD of the score), clamped to a floor and a ceiling in σ units of
 * the normalised difference. The kernels live in geo/kernels/threshold.ts.
 */
import { kittlerIllingworth, otsuThreshold, robustUpperThreshold } from '../../geo/kernels/threshold.js';
import type { ThresholdParams } from './detector-params.js';

/**
 * Threshold on the score (σ units) from a histogram of it over [lo, hi).
 * Always within [params.floor, params.ceiling].
 */
export function chooseThreshold(
  hist: Float64Array,
  lo: number,
  hi: number,
  params: ThresholdParams,
): number {
  let t: number;
  switch (params.method) {
    // Otsu is NaN on an empty histogram: nothing observed, so the floor.
    case 'otsu': t = otsuThreshold(hist, lo, hi); if (Number.isNaN(t)) t = lo; break;
    case 'kittler': t = kittlerIllingworth(hist, lo, hi); break;
    case 'mad': t = robustUpperThreshold(hist, lo, hi, params.madK); break;
    case 'max': t = Math.max(kittlerIllingworth(hist, lo, hi), robustUpperThreshold(hist, lo, hi, params.madK)); break;
  }
  return Math.min(params.ceiling, Math.max(params.floor, t));
}
