/**
 * Production mode end to end with the built CLI: two `tuban worker` processes, then
 * `tuban batch … --queue` with the same arguments as an embedded `tuban batch`, `tuban status`,
 * and SIGTERM. Needs `npm run build` first and the test servers (npm test does both).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import { writeGeoTiffArrays } from '../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { comparableOutputs } from '../workers/testing/batch-outputs.js';
import { servers, uniqueName } from '../workers/testing/test-servers.js';
import { CLI, runCli } from './testing/run-cli.js';

describe.runIf(servers)('tuban worker / batch --queue / status against real servers', () => {
  let dir: string;
  let scene: SceneManifest;
  let victim: string;
  let admin: pg.Client;
  const schemas: string[] = [];
  const workers: ChildProcess[] = [];
  const queueEnv = { TUBAN_QUEUE_NAME: uniqueName('q'), TUBAN_QUEUE_PREFIX: uniqueName('p'), TUBAN_LOG_LEVEL: 'info' };

  /** A DATABASE_URL whose sessions see only a fresh schema, as a separate deployment would. */
  async function databaseUrl(label: string): Promise<string> {
    const schema = uniqueName(label);
    await admin.query(`create schema ${schema}`);
    schemas.push(schema);
    const url = new URL(servers!.databaseUrl);
    url.searchParams.set('options', `-c search_path=${schema},public`);
    return url.toString();
  }

  const tuban = (args: string[], env: Record<string, string>) => runCli(args, { env });

  const batchArgs = (out: string) => ['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', out];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
    dir = await mkdtemp(join(tmpdir(), 'tuban-queue-e2e-'));
    scene = await generateScene({ dir: join(dir, 'scene'), size: 256, seed: 3, tilesPerSide: 2 });
    // One tile all nodata: rejected by its tile job (on a worker, in the queue run), so both runs
    // must give the same exit code (3, the month incomplete) and the same not-observed footprint.
    const first = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort()[0];
    victim = join(scene.currentDir, first);
    const { tiles: [info] } = await catalogueTiles([victim]);
    const blank = Object.keys(info.bands).map(() => new Float32Array(info.grid.width * info.grid.height).fill(65535));
    await writeGeoTiffArrays(victim, { grid: info.grid, dtype: 'uint16', nodata: 65535, date: info.date, bands: blank });
    admin = new pg.Client({ connectionString: servers!.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    for (const s of schemas) await admin?.query(`drop schema ${s} cascade`).catch(() => {});
    await admin?.end();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the same outputs as the embedded run, answers status, and the workers stop cleanly on SIGTERM', async () => {
    const embeddedDb = await databaseUrl('cli_embedded');
    const embedded = await tuban([...batchArgs(join(dir, 'out-embedded')), '--db', embeddedDb], {});
    expect(embedded.code, embedded.stderr).toBe(3);

    const env = { ...queueEnv, DATABASE_URL: await databaseUrl('cli_queue'), REDIS_URL: servers!.redisUrl };
    const started: Promise<void>[] = [];
    for (let i = 0; i < 2; i++) {
      const w = spawn(process.execPath, [CLI, 'worker', '--concurrency', '1'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      workers.push(w);
      let err = '';
      started.push(
        new Promise((resolve, reject) => {
          w.stderr!.on('data', (d: Buffer) => {
            err += d.toString();
            if (err.includes('worker started')) resolve();
          });
          w.once('exit', (code) => reject(new Error(`tuban worker exited (${code}) before starting: ${err}`)));
        }),
      );
    }
    await Promise.all(started);

    const queued = await tuban([...batchArgs(join(dir, 'out-queue')), '--queue'], env);
    expect(queued.code, queued.stderr).toBe(3);
    expect(queued.stderr).toMatch(/progress 100%|4\/4 tiles/);
    const batchId = /^Batch (\S+)/m.exec(queued.stdout)?.[1];
    expect(batchId).toBeTruthy();
    const outputs = await comparableOutputs(join(dir, 'out-queue'));
    expect(outputs).toEqual(await comparableOutputs(join(dir, 'out-embedded')));
    expect(outputs.notObserved.filter((p) => p.reason)).toEqual([expect.objectContaining({ reason: 'TILE.NOT_OBSERVABLE', file: victim })]);
    for (const run of [embedded, queued]) expect(run.stdout).toContain('Incomplete month: 1 tile input(s) rejected');

    const status = await tuban(['status', batchId!], env);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { state: string; tilesTotal: number; tilesDone: number; record?: { status: string } };
    expect(s).toMatchObject({ state: 'completed', tilesTotal: 4, tilesDone: 4, record: { status: 'done' } });
    expect((await tuban(['status', 'no-such-batch'], env)).code).toBe(2);

    const exits = workers.map((w) => new Promise<number | null>((resolve) => w.once('exit', (code) => resolve(code))));
    for (const w of workers) w.kill('SIGTERM');
    expect(await Promise.all(exits)).toEqual([0, 0]);
  });

  /** A `tuban worker` on `env`, started; `log()` is its standard error so far. */
  async function startWorkerProcess(env: Record<string, string>): Promise<{ w: ChildProcess; log: () => string; stop: () => Promise<unknown> }> {
    const w = spawn(process.execPath, [CLI, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    workers.push(w);
    let log = '';
    await new Promise<void>((resolve, reject) => {
      w.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('worker started')) resolve();
      });
      w.once('exit', (code) => reject(new Error(`tuban worker exited (${code}) before starting: ${log}`)));
    });
    const exited = new Promise((resolve) => (w.exitCode !== null || w.signalCode !== null ? resolve(undefined) : w.once('exit', resolve)));
    return { w, log: () => log, stop: () => (w.kill('SIGTERM'), exited) };
  }

  it('refuses, naming both databases, a batch --queue whose DATABASE_URL is not the workers\' (and runs nothing again on theirs, nor after it is corrected)', async () => {
    const ownQueue = { ...queueEnv, TUBAN_QUEUE_NAME: uniqueName('q'), TUBAN_QUEUE_PREFIX: uniqueName('p') };
    const workersDb = await databaseUrl('cli_workers_db');
    const otherDb = await databaseUrl('cli_other_db');
    const schemaOf = (url: string) => new URL(url).searchParams.get('options')!.split('=').at(-1)!.split(',')[0];
    const env = { ...ownQueue, DATABASE_URL: workersDb, REDIS_URL: servers!.redisUrl };
    const worker = await startWorkerProcess(env);
    let moved: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
    try {
      // A batch the queue does not hold yet, from another database: the worker refuses its jobs.
      const before = await tuban([...batchArgs(join(dir, 'out-before')), '--queue'], { ...env, DATABASE_URL: await databaseUrl('cli_before_db') });
      expect(before.code, before.stderr).toBe(64);
      expect(before.stderr).toContain('tuban: DB.SETUP:');
      expect(before.stderr).toContain('but the tuban worker runs on');
      const first = await tuban([...batchArgs(join(dir, 'out-workers-db')), '--queue'], env);
      expect(first.code, first.stderr).toBe(3);
      const finalised = (log = worker.log()) => log.split('batch.finalise done').length - 1;
      const tilesRun = () => worker.log().split('tile.detect done').length - 1;
      expect(finalised()).toBe(1);
      const tiles = tilesRun();
      // The same batch from a command given another database: every run refuses, and the workers' database keeps its batch as it is.
      for (let run = 0; run < 2; run++) {
        const wrong = await tuban([...batchArgs(join(dir, 'out-other-db')), '--queue'], { ...env, DATABASE_URL: otherDb });
        expect(wrong.code, wrong.stderr).toBe(64);
        expect(wrong.stderr).toContain('tuban: DB.SETUP:');
        expect(wrong.stderr).toContain('Redis holds it finished');
        expect(wrong.stderr).toContain(schemaOf(otherDb));
        expect(wrong.stderr).toContain(schemaOf(workersDb));
        expect(wrong.stderr).toContain('same DATABASE_URL');
        expect(wrong.stderr).not.toMatch(/\n\s+at /);
      }
      expect(finalised()).toBe(1);
      expect(tilesRun()).toBe(tiles);
      // Refused before anything was written: the other database holds no batch.
      expect((await admin.query(`select count(*)::int as n from ${schemaOf(otherDb)}.batches`)).rows).toEqual([{ n: 0 }]);
      // The corrected command finds the finished run in Redis: nothing run again, the same outputs.
      const corrected = await tuban([...batchArgs(join(dir, 'out-workers-db-again')), '--queue'], env);
      expect(corrected.code, corrected.stderr).toBe(3);
      expect(finalised()).toBe(1);
      expect(tilesRun()).toBe(tiles);
      expect(await comparableOutputs(join(dir, 'out-workers-db-again'))).toEqual(await comparableOutputs(join(dir, 'out-workers-db')));

      // The deployment moved to the other database, its worker with it: the batch runs there.
      await worker.stop();
      moved = await startWorkerProcess({ ...env, DATABASE_URL: otherDb });
      const there = await tuban([...batchArgs(join(dir, 'out-moved')), '--queue'], { ...env, DATABASE_URL: otherDb });
      expect(there.code, there.stderr).toBe(3);
      expect(finalised(moved.log())).toBe(1);
    } finally {
      await worker.stop();
      await moved?.stop();
    }
  }, 180_000);

  it('says in one line that Redis does not answer, for tuban status and batch --queue, instead of hanging with a stack trace each second', async () => {
    // A port nothing listens on: Redis stopped, or a REDIS_URL with the wrong port.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const env = { ...queueEnv, DATABASE_URL: await databaseUrl('cli_redis_down'), REDIS_URL: `redis://:sekrit@127.0.0.1:${port}` };
    for (const args of [['status', 'some-batch'], [...batchArgs(join(dir, 'out-redis-down')), '--queue']]) {
      const started = Date.now();
      const r = await tuban(args, env);
      expect(r.code, r.stderr).toBe(1);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(r.stderr).toContain(`tuban: QUEUE.TRANSIENT: Redis at redis://:***@127.0.0.1:${port} does not answer`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toContain('sekrit');
    }
  }, 120_000);

  it('refuses --queue without a server database or REDIS_URL (usage error, exit 64)', async () => {
    const noRedis = await tuban([...batchArgs(join(dir, 'out-x')), '--queue', '--db', await databaseUrl('cli_noredis')], { REDIS_URL: '' });
    expect(noRedis.code).toBe(64);
    expect(noRedis.stderr).toContain('REDIS_URL');
  });
});
