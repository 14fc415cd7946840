/**
 * One process at a time per embedded database directory. PGlite has no postmaster to arbitrate
 * between processes: two processes opening one directory each write their own WAL and catalogue
 * over the other's, and one batch is silently lost. So whoever opens the directory (`tuban batch`,
 * `tuban migrate`, `tuban serve` for its lifetime) first takes `<dir>.lock`, a file beside the
 * directory (PGlite's initdb wants the directory to itself), before anything is written there.
 *
 * The lock file is created atomically and complete (written under a temporary name, then hard-linked
 * to its name: `link` fails if it exists), and holds the holder's pid, host, command, start time and
 * role: a `tuban serve` holds the directory until it is stopped, so whoever finds it held is told to
 * stop that server (or go through it), not to wait for it to finish.
 * A lock left by a dead process on this host (SIGKILL, power loss) is taken over, and the caller is
 * told; one from another host (a directory on shared storage) is never guessed at. Released by
 * `release()`, and on exit and on SIGINT/SIGTERM/SIGHUP when nothing else handles them.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { TubanError } from '../../schemas/errors.js';
import { makeDirectory } from '../make-directory.js';
import { socketPathFor } from './shared-database.js';

export interface LockHolder {
  pid: number;
  host: string;
  /** The holder's command line, shortened. */
  command: string;
  /** ISO 8601. */
  startedAt: string;
  /** Unique per acquisition, so a release never removes a lock someone else took over. */
  token: string;
  /** A `tuban serve` (held for its lifetime) or a command that ends by itself (batch, migrate, …). */
  role: LockRole;
}

export type LockRole = 'server' | 'command';

export interface DirectoryLock {
  /** The lock file's path. */
  readonly path: string;
  readonly holder: LockHolder;
  /** Whether it was held (or its file unreadable) when first tried, so this waited for it. */
  readonly waited: boolean;
  /** Remove the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for another holder, seconds; 0 (default) fails at once with DB.LOCKED. */
  waitSeconds?: number;
  /** Recorded for whoever finds the lock held; default `tuban <argv>`. */
  command?: string;
  /** Recorded too, and shapes the advice when we find it held; default 'command'. */
  role?: LockRole;
  /** Called once when the lock is held by a live process and we start waiting. */
  onWait?: (message: string, holder: LockHolder) => void;
  /** Called when a dead process's lock is taken over. */
  onTakeover?: (message: string, stale: LockHolder) => void;
  /** Poll interval while waiting, ms (default 250). */
  pollMs?: number;
  /**
   * For a command that can go through a running `tuban serve` (openDatabase): while a server holds
   * the lock, whether it now shares the database on its socket. True ends the wait with
   * `ServerShares`, so the caller connects there instead of waiting for a lock a server never gives
   * back (a server still starting when the command began: its socket comes seconds after its lock).
   */
  serverShares?: () => boolean;
}

/** Thrown by `acquireDirectoryLock` when `serverShares` says the holding server now shares the database. */
export class ServerShares extends Error {
  readonly remainingMs: number;
  constructor(remainingMs: number) {
    super('the server holding the directory now shares it on its socket');
    this.remainingMs = remainingMs;
  }
}

/** The lock file for a database directory: beside it, `<dir>.lock`. */
export function lockPathFor(dir: string): string {
  return `${dir.replace(/[\\/]+$/, '')}.lock`;
}

/**
 * Take the lock on `dir` (the directory need not exist yet), waiting up to `waitSeconds` for a live
 * holder. Throws DB.LOCKED naming the holder's pid, host and command when it stays held.
 */
export async function acquireDirectoryLock(dir: string, opts: LockOptions = {}): Promise<DirectoryLock> {
  const path = lockPathFor(dir);
  const waitMs = Math.max(0, (opts.waitSeconds ?? 0) * 1000);
  const deadline = Date.now() + waitMs;
  const pollMs = opts.pollMs ?? 250;
  const mine: LockHolder = {
    pid: process.pid,
    host: hostname(),
    command: shorten(opts.command ?? `tuban ${process.argv.slice(2).join(' ')}`),
    startedAt: new Date().toISOString(),
    token: randomUUID(),
    role: opts.role ?? 'command',
  };
  await makeDirectory(dirname(path));
  let announced = false;
  let waited = false;
  for (;;) {
    if (await tryCreate(path, mine)) return hold(path, mine, waited);
    const current = await readHolder(path);
    if (current === 'gone') continue; // released between our attempt and the read
    if (current !== 'unreadable' && isStale(current)) {
      if (await takeOver(path, current)) {
        opts.onTakeover?.(`took over the lock ${path} left by pid ${current.pid} (${current.command}, since ${current.startedAt}), which is no longer running`, current);
      }
      continue;
    }
    const who = current === 'unreadable' ? `an unreadable lock file ${path}` : describe(current);
    const remaining = deadline - Date.now();
    if (waited && current !== 'unreadable' && current.role === 'server' && opts.serverShares?.()) throw new ServerShares(Math.max(0, remaining));
    if (remaining <= 0) {
      const waited = waitMs > 0 ? `, still after waiting ${Math.round(waitMs / 1000)} s` : '';
      const advice = current !== 'unreadable' && current.role === 'server' ? serverAdvice(dir, mine.role) : 'Wait for it to finish, pass --wait-db <seconds> to wait for it';
      throw new TubanError('DB.LOCKED', `the embedded database is in use by ${who}${waited}. ${advice}, or, if that process is gone, delete ${path}`, dir);
    }
    if (!announced && current !== 'unreadable') {
      announced = true;
      opts.onWait?.(`${dir}: the embedded database is in use by ${who}; waiting up to ${Math.round(waitMs / 1000)} s for it`, current);
    }
    waited = true;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, remaining)));
  }
}

