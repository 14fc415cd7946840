/**
 * Stage 2 of a tile: stream both epochs in row strips (each read with a halo, the next strip
 * decoded while this one is scored) and score every pixel, in a worker pool where the machine has
 * cores to spare or on the calling thread. Output is identical either way. Full-tile outputs:
 * score f32 and type u8; band data only ever lives two strips at a time.
 */
import { windowGrid, type BandName, type Grid, type Raster, type Window } from '../../geo/raster.js';
import { TubanError } from '../../schemas/errors.js';
import { createFeaturePlanes, createFeatureScratch, featureRadii } from './change-features.js';
import { foldModel, foldedFeatureUse, type ChangeModel } from './change-model.js';
import type { DetectorParams } from './detector-params.js';
import { asEpochs, type EpochPair } from './epoch-pair.js';
import type { NormFit } from './normalise.js';
import { ScorePool, rasterShared } from './score-pool.js';
import { createScoreScratch, rangeRadius, scorePixels, type LearnedScoring } from './score.js';
import { giveBackShared, takeShared } from './shared-buffers.js';
import type { StageTimer } from './stage-timer.js';

export interface TileScores {
  /** Change score per pixel (σ units, or the learned model's probability); NaN where not observable. */
  score: Float32Array;
  /** CHANGE_TYPE_CODES per pixel (NOT_OBSERVED where hidden). */
  type: Uint8Array;
}

/**
 * One scored strip as the calling thread saw it: the learned model's feature planes
 * (FEATURE_COUNT × count × width) and the types of rows [row, row + count). The trainer's view.
 */
export type StripObserver = (features: Float32Array[], row: number, count: number, types: Uint8Array) => void;

export interface ScoreStreamOptions {
  bands: BandName[];
  /** The score and learned groups: all that scoring reads. */
  params: Pick<DetectorParams, 'score' | 'learned'>;
  fit: NormFit;
  /** The learned model, or null for the unsupervised score. */
  model: ChangeModel | null;
  /** Rows per strip (default: about 2 Mpx of strip with the model, 8 Mpx without). */
  stripRows?: number;
  /** Worker threads (0 = the calling thread). One strip needs no pool. */
  workers: number;
  /** Sees every strip's learned features; scores on the calling thread (the planes live there). Needs a model. */
  observe?: StripObserver;
  signal?: AbortSignal;
  /** Fraction of the strips scored. */
  progress?: (fraction: number) => void;
  timer: StageTimer;
}

export function defaultStripRows(width: number, learned: boolean, workers = 0): number {
  // The learned features hold ~25 float planes per strip pixel: shorter strips keep that bounded.
  // In a pool, strips of ~2 Mpx: enough of them to keep every worker busy to the end of the tile
  // (a 4096² tile in 1024-row strips is 4 strips), with the halo rows still ≤ 5 % of the work.
  const px = learned || workers > 0 ? 2e6 : 8e6;
  return Math.max(64, Math.min(1024, Math.floor(px / width)));
}

/** A strip's band memory: one raster per epoch, on SharedArrayBuffers a score worker reads in place. */
interface Slot {
  fixed: Raster;
  moving: Raster;
}

function sharedRaster(bands: BandName[], n: number, buffers: SharedArrayBuffer[]): Raster {
  // From the process's kept buffers (shared-buffers.ts): readers write every pixel of a strip.
  const take = (bytes: number) => {
    const b = takeShared(bytes);
    buffers.push(b);
    return b;
  };
  const record: Raster['bands'] = {};
  for (const b of bands) record[b] = new Float32Array(take(n * 4));
  return { width: 0, height: 0, crs: '', transform: [0, 1, 0, 0, 0, -1], bands: record, valid: new Uint8Array(take(n)) };
}

/**
 * `r` with its arrays in the slot's shared memory: as is when the reader filled the slot (the usual
 * case: readers honour `reuse`), else copied in (a reader that brings its own arrays).
 */
function inSlot(r: Raster, slot: Raster, bands: BandName[]): Raster {
  if (rasterShared(r)) return r;
  const n = r.width * r.height;
  const out: Raster['bands'] = {};
  for (const b of bands) {
    const dst = slot.bands[b]!.subarray(0, n);
    dst.set(r.bands[b]!.subarray(0, n));
    out[b] = dst;
  }
  const valid = slot.valid.subarray(0, n);
  valid.set(r.valid.subarray(0, n));
  return { ...r, bands: out, valid };
}

