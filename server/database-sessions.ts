/**
 * What this server's own sessions on a PostgreSQL server are doing, from pg_stat_activity, for the
 * health check's log line when work of ours has been under way too long: a request waiting on a
 * lock (and who holds it: another application's session idle in its transaction, or one of ours), a
 * transaction left idle because its request never finished. Ours are the backends of our pool's
 * connections (`Database.connections()`), so another tuban process or a DBA's psql on the same
 * database is never counted as ours, only named when it blocks us.
 */
import type { Queryable } from '../pipeline/store/queryable.js';

/** The most sessions a line names; a pool has 8, and the first few say what the rest are doing. */
const NAMED = 4;

interface SessionRow {
  pid: number;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
  blockers: { pid: number; application: string | null; state: string | null }[] | null;
}

/**
 * One line on the sessions among `pids` that are not idle (the one asking excluded), oldest
 * transaction first: `pid 123 active, waiting on Lock (relation), blocked by pid 456 (another
 * session, application "psql", idle in transaction)`; null when none is at work.
 */
export async function describeOurSessions(db: Queryable, pids: number[]): Promise<string | null> {
  if (pids.length === 0) return null;
  const r = await db.query<SessionRow>(
    `SELECT a.pid, a.state, a.wait_event_type, a.wait_event,
            (SELECT json_agg(json_build_object('pid', x.pid, 'application', b.application_name, 'state', b.state) ORDER BY x.pid)
               FROM unnest(pg_blocking_pids(a.pid)) AS x(pid) LEFT JOIN pg_stat_activity b ON b.pid = x.pid) AS blockers
       FROM pg_stat_activity a
      WHERE a.pid = ANY($1::int[]) AND a.pid <> pg_backend_pid() AND a.state IS DISTINCT FROM 'idle'
      ORDER BY a.xact_start NULLS LAST, a.pid`,
    [pids],
  );
  if (r.rows.length === 0) return null;
  const ours = new Set(pids);
  const named = r.rows.slice(0, NAMED).map((s) => describeSession(s, ours));
  const more = r.rows.length - named.length;
  return named.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

function describeSession(s: SessionRow, ours: Set<number>): string {
  const parts = [`pid ${s.pid} ${s.state ?? 'state unknown'}`];
  if (s.wait_event_type) parts.push(`waiting on ${s.wait_event_type}${s.wait_event ? ` (${s.wait_event})` : ''}`);
  for (const b of s.blockers ?? []) {
    const whose = ours.has(b.pid) ? "this server's" : 'another session';
    const what = [whose, b.application ? `application "${b.application}"` : null, b.state].filter(Boolean).join(', ');
    parts.push(`blocked by pid ${b.pid} (${what})`);
  }
  return parts.join(', ');
}
