/**
 * The TileRenderer in worker threads (render-worker.ts), so the server's main thread — which
 * answers everyone's requests and, on the embedded database, runs PGlite too — never reads,
 * decodes, warps or stretches imagery. A job goes to the worker of the lowest id among its
 * satellite tiles (`homeOf`), whatever their order: a pan over one tile reuses one worker's decoded
 * blocks, and a map tile or chip over tiles A < B goes to A's, which reads B's overview too. So a
 * tile's overview is held in its own worker and in those of the lower-id tiles its footprint meets,
 * where `warm` builds it ahead (the cost of cutting a multi-tile view in one worker, in one pass).
 * Work waits in its worker's queue with at most `IN_FLIGHT` tasks running per worker (reads
 * interleave with compute); a queued task whose request was aborted is dropped. Workers start on first use, are replaced if one dies, and keep the process
 * alive only while they have work (a script's pending tile is cut; an idle pool holds nothing);
 * `close` stops them.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TubanError, type ErrorCode } from '../../schemas/errors.js';
import { ImageryError, type ImageryErrorCode } from './imagery-error.js';
import type { RenderReply, RenderTask, SerialisedError } from './render-worker.js';
import type { ChipJob, TileJob, TileRenderer, TileRendererOptions } from './tile-renderer.js';
import type { TileInfo } from '../../geo/tile-reader.js';

/** Tasks a worker runs at once: one computing while the next waits on its file reads. */
const IN_FLIGHT = 2;
/** Most workers by default: a map view is 16–30 tiles, and each worker holds its own open files. */
export const MAX_DEFAULT_IMAGERY_WORKERS = 4;

/** One fewer than the cores (the main thread keeps one for the API), at most 4, at least 1. */
export function defaultImageryWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores - 1, MAX_DEFAULT_IMAGERY_WORKERS));
}

