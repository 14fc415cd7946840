/**
 * A worker process for the SIGKILL test: takes one tile job, says so on stdout, then hangs
 * (ignoring its abort signal) until killed. Run with
 *   node --import ./workers/testing/register-ts.mjs workers/testing/hanging-worker.ts
 * and TEST_REDIS_URL, TEST_DATABASE_URL, TEST_SCHEMA, TEST_QUEUE, TEST_PREFIX set.
 */
import pg from 'pg';
import { pino } from 'pino';
import { startWorker } from '../queue/start-worker.js';
import { recordingHandlers } from './recording-handlers.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const pool = new pg.Pool({ connectionString: env('TEST_DATABASE_URL'), options: `-c search_path=${env('TEST_SCHEMA')},public`, max: 2 });
startWorker({
  connection: env('TEST_REDIS_URL'),
  queueName: env('TEST_QUEUE'),
  queuePrefix: env('TEST_PREFIX'),
  log: pino({ level: 'silent' }),
  lockDurationMs: Number(process.env.TEST_LOCK_MS ?? 2000),
  stalledIntervalMs: 1000,
  handlers: recordingHandlers(pool, {
    workerLabel: 'doomed',
    async beforeTile(tileId) {
      process.stdout.write(`started ${tileId}\n`);
      await new Promise(() => {}); // never finishes
    },
  }),
});
process.stdout.write('ready\n');
