/**
 * Scale-out benchmark of the production path: one seeded multi-tile batch through BullMQ,
 * run by 1, 2, 4, … `tuban worker` processes; prints tiles/minute and speedup per count.
 *
 *   npm run bench:scale -- --workers 1,2,4,8,16 [--tiles-per-side 8] [--size 2048] [--seed 42] [--warm 1|0]
 *                          [--score-workers 0] [--inflate-workers 0] [--gc single|concurrent] [--gc-stats 1|0] [--concurrency 1] [--node-args '…'] [--params JSON]
 *
 * Uses DATABASE_URL / REDIS_URL (or the TUBAN_TEST_* ones test-servers.mjs exports); with
 * neither, it starts throwaway servers through scripts/test-servers.mjs. Each
 * worker count gets its own queue (TUBAN_QUEUE_NAME), because the batch id is deterministic and
 * finished jobs are kept: re-enqueueing on the same queue would, by design, run nothing.
 * Worker processes are real OS processes, so on a machine with fewer cores than workers the
 * speedup flattens at the core count: report `cores` with the numbers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { generateScene } from '../fixtures/synthetic-scene.js';
import { BatchArgsSchema } from '../pipeline/batch/batch-args.js';
import { loadReport } from '../pipeline/batch/batch-store.js';
import { planAndStore } from '../pipeline/batch/run-batch.js';
import { largestFirst } from '../pipeline/batch/plan-batch.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { resolveTarget } from '../workers/queue/connection.js';
import { enqueueBatch, finaliseJobId, tileJobId } from '../workers/queue/enqueue-batch.js';
import { followBatch } from '../workers/queue/follow-batch.js';
import { flag } from './bench-lib.js';

const databaseUrl = process.env.DATABASE_URL ?? process.env.TUBAN_TEST_DATABASE_URL;
const redisUrl = process.env.REDIS_URL ?? process.env.TUBAN_TEST_REDIS_URL;
if (!databaseUrl || !redisUrl) {
  // No servers given: run again under the test harness, which starts throwaway PostgreSQL +
  // PostGIS and Redis and removes them afterwards, so `npm run bench:scale` works on its own.
  const harness = resolve(fileURLToPath(import.meta.url), '../../../scripts/test-servers.mjs');
  const child = spawn(process.execPath, [harness, '--', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exitCode = await new Promise<number>((r) => child.on('exit', (code) => r(code ?? 1)));
  process.exit();
}
const counts = flag('workers', '1,2,4,8,16').split(',').map(Number);
// 64 tiles of ~256 px by default (was 16): a tile is now ~0.17 s of CPU, so 16 of them on two
// workers were a 1.6 s batch in which the batch's fixed costs (enqueue, the last tile's tail,
// finalise, ~0.2 s) set the speedup more than the workers did (16 tiles: 1.60–1.65×, 64: 1.74–1.85×,
// load 1.2–1.7). `--size 1024 --tiles-per-side 4` is the old batch.
const tilesPerSide = Number(flag('tiles-per-side', '8'));
const size = Number(flag('size', '2048'));
const seed = Number(flag('seed', '42'));
const profDir = flag('cpu-prof', '') ? resolve(flag('cpu-prof', '')) : undefined;
// Node/V8 options for the worker processes, space-separated (e.g. '--trace-deopt'): for profiling; the headline runs without.
const extraNodeArgs = flag('node-args', '').split(' ').filter(Boolean);
// A warm-up batch before the timed one, on the same workers (see below); --warm 0: the timed batch on fresh workers.
const warmUp = flag('warm', '1') !== '0';
// Each worker process is one core's worth of throughput: its tiles scored on its own thread
// (decoding still uses the inflate threads). A worker left to the default would score every tile
// on all the machine's cores, and N of them would only fight over the same cores.
const scoreWorkers = flag('score-workers', process.env.TUBAN_SCORE_WORKERS ?? '0');
// The same for decoding and V8's garbage collector: with a worker per core, inflate threads and
// concurrent-GC helper threads only compete with the other workers (and cost the hand-over to
// them: one worker's CPU per tile is ~15 % lower with neither), so by default a worker decodes on
// its own thread (TUBAN_INFLATE_WORKERS=0) and collects garbage there (--single-threaded-gc).
// `--inflate-workers N --gc concurrent` gives the processes' defaults back.
const inflateWorkers = flag('inflate-workers', process.env.TUBAN_INFLATE_WORKERS ?? '0');
const gcMode = flag('gc', 'single');
// Detector parameters of the batches (as `tuban batch --detector-params`; '{"model":"unsupervised"}').
const detector = flag('params', '') ? (JSON.parse(flag('params', '')) as Record<string, unknown>) : undefined;
// Tiles in flight per worker process (`tuban worker --concurrency`).
const perWorker = flag('concurrency', '1');
if (gcMode !== 'single' && gcMode !== 'concurrent') throw new Error(`--gc must be 'single' or 'concurrent', got '${gcMode}'`);
// Each worker runs with --trace-gc and its GC lines are counted per batch (scavenges, mark-compacts
// and their main-thread ms, incremental marking steps included): where a worker's CPU beyond the
// detector goes. `--gc-stats 0` runs the workers without the flag.
const gcStats = flag('gc-stats', '1') !== '0';
const cli = resolve(fileURLToPath(import.meta.url), '../../cli/tuban.js'); // dist/scripts → dist/cli

/** GC work of the worker processes, counted from their --trace-gc lines. */
interface GcCounts {
  scavenges: number;
  markCompacts: number;
  /** Main-thread ms: scavenge and mark-compact pauses plus the incremental marking steps before each mark-compact. */
  ms: number;
}
const gcTotals: GcCounts = { scavenges: 0, markCompacts: 0, ms: 0 };

