/** One sql.js (SQLite compiled to WASM) instance per process: compiling the module costs ~50 ms. */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';

let sqlite: Promise<SqlJsStatic> | null = null;

export function sqlJs(): Promise<SqlJsStatic> {
  sqlite ??= initSqlJs();
  return sqlite;
}

/** Rows of a query as plain objects. */
export function queryRows(db: Database, sql: string, params: (string | number | null)[] = []): Record<string, unknown>[] {
  const stmt = db.prepare(sql);
  try {
    stmt.bind(params);
    const rows: Record<string, unknown>[] = [];
    while (stmt.step()) rows.push(stmt.getAsObject());
    return rows;
  } finally {
    stmt.free();
  }
}

/** SQL identifier quoting: table and column names come from user data. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