export async function streamScores(pair: EpochPair, opts: ScoreStreamOptions): Promise<TileScores> {
  const stream = openScoreStream(pair.grid, opts);
  try {
    return await stream.run(pair, opts);
  } finally {
    await stream.close();
  }
}

/** What a score stream is set up with: everything but the epochs' fit. */
export type ScoreStreamSetup = Pick<ScoreStreamOptions, 'bands' | 'params' | 'model' | 'stripRows' | 'workers' | 'observe'>;

/** A tile's score stream, opened before its epochs are fitted: `run` once, then `close` (always). */
export interface ScoreStream {
  run(pair: EpochPair, opts: Pick<ScoreStreamOptions, 'fit' | 'signal' | 'progress' | 'timer'>): Promise<TileScores>;
  close(): Promise<void>;
}

/**
 * Sets up a tile's strips, outputs and score workers on `grid`. The workers start here: opened
 * before the epoch fit (detectPair), their start-up (~0.3 s of module loading and compiling per
 * worker) runs on the cores the single-threaded fit leaves idle, not after it.
 */
export function openScoreStream(grid: Grid, setup: ScoreStreamSetup): ScoreStream {
  const { bands, params, model } = setup;
  if (setup.observe && !model) throw new Error('streamScores: a strip observer reads the learned features, and there is no model');
  const { width: w, height: h } = grid;
  const requested = setup.observe ? 0 : setup.workers;
  const stripRows = setup.stripRows ?? defaultStripRows(w, model !== null, requested);
  // Halo rows read above and below each strip: the before-range needs its radius (1 at 10 m), the
  // box means (score smoothing, learned context) their radius more, so strip seams do not show.
  // Radii follow the tile's pixel size (params come through atPixelSize).
  const halo = (model ? Math.max(params.score.smoothRadius, featureRadii(params.score.pixelSizeM).context) : params.score.smoothRadius) + rangeRadius(params.score.pixelSizeM);
  const strips: { win: Window; first: number; count: number }[] = [];
  for (let row = 0; row < h; row += stripRows) {
    const count = Math.min(stripRows, h - row);
    const top = Math.max(0, row - halo);
    const bottom = Math.min(h, row + count + halo);
    strips.push({ win: { col: 0, row: top, width: w, height: bottom - top }, first: row - top, count });
  }
  const haloRows = Math.min(h, stripRows + 2 * halo);
  const workers = Math.min(requested, strips.length - 1);
  // With a pool the tile's outputs live on SharedArrayBuffers: workers write their rows in place.
  const score = workers > 0 ? new Float32Array(new SharedArrayBuffer(w * h * 4)) : new Float32Array(w * h);
  const type = workers > 0 ? new Uint8Array(new SharedArrayBuffer(w * h)) : new Uint8Array(w * h);
  const pool = workers > 0 ? new ScorePool(workers, { params, model, width: w, haloRows, outRows: stripRows, score, type }) : null;
  let ran = false;
  return {
    run(pair, opts) {
      if (ran) throw new Error('ScoreStream.run: a stream scores one tile once');
      ran = true;
      return runStream(pair, { ...setup, ...opts }, { strips, haloRows, stripRows, score, type, pool });
    },
    close: async () => {
      await pool?.close();
    },
  };
}

/** What openScoreStream prepared for runStream. */
interface Prepared {
  strips: { win: Window; first: number; count: number }[];
  haloRows: number;
  stripRows: number;
  score: Float32Array;
  type: Uint8Array;
  pool: ScorePool | null;
}

