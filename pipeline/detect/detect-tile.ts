/**
 * The life of one tile inside the detector, as four stages composed here:
 *   1. fitEpochs (epoch-fit.ts): sample both epochs, co-register them, fit the normalisation;
 *   2. the score stream (score-stream.ts): stream row strips with read-ahead, score every pixel
 *      (worker pool or calling thread, identical output); opened before stage 1, so its workers
 *      start while the fit runs;
 *   3. extractComponents (components.ts): hide cloud fringes, threshold (with hysteresis under
 *      the learned model), clean, label, minimum mapping unit;
 *   4. vectoriseComponents (vectorise.ts): change type, confidence, outline, lon/lat, area.
 * Full-tile buffers are allocated once per tile (score f32, type u8, mask u8, labels i32 ≈ 10 B/px
 * ≈ 1.2 GB on a 10980² tile); band data only ever lives one strip at a time.
 *
 * `detectTile` is the product's entry point. `detectPair` is the same driver for callers that bring
 * their own pair of epochs and model (the accuracy harness scores the first date's grid with
 * leave-one-city-out models) and want the rasters back.
 */
import type { MultiPolygon } from 'geojson';
import { areaM2 } from '../../geo/area.js';
import { LONLAT, transformer } from '../../geo/crs.js';
import type { BandName, Grid } from '../../geo/raster.js';
import type { AlignedSource, TileReader } from '../../geo/tile-reader.js';
import { TubanError } from '../../schemas/errors.js';
import { config } from '../config.js';
import type { DetectorStamp } from '../../schemas/polygon.js';
import type { Detection } from '../model.js';
import { modelHash, modelNeedsSwir, shippedChangeModel, shippedChangeModel4Band, type ChangeModel } from './change-model.js';
import { extractComponents } from './components.js';
import { DETECTOR_NAME, DETECTOR_VERSION, atPixelSize, componentParams, paramsHash, usesLearnedModel, withModelSettings, type DetectorParams } from './detector-params.js';
import { fitEpochs, type Coregistration, type EpochFit } from './epoch-fit.js';
import { tilePair, type EpochPair } from './epoch-pair.js';
import { MIN_FIT_SAMPLES, type NormFit } from './normalise.js';
import { notObservedGeometry } from './not-observed.js';
import { objectModelFits, objectModelFor, objectModelHash, type ObjectModel } from './object-model.js';
import { defaultScoreWorkers } from './score-pool.js';
import { openScoreStream, type ScoreStream, type TileScores } from './score-stream.js';
import { StageTimer } from './stage-timer.js';
import { vectoriseComponents } from './vectorise.js';

export type { Coregistration } from './epoch-fit.js';

export interface TileDetection {
  detections: Detection[];
  /** Ground area of the tile where both epochs were observed (clear, with data), m². */
  observedM2: number;
  /** Ground area of the tile that could not be compared (cloud, shadow, nodata, no prior), m². */
  notObservedM2: number;
  /** Outline of the not-observed ground on a 16-px grid, lon/lat; null when all was observed. */
  notObserved: MultiPolygon | null;
  threshold: number;
  normalisation: NormFit;
  /** The epochs' measured misregistration (null: too little texture to measure) and whether the prior was shifted back. */
  coregistration: Coregistration | null;
  stamp: DetectorStamp;
  /** Seconds per stage. */
  timings: Record<string, number>;
  pixels: number;
}

/** Full-tile rasters of one detection, on the scored grid. */
export interface TileRasters {
  width: number;
  height: number;
  /** Change score, σ units (probability with the learned model); NaN where not observable. */
  score: Float32Array;
  /** CHANGE_TYPE_CODES per pixel (NOT_OBSERVED where hidden). */
  type: Uint8Array;
  /** Component label per pixel (0 = none), every component drawn: emitted or not, see labelConfidence. */
  labels: Int32Array;
  /** Confidence of each emitted label (index = label; NaN = not emitted). */
  labelConfidence: Float64Array;
}

export interface DetectTileOptions {
  params: DetectorParams;
  /** Bands to use: the intersection of what both epochs have. */
  bands: BandName[];
  /** Rows per strip: bounds band memory (rows × width × bands × 2 epochs × 4 B). */
  stripRows?: number;
  /** Refuse tiles whose full-tile buffers would exceed this many bytes; default TUBAN_MAX_TILE_BYTES (config().maxTileBytes). */
  maxTileBytes?: number;
  progress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** Worker threads that score strips (0 = on the calling thread); default defaultScoreWorkers(). Output is identical either way. */
  scoreWorkers?: number;
}

