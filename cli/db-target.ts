/** Which database a command opens: `--db`, else DATABASE_URL, else the embedded directory. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { config } from '../pipeline/config.js';
import { one, UsageError, type Flags } from './args.js';

export const DEFAULT_DB_DIR = '.tuban/db';

export function dbTarget(flags: Flags): string {
  const t = one(flags, 'db') ?? config().databaseUrl ?? DEFAULT_DB_DIR;
  if (/^postgres(ql)?:\/\//.test(t)) return t;
  const dir = resolve(t);
  // An embedded database is a directory: a file there is a slip (say, the .lock or a dump).
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false) throw new UsageError(`--db ${dir} is an existing file; give the embedded database's directory (it is created when missing) or a postgres:// URL`);
  return dir;
}
