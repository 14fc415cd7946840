/**
 * Scores strips in worker threads (score-worker.ts): per-pixel scoring is the CPU bottleneck of a
 * tile (≈ 2 µs/px with the learned model), and strips are independent once read with their halo.
 * The caller keeps reading strips while earlier ones are scored; results come back in any order
 * and the caller writes them at their own offset.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Raster } from '../../geo/raster.js';
import { config, type Config } from '../config.js';
import type { ScoreReply, ScoreTask, ScoreWorkerInit } from './score-worker.js';

/**
 * Workers a tile gets unless told: TUBAN_SCORE_WORKERS (read and validated once, pipeline/config.ts),
 * else none on machines with fewer than 4 cores (the inflate threads and the main thread already fill
 * 2 cores), else the cores but 2, up to 8, shared among the tiles this process detects at once.
 */
export function defaultScoreWorkers(tilesAtOnce = 1, settings: Pick<Config, 'scoreWorkers'> = config()): number {
  if (settings.scoreWorkers !== undefined) return settings.scoreWorkers;
  const cores = availableParallelism();
  return cores < 4 ? 0 : Math.min(8, Math.floor((cores - 2) / Math.max(1, tilesAtOnce)));
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
  resolve: (r: { score: Float32Array; type: Uint8Array }) => void;
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

  constructor(size: number, init: ScoreWorkerInit) {
    this.size = size;
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
  score(before: Raster, after: Raster, first: number, count: number): Promise<{ score: Float32Array; type: Uint8Array }> {
    if (this.broken) return Promise.reject(this.broken);
    const transfer: ArrayBuffer[] = [];
    const task: ScoreTask = { id: this.nextId++, before: detached(before, transfer), after: detached(after, transfer), first, count };
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
      if (reply.error !== undefined || !reply.score || !reply.type) p.reject(new Error(`score worker: ${reply.error ?? 'no result'}`));
      else p.resolve({ score: reply.score, type: reply.type });
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
