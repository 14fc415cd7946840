/**
 * Parameters of the change detector, grouped by the stage that reads them, with defaults chosen
 * from physics and sensor noise rather than from any one test file (they must carry over to months
 * and sensors we have not seen). Scores are in units of the no-change noise (σ of the
 * radiometrically normalised difference), so thresholds read as "σ above noise". How the defaults
 * were measured (OSCD F1 and the rest) is in README.md, "Detector parameters".
 *
 * The recorded and hashed form stays the flat one of detector 0.7.0 (`flatParams`: 28 keys such as
 * `learnedGrowCut`), so the params hash, and with it batch ids and every polygon's
 * detector_params_hash, did not move when the parameters were grouped.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const DETECTOR_NAME = 'tuban-spectral-change';
export const DETECTOR_VERSION = '0.8.0';

/**
 * 'learned': per-pixel probability of the shipped change model (change-model.json);
 * 'unsupervised': σ-unit spectral score with a histogram threshold;
 * 'auto': the 6-band model where both epochs carry swir1/swir2 (Sentinel-2, Landsat), the 4-band
 * model (change-model-4band.json: blue, green, red, nir; GF-1/2/6, ZY-3, SuperView, PlanetScope)
 * where they carry those four, the unsupervised score with fewer bands (usesLearnedModel);
 * 'learned': a model on every tile, the 4-band one wherever swir is missing. The 6-band model was
 * out of its domain on 4-band imagery (on the 4-band synthetic scene it found 14 of 21 planted
 * changes with 7–11 false polygons).
 */
const ChangeScoreModelSchema = z.enum(['auto', 'learned', 'unsupervised']);
export type ChangeScoreModel = z.infer<typeof ChangeScoreModelSchema>;
const ThresholdMethodSchema = z.enum(['kittler', 'otsu', 'mad', 'max']);
export type ThresholdMethod = z.infer<typeof ThresholdMethodSchema>;

/** How each pixel is scored, and how the epochs are aligned and normalised first. */
export interface ScoreParams {
  /** Compare each after pixel with the 3×3 range of the before band (misregistration-robust) instead of the pixel itself. */
  rangeDifference: boolean;
  /** Radius of the box mean applied to the score before thresholding, pixels (0 = none); suppresses single-pixel misregistration noise. */
  smoothRadius: number;
  /** Weight of spectral change that keeps vegetation in both dates (phenology, crop rotation), in [0, 1]: 1 = counted fully, lower = treated as seasonal. */
  vegetatedBothWeight: number;
  /** NDVI above which a pixel counts as vegetated. */
  ndviVegetated: number;
  /** Number of pseudo-invariant refits in the radiometric normalisation. */
  normIterations: number;
  /** Share of the least-changed sample pixels kept as pseudo-invariant at each refit, (0, 1]. */
  normKeepShare: number;
  /**
   * Misregistration between the epochs at which the prior is shifted back onto the current tile,
   * pixels (0 = never). Up to 1 px the detector raises nothing on an unchanged pair; from 2 px it
   * reads edges as change (`npm run bench:stability`).
   */
  coregisterMinPx: number;
  /**
   * Ground size of the tile's pixels, m: set per tile by atPixelSize (never by an override, not
   * hashed: a property of the tile, not a setting). The learned features' windows follow it.
   * Unset: 10 m.
   */
  pixelSizeM?: number;
}

/** Which cloud and shadow pixels are hidden (not observed) rather than scored. */
export interface CloudParams {
  /**
   * Hide pixels that changed like thin cloud or shadow when they touch (through such pixels) a
   * cloud or shadow core of at least coreMinM2.
   */
  fringes: boolean;
  /** Ring of pixels hidden around every cloud and shadow pixel (not around nodata), pixels. */
  bufferPx: number;
  /** Ring hidden around thick clouds and shadows (cores of coreMinM2 and their fringes), pixels. Thin cloud fades out past where the per-pixel tests still fire. */
  haloPx: number;
  /**
   * Cloud or shadow patches of at least this area, m², are weather: hidden, with their fringes and
   * halo (0 = every patch). A thick cloud is hectares wide and trails a haze ring; a white roof or
   * a building's shadow read as cloud is small, and is scored like any pixel.
   */
  coreMinM2: number;
}

