/**
 * Confidence of one change component, in [0, 1], from how far its score stands above
 * the threshold, its size against the minimum mapping unit, how consistently its pixels
 * agree on one change type, and its compactness (thin slivers along edges are typically
 * misregistration). Monotone in each input, so a higher confidence is always "more evidence";
 * the accuracy bench checks that polygons ≥ 0.8 are more precise than those below.
 */
import type { ComponentParams } from './detector-params.js';

export interface ComponentEvidence {
  /**
   * Mean of the change score over the component's evidence pixels (with the learned model's
   * hysteresis, those at or above the threshold; otherwise all), and max over the component, σ units.
   */
  meanScore: number;
  maxScore: number;
  /** Evidence pixels, as for meanScore. */
  pixelCount: number;
  /** Ground area of one pixel, m². */
  pixelAreaM2: number;
  /** Threshold the component was cut at, σ units. */
  threshold: number;
  /** Share of the component's pixels carrying its dominant change type, [0, 1]. */
  typeAgreement: number;
  /** 4π·area / perimeter², (0, 1]; 1 = disc. Omitted = not penalised. */
  compactness?: number;
  /** Mean NDVI after − before over the component (negative = vegetation lost). */
  ndviDelta?: number;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export function componentConfidence(
  c: ComponentEvidence,
  params: Pick<ComponentParams, 'mmuM2'>,
): { confidence: number; reasons: string[] } {
  const ratio = c.threshold > 0 ? c.meanScore / c.threshold : 0;
  const peakRatio = c.threshold > 0 ? c.maxScore / c.threshold : 0;
  const areaM2 = c.pixelCount * c.pixelAreaM2;
  // Each term in [0, 1]: mean 2× threshold, peak 3× threshold, 10× MMU are "full evidence".
  const strength = clamp01(ratio - 1);
  const peak = clamp01((peakRatio - 1) / 2);
  const size = clamp01(Math.log(Math.max(areaM2, 1) / params.mmuM2) / Math.log(10));
  const agree = clamp01((c.typeAgreement - 0.5) / 0.5);
  const shape = c.compactness === undefined ? 1 : clamp01(0.4 + c.compactness * 2);
  const evidence = 0.4 * strength + 0.2 * peak + 0.25 * size + 0.15 * agree;
  const confidence = Math.round(clamp01(0.1 + 0.9 * evidence * shape) * 1000) / 1000;

  const reasons: string[] = [];
  reasons.push(`${ratio >= 2 ? 'strong' : 'moderate'} spectral change ${peakRatio.toFixed(1)}×threshold`);
  if (c.ndviDelta !== undefined && c.ndviDelta <= -0.1) reasons.push(`NDVI drop ${(-c.ndviDelta).toFixed(2)}`);
  reasons.push(`area ${Math.round(areaM2)} m²`);
  if (c.typeAgreement < 0.6) reasons.push(`mixed change type (${Math.round(c.typeAgreement * 100)}% agree)`);
  if (c.compactness !== undefined && c.compactness < 0.15) reasons.push('thin shape (possible misregistration)');
  return { confidence, reasons };
}

/**
 * Confidence of a component found by the learned model: its score is a change probability and
 * `threshold` the model's cut. Mean probability well above the cut, a high peak, size over the
 * MMU and one dominant change type are the evidence, as for componentConfidence.
 */
export function learnedConfidence(
  c: ComponentEvidence,
  params: Pick<ComponentParams, 'mmuM2'>,
): { confidence: number; reasons: string[] } {
  const t = Math.min(c.threshold, 0.95);
  const areaM2 = c.pixelCount * c.pixelAreaM2;
  const strength = clamp01((c.meanScore - t) / Math.max(0.9 - t, 0.05));
  const peak = clamp01((c.maxScore - t) / (1 - t));
  const size = clamp01(Math.log(Math.max(areaM2, 1) / params.mmuM2) / Math.log(10));
  const agree = clamp01((c.typeAgreement - 0.5) / 0.5);
  const evidence = 0.45 * strength + 0.15 * peak + 0.25 * size + 0.15 * agree;
  const confidence = Math.round(clamp01(0.1 + 0.9 * evidence) * 1000) / 1000;
  const reasons = [`change probability ${c.meanScore.toFixed(2)} (peak ${c.maxScore.toFixed(2)}, cut ${c.threshold.toFixed(2)})`, `${Math.round(areaM2)} m² at or above the cut`];
  if (c.typeAgreement < 0.6) reasons.push(`mixed change type (${Math.round(c.typeAgreement * 100)}% agree)`);
  return { confidence, reasons };
}
