/**
 * Worker thread of the ScorePool: scores one halo'd strip at a time with the same scorePixels the
 * main thread runs in-process, so a tile scored in workers is bit-identical to one scored inline.
 * The strip's bands arrive as views of SharedArrayBuffers (the caller's strip slot: nothing is
 * copied on the way in) and the score and type rows are written straight into the tile's shared
 * outputs at `offset` (nothing is copied on the way out). Its scratch (and the learned model's
 * feature planes) is allocated once, for the largest strip. The epochs' normalisation comes with
 * each task, not at start: the pool is started while the tile's epochs are still being fitted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Raster } from '../../geo/raster.js';
import { createFeaturePlanes, createFeatureScratch } from './change-features.js';
import { foldModel, foldedFeatureUse, type ChangeModel } from './change-model.js';
import type { DetectorParams } from './detector-params.js';
import type { NormFit } from './normalise.js';
import { createScoreScratch, scorePixels, type LearnedScoring } from './score.js';
import { nameThisThread } from '../thread-name.js';

nameThisThread('tuban-score');

export interface ScoreWorkerInit {
  params: Pick<DetectorParams, 'score' | 'learned'>;
  model: ChangeModel | null;
  width: number;
  /** Rows of the largest halo'd strip, and of the largest output. */
  haloRows: number;
  outRows: number;
  /** The tile's outputs, on SharedArrayBuffers; absent: each reply carries its strip's rows instead. */
  score?: Float32Array;
  type?: Uint8Array;
}

export interface ScoreTask {
  id: number;
  /** The tile's normalisation (a few numbers a band: cloned with every task at no measurable cost). */
  fit: NormFit;
  before: Raster;
  after: Raster;
  first: number;
  count: number;
  /** Pixel offset of the strip's first output row in the shared outputs (with `score`/`type` in init). */
  offset?: number;
}

export interface ScoreReply {
  id: number;
  score?: Float32Array;
  type?: Uint8Array;
  error?: string;
}

const init = workerData as ScoreWorkerInit;
const scratch = createScoreScratch(init.width, init.haloRows, init.params.score.pixelSizeM);
const featureScratch = init.model ? createFeatureScratch(init.width, init.haloRows, init.params.score.pixelSizeM) : null;
const folded = init.model ? foldModel(init.model) : null;
const learned: LearnedScoring | undefined = init.model && featureScratch && folded
  ? {
      folded,
      threshold: init.model.threshold,
      scratch: featureScratch,
      features: createFeaturePlanes(featureScratch, init.width, init.outRows),
      // Nobody reads a worker's feature planes: compute only what the model reads.
      use: foldedFeatureUse(folded),
    }
  : undefined;

parentPort!.on('message', (task: ScoreTask) => {
  try {
    const n = task.before.width * task.count;
    if (init.score && init.type && task.offset !== undefined) {
      const out = { score: init.score.subarray(task.offset, task.offset + n), type: init.type.subarray(task.offset, task.offset + n) };
      scorePixels(task.before, task.after, task.fit, init.params, out, { first: task.first, count: task.count }, scratch, learned);
      parentPort!.postMessage({ id: task.id } satisfies ScoreReply);
      return;
    }
    const out = { score: new Float32Array(n), type: new Uint8Array(n) };
    scorePixels(task.before, task.after, task.fit, init.params, out, { first: task.first, count: task.count }, scratch, learned);
    parentPort!.postMessage({ id: task.id, ...out } satisfies ScoreReply, [out.score.buffer, out.type.buffer]);
  } catch (e) {
    parentPort!.postMessage({ id: task.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies ScoreReply);
  }
});
