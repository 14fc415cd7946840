/**
 * PostgreSQL stopped for a few seconds while a worker runs (a restart for a minor upgrade): the
 * connections it refuses meanwhile are DB.TRANSIENT, so the tile job is retried with backoff and the
 * batch finishes once the server is back, instead of failing for good at once as INTERNAL. Needs a
 * server: `node scripts/test-servers.mjs -- npx vitest run workers/queue/queue-db-down.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { openDatabase } from '../../pipeline/store/open-database.js';
import { tcpRelay } from '../../pipeline/testing/tcp-relay.js';
import type { Database } from '../../pipeline/store/queryable.js';
import type { JobHandlers } from '../../schemas/jobs.js';
import { TubanError } from '../../schemas/errors.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { enqueueBatch } from './enqueue-batch.js';
import { startWorker } from './start-worker.js';
import { followBatch } from './follow-batch.js';

describe.runIf(servers)('PostgreSQL stopped and started again (connection refused meanwhile)', () => {
  const schema = uniqueName('db_down');
  const proxy = tcpRelay(new URL(servers?.databaseUrl ?? 'postgres://x@127.0.0.1:1/x'));
  let db: Database;

  beforeAll(async () => {
    await proxy.up();
    db = await openDatabase(proxy.url(), { schema });
    await db.query(`create table tiles (batch_id text, tile_id text, attempt int)`);
  });
  afterAll(async () => {
    await db?.query(`drop schema ${schema} cascade`).catch(() => {});
    await db?.close();
    await proxy.down().catch(() => {});
  });

  it('a refused connection is DB.TRANSIENT (retried), not INTERNAL (the batch failed for good at once)', async () => {
    await proxy.down();
    // The pool notices its idle connections cut, so the queries below open new ones, which are refused.
    await new Promise((r) => setTimeout(r, 100));
    try {
      for (const attempt of [() => db.query('select 1'), () => db.transaction((tx) => tx.query('select 1'))]) {
        const err = await attempt().then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(TubanError);
        expect((err as TubanError).code).toBe('DB.TRANSIENT');
        expect((err as TubanError).message).toMatch(/ECONNREFUSED/);
      }
    } finally {
      await proxy.up();
    }
    expect((await db.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('a tile job that found the database stopped is retried once it is back, and the batch finishes', async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const batchId = uniqueName('b');
    const attempts = new Map<string, number>();
    const handlers: JobHandlers = {
      async 'tile.detect'({ batchId, tileId }) {
        const attempt = (attempts.get(tileId) ?? 0) + 1;
        attempts.set(tileId, attempt);
        if (tileId === 'during-outage' && attempt === 1) {
          // The server stops as this tile is about to store its rows; it is back 300 ms later.
          await proxy.down();
          setTimeout(() => void proxy.up(), 300);
        }
        await db.transaction((tx) => tx.query(`insert into tiles values ($1, $2, $3)`, [batchId, tileId, attempt]));
      },
      async 'batch.finalise'({ batchId }) {
        const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from tiles where batch_id = $1`, [batchId]);
        return { tiles: rows[0].n };
      },
    };
    const w = startWorker({ connection: servers!.redisUrl, handlers, ...ref, log: pino({ level: 'silent' }), handleSignals: false });
    try {
      await enqueueBatch(servers!.redisUrl, { batchId, tileIds: ['during-outage'], ...ref, backoffMs: 500 });
      expect(await followBatch(servers!.redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ tiles: 1 });
      expect(attempts.get('during-outage')).toBe(2);
    } finally {
      await w.close();
    }
  });
  it('a batch whose tile spent its retries while the database stayed away says in one line what failed and what to do', async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const batchId = uniqueName('b');
    const handlers: JobHandlers = {
      async 'tile.detect'({ batchId, tileId }) {
        if (tileId === 'stored') return;
        await db.query(`insert into tiles values ($1, $2, 1)`, [batchId, tileId]);
      },
      async 'batch.finalise'() {
        return {};
      },
    };
    const w = startWorker({ connection: servers!.redisUrl, handlers, ...ref, log: pino({ level: 'silent' }), handleSignals: false });
    await proxy.down();
    await new Promise((r) => setTimeout(r, 100));
    try {
      await enqueueBatch(servers!.redisUrl, { batchId, tileIds: ['stored', 'T50SMG'], ...ref, attempts: 2, backoffMs: 50 });
      const err = await followBatch(servers!.redisUrl, batchId, () => {}, { ...ref, pollMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TubanError);
      const te = err as TubanError;
      // Not INTERNAL: the CLI prints a code other than INTERNAL as one line, without a stack, exit 1.
      expect(te.code).toBe('BATCH.TILES_FAILED');
      expect(te.disposition).toBe('fail');
      expect(te.message).not.toContain('\n');
      expect(te.message).toContain(`batch ${batchId}`);
      expect(te.message).toContain(`1 of 2 tile job(s) failed for good`);
      expect(te.message).toContain(`tile T50SMG (job tile.detect~${batchId}~T50SMG)`);
      expect(te.message).toMatch(/DB\.TRANSIENT: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(2 attempts\)/);
      expect(te.message).not.toContain('tile stored');
      expect(te.message).toContain('run the same tuban batch --queue again: it runs the batch afresh, every tile');
    } finally {
      await proxy.up();
      await w.close();
    }
  });
});
