/**
 * `tuban batch --queue`: plans the batch into the PostGIS server and enqueues it as a BullMQ flow,
 * follows it, then writes the same outputs as the embedded run. `tuban worker` (worker-command.ts)
 * runs the handlers on any machine; `tuban status` (status-command.ts) asks.
 */
import { assertQueuedFromSameDatabase, enqueueBatch } from '../workers/queue/enqueue-batch.js';
import { largestFirst, planBatch } from '../pipeline/batch/plan-batch.js';
import { followBatch } from '../workers/queue/follow-batch.js';
import { assertRedisAnswers } from '../workers/queue/redis-answers.js';
import type { BatchArgs } from '../pipeline/batch/batch-args.js';
import { loadRuleTable } from '../pipeline/route/load-rule-table.js';
import { exportBatch, planAndStore, type RunOptions, type RunResult } from '../pipeline/batch/run-batch.js';
import { loadBatch } from '../pipeline/store/repository.js';
import { databaseIdentity } from '../pipeline/store/database-identity.js';
import { UsageError } from './args.js';
import { need, QUEUE_NEEDS_POSTGRES } from './queue-settings.js';

/** `databaseUrl`: the database's URL, its password hidden, for a worker on another to name. */
export async function runQueuedBatch(args: BatchArgs, opts: RunOptions & { databaseUrl: string }): Promise<RunResult> {
  if (opts.db.kind !== 'postgres') throw new UsageError(QUEUE_NEEDS_POSTGRES);
  const redis = need('REDIS_URL');
  await assertRedisAnswers(redis);
  // Every job carries the database it was planned in: a worker given another DATABASE_URL refuses it
  // (DB.SETUP, naming both) rather than run it, afresh at each command, on a database this one never reads.
  const from = { ...(await databaseIdentity(opts.db)), url: opts.databaseUrl };
  const planned = opts.planned?.plan ?? (await planBatch(args));
  // A batch the queue holds from another database is refused before this database or Redis is written.
  await assertQueuedFromSameDatabase(redis, { batchId: planned.batchId, from });
  const plan = await planAndStore(opts.db, args, opts.log, planned);
  // A flow Redis kept as completed while the database lost the batch's finalise (restored from a
  // backup taken before it finished) runs afresh; it answered 'has not been finalised', with a stack.
  const finalised = async () => (await loadBatch(opts.db, plan.batchId))?.status === 'done';
  await enqueueBatch(redis, { batchId: plan.batchId, tileIds: largestFirst(plan), finalised, from });
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
