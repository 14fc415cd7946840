/**
 * Scores strips in worker threads (score-worker.ts): per-pixel scoring is the CPU bottleneck of a
 * tile (≈ 2 µs/px with the learned model), and strips are independent once read with their halo.
 * The caller keeps reading strips while earlier ones are scored. With the tile's outputs on
 * SharedArrayBuffers (`init.score`/`init.type`) and strips read into shared slots, nothing is
 * copied either way (`scoreInto`); otherwise the bands are copied in and the rows come back (`score`).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Raster } from '../../geo/raster.js';
import { config, type Config } from '../config.js';
import type { NormFit } from './normalise.js';
import type { ScoreReply, ScoreTask, ScoreWorkerInit } from './score-worker.js';

/** Most score workers one tile gets by default: past this, strips are too few to keep more busy. */
export const MAX_DEFAULT_SCORE_WORKERS = 16;

/**
 * Workers a tile gets unless told: TUBAN_SCORE_WORKERS (read and validated once, pipeline/config.ts),
 * else every core (2 on a 2-core machine: the calling thread only reads and hands strips over, and
 * the inflate threads interleave with the score threads), up to 16, shared among the tiles this
 * process detects at once; 0 (the calling thread) when there are more tiles than cores.
 */
export function defaultScoreWorkers(tilesAtOnce = 1, settings: Pick<Config, 'scoreWorkers'> = config(), cores = availableParallelism()): number {
  if (settings.scoreWorkers !== undefined) return settings.scoreWorkers;
  return Math.min(MAX_DEFAULT_SCORE_WORKERS, Math.floor(cores / Math.max(1, tilesAtOnce)));
}

/**
 * The worker module next to this one, in the same form: score-worker.js in the build, and
 * score-worker.ts when this module runs from source (under vitest, whose processes start with a
 * TypeScript loader that worker threads inherit: vitest.config.ts, test-support/).
 */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './score-worker.ts' : './score-worker.js', import.meta.url);
}

interface Pending {
  resolve: (r: ScoreReply) => void;
  reject: (e: Error) => void;
}

export class ScorePool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: { task: ScoreTask; transfer: ArrayBuffer[] }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private broken: Error | null = null;
  private readonly shared: boolean;

  constructor(size: number, init: ScoreWorkerInit) {
    this.size = size;
    this.shared = isShared(init.score) && isShared(init.type);
    for (let k = 0; k < size; k++) {
      const w = new Worker(workerUrl(), { workerData: init });
      w.on('message', (reply: ScoreReply) => this.onReply(w, reply));
      w.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
      w.on('exit', (code) => { if (code !== 0 && !this.broken) this.fail(new Error(`score worker exited with code ${code}`)); });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /**
   * Scores output rows [first, first + count) of a halo'd strip. The bands are copied before this
   * returns, so the caller may reuse the rasters at once.
   */
  async score(fit: NormFit, before: Raster, after: Raster, first: number, count: number): Promise<{ score: Float32Array; type: Uint8Array }> {
    const transfer: ArrayBuffer[] = [];
    const task: ScoreTask = { id: this.nextId++, fit, before: detached(before, transfer), after: detached(after, transfer), first, count };
    const r = await this.submit(task, transfer);
    if (!r.score || !r.type) throw new Error('score worker: no result');
    return { score: r.score, type: r.type };
  }

  /**
   * Scores output rows [first, first + count) of a halo'd strip straight into the shared outputs the
   * pool was made with, from `offset` on. The strip's arrays must be on SharedArrayBuffers (the
   * worker reads them in place): the caller must not touch them until this settles.
   */
  async scoreInto(fit: NormFit, before: Raster, after: Raster, first: number, count: number, offset: number): Promise<void> {
    if (!this.shared) throw new Error('ScorePool.scoreInto: the pool was made without shared outputs');
    if (!rasterShared(before) || !rasterShared(after)) throw new Error('ScorePool.scoreInto: strip arrays must be on SharedArrayBuffers');
    await this.submit({ id: this.nextId++, fit, before, after, first, count, offset }, []);
  }

  private submit(task: ScoreTask, transfer: ArrayBuffer[]): Promise<ScoreReply> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.pending.set(task.id, { resolve, reject });
      this.waiting.push({ task, transfer });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.fail(new Error('score pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length && this.waiting.length) {
      const w = this.idle.pop()!;
      const { task, transfer } = this.waiting.shift()!;
      w.postMessage(task, transfer);
    }
  }

  private onReply(w: Worker, reply: ScoreReply): void {
    this.idle.push(w);
    const p = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (p) {
      if (reply.error !== undefined) p.reject(new Error(`score worker: ${reply.error}`));
      else p.resolve(reply);
    }
    this.dispatch();
  }

  /** Rejects every task not yet answered; the pool takes no more. */
  private fail(e: Error): void {
    if (!this.broken) this.broken = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.waiting.length = 0;
  }
}

function isShared(a: ArrayBufferView | undefined): boolean {
  return a !== undefined && a.buffer instanceof SharedArrayBuffer;
}

/** Whether every array of the raster lives on a SharedArrayBuffer (a worker can read it in place). */
export function rasterShared(r: Raster): boolean {
  return isShared(r.valid) && Object.values(r.bands).every((a) => isShared(a));
}

/** A copy of the raster whose arrays own their buffers, listed in `transfer` (no second copy on postMessage). */
function detached(r: Raster, transfer: ArrayBuffer[]): Raster {
  const bands: Raster['bands'] = {};
  for (const [name, a] of Object.entries(r.bands) as [keyof Raster['bands'], Float32Array][]) {
    const c = a.slice();
    bands[name] = c;
    transfer.push(c.buffer);
  }
  const valid = r.valid.slice();
  transfer.push(valid.buffer);
  return { width: r.width, height: r.height, crs: r.crs, transform: r.transform, bands, valid };
}
