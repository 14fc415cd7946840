/**
 * How much work of this server is under way on its database right now: statements sent and not yet
 * answered, and transactions open. The embedded database serves one transaction at a time, so while
 * one of ours holds it (a big export writing its files between statements, a batch storing through
 * the shared socket) a health probe's trivial query waits behind it: that is the database at work,
 * not gone, and `GET /api/health` says `busy` instead of failing (health.ts).
 */
import type { Database, Queryable } from '../pipeline/store/queryable.js';

const counters = new WeakMap<Database, { running: number }>();

/** `db`, counting every statement and transaction sent through it until it is answered or ends. */
export function trackStatements(db: Database): Database {
  if (counters.has(db)) return db;
  const counter = { running: 0 };
  const counted = <T>(run: () => Promise<T>): Promise<T> => {
    counter.running += 1;
    let p: Promise<T>;
    try {
      p = run();
    } catch (err) {
      counter.running -= 1;
      throw err;
    }
    return p.finally(() => (counter.running -= 1));
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
  counters.set(tracked, counter);
  return tracked;
}

/** Statements and transactions under way through a tracked `db`; undefined for a database not tracked. */
export function workInFlight(db: Database): number | undefined {
  return counters.get(db)?.running;
}
