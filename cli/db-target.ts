/** Which database a command opens: `--db`, else DATABASE_URL, else the embedded directory. */
import { resolve } from 'node:path';
import { config } from '../pipeline/config.js';
import { one, type Flags } from './args.js';

export const DEFAULT_DB_DIR = '.tuban/db';

export function dbTarget(flags: Flags): string {
  const t = one(flags, 'db') ?? config().databaseUrl ?? DEFAULT_DB_DIR;
  return /^postgres(ql)?:\/\//.test(t) ? t : resolve(t);
}
