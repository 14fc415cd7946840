/**
 * `GET /api/health` for the city's monitoring (Zabbix, Prometheus' blackbox exporter, a load
 * balancer's upstream check): public, and cheap — one trivial query (the schema's migration
 * version) under a short timeout, no case sync, no deadline sweep, no sign-in throttle. It says
 * whether the database answers and nothing a stranger should not know: the package and schema
 * versions, and for a database that does not answer only the class of the problem (the message,
 * which may name a host, a port or a path, goes to the server's log).
 */
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { TubanError } from '../schemas/errors.js';
import type { Database } from '../pipeline/store/queryable.js';
import { describeOurSessions } from './database-sessions.js';
import { uncounted, workInFlight, type WorkInFlight } from './statements-in-flight.js';
import { packageVersionFrom } from '../pipeline/package-version.js';

/** Long enough for a PostgreSQL round trip under load, short enough to answer within a probe's own timeout (Zabbix: 3 s). */
export const HEALTH_TIMEOUT_MS = 2000;

/**
 * How long the oldest piece of this server's work may be under way before a database busy with it
 * counts as stuck (a transaction that never ends: a hung export, a deadlock in our own code). The
 * largest legitimate piece is a ledger export: 100 000 rows took 44 s for the xlsx on a loaded
 * 2-core machine before its writer was rewritten, 4 s since (README, bench:ledger); 5 min is several
 * times that, while a hung transaction still alarms within minutes. A named constant, as the probe's
 * timeout is; tests pass a shorter one (AppOptions.healthStuckMs).
 */
export const HEALTH_STUCK_MS = 5 * 60_000;

/**
 * Why the database is unavailable, as a class: `timeout` (no answer within the timeout: a server
 * overloaded, a lock held, the embedded database busy with one long statement), `unreachable`
 * (connection refused, lost or shut down), `closed` (this process closed it: the server is
 * stopping), `error` (it answered with an error: a missing table, a permission), `stuck` (this
 * server's own work, the oldest of it under way for longer than HEALTH_STUCK_MS: holding the
 * embedded database, or on a PostgreSQL server waiting on a lock, idle in a transaction, or queued
 * for one of the pool's connections).
 */
export type DatabaseProblem = 'timeout' | 'unreachable' | 'closed' | 'error' | 'stuck';

/**
 * `busy`: this server's own work (`running` statements and transactions besides the probe, the
 * oldest under way for `oldestMs`) has kept the database for longer than a probe waits: the embedded
 * database did not answer the probe meanwhile (it serves one at a time), or on a PostgreSQL server
 * the pool had no connection for it, or ours has simply been under way that long. At work, not
 * gone; `detail` says what for the log.
 */
export type DatabaseHealth =
  | { ok: true; schema: number | null }
  | { ok: true; busy: true; running: number; oldestMs: number; detail: string }
  | { ok: false; problem: DatabaseProblem; detail: string };

class HealthTimeout extends Error {}

function problemOf(err: unknown): DatabaseProblem {
  if (err instanceof HealthTimeout) return 'timeout';
  const message = err instanceof Error ? err.message : String(err);
  if (/\bis closed\b|\bis closing\b|after calling end on the pool|database is closed|tuban serve stopped/i.test(message)) return 'closed';
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof TubanError && code === 'DB.TRANSIENT') return 'unreachable';
  if (typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P') || /^E(CONN|HOST|NET|ADDR|PIPE|NOTFOUND|AI_AGAIN)/.test(code))) return 'unreachable';
  return 'error';
}

/**
 * The probe's query on a PostgreSQL server: in a transaction of its own under a statement timeout
 * a second past ours, so that one left behind an outside lock when we stopped waiting gives its
 * connection back instead of holding one of the pool's few until the lock goes. The embedded
 * database: the one query.
 */
