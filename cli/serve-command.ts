/**
 * `tuban serve [--port 8080] [--host 127.0.0.1] [--db <dir|postgres-url>] [--data <dir>]
 *  [--calendar FILE…] [--deadlines FILE] [--log-level info]`: migrate, load the secret and the holiday calendar,
 * build the app (API, page, imagery tiles and chips, warmed for the newest month), listen; SIGINT/SIGTERM/SIGHUP close the
 * server (the requests in flight finish), then the database; a second signal exits at once (128 + its number). An embedded database
 * directory is locked for the server's whole life (`--wait-db` as for batch): a batch or migrate
 * run meanwhile gets DB.LOCKED instead of a second PGlite writing the same files.
 */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ConfigError, loadConfigFile, logLevel, one, paths, UsageError, type Flags } from './args.js';
import { dbTarget } from './db-target.js';
import { isEmbeddedTarget, lockOptionsFromFlags } from './db-lock.js';
import { config } from '../pipeline/config.js';
import { stdioDestination } from '../pipeline/log.js';
import { migrate } from '../pipeline/store/migrations.js';
import { citywideTownshipUsers } from '../server/auth/user-store.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { acquireDirectoryLock, type LockHolder } from '../pipeline/store/directory-lock.js';
import { shareDatabase, socketPathFor } from '../pipeline/store/shared-database.js';
import { LOG_REDACT, STOP_GRACE_MS, type AppOptions } from '../server/app.js';
import { chinaDate } from '../pipeline/iso-date.js';
import { buildServeApp } from '../server/serve-app.js';
import { trackStatements } from '../server/statements-in-flight.js';
import { loadSecret } from '../server/auth/secret.js';
import { addCalendarFile, loadCalendar } from '../server/deadlines/calendar.js';
import { loadDeadlines } from '../server/deadlines/load-deadlines.js';
import { calendarGapWarning } from '../server/deadlines/rules.js';
import { redactUrl } from '../pipeline/redact-url.js';
import { logSettingWarnings, type SettingWarning } from './settings-check.js';

