import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { openDatabase } from '../../pipeline/store/open-database.js';
import type { Database } from '../../pipeline/store/queryable.js';
import type { JobHandlers } from '../../schemas/jobs.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { enqueueBatch } from './enqueue-batch.js';
import { startWorker } from './start-worker.js';
import { followBatch } from './follow-batch.js';

describe.runIf(servers)('PostgreSQL connection dropped mid-write (real openDatabase)', () => {
  const schema = uniqueName('db_drop');
  let db: Database;
  let admin: pg.Client;

  beforeAll(async () => {
    db = await openDatabase(servers!.databaseUrl, { schema });
    await db.query(`create table parts (batch_id text, tile_id text, part int, attempt int)`);
    admin = new pg.Client({ connectionString: servers!.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await db?.query(`drop schema ${schema} cascade`);
    await db?.close();
    await admin?.end();
  });

  it('rolls the transaction back, retries the job as DB.TRANSIENT, and stores each tile exactly once', async () => {
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const batchId = uniqueName('b');
    const attempts = new Map<string, number>();
    const handlers: JobHandlers = {
      async 'tile.detect'({ batchId, tileId }) {
        const attempt = (attempts.get(tileId) ?? 0) + 1;
        attempts.set(tileId, attempt);
        await db.transaction(async (tx) => {
          for (let part = 1; part <= 3; part++) {
            await tx.query(`insert into parts values ($1, $2, $3, $4)`, [batchId, tileId, part, attempt]);
            if (tileId === 'victim' && attempt === 1 && part === 2) {
              // The server kills this session between two writes of one transaction.
              const { rows } = await tx.query<{ pid: number }>(`select pg_backend_pid() as pid`);
              await admin.query(`select pg_terminate_backend($1)`, [rows[0].pid]);
            }
          }
        });
      },
      async 'batch.finalise'({ batchId }) {
        const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from parts where batch_id = $1`, [batchId]);
        return { parts: rows[0].n };
      },
    };
    const w = startWorker({ connection: servers!.redisUrl, handlers, ...ref, log: pino({ level: 'silent' }), handleSignals: false });
    try {
      await enqueueBatch(servers!.redisUrl, { batchId, tileIds: ['victim', 'bystander'], ...ref, backoffMs: 200 });
      expect(await followBatch(servers!.redisUrl, batchId, () => {}, { ...ref, pollMs: 100 })).toEqual({ parts: 6 });
      expect(attempts.get('victim')).toBe(2);
      expect(attempts.get('bystander')).toBe(1);
      const { rows } = await db.query<{ tile_id: string; attempt: number; parts: number[] }>(
        `select tile_id, attempt, array_agg(part order by part) as parts from parts where batch_id = $1 group by 1, 2 order by 1`,
        [batchId],
      );
      // Nothing of the killed attempt survived: only attempt 2's three parts.
      expect(rows).toEqual([
        { tile_id: 'bystander', attempt: 1, parts: [1, 2, 3] },
        { tile_id: 'victim', attempt: 2, parts: [1, 2, 3] },
      ]);
    } finally {
      await w.close();
    }
  });
});
