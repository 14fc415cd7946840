/**
 * `tuban migrate`: create or upgrade a database before first use — the embedded directory (a copy
 * of the cached template, or initdb + PostGIS when there is none) or a server, before its workers start.
 */
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import type { Flags } from './args.js';
import { dbTarget } from './db-target.js';
import { lockOptionsFromFlags } from './db-lock.js';
import { redactUrl } from '../pipeline/redact-url.js';

export async function migrateCommand(flags: Flags): Promise<number> {
  const target = dbTarget(flags);
  // Building the template takes a while once: say so rather than sit silent.
  const db = await openDatabase(target, { lock: lockOptionsFromFlags(flags), log: (_level, m) => process.stderr.write(`tuban: ${m}\n`) });
  try {
    const applied = await migrate(db);
    process.stdout.write(`${db.kind} database ${redactUrl(target)}: ${applied.length ? `applied migrations ${applied.join(', ')}` : 'up to date'}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
