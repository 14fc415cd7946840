/**
 * `tuban worker`: runs the batch's tile and finalise handlers from the queue (BullMQ on Redis) on
 * any machine with the PostgreSQL server's URL, until SIGTERM/SIGINT; exit 1 when the stop was not clean.
 */
import { startWorker } from '../workers/queue/start-worker.js';
import { createHandlers } from '../pipeline/batch/handlers.js';
import { config } from '../pipeline/config.js';
import { createLogger } from '../pipeline/log.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { databaseIdentity } from '../pipeline/store/database-identity.js';
import { redactUrl } from '../pipeline/redact-url.js';
import { UsageError, logLevel, one, type Flags } from './args.js';
import { need } from './queue-settings.js';
import { logSettingWarnings, type SettingWarning } from './settings-check.js';

/** How long a stopping worker waits for its database pool to close: a query left waiting on a silent server holds it for ever. */
export const DATABASE_CLOSE_TIMEOUT_MS = 10_000;

/** `settingWarnings`: what the environment's check went on past (settings-check.ts), for its log. */
export async function workerCommand(flags: Flags, settingWarnings: readonly SettingWarning[] = []): Promise<number> {
  const log = createLogger({ level: logLevel(flags, 'worker', config().logLevel) });
  logSettingWarnings(log, settingWarnings);
  const concurrency = Number(one(flags, 'concurrency') ?? '1');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError('--concurrency must be a positive integer');
  const databaseUrl = need('DATABASE_URL', one(flags, 'db'));
  const db = await openDatabase(databaseUrl);
  let stopped = false;
  try {
    await migrate(db);
    const identity = await databaseIdentity(db);
    // startWorker logs `worker started` with its queue, Redis and this database (passwords hidden).
    const handle = startWorker({
      connection: need('REDIS_URL'),
      handlers: createHandlers({ db, log, mode: 'queue', tilesAtOnce: concurrency }),
      concurrency,
      log,
      describeDatabase: redactUrl(databaseUrl),
      database: { ...identity, url: redactUrl(databaseUrl) },
    });
    // startWorker closes on SIGTERM/SIGINT and aborts its signal; we exit once it has closed.
    await new Promise<void>((resolve) => handle.signal.addEventListener('abort', () => resolve(), { once: true }));
    const workerClosed = await handle.close();
    stopped = true;
    const databaseClosed = await closeDatabase(db, redactUrl(databaseUrl), log);
    if (!workerClosed || !databaseClosed) {
      // Not 0: systemd (and whoever stopped it) learns the stop was not clean; the error line above says why.
      log.warn('worker stopped without closing cleanly: exit 1');
      return 1;
    }
    log.info('worker stopped');
    return 0;
  } finally {
    // Start-up failed: its own error is the one to report, not the close's.
    if (!stopped) await db.close().catch(() => undefined);
  }
}

/** Close the worker's database within DATABASE_CLOSE_TIMEOUT_MS; false (one error line, `where` has no password) when it failed or hung. */
async function closeDatabase(db: { close(): Promise<void> }, where: string, log: ReturnType<typeof createLogger>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    db.close().then(
      () => true,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), DATABASE_CLOSE_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
  if (outcome === true) return true;
  if (outcome === false) {
    log.error(
      { timeoutMs: DATABASE_CLOSE_TIMEOUT_MS },
      `the database ${where} did not close within ${DATABASE_CLOSE_TIMEOUT_MS / 1000} s (a query still waiting on a server that does not answer); left open`,
    );
  } else {
    log.error({ err: outcome.message }, `closing the database ${where} failed: ${outcome.message}`);
  }
  return false;
}