export interface DetectPairOptions extends DetectTileOptions {
  /** The learned model that scores the pair, or null for the unsupervised score. */
  model: ChangeModel | null;
  /** The second stage's object model (null: none); default objectModelFor(model, params.learned.objectStage). */
  objectModel?: ObjectModel | null;
}

export const BYTES_PER_PIXEL = 4 + 1 + 1 + 4;

/**
 * Name, version and parameter hash of the detector. With a learned model the version names the
 * model's version (`+model.1.5.0` for the 6-band model, `+model-4band.1.0.1` for the 4-band one)
 * and the hash covers its weights, so a polygon traces back to both. `model` is the model that
 * scored (a tile), or the models a batch's tiles were scored with (modelsFor); omitted, every model
 * the parameters may use (both, under 'auto' and 'learned').
 */
export function detectorStamp(params: DetectorParams, model?: ChangeModel | readonly ChangeModel[], objectModel?: ObjectModel | null): DetectorStamp {
  if (params.model === 'unsupervised') return { name: DETECTOR_NAME, version: DETECTOR_VERSION, paramsHash: paramsHash(params) };
  const models = model === undefined ? [shippedChangeModel(), shippedChangeModel4Band()] : Array.isArray(model) ? model : [model as ChangeModel];
  if (!models.length) return { name: DETECTOR_NAME, version: DETECTOR_VERSION, paramsHash: paramsHash(params) };
  // The object stage exists for the 6-band model's candidates only (objectModelFor says which).
  const objectModels = objectModel !== undefined ? (objectModel ? [objectModel] : []) : [...new Set(models.map((m) => objectModelFor(m, params.learned.objectStage)).filter((om): om is ObjectModel => om !== null))];
  // The 6-band model keeps the stamp it always had (`+model.<version>`, hash of its weights alone).
  const version = models.map((m) => `+${modelName(m)}.${m.version}`).join('') + objectModels.map((om) => `+objects.${om.version}`).join('');
  const weights = [...models.map(modelHash), ...objectModels.map(objectModelHash)].join('+');
  return { name: DETECTOR_NAME, version: `${DETECTOR_VERSION}${version}`, paramsHash: paramsHash(params, weights) };
}

/** A model a batch was scored with, as its report records it: the stamp's name for it, and its own scoring settings. */
export interface ModelRecord {
  name: 'model' | 'model-4band';
  version: string;
  hash: string;
  scoring?: ChangeModel['scoring'];
}

export function modelRecord(m: ChangeModel): ModelRecord {
  return { name: modelName(m), version: m.version, hash: modelHash(m), ...(m.scoring ? { scoring: m.scoring } : {}) };
}

/** The stamp's name for a model: `model` (6-band, as it always was) or `model-4band`. */
function modelName(m: ChangeModel): ModelRecord['name'] {
  return modelNeedsSwir(m) ? 'model' : 'model-4band';
}

/**
 * The model that scores a tile with these bands (null: the unsupervised score): the 6-band model
 * where both epochs have swir1 and swir2, the 4-band model (blue, green, red, nir) elsewhere
 * (usesLearnedModel says when a model scores at all).
 */
export function modelFor(params: DetectorParams, bands: readonly string[]): ChangeModel | null {
  if (!usesLearnedModel(params, bands)) return null;
  return bands.includes('swir1') && bands.includes('swir2') ? shippedChangeModel() : shippedChangeModel4Band();
}

/** The distinct models a batch's tiles (their bands) are scored with, 6-band first: what its stamp names. */
export function modelsFor(params: DetectorParams, tileBands: readonly (readonly string[])[]): ChangeModel[] {
  const models = new Set<ChangeModel>();
  for (const b of tileBands) {
    const m = modelFor(params, b);
    if (m) models.add(m);
  }
  return [...models].sort((a, b) => Number(modelNeedsSwir(b)) - Number(modelNeedsSwir(a)));
}

/** The product: the current tile against the prior mosaic warped onto it. */
export async function detectTile(current: TileReader, prior: AlignedSource, opts: DetectTileOptions): Promise<TileDetection> {
  const { detection } = await detectPair(tilePair(current, prior), { ...opts, model: modelFor(opts.params, opts.bands) });
  return detection;
}

