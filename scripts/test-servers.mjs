#!/usr/bin/env node
/**
 * Throwaway PostgreSQL 15 (+PostGIS) and Redis for integration tests.
 *
 *   node scripts/test-servers.mjs -- vitest run
 *
 * Starts both servers on free loopback ports inside one temp dir, waits until they
 * answer, runs the command with
 *   TUBAN_TEST_DATABASE_URL   postgres://postgres@127.0.0.1:<port>/tuban_test (postgis created)
 *   TUBAN_TEST_REDIS_URL      redis://127.0.0.1:<port>
 *   TUBAN_TEST_CONTROL_URL    http://127.0.0.1:<port>  (POST /redis/restart?downMs=N&mode=graceful|crash, GET /state)
 *   TUBAN_TEST_SERVERS_STATE  path of a JSON file with pids, ports and dirs
 * propagates the command's exit code, and always stops both servers and removes the
 * temp dir (also on SIGINT/SIGTERM). Plain JS so it runs before anything is built.
 *
 * Why a control endpoint: a test that restarts Redis cannot respawn redis-server itself
 * (it is not the parent and, as root, the servers may run as another user), so the
 * harness that owns the process does it on request, on the same port.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, chmodSync, chownSync, mkdirSync, writeFileSync, readdirSync, openSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PACKAGES = 'postgresql-15 postgresql-15-postgis-3 redis-server';

function log(msg) {
  process.stderr.write(`[test-servers] ${msg}\n`);
}

function die(msg, code = 2) {
  log(msg);
  process.exit(code);
}

/** The PostgreSQL bin dir: $TUBAN_PG_BIN, else Debian's /usr/lib/postgresql/15/bin. */
function findPgBin() {
  const candidates = [process.env.TUBAN_PG_BIN, '/usr/lib/postgresql/15/bin'].filter(Boolean);
  for (const dir of candidates) if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  return null;
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves true once `probe` succeeds, false after `timeoutMs`. */
async function waitFor(probe, timeoutMs, isAlive) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isAlive && !isAlive()) return false;
    if (await probe().catch(() => false)) return true;
    await sleep(100);
  }
  return false;
}

function redisPing(port) {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

// ---------------------------------------------------------------------------------------------

const dashdash = process.argv.indexOf('--');
const command = dashdash >= 0 ? process.argv.slice(dashdash + 1) : process.argv.slice(2);
if (command.length === 0) die('usage: node scripts/test-servers.mjs -- <command...>');

const pgBin = findPgBin();
const redisBin = findOnPath('redis-server');
if (!pgBin || !redisBin) {
  die(
    `missing ${[!pgBin && 'PostgreSQL 15 (initdb/postgres in /usr/lib/postgresql/15/bin or $TUBAN_PG_BIN)', !redisBin && 'redis-server'].filter(Boolean).join(' and ')}.\n` +
      `  Debian/Ubuntu: apt-get install -y ${PACKAGES}\n` +
      `  or run the servers with docker compose up -d and set TUBAN_TEST_DATABASE_URL / TUBAN_TEST_REDIS_URL yourself.`,
  );
}

/** initdb refuses root: run the servers as the `postgres` OS user (created by the Debian package). */
let runAs;
if (process.getuid?.() === 0) {
  try {
    runAs = {
      uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    };
  } catch {
    die(`running as root, but there is no 'postgres' OS user to run initdb as (apt-get install -y ${PACKAGES} creates it)`);
  }
}

const root = mkdtempSync(join(tmpdir(), 'tuban-test-servers-'));
chmodSync(root, 0o755); // the non-root server user must traverse it
const dirs = { pgData: join(root, 'pg'), pgSocket: join(root, 'pg-socket'), redis: join(root, 'redis') };
for (const d of [dirs.pgData, dirs.pgSocket, dirs.redis]) mkdirSync(d, { mode: 0o700 });
if (runAs) for (const d of [dirs.pgData, dirs.pgSocket, dirs.redis]) chownSync(d, runAs.uid, runAs.gid);

const children = new Set();
let cleaningUp = false;

function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  for (const child of children) {
    // SIGINT = PostgreSQL "fast" shutdown; redis-server exits on it too.
    try { child.kill('SIGINT'); } catch {}
  }
}

async function cleanupAndWait() {
  cleanup();
  const deadline = Date.now() + 10_000;
  while ([...children].some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(50);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) try { c.kill('SIGKILL'); } catch {}
  try { rmSync(root, { recursive: true, force: true }); } catch (err) { log(`could not remove ${root}: ${err.message}`); }
}

function startServer(bin, args, logName) {
  const out = openSync(join(root, logName), 'a');
  if (runAs) chownSync(join(root, logName), runAs.uid, runAs.gid);
  const child = spawn(bin, args, { stdio: ['ignore', out, out], ...(runAs ?? {}) });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function tailLog(logName) {
  try { return readFileSync(join(root, logName), 'utf8').split('\n').slice(-30).join('\n'); } catch { return ''; }
}

const state = { root, postgres: {}, redis: {} };
const statePath = join(root, 'state.json');
const writeState = () => writeFileSync(statePath, JSON.stringify(state, null, 2));

let redisChild;
async function startRedis(port) {
  redisChild = startServer(
    redisBin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dirs.redis,
      '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'],
    'redis.log',
  );
  const child = redisChild;
  const ok = await waitFor(() => redisPing(port), 15_000, () => child.exitCode === null);
  if (!ok) throw new Error(`redis-server did not start on port ${port}:\n${tailLog('redis.log')}`);
  state.redis = { pid: child.pid, port, url: `redis://127.0.0.1:${port}`, dir: dirs.redis };
  writeState();
}

