/**
 * Which database a session is in, for `tuban batch --queue` and `tuban worker` to check they share
 * one: the cluster (PostgreSQL's `system_identifier`, set once by initdb), the database's name and
 * the schema Tuban's tables are in (a DATABASE_URL may choose one by `search_path`). Read from the
 * server, not the URL, so two spellings of one database agree; no row of its own, so a database
 * restored from a backup is the database the command and the workers both point at again.
 */
import type { Queryable } from './queryable.js';

export interface DatabaseIdentity {
  /** `system_identifier` of the cluster; null where the server does not say (pg_control_system refused). */
  system: string | null;
  database: string;
  schema: string;
}

export async function databaseIdentity(q: Queryable): Promise<DatabaseIdentity> {
  const [{ database, schema }] = (await q.query<{ database: string; schema: string }>('SELECT current_database() AS database, current_schema() AS schema')).rows;
  const system = await q
    .query<{ system: string }>('SELECT system_identifier::text AS system FROM pg_control_system()')
    .then((r) => r.rows[0]?.system ?? null, () => null);
  return { system, database, schema };
}

/** One database: the same name and schema, on the same cluster where both say which. */
export function sameDatabase(a: DatabaseIdentity, b: DatabaseIdentity): boolean {
  return a.database === b.database && a.schema === b.schema && (a.system === null || b.system === null || a.system === b.system);
}

/** `database tuban, schema public, cluster 7716…` for a message. */
export function describeIdentity(id: DatabaseIdentity): string {
  return `database ${id.database}, schema ${id.schema}, cluster ${id.system ?? 'unknown'}`;
}
