/**
 * A `Database` as messages: the calls (query, begin, end) and their answers, used where the
 * database lives elsewhere — PGlite on a thread of its own (`pglite-thread.ts`) and the embedded
 * database of a running `tuban serve`, reached over a socket (`shared-database.ts`).
 *
 * Same semantics on both sides as a database called directly: calls run in the order they are
 * sent; a transaction is begun on the answering side and held open while the caller's `fn` runs,
 * committed when it resolves and rolled back when it throws; errors come back with PostgreSQL's
 * fields (code, detail, …).
 */
import type { Database, Queryable, QueryResult } from './queryable.js';

export type DatabaseCall =
  | { op: 'query'; text: string; params?: unknown[]; tx?: number }
  | { op: 'begin' }
  | { op: 'end'; tx: number; commit: boolean };

/** An error as it crosses a thread or process boundary: name, message, stack and PostgreSQL's plain fields. */
export type WireError = { name: string; message: string; stack?: string } & Record<string, string | number | boolean | null | undefined>;

export function wire(err: unknown): WireError {
  if (err instanceof Error) {
    const e = err as Error & Record<string, unknown>;
    const out: WireError = { name: e.name, message: e.message, stack: e.stack };
    // PostgreSQL's fields (code, detail, hint, position, …) say what failed; keep every plain one.
    for (const [k, v] of Object.entries(e)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as string | number | boolean | null;
    return out;
  }
  return { name: 'Error', message: String(err) };
}

export function revive(w: WireError, where: string): Error {
  const err = new Error(w.message) as Error & Record<string, unknown>;
  for (const [k, v] of Object.entries(w)) if (k !== 'message' && k !== 'stack') err[k] = v;
  // The other side's stack says where PostgreSQL was called from there; ours where the caller is.
  err.stack = `${err.stack ?? ''}\n    at (${where}) ${(w.stack ?? '').split('\n').slice(1, 4).join(' / ')}`;
  return err;
}

/** An answer to call `id`: its value or its error. */
export interface CallReply {
  id: number;
  value?: unknown;
  error?: WireError;
}

/**
 * The calls waiting for their answers, by id: `call` sends one (`send`, with its id), `settle` hands
 * an answer to its caller, `failAll` rejects every waiting call and any later one (the other side is
 * gone). `hold(true)` while a call waits, `hold(false)` once none does, so an idle transport (a thread,
 * a socket) can let its process exit.
 */
export function pendingCalls<C extends object>(send: (c: C & { id: number }) => void, hold: (waiting: boolean) => void, where: string) {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let stopped: Error | null = null;
  return {
    call<T>(c: C): Promise<T> {
      if (stopped) return Promise.reject(stopped);
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        if (pending.size === 0) hold(true);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        send({ ...c, id });
      });
    },
    settle(r: CallReply): void {
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (pending.size === 0) hold(false);
      if (r.error) p.reject(revive(r.error, where));
      else p.resolve(r.value);
    },
    failAll(err: Error): void {
      stopped ??= err;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    },
    get stopped(): Error | null {
      return stopped;
    },
  };
}

/** The calling side: a Database whose queries and transactions are `call`s; `close` is the transport's. */
export function callingDatabase(call: <T>(c: DatabaseCall) => Promise<T>, close: () => Promise<void>): Database {
  const query = async <R>(text: string, params?: unknown[], tx?: number): Promise<QueryResult<R>> => ({
    rows: await call<R[]>({ op: 'query', text, params, ...(tx === undefined ? {} : { tx }) }),
  });
  return {
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
    close,
  };
}

/** What the answering side calls: PGlite itself, or a `Database`. */
export interface Answerable {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  transaction<T>(fn: (tx: { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> }) => Promise<T>): Promise<T>;
}

/** Thrown inside the transaction callback to make it roll back. */
const ROLLBACK = Symbol('rollback');

/**
 * The answering side for one caller: `answer` runs a call and gives its value; `abandon` rolls back
 * the transactions the caller left open (it went away), so the database is not held for ever.
 */
export function answeringCalls(db: Answerable): { answer(c: DatabaseCall): Promise<unknown>; abandon(): void } {
  const open = new Map<number, { tx: Pick<Answerable, 'query'>; end: (commit: boolean) => void; ended: Promise<void> }>();
  let nextTx = 1;
  return {
    async answer(c) {
      switch (c.op) {
        case 'query': {
          const on = c.tx === undefined ? db : open.get(c.tx)?.tx;
          if (!on) throw new Error(`transaction ${c.tx} is not open`);
          return (await on.query(c.text, c.params)).rows;
        }
        case 'begin': {
          const id = nextTx++;
          // Resolves once the transaction has begun and handed us its handle.
          return new Promise<number>((begun, failed) => {
            const ended = db
              .transaction(async (tx) => {
                const commit = await new Promise<boolean>((end) => {
                  open.set(id, { tx, end, ended });
                  begun(id);
                });
                if (!commit) throw ROLLBACK;
              })
              .then(
                () => undefined,
                (err: unknown) => {
                  if (err !== ROLLBACK) throw err;
                },
              )
              .finally(() => open.delete(id));
            ended.catch((err: unknown) => failed(err));
          });
        }
        case 'end': {
          const t = open.get(c.tx);
          if (!t) throw new Error(`transaction ${c.tx} is not open`);
          t.end(c.commit);
          await t.ended;
          return undefined;
        }
      }
    },
    abandon() {
      for (const t of open.values()) t.end(false);
    },
  };
}
