/**
 * Put one planned batch on the queue as a BullMQ flow: a `batch.finalise` parent whose
 * children are one `tile.detect` per tile. BullMQ moves the parent to `wait` only when every
 * child has finished, which is exactly the "after every tile" the finaliser needs.
 */
import { FlowProducer, Queue, type ConnectionOptions, type FlowJobNode, type JobsOptions } from 'bullmq';
import { JobPayloads, jobId, type JobPayload } from '../../schemas/jobs.js';
import { TubanError } from '../../schemas/errors.js';
import { describeIdentity, sameDatabase, type DatabaseIdentity } from '../../pipeline/store/database-identity.js';
import { resolveTarget, type QueueTarget } from './connection.js';
import { workerDatabases } from './worker-databases.js';

export interface EnqueueBatchOptions {
  batchId: string;
  tileIds: readonly string[];
  queueName?: string;
  queuePrefix?: string;
  /** Attempts per job for `retry`-disposition errors (DB.TRANSIENT, QUEUE.TRANSIENT). Default 5. */
  attempts?: number;
  /** First exponential-backoff delay in ms (then 2×, 4×, …). Default 2000. */
  backoffMs?: number;
  /**
   * Whether the database holds the batch as finalised. Asked only when the queue holds its finalise
   * job as completed: false there means the database is not the one the batch ran on (restored from
   * a backup taken before it finished), and the batch is run afresh instead of answered as done.
   */
  finalised?: () => Promise<boolean>;
  /**
   * The database the batch is planned in, and its URL without the password: carried by every job, so
   * a worker on another database refuses it (start-worker.ts) instead of running it on its own.
   */
  from?: DatabaseIdentity & { url: string };
}

/** Job id of a batch's finalise (parent) job. */
export function finaliseJobId(batchId: string): string {
  return jobId('batch.finalise', { batchId });
}

/** Job id of one tile's detect (child) job. */
export function tileJobId(batchId: string, tileId: string): string {
  return jobId('tile.detect', { batchId, tileId });
}

/**
 * Enqueue the flow and return the parent's job id. Ids are deterministic (jobs.ts `jobId`),
 * and BullMQ ignores an add whose id already exists, so enqueueing the same batch twice
 * (a retried CLI, two operators) creates no duplicate jobs. Completed jobs are kept, so
 * re-enqueueing a finished batch is a no-op as well. A batch whose finalise job failed for good
 * (a tile that failed with a `fail` code, retries spent while the database was away) is removed
 * with its tile jobs and enqueued afresh: the ids being fixed, it would otherwise answer every
 * later run with its old failure, and the only way out was deleting its keys in Redis by hand. So is
 * a completed one the database does not hold as finalised (`opts.finalised`).
 */
export async function enqueueBatch(connection: QueueTarget['connection'], opts: EnqueueBatchOptions): Promise<string> {
  const { connection: conn, queueName, prefix } = resolveTarget({ connection, queueName: opts.queueName, queuePrefix: opts.queuePrefix });
  const retry: JobsOptions = {
    attempts: opts.attempts ?? 5,
    backoff: { type: 'exponential', delay: opts.backoffMs ?? 2000 },
  };
  const children: FlowJobNode[] = [...new Set(opts.tileIds)].map((tileId) => {
    const data: JobPayload<'tile.detect'> = { batchId: opts.batchId, tileId, ...(opts.from ? { from: opts.from } : {}) };
    return {
      name: 'tile.detect',
      queueName,
      prefix,
      data,
      opts: {
        ...retry,
        jobId: jobId('tile.detect', data),
        // A tile that fails for good (skip-disposition input, or retries spent) must not
        // block the batch: its failure is parked on the parent, where the finalise job reads
        // it and decides by error code (see start-worker.ts `checkChildFailures`).
        ignoreDependencyOnFailure: true,
      },
    };
  });
  const data: JobPayload<'batch.finalise'> = { batchId: opts.batchId, ...(opts.from ? { from: opts.from } : {}) };
  if (opts.from) await assertQueuedFromSameDatabase(connection, { ...opts, from: opts.from });
  await removeFinishedFlow(conn, queueName, prefix, finaliseJobId(opts.batchId), opts.finalised);
  const producer = new FlowProducer({ connection: conn, prefix });
  try {
    const node = await producer.add({
      name: 'batch.finalise',
      queueName,
      prefix,
      data,
      opts: { ...retry, jobId: finaliseJobId(opts.batchId) },
      children,
    });
    return node.job.id ?? finaliseJobId(opts.batchId);
  } finally {
    await producer.close();
  }
}

