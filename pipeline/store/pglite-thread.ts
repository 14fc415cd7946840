/**
 * The embedded database on a worker thread of its own (`OpenOptions.thread`). PGlite is
 * PostgreSQL compiled to WebAssembly and runs on the thread that calls it: opened beside a batch on
 * the main thread, its start (1.2-3.3 s from the template, ~2 s of CPU) and later its queries take
 * turns with the detector's JS on one core while the other waits. Here it starts and answers on
 * `pglite-thread-worker.ts`; this side is a `Database` whose calls are messages.
 *
 * Same semantics as the in-process one (`database-calls.ts`). The thread is unref()ed while no call is waiting, so it never keeps a finished process alive.
 */
import { Worker } from 'node:worker_threads';
import type { TemplateLog } from './database-template.js';
import type { DirectoryLock } from './directory-lock.js';
import { callingDatabase, pendingCalls, revive, type DatabaseCall, type WireError } from './database-calls.js';
import type { Database } from './queryable.js';

export interface ThreadInit {
  target: string;
  templateCache: string | null;
  schema?: string;
}

/** A call, or closing the database (the thread's own: closing PGlite with it). */
type Request = DatabaseCall | { op: 'close' };

export type ThreadRequest = Request & { id: number };

/** id 0: the start (ok or error) and template log lines; others answer the request of that id. */
export type ThreadReply = { id: number; ok?: true; value?: unknown; error?: WireError; log?: { level: 'info' | 'warn'; message: string } };

/** The worker module next to this one: .js in the build, .ts when run from source under vitest (test-support/). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './pglite-thread-worker.ts' : './pglite-thread-worker.js', import.meta.url);
}

/** Start PGlite on its thread; resolves once it is open (template copied or built as needed). */
export function openPgliteThread(init: ThreadInit, log: TemplateLog, lock: DirectoryLock | null): Promise<Database> {
  const worker = new Worker(workerUrl(), { workerData: init });
  const calls = pendingCalls<Request>((m) => worker.postMessage(m), (waiting) => (waiting ? worker.ref() : worker.unref()), 'database thread');
  let started: { resolve: () => void; reject: (e: Error) => void } | null = null;

  const failAll = (err: Error) => {
    calls.failAll(err);
    started?.reject(err);
  };
  worker.on('message', (r: ThreadReply) => {
    if (r.id !== 0) return calls.settle(r);
    if (r.log) return log(r.log.level, r.log.message);
    if (r.error) return started?.reject(revive(r.error, 'database thread'));
    return started?.resolve();
  });
  worker.on('error', (err) => failAll(new Error(`the embedded database thread failed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => failAll(new Error(`the embedded database thread stopped (exit ${code})`)));

  const call = <T>(req: Request): Promise<T> => calls.call<T>(req);
  let closing: Promise<void> | undefined;
  const db = callingDatabase(call, () => {
    closing ??= (async () => {
      try {
        if (!calls.stopped) await call({ op: 'close' });
      } finally {
        calls.failAll(new Error('the embedded database is closed'));
        await worker.terminate();
        await lock?.release();
      }
    })();
    return closing;
  });

  return new Promise<Database>((resolve, reject) => {
    started = {
      resolve: () => {
        started = null;
        worker.unref();
        resolve(db);
      },
      reject: (err) => {
        started = null;
        void worker.terminate().finally(() => void lock?.release().finally(() => reject(err)));
      },
    };
  });
}
