/**
 * The life of one tile inside the detector: stream the current tile and the prior
 * mosaic (warped onto the current grid) in row strips, score every pixel, pick one
 * threshold for the whole tile, clean the mask, label components and turn the kept
 * ones into lon/lat polygons. Full-tile buffers are allocated once per tile
 * (score f32, type u8, mask u8, labels i32 ≈ 10 B/px ≈ 1.2 GB on a 10980² tile);
 * band data only ever lives one strip at a time.
 */
import type { MultiPolygon } from 'geojson';
import { areaM2 } from '../../geo/area.js';
import { LONLAT, transformer } from '../../geo/crs.js';
import { estimateShift, offsetSource } from '../../geo/coregister.js';
import { componentStats, labelComponents, seedStats } from '../../geo/kernels/label.js';
import { createMorphScratch, open as openMask, close as closeMask } from '../../geo/kernels/morphology.js';
import { polygonizeLabels } from '../../geo/kernels/polygonize.js';
import { ringArea } from '../../geo/kernels/ring.js';
import { simplifyPolygon } from '../../geo/kernels/simplify.js';
import { histogram } from '../../geo/kernels/threshold.js';
import { windowGrid, type BandName, type Grid, type Raster, type Window } from '../../geo/raster.js';
import type { AlignedSource, TileReader } from '../../geo/tile-reader.js';
import { TubanError } from '../../schemas/errors.js';
import { NOT_OBSERVED, STILL_VEGETATED, changeTypeOfCode, createScoreScratch, scorePixels } from './score.js';
import { maskCloudFringes } from './cloud-fringes.js';
import { chooseThreshold } from './threshold.js';
import { componentConfidence, learnedConfidence } from './confidence.js';
import { FEATURE_CONTEXT, FEATURE_COUNT, createFeatureScratch } from './change-features.js';
import { foldModel, modelHash, shippedChangeModel, type ChangeModel } from './change-model.js';
import type { LearnedScoring } from './score.js';
import { notObservedGeometry } from './not-observed.js';
import { pixelPolygonToLonLat } from '../../geo/pixel-to-geo.js';
import { fitNormalisation, type NormFit } from './normalise.js';
import { ScorePool, defaultScoreWorkers } from './score-pool.js';
import { DETECTOR_NAME, DETECTOR_VERSION, effectiveParams, paramsHash, usesLearnedModel, type DetectorParams } from './detector-params.js';
import type { ChangeType } from '../../schemas/vocabulary.js';
import type { DetectorStamp } from '../../schemas/polygon.js';
import type { Detection } from '../model.js';

type ScoreOutput = { score: Float32Array; type: Uint8Array };

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
  /** Per-pixel rasters on the tile grid, only when `keepRasters` was asked (accuracy harness, diagnostics). */
  rasters?: TileRasters;
}

/** Prior pixels (dx, dy) that line up with the tile's pixel (0, 0); peak/atZero: edge correlation with and without the shift. */
export interface Coregistration {
  dx: number;
  dy: number;
  peak: number;
  atZero: number;
  applied: boolean;
}

/** Full-tile rasters of one detection, on the scored grid. */
export interface TileRasters {
  width: number;
  height: number;
  /** Change score, σ units; NaN where not observable. */
  score: Float32Array;
  /** CHANGE_TYPE_CODES per pixel (NOT_OBSERVED where hidden). */
  type: Uint8Array;
  /** Component label per pixel (0 = none); labels of components not emitted are zeroed. */
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
  /** Refuse tiles whose full-tile buffers would exceed this many bytes. */
  maxTileBytes?: number;
  progress?: (fraction: number) => void;
  signal?: AbortSignal;
  /** Return the score/type/label rasters in `rasters` (holds ~13 B/px more past the call). */
  keepRasters?: boolean;
  /**
   * Which epoch the tile reader holds: 'after' (the product: current tile, prior warped onto it)
   * or 'before' (the accuracy harness, whose labels lie on the first date's grid: the later
   * date is warped onto it). Only the roles swap; the grid scored is always the tile's.
   */
  tileEpoch?: 'after' | 'before';
  /** Learned model to use instead of the shipped one (leave-one-city-out evaluation, training). */
  changeModel?: ChangeModel;
  /** Worker threads that score strips (0 = on the calling thread); default defaultScoreWorkers(). Output is identical either way. */
  scoreWorkers?: number;
  /** Called after each strip with the learned model's feature planes (FEATURE_COUNT × count × width) for rows [row, row + count): the trainer's tap. */
  onFeatures?: (features: Float32Array[], row: number, count: number, types: Uint8Array) => void;
}

