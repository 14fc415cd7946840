/**
 * A Database usable before it is open: every call waits for the real one. The embedded batch
 * decodes and scores its first tile while PGlite starts (~1.5-2.5 s, a fresh directory from the
 * template included; ~15-20 s when a fresh directory has no template and runs initdb + PostGIS)
 * instead of waiting for it. Calls keep their order because they all chain
 * on the same promise and the database serialises them.
 */
import type { Database, QueryResult, Queryable } from './queryable.js';

export function deferredDatabase(opening: Promise<Database>, kind: Database['kind']): Database {
  // Without a handler a failed open would be an unhandled rejection until the first query.
  opening.catch(() => undefined);
  return {
    kind,
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      return (await opening).query<R>(text, params);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return (await opening).transaction(fn);
    },
    async close(): Promise<void> {
      const db = await opening.catch(() => null);
      await db?.close();
    },
  };
}
