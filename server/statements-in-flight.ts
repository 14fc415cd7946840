/**
 * How much work of this server is under way on its database right now: statements sent and not yet
 * answered, and transactions open. The embedded database serves one transaction at a time, so while
 * one of ours holds it (a big export writing its files between statements, a batch storing through
 * the shared socket) a health probe's trivial query waits behind it: that is the database at work,
 * not gone, and `GET /api/health` says `busy` instead of failing (health.ts) — unless the oldest of
 * that work has been under way for longer than any legitimate piece of work takes: then `stuck`.
 * On a PostgreSQL server the probe does not wait behind ours, so the age of ours says it there: a
 * request waiting on another session's lock, a transaction whose request never ended, a query
 * queued for a connection of the pool all count from when they were sent.
 */
import { performance } from 'node:perf_hooks';
import type { Database, Queryable } from '../pipeline/store/queryable.js';

/** Work under way through a tracked database: how many pieces, and since when the oldest (performance.now() ms). */
export interface WorkInFlight {
  running: number;
  oldestSince: number | null;
}

// Per tracked handle: the start times of its pieces under way (a Map keeps insertion order, so its
// first entry is the oldest), and the handle it counts for, which a health probe queries through.
const tracking = new WeakMap<Database, { started: Map<number, number>; raw: Database }>();

/** `db`, counting every statement and transaction sent through it until it is answered or ends. */
export function trackStatements(db: Database): Database {
  if (tracking.has(db)) return db;
  const started = new Map<number, number>();
  let next = 0;
  const counted = <T>(run: () => Promise<T>): Promise<T> => {
    const id = next++;
    // Monotonic: a clock set back (NTP, a VM resumed) neither hides nor invents a stuck transaction.
    started.set(id, performance.now());
    let p: Promise<T>;
    try {
      p = run();
    } catch (err) {
      started.delete(id);
      throw err;
    }
    return p.finally(() => started.delete(id));
  };
  const counting = (q: Queryable): Queryable => ({
    query<R>(text: string, params?: unknown[]) {
      return counted(() => q.query<R>(text, params));
    },
  });
  const tracked: Database = {
    kind: db.kind,
    query<R>(text: string, params?: unknown[]) {
      return counted(() => db.query<R>(text, params));
    },
    transaction: (fn) => counted(() => db.transaction((tx) => fn(counting(tx)))),
    close: () => db.close(),
  };
  tracking.set(tracked, { started, raw: db });
  return tracked;
}

/**
 * The handle `db` counts for, or `db` itself when it is not tracked: for a health probe's own query,
 * which is not work of the server's. A probe's query that timed out still waits behind whatever
 * holds the database; counted, it made the next probe read that holder as work of ours (`busy`).
 */
export function uncounted(db: Database): Database {
  return tracking.get(db)?.raw ?? db;
}

/** Statements and transactions under way through a tracked `db`, and since when the oldest; undefined for a database not tracked. */
export function workInFlight(db: Database): WorkInFlight | undefined {
  const started = tracking.get(db)?.started;
  if (!started) return undefined;
  const oldest = started.values().next();
  return { running: started.size, oldestSince: oldest.done ? null : oldest.value };
}
