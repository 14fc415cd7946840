import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type pg from 'pg';
import { scratchSchema, servers, uniqueName } from '../testing/test-servers.js';
import { createRecordingTables, recordingHandlers, type RecordingOptions } from '../testing/recording-handlers.js';
import { enqueueBatch } from './enqueue-batch.js';
import { startWorker, type WorkerHandle } from './start-worker.js';
import { followBatch } from './follow-batch.js';

const silent = pino({ level: 'silent' });

describe.runIf(servers)('queue recovery (PostgreSQL + Redis)', () => {
  const redisUrl = servers?.redisUrl ?? ''; // the body is still collected when skipped
  let db: Awaited<ReturnType<typeof scratchSchema>>;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await scratchSchema(servers!.databaseUrl, 'queue_recovery');
    pool = db.pool;
    await createRecordingTables(pool);
  });
  afterAll(async () => db?.close());

  const target = () => ({ queueName: uniqueName('q'), queuePrefix: uniqueName('p') });

  function worker(ref: ReturnType<typeof target>, label: string, rec: RecordingOptions = {}): WorkerHandle {
    return startWorker({
      connection: redisUrl,
      handlers: recordingHandlers(pool, { ...rec, workerLabel: label }),
      ...ref,
      log: silent,
      handleSignals: false,
      lockDurationMs: 2000,
      stalledIntervalMs: 500,
    });
  }

  it('hands the job of a SIGKILLed worker process to another worker after stall detection', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    const child = spawn(process.execPath, ['--import', './workers/testing/register-ts.mjs', 'workers/testing/hanging-worker.ts'], {
      env: {
        ...process.env,
        TEST_REDIS_URL: redisUrl,
        TEST_DATABASE_URL: servers!.databaseUrl,
        TEST_SCHEMA: db.schema,
        TEST_QUEUE: ref.queueName,
        TEST_PREFIX: ref.queuePrefix,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const started = new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /started (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`worker process exited (${code}) before taking a job: ${out}`)));
    });
    let rescuer: WorkerHandle | undefined;
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['t1', 't2'], ...ref, backoffMs: 100 });
      const doomedTile = await started;
      child.kill('SIGKILL');
      const killedAt = Date.now();
      rescuer = worker(ref, 'rescuer');
      const stalled: string[] = [];
      rescuer.worker.on('stalled', (id) => stalled.push(id));
      expect(await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ tiles: 2 });
      const recoveredMs = Date.now() - killedAt;

      expect(stalled).toEqual([`tile.detect~${batchId}~${doomedTile}`]);
      const runs = (await pool.query(`select worker from tile_attempts where batch_id = $1 and tile_id = $2 order by id`, [batchId, doomedTile])).rows;
      expect(runs.map((r) => r.worker)).toEqual(['doomed', 'rescuer']);
      expect(recoveredMs).toBeLessThan(15_000); // lock 2 s + stalled check 0.5 s, not BullMQ's 30 s default
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rescuer?.close();
    }
  });

  it('completes a flow when Redis restarts in the middle of it', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    const tileIds = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    let firstDone!: () => void;
    const oneTileDone = new Promise<void>((r) => (firstDone = r));
    const ws = [0, 1].map((i) =>
      worker(ref, `w${i}`, {
        async beforeTile() {
          await new Promise((r) => setTimeout(r, 250));
          firstDone();
        },
      }),
    );
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds, ...ref, backoffMs: 100 });
      const following = followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 });
      await oneTileDone;
      const pidBefore = servers!.state().redis.pid;
      await servers!.restartRedis({ downMs: 1000 });
      expect(servers!.state().redis.pid).not.toBe(pidBefore);
      expect(await following).toEqual({ tiles: 6 });
      const done = (await pool.query(`select count(*)::int as n from tile_results where batch_id = $1`, [batchId])).rows[0].n;
      expect(done).toBe(6);
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });
});