const HIST_BINS = 4096;
/** Score histogram range in σ units of the normalised difference; scores above are clamped into the last bin. */
const HIST_HI = 64;
const BYTES_PER_PIXEL = 4 + 1 + 1 + 4;

/**
 * Name, version and parameter hash of the detector. With the learned model the version names the
 * model's version and the hash covers its weights, so a polygon traces back to both.
 */
export function detectorStamp(params: DetectorParams, model?: ChangeModel): DetectorStamp {
  // 'auto' may use the model on any tile, so its stamp names the model too.
  if (params.model === 'unsupervised') return { name: DETECTOR_NAME, version: DETECTOR_VERSION, paramsHash: paramsHash(params) };
  const m = model ?? shippedChangeModel();
  return { name: DETECTOR_NAME, version: `${DETECTOR_VERSION}+model.${m.version}`, paramsHash: paramsHash(params, modelHash(m)) };
}

export async function detectTile(current: TileReader, prior: AlignedSource, opts: DetectTileOptions): Promise<TileDetection> {
  const { bands } = opts;
  const useModel = usesLearnedModel(opts.params, bands);
  const params = effectiveParams(opts.params, useModel);
  const grid = current.info.grid;
  const { width: w, height: h } = grid;
  const n = w * h;
  const maxBytes = opts.maxTileBytes ?? 6 * 1024 ** 3;
  if (n * BYTES_PER_PIXEL > maxBytes) {
    throw new TubanError('RASTER.TOO_LARGE', `${w}×${h} px needs ${((n * BYTES_PER_PIXEL) / 1024 ** 3).toFixed(1)} GiB of working memory, over the ${(maxBytes / 1024 ** 3).toFixed(1)} GiB cap`, current.info.files[0]);
  }
  const timings: Record<string, number> = {};
  const time = async <T>(stage: string, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      timings[stage] = (timings[stage] ?? 0) + (performance.now() - t0) / 1000;
    }
  };
  const progress = opts.progress ?? (() => {});

  const swap = opts.tileEpoch === 'before';
  let source = prior;
  const { fit, coregistration } = await time('normalise', async () => {
    let samples = await readSamples(current, source, bands, swap);
    const coregistration = coregisterEpochs(samples, swap, params.coregisterMinPx);
    if (coregistration?.applied) {
      // Shift the prior back onto the tile, and fit the gains on the re-aligned windows.
      source = offsetSource(prior, coregistration.dx, coregistration.dy);
      samples = await realignPrior(samples, source, bands, swap);
    }
    return { fit: fitNormalisation(samples), coregistration };
  });

  const score = new Float32Array(n);
  const type = new Uint8Array(n);
  const hist = new Float64Array(HIST_BINS);
  const model = useModel ? (opts.changeModel ?? shippedChangeModel()) : null;
  // The learned features hold ~25 float planes per strip pixel: shorter strips keep that bounded.
  const stripRows = opts.stripRows ?? Math.max(64, Math.min(1024, Math.floor((model ? 2e6 : 8e6) / w)));
  // Halo rows read above and below each strip: the 3×3 before-range needs 1, the box means
  // (score smoothing, learned context) their radius more, so strip seams do not show.
  const halo = (model ? Math.max(params.smoothRadius, FEATURE_CONTEXT) : params.smoothRadius) + 1;
  const strips: { win: Window; first: number; count: number }[] = [];
  for (let row = 0; row < h; row += stripRows) {
    const count = Math.min(stripRows, h - row);
    const top = Math.max(0, row - halo);
    const bottom = Math.min(h, row + count + halo);
    strips.push({ win: { col: 0, row: top, width: w, height: bottom - top }, first: row - top, count });
  }
  const haloRows = Math.min(h, stripRows + 2 * halo);
  // Strips are scored in worker threads where the machine has cores to spare (not for the
  // trainer's feature tap, which reads the in-process planes). One strip needs no pool.
  const workers = opts.onFeatures ? 0 : Math.min(opts.scoreWorkers ?? defaultScoreWorkers(), strips.length - 1);
  const pool = workers > 0 ? new ScorePool(workers, { params, fit, model, width: w, haloRows, outRows: stripRows }) : null;
  const scratch = pool ? null : createScoreScratch(w, haloRows);
  let learned: LearnedScoring | undefined;
  if (model && !pool) {
    learned = {
      folded: foldModel(model),
      threshold: model.threshold,
      scratch: createFeatureScratch(w, haloRows),
      features: Array.from({ length: FEATURE_COUNT }, () => new Float32Array(w * stripRows)),
    };
  }

  // The read-ahead is marked handled at once: when the loop leaves early (shutdown abort, a
  // scoring error) nobody awaits it, and its rejection once the caller closes the readers
  // ("readWindow after close") would otherwise be an unhandled rejection that kills a worker.
  // The loop's own `await next` still sees the error.
  // Two strips live at once (scored + read ahead): the one scored last lends its arrays to the next read.
  let spare: [Raster, Raster] | undefined;
  const readStrip = (win: Window) => {
    const p = Promise.all([current.readWindow(win, bands, spare?.[0]), source.readAligned(windowGrid(grid, win), bands, spare?.[1])]);
    p.catch(() => {});
    return p;
  };
  let next = readStrip(strips[0].win);
  // Pool mode: strips being scored, oldest first; at most `workers` + 1 wait, which bounds memory.
  const inflight: Promise<void>[] = [];
  let scored = 0;
  try {
    for (let s = 0; s < strips.length; s++) {
      if (opts.signal?.aborted) throw new TubanError('QUEUE.TRANSIENT', 'interrupted by shutdown', current.info.id);
      const { win, first, count } = strips[s];
      const [tileR, priorR] = await time('read', () => next);
      const [after, before] = swap ? [priorR, tileR] : [tileR, priorR];
      // Decode the next strip (in the inflate worker threads) while this one is scored.
      if (s + 1 < strips.length) next = readStrip(strips[s + 1].win);
      spare = undefined; // lent to the read-ahead (or not needed any more)
      const off = (win.row + first) * w;
      if (pool) {
        const job = pool.score(before, after, first, count).then((r) => {
          score.set(r.score, off);
          type.set(r.type, off);
          progress((++scored / strips.length) * 0.7);
        });
        job.catch(() => {}); // awaited below; a failure must not surface as unhandled first
        inflight.push(job);
        spare = [tileR, priorR]; // the pool copied the bands
        if (inflight.length > workers) await time('score', () => inflight.shift()!);
        continue;
      }
      const out: ScoreOutput = { score: score.subarray(off, off + w * count), type: type.subarray(off, off + w * count) };
      await time('score', () => scorePixels(before, after, fit, params, out, { first, count }, scratch!, learned));
      if (learned && opts.onFeatures) opts.onFeatures(learned.features, win.row + first, count, out.type);
      spare = [tileR, priorR];
      progress(((s + 1) / strips.length) * 0.7);
    }
    await time('score', () => Promise.all(inflight));
  } finally {
    await pool?.close();
  }

  // The labels buffer doubles as the flood queue: it is not needed until labelling.
  const labels = new Int32Array(n);
  const pxArea = approxPixelAreaM2(grid);
  const minCorePx = params.cloudCoreMinM2 > 0 ? Math.ceil(params.cloudCoreMinM2 / pxArea) : 0;
  await time('clouds', () => maskCloudFringes(type, score, w, h, labels, { fringes: params.cloudFringes, minCorePx, haloPx: params.cloudHaloPx, bufferPx: params.cloudBufferPx }));
  labels.fill(0);

  const threshold = await time('threshold', () => {
    // The learned score is a probability with its threshold fixed in training.
    if (model) return model.threshold;
    histogram(score, null, 0, HIST_HI, hist);
    return chooseThreshold(hist, 0, HIST_HI, params);
  });

  // Hysteresis with the learned model: a change's edge pixels often score just under the cut,
  // and a small building seen in one or two pixels at the cut falls under the MMU without them.
  const lowCut = model ? threshold * Math.min(1, params.learnedGrowCut) : threshold;
  // Reuse `mask` for the change mask, count observation while we pass over the tile.
  const mask = new Uint8Array(n);
  let notObservedPx = 0;
  await time('mask', () => {
    for (let i = 0; i < n; i++) {
      const t = type[i];
      if (t === NOT_OBSERVED) {
        notObservedPx++;
        continue;
      }
      mask[i] = score[i] >= lowCut ? 1 : 0;
    }
    if (params.openRadius > 0) {
      const scratch = createMorphScratch(w, h);
      openMask(mask, w, h, scratch, params.openRadius);
      closeMask(mask, w, h, scratch, params.openRadius);
    }
  });
  progress(0.8);

  const { count, stats } = await time('label', () => {
    const count = labelComponents(mask, w, h, labels, 8);
    return { count, stats: componentStats(labels, w, h, count, score) };
  });

  const minPixels = Math.max(1, Math.ceil(params.mmuM2 / pxArea));
  // The evidence of a component is its pixels at the threshold; the grown rim only draws the outline.
  const seeds = lowCut < threshold ? seedStats(labels, score, threshold, count) : { count: stats.count, sum: stats.sum! };
  const minSeeds = model ? Math.max(1, params.learnedSeedPx) : 1;
  const keep = new Uint8Array(count + 1);
  for (let l = 1; l <= count; l++) keep[l] = stats.count[l] >= minPixels && seeds.count[l] >= minSeeds ? 1 : 0;
  const typeCounts = await time('label', () => countTypes(labels, type, score, count, keep));

  const polys = await time('vectorise', () => polygonizeLabels(labels, w, h, count, keep));
  progress(0.9);

  const detections: Detection[] = [];
  const labelConfidence = new Float64Array(count + 1).fill(NaN);
  await time('vectorise', () => {
    for (let l = 1; l <= count; l++) {
      const parts = polys[l];
      if (!keep[l] || !parts) continue;
      const { changeType, agreement } = dominantType(typeCounts, l);
      if (changeType === null) continue; // seasonal: still vegetated or regrowing
      const pixelCount = seeds.count[l];
      const meanScore = seeds.sum[l] / pixelCount;
      const evidence = { meanScore, maxScore: stats.max![l], pixelCount, pixelAreaM2: pxArea, threshold, typeAgreement: agreement };
      const { confidence, reasons } = model ? learnedConfidence(evidence, params) : componentConfidence(evidence, params);
      if (confidence < params.minConfidence) continue;
      labelConfidence[l] = confidence;
      for (const part of parts) {
        const simplified = simplifyPolygon(part, 0.5, 1);
        const geometry = pixelPolygonToLonLat(simplified, grid);
        const partPixels = Math.abs(ringArea(part[0])) - part.slice(1).reduce((a, hole) => a + Math.abs(ringArea(hole)), 0);
        if (partPixels < minPixels) continue;
        detections.push({
          tileId: current.info.id,
          index: detections.length,
          geometry,
          areaM2: areaM2(geometry),
          changeType,
          confidence,
          reasons,
          beforeDate: '',
          afterDate: current.info.date,
          pixelCount: Math.round(partPixels),
        });
      }
    }
  });
  progress(1);
  let rasters: TileRasters | undefined;
  if (opts.keepRasters) {
    for (let i = 0; i < n; i++) if (labels[i] && !(labelConfidence[labels[i]] >= 0)) labels[i] = 0;
    rasters = { width: w, height: h, score, type, labels, labelConfidence };
  }
  return {
    detections,
    observedM2: (n - notObservedPx) * pxArea,
    notObservedM2: notObservedPx * pxArea,
    notObserved: notObservedPx > 0 ? notObservedGeometry(type, grid) : null,
    threshold,
    normalisation: fit,
    coregistration,
    stamp: detectorStamp(opts.params, model ?? undefined),
    timings,
    pixels: n,
    rasters,
  };
}

