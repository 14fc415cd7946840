/**
 * The built CLI and a bad setting another command uses: `tuban serve`, `tuban worker` and the backup
 * cron share one EnvironmentFile, and a worker-only tuning variable mistyped there stopped the server
 * and the backups too (exit 64). Now each command refuses only what it uses, before it makes
 * anything, and warns in one line of the rest; a misspelt TUBAN_* name is a warning naming the
 * setting meant. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './testing/run-cli.js';

let dir: string;
/** Worker-only settings, each with a value it refuses. */
const WORKER_ONLY = { TUBAN_SCORE_WORKERS: 'many', TUBAN_MAX_TILE_BYTES: '6G' };

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-settings-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectIgnored(stderr: string, command: string): void {
  const warnings = stderr.split('\n').filter((l) => l.startsWith('tuban: warning: '));
  expect(warnings, stderr).toEqual([
    `tuban: warning: TUBAN_MAX_TILE_BYTES must be a whole number of bytes above 0 (no unit: 6 GiB is 6442450944), got '6G' (ignored: tuban ${command} does not use TUBAN_MAX_TILE_BYTES)`,
    `tuban: warning: TUBAN_SCORE_WORKERS must be a whole number ≥ 0, got 'many' (ignored: tuban ${command} does not use TUBAN_SCORE_WORKERS)`,
  ]);
  expect(stderr).not.toContain('CONFIG.INVALID');
}

/**
 * serve and worker log pino JSON to the journal, read with `jq 'select(.level >= 40)'` (README,
 * "Logs"): their warnings are such lines too, not plain text jq chokes on and never shows.
 */
function expectIgnoredLogged(log: string, plain: string, command: string): void {
  const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; setting?: string });
  const warnings = lines.filter((l) => l.setting !== undefined);
  expect(warnings.map(({ level, code, setting, msg }) => ({ level, code, setting, msg })), log).toEqual([
    { level: 40, code: 'CONFIG.INVALID', setting: 'TUBAN_MAX_TILE_BYTES', msg: `TUBAN_MAX_TILE_BYTES must be a whole number of bytes above 0 (no unit: 6 GiB is 6442450944), got '6G' (ignored: tuban ${command} does not use TUBAN_MAX_TILE_BYTES)` },
    { level: 40, code: 'CONFIG.INVALID', setting: 'TUBAN_SCORE_WORKERS', msg: `TUBAN_SCORE_WORKERS must be a whole number ≥ 0, got 'many' (ignored: tuban ${command} does not use TUBAN_SCORE_WORKERS)` },
  ]);
  expect(plain).not.toContain('tuban: warning:');
}

describe('a bad setting of another command', () => {
  it('is a warning to tuban migrate and tuban backup, which go on (it was exit 64)', async () => {
    const db = join(dir, 'db');
    const migrate = await runCli(['migrate', '--db', db], { env: WORKER_ONLY });
    expect(migrate.code, migrate.stderr).toBe(0);
    expectIgnored(migrate.stderr, 'migrate');
    const out = join(dir, 'backup');
    const backup = await runCli(['backup', '--db', db, '--data', join(dir, 'data'), '--out', out], { env: WORKER_ONLY });
    expect(backup.code, backup.stderr).toBe(0);
    expectIgnored(backup.stderr, 'backup');
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
  }, 120_000);

  it('is a warning to tuban serve, which listens: a JSON log line at level 40 (warn), like its other warnings', async () => {
    const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', join(dir, 'db-serve'), '--data', join(dir, 'data-serve')], { env: { ...process.env, TUBAN_SECRET: undefined, ...WORKER_ONLY } });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    const listening = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => /Server listening at/.test(out) && (clearInterval(timer), resolve(true)), 100);
      void exited.then(() => (clearInterval(timer), resolve(/Server listening at/.test(out))));
    });
    p.kill('SIGTERM');
    expect(await exited, err).toBe(0);
    expect(listening, `${err}\n${out}`).toBe(true);
    expectIgnoredLogged(out, err, 'serve');
  }, 120_000);

  it('is a warning to tuban batch for TUBAN_LOG_LEVEL, which only the worker reads (batch has --log-level)', async () => {
    const batch = await runCli(['batch', '--epoch', '2026-10', '--tiles', join(dir, 'no-tiles'), '--prior', join(dir, 'no-prior'), '--zones', join(dir, 'z.geojson'), '--db', join(dir, 'db-loglevel'), '--out', join(dir, 'out-loglevel')], { env: { TUBAN_LOG_LEVEL: 'loud' } });
    expect(batch.stderr).not.toContain('tuban: CONFIG.INVALID');
    expect(batch.stderr).toMatch(/^tuban: warning: TUBAN_LOG_LEVEL: .* \(ignored: tuban batch does not use TUBAN_LOG_LEVEL\)$/m);
    // On past it to its inputs: the first it checks is missing.
    expect(batch.stderr).toContain(`--zones ${join(dir, 'z.geojson')}: no such file`);
  }, 120_000);
});

