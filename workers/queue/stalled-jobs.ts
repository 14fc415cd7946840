/**
 * Which of a batch's running jobs have lost their worker, for `tuban status` and a following
 * `tuban batch --queue`. BullMQ only notices a dead worker once the job's lock (`<prefix>:<queue>:<job>:lock`,
 * 120 s) has expired and a live worker's stall check (every 30 s) finds it: until then the job
 * is 'active' like any other. Two things tell sooner or plainer:
 *   - the worker that took it (`processedBy`, its `host:pid` name) is not among the clients
 *     connected to the queue (`getWorkers()`, Redis' CLIENT LIST): a kill -9, an OOM kill or a
 *     crash closes its connection at once; a machine gone off the network, once Redis notices;
 *   - nobody holds its lock any more (a worker stuck for longer than the lock, or one that died).
 */
import type { Job, Queue } from 'bullmq';
import { finaliseJobId } from './enqueue-batch.js';
import { connectedWorkers } from './worker-databases.js';
import { MAX_STALLED_COUNT, STALLED_INTERVAL_MS } from './worker-defaults.js';

export interface StalledJob {
  jobId: string;
  /** The tile; absent for the batch's finalise job. */
  tileId?: string;
  /** The worker that took it (`host:pid`), when BullMQ recorded one. */
  worker?: string;
  /** 'worker-gone': its worker is no longer connected to Redis, the lock not yet expired; 'lock-expired': nobody holds its lock. */
  reason: 'worker-gone' | 'lock-expired';
  /** Seconds until its lock expires (0 once it has). */
  lockExpiresInS: number;
  /** When this run of it started (ISO 8601), and seconds since. */
  startedAt: string;
  activeForS: number;
  /** Times it has already been handed back after a dead worker. */
  restarts: number;
  /** What is wrong, what happens next, what to check: one line. */
  message: string;
}

export interface BatchWatch {
  /** The workers connected to the queue (`host:pid`); undefined when Redis does not list its clients (a managed Redis). */
  workers?: string[];
  stalled: StalledJob[];
  /** The runs (`jobId@processedOn`) whose worker was missing from both reads of this look: the next look's `goneBefore`. */
  workerGone: Set<string>;
}

export interface WatchOptions {
  /**
   * Wait this long before reading the worker list a second time, when a job's worker was missing
   * from the first read: a worker whose connection drops reconnects within 1–3 s (ioredis) and is
   * not gone. Default 0 (the second read straight after the jobs').
   */
  recheckAfterMs?: number;
  /** The previous look's `workerGone`: when given, a job is reported worker-gone only if it was then too (two looks some time apart). */
  goneBefore?: ReadonlySet<string>;
}

/** How long `tuban status` waits before it reads the worker list again: longer than an ioredis reconnect. */
export const WORKER_RECHECK_MS = 3000;

/** The lock's time to live in ms (-2: no lock), through the Redis client BullMQ holds; undefined when its backend has none to ask. */
async function lockTtl(queue: Queue, jobId: string): Promise<number | undefined> {
  // The default Redis backend's client is ioredis behind a proxy that passes PTTL through.
  const client = await (queue.getBackend() as unknown as { client?: Promise<{ pttl?(key: string): Promise<number> }> }).client;
  return typeof client?.pttl === 'function' ? client.pttl(queue.toKey(`${jobId}:lock`)) : undefined;
}

const runOf = (job: Job) => `${job.id}@${job.processedOn}`;