/** Up to 16 windows of 256² spread over the tile: enough pixels to fit gains without decoding it twice. */
async function readSamples(current: TileReader, prior: AlignedSource, bands: BandName[], swap: boolean): Promise<{ before: Raster; after: Raster }[]> {
  const grid = current.info.grid;
  const size = Math.min(256, grid.width, grid.height);
  const steps = 4;
  const wins: Window[] = [];
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < steps; j++) {
      // Snapped to multiples of 512 px where the tile is big enough: COG blocks are 256 or 512 px,
      // so each sample window then decodes one block instead of up to four.
      const col = snap(Math.round(((grid.width - size) * (j + 0.5)) / steps), grid.width - size);
      const row = snap(Math.round(((grid.height - size) * (i + 0.5)) / steps), grid.height - size);
      if (!wins.some((w) => w.col === col && w.row === row)) wins.push({ col, row, width: size, height: size });
    }
  }
  return Promise.all(
    wins.map(async (win) => {
      const [tileR, priorR] = await Promise.all([current.readWindow(win, bands), prior.readAligned(windowGrid(grid, win), bands)]);
      return swap ? { before: tileR, after: priorR } : { before: priorR, after: tileR };
    }),
  );
}

/** Below this the epochs' edges hardly agree at any shift (heavy change, cloud, no texture): a peak there is noise. OSCD pairs measure 0.31–0.79. */
const MIN_EDGE_CORRELATION = 0.2;