/** render-worker.js in the build, render-worker.ts from source (vitest's loader is inherited by workers). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './render-worker.ts' : './render-worker.js', import.meta.url);
}

type Distributive<T> = T extends unknown ? Omit<T, 'id'> : never;
type TaskBody = Distributive<RenderTask>;

interface Queued {
  task: RenderTask;
  resolve: (r: RenderReply) => void;
  reject: (e: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker | null;
  queue: Queued[];
  running: Map<number, Queued>;
}

export class RenderPool implements TileRenderer {
  readonly size: number;
  private readonly slots: Slot[];
  private readonly init: TileRendererOptions;
  private nextId = 0;
  private closed = false;

  constructor(size: number, opts: TileRendererOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`RenderPool: size must be a whole number ≥ 1, got ${size}`);
    this.size = size;
    // The caches are split among the workers, so the pool keeps what one renderer would.
    this.init = {
      ...opts,
      sourceCacheBytes: Math.floor((opts.sourceCacheBytes ?? 512 * 1024 ** 2) / size),
      openReaders: Math.max(1, Math.ceil((opts.openReaders ?? 4) / size)),
    };
    this.slots = Array.from({ length: size }, () => ({ worker: null, queue: [], running: new Map() }));
  }

  async tile(job: TileJob, signal?: AbortSignal): Promise<Uint8Array | null> {
    const r = await this.run({ op: 'tile', job }, homeOf(job.infos), signal);
    return r.bytes ?? null;
  }

  async chip(job: ChipJob): Promise<{ png: Uint8Array; firstPainted: number }> {
    const r = await this.run({ op: 'chip', job }, homeOf(job.infos));
    return { png: r.bytes!, firstPainted: r.firstPainted ?? -1 };
  }

  async stretch(infos: readonly TileInfo[]) {
    return (await this.run({ op: 'stretch', infos }, homeOf(infos))).stretch ?? null;
  }

  /**
   * In the worker of its own jobs, and in each that a job with it and a tile of `alongside` goes to
   * (a lower id's): where its overview will be read. One worker at a time, as the service warms.
   */
  async warm(info: TileInfo, alongside: readonly TileInfo[] = []): Promise<void> {
    const slots = new Set([info, ...alongside.filter((t) => t.id < info.id)].map((t) => this.slotOf(t.id)));
    for (const slot of slots) await this.run({ op: 'warm', info }, slot);
  }

  /** Ids of the tiles whose overviews each started worker holds, sorted (for tests). */
  async overviewsHeld(): Promise<string[][]> {
    const held = await Promise.all(this.slots.map((s, i) => (s.worker ? this.run({ op: 'overviews' }, i) : null)));
    return held.filter((r) => r !== null).map((r) => [...r.overviews!].sort());
  }

  /** Queued work is refused, running work rejected, and the workers stopped (none left to hold the process). */
  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('imagery render pool closed');
    await Promise.all(
      this.slots.map(async (slot) => {
        for (const q of [...slot.queue, ...slot.running.values()]) settle(q).reject(err);
        slot.queue.length = 0;
        slot.running.clear();
        const w = slot.worker;
        slot.worker = null;
        if (w) await w.terminate();
      }),
    );
  }

  /** Workers started so far (for tests). */
  get started(): number {
    return this.slots.filter((s) => s.worker).length;
  }

  /** The worker a tile's jobs go to. */
  private slotOf(id: string): number {
    return hash(id) % this.size;
  }

  /** `at`: the job's home tile id (homeOf), or a worker's index. */
  private run(body: TaskBody, at: string | number, signal?: AbortSignal): Promise<RenderReply> {
    if (this.closed) return Promise.reject(new Error('imagery render pool closed'));
    if (signal?.aborted) return Promise.reject(abortError());
    const slot = this.slots[typeof at === 'number' ? at : this.slotOf(at)];
    return new Promise((resolve, reject) => {
      const q: Queued = { task: { ...body, id: this.nextId++ } as RenderTask, resolve, reject, signal };
      if (signal) {
        // Dropped only while it waits: once a worker runs it, the result still fills the tile cache.
        q.onAbort = () => {
          const i = slot.queue.indexOf(q);
          if (i < 0) return;
          slot.queue.splice(i, 1);
          settle(q).reject(abortError());
        };
        signal.addEventListener('abort', q.onAbort, { once: true });
      }
      slot.queue.push(q);
      this.dispatch(slot);
    });
  }

  private dispatch(slot: Slot): void {
    while (slot.queue.length && slot.running.size < IN_FLIGHT) {
      const q = slot.queue.shift()!;
      slot.running.set(q.task.id, q);
      const w = this.workerOf(slot);
      // Held while it has work: a process with no server (a CLI, a script) waits for its tile.
      w.ref();
      w.postMessage(q.task);
    }
    // Idle, it holds nothing: a server's close stops it, and nothing else should wait on it.
    if (slot.running.size === 0) slot.worker?.unref();
  }

  private workerOf(slot: Slot): Worker {
    if (slot.worker) return slot.worker;
    // Ref'd and unref'd by `dispatch` (after these listeners: a 'message' listener added later refs it again).
    const w = new Worker(workerUrl(), { workerData: this.init });
    w.on('message', (reply: RenderReply) => {
      const q = slot.running.get(reply.id);
      slot.running.delete(reply.id);
      if (q) {
        if (reply.error) settle(q).reject(rebuild(reply.error));
        else settle(q).resolve(reply);
      }
      this.dispatch(slot);
    });
    const died = (e: Error) => {
      if (slot.worker !== w) return;
      // Its tasks fail (a 500, as an exception in-thread would be); the next task starts a new worker.
      slot.worker = null;
      for (const q of slot.running.values()) settle(q).reject(e);
      slot.running.clear();
      if (!this.closed) this.dispatch(slot);
    };
    w.on('error', (e) => died(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code) => died(new Error(`imagery render worker exited with code ${code}`)));
    slot.worker = w;
    return w;
  }
}

/** The queued entry with its abort listener removed (so a settled task holds nothing of the request). */
function settle(q: Queued): Queued {
  if (q.signal && q.onAbort) q.signal.removeEventListener('abort', q.onAbort);
  return q;
}

function abortError(): Error {
  const e = new Error('imagery request aborted');
  e.name = 'AbortError';
  return e;
}

/** The worker's error as the class it was: an ImageryError or TubanError keeps its code (and so its HTTP status). */
function rebuild(e: SerialisedError): Error {
  if (e.name === 'ImageryError' && e.code) return new ImageryError(e.code as ImageryErrorCode, e.message);
  if (e.name === 'TubanError' && e.code) return TubanError.fromJSON({ code: e.code as ErrorCode, message: e.message, subject: e.subject });
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  if (e.code) Object.assign(err, { code: e.code });
  return err;
}

/**
 * The tile a job over `infos` goes with: the lowest id, whatever their order (a map tile's are in the
 * scene's order, a chip's own tile first), so every job over the same tiles goes to one worker.
 */
function homeOf(infos: readonly TileInfo[]): string {
  return infos.reduce<string | null>((low, t) => (low === null || t.id < low ? t.id : low), null) ?? '';
}

/** FNV-1a of a tile id: the same satellite tile always goes to the same worker. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
