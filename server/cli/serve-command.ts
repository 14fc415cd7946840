/**
 * `tuban serve [--port 8080] [--host 127.0.0.1] [--db <dir|postgres-url>] [--data <dir>]
 *  [--calendar FILE…] [--deadlines FILE] [--log-level info]`: migrate, load the secret and the holiday calendar,
 * build the app, listen; SIGINT/SIGTERM close the server, then the database.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { one, paths, UsageError, type Flags } from '../../pipeline/cli/args.js';
import { dbTarget } from '../../pipeline/cli/migrate-command.js';
import { migrate } from '../../pipeline/store/migrations.js';
import { openDatabase } from '../../pipeline/store/open-database.js';
import { buildApp, LOG_REDACT, type AppOptions } from '../app.js';
import { loadSecret } from '../auth/secret.js';
import { DEFAULT_CALENDAR_FILE, loadCalendar } from '../deadlines/calendar.js';
import { loadDeadlines } from '../deadlines/load-deadlines.js';

export const DEFAULT_DATA_DIR = '.tuban/data';

/** The page: `web/` at the package root, from the source tree or from dist/. */
function findWebDir(): string | null {
  for (const rel of ['../../web', '../../../web']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return null;
}

export async function serveCommand(flags: Flags, extra: Partial<AppOptions> = {}): Promise<number> {
  const port = Number(one(flags, 'port', process.env.PORT ?? '8080'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0–65535');
  const host = one(flags, 'host', '127.0.0.1')!;
  const dataDir = resolve(one(flags, 'data', process.env.TUBAN_DATA ?? DEFAULT_DATA_DIR)!);
  const calendars = paths(flags, 'calendar');
  const deadlines = { rules: await loadDeadlines(one(flags, 'deadlines')), calendar: await loadCalendar(calendars.length ? calendars : [DEFAULT_CALENDAR_FILE]) };
  const secret = await loadSecret(dataDir);
  const db = await openDatabase(dbTarget(flags));
  await migrate(db);
  const app = await buildApp({
    db,
    dataDir,
    secret,
    deadlines,
    webDir: findWebDir(),
    logger: { level: one(flags, 'log-level', 'info'), redact: LOG_REDACT },
    ...extra,
  });
  const stop = async () => {
    await app.close();
    await db.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await app.listen({ port, host });
  await new Promise<void>((r) => app.server.once('close', () => r()));
  return 0;
}
