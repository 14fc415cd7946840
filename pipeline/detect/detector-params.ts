/**
 * Parameters of the change detector, with defaults chosen from physics and sensor
 * noise rather than from any one test file (they must carry over to months and
 * sensors we have not seen). Scores are in units of the no-change noise (σ of the
 * radiometrically normalised difference), so thresholds read as "σ above noise".
 */
import { createHash } from 'node:crypto';

export const DETECTOR_NAME = 'tuban-spectral-change';
export const DETECTOR_VERSION = '0.3.0';

export type ThresholdMethod = 'kittler' | 'otsu' | 'mad' | 'max';
/** 'learned': per-pixel probability of the shipped change model (change-model.json); 'unsupervised': σ-unit spectral score with a histogram threshold. */
export type ChangeScoreModel = 'learned' | 'unsupervised';

export interface DetectorParams {
  /** Which per-pixel score decides change (see ChangeScoreModel). */
  model: ChangeScoreModel;
  /**
   * Learned model only: a pixel whose unsupervised score (σ units) is at least this and whose type
   * is vegetation loss, water fill or new water counts as change whatever the model says (0 = off).
   * The model was trained on urban-change labels and has never seen such changes labelled.
   */
  learnedRescueSigma: number;
  /**
   * Hide pixels that changed like thin cloud or shadow when they touch a hidden (cloud/shadow)
   * pixel, and a cloudBufferPx ring around everything hidden. On cloud-free urban scenes the flood
   * follows bright new roofs from one white roof read as cloud (OSCD: 40–70 % of changed pixels).
   */
  cloudFringes: boolean;
  /** Ring of pixels hidden around cloud and shadow, pixels. */
  cloudBufferPx: number;
  /** Compare each after pixel with the 3×3 range of the before band (misregistration-robust) instead of the pixel itself. */
  rangeDifference: boolean;
  /** Minimum mapping unit, m². Components smaller than this are dropped (≈ 3 Sentinel-2 pixels). */
  mmuM2: number;
  /** Radius of the binary opening applied to the change mask, pixels (0 = none). */
  openRadius: number;
  /** Radius of the box mean applied to the score before thresholding, pixels (0 = none); suppresses single-pixel misregistration noise. */
  smoothRadius: number;
  /** How the score threshold is chosen; 'max' takes the largest of Kittler–Illingworth and median + k·MAD. */
  thresholdMethod: ThresholdMethod;
  /** Lowest threshold ever used, in σ units of the normalised difference: below it nothing is called change however the histogram looks. */
  thresholdFloor: number;
  /** Highest threshold ever used, σ units: stops a tile full of change from raising the bar over everything. */
  thresholdCeiling: number;
  /** k in median + k·MAD (robust background model of the score). */
  madK: number;
  /** Components whose confidence is below this are not emitted. */
  minConfidence: number;
  /** Weight of spectral change that keeps vegetation in both dates (phenology, crop rotation), in [0, 1]: 1 = counted fully, lower = treated as seasonal. */
  vegetatedBothWeight: number;
  /** NDVI above which a pixel counts as vegetated. */
  ndviVegetated: number;
  /** Number of pseudo-invariant refits in the radiometric normalisation. */
  normIterations: number;
  /** Share of the least-changed sample pixels kept as pseudo-invariant at each refit, (0, 1]. */
  normKeepShare: number;
}

export const DEFAULT_DETECTOR_PARAMS: Readonly<DetectorParams> = Object.freeze({
  model: 'unsupervised',
  learnedRescueSigma: 8,
  rangeDifference: true,
  cloudFringes: true,
  cloudBufferPx: 2,
  mmuM2: 300,
  openRadius: 1,
  smoothRadius: 1,
  thresholdMethod: 'max',
  thresholdFloor: 3,
  thresholdCeiling: 12,
  madK: 6,
  minConfidence: 0.3,
  vegetatedBothWeight: 0.35,
  ndviVegetated: 0.45,
  normIterations: 3,
  normKeepShare: 0.6,
});

/** Short, stable hash of the parameters (keys sorted) and of the learned model's weights when used, for DetectorStamp.paramsHash and artifact keys. */
export function paramsHash(params: DetectorParams, modelHash = ''): string {
  const keys = Object.keys(params).sort() as (keyof DetectorParams)[];
  const canon = JSON.stringify([keys.map((k) => [k, params[k]]), modelHash]);
  return createHash('sha256').update(`${DETECTOR_NAME}@${DETECTOR_VERSION}:${canon}`).digest('hex').slice(0, 12);
}