/**
 * The epochs' misregistration measured on the normalisation windows (NIR edges), and whether it is
 * large and clear enough to take out: at least minPx, a better match than no shift at all, and a
 * correlation worth trusting.
 */
function coregisterEpochs(samples: { before: Raster; after: Raster }[], swap: boolean, minPx: number): Coregistration | null {
  const est = estimateShift(
    samples.map(({ before, after }) => {
      const [cur, pri] = swap ? [before, after] : [after, before];
      const valid = new Uint8Array(cur.valid.length);
      for (let i = 0; i < valid.length; i++) valid[i] = cur.valid[i] & pri.valid[i];
      return { width: cur.width, height: cur.height, current: cur.bands.nir!, prior: pri.bands.nir!, valid };
    }),
  );
  if (!est) return null;
  const r = (v: number) => Math.round(v * 100) / 100;
  const applied = minPx > 0 && Math.hypot(est.dx, est.dy) >= minPx && est.peak > est.atZero && est.peak >= MIN_EDGE_CORRELATION;
  return { dx: r(est.dx), dy: r(est.dy), peak: r(est.peak), atZero: r(est.atZero), applied };
}

/** The sample windows with only their prior side read again, from `prior` (the tile's side is already right). */
function realignPrior(samples: { before: Raster; after: Raster }[], prior: AlignedSource, bands: BandName[], swap: boolean): Promise<{ before: Raster; after: Raster }[]> {
  return Promise.all(
    samples.map(async ({ before, after }) => {
      const tileR = swap ? before : after;
      const priorR = await prior.readAligned({ width: tileR.width, height: tileR.height, crs: tileR.crs, transform: tileR.transform }, bands);
      return swap ? { before: tileR, after: priorR } : { before: priorR, after: tileR };
    }),
  );
}