/** The signals that stop the server gracefully: systemctl stop, Ctrl-C, and the terminal closing. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** The page: `web/` at the package root, from the source tree or from dist/. */
function findWebDir(): string | null {
  for (const rel of ['../web', '../../web']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return null;
}

/** `settingWarnings`: what the environment's check went on past (settings-check.ts), for its log. */
export async function serveCommand(flags: Flags, extra: Partial<AppOptions> = {}, settingWarnings: readonly SettingWarning[] = []): Promise<number> {
  const level = logLevel(flags, 'serve', 'info');
  // Now, in the app's format on the app's stream: its logger comes only once the database is open.
  if (settingWarnings.length > 0) logSettingWarnings(pino({ level, redact: LOG_REDACT }, stdioDestination(1)), settingWarnings);
  const port = Number(one(flags, 'port', String(config().port)));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0–65535', 'serve');
  const host = one(flags, 'host', '127.0.0.1')!;
  const dataDir = resolve(one(flags, 'data', config().dataDir)!);
  // The configuration files, each named in its error (exit 64, one line) before the database is opened.
  const deadlinesFile = one(flags, 'deadlines');
  const rules = await (deadlinesFile === undefined ? loadDeadlines(undefined) : loadConfigFile('deadlines', deadlinesFile, () => loadDeadlines(deadlinesFile)));
  const calendarFiles = paths(flags, 'calendar');
  // The shipped holidays, plus each file given.
  const calendar = await loadCalendar();
  for (const p of calendarFiles) await loadConfigFile('calendar', p, () => addCalendarFile(calendar, p));
  const deadlines = { rules, calendar };
  const secret = await loadSecret(dataDir, config().secret).catch((err: Error) => {
    // A short TUBAN_SECRET or <data>/secret, an unwritable --data: configuration too (the message names which).
    throw new ConfigError(err.message.split('\n')[0]);
  });
  const target = dbTarget(flags);
  // The first SIGTERM/SIGINT/SIGHUP stops gracefully (the requests in flight finish, for at most
  // STOP_GRACE_MS; then the database closes and its lock is released). SIGHUP is what a terminal
  // sends when it closes (an SSH session ending under a server started without nohup): without a
  // handler of ours it killed the process with the database open and its socket left behind. A
  // second signal, of any of them, while that runs means "now": exit at once, 128 + the signal's
  // number like a shell, and the lock file goes on 'exit' (directory-lock.ts); the embedded
  // database recovers from its WAL on the next start, as after a crash. Ours from before the
  // database opens: one that comes while it opens, migrates and the app is built (seconds; a
  // `systemctl stop` right after a start) is acted on once there is a database to close, where
  // the lock's own handler ended the process as killed (143) with the database unclosed. Except
  // while --wait-db waits for another holder (up to its seconds, nothing of ours open), and on a
  // PostgreSQL server until the app is built (a server that never answers, a migration waiting on
  // another's lock: nothing of ours to close, and the stop would wait for them): then the signal
  // is left to do what it did, at once.
  let stopping: NodeJS.Signals | null = null;
  let waitingForLock = false;
  let startStop: ((signal: NodeJS.Signals) => void) | null = null;
  const embedded = isEmbeddedTarget(target);
  let warn: (message: string) => void = (message) => {
    process.stderr.write(`${message}\n`);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping === null && (waitingForLock || (!embedded && startStop === null))) {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
      process.kill(process.pid, signal);
      return;
    }
    if (stopping !== null) {
      warn(`${signal} again while stopping: exiting now, without waiting for the requests in flight`);
      process.exit(128 + constants.signals[signal]);
    }
    stopping = signal;
    startStop?.(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  // Counted (statements-in-flight.ts) before the app and the shared socket use it: a long export by
  // `tuban ledger` through the socket keeps the database busy as much as one of the app's own.
  // The lock taken first, on its own: a signal while it waits for another holder is left to act at
  // once, and from the moment it is ours (a dead server's taken over included: the start that
  // follows may recover the database from its WAL) the database is opened to be closed.
  const options = lockOptionsFromFlags(flags);
  const lockOptions = { ...options, role: 'server' as const, onWait: (message: string, holder: LockHolder) => ((waitingForLock = true), options.onWait?.(message, holder)) };
  const lock = embedded ? await acquireDirectoryLock(target, lockOptions) : undefined;
  waitingForLock = false;
  const db = trackStatements(await openDatabase(target, { lock, viaServer: false }));
  await migrate(db);
  const { app } = await buildServeApp({
    db,
    dataDir,
    secret,
    deadlines,
    webDir: findWebDir(),
    // stdout that outlives a closed terminal: stopping on SIGHUP must not die (or hang) writing its log.
    logger: { level, redact: LOG_REDACT, stream: stdioDestination(1) },
    trustProxy: config().trustProxy,
    ...extra,
  });
  warn = (message) => app.log.warn(message);
  app.log.info(`serving ${embedded ? `the embedded database ${target}` : `the database ${redactUrl(target)}`}, evidence and secret in ${dataDir}`);
  const gap = calendarGapWarning(deadlines, chinaDate(new Date()));
  if (gap) app.log.warn(gap);
  // Kept working as they were (no account loses access on an upgrade), but named: before --township
  // a township's account saw every 乡镇/街道 of the city, which is rarely what was meant.
  const citywide = await citywideTownshipUsers(db);
  if (citywide.length > 0) {
    app.log.warn(`township accounts without a township see every 乡镇/街道's polygons in the city: ${citywide.join(', ')}; a 乡镇/街道's own account is one added with tuban user add <name> --role bureau --bureau township --township <code>`);
  }
  // The month's batch, tuban user, ledger and report reach the embedded database through the server while it runs.
  const shared = embedded
    ? await shareDatabase(db, target).catch((err: Error) => {
        app.log.warn(`other tuban commands cannot use ${target} while the server runs (DB.LOCKED): the socket ${socketPathFor(target)} could not be made: ${err.message}`);
        return null;
      })
    : null;
  const stop = async () => {
    await shared?.close();
    await app.close();
    await db.close();
  };
  const stopOn = async (signal: NodeJS.Signals) => {
    app.log.info(`${signal}: stopping (no new connections; the requests in flight finish, for at most ${STOP_GRACE_MS / 1000} s)`);
    await stop().then(
      () => app.log.info(`stopped on ${signal}; the database is closed`),
      (err: unknown) => {
        app.log.error({ err }, `stopping on ${signal} failed`);
        process.exitCode = 1;
      },
    );
  };
  // Fastify's plugins loaded before the last look at a stop: one closed while listen() loads them
  // still binds, a server listening on a closed database.
  try {
    await app.ready();
  } catch (err) {
    await stop(); // what is open closes, so the process ends and the lock goes
    throw err;
  }
  const signalled: NodeJS.Signals | null = stopping;
  if (signalled !== null) {
    // Asked to stop while starting: close what is open, never listen.
    await stopOn(signalled);
    return process.exitCode === 1 ? 1 : 0;
  }
  startStop = (signal) => void stopOn(signal);
  try {
    await app.listen({ port, host });
  } catch (err) {
    // Another server on the port, a port below 1024, a --host not on this machine: close what is
    // open (the database, its lock and socket, the imagery warm-up), so the process ends, and say
    // which flag to change instead of a stack.
    await stop();
    throw new ConfigError(listenProblem(err as NodeJS.ErrnoException, host, port));
  }
  await new Promise<void>((r) => app.server.once('close', () => r()));
  return 0;
}

function listenProblem(err: NodeJS.ErrnoException, host: string, port: number): string {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE') return `--port ${port}: ${where} is already in use (another tuban serve, or another program); pass another --port or stop that one`;
  if (err.code === 'EACCES') return `--port ${port}: permission denied to listen on ${where} (ports below 1024 need privileges); pass a --port of 1024 or more`;
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') return `--host ${host}: not an address of this machine (${err.code}); pass --host 127.0.0.1, 0.0.0.0 or one of its addresses`;
  return `cannot listen on ${where}: ${err.message}`;
}