/** The unsupervised score's threshold (the learned model's is fixed in training). */
export interface ThresholdParams {
  /** How the threshold is chosen; 'max' takes the largest of Kittler–Illingworth and median + k·MAD. */
  method: ThresholdMethod;
  /** Lowest threshold ever used, σ units: below it nothing is called change however the histogram looks. */
  floor: number;
  /** Highest threshold ever used, σ units: stops a tile full of change from raising the bar over everything. */
  ceiling: number;
  /** k in median + k·MAD (robust background model of the score). */
  madK: number;
}

/** Which components of the change mask become polygons (unsupervised score; the learned model has its own opening and confidence floor). */
export interface ComponentParams {
  /** Minimum mapping unit, m². Components and polygon parts smaller than this are dropped (≈ 3 Sentinel-2 pixels). */
  mmuM2: number;
  /** Radius of the binary opening (and closing) applied to the change mask, pixels (0 = none). */
  openRadius: number;
  /** Components whose confidence is below this are not emitted. */
  minConfidence: number;
}

/** The learned model's scoring and post-processing. */
export interface LearnedParams {
  /**
   * A pixel whose unsupervised score (σ units) is at least this and whose type is vegetation loss,
   * water fill or new water (every change type with rescueAllTypes) counts as change whatever the
   * model says (0 = off). The model was trained on OSCD's urban labels: it has never seen those
   * changes labelled, and scores large uniform patches low.
   */
  rescueSigma: number;
  /** Apply the rescue to construction and bare soil too (large homogeneous changes the model, trained on small OSCD buildings, scores low). */
  rescueAllTypes: boolean;
  /**
   * A pixel is change only if its unsupervised score (box-smoothed, σ units) is at least this
   * (0 = off). The model's context features spread its probability a few pixels around a change;
   * the gate trims that halo back to pixels that changed themselves.
   */
  gateSigma: number;
  /**
   * Which difference the gate reads: 'plain' (each after pixel against the before pixel) or 'range'
   * (against the before 3×3 range). The model's own features are range differences, so it is
   * already blind to sub-pixel shifts; a range gate on top dropped 40–80 % of OSCD's changed pixels.
   */
  gateOn: 'plain' | 'range';
  /**
   * With gateOn 'plain': the share of a sub-pixel shift the gate tolerates, δ in [0, 1]
   * (shift-gate.ts): each after band is compared with [b − δ·(b − lo), b + δ·(hi − b)] of the
   * before pixel b and its 3×3 range lo…hi, so flat ground keeps the plain difference and an edge
   * is forgiven in proportion to its own contrast (0 = the plain difference, as before; 1 = the
   * range distance). Not the default: BENCHMARKS.md, "The misregistration-tolerant gate".
   */
  gateShift: number;
  /**
   * With gateShift > 0: also measure the tolerant distance from the after side (the before pixel
   * against the after pixel's tolerated interval) and keep the smaller: a thin road or field edge
   * that resampling blurred in one epoch only is forgiven both ways (shift-gate.ts).
   */
  gateBothWays: boolean;
  /**
   * Gate on the evidence box-smoothed over score.smoothRadius (true, as before) or on each pixel's
   * own (false): a box mean lends a strong edge's difference to the pixels beside it.
   */
  gateSmooth: boolean;
  /** Radius of the binary opening (the model's context features already smooth). */
  openRadius: number;
  /** Components below this confidence are not emitted. */
  minConfidence: number;
  /**
   * Hysteresis: a component's outline takes every pixel down to this fraction of the model's
   * threshold (1 = off), but it is kept only when at least seedPx of its pixels reach the
   * threshold, and its confidence reads those seed pixels only.
   */
  growCut: number;
  /** Pixels at the threshold a hysteresis component needs to be kept. */
  seedPx: number;
  /**
   * The object model's second stage (object-model.ts): each candidate component is scored from its
   * shape, contrast, texture and neighbourhood; those it rejects are not issued and its probability
   * is the confidence of the rest. false = every candidate issued with the evidence confidence.
   */
  objectStage: boolean;
}