/** Send one inline command; resolves with the first reply line ('' if the server closed first). */
function redisCommand(port, cmd) {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    sock.setTimeout(30_000, () => sock.destroy());
    sock.on('error', () => resolve(buf));
    sock.on('close', () => resolve(buf));
    sock.on('connect', () => sock.write(`${cmd}\r\n`));
    sock.on('data', (d) => { buf += d.toString(); });
  });
}

/**
 * Restart redis-server on the same port. 'graceful' = SHUTDOWN SAVE (dataset written to the
 * temp dir and loaded again on start: a maintenance restart of a persistent Redis, jobs
 * survive); 'crash' = SIGKILL with no snapshot (everything is lost).
 */
async function restartRedis(downMs, mode) {
  const old = redisChild;
  const exited = new Promise((r) => (old.exitCode !== null || old.signalCode !== null ? r() : old.once('exit', r)));
  if (mode === 'crash') {
    rmSync(join(dirs.redis, 'dump.rdb'), { force: true });
    old.kill('SIGKILL');
  } else {
    await redisCommand(state.redis.port, 'SHUTDOWN SAVE');
  }
  await exited;
  await sleep(downMs);
  await startRedis(state.redis.port);
}

async function startPostgres() {
  const port = await freePort();
  const asServerUser = runAs ?? {};
  try {
    execFileSync(join(pgBin, 'initdb'), ['-D', dirs.pgData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
      ...asServerUser,
    });
  } catch (err) {
    throw new Error(`initdb failed: ${err.stderr?.toString() ?? err.message}`);
  }
  const child = startServer(
    join(pgBin, 'postgres'),
    ['-D', dirs.pgData, '-p', String(port), '-k', dirs.pgSocket, '-c', 'listen_addresses=127.0.0.1',
      // Throwaway data: durability off makes every test's DDL and commits cheaper.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=300', '-c', 'shared_buffers=64MB'],
    'postgres.log',
  );
  const psql = (db, sql) =>
    execFileSync(join(pgBin, 'psql'), ['-h', dirs.pgSocket, '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
      ...asServerUser,
    });
  const ok = await waitFor(async () => { psql('postgres', 'select 1'); return true; }, 30_000, () => child.exitCode === null);
  if (!ok) throw new Error(`postgres did not start on port ${port}:\n${tailLog('postgres.log')}`);
  psql('postgres', 'create database tuban_test');
  // Created once here so concurrent tests (one schema each) never race on CREATE EXTENSION.
  try {
    psql('tuban_test', 'create extension postgis');
  } catch (err) {
    throw new Error(`PostGIS is not installed for PostgreSQL 15 (apt-get install -y postgresql-15-postgis-3): ${err.stderr?.toString() ?? err.message}`);
  }
  state.postgres = { pid: child.pid, port, url: `postgres://postgres@127.0.0.1:${port}/tuban_test`, socketDir: dirs.pgSocket, dataDir: dirs.pgData };
  writeState();
}

function startControl() {
  const srv = createHttpServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (req.method === 'POST' && url.pathname === '/redis/restart') {
        await restartRedis(Number(url.searchParams.get('downMs') ?? 0), url.searchParams.get('mode') ?? 'graceful');
      } else if (!(req.method === 'GET' && url.pathname === '/state')) {
        res.writeHead(404).end('unknown control request\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state));
    } catch (err) {
      res.writeHead(500).end(String(err?.message ?? err));
    }
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => { srv.unref(); resolve(srv.address().port); }));
}

let exitCode = 1;
let cmdChild;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    if (cmdChild && cmdChild.exitCode === null) cmdChild.kill(sig);
    exitCode = 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig]);
    if (!cmdChild) void cleanupAndWait().then(() => process.exit(exitCode));
  });
}
process.on('exit', () => {
  // Last resort (uncaught error): never leave servers running.
  for (const c of children) try { c.kill('SIGKILL'); } catch {}
  try { rmSync(root, { recursive: true, force: true }); } catch {}
});

try {
  const started = Date.now();
  await Promise.all([startPostgres(), freePort().then(startRedis)]);
  const controlPort = await startControl();
  state.control = { url: `http://127.0.0.1:${controlPort}` };
  writeState();
  log(`postgres ${state.postgres.url}, redis ${state.redis.url} ready in ${Date.now() - started} ms`);
  if (cleaningUp) throw new Error('interrupted');

  cmdChild = spawn(command[0], command.slice(1), {
    stdio: 'inherit',
    shell: false,
    env: {
      ...process.env,
      PATH: `${join(process.cwd(), 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      TUBAN_TEST_DATABASE_URL: state.postgres.url,
      TUBAN_TEST_REDIS_URL: state.redis.url,
      TUBAN_TEST_CONTROL_URL: state.control.url,
      TUBAN_TEST_SERVERS_STATE: statePath,
    },
  });
  exitCode = await new Promise((resolve) => {
    cmdChild.on('error', (err) => { log(`cannot run ${command[0]}: ${err.message}`); resolve(127); });
    cmdChild.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2)));
  });
} catch (err) {
  log(err.message);
  exitCode = 2;
}
await cleanupAndWait();
if (existsSync(root) && readdirSync(root).length) log(`left ${root} behind`);
process.exit(exitCode);