/** Counts one --trace-gc line ('… Scavenge 30.5 (64.2) -> 27.6 (64.2) MB, 1.24 / 0.02 ms …', 'Mark-Compact … MB, 2.88 / 0.02 ms  (+ 37.9 ms in 174 steps …'). */
function countGcLine(line: string): boolean {
  const m = /: (Scavenge|Mark-Compact)\b.*? MB, ([\d.]+) \/ [\d.]+ ms(?:\s+\(\+ ([\d.]+) ms in)?/.exec(line);
  if (!m) return false;
  if (m[1] === 'Scavenge') gcTotals.scavenges++;
  else gcTotals.markCompacts++;
  gcTotals.ms += Number(m[2]) + (m[3] ? Number(m[3]) : 0);
  return true;
}

/** Counts a worker's GC lines; other output goes on to ours when the run asked for extra Node options (profiling). */
function readWorkerStdout(child: ChildProcess): void {
  let rest = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (!countGcLine(line) && extraNodeArgs.length) process.stdout.write(`${line}\n`);
  });
}

const log = pino({ level: 'warn' });

/** Where one count's wall time went, from the jobs' own start/finish stamps in Redis (seconds from the enqueue). */
interface Timeline {
  workers: number;
  /** First tile job started. */
  firstStart: number;
  /** Last tile job finished. */
  tilesEnd: number;
  /** Σ tile job run time over all workers, and its share of workers × tile phase (how busy the workers were). */
  tileBusy: number;
  utilisation: number;
  /** Slowest and median tile job. */
  tileMax: number;
  tileMedian: number;
  /** Last tile finished → finalise started (the flow's hand-over), and the finalise job's run time. */
  finaliseWait: number;
  finaliseRun: number;
  /** Finalise finished → the follower saw it (its poll interval). */
  seen: number;
  /** Σ of the detector's own stage timers over the tiles (the rest of a tile job: opening, storing, queue). */
  detectorStages: number;
  load: number;
}