export interface DetectorParams {
  /** Which per-pixel score decides change (see ChangeScoreModel). */
  model: ChangeScoreModel;
  score: ScoreParams;
  clouds: CloudParams;
  threshold: ThresholdParams;
  components: ComponentParams;
  learned: LearnedParams;
}

const nonNegative = z.number().min(0);
const radius = z.number().int().min(0);
const ScoreParamsSchema = z.strictObject({
  rangeDifference: z.boolean(),
  smoothRadius: radius,
  vegetatedBothWeight: z.number().min(0).max(1),
  ndviVegetated: z.number().min(-1).max(1),
  normIterations: z.number().int().min(0),
  normKeepShare: z.number().gt(0).max(1),
  coregisterMinPx: nonNegative,
});
const CloudParamsSchema = z.strictObject({ fringes: z.boolean(), bufferPx: radius, haloPx: radius, coreMinM2: nonNegative });
const ThresholdParamsSchema = z
  .strictObject({ method: ThresholdMethodSchema, floor: z.number(), ceiling: z.number(), madK: nonNegative })
  .refine((t) => t.floor <= t.ceiling, { message: 'threshold.floor must not exceed threshold.ceiling' });
const ComponentParamsSchema = z.strictObject({ mmuM2: nonNegative, openRadius: radius, minConfidence: z.number().min(0).max(1) });
const LearnedParamsSchema = z.strictObject({
  rescueSigma: nonNegative,
  rescueAllTypes: z.boolean(),
  gateSigma: nonNegative,
  gateOn: z.enum(['plain', 'range']),
  gateShift: z.number().min(0).max(1),
  gateBothWays: z.boolean(),
  gateSmooth: z.boolean(),
  openRadius: radius,
  minConfidence: z.number().min(0).max(1),
  growCut: z.number().gt(0),
  seedPx: z.number().int().min(0),
  objectStage: z.boolean(),
})
  .refine((l) => l.gateShift === 0 || l.gateOn === 'plain', { message: "learned.gateShift tolerates a shift in the plain difference: it needs gateOn 'plain'" })
  .refine((l) => !l.gateBothWays || l.gateShift > 0, { message: 'learned.gateBothWays measures the tolerated shift both ways: it needs gateShift > 0' });
export const DetectorParamsSchema = z.strictObject({
  model: ChangeScoreModelSchema,
  score: ScoreParamsSchema,
  clouds: CloudParamsSchema,
  threshold: ThresholdParamsSchema,
  components: ComponentParamsSchema,
  learned: LearnedParamsSchema,
});
// The interfaces above carry the documentation; the schema must describe exactly them.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const schemaMatches: Same<z.infer<typeof DetectorParamsSchema>, DetectorParams> = true;
void schemaMatches;

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v && typeof v === 'object') Object.freeze(v);
  return Object.freeze(o);
}

export const DEFAULT_DETECTOR_PARAMS: Readonly<DetectorParams> = deepFreeze({
  model: 'auto',
  score: { rangeDifference: true, smoothRadius: 1, vegetatedBothWeight: 0.35, ndviVegetated: 0.45, normIterations: 3, normKeepShare: 0.6, coregisterMinPx: 0.5 },
  clouds: { fringes: true, bufferPx: 0, haloPx: 6, coreMinM2: 20_000 },
  threshold: { method: 'max', floor: 3, ceiling: 12, madK: 6 },
  components: { mmuM2: 300, openRadius: 1, minConfidence: 0.3 },
  learned: { rescueSigma: 8, rescueAllTypes: true, gateSigma: 1.5, gateOn: 'plain', gateShift: 0, gateBothWays: false, gateSmooth: true, openRadius: 0, minConfidence: 0, growCut: 0.95, seedPx: 1, objectStage: true },
});

