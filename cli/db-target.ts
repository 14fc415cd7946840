/** Which database a command opens: `--db`, else DATABASE_URL, else the embedded directory. */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { config } from '../pipeline/config.js';
import { followLinks } from '../pipeline/store/follow-links.js';
import { one, UsageError, type Flags } from './args.js';
import type { CommandName } from './commands.js';

export const DEFAULT_DB_DIR = '.tuban/db';

export function dbTarget(flags: Flags): string {
  const t = one(flags, 'db') ?? config().databaseUrl ?? DEFAULT_DB_DIR;
  if (/^postgres(ql)?:\/\//.test(t)) return t;
  // Where the directory is, links followed: its lock and a server's socket beside it are then one for every name of it.
  const dir = followLinks(resolve(t));
  // An embedded database is a directory: a file there is a slip (say, the .lock or a dump).
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false) throw new UsageError(`--db ${dir} is an existing file; give the embedded database's directory (it is created when missing) or a postgres:// URL`);
  return dir;
}

/**
 * The database a reading command (`tuban ledger`, `tuban report`) opens: an embedded directory must
 * already hold one. Opening makes a fresh database wherever `--db` points, so a typo, or a command
 * run from another folder than the batch (`.tuban/db` is relative to it), would write an empty
 * ledger and exit 0; it is a usage error instead, and nothing is created.
 */
export function existingDbTarget(flags: Flags, command: CommandName, makers = 'tuban batch makes it'): string {
  const target = dbTarget(flags);
  if (/^(postgres(ql)?|memory):\/\//i.test(target) || existsSync(join(target, 'PG_VERSION'))) return target;
  throw new UsageError(
    `--db ${target}: no database there (${makers}; the default ${DEFAULT_DB_DIR} is relative to the folder you run in): run tuban ${command} where you ran the batch, or pass its --db`,
    command,
  );
}