/**
 * The driver: the four stages on one pair of epochs with the given model (null: unsupervised).
 * Returns the detection and the full-tile rasters it was drawn from (they exist anyway; a caller
 * that drops them frees them).
 */
export async function detectPair(pair: EpochPair, opts: DetectPairOptions): Promise<{ detection: TileDetection; rasters: TileRasters }> {
  const { bands, model } = opts;
  // Radii are set in metres (REFERENCE_PIXEL_M): the stages get them in this tile's pixels; a model
  // scores with its own settings (gate, rescue) unless the caller set them. The stamp and hash stay
  // those of the given parameters (the model's hash covers its settings).
  const pixelAreaM2 = approxPixelAreaM2(pair.grid);
  const params = atPixelSize(withModelSettings(opts.params, model?.scoring), Math.sqrt(pixelAreaM2));
  if (model && modelNeedsSwir(model) && !(bands.includes('swir1') && bands.includes('swir2'))) {
    throw new Error(`change model ${model.version} reads swir, and ${pair.id} has only ${bands.join(',')}: use the 4-band model (model 'auto')`);
  }
  const objectModel = opts.objectModel !== undefined ? opts.objectModel : objectModelFor(model, params.learned.objectStage);
  if (objectModel && !(model && objectModelFits(objectModel, model))) throw new Error(`object model ${objectModel.version} was trained on candidates of another pixel model than ${model?.version ?? 'the unsupervised score'}`);
  const components = componentParams(params, model !== null);
  const grid = pair.grid;
  const { width: w, height: h } = grid;
  const n = w * h;
  checkTileMemory(n, w, h, opts.maxTileBytes ?? config().maxTileBytes, pair.file);
  const timer = new StageTimer();
  const progress = opts.progress ?? (() => {});

  // The score workers start now, on the cores the single-threaded epoch fit leaves idle.
  const stream = openScoreStream(grid, { bands, params, model, stripRows: opts.stripRows, workers: opts.scoreWorkers ?? defaultScoreWorkers() });
  let fitted: EpochFit;
  let scores: TileScores;
  try {
    ({ fitted, scores } = await fitAndScore(pair, stream, bands, params, timer, opts, progress));
  } finally {
    await stream.close();
  }
  const comps = await extractComponents(scores, { params: { ...params, components }, model, width: w, height: h, pixelAreaM2, timer });
  progress(0.8);
  const { detections, labelConfidence } = await vectoriseComponents(scores, comps, {
    params: components, learned: model !== null, grid, pixelAreaM2, tileId: pair.id, afterDate: pair.afterDate, timer, traced: () => progress(0.9), objectModel,
  });
  progress(1);
  const { notObservedPx } = comps;
  return {
    detection: {
      detections,
      observedM2: (n - notObservedPx) * pixelAreaM2,
      notObservedM2: notObservedPx * pixelAreaM2,
      notObserved: notObservedPx > 0 ? notObservedGeometry(scores.type, grid) : null,
      threshold: comps.threshold,
      normalisation: fitted.fit,
      coregistration: fitted.coregistration,
      stamp: detectorStamp(opts.params, model ? model : [], objectModel),
      timings: timer.timings,
      pixels: n,
    },
    rasters: { width: w, height: h, score: scores.score, type: scores.type, labels: comps.labels, labelConfidence },
  };
}