type Group = Exclude<keyof DetectorParams, 'model'>;

/**
 * The flat key of detector 0.7.0 for each grouped parameter, in that version's order (the order
 * batch reports and the batches table record them in).
 */
const FLAT_KEYS = {
  model: null,
  learnedRescueSigma: ['learned', 'rescueSigma'],
  learnedRescueAllTypes: ['learned', 'rescueAllTypes'],
  rangeDifference: ['score', 'rangeDifference'],
  coregisterMinPx: ['score', 'coregisterMinPx'],
  learnedGateSigma: ['learned', 'gateSigma'],
  learnedGateOn: ['learned', 'gateOn'],
  learnedGateShift: ['learned', 'gateShift'],
  learnedGateBothWays: ['learned', 'gateBothWays'],
  learnedGateSmooth: ['learned', 'gateSmooth'],
  learnedOpenRadius: ['learned', 'openRadius'],
  learnedMinConfidence: ['learned', 'minConfidence'],
  learnedGrowCut: ['learned', 'growCut'],
  learnedSeedPx: ['learned', 'seedPx'],
  learnedObjectStage: ['learned', 'objectStage'],
  cloudFringes: ['clouds', 'fringes'],
  cloudBufferPx: ['clouds', 'bufferPx'],
  cloudHaloPx: ['clouds', 'haloPx'],
  cloudCoreMinM2: ['clouds', 'coreMinM2'],
  mmuM2: ['components', 'mmuM2'],
  openRadius: ['components', 'openRadius'],
  smoothRadius: ['score', 'smoothRadius'],
  thresholdMethod: ['threshold', 'method'],
  thresholdFloor: ['threshold', 'floor'],
  thresholdCeiling: ['threshold', 'ceiling'],
  madK: ['threshold', 'madK'],
  minConfidence: ['components', 'minConfidence'],
  vegetatedBothWeight: ['score', 'vegetatedBothWeight'],
  ndviVegetated: ['score', 'ndviVegetated'],
  normIterations: ['score', 'normIterations'],
  normKeepShare: ['score', 'normKeepShare'],
} as const satisfies Record<string, readonly [Group, string] | null>;

/**
 * Keys added after detector 0.7.0, with the value that does what 0.7.0 did: at that value a key is
 * left out of the flat form (and so of the hash), so every earlier batch id and
 * detector_params_hash stays what it was; any other value is recorded and hashed.
 */
const LATER_KEYS = { learnedGateShift: 0, learnedGateBothWays: false, learnedGateSmooth: true } as const satisfies Partial<Record<keyof typeof FLAT_KEYS, string | number | boolean>>;
type LaterKey = keyof typeof LATER_KEYS;

export type FlatParamKey = keyof typeof FLAT_KEYS;
export type FlatDetectorParams = Record<Exclude<FlatParamKey, LaterKey>, string | number | boolean> & Partial<Record<LaterKey, string | number | boolean>>;

/** The parameters in the flat form of detector 0.7.0 (and the later keys that differ from 0.7.0's behaviour): what batch reports record and the hash covers. */
export function flatParams(params: DetectorParams): FlatDetectorParams {
  const out = {} as Record<FlatParamKey, string | number | boolean>;
  for (const [flat, path] of Object.entries(FLAT_KEYS) as [FlatParamKey, readonly [Group, string] | null][]) {
    const v = path === null ? params.model : (params[path[0]] as unknown as Record<string, string | number | boolean>)[path[1]];
    if (flat in LATER_KEYS && LATER_KEYS[flat as LaterKey] === v) continue;
    out[flat] = v;
  }
  return out;
}

