/**
 * The embedded database's directory lock, against real processes: a live holder in another process,
 * a dead one's stale lock, and a holder that exits, is signalled or is killed. The child processes
 * run the built module (`npm run build` first; npm test does it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import { acquireDirectoryLock, lockPathFor, type LockHolder } from './directory-lock.js';
import { openDatabase } from './open-database.js';

const BUILT = fileURLToPath(new URL('../../dist/pipeline/store/directory-lock.js', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-lock-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A node process that sleeps until killed; resolves its pid once started. */
function sleeper(): { pid: number; done: Promise<void>; kill: () => void } {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  return { pid: child.pid!, done, kill: () => child.kill('SIGKILL') };
}

/** The pid of a process that has exited (reaped), so it no longer exists. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

async function writeHolder(db: string, h: Partial<LockHolder>): Promise<void> {
  const holder: LockHolder = { pid: 1, host: hostname(), command: 'tuban batch --epoch 2026-10', startedAt: '2026-10-01T00:00:00.000Z', token: 'someone-else', ...h };
  await mkdir(dirname(db), { recursive: true });
  await writeFile(lockPathFor(db), JSON.stringify(holder));
}

async function lockedError(p: Promise<unknown>): Promise<TubanError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TubanError);
  expect((err as TubanError).code).toBe('DB.LOCKED');
  return err as TubanError;
}

describe('acquireDirectoryLock', () => {
  it('writes the holder, refuses a second holder by pid and command, and frees the directory on release', async () => {
    const db = join(dir, 'a', 'db');
    const lock = await acquireDirectoryLock(db, { command: 'tuban batch --epoch 2026-10 --tiles west/' });
    const onDisk = JSON.parse(await readFile(lock.path, 'utf8')) as LockHolder;
    expect(onDisk).toMatchObject({ pid: process.pid, host: hostname(), command: 'tuban batch --epoch 2026-10 --tiles west/' });
    expect(lock.waited).toBe(false);
    const err = await lockedError(acquireDirectoryLock(db));
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.message).toContain('tuban batch --epoch 2026-10 --tiles west/');
    expect(err.message).toContain(lock.path);
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
    const again = await acquireDirectoryLock(db);
    await again.release();
    await again.release(); // idempotent
  });

  it('fails at once while a live process on this host holds it, naming that pid', async () => {
    const db = join(dir, 'live', 'db');
    const s = sleeper();
    try {
      await writeHolder(db, { pid: s.pid });
      const t0 = Date.now();
      const err = await lockedError(acquireDirectoryLock(db));
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(err.message).toContain(`pid ${s.pid}`);
      expect(existsSync(lockPathFor(db))).toBe(true); // a live holder's lock is never removed
    } finally {
      s.kill();
      await s.done;
    }
  });

  it('held by a running server, says that a server does not finish: stop it, or go through it', async () => {
    const db = join(dir, 'served', 'db');
    const s = sleeper();
    try {
      // The server's lock records that it is one; a server holds the directory until it is stopped.
      await writeHolder(db, { pid: s.pid, command: 'tuban serve --db /var/lib/tuban/db', role: 'server' });
      const second = await lockedError(acquireDirectoryLock(db, { role: 'server' }));
      expect(second.message).toContain(`a running tuban serve (pid ${s.pid}`);
      expect(second.message).not.toContain('Wait for it to finish');
      expect(second.message).toContain('a server holds it until it is stopped: stop that server first, or use its page');
      const batch = await lockedError(acquireDirectoryLock(db));
      expect(batch.message).not.toContain('Wait for it to finish');
      expect(batch.message).toContain(`stop it (systemctl stop, or Ctrl-C where it runs), run this, then start it again`);
      expect(batch.message).toContain(`it could not make its socket ${db}.sock`);
      // Its socket there, the command is one that will not go through it (backup restore).
      await writeFile(`${db}.sock`, '');
      expect((await lockedError(acquireDirectoryLock(db))).message).toContain('this command needs the directory to itself: stop it');
      await rm(`${db}.sock`);
      // A lock written before the role was recorded: the command still says it is a server.
      await writeHolder(db, { pid: s.pid, command: 'tuban serve --db /var/lib/tuban/db' });
      expect((await lockedError(acquireDirectoryLock(db))).message).toContain('a running tuban serve');
      // A batch holding it does finish: waiting for it is the advice.
      await writeHolder(db, { pid: s.pid });
      const behindBatch = await lockedError(acquireDirectoryLock(db, { role: 'server' }));
      expect(behindBatch.message).toContain('Wait for it to finish');
      expect(behindBatch.message).not.toContain('tuban serve');
    } finally {
      s.kill();
      await s.done;
    }
  });

  it('waits for a live holder to let go, saying so once, then takes the lock', async () => {
    const db = join(dir, 'wait', 'db');
    const s = sleeper();
    try {
      await writeHolder(db, { pid: s.pid });
      const said: string[] = [];
      setTimeout(() => void rm(lockPathFor(db)), 700);
      const lock = await acquireDirectoryLock(db, { waitSeconds: 30, pollMs: 50, onWait: (m) => said.push(m) });
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(`pid ${s.pid}`);
      expect(said[0]).toContain('waiting up to 30 s');
      expect(lock.holder.pid).toBe(process.pid);
      // What a batch plans again after (cli/batch-command.ts, planAndTakeDatabase).
      expect(lock.waited).toBe(true);
      await lock.release();
    } finally {
      s.kill();
      await s.done;
    }
  });

  it('gives up after the bounded wait with DB.LOCKED', async () => {
    const db = join(dir, 'timeout', 'db');
    const s = sleeper();
    try {
      await writeHolder(db, { pid: s.pid });
      const err = await lockedError(acquireDirectoryLock(db, { waitSeconds: 0.3, pollMs: 50 }));
      expect(err.message).toContain('still after waiting');
    } finally {
      s.kill();
      await s.done;
    }
  });

  it('takes over a lock left by a dead process on this host, and says so', async () => {
    const db = join(dir, 'stale', 'db');
    const pid = await deadPid();
    await writeHolder(db, { pid, command: 'tuban batch --epoch 2026-09' });
    const said: string[] = [];
    const lock = await acquireDirectoryLock(db, { onTakeover: (m) => said.push(m) });
    expect(said).toEqual([expect.stringContaining(`pid ${pid} (tuban batch --epoch 2026-09`)]);
    expect((JSON.parse(await readFile(lock.path, 'utf8')) as LockHolder).pid).toBe(process.pid);
    await lock.release();
  });

  it('never guesses about a lock from another host', async () => {
    const db = join(dir, 'other-host', 'db');
    await writeHolder(db, { pid: await deadPid(), host: 'some-other-host' });
    const err = await lockedError(acquireDirectoryLock(db));
    expect(err.message).toContain('on some-other-host');
  });

  it('is taken by openDatabase before the directory is created (no initdb beside a holder)', async () => {
    const db = join(dir, 'open', 'db');
    const lock = await acquireDirectoryLock(db);
    try {
      await lockedError(openDatabase(db));
      expect(existsSync(db)).toBe(false);
    } finally {
      await lock.release();
    }
  });
});

describe('the lock of a process that ends', () => {
  beforeAll(() => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run 'npm run build' before this test (npm test does)`);
  });

  /** A child that takes the lock, prints 'held', then does `then` ('exit', 'wait'). */
  async function holder(db: string, then: 'exit' | 'wait'): Promise<{ pid: number; exited: Promise<number | null>; signal: (s: NodeJS.Signals) => void }> {
    const code = `const { acquireDirectoryLock } = await import(${JSON.stringify(BUILT)});
      await acquireDirectoryLock(${JSON.stringify(db)}, { command: 'test holder' });
      process.stdout.write('held\\n');
      ${then === 'exit' ? 'process.exit(0);' : 'setTimeout(() => {}, 120000);'}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
      child.once('exit', () => reject(new Error('holder exited before taking the lock')));
    });
    return { pid: child.pid!, exited, signal: (s) => child.kill(s) };
  }

  it('is released when the holder exits without closing', async () => {
    const db = join(dir, 'exit', 'db');
    const h = await holder(db, 'exit');
    await h.exited;
    expect(existsSync(lockPathFor(db))).toBe(false);
  });

  it('is released on SIGTERM, SIGINT and SIGHUP (what tuban batch relies on when its terminal closes)', async () => {
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      const db = join(dir, `signal-${sig}`, 'db');
      const h = await holder(db, 'wait');
      expect(existsSync(lockPathFor(db))).toBe(true);
      h.signal(sig);
      await h.exited;
      expect(existsSync(lockPathFor(db)), sig).toBe(false);
    }
  });

  it('stays after SIGKILL and is then taken over as stale', async () => {
    const db = join(dir, 'sigkill', 'db');
    const h = await holder(db, 'wait');
    h.signal('SIGKILL');
    await h.exited;
    expect(existsSync(lockPathFor(db))).toBe(true);
    const said: string[] = [];
    const lock = await acquireDirectoryLock(db, { onTakeover: (m) => said.push(m) });
    expect(said[0]).toContain(`pid ${h.pid} (test holder`);
    await lock.release();
  });
});
