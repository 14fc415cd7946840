/**
 * A worker stuck for longer than its job lock (its process frozen here: SIGSTOP) is still connected
 * to Redis, so only the lock tells: `batchStatus` and `followBatch` must call its job stalled
 * ('lock-expired') before BullMQ's stall check takes it over. (A worker killed outright, whose
 * connection goes at once: cli/worker-stalled.e2e.test.ts.)
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchSchema, servers, uniqueName } from '../testing/test-servers.js';
import { createRecordingTables } from '../testing/recording-handlers.js';
import { batchStatus } from './batch-status.js';
import { enqueueBatch } from './enqueue-batch.js';
import { followBatch } from './follow-batch.js';
import type { StalledJob } from './stalled-jobs.js';

/**
 * The stuck worker's lock. Long enough that a child starved of CPU on a loaded 2-core machine still
 * renews it (every half of it) before the test freezes it: with 1.5 s it was read expired early.
 */
const LOCK_MS = 5000;

describe.runIf(servers)('a worker stuck past its job lock (PostgreSQL + Redis)', () => {
  const redisUrl = servers?.redisUrl ?? '';
  let db: Awaited<ReturnType<typeof scratchSchema>>;

  beforeAll(async () => {
    db = await scratchSchema(servers!.databaseUrl, 'queue_stalled');
    await createRecordingTables(db.pool);
  });
  afterAll(async () => db?.close());

  it('is reported stalled once its lock has expired, by tuban status and by a follower', async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const batchId = uniqueName('b');
    const child = spawn(process.execPath, ['--import', './workers/testing/register-ts.mjs', 'workers/testing/hanging-worker.ts'], {
      env: { ...process.env, TEST_REDIS_URL: redisUrl, TEST_DATABASE_URL: servers!.databaseUrl, TEST_SCHEMA: db.schema, TEST_QUEUE: ref.queueName, TEST_PREFIX: ref.queuePrefix, TEST_LOCK_MS: String(LOCK_MS) },
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
    const stop = new AbortController();
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['s1', 's2'], ...ref });
      const tile = await started;
      const before = await batchStatus(redisUrl, undefined, batchId, ref);
      expect(before?.stalled).toEqual([]);
      expect(before?.warnings).toEqual([]);

      child.kill('SIGSTOP');
      const told: StalledJob[] = [];
      const following = followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100, noWorkerMs: 1000, signal: stop.signal, onStalled: (job) => told.push(job) }).catch(() => undefined);
      let status = before;
      const end = Date.now() + LOCK_MS + 15_000;
      while (status?.stalled.length === 0 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
        status = await batchStatus(redisUrl, undefined, batchId, ref);
      }
      const name = `${hostname()}:${child.pid}`;
      expect(status?.workers).toEqual([name]);
      expect(status?.stalled).toEqual([expect.objectContaining({ tileId: tile, worker: name, reason: 'lock-expired', lockExpiresInS: 0, restarts: 0 })]);
      expect(status?.warnings).toEqual([expect.stringContaining(`tile ${tile} (job tile.detect~${batchId}~${tile}) is stalled: no worker holds its job lock any more`)]);
      while (told.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      expect(told.map((j) => [j.tileId, j.reason])).toEqual([[tile, 'lock-expired']]);
      stop.abort();
      await following;
    } finally {
      stop.abort();
      child.kill('SIGKILL');
    }
  }, 60_000);
});
