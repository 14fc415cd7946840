import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { BatchArgsSchema, type BatchArgs } from '../../pipeline/batch/batch-args.js';
import type { TileOutcome } from '../../pipeline/batch/batch-report.js';
import { createHandlers } from '../../pipeline/batch/handlers.js';
import type { BatchPlan } from '../../pipeline/batch/plan-batch.js';
import { exportBatch, planAndStore, runBatch } from '../../pipeline/batch/run-batch.js';
import { loadRuleTable } from '../../pipeline/route/load-rule-table.js';
import { migrate } from '../../pipeline/store/migrations.js';
import { openDatabase } from '../../pipeline/store/open-database.js';
import type { Database, Queryable } from '../../pipeline/store/queryable.js';
import { comparableOutputs, type ComparableOutputs } from '../testing/batch-outputs.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { enqueueBatch, tileJobId } from './enqueue-batch.js';
import { followBatch } from './follow-batch.js';
import { startWorker, type WorkerHandle } from './start-worker.js';

/**
 * Faults during a real queued batch: the real `tile.detect` / `batch.finalise` handlers on a
 * small generated scene (2×2 tiles plus one poisoned tile whose pixel data is corrupt), checked
 * against one uninterrupted embedded run of the same inputs. The tile handler replaces its own
 * rows in one transaction, so whatever dies half-way, the re-run tile must give the same output.
 */
