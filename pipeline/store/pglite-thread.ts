/**
 * The embedded database on a worker thread of its own (`OpenOptions.thread`). PGlite is
 * PostgreSQL compiled to WebAssembly and runs on the thread that calls it: opened beside a batch on
 * the main thread, its start (1.2-3.3 s from the template, ~2 s of CPU) and later its queries take
 * turns with the detector's JS on one core while the other waits. Here it starts and answers on
 * `pglite-thread-worker.ts`; this side is a `Database` whose calls are messages.
 *
 * Same semantics as the in-process one: the same PGlite serialises the same calls in the order they
 * are sent; a transaction is begun there and held open while `fn` runs here, committed when `fn`
 * resolves and rolled back when it throws; errors come back with PostgreSQL's fields (code, detail,
 * …). The thread is unref()ed while no call is waiting, so it never keeps a finished process alive.
 */
import { Worker } from 'node:worker_threads';
import type { TemplateLog } from './database-template.js';
import type { DirectoryLock } from './directory-lock.js';
import type { Database, Queryable, QueryResult } from './queryable.js';

export interface ThreadInit {
  target: string;
  templateCache: string | null;
  schema?: string;
}

type Request =
  | { op: 'query'; text: string; params?: unknown[]; tx?: number }
  | { op: 'begin' }
  | { op: 'end'; tx: number; commit: boolean }
  | { op: 'close' };

export type ThreadRequest = Request & { id: number };

/** An error as it crosses the thread boundary: name, message, stack and PostgreSQL's plain fields. */
export type WireError = { name: string; message: string; stack?: string } & Record<string, string | number | boolean | null | undefined>;

/** id 0: the start (ok or error) and template log lines; others answer the request of that id. */
export type ThreadReply = { id: number; ok?: true; value?: unknown; error?: WireError; log?: { level: 'info' | 'warn'; message: string } };

/** The worker module next to this one: .js in the build, .ts when run from source under vitest (test-support/). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './pglite-thread-worker.ts' : './pglite-thread-worker.js', import.meta.url);
}

function revive(w: WireError): Error {
  const err = new Error(w.message) as Error & Record<string, unknown>;
  for (const [k, v] of Object.entries(w)) if (k !== 'message' && k !== 'stack') err[k] = v;
  // The thread's stack says where PostgreSQL was called from there; ours where the caller is.
  err.stack = `${err.stack ?? ''}\n    at (database thread) ${(w.stack ?? '').split('\n').slice(1, 4).join(' / ')}`;
  return err;
}

/** Start PGlite on its thread; resolves once it is open (template copied or built as needed). */
export function openPgliteThread(init: ThreadInit, log: TemplateLog, lock: DirectoryLock | null): Promise<Database> {
  const worker = new Worker(workerUrl(), { workerData: init });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let stopped: Error | null = null;
  let started: { resolve: () => void; reject: (e: Error) => void } | null = null;

  const failAll = (err: Error) => {
    stopped ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    started?.reject(err);
  };
  worker.on('message', (r: ThreadReply) => {
    if (r.id === 0) {
      if (r.log) return log(r.log.level, r.log.message);
      if (r.error) return started?.reject(revive(r.error));
      return started?.resolve();
    }
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (pending.size === 0) worker.unref();
    if (r.error) p.reject(revive(r.error));
    else p.resolve(r.value);
  });
  worker.on('error', (err) => failAll(new Error(`the embedded database thread failed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => failAll(new Error(`the embedded database thread stopped (exit ${code})`)));

  const call = <T>(req: Request): Promise<T> => {
    if (stopped) return Promise.reject(stopped);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id });
    });
  };
  const query = async <R>(text: string, params?: unknown[], tx?: number): Promise<QueryResult<R>> => ({
    rows: await call<R[]>({ op: 'query', text, params, ...(tx === undefined ? {} : { tx }) }),
  });

  let closing: Promise<void> | undefined;
  const db: Database = {
    kind: 'pglite',
    query: (text, params) => query(text, params),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const tx = await call<number>({ op: 'begin' });
      let out: T;
      try {
        out = await fn({ query: (text, params) => query(text, params, tx) });
      } catch (err) {
        await call({ op: 'end', tx, commit: false }).catch(() => undefined);
        throw err;
      }
      await call({ op: 'end', tx, commit: true });
      return out;
    },
    close() {
      closing ??= (async () => {
        try {
          if (!stopped) await call({ op: 'close' });
        } finally {
          stopped ??= new Error('the embedded database is closed');
          await worker.terminate();
          await lock?.release();
        }
      })();
      return closing;
    },
  };

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
