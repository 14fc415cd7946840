/**
 * Which database a session is in, for `tuban batch --queue` and `tuban worker` to check they share
 * one: the database's own id (a random UUID migration 22 stores in `database_identity`, readable by
 * a role granted it: new tables need a GRANT where grants are given per table), the cluster (PostgreSQL's `system_identifier`, set once by
 * initdb, where `pg_control_system()` is allowed: managed services revoke it from ordinary roles),
 * the database's name and the schema Tuban's tables are in (a DATABASE_URL may choose one by
 * `search_path`). Read from the server, not the URL, so two spellings of one database agree.
 *
 * The id makes two clusters that both hold database `tuban`, schema `public` two databases even where
 * the cluster cannot be read. A copy made below Tuban (pg_dump/pg_restore, a file-level copy, a
 * replica) keeps its original's id: restored onto another cluster, the cluster id tells the two apart
 * where it is readable, and where it is not they pass as one (as a restore is meant to stand in for
 * its original). `tuban restore` does not copy the id (backup.ts skips the table): the restored
 * database keeps the one its own migrations gave it. Embedded databases, copies of one template,
 * share theirs; the queue runs on PostgreSQL only.
 */
import type { Queryable } from './queryable.js';

export interface DatabaseIdentity {
  /** `system_identifier` of the cluster; null where the server does not say (pg_control_system refused). */
  system: string | null;
  /** The id migration 22 stored; null only in a job an earlier Tuban enqueued. */
  id: string | null;
  database: string;
  schema: string;
}

export async function databaseIdentity(q: Queryable): Promise<DatabaseIdentity> {
  const [{ database, schema }] = (await q.query<{ database: string; schema: string }>('SELECT current_database() AS database, current_schema() AS schema')).rows;
  // Not caught: the database is migrated before it is asked, and an identity without its id is the
  // name-and-schema-only check this id is there to replace.
  const id = (await q.query<{ id: string }>('SELECT id::text AS id FROM database_identity')).rows[0]?.id ?? null;
  const system = await q
    .query<{ system: string }>('SELECT system_identifier::text AS system FROM pg_control_system()')
    .then((r) => r.rows[0]?.system ?? null, () => null);
  return { system, id, database, schema };
}

/** One database: the same id, name and schema, on the same cluster where both say which. */
export function sameDatabase(a: DatabaseIdentity, b: DatabaseIdentity): boolean {
  const known = <T>(x: T | null, y: T | null) => x === null || y === null || x === y;
  return a.database === b.database && a.schema === b.schema && known(a.id, b.id) && known(a.system, b.system);
}

/** `database tuban, schema public, id 5f0c…, cluster 7716…` for a message. */
export function describeIdentity(id: DatabaseIdentity): string {
  return `database ${id.database}, schema ${id.schema}, id ${id.id ?? 'unknown'}, cluster ${id.system ?? 'unknown'}`;
}
