/**
 * Zone files read on a worker thread of their own (`zone-file-worker.ts`): a province's farmland or
 * forest layer is megabytes of GeoJSON whose parsing, reprojection and geometry checks take the main
 * thread ~0.5-1 s. The embedded batch reads the files that planning did not need on this thread
 * while its first tile is detected, and finalising gets them ready (structured-cloned: the same
 * values `loadZones` gives on the main thread).
 */
import { Worker } from 'node:worker_threads';
import type { LoadZonesResult } from './zones.js';

export interface ZoneFileRequest {
  id: number;
  path: string;
  crs?: string;
}

export interface ZoneFileReply {
  id: number;
  result?: LoadZonesResult;
  error?: { message: string; stack?: string };
}

/** The worker next to this module: .js in the build, .ts when run from source under vitest (test-support/). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './zone-file-worker.ts' : './zone-file-worker.js', import.meta.url);
}

export interface ZoneFileThread {
  /** `loadZones([path], { zonesCrs: crs })`, computed on the thread. */
  load(path: string, crs: string | undefined): Promise<LoadZonesResult>;
  /** Ends the thread once the files asked for are read; idempotent. */
  close(): void;
}

/** Start the thread; it holds the process open only while a file is being read. */
export function startZoneFileThread(): ZoneFileThread {
  const worker = new Worker(workerUrl());
  worker.unref();
  const pending = new Map<number, { resolve: (r: LoadZonesResult) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let stopped: Error | null = null;
  let closing = false;
  const failAll = (err: Error) => {
    stopped ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const settled = () => {
    if (pending.size > 0) return;
    worker.unref();
    if (closing) void worker.terminate();
  };
  worker.on('message', (r: ZoneFileReply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.result) p.resolve(r.result);
    else p.reject(Object.assign(new Error(r.error?.message ?? 'no reply'), { stack: r.error?.stack }));
    settled();
  });
  worker.on('error', (err) => failAll(new Error(`the zone file thread failed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => failAll(new Error(`the zone file thread stopped (exit ${code})`)));
  return {
    load(path, crs) {
      if (stopped) return Promise.reject(stopped);
      const id = nextId++;
      return new Promise<LoadZonesResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, path, ...(crs === undefined ? {} : { crs }) } satisfies ZoneFileRequest);
      });
    },
    close() {
      closing = true;
      settled();
    },
  };
}
