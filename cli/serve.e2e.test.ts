/**
 * End to end through the built CLI (needs `npm run build`): `tuban user add|list|disable` with the
 * password on standard input, then `tuban serve` on a real port over an embedded database: the
 * secret file (0600), sign-in, 401 for the anonymous, the page and imagery routes, tuban user and
 * a month's batch run beside it through the database it shares (a second server is refused, exit
 * 75), and no password or token in the logs. Stopping: a request in flight at SIGTERM still gets its
 * whole answer, new connections are refused, the process exits 0 soon after and the database's
 * lock is released; a second signal while stopping exits at once. SIGHUP (a terminal closing under a
 * server started without nohup) stops it as SIGTERM does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateScene } from '../fixtures/synthetic-scene.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { tcpRelay } from '../pipeline/testing/tcp-relay.js';
import { servers } from '../workers/testing/test-servers.js';
import { CLI, runCli } from './testing/run-cli.js';

const PASSWORD = 'correct horse battery staple';
let dir: string;

const tuban = (args: string[], stdin = '') => runCli(args, { env: { TUBAN_SECRET: '' }, stdin });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-serve-'));
});

/** `tuban serve` on a free port; resolves once it listens. */
async function startServe(db: string, data: string): Promise<{ p: ChildProcess; port: number; output: () => string; exited: Promise<{ code: number | null; signal: string | null; at: number }> }> {
  const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', db, '--data', data], { env: { ...process.env, TUBAN_SECRET: undefined } });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((r) => p.once('exit', (code, signal) => r({ code, signal, at: Date.now() })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in: ${out}`)), 90_000);
    const check = () => {
      const m = out.match(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    p.stdout!.on('data', check);
    void exited.then(() => reject(new Error(`serve exited: ${out}`)));
  });
  return { p, port, output: () => out, exited };
}

/**
 * A sign-in whose body is only half sent: in flight (its headers read by the server) until `finish`,
 * which sends the rest and resolves with the whole answer once the server ends the connection.
 */
