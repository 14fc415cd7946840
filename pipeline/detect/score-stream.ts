/**
 * Stage 2 of a tile: stream both epochs in row strips (each read with a halo, the next strip
 * decoded while this one is scored) and score every pixel, in a worker pool where the machine has
 * cores to spare or on the calling thread. Output is identical either way. Full-tile outputs:
 * score f32 and type u8; band data only ever lives two strips at a time.
 */
import { windowGrid, type BandName, type Raster, type Window } from '../../geo/raster.js';
import { TubanError } from '../../schemas/errors.js';
import { FEATURE_COUNT, createFeatureScratch, featureRadii } from './change-features.js';
import { foldModel, type ChangeModel } from './change-model.js';
import type { DetectorParams } from './detector-params.js';
import { asEpochs, type EpochPair } from './epoch-pair.js';
import type { NormFit } from './normalise.js';
import { ScorePool } from './score-pool.js';
import { createScoreScratch, rangeRadius, scorePixels, type LearnedScoring } from './score.js';
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

export function defaultStripRows(width: number, learned: boolean): number {
  // The learned features hold ~25 float planes per strip pixel: shorter strips keep that bounded.
  return Math.max(64, Math.min(1024, Math.floor((learned ? 2e6 : 8e6) / width)));
}

export async function streamScores(pair: EpochPair, opts: ScoreStreamOptions): Promise<TileScores> {
  const { bands, params, fit, model, timer } = opts;
  if (opts.observe && !model) throw new Error('streamScores: a strip observer reads the learned features, and there is no model');
  const grid = pair.grid;
  const { width: w, height: h } = grid;
  const score = new Float32Array(w * h);
  const type = new Uint8Array(w * h);
  const stripRows = opts.stripRows ?? defaultStripRows(w, model !== null);
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
  const workers = opts.observe ? 0 : Math.min(opts.workers, strips.length - 1);
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
  const progress = opts.progress ?? (() => {});

  // The read-ahead is marked handled at once: when the loop leaves early (shutdown abort, a
  // scoring error) nobody awaits it, and its rejection once the caller closes the readers
  // ("readWindow after close") would otherwise be an unhandled rejection that kills a worker.
  // The loop's own `await next` still sees the error.
  // Two strips live at once (scored + read ahead): the one scored last lends its arrays to the next read.
  let spare: [Raster, Raster] | undefined;
  const readStrip = (win: Window) => {
    const p = Promise.all([pair.fixed.readWindow(win, bands, spare?.[0]), pair.moving.readAligned(windowGrid(grid, win), bands, spare?.[1])]);
    p.catch(() => {});
    return p;
  };
  let next = readStrip(strips[0].win);
  // Pool mode: strips being scored, oldest first; at most `workers` + 1 wait, which bounds memory.
  const inflight: Promise<void>[] = [];
  let scored = 0;
  try {
    for (let s = 0; s < strips.length; s++) {
      if (opts.signal?.aborted) throw new TubanError('QUEUE.TRANSIENT', 'interrupted by shutdown', pair.id);
      const { win, first, count } = strips[s];
      const [fixedR, movingR] = await timer.time('read', () => next);
      const { before, after } = asEpochs(pair, fixedR, movingR);
      // Decode the next strip (in the inflate worker threads) while this one is scored.
      if (s + 1 < strips.length) next = readStrip(strips[s + 1].win);
      spare = undefined; // lent to the read-ahead (or not needed any more)
      const off = (win.row + first) * w;
      if (pool) {
        const job = pool.score(before, after, first, count).then((r) => {
          score.set(r.score, off);
          type.set(r.type, off);
          progress(++scored / strips.length);
        });
        job.catch(() => {}); // awaited below; a failure must not surface as unhandled first
        inflight.push(job);
        spare = [fixedR, movingR]; // the pool copied the bands
        if (inflight.length > workers) await timer.time('score', () => inflight.shift()!);
        continue;
      }
      const out = { score: score.subarray(off, off + w * count), type: type.subarray(off, off + w * count) };
      await timer.time('score', () => scorePixels(before, after, fit, params, out, { first, count }, scratch!, learned));
      if (opts.observe) opts.observe(learned!.features, win.row + first, count, out.type);
      spare = [fixedR, movingR];
      progress((s + 1) / strips.length);
    }
    await timer.time('score', () => Promise.all(inflight));
  } finally {
    await pool?.close();
  }
  return { score, type };
}
