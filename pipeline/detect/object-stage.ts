/**
 * The detector's second stage on one tile: the object model's probability for every candidate
 * component (object-features.ts → object-model.ts). The caller (vectorise.ts) drops those under
 * the model's threshold and issues the rest with that probability as their confidence.
 */
import { objectFeatures, type ObjectFeatureInput } from './object-features.js';
import { objectProbability, type ObjectModel } from './object-model.js';

/** Probability per label (index = label; NaN for non-candidates). */
export function scoreObjects(model: ObjectModel, input: ObjectFeatureInput): Float64Array {
  const x = objectFeatures(input);
  const p = new Float64Array(input.count + 1).fill(NaN);
  for (let l = 1; l <= input.count; l++) if (input.candidate[l]) p[l] = objectProbability(model, x, l);
  return p;
}