async function timeline(url: string, queueName: string, batchId: string, tileIds: string[], epoch0: number, n: number, seenAt: number, detectorStages: number): Promise<Timeline> {
  const { connection, prefix } = resolveTarget({ connection: url, queueName });
  const queue = new Queue(queueName, { connection, prefix });
  try {
    const tiles = await Promise.all(tileIds.map((id) => queue.getJob(tileJobId(batchId, id))));
    const fin = await queue.getJob(finaliseJobId(batchId));
    const runs = tiles.map((j) => ((j?.finishedOn ?? NaN) - (j?.processedOn ?? NaN)) / 1000).sort((a, b) => a - b);
    const firstStart = (Math.min(...tiles.map((j) => j?.processedOn ?? NaN)) - epoch0) / 1000;
    const lastEnd = Math.max(...tiles.map((j) => j?.finishedOn ?? NaN));
    const tilesEnd = (lastEnd - epoch0) / 1000;
    const tileBusy = runs.reduce((a, b) => a + b, 0);
    return {
      workers: n,
      firstStart,
      tilesEnd,
      tileBusy,
      utilisation: tileBusy / (n * (tilesEnd - firstStart)),
      tileMax: runs[runs.length - 1],
      tileMedian: runs[runs.length >> 1],
      finaliseWait: ((fin?.processedOn ?? NaN) - lastEnd) / 1000,
      finaliseRun: ((fin?.finishedOn ?? NaN) - (fin?.processedOn ?? NaN)) / 1000,
      seen: (seenAt - (fin?.finishedOn ?? NaN)) / 1000,
      detectorStages,
      load: loadavg()[0],
    };
  } finally {
    await queue.close();
  }
}

