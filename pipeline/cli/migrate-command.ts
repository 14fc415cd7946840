/**
 * `tuban migrate`: create or upgrade a database before first use — the embedded directory
 * (PGlite's first start runs initdb and loads PostGIS, ~13 s once) or a server, before its workers start.
 */
import { resolve } from 'node:path';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import { one, type Flags } from './args.js';
import { DEFAULT_DB_DIR } from './batch-command.js';
import { lockOptionsFromFlags } from './db-lock.js';

export function dbTarget(flags: Flags): string {
  const t = one(flags, 'db') ?? process.env.DATABASE_URL ?? DEFAULT_DB_DIR;
  return /^postgres(ql)?:\/\//.test(t) ? t : resolve(t);
}

export async function migrateCommand(flags: Flags): Promise<number> {
  const target = dbTarget(flags);
  const db = await openDatabase(target, { lock: lockOptionsFromFlags(flags) });
  try {
    const applied = await migrate(db);
    process.stdout.write(`${db.kind} database ${target.replace(/:[^:@/]*@/, ':***@')}: ${applied.length ? `applied migrations ${applied.join(', ')}` : 'up to date'}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
