/**
 * Production mode from the command line: `tuban batch --queue` plans the batch into the
 * PostGIS server and enqueues it as a BullMQ flow, follows it, then writes the same outputs as
 * the embedded run; `tuban worker` runs the same handlers on any machine; `tuban status` asks.
 */
import { enqueueBatch } from '../workers/queue/enqueue-batch.js';
import { largestFirst } from '../pipeline/batch/plan-batch.js';
import { followBatch } from '../workers/queue/follow-batch.js';
import { batchStatus } from '../workers/queue/batch-status.js';
import { startWorker } from '../workers/queue/start-worker.js';
import { assertRedisAnswers } from '../workers/queue/redis-answers.js';
import type { BatchArgs } from '../pipeline/batch/batch-args.js';
import { createHandlers } from '../pipeline/batch/handlers.js';
import { loadRuleTable } from '../pipeline/route/load-rule-table.js';
import type { RunOptions, RunResult } from '../pipeline/batch/run-batch.js';
import { config } from '../pipeline/config.js';
import { createLogger } from '../pipeline/log.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { redactUrl } from '../pipeline/redact-url.js';
import { UsageError, logLevel, one, type Flags } from './args.js';
import { need, QUEUE_NEEDS_POSTGRES } from './queue-settings.js';

export async function runQueuedBatch(args: BatchArgs, opts: RunOptions): Promise<RunResult> {
  if (opts.db.kind !== 'postgres') throw new UsageError(QUEUE_NEEDS_POSTGRES);
  const redis = need('REDIS_URL');
  await assertRedisAnswers(redis);
  // Imported here, not at the top: run-batch pulls in the output writers (the ledger and the
  // shapefile/GeoPackage code), ~10 MiB of live heap and ~0.5 s of start-up that a `tuban worker`,
  // which imports this file too, never uses; a smaller old generation also makes every major GC
  // in the worker's tile loop cheaper.
  const { exportBatch, planAndStore } = await import('../pipeline/batch/run-batch.js');
  const plan = await planAndStore(opts.db, args, opts.log, opts.planned?.plan);
  await enqueueBatch(redis, { batchId: plan.batchId, tileIds: largestFirst(plan) });
  opts.log.info({ batchId: plan.batchId }, 'batch enqueued');
  await followBatch(
    redis,
    plan.batchId,
    (p) => {
      const total = p.tilesTotal + 1;
      const stalled = p.stalledJobs > 0 ? `, ${p.stalledJobs} stalled (see the warning)` : '';
      opts.onProgress?.((p.tilesDone + p.finalisePercent / 100) / total, `${p.tilesDone}/${p.tilesTotal} tiles (${p.state})${stalled}`);
    },
    {
      onNoWorker: (ms) =>
        opts.log.warn(
          { batchId: plan.batchId },
          `no tuban worker has been connected to the queue for ${Math.round(ms / 1000)} s: the batch waits until one is; start \`tuban worker\` (same DATABASE_URL and REDIS_URL), or stop here with Ctrl-C (the batch stays queued)`,
        ),
      onStalled: (job) => opts.log.warn({ batchId: plan.batchId, job: job.jobId, tile: job.tileId, worker: job.worker }, job.message),
    },
  );
  return { plan, ...(await exportBatch(opts.db, plan.batchId, opts.out, await loadRuleTable(args.rules))) };
}

/** How long a stopping worker waits for its database pool to close: a query left waiting on a silent server holds it for ever. */
export const DATABASE_CLOSE_TIMEOUT_MS = 10_000;

export async function workerCommand(flags: Flags): Promise<number> {
  const concurrency = Number(one(flags, 'concurrency') ?? '1');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError('--concurrency must be a positive integer');
  const log = createLogger({ level: logLevel(flags, 'worker', config().logLevel) });
  const databaseUrl = need('DATABASE_URL', one(flags, 'db'));
  const db = await openDatabase(databaseUrl);
  let stopped = false;
  try {
    await migrate(db);
    // startWorker logs `worker started` with its queue, Redis and this database (passwords hidden).
    const handle = startWorker({
      connection: need('REDIS_URL'),
      handlers: createHandlers({ db, log, mode: 'queue', tilesAtOnce: concurrency }),
      concurrency,
      log,
      describeDatabase: redactUrl(databaseUrl),
    });
    // startWorker closes on SIGTERM/SIGINT and aborts its signal; we exit once it has closed.
    await new Promise<void>((resolve) => handle.signal.addEventListener('abort', () => resolve(), { once: true }));
    const workerClosed = await handle.close();
    stopped = true;
    const databaseClosed = await closeDatabase(db, redactUrl(databaseUrl), log);
    if (!workerClosed || !databaseClosed) {
      // Not 0: systemd (and whoever stopped it) learns the stop was not clean; the error line above says why.
      log.warn('worker stopped without closing cleanly: exit 1');
      return 1;
    }
    log.info('worker stopped');
    return 0;
  } finally {
    // Start-up failed: its own error is the one to report, not the close's.
    if (!stopped) await db.close().catch(() => undefined);
  }
}

/** Close the worker's database within DATABASE_CLOSE_TIMEOUT_MS; false (one error line, `where` has no password) when it failed or hung. */
async function closeDatabase(db: { close(): Promise<void> }, where: string, log: ReturnType<typeof createLogger>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    db.close().then(
      () => true,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), DATABASE_CLOSE_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
  if (outcome === true) return true;
  if (outcome === false) {
    log.error(
      { timeoutMs: DATABASE_CLOSE_TIMEOUT_MS },
      `the database ${where} did not close within ${DATABASE_CLOSE_TIMEOUT_MS / 1000} s (a query still waiting on a server that does not answer); left open`,
    );
  } else {
    log.error({ err: outcome.message }, `closing the database ${where} failed: ${outcome.message}`);
  }
  return false;
}

export async function statusCommand(flags: Flags, positional: string[]): Promise<number> {
  const batchId = positional[0];
  if (!batchId) throw new UsageError('tuban status <batch-id>');
  const redis = need('REDIS_URL');
  await assertRedisAnswers(redis);
  const db = await openDatabase(need('DATABASE_URL', one(flags, 'db')));
  try {
    const status = await batchStatus(redis, db, batchId);
    if (!status) {
      process.stderr.write(`batch ${batchId} is not on the queue\n`);
      return 2;
    }
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    // Also said to a person who reads the JSON through jq or not at all (it is in `warnings` too).
    for (const w of status.warnings) process.stderr.write(`tuban: warning: ${w}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