/** Short, stable hash of the parameters (flat keys sorted) and of the learned model's weights when used, for DetectorStamp.paramsHash and artifact keys. */
export function paramsHash(params: DetectorParams, modelHash = ''): string {
  const flat = flatParams(params);
  const keys = Object.keys(flat).sort() as FlatParamKey[];
  const canon = JSON.stringify([keys.map((k) => [k, flat[k as keyof FlatDetectorParams]]), modelHash]);
  return createHash('sha256').update(`${DETECTOR_NAME}@${DETECTOR_VERSION}:${canon}`).digest('hex').slice(0, 12);
}

/**
 * Parameters from an override over the defaults, validated: grouped
 * (`{"learned":{"growCut":1},"score":{"coregisterMinPx":1000}}`) or, for the commands and notes of
 * detector 0.7.0, the flat keys (`{"learnedGrowCut":1}`), or both. `source` names the override in
 * the error (a flag, a file).
 */
export function parseDetectorParams(override: unknown, source: string): DetectorParams {
  if (override === null || typeof override !== 'object' || Array.isArray(override)) {
    throw new Error(`${source}: detector parameters must be a JSON object, got ${JSON.stringify(override)}`);
  }
  const merged = structuredClone(DEFAULT_DETECTOR_PARAMS) as DetectorParams & Record<string, unknown>;
  for (const [key, value] of Object.entries(override)) {
    const path = (FLAT_KEYS as Record<string, readonly [Group, string] | null>)[key];
    if (key === 'model') merged.model = value as ChangeScoreModel;
    else if (path) (merged[path[0]] as unknown as Record<string, unknown>)[path[1]] = value;
    else if (key in DEFAULT_DETECTOR_PARAMS && value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(merged[key as Group], value);
    else merged[key] = value; // unknown: the schema names it
  }
  const parsed = DetectorParamsSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new Error(`${source}: invalid detector parameters: ${issues}`);
  }
  return parsed.data;
}

/**
 * Ground size of the pixel the parameters' radii are counted in, m: Sentinel-2's 10 m bands. Every
 * radius in pixels (score.smoothRadius, clouds.bufferPx and haloPx, components.openRadius,
 * learned.openRadius) is a distance of radius × 10 m, and learned.seedPx an area of seedPx × 100 m²;
 * the minimum mapping unit and the cloud core are m² already. A tile of another pixel size gets them
 * in its own pixels (atPixelSize): a 60 m cloud halo is 6 px at 10 m, 12 px at 5 m, 75 px at 0.8 m.
 */
export const REFERENCE_PIXEL_M = 10;

/** A radius of `radius` reference (10 m) pixels, in whole pixels of a grid of `pixelSizeM` metres. */
export function radiusAt(radius: number, pixelSizeM: number): number {
  return Math.round((radius * REFERENCE_PIXEL_M) / pixelSizeM);
}

/**
 * The parameters as one tile's stages read them: radii in the tile's own pixels, seeds as the same
 * ground area, pixelSizeM set for the feature windows. At 10 m (9.5–10.5 m: OSCD's lon/lat grids
 * measure 9.97–10.52 m) every value equals the given one, so Sentinel-2 results do not move. The
 * hash and the stamp stay those of the given parameters.
 *
 * Grids coarser than 10 m (Landsat's 30 m) keep the 10 m pixel counts: a 30 m pixel has no finer
 * detail for a smaller window to read, and shrinking them (smoothing 1 → 0 px, the halo 6 → 2 px,
 * the texture and context windows to 1–2 px) cost Landsat Taizhou 16 more polygons and accuracy
 * 0.9676 → 0.9672 with the 6-band model.
 */
