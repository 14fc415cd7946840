import { Worker } from 'node:worker_threads';
import { homedir, totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultInflateWorkers, inflateWorkersFrom } from '../geo/tiff/inflate-pool.js';
import { TubanError } from '../schemas/errors.js';
import { loadConfig, settingsUsedBy, type IgnoredSetting } from './config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: undefined,
      redisUrl: undefined,
      logLevel: 'info',
      queueName: 'tuban',
      queuePrefix: 'tuban',
      maxTileBytes: Math.floor(totalmem() / 2),
      scoreWorkers: undefined,
      inflateWorkers: defaultInflateWorkers(),
      imageryWorkers: undefined,
      secret: undefined,
      dataDir: '.tuban/data',
      port: 8080,
      cacheDir: join(homedir(), '.cache', 'tuban'),
      dbTemplate: true,
      trustProxy: undefined,
    });
    expect(loadConfig({ XDG_CACHE_HOME: '/var/cache/u' }).cacheDir).toBe('/var/cache/u/tuban');
  });

  it('reads every variable, and counts an empty one as unset', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://db/tuban',
      REDIS_URL: 'redis://r:6379',
      TUBAN_LOG_LEVEL: 'warn',
      TUBAN_QUEUE_NAME: 'q2',
      TUBAN_QUEUE_PREFIX: '',
      TUBAN_MAX_TILE_BYTES: '100000',
      TUBAN_SCORE_WORKERS: '0',
      TUBAN_INFLATE_WORKERS: '3',
      TUBAN_IMAGERY_WORKERS: '2',
      TUBAN_SECRET: 'x'.repeat(32),
      TUBAN_DATA: '/srv/tuban',
      PORT: '9090',
      TUBAN_CACHE_DIR: '/tmp/tc',
      TUBAN_DB_TEMPLATE: 'off',
      TUBAN_TRUST_PROXY: 'loopback, 10.0.0.0/8,::1',
    });
    expect(c).toMatchObject({ databaseUrl: 'postgres://db/tuban', redisUrl: 'redis://r:6379', logLevel: 'warn', queueName: 'q2', queuePrefix: 'tuban', maxTileBytes: 100000, scoreWorkers: 0, inflateWorkers: 3, imageryWorkers: 2, secret: 'x'.repeat(32), dataDir: '/srv/tuban', port: 9090 });
    expect(c).toMatchObject({ cacheDir: '/tmp/tc', dbTemplate: false, trustProxy: 'loopback,10.0.0.0/8,::1' });
  });

  it('counts a blank variable (spaces only) as unset, not as 0: Number(\' \') is 0', () => {
    // TUBAN_SCORE_WORKERS=' ' meant no score workers, PORT=' ' a random port, with no word.
    const blank = { TUBAN_SCORE_WORKERS: ' ', TUBAN_INFLATE_WORKERS: '  ', TUBAN_IMAGERY_WORKERS: '\t', PORT: ' ', TUBAN_MAX_TILE_BYTES: ' ', TUBAN_QUEUE_NAME: ' ' };
    expect(loadConfig(blank)).toEqual(loadConfig({}));
    expect(inflateWorkersFrom(' ')).toBe(defaultInflateWorkers()); // the process-wide pool reads the variable itself: the same answer
  });

  it('rejects a bad value as CONFIG.INVALID naming the variable', () => {
    // A mistyped memory cap used to fall back silently to half the machine: now it is named.
    for (const env of [{ TUBAN_LOG_LEVEL: 'loud' }, { TUBAN_SCORE_WORKERS: 'many' }, { TUBAN_INFLATE_WORKERS: '1.5' }, { TUBAN_IMAGERY_WORKERS: '17' }, { TUBAN_MAX_TILE_BYTES: '6G' }, { TUBAN_MAX_TILE_BYTES: '-1' }, { TUBAN_SECRET: 'too short' }, { PORT: '70000' }, { TUBAN_DB_TEMPLATE: 'no' }, { TUBAN_TRUST_PROXY: '1' }, { TUBAN_TRUST_PROXY: 'true' }, { TUBAN_TRUST_PROXY: '10.0.0.0/33' }]) {
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TubanError);
      expect((err as TubanError).code).toBe('CONFIG.INVALID');
      expect((err as TubanError).message).toContain(Object.keys(env)[0]);
    }
  });

  it('refuses only the bad settings a command uses; the others are listed, and their fields throw if read', () => {
    const env = { TUBAN_SCORE_WORKERS: 'many', TUBAN_LOG_LEVEL: 'loud', PORT: '9090' };
    const ignored: IgnoredSetting[] = [];
    const c = loadConfig(env, settingsUsedBy('serve'), ignored);
    expect(c.port).toBe(9090);
    expect(ignored.map((i) => i.name).sort()).toEqual(['TUBAN_LOG_LEVEL', 'TUBAN_SCORE_WORKERS']);
    expect(ignored.find((i) => i.name === 'TUBAN_SCORE_WORKERS')?.problem).toBe("TUBAN_SCORE_WORKERS must be a whole number ≥ 0, got 'many'");
    // Read by a command the table does not give it to: stopped there, not run on a default.
    expect(() => c.scoreWorkers).toThrow("TUBAN_SCORE_WORKERS must be a whole number ≥ 0, got 'many'");
    expect(() => c.logLevel).toThrow(/TUBAN_LOG_LEVEL/);
    // The worker uses both: each named in one CONFIG.INVALID.
    expect(() => loadConfig(env, settingsUsedBy('worker'))).toThrow(/TUBAN_LOG_LEVEL: .*; TUBAN_SCORE_WORKERS must be/);
  });
});

describe('config() in a worker thread', () => {
  /** Runs config() in a fresh thread with `env`; what it threw (code: message), or 'read'. */
  function configInThread(env: Record<string, string>): Promise<string> {
    const url = new URL('./config.ts', import.meta.url).href;
    // The .ts source loads through the tests' loader (vitest.config.ts), registered here: an eval thread is given none.
    const loader = new URL('../test-support/register-ts.mjs', import.meta.url).href;
    const code = `const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(loader)}).then(() => import(${JSON.stringify(url)})).then((m) => { try { m.config(); parentPort.postMessage('read'); } catch (e) { parentPort.postMessage(e.code + ': ' + e.message); } });`;
    const worker = new Worker(code, { eval: true, env: { ...process.env, ...env } });
    return new Promise<string>((resolve, reject) => {
      worker.once('message', (m: string) => void worker.terminate().then(() => resolve(m)));
      worker.once('error', reject);
    });
  }

  it('is an internal error saying to pass the value in workerData, not a second read that a value the command ignored would stop', async () => {
    // The command's check (configureFor) ran on the main thread only: a thread's own read would
    // refuse every bad value, those its command deliberately goes on past included.
    const said = await configInThread({ TUBAN_IMAGERY_WORKERS: '17' });
    expect(said).toMatch(/^INTERNAL: .*worker thread.*workerData/);
  });
});