describe('a bad setting of the command itself', () => {
  it('still stops tuban batch and tuban worker before they make anything (CONFIG.INVALID, exit 64)', async () => {
    for (const [name, value] of Object.entries(WORKER_ONLY)) {
      const out = join(dir, `out-${name}`);
      const db = join(dir, `db-${name}`);
      const batch = await runCli(['batch', '--epoch', '2026-10', '--tiles', join(dir, 'tiles'), '--prior', join(dir, 'prior'), '--zones', join(dir, 'z.geojson'), '--db', db, '--out', out], { env: { [name]: value } });
      const worker = await runCli(['worker', '--db', db], { env: { [name]: value, REDIS_URL: 'redis://127.0.0.1:1' } });
      for (const r of [batch, worker]) {
        expect(r.code, r.stderr).toBe(64);
        expect(r.stderr).toContain(`tuban: CONFIG.INVALID: environment: ${name}`);
        expect(r.stderr).toContain(`'${value}'`);
        expect(r.stderr).not.toContain('warning');
      }
      expect([existsSync(out), existsSync(db)], name).toEqual([false, false]);
    }
  }, 60_000);

  it('stops tuban serve for its own setting, and the worker only warns of it', async () => {
    const serve = await runCli(['serve', '--port', '0', '--db', join(dir, 'db-imagery'), '--data', join(dir, 'data-imagery')], { env: { TUBAN_IMAGERY_WORKERS: '17' } });
    expect(serve.code, serve.stderr).toBe(64);
    expect(serve.stderr).toContain("tuban: CONFIG.INVALID: environment: TUBAN_IMAGERY_WORKERS must be a whole number from 0 to 16, got '17'");
    expect(existsSync(join(dir, 'db-imagery'))).toBe(false);
    // Then on to its own check: DATABASE_URL unset, a usage error of its own.
    const worker = await runCli(['worker'], { env: { TUBAN_IMAGERY_WORKERS: '17', DATABASE_URL: '' } });
    // In its JSON log (standard error), as its other warnings.
    const logged = worker.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged, worker.stderr).toContainEqual(expect.objectContaining({ level: 40, code: 'CONFIG.INVALID', setting: 'TUBAN_IMAGERY_WORKERS', msg: "TUBAN_IMAGERY_WORKERS must be a whole number from 0 to 16, got '17' (ignored: tuban worker does not use TUBAN_IMAGERY_WORKERS)" }));
    expect(worker.stderr).not.toContain('tuban: warning:');
    expect(worker.stderr).toContain('DATABASE_URL is not set');
    expect(worker.code).toBe(64);
  }, 60_000);
});

describe('a misspelt TUBAN_* name', () => {
  it('is a warning naming the setting meant; names near none (the test harness, other tools) say nothing', async () => {
    const env = { TUBAN_SCORE_WORKER: '2', TUBAN_DATA_DIR: '/srv', TUBAN_SOMETHING_ELSE_ENTIRELY: '1', TUBAN_DATABASE_URL: 'postgres://db.internal/tuban', TUBAN_REDIS_URL: 'redis://redis.internal', TUBAN_PORT: '8081', TUBAN_SECRET_FILE: '/run/secrets/tuban' };
    const r = await runCli(['migrate', '--db', join(dir, 'db-typo')], { env });
    expect(r.code, r.stderr).toBe(0);
    // The unprefixed settings by their own names; TUBAN_SECRET_FILE is no slip for TUBAN_SECRET (its path would become the secret).
    expect(r.stderr.split('\n').filter((l) => l.startsWith('tuban: warning: '))).toEqual([
      'tuban: warning: TUBAN_DATABASE_URL is not a Tuban setting (did you mean DATABASE_URL?); ignored',
      'tuban: warning: TUBAN_DATA_DIR is not a Tuban setting (did you mean TUBAN_DATA?); ignored',
      'tuban: warning: TUBAN_PORT is not a Tuban setting (did you mean PORT?); ignored',
      'tuban: warning: TUBAN_REDIS_URL is not a Tuban setting (did you mean REDIS_URL?); ignored',
      'tuban: warning: TUBAN_SCORE_WORKER is not a Tuban setting (did you mean TUBAN_SCORE_WORKERS?); ignored',
    ]);
  }, 60_000);
});