function describe(h: LockHolder): string {
  const who = `pid ${h.pid} on ${h.host} ("${h.command}", since ${h.startedAt})`;
  return h.role === 'server' ? `a running tuban serve (${who})` : who;
}

/**
 * What to do about a server holding the directory: it never finishes, so waiting is no advice. A
 * second server is refused (the first already serves the database); a command reaches here only
 * where the server could not share it on its socket (README: "tuban serve shares the embedded database").
 */
function serverAdvice(dir: string, mine: LockRole): string {
  if (mine === 'server') return 'A second tuban serve on one directory is refused, and a server holds it until it is stopped: stop that server first, or use its page (it already serves this database)';
  const socket = socketPathFor(dir);
  // With the socket there, the command is one that needs the directory to itself (backup restore).
  const why = existsSync(socket) ? 'this command needs the directory to itself' : `it could not make its socket ${socket} (its log says why), or has not yet (a server starting makes it within seconds: --wait-db <seconds> waits for it)`;
  return (
    `A server holds it until it is stopped and shares it with tuban batch, user, ledger, report and migrate only through its socket; ${why}: ` +
    'stop it (systemctl stop, or Ctrl-C where it runs), run this, then start it again'
  );
}

function shorten(s: string): string {
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** Create the lock file complete or not at all: false when it already exists. */
async function tryCreate(path: string, holder: LockHolder): Promise<boolean> {
  const tmp = `${path}.${holder.token}.tmp`;
  await writeFile(tmp, JSON.stringify(holder) + '\n', { mode: 0o644 });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

async function readHolder(path: string): Promise<LockHolder | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  return parseHolder(text) ?? 'unreadable';
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.token === 'string') {
      const command = String(h.command ?? '');
      // A lock written before the role was recorded: a server's command says what it is.
      const role: LockRole = h.role === 'server' || h.role === 'command' ? h.role : /^tuban serve\b/.test(command) ? 'server' : 'command';
      return { pid: h.pid, host: h.host, command, startedAt: String(h.startedAt ?? ''), token: h.token, role };
    }
  } catch {
    // not ours: reported as unreadable, never removed behind the user's back
  }
  return null;
}

/** A lock is stale only when we can tell: same host and the pid no longer exists. */
function isStale(h: LockHolder): boolean {
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists under another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Move the stale file aside and check it is the one we judged stale: another process taking over at
 * the same moment may already have put its own live lock there, which then goes back.
 */
async function takeOver(path: string, stale: LockHolder): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const moved = parseHolder(await readFile(aside, 'utf8').catch(() => ''));
  if (moved?.token !== stale.token) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
  return moved?.token === stale.token;
}

// ---------------------------------------------------------------- release on close, exit, signals

const held = new Map<string, LockHolder>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function releaseSync(path: string, holder: LockHolder): void {
  try {
    if (parseHolder(readFileSync(path, 'utf8'))?.token === holder.token) unlinkSync(path);
  } catch {
    // already gone
  }
}

function releaseAllSync(): void {
  for (const [path, holder] of held) releaseSync(path, holder);
  held.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles the signal (a graceful shutdown that closes the database, releasing
  // the lock): leave it to them and to 'exit'. Otherwise release and die as the signal meant.
  if (process.listenerCount(signal) > 1) return;
  releaseAllSync();
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', releaseAllSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', releaseAllSync);
  for (const s of SIGNALS) process.off(s, onSignal);
}

function hold(path: string, holder: LockHolder, waited: boolean): DirectoryLock {
  if (held.size === 0) install();
  held.set(path, holder);
  let released = false;
  return {
    path,
    holder,
    waited,
    async release() {
      if (released) return;
      released = true;
      if (held.get(path)?.token === holder.token) held.delete(path);
      if (held.size === 0) uninstall();
      const current = await readHolder(path);
      if (typeof current === 'object' && current.token === holder.token) await unlink(path).catch(() => {});
    },
  };
}
