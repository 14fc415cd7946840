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
import { uncounted, workInFlight } from './statements-in-flight.js';
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
 * stopping), `error` (it answered with an error: a missing table, a permission), `stuck` (the
 * embedded database busy with this server's own work, the oldest of it under way for longer than
 * HEALTH_STUCK_MS).
 */
export type DatabaseProblem = 'timeout' | 'unreachable' | 'closed' | 'error' | 'stuck';

/**
 * `busy`: no answer within the timeout, but the embedded database is held by this server's own work
 * meanwhile (`running`: statements and transactions besides the probe, the oldest under way for
 * `oldestMs`): it serves one at a time, so it is at work, not gone.
 */
export type DatabaseHealth =
  | { ok: true; schema: number | null }
  | { ok: true; busy: true; running: number; oldestMs: number }
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
 * The database's schema version in at most `timeoutMs`; a query still running then is left to finish
 * on its own. An embedded database tracked by `trackStatements` that does not answer in time while
 * other work of ours is under way on it is `busy`, or `stuck` once the oldest of that work has been
 * under way for longer than `stuckMs`. Not a PostgreSQL server: the probe has a connection of its own
 * there, and one that waits behind other sessions' locks is a problem worth the alarm.
 */
export async function checkDatabase(db: Database, timeoutMs = HEALTH_TIMEOUT_MS, stuckMs = HEALTH_STUCK_MS): Promise<DatabaseHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HealthTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  // Not counted as the server's work (statements-in-flight.ts): only what else is under way tells busy from gone.
  const query = uncounted(db).query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  query.catch(() => undefined); // a query that fails after the timeout has nobody waiting for it
  try {
    const r = await Promise.race([query, timeout]);
    return { ok: true, schema: r.rows[0]?.version ?? null };
  } catch (err) {
    const work = workInFlight(db);
    const others = work?.running ?? 0;
    if (err instanceof HealthTimeout && db.kind === 'pglite' && others > 0) {
      const oldestMs = Math.round(performance.now() - (work!.oldestSince ?? performance.now()));
      if (oldestMs <= stuckMs) return { ok: true, busy: true, running: others, oldestMs };
      const detail = `no answer within ${timeoutMs} ms while ${others} statement(s) or transaction(s) of this server were under way, the oldest for ${seconds(oldestMs)} (more than ${seconds(stuckMs)}): stuck`;
      return { ok: false, problem: 'stuck', detail };
    }
    return { ok: false, problem: problemOf(err), detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

let version: string | undefined;

/** This Tuban's version, from its package.json (beside `server/` in the source tree, two up from dist/server/). */
export function packageVersion(): string {
  return (version ??= packageVersionFrom(dirname(fileURLToPath(import.meta.url)), 'tuban', 4));
}
