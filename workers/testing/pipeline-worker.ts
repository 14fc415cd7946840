/**
 * A `tuban worker` stand-in for the SIGKILL test: the real pipeline handlers on the real
 * server, with one change — the first tile transaction stops after all its writes, before
 * COMMIT, says `mid-write <tileId>` on stdout and hangs until the test kills the process. That
 * is the worst moment to die: the tile's rows exist, uncommitted, on a live connection. Run with
 *   node --import ./workers/testing/register-ts.mjs workers/testing/pipeline-worker.ts
 * and TEST_REDIS_URL, TEST_DATABASE_URL, TEST_SCHEMA, TEST_QUEUE, TEST_PREFIX set.
 */
import { pino } from 'pino';
import { createHandlers } from '../../pipeline/batch/handlers.js';
import { openDatabase } from '../../pipeline/store/open-database.js';
import type { Database, Queryable } from '../../pipeline/store/queryable.js';
import { startWorker } from '../queue/start-worker.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const real = await openDatabase(env('TEST_DATABASE_URL'), { schema: env('TEST_SCHEMA') });
let hung = false;
const db: Database = {
  kind: real.kind,
  query: <R>(text: string, params?: unknown[]) => real.query<R>(text, params),
  close: () => real.close(),
  transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
    real.transaction(async (tx) => {
      let tileId: string | undefined;
      const spy: Queryable = {
        query<R>(text: string, params?: unknown[]) {
          if (/^DELETE FROM detections/.test(text)) tileId = String(params?.[1]);
          return tx.query<R>(text, params);
        },
      };
      const out = await fn(spy);
      if (tileId && !hung) {
        hung = true;
        process.stdout.write(`mid-write ${tileId}\n`);
        await new Promise(() => {}); // never commits
      }
      return out;
    }),
};

const log = pino({ level: 'silent' });
startWorker({
  connection: env('TEST_REDIS_URL'),
  queueName: env('TEST_QUEUE'),
  queuePrefix: env('TEST_PREFIX'),
  log,
  lockDurationMs: 2000,
  stalledIntervalMs: 500,
  handlers: createHandlers({ db, log, mode: 'queue' }),
});
process.stdout.write('ready\n');
