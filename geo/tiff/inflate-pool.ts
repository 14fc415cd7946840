/**
 * A pool of worker threads that decode TIFF chunks (inflate + predictor + sample de-interleave to
 * Float32), so a window read uses every core while the main thread only reads bytes. A chunk is
 * written straight into the caller's output when that lives on SharedArrayBuffers (`dest`), else
 * returned as planes (moved by transfer). A chunk read in parts (strips shorter than a block row,
 * halo rows) is kept decoded by one worker (`cache`, `affinity`) and sent there again without bytes.
 * Jobs without affinity go to the least-busy worker. Workers are unref()ed while idle so a process
 * that is done can exit without closing the pool.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TubanError } from '../../schemas/errors.js';
import { decodeChunk, forgetFile } from './inflate-worker.js';

export interface ChunkJob {
  /** Raw chunk bytes as stored in the file (its buffer is transferred to the worker); null: decoded already, in the worker's cache. */
  bytes: Uint8Array | null;
  /** TIFF Compression tag value: 1 none, 8 / 32946 deflate. */
  compression: number;
  /** TIFF Predictor: 1 none, 2 horizontal, 3 floating point. */
  predictor: number;
  /** Bytes per sample. */
  bps: number;
  /** TIFF SampleFormat: 1 unsigned, 2 signed, 3 float. */
  sampleFormat: number;
  /** Samples interleaved in this chunk (1 for planar files). */
  spp: number;
  chunkWidth: number;
  /** Rows of pixel data the chunk holds (a file's last strip may hold fewer than RowsPerStrip). */
  chunkRows: number;
  /** Sub-rectangle [x0, y0, width, height] of the chunk to emit, in chunk pixels. */
  rect: [number, number, number, number];
  /** Sample indices within the chunk to emit, in output order. */
  samples: number[];
  nodata: number | null;
  /** Keep the decoded chunk in the worker for later parts of it: `file` names the open file, `cap` chunks kept per file. */
  cache?: { file: number; index: number; cap: number };
  /** Write the rect into these planes (one per sample), rows `stride` apart from pixel `offset`, instead of returning planes. */
  dest?: { planes: Float32Array[]; offset: number; stride: number };
}

/** `planes` without `dest`; with it, `nan`: the pixels written as NaN (nodata or NaN in the file). */
export interface ChunkResult {
  planes?: Float32Array[];
  nan?: number;
}

/** The worker's answer to a job without bytes whose chunk it no longer holds: send the bytes. */
export const CACHE_MISS = 'cache miss';

/** Workers a pool gets by default: every core, up to 16 (decoding interleaves with scoring on the same cores). */
export function defaultInflateWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, 16));
}

interface Slot {
  worker: Worker;
  busy: number;
}

interface Pending {
  resolve: (r: ChunkResult) => void;
  reject: (err: Error) => void;
  slot: Slot;
}

export class InflatePool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  readonly size: number;

  constructor(size: number = defaultInflateWorkers()) {
    this.size = size;
    const url = new URL('./inflate-worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { workerData: { inflateWorker: true } });
      const slot: Slot = { worker, busy: 0 };
      worker.on('message', (msg: ChunkResult & { id: number; error?: string }) => this.settle(msg));
      worker.on('error', (err) => this.failSlot(slot, err));
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** Decode one chunk into planes on the least-busy worker. Rejects with the worker's message on corrupt data. */
  async decode(job: ChunkJob): Promise<Float32Array[]> {
    const r = await this.run({ ...job, dest: undefined });
    if (!r.planes) throw new Error('no planes');
    return r.planes;
  }

  /**
   * Run one job: on worker `affinity % size` when given (a chunk cached there), else on the least
   * busy. Rejects with the worker's message on corrupt data, with CACHE_MISS for a cached job it lost.
   */
  run(job: ChunkJob, affinity?: number): Promise<ChunkResult> {
    if (this.closed) return Promise.reject(new Error('inflate pool is closed'));
    if (this.size === 0) {
      // No workers: decode here, with the worker's own code and chunk cache (same bytes out).
      try {
        return Promise.resolve(decodeChunk(job) as ChunkResult);
      } catch (err) {
        return Promise.reject(new Error(err instanceof Error ? err.message : String(err)));
      }
    }
    const slot = this.slots[affinity !== undefined ? affinity % this.slots.length : this.leastBusy()];
    const id = this.nextId++;
    // Keep the process alive only while work is in flight.
    if (slot.busy++ === 0) slot.worker.ref();
    return new Promise<ChunkResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      const transfer = job.bytes && job.bytes.byteOffset === 0 && job.bytes.byteLength === job.bytes.buffer.byteLength && !(job.bytes.buffer instanceof SharedArrayBuffer)
        ? [job.bytes.buffer as ArrayBuffer]
        : [];
      slot.worker.postMessage({ id, job }, transfer);
    });
  }

  /**
   * The worker with the fewest jobs in flight (the first of equals; 0 for a pool of none): where a
   * job without affinity goes, and what a caller that caches a chunk passes as its affinity, so the
   * chunks a read keeps spread over the workers by load (by chunk index, a fit's sample windows at
   * every other block fell all on one worker of two).
   */
  leastBusy(): number {
    let best = 0;
    for (let i = 1; i < this.slots.length; i++) if (this.slots[i].busy < this.slots[best].busy) best = i;
    return best;
  }

  private release(slot: Slot): void {
    if (--slot.busy === 0) slot.worker.unref();
  }

  /** Drop the chunks the workers keep for `file` (it was closed). */
  forget(file: number): void {
    if (this.closed) return;
    if (this.size === 0) forgetFile(file);
    for (const s of this.slots) s.worker.postMessage({ forget: file });
  }

  private settle(msg: ChunkResult & { id: number; error?: string }): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.release(p.slot);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve({ planes: msg.planes, nan: msg.nan });
  }

  private failSlot(slot: Slot, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      this.release(p.slot);
      p.reject(err);
    }
  }

  /** Terminate the workers; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

let shared: InflatePool | null = null;

/**
 * Workers of the process-wide pool: TUBAN_INFLATE_WORKERS, else every core (defaultInflateWorkers).
 * 0 decodes on the calling thread: for a process that is one core's worth of a machine full of
 * them (`tuban worker` processes, one per core, each scoring on its own thread), where decode
 * threads only compete with the other processes and cost the hand-over to them.
 */
export function inflateWorkersFrom(v: string | undefined): number {
  if (v === undefined || v.trim() === '') return defaultInflateWorkers(); // blank as unset, as pipeline/config.ts: Number(' ') is 0
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TubanError('CONFIG.INVALID', `TUBAN_INFLATE_WORKERS must be a whole number ≥ 0, got '${v}'`, 'environment');
  return n;
}

/** The process-wide pool, created on first use. */
export function sharedInflatePool(): InflatePool {
  shared ??= new InflatePool(inflateWorkersFrom(process.env.TUBAN_INFLATE_WORKERS));
  return shared;
}
