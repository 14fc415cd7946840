/**
 * Parameters of the change detector, with defaults chosen from physics and sensor
 * noise rather than from any one test file (they must carry over to months and
 * sensors we have not seen). Scores are in units of the no-change noise (σ of the
 * radiometrically normalised difference), so thresholds read as "σ above noise".
 */
import { createHash } from 'node:crypto';

export const DETECTOR_NAME = 'tuban-spectral-change';
export const DETECTOR_VERSION = '0.7.0';

export type ThresholdMethod = 'kittler' | 'otsu' | 'mad' | 'max';
/**
 * 'learned': per-pixel probability of the shipped change model (change-model.json);
 * 'unsupervised': σ-unit spectral score with a histogram threshold;
 * 'auto': learned where both epochs carry swir1 (multispectral sensors like the Sentinel-2 scenes
 * it was trained on), unsupervised on 4-band imagery, where the model is out of its domain (on the
 * 4-band synthetic scene it found 14 of 21 planted changes with 7–11 false polygons).
 */
export type ChangeScoreModel = 'auto' | 'learned' | 'unsupervised';

export interface DetectorParams {
  /** Which per-pixel score decides change (see ChangeScoreModel). */
  model: ChangeScoreModel;
  /**
   * Learned model only: a pixel whose unsupervised score (σ units) is at least this and whose type
   * is vegetation loss, water fill or new water (every change type with learnedRescueAllTypes)
   * counts as change whatever the model says (0 = off). The model was trained on OSCD's urban labels:
   * it has never seen those changes labelled, and scores large uniform patches low.
   */
  learnedRescueSigma: number;
  /** Apply the rescue to construction and bare soil too (large homogeneous changes the model, trained on small OSCD buildings, scores low). */
  learnedRescueAllTypes: boolean;
  /** With the learned model: radius of the binary opening (the model's context features already smooth). */
  learnedOpenRadius: number;
  /** With the learned model: components below this confidence are not emitted. */
  learnedMinConfidence: number;
  /**
   * Learned model only, hysteresis: a component's outline takes every pixel down to this fraction
   * of the model's threshold (1 = off), but it is kept only when at least learnedSeedPx of its
   * pixels reach the threshold, and its confidence reads those seed pixels only.
   */
  learnedGrowCut: number;
  /** Learned model only: pixels at the threshold a hysteresis component needs to be kept. */
  learnedSeedPx: number;
  /**
   * Hide pixels that changed like thin cloud or shadow when they touch (through such pixels) a
   * cloud or shadow core of at least cloudCoreMinM2.
   */
  cloudFringes: boolean;
  /** Ring of pixels hidden around every cloud and shadow pixel (not around nodata), pixels. */
  cloudBufferPx: number;
  /**
   * Ring hidden around thick clouds and shadows (cores of cloudCoreMinM2 and their fringes),
   * pixels. Thin cloud fades out past where the per-pixel tests still fire.
   */
  cloudHaloPx: number;
  /**
   * Cloud or shadow patches of at least this area, m², are weather: hidden, with their fringes and
   * halo (0 = every patch). A thick cloud is hectares wide and trails a haze ring; a white roof or
   * a building's shadow read as cloud is small, and is scored like any pixel.
   */
  cloudCoreMinM2: number;
  /**
   * Learned model only: a pixel is change only if its unsupervised score (box-smoothed, σ units)
   * is at least this (0 = off). The model's context features spread its probability a few pixels
   * around a change; the gate trims that halo back to pixels that changed themselves.
   */
  learnedGateSigma: number;
  /**
   * Which difference the learned gate reads: 'plain' (each after pixel against the before pixel) or
   * 'range' (against the before 3×3 range). The model's own features are range differences, so it
   * is already blind to sub-pixel shifts; a range gate on top dropped 40–80 % of OSCD's changed
   * pixels (new roofs in textured blocks fall inside the before range). Measured leave-one-city-out:
   * pooled F1 0.40 (range) → 0.42 (plain), and 0.41–0.42 for plain gates of 1–2σ.
   */
  learnedGateOn: 'plain' | 'range';
  /** Compare each after pixel with the 3×3 range of the before band (misregistration-robust) instead of the pixel itself. */
  rangeDifference: boolean;
  /**
   * Misregistration between the epochs at which the prior is shifted back onto the current tile,
   * pixels (0 = never). Up to 1 px the detector raises nothing on an unchanged pair; from 2 px it
   * reads edges as change (`npm run bench:stability`).
   */
  coregisterMinPx: number;
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
  model: 'auto',
  learnedRescueSigma: 8,
  // Rescue on every change type: costs nothing on OSCD (LOCO F1 0.40 either way) and keeps large
  // homogeneous changes, which the model scores low, in the product.
  learnedRescueAllTypes: true,
  rangeDifference: true,
  coregisterMinPx: 0.5,
  learnedGateSigma: 1.5,
  learnedGateOn: 'plain',
  learnedOpenRadius: 0,
  learnedMinConfidence: 0,
  learnedGrowCut: 0.95,
  learnedSeedPx: 1,
  // Clouds, one setting for both detectors, measured on OSCD. White roofs and building shadows
  // read as cores: flooding fringes from every core cost the learned detector abudhabi 0.37 →
  // 0.30, beirut 0.55 → 0.52, pisa 0.28 → 0.25 (leave-one-city-out), and the unsupervised one,
  // with its 2 px buffer round every cloud pixel, pooled 0.28 → 0.19. From cores of 2 ha only,
  // with a 6 px halo round them and no buffer: paris (haze round two clouds) learned 0.16 → 0.28,
  // pisa 0.285 → 0.278 (a white apron read as cloud), pooled 0.432 → 0.435 for halos of 4–8 px.
  // Scoring cloud-like patches under 2 ha instead of hiding them (white roofs, shadows; model
  // 1.3.0, trained without them): pooled 0.435 → 0.460, bercy 0.16 → 0.25, pisa 0.28 → 0.40.
  cloudFringes: true,
  cloudBufferPx: 0,
  cloudHaloPx: 6,
  cloudCoreMinM2: 20_000,
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

/** Whether the learned model scores a tile whose two epochs share `bands`. */
export function usesLearnedModel(params: DetectorParams, bands: readonly string[]): boolean {
  return params.model === 'learned' || (params.model === 'auto' && bands.includes('swir1') && bands.includes('swir2'));
}

/** The parameters in force on a tile: with the learned model its own post-processing settings replace the unsupervised ones. */
export function effectiveParams(params: DetectorParams, learned: boolean): DetectorParams {
  if (!learned) return params;
  return {
    ...params,
    openRadius: params.learnedOpenRadius,
    minConfidence: params.learnedMinConfidence,
  };
}
