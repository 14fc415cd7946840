/**
 * The minimal SQL surface both `pg` (Pool/Client) and PGlite satisfy, so every
 * query in Tuban is written once and runs on the embedded default and on a server.
 */
export interface QueryResult<R> {
  rows: R[];
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/** A Queryable that can run a function inside one transaction (all-or-nothing writes). */
export interface Database extends Queryable {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** 'pglite' (embedded, persisted in a directory) or 'postgres' (server URL). */
  readonly kind: 'pglite' | 'postgres';
  /**
   * The socket of the running `tuban serve` whose embedded database this is (`shared-database.ts`);
   * absent where this process opened the database itself.
   */
  readonly servedBy?: string;
  /** A PostgreSQL server's pool, as it is now (the health check's view of this process's sessions); absent elsewhere. */
  connections?(): PoolConnections;
}

/** A pool's connections: at most `max`, `open` of them (`idle` of those free), `waiting` callers queued for one, and the backends' pids (pg_stat_activity.pid). */
export interface PoolConnections {
  max: number;
  open: number;
  idle: number;
  waiting: number;
  pids: number[];
}