async function runStream(pair: EpochPair, opts: ScoreStreamOptions, prepared: Prepared): Promise<TileScores> {
  const { bands, params, fit, model, timer } = opts;
  const { strips, haloRows, stripRows, score, type, pool } = prepared;
  const grid = pair.grid;
  const w = grid.width;
  const workers = pool?.size ?? 0;
  const scratch = pool ? null : createScoreScratch(w, haloRows, params.score.pixelSizeM);
  let learned: LearnedScoring | undefined;
  if (model && !pool) {
    const featureScratch = createFeatureScratch(w, haloRows, params.score.pixelSizeM);
    learned = {
      folded: foldModel(model),
      threshold: model.threshold,
      scratch: featureScratch,
      features: createFeaturePlanes(featureScratch, w, stripRows),
    };
    // Unobserved, only what the model reads is computed; an observer (the trainer) reads every feature.
    if (!opts.observe) learned.use = foldedFeatureUse(learned.folded);
  }
  const progress = opts.progress ?? (() => {});

  // Strip memory, allocated once and recycled: a slot is read into, scored, then read into again.
  // Inline: the strip scored and the one read ahead. Pool: one per worker plus READ_AHEAD being read.
  // Never more than there are strips (a one-strip tile needs one). Inline, the slots' buffers are
  // given back for the next tile at the end (a pool's workers may still hold theirs).
  const readAhead = pool ? READ_AHEAD : 1;
  const buffers: SharedArrayBuffer[] = [];
  const slots: Slot[] = Array.from({ length: Math.min(strips.length, (pool ? workers : 1) + readAhead) }, () => ({ fixed: sharedRaster(bands, w * haloRows, buffers), moving: sharedRaster(bands, w * haloRows, buffers) }));
  const free = slots.slice();
  type StripRead = { fixed: Raster; moving: Raster; slot: Slot };
  // Each read is marked handled at once: when the loop leaves early (shutdown abort, a scoring
  // error) nobody awaits it, and its rejection once the caller closes the readers ("readWindow
  // after close") would otherwise be an unhandled rejection that kills a worker. The loop's own
  // await still sees the error.
  const reads: Promise<StripRead>[] = [];
  let nextRead = 0;
  // Set once the loop is left: a strip scored after that (the loop failed or was aborted) starts no read.
  let stopped = false;
  const topUpReads = () => {
    while (!stopped && reads.length < readAhead && nextRead < strips.length && free.length) {
      const slot = free.pop()!;
      const win = strips[nextRead++].win;
      const p = Promise.all([pair.fixed.readWindow(win, bands, slot.fixed), pair.moving.readAligned(windowGrid(grid, win), bands, slot.moving)])
        .then(([fixed, moving]) => ({ fixed: inSlot(fixed, slot.fixed, bands), moving: inSlot(moving, slot.moving, bands), slot }));
      p.catch(() => {});
      reads.push(p);
    }
  };
  // Pool mode: strips being scored; each removes itself when done.
  const inflight = new Set<Promise<void>>();
  let scored = 0;
  try {
    topUpReads();
    for (let s = 0; s < strips.length; s++) {
      if (opts.signal?.aborted) throw new TubanError('QUEUE.TRANSIENT', 'interrupted by shutdown', pair.id);
      const { win, first, count } = strips[s];
      const strip = await timer.time('read', () => reads.shift()!);
      const { before, after } = asEpochs(pair, strip.fixed, strip.moving);
      const off = (win.row + first) * w;
      if (pool) {
        const job: Promise<void> = pool.scoreInto(fit, before, after, first, count, off).then(() => {
          inflight.delete(job);
          free.push(strip.slot);
          progress(++scored / strips.length);
          // The freed slot starts the next read now, not when this loop next wakes (when the strip
          // it waits for is decoded): otherwise, with the score workers holding their slots, only
          // one strip was being decoded at a time and a block row's burst of inflates stalled them.
          topUpReads();
        });
        job.catch(() => {}); // awaited below; a failure must not surface as unhandled first
        inflight.add(job);
        topUpReads();
        // Keep the next read going: wait for a worker to hand its slot back when none is free.
        while (s + 1 < strips.length && reads.length === 0) {
          await timer.time('score', () => Promise.race(inflight));
          topUpReads();
        }
        continue;
      }
      // Decode the next strip (in the inflate worker threads) while this one is scored.
      topUpReads();
      const out = { score: score.subarray(off, off + w * count), type: type.subarray(off, off + w * count) };
      await timer.time('score', () => scorePixels(before, after, fit, params, out, { first, count }, scratch!, learned));
      if (opts.observe) opts.observe(learned!.features, win.row + first, count, out.type);
      free.push(strip.slot);
      progress((s + 1) / strips.length);
    }
    await timer.time('score', () => Promise.all(inflight));
  } finally {
    stopped = true;
  }
  // Every read has been awaited: nothing writes into the slots any more.
  if (!pool) giveBackShared(buffers);
  return { score, type };
}

/** Strips read ahead of the workers: two, so a strip that starts a new block row (a burst of inflates) does not stall them. */
const READ_AHEAD = 2;
