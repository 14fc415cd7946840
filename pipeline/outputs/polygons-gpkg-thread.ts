/**
 * polygons.gpkg encoded on a worker thread of its own (`polygons-gpkg-worker.ts`): the batch's output
 * writers need nothing from each other, so the GeoPackage (~0.5 s for the 5 000 polygons of a full
 * tile) is encoded on the other core while the main thread writes the GeoJSON and the ledger, and
 * the thread starts (its modules, sql.js) while the polygons are still being read from the database.
 * Same function as on the main thread (`polygonsGpkgBytes`), same bytes. This module loads nothing
 * of the encoder itself, so the batch can start the thread without compiling it here.
 */
import { Worker } from 'node:worker_threads';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import type { BureauNames } from './polygons-gpkg.js';

export interface GpkgReply {
  bytes?: Uint8Array;
  error?: { message: string; stack?: string };
}

/** The worker next to this module: .js in the build, .ts when run from source under vitest (test-support/). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './polygons-gpkg-worker.ts' : './polygons-gpkg-worker.js', import.meta.url);
}

export interface GpkgThread {
  /** `polygonsGpkgBytes(polygons, bureaus)`, computed on the thread; then the thread ends. */
  encode(polygons: readonly MonitoringPolygon[], bureaus: BureauNames): Promise<Uint8Array>;
  /** Ends the thread without asking it anything (the outputs failed before the GeoPackage); idempotent. */
  close(): void;
}

/**
 * Start the thread now and ask it later: it loads its modules and sql.js (~0.1-0.3 s) while the
 * caller is still reading the polygons from the database.
 */
export function startPolygonsGpkgThread(): GpkgThread {
  const worker = new Worker(workerUrl());
  let settled = false;
  let answer: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void } | null = null;
  let early: Error | null = null;
  const settle = (fn: (a: NonNullable<typeof answer>) => void, err?: Error) => {
    if (settled) return;
    if (!answer) {
      early ??= err ?? null;
      return;
    }
    settled = true;
    fn(answer);
    void worker.terminate();
  };
  worker.on('message', (r: GpkgReply) =>
    settle((a) => {
      if (r.bytes) a.resolve(r.bytes);
      else a.reject(Object.assign(new Error(`polygons.gpkg: ${r.error?.message ?? 'no reply'}`), { stack: r.error?.stack }));
    }),
  );
  worker.on('error', (err) => settle((a) => a.reject(err), err));
  worker.on('exit', (code) => {
    const err = new Error(`polygons.gpkg: the encoding thread stopped (exit ${code}) before answering`);
    settle((a) => a.reject(err), err);
  });
  return {
    encode(polygons, bureaus) {
      if (answer || settled) return Promise.reject(new Error('polygons.gpkg: the encoding thread was already asked or closed'));
      return new Promise<Uint8Array>((resolve, reject) => {
        answer = { resolve, reject };
        if (early) return settle((a) => a.reject(early!));
        worker.postMessage({ polygons, bureaus });
      });
    },
    close() {
      if (!answer) settled = true;
      if (settled) void worker.terminate();
    },
  };
}
