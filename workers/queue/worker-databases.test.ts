/**
 * The workers' databases as `tuban batch --queue` reads them (worker-databases.ts): an entry a worker
 * killed -9 left behind must not vouch for its database for ever. Where Redis refuses CLIENT LIST
 * (`rename-command CLIENT ""`, some managed services) only the entry's age tells: one not written again
 * within ENTRY_TTL_MS, by Redis's clock, no longer counts, so a command on that database is refused
 * again (it let the command drop the workers' finished run and queue the batch anew).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { assertQueuedFromSameDatabase, enqueueBatch } from './enqueue-batch.js';
import { announceDatabase, ENTRY_TTL_MS, WORKER_DATABASES_KEY, workerDatabases } from './worker-databases.js';

const A = { system: null, id: 'aaaaaaaa-0000-4000-8000-000000000000', database: 'tuban', schema: 'public', url: 'postgres://prod/tuban' };
const B = { system: null, id: 'bbbbbbbb-0000-4000-8000-000000000000', database: 'tuban', schema: 'public', url: 'postgres://staging/tuban' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(servers)('a dead worker’s entry, with Redis refusing CLIENT LIST', () => {
  let redis: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--rename-command', 'CLIENT', '""'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined); // refused until it listens: asked again
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch (err) {
        if (i > 50) throw err;
        await sleep(100);
      } finally {
        probe.disconnect();
      }
    }
  }, 30_000);
  afterAll(() => {
    redis?.kill('SIGKILL');
  });

  it('counts while fresh, not once it is older than ENTRY_TTL_MS, and is dropped then', async () => {
    const queueName = uniqueName('q');
    const batchId = uniqueName('b');
    await enqueueBatch(url, { batchId, tileIds: ['t1'], queueName, queuePrefix: 'wd', from: A });
    const q = new Queue(queueName, { connection: { url, maxRetriesPerRequest: null }, prefix: 'wd' });
    try {
      const check = () => assertQueuedFromSameDatabase(url, { batchId, queueName, queuePrefix: 'wd', from: B }).then(() => 'ok', (e: unknown) => (e instanceof TubanError ? e.code : String(e)));
      expect(await check()).toBe('DB.SETUP');
      // A worker on B, running: it vouches for B (the deployment moved there).
      await announceDatabase(q, 'host:4242', B);
      expect((await workerDatabases(q)).map((d) => d.url)).toEqual([B.url]);
      expect(await check()).toBe('ok');
      // Killed -9 long ago: its entry was last written more than ENTRY_TTL_MS ago by Redis's clock.
      const client = (await (q.getBackend() as unknown as { client: Promise<Redis> }).client);
      const [seconds] = await client.time();
      await client.hset(q.toKey(WORKER_DATABASES_KEY), 'host:4242', JSON.stringify({ ...B, seenAt: Number(seconds) * 1000 - ENTRY_TTL_MS - 5000 }));
      expect(await check()).toBe('DB.SETUP');
      expect(await client.hkeys(q.toKey(WORKER_DATABASES_KEY))).toEqual([]);
    } finally {
      await q.obliterate({ force: true });
      await q.close();
    }
  }, 60_000);
});
