import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import type pg from 'pg';
import { TubanError } from '../../schemas/errors.js';
import { scratchSchema, servers, uniqueName } from '../testing/test-servers.js';
import { createRecordingTables, recordingHandlers, type RecordingOptions } from '../testing/recording-handlers.js';
import { enqueueBatch } from './enqueue-batch.js';
import { startWorker, type WorkerHandle } from './start-worker.js';
import { followBatch } from './follow-batch.js';
import { batchStatus } from './batch-status.js';
import type { BatchProgress } from './batch-status.js';

const silent = pino({ level: 'silent' });

describe.runIf(servers)('queue flow (PostgreSQL + Redis)', () => {
  const redisUrl = servers?.redisUrl ?? ''; // the body is still collected when skipped
  let db: Awaited<ReturnType<typeof scratchSchema>>;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await scratchSchema(servers!.databaseUrl, 'queue_flow');
    pool = db.pool;
    await createRecordingTables(pool);
  });
  afterAll(async () => db?.close());

  /** Each test: its own queue name and prefix, so tests never see each other's jobs. */
  function target() {
    return { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
  }

  function workers(n: number, ref: ReturnType<typeof target>, rec: RecordingOptions = {}): WorkerHandle[] {
    return Array.from({ length: n }, (_, i) =>
      startWorker({
        connection: redisUrl,
        handlers: recordingHandlers(pool, { ...rec, workerLabel: `w${i}` }),
        ...ref,
        log: silent,
        handleSignals: false,
        lockDurationMs: 5000,
        stalledIntervalMs: 1000,
      }),
    );
  }

  async function rows<R>(sql: string, params: unknown[]): Promise<R[]> {
    return (await pool.query(sql, params)).rows as R[];
  }

  it('runs 3 tile jobs on 3 workers, then the finaliser once, and reports progress', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    const ws = workers(3, ref, { beforeTile: () => new Promise((r) => setTimeout(r, 300)) });
    try {
      const id = await enqueueBatch(redisUrl, { batchId, tileIds: ['a', 'b', 'c'], ...ref });
      expect(id).toBe(`batch.finalise~${batchId}`);
      const seen: BatchProgress[] = [];
      const result = await followBatch(redisUrl, batchId, (p) => seen.push(p), { ...ref, pollMs: 100 });
      expect(result).toEqual({ tiles: 3 });
      expect(await rows(`select tiles, runs from finalised where batch_id = $1`, [batchId])).toEqual([{ tiles: 3, runs: 1 }]);
      const perWorker = await rows<{ worker: string }>(`select distinct worker from tile_results where batch_id = $1`, [batchId]);
      expect(perWorker.length).toBeGreaterThan(1); // the tiles were spread, not run by one worker
      expect(seen.at(-1)).toMatchObject({ state: 'completed', tilesTotal: 3, tilesDone: 3, tilesFailed: 0 });
      expect(seen[0].tilesDone).toBeLessThan(3);
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('does not retry a skip error, retries DB.TRANSIENT with backoff, and finalises without the skipped tile', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    const ws = workers(2, ref, {
      async beforeTile(tileId, attempt) {
        if (tileId === 'corrupt') throw new TubanError('TILE.UNREADABLE', 'not a TIFF', tileId);
        if (tileId === 'flaky' && attempt < 3) throw new TubanError('DB.TRANSIENT', 'connection reset', tileId);
      },
    });
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['ok', 'corrupt', 'flaky'], ...ref, attempts: 5, backoffMs: 300 });
      expect(await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ tiles: 2 });

      const attempts = await rows<{ tile_id: string; n: number; ms: number[] }>(
        `select tile_id, count(*)::int as n, array_agg(extract(epoch from at) * 1000 order by at) as ms
           from tile_attempts where batch_id = $1 group by tile_id order by tile_id`,
        [batchId],
      );
      const byTile = Object.fromEntries(attempts.map((a) => [a.tile_id, a]));
      expect(byTile.corrupt.n).toBe(1);
      expect(byTile.ok.n).toBe(1);
      expect(byTile.flaky.n).toBe(3);
      const [t1, t2, t3] = byTile.flaky.ms.map(Number);
      expect(t2 - t1).toBeGreaterThanOrEqual(300 - 50); // exponential: 300 ms, then 600 ms
      expect(t3 - t2).toBeGreaterThanOrEqual(600 - 50);

      const status = await batchStatus(redisUrl, pool, batchId, ref);
      expect(status).toMatchObject({ state: 'completed', tilesTotal: 3, tilesDone: 3, tilesFailed: 1 });
      expect(status!.failures).toEqual([{ tileId: 'corrupt', code: 'TILE.UNREADABLE', message: 'corrupt: not a TIFF' }]);
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('stops the batch when a tile fails with a fail-disposition code', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    const ws = workers(1, ref, {
      async beforeTile(tileId) {
        if (tileId === 'broken') throw new Error('bug in the detector');
      },
    });
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['ok', 'broken'], ...ref, backoffMs: 50 });
      const err = await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TubanError);
      expect((err as TubanError).code).toBe('BATCH.TILES_FAILED');
      expect((err as TubanError).message).toContain(`tile broken (job tile.detect~${batchId}~broken): INTERNAL: bug in the detector (1 attempt)`);
      expect(await rows(`select * from finalised where batch_id = $1`, [batchId])).toEqual([]);
      // INTERNAL is not retried either.
      expect(await rows(`select tile_id from tile_attempts where batch_id = $1 and tile_id = 'broken'`, [batchId])).toHaveLength(1);
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('runs a batch that failed afresh when it is enqueued again (the cause fixed), instead of answering the old failure', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    let broken = true;
    const ws = workers(1, ref, {
      async beforeTile(tileId) {
        if (tileId === 'broken' && broken) throw new Error('database restored from a backup');
      },
    });
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['ok', 'broken'], ...ref, backoffMs: 50 });
      const err = await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 }).catch((e: unknown) => e);
      expect((err as TubanError).code).toBe('BATCH.TILES_FAILED');
      broken = false;
      await enqueueBatch(redisUrl, { batchId, tileIds: ['ok', 'broken'], ...ref, backoffMs: 50 });
      expect(await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ tiles: 2 });
      expect(await rows(`select runs from finalised where batch_id = $1`, [batchId])).toEqual([{ runs: 1 }]);
      const status = await batchStatus(redisUrl, pool, batchId, ref);
      expect(status).toMatchObject({ state: 'completed', tilesTotal: 2, tilesDone: 2, tilesFailed: 0 });
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('runs afresh a batch the queue finished but the database does not hold as finalised (restored from an earlier backup), and only then', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    const ws = workers(1, ref);
    const finalised = async () => (await rows(`select 1 from finalised where batch_id = $1`, [batchId])).length > 0;
    try {
      await enqueueBatch(redisUrl, { batchId, tileIds: ['a', 'b'], ...ref, finalised });
      expect(await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ tiles: 2 });
      // Enqueued again while the database holds it finalised: nothing runs again.
      await enqueueBatch(redisUrl, { batchId, tileIds: ['a', 'b'], ...ref, finalised });
      expect(await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ tiles: 2 });
      expect(await rows(`select runs from finalised where batch_id = $1`, [batchId])).toEqual([{ runs: 1 }]);
      // The database restored from a backup taken before the batch finished; Redis kept its completed jobs.
      await pool.query(`delete from finalised where batch_id = $1`, [batchId]);
      await pool.query(`delete from tile_results where batch_id = $1`, [batchId]);
      // tuban status says so, and what to do (the planner's batches table, as the restore left it).
      await pool.query(`create table if not exists batches (id text primary key, epoch text, status text, created_at timestamptz default now(), finished_at timestamptz, report jsonb)`);
      await pool.query(`insert into batches (id, epoch, status) values ($1, '2026-10', 'planned')`, [batchId]);
      const said = await batchStatus(redisUrl, pool, batchId, ref);
      expect(said?.state).toBe('completed');
      expect(said?.warnings).toEqual([expect.stringMatching(new RegExp(`^the queue finished batch ${batchId}, but this database holds it planned, not finalised .*run the same tuban batch --queue again`))]);
      await enqueueBatch(redisUrl, { batchId, tileIds: ['a', 'b'], ...ref, finalised });
      expect(await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ tiles: 2 });
      expect(await rows(`select tiles, runs from finalised where batch_id = $1`, [batchId])).toEqual([{ tiles: 2, runs: 1 }]);
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('says the batch vanished, and how to run it again, when the queue loses it while it is followed', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    await enqueueBatch(redisUrl, { batchId, tileIds: ['a'], ...ref });
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    try {
      let seen = 0;
      const followed = followBatch(redisUrl, batchId, () => seen++, { ...ref, pollMs: 50 }).catch((e: unknown) => e);
      while (seen === 0) await new Promise((r) => setTimeout(r, 20));
      // What a Redis restarted without its append-only file leaves: nothing.
      await queue.obliterate({ force: true });
      const err = (await followed) as TubanError;
      expect(err).toBeInstanceOf(TubanError);
      expect(err.message).toMatch(/vanished from the queue .*run the same tuban batch --queue again/);
    } finally {
      await queue.close();
    }
  });

  it('says when no worker is connected while a batch waits, and goes on when one starts', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    await enqueueBatch(redisUrl, { batchId, tileIds: ['a', 'b'], ...ref });
    const told: number[] = [];
    let ws: WorkerHandle[] = [];
    try {
      const followed = followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 50, noWorkerMs: 300, onNoWorker: (ms) => told.push(ms) });
      while (told.length === 0) await new Promise((r) => setTimeout(r, 50));
      expect(told[0]).toBeGreaterThanOrEqual(300);
      ws = workers(1, ref);
      expect(await followed).toEqual({ tiles: 2 });
      expect(told).toHaveLength(1);
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('creates no duplicate jobs when the same batch is enqueued twice', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    const tileIds = ['a', 'b', 'c'];
    await enqueueBatch(redisUrl, { batchId, tileIds, ...ref });
    await enqueueBatch(redisUrl, { batchId, tileIds, ...ref });
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    try {
      expect(await queue.getJobCounts('wait', 'waiting-children')).toEqual({ wait: 3, 'waiting-children': 1 });
      const ws = workers(2, ref);
      try {
        await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 });
        // And once more after it finished: completed jobs are kept, so nothing runs again.
        await enqueueBatch(redisUrl, { batchId, tileIds, ...ref });
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await Promise.all(ws.map((w) => w.close()));
      }
      expect(await rows(`select count(*)::int as n from tile_attempts where batch_id = $1`, [batchId])).toEqual([{ n: 3 }]);
      expect(await rows(`select runs from finalised where batch_id = $1`, [batchId])).toEqual([{ runs: 1 }]);
      expect(await queue.getJobCounts('completed', 'wait')).toEqual({ completed: 4, wait: 0 });
    } finally {
      await queue.close();
    }
  });

  it('rejects a payload that fails its schema without retrying', async () => {
    const ref = target();
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    const [w] = workers(1, ref);
    try {
      const job = await queue.add('tile.detect', { batchId: 42 }, { attempts: 5 });
      const failed = await new Promise<string>((resolve) => w.worker.on('failed', (j) => j?.id === job.id && resolve(j.failedReason)));
      expect(failed).toContain('INTERNAL');
      expect(failed).toContain('invalid tile.detect payload');
      expect((await queue.getJob(job.id!))!.attemptsMade).toBe(1);
    } finally {
      await w.close();
      await queue.close();
    }
  });

  it('on close, hands a running job back (no attempt used) and another worker finishes it', async () => {
    const ref = target();
    const batchId = uniqueName('b');
    let startedFirst!: () => void;
    const started = new Promise<void>((r) => (startedFirst = r));
    const [leaving] = workers(1, ref, {
      async beforeTile(_tileId, _attempt, ctx) {
        startedFirst();
        // A long handler that checks its signal between strips.
        await new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
      },
    });
    await enqueueBatch(redisUrl, { batchId, tileIds: ['only'], ...ref });
    await started;
    await leaving.close();
    const queue = new Queue(ref.queueName, { connection: { url: redisUrl }, prefix: ref.queuePrefix });
    try {
      const job = await queue.getJob(`tile.detect~${batchId}~only`);
      expect(await job!.getState()).toBe('waiting');
      expect(job!.attemptsMade).toBe(0);
      const [stayer] = workers(1, ref);
      try {
        expect(await followBatch(redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ tiles: 1 });
      } finally {
        await stayer.close();
      }
      expect((await rows<{ worker: string }>(`select worker from tile_results where batch_id = $1`, [batchId]))).toEqual([{ worker: 'w0' }]);
    } finally {
      await queue.close();
    }
  });

  it('close() is idempotent and aborts the signal handlers see', async () => {
    const [w] = workers(1, target());
    const first = w.close();
    expect(w.signal.aborted).toBe(true);
    await Promise.all([first, w.close()]);
    expect(w.close()).toBe(first);
  });
});