/** utime + stime in seconds from a /proc stat line (0 where unreadable: not Linux, or the process is gone). */
function statCpuSeconds(path: string): number {
  try {
    const st = readFileSync(path, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds a worker process has used so far: all threads (the process's stat counts exited
 * threads too) and its main thread alone (the thread whose id is the pid: the event loop that runs
 * the handlers). The rest is the inflate threads, score threads and V8's GC and compiler threads.
 */
interface CpuSnapshot {
  total: number;
  main: number;
}
function processCpu(pid: number | undefined): CpuSnapshot {
  return { total: statCpuSeconds(`/proc/${pid}/stat`), main: statCpuSeconds(`/proc/${pid}/task/${pid}/stat`) };
}

/**
 * CPU seconds the servers have used so far: Redis (its own count, INFO cpu: main thread and
 * children) and the PostgreSQL backends serving this database (from /proc: 0 when the server is
 * not on this machine). They share the machine's cores with the workers, so they bound the speedup too.
 */
interface ServerCpu {
  redis: number;
  pg: Map<number, number>;
}
async function serverCpu(db: Awaited<ReturnType<typeof openDatabase>>, redis: Redis): Promise<ServerCpu> {
  const info = await redis.info('cpu');
  const field = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const pg = new Map<number, number>();
  const pids = (await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')).rows.map((r) => r.pid);
  for (const pid of pids) pg.set(pid, statCpuSeconds(`/proc/${pid}/stat`));
  return { redis: field('used_cpu_sys') + field('used_cpu_user') + field('used_cpu_sys_children') + field('used_cpu_user_children'), pg };
}
/** Redis and PostgreSQL CPU seconds between two snapshots (a backend that started in between counts whole). */
function serverCpuDelta(a: ServerCpu, b: ServerCpu): { redis: number; pg: number } {
  let pg = 0;
  for (const [pid, s] of b.pg) pg += s - (a.pg.get(pid) ?? 0);
  return { redis: b.redis - a.redis, pg };
}

async function timelineQueueJob(url: string, queueName: string, batchId: string): Promise<Job | undefined> {
  const { connection, prefix } = resolveTarget({ connection: url, queueName });
  const queue = new Queue(queueName, { connection, prefix });
  try {
    return await queue.getJob(finaliseJobId(batchId));
  } finally {
    await queue.close();
  }
}

function finaliseFinishedOn(job: Job | undefined): number {
  if (!job?.finishedOn) throw new Error('the finalise job has no finish time');
  return job.finishedOn;
}

function printTimelines(ts: Timeline[]): void {
  process.stdout.write('\nWhere the time went (s from the enqueue; busy = Σ tile job time; util = busy / (workers × tile phase))\n');
  process.stdout.write('workers  1st tile  tiles end  busy  util  tile med/max  detector Σ  finalise wait/run  seen  load\n');
  for (const t of ts) {
    process.stdout.write(
      `${String(t.workers).padStart(7)}  ${t.firstStart.toFixed(2).padStart(8)}  ${t.tilesEnd.toFixed(2).padStart(9)}  ${t.tileBusy.toFixed(1).padStart(4)}  ${t.utilisation.toFixed(2).padStart(4)}  ` +
        `${`${t.tileMedian.toFixed(2)}/${t.tileMax.toFixed(2)}`.padStart(12)}  ${t.detectorStages.toFixed(1).padStart(10)}  ${`${t.finaliseWait.toFixed(2)}/${t.finaliseRun.toFixed(2)}`.padStart(17)}  ${t.seen.toFixed(2).padStart(4)}  ${t.load.toFixed(1).padStart(4)}\n`,
    );
  }
}
/** One batch run by the workers already connected: its row's figures and its timeline. */
interface BatchRun {
  seconds: number;
  perMin: number;
  cpu: number;
  mainCpu: number;
  peakMiB: number;
  gc: GcCounts;
  /** CPU seconds of Redis and of this database's PostgreSQL backends during the batch. */
  servers: { redis: number; pg: number };
  timeline: Timeline;
}

async function runBatch(db: Awaited<ReturnType<typeof openDatabase>>, plan: { batchId: string }, tileIds: string[], queueName: string, n: number, pids: (number | undefined)[]): Promise<BatchRun> {
  const redis = new Redis(redisUrl!, { lazyConnect: false });
  const srv0 = await serverCpu(db, redis);
  const cpu0 = pids.map(processCpu);
  const gc0 = { ...gcTotals };
  const epoch0 = Date.now();
  await enqueueBatch(redisUrl!, { batchId: plan.batchId, tileIds, queueName });
  await followBatch(redisUrl!, plan.batchId, () => {}, { queueName, pollMs: 200 });
  const seenAt = Date.now();
  const cpu1 = pids.map(processCpu);
  const servers = serverCpuDelta(srv0, await serverCpu(db, redis));
  redis.disconnect();
  // The workers' last GC lines of the batch are still in the pipe: let them arrive.
  await new Promise((r) => setTimeout(r, 100));
  const gc = { scavenges: gcTotals.scavenges - gc0.scavenges, markCompacts: gcTotals.markCompacts - gc0.markCompacts, ms: gcTotals.ms - gc0.ms };
  const cpu = cpu1.reduce((a, c, i) => a + c.total - cpu0[i].total, 0);
  const mainCpu = cpu1.reduce((a, c, i) => a + c.main - cpu0[i].main, 0);
  // Enqueue → the finalise job's own finish (Redis stamps): the follower's poll interval is not throughput.
  const seconds = (finaliseFinishedOn(await timelineQueueJob(redisUrl!, queueName, plan.batchId)) - epoch0) / 1000;
  const report = await loadReport(db, plan.batchId);
  const peakMiB = Math.max(...report.tiles.map((t) => t.peakRssBytes)) / 2 ** 20;
  const detectorStages = report.tiles.reduce((a, t) => a + Object.values(t.timings).reduce((x, y) => x + y, 0), 0);
  return { seconds, perMin: (tileIds.length / seconds) * 60, cpu, mainCpu, peakMiB, gc, servers, timeline: await timeline(redisUrl!, queueName, plan.batchId, tileIds, epoch0, n, seenAt, detectorStages) };
}

const dir = await mkdtemp(join(tmpdir(), 'tuban-bench-scale-'));
const db = await openDatabase(databaseUrl);
const workers: ChildProcess[] = [];
try {
  // The timed batch, and (--warm 1, the default) a warm-up batch of the same size from another
  // seed (another batch id) that each count's workers run first: workers are long-lived, and a
  // fresh process pays ~1 s of CPU compiling (JIT) on its first tiles, which n fresh workers would
  // pay n times over in a 16-tile batch. Both rows are printed; speedups compare like with like.
  // footprint 1: the point-sampled scenes every published figure was measured on.
  const scenes = await Promise.all([generateScene({ dir, size, seed, tilesPerSide, footprint: 1 }), ...(warmUp ? [generateScene({ dir: join(dir, 'warm-up'), size, seed: seed + 1, tilesPerSide, footprint: 1 })] : [])]);
  await migrate(db);
  const plans = [];
  for (const scene of scenes) {
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath], detector });
    plans.push(await planAndStore(db, args, log));
  }
  const [plan, warmPlan] = plans;
  const tileIds = largestFirst(plan);
  const warmIds = warmPlan ? largestFirst(warmPlan) : [];
  process.stdout.write(
    `batch ${plan.batchId}: ${tileIds.length} tiles of ~${Math.round(size / tilesPerSide)} px (${(plan.tiles.reduce((a, t) => a + t.tile.grid.width * t.tile.grid.height, 0) / 1e6).toFixed(2)} Mpx), ` +
      `${availableParallelism()} cores, per worker: score threads ${scoreWorkers} (--score-workers), inflate threads ${inflateWorkers} (--inflate-workers), GC ${gcMode} (--gc); ${warmPlan ? `after a warm-up batch ${warmPlan.batchId} (--warm 1)` : 'fresh workers (--warm 0)'}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`,
  );
  // Peak RSS: the largest per-tile peakRssBytes in batch-report.json, i.e. the resident peak of a
  // concurrency-1 worker process after its biggest tile (baseline included): the figure to
  // multiply by --concurrency when sizing a machine.
  // CPU is counted from the enqueue to the finalise (start-up excluded): all threads of the workers
  // and their main threads (the event loops that run the handlers: a tile's critical path); the
  // rest is inflate and score threads and V8's GC and compiler threads. `busy` = CPU / wall in
  // cores, `main busy` = one main thread's share of the wall (≈ 1: the worker never waits).
  // `ideal`: the speedup this machine allows given the base run's split of CPU, whatever the load:
  // a worker whose main thread is always busy keeps total/main cores busy, so n workers at most
  // min(n, cores × main/total) times the base's throughput (2 cores, 1.34 cores per worker → 1.49×);
  // `of ideal` = speedup / ideal says how much the queue itself loses.
  // `srv ms/tile`: Redis's and this database's PostgreSQL backends' CPU per tile (they run on the
  // same cores). `ideal+srv`: the ceiling counting them and the base worker's waits: n workers each
  // at the base's wall per tile (its waits included) need n × that throughput, and the cores give
  // at most cores / (workers' + servers' CPU per tile): min(n, cores × wall per tile / CPU per
  // tile) over the same for the base.
  // GC columns (--gc-stats 1): per tile, the workers' scavenges and mark-compacts and their main-thread
  // ms (pauses plus incremental marking steps, as --trace-gc reports them: wall time on the main
  // thread, so a loaded machine inflates them; the CPU columns are the measure).
  process.stdout.write(`workers  batch  seconds  tiles/min  speedup  ideal  of ideal  ideal+srv  CPU s  main s  other s  CPU/tile  main/tile  srv ms/tile  busy  main busy  peak RSS/worker MiB${gcStats ? '  GC ms/tile  scav/tile  MC/tile' : ''}  load\n`);
  const bases: Record<string, { perMin: number; n: number; coresPerWorker: number; wallPerTile: number; cpuPerTile: number }> = {};
  const timelines: Timeline[] = [];
  const printRow = (n: number, kind: string, r: BatchRun, tiles: number) => {
    const srvPerTile = (r.servers.redis + r.servers.pg) / tiles;
    const base = (bases[kind] ??= { perMin: r.perMin, n, coresPerWorker: r.cpu / r.mainCpu, wallPerTile: (r.seconds * n) / tiles, cpuPerTile: r.cpu / tiles + srvPerTile });
    const cores = availableParallelism();
    const ideal = Math.min(n, cores / base.coresPerWorker) / Math.min(base.n, cores / base.coresPerWorker);
    const perCores = (cores * base.wallPerTile) / base.cpuPerTile;
    const idealSrv = Math.min(n, perCores) / Math.min(base.n, perCores);
    const speedup = r.perMin / base.perMin;
    const { seconds, perMin, cpu, mainCpu, peakMiB, gc } = r;
    const gcCols = gcStats ? `  ${(gc.ms / tiles).toFixed(1).padStart(10)}  ${(gc.scavenges / tiles).toFixed(2).padStart(9)}  ${(gc.markCompacts / tiles).toFixed(2).padStart(7)}` : '';
    process.stdout.write(
      `${String(n).padStart(7)}  ${kind.padStart(5)}  ${seconds.toFixed(1).padStart(7)}  ${perMin.toFixed(1).padStart(9)}  ${speedup.toFixed(2).padStart(7)}  ${ideal.toFixed(2).padStart(5)}  ${`${((100 * speedup) / ideal).toFixed(0)} %`.padStart(8)}  ${idealSrv.toFixed(2).padStart(9)}` +
        `  ${cpu.toFixed(1).padStart(5)}  ${mainCpu.toFixed(1).padStart(6)}  ${(cpu - mainCpu).toFixed(1).padStart(7)}  ${(cpu / tiles).toFixed(3).padStart(8)}  ${(mainCpu / tiles).toFixed(3).padStart(9)}  ${(1000 * srvPerTile).toFixed(1).padStart(11)}` +
        `  ${(cpu / seconds).toFixed(2).padStart(4)}  ${(mainCpu / seconds / n).toFixed(2).padStart(9)}  ${peakMiB.toFixed(0).padStart(19)}${gcCols}  ${loadavg()[0].toFixed(1).padStart(4)}\n`,
    );
  };
  for (const [run, n] of counts.entries()) {
    const queueName = `bench-${process.pid}-${run}-${n}`;
    const env = { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, TUBAN_QUEUE_NAME: queueName, TUBAN_LOG_LEVEL: 'warn', TUBAN_SCORE_WORKERS: scoreWorkers, TUBAN_INFLATE_WORKERS: inflateWorkers };
    const nodeArgs = [...(gcMode === 'single' ? ['--single-threaded-gc'] : []), ...(gcStats && !extraNodeArgs.includes('--trace-gc') ? ['--trace-gc'] : []), ...extraNodeArgs, ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, `workers-${n}`)] : [])];
    for (let i = 0; i < n; i++) {
      const w = spawn(process.execPath, [...nodeArgs, cli, 'worker', '--concurrency', perWorker], { env, stdio: ['ignore', gcStats ? 'pipe' : extraNodeArgs.length ? 'inherit' : 'ignore', 'inherit'] });
      if (gcStats) readWorkerStdout(w);
      workers.push(w);
    }
    // The clock starts once every worker is connected: process start-up (imports, pool, migrate)
    // is not tile throughput, and on a small machine N start-ups compete for the same cores.
    const { connection, prefix } = resolveTarget({ connection: redisUrl, queueName });
    const queue = new Queue(queueName, { connection, prefix });
    try {
      while ((await queue.getWorkersCount()) < n) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await queue.close();
    }
    const pids = workers.map((w) => w.pid);
    if (warmPlan) printRow(n, 'cold', await runBatch(db, warmPlan, warmIds, queueName, n, pids), warmIds.length);
    const r = await runBatch(db, plan, tileIds, queueName, n, pids);
    printRow(n, warmPlan ? 'warm' : 'cold', r, tileIds.length);
    timelines.push(r.timeline);
    // SIGTERM: the graceful path a deployment uses; wait so the next count starts clean.
    await Promise.all(workers.splice(0).map((w) => new Promise((r) => { w.once('exit', r); w.kill('SIGTERM'); })));
  }
  printTimelines(timelines);
} finally {
  for (const w of workers) w.kill('SIGKILL');
  await db.close();
  await rm(dir, { recursive: true, force: true });
}