async function halfSentSignIn(port: number): Promise<{ finish: () => Promise<string> }> {
  const body = JSON.stringify({ name: 'nobody', password: 'not the password at all' });
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let answer = '';
  socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
  const ended = new Promise<void>((r) => socket.once('close', () => r()));
  // Expect: 100-continue: the server says it has read the headers (the request is in flight), where a
  // fixed pause lost the race to a busy server's start (the stop then found nothing in flight).
  socket.write(`POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n${body.slice(0, 10)}`);
  const until = Date.now() + 30_000;
  while (!answer.includes('100 Continue') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  if (!answer.includes('100 Continue')) throw new Error(`the server did not take the sign-in's headers within 30 s: ${answer || 'no answer'}`);
  return {
    finish: async () => {
      socket.write(body.slice(10));
      await ended;
      return answer.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    },
  };
}

/** Whether a new connection to the port is refused, tried until `withinMs`. */
async function refusedWithin(port: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const refused = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        r(false);
      });
      c.once('error', () => r(true));
    });
    if (refused) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('tuban user and tuban serve', () => {
  it('adds, refuses and lists users; the password comes from standard input', async () => {
    const db = ['--db', join(dir, 'db')];
    const add = await tuban(['user', 'add', 'chief', '--role', 'lead', ...db], PASSWORD + '\n');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('added chief (lead)');
    const short = await tuban(['user', 'add', 'weak', '--role', 'bureau', '--bureau', 'water', ...db], 'short\n');
    expect(short.code).toBe(65);
    expect(short.stderr).toContain('USER.PASSWORD_TOO_SHORT');
    expect(short.stderr).not.toContain('short\n');
    const dup = await tuban(['user', 'add', 'chief', '--role', 'lead', ...db], PASSWORD + '\n');
    expect([dup.code, dup.stderr.includes('USER.EXISTS')]).toEqual([65, true]);
    const noBureau = await tuban(['user', 'add', 'b1', '--role', 'bureau', ...db], PASSWORD + '\n');
    expect(noBureau.stderr).toContain('USER.INVALID');
    const badRole = await tuban(['user', 'add', 'x', '--role', 'king', ...db], PASSWORD + '\n');
    expect(badRole.code).toBe(64);
    const badFlag = await tuban(['user', 'list', '--bd', 'x', ...db]);
    expect([badFlag.code, badFlag.stderr.includes("unknown flag --bd for 'tuban user'")]).toEqual([64, true]);
    const list = await tuban(['user', 'list', ...db]);
    expect(list.stdout.trim().split('\n')).toEqual(['chief\tlead\t-\tactive']);
  }, 120_000);

  it('refuses a short TUBAN_SECRET as configuration (exit 64, one line naming it) before opening the database', async () => {
    const r = await runCli(['serve', '--port', '0', '--db', join(dir, 'db-unopened')], { env: { TUBAN_SECRET: 'too short' } });
    expect(r.code).toBe(64);
    expect(r.stderr.trim()).toBe('tuban: CONFIG.INVALID: environment: TUBAN_SECRET: must be at least 32 characters');
    await expect(stat(join(dir, 'db-unopened'))).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('serves on a real port, writes the secret 0600 and never logs the password or the token', async () => {
    const data = join(dir, 'data');
    const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', join(dir, 'db'), '--data', data], { env: { ...process.env, TUBAN_SECRET: undefined } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in: ${out}`)), 90_000);
      const check = () => {
        const m = out.match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      p.stdout.on('data', check);
      p.on('exit', () => reject(new Error(`serve exited: ${out}`)));
    });
    try {
      const mode = (await stat(join(data, 'secret'))).mode & 0o777;
      expect(mode).toBe(0o600);
      expect((await fetch(`${base}/api/polygons`)).status).toBe(401);
      const bad = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chief', password: 'wrong-password-x' }) });
      expect(bad.status).toBe(401);
      const s = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chief', password: PASSWORD }) });
      expect(s.status).toBe(200);
      const { token } = (await s.json()) as { token: string };
      const list = await fetch(`${base}/api/polygons`, { headers: { authorization: `Bearer ${token}` } });
      expect(list.status).toBe(200);
      expect(((await list.json()) as { type: string }).type).toBe('FeatureCollection');
      const doc = await fetch(`${base}/openapi.json`);
      expect(((await doc.json()) as { openapi: string }).openapi).toBe('3.0.3');
      // The page and MapLibre come with it (public, before sign-in), and the imagery routes sit behind the login.
      expect((await fetch(`${base}/`)).headers.get('content-type')).toContain('text/html');
      expect((await fetch(`${base}/vendor/maplibre-gl.js`)).status).toBe(200);
      expect((await fetch(`${base}/api/imagery/epochs`)).status).toBe(401);
      const epochs = await fetch(`${base}/api/imagery/epochs`, { headers: { authorization: `Bearer ${token}` } });
      expect([epochs.status, await epochs.json()]).toEqual([200, { epochs: [] }]);
      // The server holds the embedded database for its whole life and shares it: tuban user and the
      // month's batch run beside it, through it, and what they store is live at once.
      const signIn = (name: string) => fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: PASSWORD }) });
      const added = await tuban(['user', 'add', 'clerk', '--role', 'bureau', '--bureau', 'water', '--db', join(dir, 'db')], PASSWORD + '\n');
      expect(added.code, added.stderr).toBe(0);
      const clerk = (await (await signIn('clerk')).json()) as { token: string };
      expect((await fetch(`${base}/api/polygons`, { headers: { authorization: `Bearer ${clerk.token}` } })).status).toBe(200);
      expect((await tuban(['user', 'disable', 'clerk', '--db', join(dir, 'db')])).code).toBe(0);
      expect((await fetch(`${base}/api/polygons`, { headers: { authorization: `Bearer ${clerk.token}` } })).status).toBe(401);
      const scene = await generateScene({ dir: join(dir, 'scene'), size: 192, seed: 3, tilesPerSide: 1 });
      const batch = await runCli(['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', join(dir, 'out'), '--db', join(dir, 'db')]);
      expect(batch.code, batch.stderr).toBe(0);
      const report = JSON.parse(await readFile(join(dir, 'out', 'batch-report.json'), 'utf8')) as BatchReport;
      expect(report.counts.polygons).toBeGreaterThan(0);
      // The server gives new polygons their cases on its next pass (every 10 s, behind a read).
      const listed = async () => ((await (await fetch(`${base}/api/polygons?epoch=${scene.epoch}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { features: unknown[] }).features.length;
      const until = Date.now() + 45_000;
      let n = await listed();
      while (n < report.counts.polygons && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1000));
        n = await listed();
      }
      expect(n).toBe(report.counts.polygons);
      // A second server on the same directory is refused: it would have to hold it itself.
      const second = await runCli(['serve', '--port', '0', '--db', join(dir, 'db'), '--data', data]);
      expect([second.code, second.stderr.includes('DB.LOCKED'), second.stderr.includes(String(p.pid))]).toEqual([75, true, true]);
      // A backup goes through the running server; a restore into its database is refused, naming it.
      const backup = await runCli(['backup', '--out', join(dir, 'backup'), '--db', join(dir, 'db')]);
      expect(backup.code, backup.stderr).toBe(0);
      const restore = await runCli(['restore', '--from', join(dir, 'backup'), '--db', join(dir, 'db'), '--data', join(dir, 'restored-data')]);
      expect([restore.code, restore.stderr.includes('DB.LOCKED'), restore.stderr.includes(String(p.pid))], restore.stderr).toEqual([75, true, true]);
      await new Promise((r) => setTimeout(r, 200));
      expect(out).toContain('"url":"/api/session"');
      // Which database and --data it serves: a server started without DATABASE_URL serves an empty
      // embedded one, and its bureaus' sign-ins fail with nothing in the log to say why.
      expect(out).toContain(`"msg":"serving the embedded database ${join(dir, 'db')}, evidence and secret in ${data}"`);
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain('wrong-password-x');
      expect(out).not.toContain(token.split('.')[1]);
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
    const disable = await tuban(['user', 'disable', 'chief', '--db', join(dir, 'db')]);
    expect(disable.code).toBe(0);
    expect((await tuban(['user', 'list', '--db', join(dir, 'db')])).stdout).toContain('chief\tlead\t-\tdisabled');
  }, 180_000);

  it('stops on SIGTERM: the request in flight gets its whole answer, new connections are refused, exit 0, the database is free', async () => {
    const db = join(dir, 'db-stop');
    const server = await startServe(db, join(dir, 'data-stop'));
    const inFlight = await halfSentSignIn(server.port);
    const signalled = Date.now();
    server.p.kill('SIGTERM');
    expect(await refusedWithin(server.port, 10_000)).toBe(true);
    // Still running: the request in flight holds the stop up, and is answered whole.
    expect(server.p.exitCode).toBe(null);
    const answer = await inFlight.finish();
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain('"code":"AUTH.BAD_CREDENTIALS"');
    // Told to close its connection, not kept alive for 72 s (which held the process up as long).
    expect(answer.toLowerCase()).toContain('connection: close');
    const exit = await server.exited;
    expect([exit.code, exit.signal]).toEqual([0, null]);
    expect(exit.at - signalled).toBeLessThan(15_000);
    expect(server.output()).toContain('SIGTERM: stopping');
    expect(server.output()).toContain('stopped on SIGTERM; the database is closed');
    // The lock and the socket are gone: the next command opens the directory itself.
    expect(existsSync(`${db}.lock`)).toBe(false);
    const ledger = await runCli(['ledger', '--epoch', '2026-10', '--db', db, '--out', join(dir, 'ledger-after-stop')]);
    expect(ledger.code, ledger.stderr).toBe(0);
    expect(ledger.stderr).not.toContain('DB.LOCKED');
  }, 120_000);

  it('stops on SIGHUP as on SIGTERM: the request in flight is answered, exit 0, the lock and the socket go, the data is kept', async () => {
    const db = join(dir, 'db-hup');
    const server = await startServe(db, join(dir, 'data-hup'));
    // Written through the running server's shared database, so it is the server's to keep.
    const added = await tuban(['user', 'add', 'night', '--role', 'lead', '--db', db], PASSWORD + '\n');
    expect(added.code, added.stderr).toBe(0);
    const inFlight = await halfSentSignIn(server.port);
    server.p.kill('SIGHUP');
    expect(await refusedWithin(server.port, 10_000)).toBe(true);
    expect(server.p.exitCode).toBe(null);
    expect(await inFlight.finish()).toMatch(/^HTTP\/1\.1 401 /);
    const exit = await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    if (exit === null) server.p.kill('SIGKILL');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(server.output()).toContain('SIGHUP: stopping');
    expect(server.output()).toContain('stopped on SIGHUP; the database is closed');
    expect([existsSync(`${db}.lock`), existsSync(`${db}.sock`)]).toEqual([false, false]);
    const list = await tuban(['user', 'list', '--db', db]);
    expect([list.code, list.stdout], list.stderr).toEqual([0, 'night\tlead\t-\tactive\n']);
  }, 120_000);

  // util-linux `script` gives the server a real terminal; killing it closes that terminal, as an SSH
  // session ending does: the kernel sends SIGHUP, and every later write to the terminal fails with EIO.
  it.runIf(existsSync('/usr/bin/script'))('stops cleanly when its terminal closes: the database is closed and the process ends', async () => {
    const db = join(dir, 'db-tty');
    const command = [process.execPath, CLI, 'serve', '--port', '0', '--db', db, '--data', join(dir, 'data-tty')].map((a) => `'${a}'`).join(' ');
    const terminal = spawn('/usr/bin/script', ['-qfec', `exec ${command}`, '/dev/null'], { env: { ...process.env, TUBAN_SECRET: undefined } });
    let out = '';
    terminal.stdout.on('data', (d) => (out += d));
    const until = Date.now() + 90_000;
    while (!/Server listening/.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(out).toMatch(/Server listening/);
    const added = await tuban(['user', 'add', 'tty', '--role', 'lead', '--db', db], PASSWORD + '\n');
    expect(added.code, added.stderr).toBe(0);
    const pid = (JSON.parse(await readFile(`${db}.lock`, 'utf8')) as { pid: number }).pid;
    terminal.kill('SIGKILL');
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const stopBy = Date.now() + 15_000;
    while (alive() && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 100));
    const hung = alive();
    if (hung) process.kill(pid, 'SIGKILL');
    expect(hung, 'the server still ran 15 s after its terminal closed').toBe(false);
    // Closed by the server itself: its socket is removed only by a clean stop.
    expect([existsSync(`${db}.lock`), existsSync(`${db}.sock`)]).toEqual([false, false]);
    const list = await tuban(['user', 'list', '--db', db]);
    expect([list.code, list.stdout], list.stderr).toEqual([0, 'tty\tlead\t-\tactive\n']);
  }, 150_000);

  // Before the server listens it opens, migrates and warms up (seconds on a fresh or busy machine):
  // a systemctl stop then killed it (exit 143, the database not closed, its socket left behind).
  it('stops on SIGTERM while it starts: exit 0, the database closed, the lock and the socket gone, never listening', async () => {
    const db = join(dir, 'db-stop-starting');
    const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', db, '--data', join(dir, 'data-stop-starting')], { env: { ...process.env, TUBAN_SECRET: undefined } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => p.once('exit', (code, signal) => r({ code, signal })));
    const until = Date.now() + 60_000;
    while (!existsSync(`${db}.lock`) && p.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(existsSync(`${db}.lock`), out).toBe(true);
    p.kill('SIGTERM');
    const exit = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
    if (exit === null) p.kill('SIGKILL');
    expect(exit, out).toMatchObject({ code: 0, signal: null });
    expect(out).toContain('stopped on SIGTERM; the database is closed');
    expect(out).not.toContain('Server listening');
    expect([existsSync(`${db}.lock`), existsSync(`${db}.sock`)]).toEqual([false, false]);
    const list = await tuban(['user', 'list', '--db', db]);
    expect(list.code, list.stderr).toBe(0);
  }, 150_000);

  // A dead server's lock taken over (a power cut, systemd restarting it): the start that follows may
  // recover the database from its WAL, and a stop then still closes it, not the signal's default.
  it('stops on SIGTERM while it starts after taking over a dead holder\'s lock: exit 0, the database closed', async () => {
    const db = join(dir, 'db-stop-takeover');
    const { hostname } = await import('node:os');
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.once('exit', r));
    await writeFile(`${db}.lock`, JSON.stringify({ pid: dead.pid, host: hostname(), command: 'tuban serve (crashed)', startedAt: new Date().toISOString(), token: 'stale', role: 'server' }) + '\n');
    const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', db, '--data', join(dir, 'data-stop-takeover')], { env: { ...process.env, TUBAN_SECRET: undefined } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => p.once('exit', (code, signal) => r({ code, signal })));
    const until = Date.now() + 60_000;
    while (!out.includes('took over the lock') && p.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(out).toContain('took over the lock');
    p.kill('SIGTERM');
    const exit = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
    if (exit === null) p.kill('SIGKILL');
    expect(exit, out).toMatchObject({ code: 0, signal: null });
    expect(out).toContain('stopped on SIGTERM; the database is closed');
    expect([existsSync(`${db}.lock`), existsSync(`${db}.sock`)]).toEqual([false, false]);
  }, 150_000);

  // What --wait-db waits for is another process's: nothing of the server's is open, so a stop ends it at once
  // (the unit's --wait-db 60 outlasts systemd's TimeoutStopSec=45).
  it('stops at once on SIGTERM while --wait-db waits for another holder of the directory', async () => {
    const db = join(dir, 'db-stop-waiting');
    const { hostname } = await import('node:os');
    const holder = { pid: process.pid, host: hostname(), command: 'tuban batch (this test)', startedAt: new Date().toISOString(), token: 'test', role: 'command' };
    await writeFile(`${db}.lock`, JSON.stringify(holder) + '\n');
    const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', db, '--data', join(dir, 'data-stop-waiting'), '--wait-db', '60'], { env: { ...process.env, TUBAN_SECRET: undefined } });
    let out = '';
    p.stderr.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => p.once('exit', (code, signal) => r({ code, signal })));
    const until = Date.now() + 30_000;
    while (!out.includes('waiting up to 60 s') && p.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(out).toContain('waiting up to 60 s');
    const sentAt = Date.now();
    p.kill('SIGTERM');
    const exit = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    if (exit === null) p.kill('SIGKILL');
    expect(exit, out).toMatchObject({ signal: 'SIGTERM' });
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    expect(JSON.parse(await readFile(`${db}.lock`, 'utf8'))).toMatchObject({ token: 'test' });
  }, 60_000);

  it('exits at once with 129 on SIGHUP while stopping', async () => {
    const db = join(dir, 'db-stop-hup');
    const server = await startServe(db, join(dir, 'data-stop-hup'));
    await halfSentSignIn(server.port); // never finished: only the second signal ends the stop
    server.p.kill('SIGTERM');
    expect(await refusedWithin(server.port, 10_000)).toBe(true);
    server.p.kill('SIGHUP');
    const exit = await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    if (exit === null) server.p.kill('SIGKILL');
    expect(exit).toMatchObject({ code: 129, signal: null });
    expect(server.output()).toContain('SIGHUP again while stopping: exiting now');
    expect(existsSync(`${db}.lock`)).toBe(false);
  }, 120_000);

  it('exits at once on a second signal while stopping (SIGTERM, then SIGINT: 130), and the lock goes with it', async () => {
    const db = join(dir, 'db-stop-twice');
    const server = await startServe(db, join(dir, 'data-stop-twice'));
    await halfSentSignIn(server.port); // never finished: only the second signal ends the stop
    server.p.kill('SIGTERM');
    expect(await refusedWithin(server.port, 10_000)).toBe(true);
    server.p.kill('SIGINT');
    const exit = await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    if (exit === null) server.p.kill('SIGKILL');
    expect(exit).toMatchObject({ code: 130, signal: null });
    expect(server.output()).toContain('SIGINT again while stopping: exiting now');
    expect(existsSync(`${db}.lock`)).toBe(false);
    const list = await tuban(['user', 'list', '--db', db]);
    expect(list.code, list.stderr).toBe(0);
  }, 120_000);
});

// A PostgreSQL server that never answers (its machine off the network): nothing of the server's is
// open to close, so a stop while it connects ends it at once; held until the database opened, a
// `systemctl stop` waited the unit's whole TimeoutStopSec and then a SIGKILL.
describe.runIf(servers)('tuban serve on a PostgreSQL server that does not answer', () => {
  it('stops at once on SIGTERM while it connects', async () => {
    const relay = tcpRelay(new URL(servers!.databaseUrl));
    await relay.up();
    relay.blackhole();
    try {
      const dataDir = await mkdtemp(join(tmpdir(), 'tuban-serve-silent-'));
      const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', relay.url(), '--data', dataDir], { env: { ...process.env, TUBAN_SECRET: undefined, DATABASE_URL: undefined } });
      let out = '';
      p.stderr.on('data', (d) => (out += d));
      p.stdout.on('data', (d) => (out += d));
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) => p.once('exit', (code, signal) => r({ code, signal })));
      await new Promise((r) => setTimeout(r, 3000)); // connecting, never answered
      expect(p.exitCode, out).toBeNull();
      const sentAt = Date.now();
      p.kill('SIGTERM');
      const exit = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
      if (exit === null) p.kill('SIGKILL');
      expect(exit, out).toMatchObject({ signal: 'SIGTERM' });
      expect(Date.now() - sentAt).toBeLessThan(5_000);
    } finally {
      await relay.down();
    }
  }, 60_000);
});
