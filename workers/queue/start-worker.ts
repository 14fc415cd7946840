/**
 * A BullMQ worker over the same `JobHandlers` the embedded runner uses. This file owns
 * everything queue-specific about running a handler: payload validation, mapping TubanError
 * dispositions onto BullMQ's retry machinery, progress, shutdown and stalled-job recovery.
 *
 * Handlers run in this process (the tile handler fans its CPU work out to worker threads),
 * so the event loop that renews the job lock is shared with the handler's own JS. The lock
 * therefore defaults to a generous 120 s: a handler may hog the loop for up to ~60 s (the
 * renewal interval is half the lock) before another worker could wrongly take its job over.
 * The price is that a SIGKILLed worker's job waits up to lockDuration + stalledInterval
 * before another worker picks it up. Tests shorten both.
 */
import { hostname } from 'node:os';
import { Job, Worker, UnrecoverableError, WaitingError, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { JobPayloads, type JobContext, type JobHandlers, type JobName } from '../../schemas/jobs.js';
import { TubanError, asTubanError } from '../../schemas/errors.js';
import { config } from '../../pipeline/config.js';
import { resolveTarget } from './connection.js';
import { decodeFailure, encodeFailure } from './job-failure.js';
import { redactUrl } from '../../pipeline/redact-url.js';
import { UNREACHABLE_CODES } from '../../pipeline/socket-errors.js';
import { redisOutageLog } from './redis-outage-log.js';
import { LOCK_DURATION_MS, MAX_STALLED_COUNT, STALLED_INTERVAL_MS } from './worker-defaults.js';
import { settledWithin } from './settled-within.js';
import { oneQuestionOptions } from './redis-answers.js';
import { describeIdentity, sameDatabase, type DatabaseIdentity } from '../../pipeline/store/database-identity.js';
import { ANNOUNCE_EVERY_MS, announceDatabase, withdrawDatabase } from './worker-databases.js';

export interface StartWorkerOptions {
  /** A `redis://` URL or BullMQ connection options. */
  connection: string | ConnectionOptions;
  handlers: JobHandlers;
  /**
   * Jobs this process runs at once. Default 1: a tile job already uses every core via threads.
   * Memory grows by one tile's working set per job: measured with `npm run bench:scale`
   * (batch-report.json peakRssBytes, concurrency 1) a worker peaks at ~0.39 GiB on a 1024² tile
   * and ~0.92 GiB on a 4096² tile, i.e. ~0.36 GiB of process baseline plus ~36 bytes per tile
   * pixel (≈ 4.4 GiB extrapolated for a 10980² Sentinel-2 tile). Size N so that
   * baseline + N × per-tile working set fits the machine.
   */
  concurrency?: number;
  queueName?: string;
  queuePrefix?: string;
  log?: Logger;
  /** Job lock in ms; see the file comment for why it is long. Default 120 000. */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose lock expired (their worker died). Default 30 000. */
  stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it fails. Default 2. */
  maxStalledCount?: number;
  /** Close gracefully on SIGTERM/SIGINT/SIGHUP (a terminal closing). Default true; tests running several workers in one process pass false. */
  handleSignals?: boolean;
  /**
   * How long closing waits before it asks whether Redis answers: if not, the worker disconnects
   * without it (BullMQ's close waits for a connection that an unreachable Redis never gives: a
   * SIGTERMed worker hung for more than 25 s; a job it held is recovered by another worker's stall
   * check); if so, it waits on, up to `jobCloseTimeoutMs`. Default 10 000 ms.
   */
  closeTimeoutMs?: number;
  /** How long closing waits for a running job while Redis answers. Default JOB_CLOSE_TIMEOUT_MS. */
  jobCloseTimeoutMs?: number;
  /** Least time between two reminders that Redis is still away. Default 60 000. */
  redisReminderMs?: number;
  /** The database the handlers use, its password hidden, for the `worker started` line. */
  describeDatabase?: string;
  /**
   * The database the handlers use and its URL without the password: a job enqueued from another
   * (`tuban batch --queue` given another DATABASE_URL) is refused, naming both, and nothing of it runs.
   */
  database?: DatabaseIdentity & { url: string };
}

export interface WorkerHandle {
  readonly worker: Worker;
  /** Aborted when the worker starts closing; the same signal handlers get as ctx.signal. */
  readonly signal: AbortSignal;
  /**
   * Stop taking jobs, let the current ones finish or hand them back, disconnect. Idempotent; never
   * rejects. Resolves true when that all happened, false when it did not (Redis not answering, a job
   * still running at the timeout, closing failing): said in one error line, the exit code's to tell.
   */
  close(): Promise<boolean>;
}

/**
 * How long a closing worker waits for the job it runs while Redis answers: a 10980² tile takes
 * 18–30 s and stops only between its stages, and a job left running is handed back only by the stall
 * check (~2½ min later). Under systemd's default TimeoutStopSec (90 s) with the database's close
 * (10 s) and the disconnect (1 s) after it, so systemd never has to SIGKILL (README's tuban-worker@.service;
 * cli/systemd-unit.test.ts adds these up).
 */
export const JOB_CLOSE_TIMEOUT_MS = 60_000;
/** How long the question "does Redis answer now?" may take, at a close's deadline. */
export const REDIS_PING_TIMEOUT_MS = 2000;
/** How long closing waits before asking whether Redis answers (the default of `closeTimeoutMs`). */
export const WORKER_CLOSE_TIMEOUT_MS = 10_000;
/** How long a close that did not complete waits for the disconnect. */
export const DISCONNECT_TIMEOUT_MS = 1000;

/** Least time between two progress updates of a job, and before its first. */
const PROGRESS_INTERVAL_MS = 1000;
/** systemctl stop, Ctrl-C, and the terminal closing (an SSH session ending under a worker started without nohup). */
const CLOSE_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

function isJobName(name: string): name is JobName {
  return Object.hasOwn(JobPayloads, name);
}

/** Failed tiles named in full in the message; the rest are counted (`tuban status` lists them all). */
const FAILURES_NAMED = 3;

/**
 * The finaliser runs even when tiles failed for good (children use ignoreDependencyOnFailure),
 * but only `skip` failures are acceptable losses: the tile handler recorded those tiles as
 * rejected. A tile that failed with a `fail` code, or spent its retries, would silently be
 * missing from the ledger, so the batch stops instead, in one line an operator acts on: which
 * tiles, their last error, and that the same command runs it again (enqueue-batch.ts removes a
 * failed flow and enqueues every tile afresh: nothing of this run is resumed).
 */
async function checkChildFailures(job: Job, batchId: string, queue: Worker): Promise<void> {
  const failures = Object.entries(await job.getIgnoredChildrenFailures()).map(([key, reason]) => ({ key, error: decodeFailure(reason, key) }));
  const blocking = failures.filter((f) => f.error.disposition !== 'skip');
  if (blocking.length === 0) return;
  const counts = await job.getDependenciesCount();
  const total = (counts.processed ?? 0) + (counts.failed ?? 0) + (counts.ignored ?? 0) + (counts.unprocessed ?? 0);
  const named = await Promise.all(blocking.slice(0, FAILURES_NAMED).map((f) => describeTileFailure(queue, f.key, f.error)));
  const more = blocking.length > FAILURES_NAMED ? `; and ${blocking.length - FAILURES_NAMED} more (tuban status ${batchId} lists them)` : '';
  throw new TubanError(
    'BATCH.TILES_FAILED',
    `batch ${batchId}: ${blocking.length} of ${total} tile job(s) failed for good, so the batch was not finalised: ${named.join('; ')}${more}. ` +
      'Fix the cause (a server named above that is away, a bad input), then run the same tuban batch --queue again: it runs the batch afresh, every tile',
  );
}

/**
 * A job enqueued from another database than this worker's is refused (DB.SETUP, not retried): run
 * here, it would plan nothing the command planned and finalise a batch the command never reads back;
 * a batch the queue held completed was run afresh on the workers' database at every command.
 */
function checkSameDatabase(payload: { batchId: string; from?: DatabaseIdentity & { url: string } }, own: (DatabaseIdentity & { url: string }) | undefined): void {
  const from = payload.from;
  if (!from || !own || sameDatabase(from, own)) return;
  throw new TubanError(
    'DB.SETUP',
    `enqueued from the database ${from.url} (${describeIdentity(from)}), but the tuban worker runs on ${own.url} (${describeIdentity(own)}): ` +
      'nothing of it was run. Give tuban batch --queue and every tuban worker the same DATABASE_URL, then run the same tuban batch --queue again',
    `batch ${payload.batchId}`,
  );
}

/** `tile T (job J): CODE: message (N attempts)`, from a child's job key (`prefix:queue:tile.detect~batch~tile`). */
async function describeTileFailure(queue: Worker, key: string, err: TubanError): Promise<string> {
  const id = key.slice(key.lastIndexOf(':') + 1);
  const tileId = id.split('~').slice(2).join('~') || id;
  const child = await Job.fromId(queue, id).catch(() => undefined);
  const attempts = child ? ` (${child.attemptsMade} attempt${child.attemptsMade === 1 ? '' : 's'})` : '';
  // An error about the tile or its job starts with that name, said once already.
  const said = [tileId, id].find((name) => err.message.startsWith(`${name}: `));
  const message = said ? err.message.slice(said.length + 2) : err.message;
  return `tile ${tileId} (job ${id}): ${err.code}: ${message}${attempts}`;
}

/** Where the worker's Redis is, for the log: the URL without its password, or host:port of options. */
function redisWhere(connection: string | ConnectionOptions): string {
  if (typeof connection === 'string') return redactUrl(connection);
  const { host, port } = connection as { host?: string; port?: number };
  return `redis://${host ?? 'localhost'}:${port ?? 6379}`;
}

export function startWorker(opts: StartWorkerOptions): WorkerHandle {
  const { connection, queueName, prefix } = resolveTarget(opts);
  const log = (opts.log ?? pino({ level: config().logLevel })).child({ queue: queueName });
  const shutdown = new AbortController();
  const handlers = opts.handlers as Record<JobName, (payload: unknown, ctx: JobContext) => Promise<unknown>>;

  const processor = async (job: Job, token?: string): Promise<unknown> => {
    const subject = job.id ?? job.name;
    if (!isJobName(job.name)) {
      throw new UnrecoverableError(encodeFailure(new TubanError('INTERNAL', `unknown job name '${job.name}'`, subject)));
    }
    const name = job.name;
    const parsed = JobPayloads[name].safeParse(job.data);
    if (!parsed.success) {
      // Bad input never gets better by retrying.
      throw new UnrecoverableError(encodeFailure(new TubanError('INTERNAL', `invalid ${name} payload: ${parsed.error.message}`, subject)));
    }
    const jobLog = log.child({ job: job.id, attempt: job.attemptsMade + 1 });
    const started = Date.now();
    running++;
    let lastPercent = -1;
    let lastReport = started;
    const ctx: JobContext = {
      // At most one Redis round trip a second (none in a job's first second), and only for a new
      // whole percent. Every update is a Lua script and an event-stream entry in Redis; a small
      // tile's four updates cost its worker and Redis (on the same cores) more than anyone reads
      // from them: nothing shows a tile job's progress, and a job done in under a second is done.
      progress(fraction) {
        const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
        if (percent === lastPercent) return;
        const now = Date.now();
        if (now - lastReport < PROGRESS_INTERVAL_MS) return;
        lastPercent = percent;
        lastReport = now;
        job.updateProgress(percent).catch((err: unknown) => jobLog.warn({ err }, 'progress update lost'));
      },
      signal: shutdown.signal,
    };
    try {
      checkSameDatabase(parsed.data, opts.database);
      if (name === 'batch.finalise') await checkChildFailures(job, (parsed.data as { batchId: string }).batchId, worker);
      const result = await handlers[name](parsed.data, ctx);
      jobLog.info({ ms: Date.now() - started }, `${name} done`);
      return result;
    } catch (err) {
      if (shutdown.signal.aborted && token) {
        // We are closing and the handler stopped early: hand the job back untouched (no
        // attempt used) so another worker starts it now rather than after stall detection.
        jobLog.info('handing job back on shutdown');
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const te = asTubanError(err, subject);
      jobLog.warn({ code: te.code, disposition: te.disposition, err: te.message }, `${name} failed`);
      // skip: the handler recorded the input as rejected; fail: retrying cannot help. Only
      // `retry` codes go through BullMQ's exponential backoff.
      if (te.disposition === 'retry') throw new Error(encodeFailure(te), { cause: err });
      throw new UnrecoverableError(encodeFailure(te));
    } finally {
      running--;
    }
  };

  const workerName = `${hostname()}:${process.pid}`;
  const worker = new Worker(queueName, processor, {
    connection,
    prefix,
    concurrency: opts.concurrency ?? 1,
    name: workerName,
    lockDuration: opts.lockDurationMs ?? LOCK_DURATION_MS,
    stalledInterval: opts.stalledIntervalMs ?? STALLED_INTERVAL_MS,
    maxStalledCount: opts.maxStalledCount ?? MAX_STALLED_COUNT,
  });
  const redis = redisWhere(opts.connection);
  const outage = redisOutageLog(log, redis, opts.redisReminderMs);
  let closing: Promise<boolean> | undefined;
  /** Jobs this process runs now: what a close that timed out was waiting for, if Redis answers. */
  let running = 0;
  // The backend's connection events say when Redis goes and comes back (BullMQ forwards its
  // connections' 'error', 'close' and 'ready' there). Prepended, so the outage is known before the
  // same error reaches the worker's 'error' listener below.
  const backend = worker.backend as unknown as Partial<Pick<NodeJS.EventEmitter, 'prependListener' | 'on'>>;
  if (typeof backend.prependListener === 'function' && typeof backend.on === 'function') {
    // Only a connection's errors are an outage: a Redis that answers but refuses (a SELECT of a missing
    // database, an ACL without INFO) is logged as the worker error it is, not as "lost" and "back".
    backend.prependListener('error', (err: Error) => closing || (isConnectionError(err) && outage.lost(err.message)));
    backend.prependListener('close', () => closing || outage.lost('connection closed'));
    backend.on('ready', () => outage.back());
  }
  // Said in Redis for tuban batch --queue, which refuses a batch from another database before it changes anything (worker-databases.ts).
  const database = opts.database;
  const announce = () => {
    if (!database || closing) return;
    announceDatabase(worker, workerName, database).catch((err: unknown) => {
      if (!outage.down && !closing) log.warn({ err: (err as Error).message }, "could not say this worker's database in Redis");
    });
  };
  announce();
  if (typeof backend.on === 'function') backend.on('ready', announce);
  // Again while it runs: an entry not written again lapses (a worker killed never withdraws it).
  const announcing = database ? setInterval(announce, ANNOUNCE_EVERY_MS) : undefined;
  announcing?.unref();
  // Without a listener an 'error' event (Redis gone) would crash the process; ioredis reconnects.
  // While Redis is away every reconnect try is an error: the outage log speaks for them.
  worker.on('error', (err) => outage.down || closing || log.warn({ err: err.message }, 'worker error'));
  worker.on('stalled', (id) => log.warn({ job: id }, 'job stalled; its worker died or starved the event loop'));

  const onSignal = (sig: NodeJS.Signals) => {
    log.info({ signal: sig }, 'closing worker');
    void handle.close();
  };
  const handle: WorkerHandle = {
    worker,
    signal: shutdown.signal,
    close() {
      closing ??= (async () => {
        for (const s of CLOSE_SIGNALS) process.off(s, onSignal);
        shutdown.abort(new TubanError('QUEUE.TRANSIENT', 'worker shutting down'));
        clearInterval(announcing);
        if (database) void withdrawDatabase(worker, workerName).catch(() => undefined);
        const timeoutMs = opts.closeTimeoutMs ?? WORKER_CLOSE_TIMEOUT_MS;
        const jobTimeoutMs = Math.max(timeoutMs, opts.jobCloseTimeoutMs ?? JOB_CLOSE_TIMEOUT_MS);
        const t0 = Date.now();
        const finished = worker.close().then(
          () => true as const,
          (err: unknown) => ({ err: err instanceof Error ? err : new Error(String(err)) }),
        );
        let closed = await settledWithin(finished, timeoutMs);
        // Redis answers: a job still running (a large tile does not stop mid-way) or close()'s last
        // calls are worth waiting for, so the job is finished or handed back, not left to the stall check.
        // Asked again at the end only after that longer wait.
        let answers = closed === 'late' ? await redisAnswers(worker, outage.down) : undefined;
        if (closed === 'late' && answers) {
          closed = await settledWithin(finished, jobTimeoutMs - (Date.now() - t0));
          answers = undefined;
        } else if (closed === 'late') {
          closed = await settledWithin(finished, 0); // it may have finished while Redis was asked
        }
        if (closed === true) {
          log.info('worker closed');
          return true;
        }
        // Error level: the stop did not complete, and systemd will say so too (exit 1).
        const waitedS = Math.round((Date.now() - t0) / 1000);
        if (closed !== 'late') {
          log.error({ err: closed.err.message }, `closing the worker failed (Redis at ${redis}): ${closed.err.message}; disconnected (a job this worker held is recovered by the stall check)`);
        } else if (!(answers ?? (await redisAnswers(worker, outage.down)))) {
          // Asked now, not inferred from `running`: a job handing itself back waits on Redis too.
          log.error({ waitedS }, `Redis at ${redis} did not answer within ${waitedS} s while the worker closed; disconnected without it (a job this worker held is recovered by the stall check)`);
        } else if (running > 0) {
          log.error({ waitedS, running }, `${running} job(s) still running ${waitedS} s after the worker began closing (a handler not stopping, or waiting on a server that does not answer); disconnected (the stall check gives the job to another worker)`);
        } else {
          log.error({ waitedS }, `the worker did not finish closing within ${waitedS} s though Redis at ${redis} answers and no job runs; disconnected (a job this worker held is recovered by the stall check)`);
        }
        // disconnect() stops ioredis reconnecting, so nothing keeps the process alive.
        await Promise.race([worker.disconnect().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, DISCONNECT_TIMEOUT_MS).unref())]);
        return false;
      })();
      return closing;
    },
  };
  if (opts.handleSignals ?? true) {
    for (const s of CLOSE_SIGNALS) process.once(s, onSignal);
  }
  log.info({ prefix, redis, database: opts.describeDatabase, concurrency: opts.concurrency ?? 1 }, 'worker started');
  return handle;
}

/**
 * Whether Redis answers a PING now, on a connection of its own (the worker's may be closing, or
 * queued behind a command that never returns), within REDIS_PING_TIMEOUT_MS. `knownDown`: the
 * outage log already knows it is away, so no need to ask.
 */
async function redisAnswers(worker: Worker, knownDown: boolean): Promise<boolean> {
  if (knownDown) return false;
  let probe: Redis | undefined;
  let over = false;
  const asked = (async () => {
    const client = await (worker.getBackend() as unknown as { client: Promise<Redis> }).client;
    if (over) return false;
    probe = client.duplicate(oneQuestionOptions(REDIS_PING_TIMEOUT_MS));
    probe.on('error', () => undefined);
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  })().catch(() => false);
  try {
    return (await settledWithin(asked, REDIS_PING_TIMEOUT_MS)) === true;
  } finally {
    over = true;
    probe?.disconnect();
  }
}

/** An error of the connection itself (refused, reset, timed out, the host not found), not of a command Redis refused. */
function isConnectionError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code === 'ENOTFOUND')) || /Connection is closed|connect ETIMEDOUT/i.test(err.message);
}