/** Stage 1 (the epoch fit, which may reject the tile) and stage 2 (the score stream) of detectPair. */
async function fitAndScore(
  pair: EpochPair, stream: ScoreStream, bands: BandName[], params: DetectorParams, timer: StageTimer,
  opts: DetectPairOptions, progress: (f: number) => void,
): Promise<{ fitted: EpochFit; scores: TileScores }> {
  const fitted = await timer.time('normalise', () => fitEpochs(pair, bands, params.score));
  // A file of one value in every band is not imagery (not-imagery.ts): told from the fit's sample where
  // it shows enough, before the gates below, which take a saturated or zero-scaled one for cloud or
  // shadow (and would name the current tile for a prior's fault), and before a full read of both epochs.
  const notImagery = pair.notImagery?.();
  if (notImagery) throw notImagery;
  // A tile under cloud or nodata almost everywhere has nothing to compare: rejected by name, and
  // the batch goes on with its other tiles.
  if (fitted.fit.samplePixels < MIN_FIT_SAMPLES) throw new NothingToCompare(fitted.fit.samplePixels, pair.file, fitted.currentPixels);
  // Weather in one epoch over more of the sample than the fit leaves out: the fit matches the cloud
  // onto the other epoch's ground, the weather tests then see none, and the tile would come out
  // observed and unchanged ("no look" filed as "no change"). Rejected by name instead.
  // (At least a quarter: a fit that keeps every pixel would otherwise refuse a tile for a white roof.)
  const clouded = Math.max(fitted.weather.after, fitted.weather.before);
  const cloudLimit = Math.max(MIN_CLOUD_LIMIT, 1 - params.score.normKeepShare);
  if (clouded > cloudLimit) {
    const epoch = fitted.weather.after >= fitted.weather.before ? 'current' : 'prior';
    throw new TubanError(
      'TILE.NOT_OBSERVABLE',
      `the ${epoch} epoch is cloud or shadow over ${Math.round(clouded * 100)} % of the sampled pixels where the other is clear (more than ${Math.round(cloudLimit * 100)} %): ` +
        `the epochs cannot be matched, and no change could be told from the weather; use a clearer ${epoch === 'current' ? 'acquisition of the month' : 'prior acquisition'}, or one with the clouds masked as nodata`,
      pair.file,
    );
  }
  const scores = await stream.run(fitted.pair, { fit: fitted.fit, signal: opts.signal, progress: (f) => progress(f * 0.7), timer });
  // Both epochs are read in full now: what the sample could not tell (a prior read only for the
  // tile's holes), before its "no change" (or its prior's false change) is drawn.
  const notImageryRead = pair.notImagery?.();
  if (notImageryRead) throw notImageryRead;
  return { fitted, scores };
}

/**
 * The fit's rejection of a tile whose sample has too few pixels valid in both epochs. Where priors of
 * the tile were dropped before (handlers.ts) and the current epoch alone shows enough (`currentPixels`
 * of the sample valid, at least `minimum`), the ground left without a prior is their doing; else the
 * tile itself is under cloud or nodata.
 */
export class NothingToCompare extends TubanError {
  readonly minimum = MIN_FIT_SAMPLES;
  readonly currentPixels: number;

  constructor(samplePixels: number, file: string, currentPixels: number) {
    super('TILE.NOT_OBSERVABLE', `only ${samplePixels} sampled pixels are valid in both epochs (nodata or cloud nearly everywhere): nothing to compare`, file);
    this.currentPixels = currentPixels;
  }
}

/** The least share of a tile's sample under weather in one epoch that rejects it (see detectPair). */
const MIN_CLOUD_LIMIT = 0.25;

/** Refuses a tile whose full-tile buffers would not fit under the cap, before anything is read. */
function checkTileMemory(n: number, w: number, h: number, maxBytes: number, file: string): void {
  if (n * BYTES_PER_PIXEL > maxBytes) {
    throw new TubanError('RASTER.TOO_LARGE', `${w}×${h} px needs ${((n * BYTES_PER_PIXEL) / 1024 ** 3).toFixed(1)} GiB of working memory, over the ${(maxBytes / 1024 ** 3).toFixed(1)} GiB cap`, file);
  }
}

/** Ground size of a pixel of `grid`, m (the side of approxPixelAreaM2's square): what atPixelSize scales the radii by. */
export function pixelSizeM(grid: Grid): number {
  return Math.sqrt(approxPixelAreaM2(grid));
}

/** m² of one pixel: exact for projected grids, at the tile centre for lon/lat grids. */
export function approxPixelAreaM2(grid: Grid): number {
  const t = grid.transform;
  const [cx, cy] = [t[0] + (grid.width / 2) * t[1], t[3] + (grid.height / 2) * t[5]];
  const toLonLat = transformer(grid.crs, LONLAT);
  const corner = (c: number, r: number) => toLonLat(cx + c * t[1] + r * t[2], cy + c * t[4] + r * t[5]);
  // A 100×100-pixel square gives a stable figure where a single pixel would round badly.
  const big = [corner(0, 0), corner(100, 0), corner(100, 100), corner(0, 100), corner(0, 0)];
  return areaM2({ type: 'Polygon', coordinates: [big] }) / 1e4;
}