function probe(db: Database, timeoutMs: number): Promise<{ rows: { version: number | null }[] }> {
  const text = 'SELECT max(version) AS version FROM schema_migrations';
  if (db.kind !== 'postgres') return db.query<{ version: number | null }>(text);
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL statement_timeout = ${Math.round(timeoutMs) + 1000}`);
    return tx.query<{ version: number | null }>(text);
  });
}

/**
 * The database's schema version in at most `timeoutMs`; a query still running then is left to finish
 * on its own. This server's own work, as counted by `trackStatements`, that has kept the database for
 * longer than a probe waits is `busy`, or `stuck` once the oldest of it has been under way for longer
 * than `stuckMs`: on the embedded database when the probe gets no answer meanwhile; on a PostgreSQL
 * server, where the probe does not wait behind ours, whether it answers or waits for a connection
 * of the pool that ours all hold (no answer with a connection is the database's own problem,
 * `timeout`, as another session's lock is).
 */
export async function checkDatabase(db: Database, timeoutMs = HEALTH_TIMEOUT_MS, stuckMs = HEALTH_STUCK_MS): Promise<DatabaseHealth> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HealthTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  deadline.catch(() => undefined); // raced once or twice below; nobody may be racing it when it fires
  // Not counted as the server's work (statements-in-flight.ts): only what else is under way tells busy from gone.
  const own = uncounted(db);
  const query = probe(own, timeoutMs);
  query.catch(() => undefined); // a query that fails after the timeout has nobody waiting for it
  try {
    const r = await Promise.race([query, deadline]);
    if (db.kind === 'postgres') {
      // Answered on a connection of its own: ours may hang all the same (a lock, a request that never ended).
      const ours = await ourWorkOnServer(db, own, deadline, timeoutMs, stuckMs);
      if (ours) return ours;
    }
    return { ok: true, schema: r.rows[0]?.version ?? null };
  } catch (err) {
    const work = workInFlight(db);
    if (err instanceof HealthTimeout && work && work.running > 0) {
      if (db.kind === 'pglite') return busyOrStuck(work, `no answer within ${timeoutMs} ms`, stuckMs);
      // The pool's connections all taken (the probe itself queued for one): by ours, counted as work.
      const pool = own.connections?.();
      if (pool && pool.waiting > 0) {
        const exhausted = `all ${pool.max} connections of this server's pool in use, ${pool.waiting} queries waiting for one, this probe's among them`;
        return busyOrStuck(work, `no answer within ${timeoutMs} ms (${exhausted})`, stuckMs);
      }
    }
    return { ok: false, problem: problemOf(err), detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * On a PostgreSQL server that answered the probe: busy or stuck when work of ours has been under way
 * for longer than a probe waits, with what our sessions are doing there when that can be read
 * before the deadline (pg_stat_activity, through the pool that just served the probe); else null.
 */
async function ourWorkOnServer(db: Database, own: Database, deadline: Promise<never>, timeoutMs: number, stuckMs: number): Promise<DatabaseHealth | null> {
  const work = workInFlight(db);
  if (!work || work.oldestSince === null || performance.now() - work.oldestSince <= timeoutMs) return null;
  const pids = own.connections?.().pids ?? [];
  const sessions = await Promise.race([describeOurSessions(own, pids), deadline]).catch(() => null);
  return busyOrStuck(work, 'the database answered the probe', stuckMs, sessions ? `on the server: ${sessions}` : undefined);
}

/** Busy, or stuck once the oldest of `work` is older than `stuckMs`, with a detail saying `why` (and `more`) and how long. */
function busyOrStuck(work: WorkInFlight, why: string, stuckMs: number, more?: string): DatabaseHealth {
  const oldestMs = Math.round(performance.now() - (work.oldestSince ?? performance.now()));
  const under = `${why} while ${work.running} statement(s) or transaction(s) of this server were under way, the oldest for ${seconds(oldestMs)}`;
  const tail = more ? `; ${more}` : '';
  if (oldestMs <= stuckMs) return { ok: true, busy: true, running: work.running, oldestMs, detail: under + tail };
  return { ok: false, problem: 'stuck', detail: `${under} (more than ${seconds(stuckMs)}): stuck${tail}` };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

let version: string | undefined;

/** This Tuban's version, from its package.json (beside `server/` in the source tree, two up from dist/server/). */
export function packageVersion(): string {
  return (version ??= packageVersionFrom(dirname(fileURLToPath(import.meta.url)), 'tuban', 4));
}
