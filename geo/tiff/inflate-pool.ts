/**
 * A small pool of worker threads that decode TIFF chunks (inflate + predictor + sample
 * de-interleave to Float32), so a window read uses every core while the main thread only
 * reads bytes and copies rows. Jobs go to the least-busy worker; buffers move by transfer.
 * Workers are unref()ed while idle so a process that is done can exit without closing the pool.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface ChunkJob {
  /** Raw chunk bytes as stored in the file (its buffer is transferred to the worker). */
  bytes: Uint8Array;
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
}

interface Slot {
  worker: Worker;
  busy: number;
}

interface Pending {
  resolve: (planes: Float32Array[]) => void;
  reject: (err: Error) => void;
  slot: Slot;
}

export class InflatePool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  readonly size: number;

  constructor(size: number = Math.min(availableParallelism(), 4)) {
    this.size = size;
    const url = new URL('./inflate-worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      const slot: Slot = { worker, busy: 0 };
      worker.on('message', (msg: { id: number; planes?: Float32Array[]; error?: string }) => this.settle(msg));
      worker.on('error', (err) => this.failSlot(slot, err));
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** Decode one chunk on the least-busy worker. Rejects with the worker's message on corrupt data. */
  decode(job: ChunkJob): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new Error('inflate pool is closed'));
    let slot = this.slots[0];
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    const id = this.nextId++;
    // Keep the process alive only while work is in flight.
    if (slot.busy++ === 0) slot.worker.ref();
    return new Promise<Float32Array[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      const transfer = job.bytes.byteOffset === 0 && job.bytes.byteLength === job.bytes.buffer.byteLength && !(job.bytes.buffer instanceof SharedArrayBuffer)
        ? [job.bytes.buffer as ArrayBuffer]
        : [];
      slot.worker.postMessage({ id, job }, transfer);
    });
  }

  private release(slot: Slot): void {
    if (--slot.busy === 0) slot.worker.unref();
  }

  private settle(msg: { id: number; planes?: Float32Array[]; error?: string }): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.release(p.slot);
    if (msg.error !== undefined || !msg.planes) p.reject(new Error(msg.error ?? 'no planes'));
    else p.resolve(msg.planes);
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

/** The process-wide pool, created on first use. */
export function sharedInflatePool(): InflatePool {
  shared ??= new InflatePool();
  return shared;
}