describe.runIf(servers)('queued batch with real handlers under faults', () => {
  const log = pino({ level: 'silent' });
  const cleanup: (() => Promise<unknown>)[] = [];
  let dir: string;
  let args: BatchArgs;
  let reference: ComparableOutputs;
  let admin: pg.Client;

  async function database(schema: string): Promise<Database> {
    const db = await openDatabase(servers!.databaseUrl, { schema });
    cleanup.push(async () => {
      await db.query(`drop schema ${schema} cascade`).catch(() => {});
      await db.close();
    });
    return db;
  }

  /** A fresh schema with the batch planned into it, and a private queue. */
  async function setup(label: string): Promise<{ db: Database; schema: string; plan: BatchPlan; ref: { queueName: string; queuePrefix: string } }> {
    const schema = uniqueName(label);
    const db = await database(schema);
    await migrate(db);
    const plan = await planAndStore(db, args, log);
    return { db, schema, plan, ref: { queueName: uniqueName('q'), queuePrefix: uniqueName('p') } };
  }

  function worker(db: Database, ref: { queueName: string; queuePrefix: string }): WorkerHandle {
    const w = startWorker({ connection: servers!.redisUrl, handlers: createHandlers({ db, log, mode: 'queue' }), ...ref, log, handleSignals: false, lockDurationMs: 2000, stalledIntervalMs: 500 });
    cleanup.push(() => w.close());
    return w;
  }

  const committedDetections = async (schema: string, batchId: string, tileId?: string): Promise<number> =>
    (
      await admin.query<{ n: number }>(`select count(*)::int as n from ${schema}.detections where batch_id = $1 and ($2::text is null or tile_id = $2)`, [batchId, tileId ?? null])
    ).rows[0].n;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-faults-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir: join(dir, 'scene'), size: 320, seed: 7, tilesPerSide: 2 });
    // Poisoned: a real tile's header (so planning accepts it) over corrupt deflate data, so it
    // fails only inside tile.detect, as TILE.UNREADABLE.
    const first = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort()[0];
    const bytes = await readFile(join(scene.currentDir, first));
    for (let i = Math.floor(bytes.length * 0.4); i < Math.floor(bytes.length * 0.6); i++) bytes[i] = (i * 7919) & 0xff;
    await writeFile(join(scene.currentDir, 'zz_poison.tif'), bytes);
    args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
    admin = new pg.Client({ connectionString: servers!.databaseUrl });
    await admin.connect();
    cleanup.push(() => admin.end());
    const db = await database(uniqueName('faults_ref'));
    await migrate(db);
    await runBatch(args, { db, log, out: join(dir, 'out-ref') });
    reference = await comparableOutputs(join(dir, 'out-ref'));
  });
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('the reference run rejects the poisoned tile by name and uses the other four', () => {
    expect(reference.polygons.length).toBeGreaterThan(0);
    const tiles = reference.report.tiles as TileOutcome[];
    expect(tiles.filter((t) => t.status === 'done')).toHaveLength(4);
    const poisoned = tiles.find((t) => t.status === 'rejected');
    expect(poisoned?.files[0]).toMatch(/zz_poison\.tif$/);
    expect(poisoned?.error?.code).toBe('TILE.UNREADABLE');
    // Its header was read: its footprint is ground not observed, in every run compared with this one.
    expect(reference.notObserved.filter((p) => p.reason)).toEqual([expect.objectContaining({ reason: 'TILE.UNREADABLE', file: poisoned?.files[0] })]);
  });

  it('a worker SIGKILLed in the middle of a tile (its writes uncommitted): another worker re-runs it, output identical', async () => {
    const { db, schema, plan, ref } = await setup('faults_kill');
    const child = spawn(process.execPath, ['--import', './workers/testing/register-ts.mjs', 'workers/testing/pipeline-worker.ts'], {
      env: { ...process.env, TEST_REDIS_URL: servers!.redisUrl, TEST_DATABASE_URL: servers!.databaseUrl, TEST_SCHEMA: schema, TEST_QUEUE: ref.queueName, TEST_PREFIX: ref.queuePrefix },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.push(async () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
    let out = '';
    const midWrite = new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /mid-write (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`worker process exited (${code}) before its first tile write: ${out}`)));
    });
    await enqueueBatch(servers!.redisUrl, { batchId: plan.batchId, tileIds: plan.tiles.map((t) => t.tile.id), ...ref, backoffMs: 100 });
    const victim = await midWrite;
    // The tile's rows are written but not committed: nobody else can see them.
    expect(await committedDetections(schema, plan.batchId, victim)).toBe(0);
    child.kill('SIGKILL');
    worker(db, ref);
    await followBatch(servers!.redisUrl, plan.batchId, () => {}, { ...ref, pollMs: 100 });
    // Recovered by stall detection (by the rescuer, or by the doomed worker itself if a loaded
    // machine starved its lock renewal before the kill): either way once, and then completed.
    const queue = new Queue(ref.queueName, { connection: { url: servers!.redisUrl }, prefix: ref.queuePrefix });
    try {
      const job = await queue.getJob(tileJobId(plan.batchId, victim));
      expect(job?.stalledCounter).toBe(1);
      expect(await job?.getState()).toBe('completed');
    } finally {
      await queue.close();
    }
    await exportBatch(db, plan.batchId, join(dir, 'out-kill'), await loadRuleTable(args.rules));
    expect(await comparableOutputs(join(dir, 'out-kill'))).toEqual(reference);
  });

  it('the PostgreSQL connection dropped mid-write: no partial rows, the job retries, output identical', async () => {
    const { db, schema, plan, ref } = await setup('faults_pgdrop');
    const attempts = new Map<string, number>();
    let killed: { tileId: string; visibleAfterKill: number } | undefined;
    // The worker's own database, with one transaction whose session the server kills after
    // the tile's writes and before COMMIT.
    const victimDb: Database = {
      kind: db.kind,
      query: <R>(text: string, params?: unknown[]) => db.query<R>(text, params),
      close: async () => {},
      transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
        db.transaction(async (tx) => {
          let tileId: string | undefined;
          const out = await fn({
            query<R>(text: string, params?: unknown[]) {
              if (/^DELETE FROM detections/.test(text)) tileId = String(params?.[1]);
              return tx.query<R>(text, params);
            },
          });
          if (tileId) {
            attempts.set(tileId, (attempts.get(tileId) ?? 0) + 1);
            if (!killed) {
              const { rows } = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
              await admin.query('select pg_terminate_backend($1)', [rows[0].pid]);
              killed = { tileId, visibleAfterKill: await committedDetections(schema, plan.batchId, tileId) };
            }
          }
          return out;
        }),
    };
    const w = startWorker({ connection: servers!.redisUrl, handlers: createHandlers({ db: victimDb, log, mode: 'queue' }), ...ref, log, handleSignals: false });
    cleanup.push(() => w.close());
    await enqueueBatch(servers!.redisUrl, { batchId: plan.batchId, tileIds: plan.tiles.map((t) => t.tile.id), ...ref, backoffMs: 100 });
    await followBatch(servers!.redisUrl, plan.batchId, () => {}, { ...ref, pollMs: 100 });
    expect(killed).toBeDefined();
    expect(killed!.visibleAfterKill).toBe(0);
    expect(attempts.get(killed!.tileId)).toBe(2);
    const queue = new Queue(ref.queueName, { connection: { url: servers!.redisUrl }, prefix: ref.queuePrefix });
    try {
      const job = await queue.getJob(tileJobId(plan.batchId, killed!.tileId));
      expect(job?.attemptsMade).toBe(2); // the DB.TRANSIENT failure, then the success
      expect(job?.stacktrace.join('\n') ?? '').toMatch(/DB\.TRANSIENT|terminat/i);
    } finally {
      await queue.close();
    }
    await exportBatch(db, plan.batchId, join(dir, 'out-pgdrop'), await loadRuleTable(args.rules));
    expect(await comparableOutputs(join(dir, 'out-pgdrop'))).toEqual(reference);
  });

  it('a worker closed (SIGTERM path) while a tile runs finishes or hands it back without using an attempt; output identical', async () => {
    const { db, plan, ref } = await setup('faults_term');
    const first = startWorker({ connection: servers!.redisUrl, handlers: createHandlers({ db, log, mode: 'queue' }), ...ref, log, handleSignals: false });
    cleanup.push(() => first.close());
    const closed = new Promise<void>((resolve) => first.worker.once('active', () => void first.close().then(resolve)));
    await enqueueBatch(servers!.redisUrl, { batchId: plan.batchId, tileIds: plan.tiles.map((t) => t.tile.id), ...ref, backoffMs: 100 });
    await closed;
    expect(first.worker.isRunning()).toBe(false);
    worker(db, ref);
    await followBatch(servers!.redisUrl, plan.batchId, () => {}, { ...ref, pollMs: 100 });
    const queue = new Queue(ref.queueName, { connection: { url: servers!.redisUrl }, prefix: ref.queuePrefix });
    try {
      const tiles = await Promise.all(plan.tiles.map((t) => queue.getJob(tileJobId(plan.batchId, t.tile.id))));
      expect(tiles.map((j) => j?.attemptsMade)).toEqual(plan.tiles.map(() => 1));
    } finally {
      await queue.close();
    }
    await exportBatch(db, plan.batchId, join(dir, 'out-term'), await loadRuleTable(args.rules));
    expect(await comparableOutputs(join(dir, 'out-term'))).toEqual(reference);
  });

  it('the poisoned tile is not retried: reported once, the rest completes', async () => {
    const { db, plan, ref } = await setup('faults_poison');
    worker(db, ref);
    await enqueueBatch(servers!.redisUrl, { batchId: plan.batchId, tileIds: plan.tiles.map((t) => t.tile.id), ...ref, backoffMs: 100 });
    await followBatch(servers!.redisUrl, plan.batchId, () => {}, { ...ref, pollMs: 100 });
    const poison = plan.tiles.find((t) => t.tile.files[0].endsWith('zz_poison.tif'))!;
    const queue = new Queue(ref.queueName, { connection: { url: servers!.redisUrl }, prefix: ref.queuePrefix });
    try {
      const job = await queue.getJob(tileJobId(plan.batchId, poison.tile.id));
      expect(job?.attemptsMade).toBe(1);
      expect((job?.returnvalue as TileOutcome).status).toBe('rejected');
    } finally {
      await queue.close();
    }
    await exportBatch(db, plan.batchId, join(dir, 'out-poison'), await loadRuleTable(args.rules));
    expect(await comparableOutputs(join(dir, 'out-poison'))).toEqual(reference);
  });
});
