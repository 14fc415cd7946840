/**
 * What a closing worker waits for, and whom it blames when it cannot close: a `systemctl stop` of a
 * worker busy with a large tile (which stops only between stages) must let the tile finish while
 * Redis answers, not give up at the short deadline and leave the job to the stall check (~2½ min,
 * exit 1); a Redis gone silent under a job handing itself back is Redis' fault, not the handler's;
 * a close() failing with a non-Error is a failure, not a timeout. Real Redis (through a TCP relay
 * where it must go silent): `node scripts/test-servers.mjs -- npx vitest run workers/queue/worker-close.test.ts`.
 */
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { tcpRelay } from '../../pipeline/testing/tcp-relay.js';
import type { JobHandlers } from '../../schemas/jobs.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { enqueueBatch } from './enqueue-batch.js';
import { startWorker } from './start-worker.js';

function capturedLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { log, errors: () => lines.filter((l) => l.level >= 50).map((l) => l.msg) };
}

async function until(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(servers)('closing a worker (real Redis)', () => {
  const redisUrl = servers?.redisUrl ?? '';

  it('waits past the short deadline for a running job while Redis answers: the job completes, the close is clean', async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const batchId = uniqueName('b');
    // A tile that does not look at the stop signal for 2.5 s (a 10980² tile's stage takes longer).
    const handlers: JobHandlers = {
      'tile.detect': () => new Promise((r) => setTimeout(r, 2500)),
      async 'batch.finalise'() {
        return {};
      },
    };
    const { log, errors } = capturedLog();
    const w = startWorker({ connection: redisUrl, handlers, ...ref, log, handleSignals: false, closeTimeoutMs: 500, jobCloseTimeoutMs: 15_000 });
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['t1'], ...ref });
      const jobId = `tile.detect~${batchId}~t1`;
      await until('the tile job running', async () => (await queue.getJobState(jobId)) === 'active');
      expect(await w.close()).toBe(true);
      expect(errors()).toEqual([]);
      expect(await queue.getJobState(jobId)).toBe('completed');
    } finally {
      await w.close();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  }, 30_000);

  it('blames Redis, not the handler, when Redis goes silent while a stopped job is handed back', async () => {
    const relay = tcpRelay(new URL(redisUrl));
    await relay.up();
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const batchId = uniqueName('b');
    // A handler that stops as soon as the worker closes: the job is then handed back (moveToWait), on Redis.
    const handlers: JobHandlers = {
      'tile.detect': (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true })),
      async 'batch.finalise'() {
        return {};
      },
    };
    const { log, errors } = capturedLog();
    const w = startWorker({ connection: relay.url(), handlers, ...ref, log, handleSignals: false, closeTimeoutMs: 500, jobCloseTimeoutMs: 15_000 });
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['t1'], ...ref });
      await until('the tile job running', async () => (await queue.getJobState(`tile.detect~${batchId}~t1`)) === 'active');
      relay.blackhole();
      const t0 = Date.now();
      expect(await w.close()).toBe(false);
      // The short deadline, one bounded PING, the disconnect: not the long wait for a job.
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(errors()).toEqual([expect.stringMatching(/^Redis at redis:\/\/127\.0\.0\.1:\d+ did not answer within \d+ s while the worker closed/)]);
    } finally {
      await relay.down();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  }, 30_000);

  it('a close() that rejects with a non-Error is reported as the failure it is, at once', async () => {
    const { log, errors } = capturedLog();
    const w = startWorker({ connection: redisUrl, handlers: { 'tile.detect': async () => {}, 'batch.finalise': async () => ({}) }, queueName: uniqueName('q'), queuePrefix: uniqueName('p'), log, handleSignals: false, closeTimeoutMs: 3000 });
    await w.worker.waitUntilReady();
    const realClose = w.worker.close.bind(w.worker);
    // BullMQ's close failing (a rejected Lua script rejects with whatever it was given).
    w.worker.close = () => Promise.reject('NOSCRIPT No matching script');
    const t0 = Date.now();
    expect(await w.close()).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(errors()).toEqual([expect.stringContaining('closing the worker failed (Redis at redis://127.0.0.1:') as string]);
    expect(errors()[0]).toContain('NOSCRIPT No matching script');
    await realClose();
  }, 30_000);
});