/**
 * Refuses (DB.SETUP, naming both databases) a batch Redis holds finished, or still running, that was
 * enqueued from another database than `from`, while no connected worker runs on `from`'s, before
 * anything in Redis changes: such a command has the workers' database wrong, and the flow it would
 * drop (its database does not hold the batch finalised) is the workers' finished run, which the
 * corrected command then ran once more. With a worker on `from`'s database (the deployment moved, or
 * a restore), the flow goes as before. A failed flow is no one's to keep: it is removed and enqueued
 * afresh from `from` (a run the workers refused for coming from another database ends so). A flow
 * an earlier Tuban enqueued says no database.
 */
export async function assertQueuedFromSameDatabase(
  connection: QueueTarget['connection'],
  opts: { batchId: string; queueName?: string; queuePrefix?: string; from: DatabaseIdentity & { url: string } },
): Promise<void> {
  const { connection: conn, queueName, prefix } = resolveTarget({ connection, queueName: opts.queueName, queuePrefix: opts.queuePrefix });
  const queue = new Queue(queueName, { connection: conn, prefix });
  try {
    const job = await queue.getJob(finaliseJobId(opts.batchId));
    if (!job) return;
    const state = await job.getState();
    if (state === 'failed' || state === 'unknown') return;
    const parsed = JobPayloads['batch.finalise'].safeParse(job.data);
    const held = parsed.success ? parsed.data.from : undefined;
    if (!held || sameDatabase(held, opts.from)) return;
    // The deployment moved to this database (a new server, a restore): its workers run on it too.
    if ((await workerDatabases(queue)).some((w) => sameDatabase(w, opts.from))) return;
    throw new TubanError(
      'DB.SETUP',
      `Redis holds it ${state === 'completed' ? 'finished' : `still running (${state})`}, enqueued from the database ${held.url} (${describeIdentity(held)}), ` +
        `but this tuban batch --queue runs on ${opts.from.url} (${describeIdentity(opts.from)}), which no running tuban worker says it runs on: the batch was not stored there and nothing in Redis was changed. ` +
        'Give tuban batch --queue the same DATABASE_URL as the tuban workers (moved to this database for good: start its tuban workers first, then run the same tuban batch --queue again)',
      `batch ${opts.batchId}`,
    );
  } finally {
    await queue.close();
  }
}

/**
 * Remove a failed finalise job and every tile job under it (done or failed: they all run again); and
 * a completed one the database does not hold as finalised. The finalise job records the batch done
 * in the database before BullMQ marks it completed, and the queue's state is read first, so a batch
 * finishing meanwhile (a second `tuban batch --queue` of it) is not taken for one the database lost.
 */
async function removeFinishedFlow(
  connection: ConnectionOptions,
  queueName: string,
  prefix: string,
  parentId: string,
  finalised: (() => Promise<boolean>) | undefined,
): Promise<void> {
  const queue = new Queue(queueName, { connection, prefix });
  try {
    const state = await queue.getJobState(parentId);
    if (state === 'failed' || (state === 'completed' && finalised && !(await finalised()))) await queue.remove(parentId, { removeChildren: true });
  } finally {
    await queue.close();
  }
}
