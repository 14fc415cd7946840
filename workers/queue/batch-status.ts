/**
 * Where a queued batch stands, read from Redis (the flow) and, for `tuban status`, the database.
 */
import { Queue, type Job } from 'bullmq';
import type { ConnectionOptions } from 'bullmq';
import type { Queryable } from '../../pipeline/store/queryable.js';
import type { ErrorCode } from '../../schemas/errors.js';
import { resolveTarget } from './connection.js';
import { finaliseJobId } from './enqueue-batch.js';
import { decodeFailure } from './job-failure.js';
import { WORKER_RECHECK_MS, noWorkerLine, watchBatch, type StalledJob } from './stalled-jobs.js';

export interface TileFailure {
  tileId: string;
  code: ErrorCode;
  message: string;
}

export interface BatchProgress {
  batchId: string;
  /** BullMQ state of the finalise job: 'waiting-children' while tiles run, then 'wait' / 'active' / 'completed' / 'failed'. */
  state: string;
  tilesTotal: number;
  /** Tiles finished, successfully or not. */
  tilesDone: number;
  /** Tiles that failed for good (included in tilesDone). */
  tilesFailed: number;
  /** Finalise job progress in percent (0 until it runs). */
  finalisePercent: number;
  /** Set when state is 'failed'. */
  failure?: { code: ErrorCode; message: string };
}

export interface BatchStatus extends BatchProgress {
  failures: TileFailure[];
  /** While the batch is unfinished: the workers connected to its queue (`host:pid`); null when Redis does not list its clients. */
  workers?: string[] | null;
  /** While the batch is unfinished: its running jobs whose worker is gone (stalled-jobs.ts). */
  stalled: StalledJob[];
  /** What an operator must act on, one line each: stalled jobs, no worker connected. */
  warnings: string[];
  /** The batch's row from the database, when there is one (plan, timestamps). */
  record?: Record<string, unknown>;
}

export interface QueueRef {
  queueName?: string;
  queuePrefix?: string;
}

/** @internal shared by followBatch and batchStatus; null when the batch was never enqueued. */
export async function readBatchProgress(queue: Queue, batchId: string): Promise<{ progress: BatchProgress; parent: Job } | null> {
  // State first, job hash second: moveToFailed sets the reason and the state atomically, so a
  // hash read after seeing 'failed' always carries the reason (the other order can miss it).
  const state = await queue.getJobState(finaliseJobId(batchId));
  const parent = await queue.getJob(finaliseJobId(batchId));
  if (!parent || state === 'unknown') return null;
  const counts = await parent.getDependenciesCount();
  const processed = counts.processed ?? 0;
  const failed = (counts.failed ?? 0) + (counts.ignored ?? 0);
  const progress: BatchProgress = {
    batchId,
    state,
    tilesTotal: processed + failed + (counts.unprocessed ?? 0),
    tilesDone: processed + failed,
    tilesFailed: failed,
    finalisePercent: typeof parent.progress === 'number' ? parent.progress : 0,
  };
  if (state === 'failed') {
    const err = decodeFailure(parent.failedReason, batchId);
    progress.failure = { code: err.code, message: err.message };
  }
  return { progress, parent };
}

/**
 * Status of a queued batch for `tuban status`: counts, the tiles that failed for good with
 * their codes, and the batch's database row if the `batches` table has one.
 */
export async function batchStatus(
  connection: string | ConnectionOptions,
  db: Queryable | undefined,
  batchId: string,
  ref: QueueRef = {},
): Promise<BatchStatus | null> {
  const { connection: conn, queueName, prefix } = resolveTarget({ connection, ...ref });
  const queue = new Queue(queueName, { connection: conn, prefix });
  try {
    const read = await readBatchProgress(queue, batchId);
    if (!read) return null;
    const failures: TileFailure[] = [];
    const keyPrefix = `${prefix}:${queueName}:`;
    for (const [key, reason] of Object.entries(await read.parent.getIgnoredChildrenFailures())) {
      const child = key.startsWith(keyPrefix) ? await queue.getJob(key.slice(keyPrefix.length)) : undefined;
      const tileId = (child?.data as { tileId?: string } | undefined)?.tileId ?? key;
      const err = decodeFailure(reason, tileId);
      failures.push({ tileId, code: err.code, message: err.message });
    }
    let record: Record<string, unknown> | undefined;
    if (db) {
      // The table belongs to the planner (pipeline/batch/batch-store.ts); a database without it (older
      // schema, other search_path) still gets the queue's view.
      const exists = await db.query<{ t: string | null }>(`select to_regclass('batches')::text as t`);
      if (exists.rows[0]?.t) {
        record = (await db.query(`select id, epoch, status, created_at, finished_at, report->'counts' as counts from batches where id = $1`, [batchId])).rows[0];
      }
    }
    const status: BatchStatus = { ...read.progress, failures, stalled: [], warnings: [] };
    if (read.progress.state !== 'completed' && read.progress.state !== 'failed') {
      // One look, so the worker list is read again a few seconds on before a job's worker is called gone.
      const watch = await watchBatch(queue, batchId, { recheckAfterMs: WORKER_RECHECK_MS });
      status.workers = watch.workers ?? null;
      status.stalled = watch.stalled;
      const unfinished = read.progress.tilesTotal - read.progress.tilesDone + 1; // and the finalise job
      status.warnings = [...(watch.workers?.length === 0 ? [noWorkerLine(queueName, prefix, unfinished)] : []), ...watch.stalled.map((s) => s.message)];
    }
    if (read.progress.state === 'completed' && record && record.status !== 'done') {
      // Redis kept the finished flow; the database is not the one it ran on (restored from an earlier backup).
      status.warnings.push(
        `the queue finished batch ${batchId}, but this database holds it ${String(record.status)}, not finalised (restored from a backup taken before it finished, or another database on the same Redis and queue prefix): run the same tuban batch --queue again, and it runs afresh`,
      );
    }
    return { ...status, record };
  } finally {
    await queue.close();
  }
}