export function atPixelSize(params: DetectorParams, pixelSizeM: number): DetectorParams {
  if (!(pixelSizeM > 0)) throw new Error(`atPixelSize: pixel size must be a positive number of metres, got ${pixelSizeM}`);
  pixelSizeM = Math.min(pixelSizeM, REFERENCE_PIXEL_M);
  const r = (v: number) => radiusAt(v, pixelSizeM);
  const areaRatio = (REFERENCE_PIXEL_M / pixelSizeM) ** 2;
  return {
    ...params,
    score: { ...params.score, smoothRadius: r(params.score.smoothRadius), pixelSizeM },
    clouds: { ...params.clouds, bufferPx: r(params.clouds.bufferPx), haloPx: r(params.clouds.haloPx) },
    components: { ...params.components, openRadius: r(params.components.openRadius) },
    learned: {
      ...params.learned, openRadius: r(params.learned.openRadius),
      seedPx: params.learned.seedPx > 0 ? Math.max(1, Math.round(params.learned.seedPx * areaRatio)) : 0,
    },
  };
}

/** The bands every learned model reads (the 6-band one adds swir1 and swir2). */
const FOUR_BANDS = ['blue', 'green', 'red', 'nir'];

/**
 * Whether a learned model scores a tile whose two epochs share `bands`: under 'learned' always (the
 * 6-band model where both epochs have swir1/swir2, the 4-band one elsewhere: modelFor in
 * detect-tile.ts), under 'auto' where a model's bands are all there (blue, green, red and nir at
 * least); a tile with fewer bands keeps the unsupervised score.
 *
 * 'auto' gives 4-band tiles the 4-band model (OSCD's cities through their four bands,
 * leave-one-city-out F1 0.29 unsupervised against 0.41) behind the misregistration-tolerant gate
 * the model carries (ChangeModel.scoring, withModelSettings): with the plain gate it raised 85–245 false
 * components on the generated Shandong-like scenes, with its own gate 0–4 (BENCHMARKS.md, "The
 * misregistration-tolerant gate").
 */
export function usesLearnedModel(params: Pick<DetectorParams, 'model'>, bands: readonly string[]): boolean {
  if (params.model === 'learned') return true;
  return params.model === 'auto' && FOUR_BANDS.every((b) => bands.includes(b));
}

/** The keys that make up the learned gate: a caller who sets one of them sets the whole gate. */
const GATE_KEYS = ['gateOn', 'gateShift', 'gateBothWays', 'gateSmooth'];

/**
 * The parameters a model scores with: its own settings (ChangeModel.scoring) where the caller left
 * them at their defaults: its gate as a whole (unless the caller set any gate key), each other key
 * by itself. Throws when they do not make valid parameters (checkModel tries them on the defaults).
 */
export function withModelSettings(params: DetectorParams, scoring: Partial<LearnedParams> | undefined): DetectorParams {
  const d = DEFAULT_DETECTOR_PARAMS.learned as unknown as Record<string, unknown>;
  const given = params.learned as unknown as Record<string, unknown>;
  const callerGate = GATE_KEYS.some((k) => given[k] !== d[k]);
  const taken = Object.entries(scoring ?? {}).filter(([k, v]) => v !== undefined && given[k] === d[k] && !(callerGate && GATE_KEYS.includes(k)));
  if (!taken.length) return params;
  const learned = LearnedParamsSchema.safeParse({ ...params.learned, ...Object.fromEntries(taken) });
  if (!learned.success) throw new Error(`scoring settings ${JSON.stringify(scoring)}: ${learned.error.issues.map((i) => `${i.path.join('.') || 'learned'}: ${i.message}`).join('; ')}`);
  return { ...params, learned: learned.data };
}

/** The component settings in force on a tile: the learned model's opening and confidence floor replace the unsupervised ones. */
export function componentParams(params: DetectorParams, learned: boolean): ComponentParams {
  if (!learned) return params.components;
  return { mmuM2: params.components.mmuM2, openRadius: params.learned.openRadius, minConfidence: params.learned.minConfidence };
}
