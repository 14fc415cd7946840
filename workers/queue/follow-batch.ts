/**
 * Wait for a queued batch, reporting progress. Polls instead of subscribing to QueueEvents:
 * a Redis restart drops stream subscribers' position, while a poll simply waits for ioredis to
 * reconnect and reads the current state again.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { TubanError } from '../../schemas/errors.js';
import { resolveTarget } from './connection.js';
import { decodeFailure } from './job-failure.js';
import { readBatchProgress, type BatchProgress, type QueueRef } from './batch-status.js';
import { watchBatch, type StalledJob } from './stalled-jobs.js';

export interface FollowBatchOptions extends QueueRef {
  /** Poll interval in ms. Default 500. */
  pollMs?: number;
  /** Stop following (the batch keeps running). */
  signal?: AbortSignal;
  /**
   * Called once when no worker has been connected to the queue for `noWorkerMs` while the batch is
   * unfinished (none started, or all died): it would otherwise wait without a word. Called again
   * only after a worker has been seen in between.
   */
  onNoWorker?: (ms: number) => void;
  /** Default 15 000. */
  noWorkerMs?: number;
  /**
   * Called once for each run of a job whose worker is gone (killed, crashed: stalled-jobs.ts; missing
   * from the worker list on two looks 5 s apart, so a worker reconnecting is not called gone), while
   * its lock still holds it or until BullMQ's stall check hands it back; it would otherwise look running.
   */
  onStalled?: (job: StalledJob) => void;
}

export interface FollowedProgress extends BatchProgress {
  /** Running jobs whose worker is gone, at the last look (every 5 s, with `onStalled` or `onNoWorker`). */
  stalledJobs: number;
}

/**
 * Resolves with the finalise job's return value when the batch completes; rejects with the
 * finalise job's TubanError when it fails, or INPUT.NOT_FOUND when the batch is not queued.
 * `onProgress` is called on every change.
 */
export async function followBatch(
  connection: string | ConnectionOptions,
  batchId: string,
  onProgress: (progress: FollowedProgress) => void,
  opts: FollowBatchOptions = {},
): Promise<unknown> {
  const { connection: conn, queueName, prefix } = resolveTarget({ connection, ...opts });
  const queue = new Queue(queueName, { connection: conn, prefix });
  // Connection errors while Redis is away: ioredis reconnects and the pending poll resumes.
  queue.on('error', () => {});
  const pollMs = opts.pollMs ?? 500;
  let last = '';
  const noWorkerMs = opts.noWorkerMs ?? 15_000;
  let lastWorkerCheck = 0;
  let noWorkerSince: number | null = null;
  let told = false;
  /** Runs of stalled jobs already told (`job@start`): a job handed back, then stalled again, is told again. */
  const toldStalled = new Set<string>();
  let stalledJobs = 0;
  /** The previous look's worker-gone runs: a worker-gone job is told only when two looks, 5 s apart, found it so. */
  let goneBefore = new Set<string>();
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const read = await readBatchProgress(queue, batchId);
      if (!read && last !== '') {
        // Seen, then gone: Redis lost it (restarted without its append-only file, keys deleted).
        throw new TubanError('INPUT.NOT_FOUND', 'the batch vanished from the queue while it ran (Redis restarted without its append-only file, or its keys were deleted); run the same tuban batch --queue again to enqueue it afresh', batchId);
      }
      if (!read) throw new TubanError('INPUT.NOT_FOUND', 'batch is not on the queue (was it enqueued?)', batchId);
      const progress: FollowedProgress = { ...read.progress, stalledJobs };
      const key = JSON.stringify(progress);
      if (key !== last) {
        last = key;
        onProgress(progress);
      }
      if (read.progress.state === 'completed') return read.parent.returnvalue;
      if (read.progress.state === 'failed') throw decodeFailure(read.parent.failedReason, batchId);
      if ((opts.onNoWorker || opts.onStalled) && Date.now() - lastWorkerCheck >= Math.min(noWorkerMs, 5000)) {
        lastWorkerCheck = Date.now();
        // A failed look is not worth stopping the follow for: the next one, 5 s on, may do.
        const watch = await watchBatch(queue, batchId, { goneBefore }).catch(() => ({ workers: undefined, stalled: [], workerGone: new Set<string>() }));
        goneBefore = watch.workerGone;
        stalledJobs = watch.stalled.length;
        for (const job of watch.stalled) {
          const run = `${job.jobId}@${job.startedAt}`;
          if (toldStalled.has(run)) continue;
          toldStalled.add(run);
          opts.onStalled?.(job);
        }
        // CLIENT LIST may be refused (a managed Redis): then nothing is said.
        const workers = watch.workers?.length ?? 1;
        if (workers > 0) noWorkerSince = null;
        else if (noWorkerSince === null) noWorkerSince = Date.now();
        else if (!told && Date.now() - noWorkerSince >= noWorkerMs) {
          told = true;
          opts.onNoWorker?.(Date.now() - noWorkerSince);
        }
        if (workers > 0) told = false;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await queue.close();
  }
}
