/**
 * A running job whose worker is connected must never be called stalled ('worker-gone', with its
 * `dmesg | grep -i oom` hint, which a follower logs once and never takes back): not when the worker
 * connected and took the job between the reads of the worker list and of the jobs, not while its
 * connection reconnects, not when the queue's prefix holds ':w:'. Real Redis, a real worker in this
 * process: `node scripts/test-servers.mjs -- npx vitest run workers/queue/stalled-jobs.test.ts`.
 */
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { JobHandlers } from '../../schemas/jobs.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { batchStatus } from './batch-status.js';
import { enqueueBatch } from './enqueue-batch.js';
import { startWorker, type WorkerHandle } from './start-worker.js';
import { watchBatch } from './stalled-jobs.js';

/** Tile jobs that run until the worker closes. */
const handlers: JobHandlers = {
  'tile.detect': (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true })),
  async 'batch.finalise'() {
    return {};
  },
};

async function until(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(servers)('which running jobs are stalled (real Redis)', () => {
  const redisUrl = servers?.redisUrl ?? '';
  const me = `${hostname()}:${process.pid}`;

  async function running(ref: { queueName: string; queuePrefix: string }, queue: Queue) {
    const batchId = uniqueName('b');
    const jobId = `tile.detect~${batchId}~t1`;
    await enqueueBatch(redisUrl, { batchId, tileIds: ['t1'], ...ref });
    const worker = startWorker({ connection: redisUrl, handlers, ...ref, log: pino({ level: 'silent' }), handleSignals: false, closeTimeoutMs: 2000, jobCloseTimeoutMs: 2000 });
    await until('the tile job running', async () => (await queue.getJobState(jobId)) === 'active');
    return { batchId, worker };
  }

  it('a worker that connects and takes a job between the two reads is not gone', async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    let worker: WorkerHandle | undefined;
    const batchId = uniqueName('b');
    // The worker starts and takes the tile right after the worker list was read, as the jobs are.
    class RacedQueue extends Queue {
      override async getActive(start?: number, end?: number) {
        if (!worker) {
          worker = startWorker({ connection: redisUrl, handlers, ...ref, log: pino({ level: 'silent' }), handleSignals: false, closeTimeoutMs: 2000, jobCloseTimeoutMs: 2000 });
          await until('the tile job running', async () => (await this.getJobState(`tile.detect~${batchId}~t1`)) === 'active');
        }
        return super.getActive(start, end);
      }
    }
    const queue = new RacedQueue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['t1'], ...ref });
      const watch = await watchBatch(queue, batchId);
      expect(watch.stalled).toEqual([]);
      expect(watch.workers).toEqual([me]);
    } finally {
      await worker?.close();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  }, 30_000);

  it('tuban status does not call a job stalled while its worker reconnects to Redis', async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    const admin = new Redis(redisUrl);
    const { batchId, worker } = await running(ref, queue);
    try {
      // Cut the worker's connections (a network blip): ioredis reconnects them after about a second.
      const named = `${queue.getBackend().clientName()}:w:`;
      const list = (await admin.client('LIST')) as string;
      const ids = list.split('\n').filter((l) => l.includes(` name=${named}`)).map((l) => /\bid=(\d+)/.exec(l)![1]);
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) await admin.client('KILL', 'ID', id);
      const status = await batchStatus(redisUrl, undefined, batchId, ref);
      expect(status?.stalled).toEqual([]);
      expect(status?.warnings).toEqual([]);
      expect(status?.workers).toEqual([me]);
    } finally {
      await worker.close();
      admin.disconnect();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  }, 30_000);

  it("names the worker right when the queue's prefix holds ':w:'", async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: `${uniqueName('p')}:w:x` };
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    const { batchId, worker } = await running(ref, queue);
    try {
      const status = await batchStatus(redisUrl, undefined, batchId, ref);
      expect(status?.workers).toEqual([me]);
      expect(status?.stalled).toEqual([]);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  }, 30_000);
  it('with the previous look given (tuban batch --queue, every 5 s), a worker-gone job is told only when two looks found it so', async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    const { batchId, worker } = await running(ref, queue);
    try {
      // Gone without a word, its job left active under its lock (as after a kill -9).
      await worker.worker.disconnect();
      const first = await watchBatch(queue, batchId, { goneBefore: new Set() });
      expect(first.stalled).toEqual([]);
      expect(first.workerGone.size).toBe(1);
      const second = await watchBatch(queue, batchId, { goneBefore: first.workerGone });
      expect(second.stalled).toEqual([expect.objectContaining({ tileId: 't1', worker: me, reason: 'worker-gone' })]);
    } finally {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  }, 30_000);
});