export async function watchBatch(queue: Queue, batchId: string, opts: WatchOptions = {}): Promise<BatchWatch> {
  const before = await connectedWorkers(queue);
  const ours = (await queue.getActive()).filter((job) => (job.data as { batchId?: unknown } | undefined)?.batchId === batchId);
  const candidates: { job: Job; ttl: number | undefined; lockGone: boolean }[] = [];
  for (const job of ours) {
    const ttl = await lockTtl(queue, job.id!);
    const lockGone = ttl === -2;
    const workerGone = !lockGone && before !== undefined && job.processedBy !== undefined && !before.includes(job.processedBy);
    if (lockGone || workerGone) candidates.push({ job, ttl, lockGone });
  }
  // The worker list is read again after the jobs: a worker that connected and took a job between the
  // two reads, or whose connection was reconnecting, is not gone. Missing from both reads, it is.
  let workers = before;
  if (candidates.some((c) => !c.lockGone)) {
    if (opts.recheckAfterMs) await new Promise((r) => setTimeout(r, opts.recheckAfterMs));
    workers = await connectedWorkers(queue);
  }
  const stalled: StalledJob[] = [];
  const workerGone = new Set<string>();
  for (const { job, ttl, lockGone } of candidates) {
    if (!lockGone && (workers === undefined || workers.includes(job.processedBy!))) continue;
    // Read again: a job that finished between the two reads has no lock either, and is no news.
    const now = await queue.getJob(job.id!);
    if (!now || now.processedOn !== job.processedOn || (await queue.getJobState(job.id!)) !== 'active') continue;
    if (!lockGone) {
      workerGone.add(runOf(job));
      if (opts.goneBefore && !opts.goneBefore.has(runOf(job))) continue;
    }
    stalled.push(describe(job, batchId, lockGone ? 'lock-expired' : 'worker-gone', lockGone ? 0 : Math.ceil((ttl ?? 0) / 1000), workers));
  }
  return { workers, stalled, workerGone };
}

function describe(job: Job, batchId: string, reason: StalledJob['reason'], lockExpiresInS: number, workers: string[] | undefined): StalledJob {
  const tileId = job.id === finaliseJobId(batchId) ? undefined : (job.data as { tileId?: string }).tileId;
  const worker = job.processedBy;
  const restarts = job.stalledCounter ?? 0;
  const started = job.processedOn ?? Date.now();
  const activeForS = Math.round((Date.now() - started) / 1000);
  const what = `${tileId === undefined ? 'the finalise job' : `tile ${tileId}`} (job ${job.id}) is stalled`;
  const who = worker ? `its worker ${worker}` : 'its worker';
  const wrong =
    reason === 'worker-gone'
      ? `${who} is no longer connected to Redis (killed, out of memory, crashed, or its machine or network is down), but its job lock holds for ${lockExpiresInS} s more`
      : `no worker holds its job lock any more after ${activeForS} s running (${worker ? `${worker} died, was killed, or is stuck` : 'its worker died or is stuck'})`;
  const withinS = lockExpiresInS + STALLED_INTERVAL_MS / 1000;
  const after =
    restarts >= MAX_STALLED_COUNT
      ? `BullMQ's stall check fails it for good within about ${withinS} s, as it was handed back ${restarts} times already (the batch then stops with BATCH.TILES_FAILED)`
      : `BullMQ's stall check hands it to a worker within about ${withinS} s, and it runs again from the start (hand-back ${restarts + 1} of ${MAX_STALLED_COUNT}; after that it fails for good)`;
  const next =
    workers !== undefined && workers.length === 0
      ? `No worker is connected to take it over: start \`tuban worker\` (same DATABASE_URL and REDIS_URL); once one runs, ${after}`
      : after;
  const check = `Check why ${worker ?? 'the worker'} stopped: its log, \`dmesg | grep -i oom\` on its machine, whether the machine is up`;
  return { jobId: job.id!, tileId, worker, reason, lockExpiresInS, startedAt: new Date(started).toISOString(), activeForS, restarts, message: `${what}: ${wrong}. ${next}. ${check}.` };
}

/** `tuban status`'s line for an unfinished batch when no worker is connected to its queue. */
export function noWorkerLine(queueName: string, prefix: string, unfinished: number): string {
  return (
    `no worker is connected to queue ${queueName} (Redis key prefix ${prefix}): the batch's ${unfinished} unfinished job(s) wait until one is. ` +
    `Start one with \`tuban worker\` (same DATABASE_URL and REDIS_URL${queueName === 'tuban' ? '' : `, TUBAN_QUEUE_NAME=${queueName}`}${prefix === 'tuban' ? '' : `, TUBAN_QUEUE_PREFIX=${prefix}`})`
  );
}