function snap(v: number, max: number): number {
  const snapped = Math.round(v / 512) * 512;
  return max >= 1024 && snapped <= max ? snapped : v;
}

/** m² of one pixel: exact for projected grids, at the tile centre for lon/lat grids. */
function approxPixelAreaM2(grid: Grid): number {
  const t = grid.transform;
  const [cx, cy] = [t[0] + (grid.width / 2) * t[1], t[3] + (grid.height / 2) * t[5]];
  const toLonLat = transformer(grid.crs, LONLAT);
  const corner = (c: number, r: number) => toLonLat(cx + c * t[1] + r * t[2], cy + c * t[4] + r * t[5]);
  // A 100×100-pixel square gives a stable figure where a single pixel would round badly.
  const big = [corner(0, 0), corner(100, 0), corner(100, 100), corner(0, 100), corner(0, 0)];
  return areaM2({ type: 'Polygon', coordinates: [big] }) / 1e4;
}

const TYPE_SLOTS = 8;

/**
 * Per-label votes for each change type code, each pixel weighted by its squared score, in one pass: the
 * component's core (pure pixels, highest scores) decides, not its rim, whose pixels mix old and
 * new cover (a new yard on wheat has a rim that still looks half-vegetated).
 */
function countTypes(labels: Int32Array, type: Uint8Array, score: Float32Array, count: number, keep: Uint8Array): Float64Array {
  const counts = new Float64Array((count + 1) * TYPE_SLOTS);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    const s = score[i];
    if (l && keep[l] && s === s) counts[l * TYPE_SLOTS + (type[i] & (TYPE_SLOTS - 1))] += s * s;
  }
  return counts;
}

/**
 * The component's change type by score-weighted vote, and the share of the vote it carries; null
 * when most of the vote is seasonal (STILL_VEGETATED or regrowth, code 0): no land was taken.
 */
function dominantType(counts: Float64Array, label: number): { changeType: ChangeType | null; agreement: number } {
  let best = -1;
  let bestN = -1;
  let total = 0;
  const seasonal = counts[label * TYPE_SLOTS + STILL_VEGETATED] + counts[label * TYPE_SLOTS];
  for (let k = 0; k < TYPE_SLOTS; k++) {
    const c = counts[label * TYPE_SLOTS + k];
    if (changeTypeOfCode(k) === null) continue;
    total += c;
    if (c > bestN) {
      bestN = c;
      best = k;
    }
  }
  if (seasonal > total) return { changeType: null, agreement: 0 };
  return { changeType: changeTypeOfCode(best) ?? 'construction', agreement: total > 0 ? bestN / total : 0 };
}

