/**
 * A `tuban worker` that dies mid-tile (kill -9: what the OOM killer does) leaves its job 'active'
 * for up to 2½ min, its lock held (120 s, on purpose: start-worker.ts) until BullMQ's stall check
 * hands it back. Meanwhile `tuban status` and the waiting `tuban batch --queue` must say the tile is
 * stalled, what happens next and what to check, and that no worker is connected while none is.
 * Then a worker that cannot close because PostgreSQL went silent under its tile job: SIGTERM must
 * still end it, in one line per failure (password hidden) and exit 1.
 * Real servers, the built CLI, production's lock. Needs `npm run build` first and the test servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import { tcpRelay } from '../pipeline/testing/tcp-relay.js';
import { servers, uniqueName } from '../workers/testing/test-servers.js';
import { CLI, runCli } from './testing/run-cli.js';

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => err, exited };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms: number, everyMs = 25): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function startedWorker(env: Record<string, string>): Promise<Proc> {
  const w = start(['worker'], env);
  await until('worker started', async () => w.stderr().includes('worker started') || (w.child.exitCode !== null && Promise.reject(new Error(w.stderr()))), 30_000);
  return w;
}

describe.runIf(servers)('a worker killed mid-tile, and one whose database goes silent (real servers, built CLI)', () => {
  let dir: string;
  let scene: SceneManifest;
  let admin: pg.Client;
  const schemas: string[] = [];
  const procs: Proc[] = [];
  const queues: Queue[] = [];

  /** A DATABASE_URL whose sessions see only a fresh schema. */
  async function databaseUrl(label: string, base = servers!.databaseUrl): Promise<string> {
    const schema = uniqueName(label);
    await admin.query(`create schema ${schema}`);
    schemas.push(schema);
    const url = new URL(base);
    url.searchParams.set('options', `-c search_path=${schema},public`);
    return url.toString();
  }

  function queueOf(env: { TUBAN_QUEUE_NAME: string; TUBAN_QUEUE_PREFIX: string }): Queue {
    const q = new Queue(env.TUBAN_QUEUE_NAME, { connection: { url: servers!.redisUrl }, prefix: env.TUBAN_QUEUE_PREFIX });
    queues.push(q);
    return q;
  }

  const batchArgs = (out: string) => ['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', out, '--queue'];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
    dir = await mkdtemp(join(tmpdir(), 'tuban-stalled-e2e-'));
    scene = await generateScene({ dir: join(dir, 'scene'), size: 256, seed: 5, tilesPerSide: 2 });
    admin = new pg.Client({ connectionString: servers!.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const q of queues) await q.obliterate({ force: true }).catch(() => {});
    for (const q of queues) await q.close().catch(() => {});
    for (const s of schemas) await admin?.query(`drop schema ${s} cascade`).catch(() => {});
    await admin?.end();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('tuban status and the waiting batch say a killed worker’s tile is stalled, and that no worker is connected', async () => {
    const env = { TUBAN_QUEUE_NAME: uniqueName('q'), TUBAN_QUEUE_PREFIX: uniqueName('p'), TUBAN_LOG_LEVEL: 'info', DATABASE_URL: await databaseUrl('stalled'), REDIS_URL: servers!.redisUrl };
    const queue = queueOf(env);
    const worker = await startedWorker(env);
    procs.push(worker);
    const batch = start(batchArgs(join(dir, 'out-stalled')), env);
    procs.push(batch);

    // Freeze the worker while it runs a tile, make sure the tile is still running, then kill it.
    let victim: Job | undefined;
    while (!victim) {
      const job = await until('a tile job running', async () => (await queue.getActive()).find((j) => j.name === 'tile.detect'), 60_000);
      worker.child.kill('SIGSTOP');
      if ((await queue.getJobState(job.id!)) === 'active') victim = job;
      else worker.child.kill('SIGCONT');
    }
    worker.child.kill('SIGKILL');
    await worker.exited;
    const { batchId, tileId } = victim.data as { batchId: string; tileId: string };
    const workerName = `${hostname()}:${worker.child.pid}`;

    const status = await runCli(['status', batchId], { env });
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { tilesDone: number; tilesTotal: number; workers: string[]; stalled: { tileId: string; jobId: string; worker: string; reason: string; lockExpiresInS: number }[]; warnings: string[] };
    expect(s.workers).toEqual([]);
    expect(s.stalled).toEqual([expect.objectContaining({ tileId, jobId: victim.id, worker: workerName, reason: 'worker-gone' })]);
    // Production's lock: 120 s from its last renewal (every 60 s), so between 60 and 120 s left.
    expect(s.stalled[0].lockExpiresInS).toBeGreaterThan(50);
    expect(s.stalled[0].lockExpiresInS).toBeLessThanOrEqual(120);
    expect(status.stderr).toContain(`tuban: warning: no worker is connected to queue ${env.TUBAN_QUEUE_NAME}`);
    expect(status.stderr).toContain('Start one with `tuban worker`');
    expect(status.stderr).toContain(`tuban: warning: tile ${tileId} (job ${victim.id}) is stalled: its worker ${workerName} is no longer connected to Redis`);
    expect(s.warnings).toHaveLength(2);

    // The batch following it says so too, within its 5 s look.
    await until('the batch to warn of the stalled tile', async () => batch.stderr().includes(`tile ${tileId} (job ${victim!.id}) is stalled`), 20_000, 200);
    // Its progress line too, at the next poll.
    // (The tiles done before the victim, as status counts them: a retry of the loop above may have picked a later tile.)
    const progress = ` ${s.tilesDone}/${s.tilesTotal} tiles (waiting-children), 1 stalled (see the warning)`;
    await until('the batch progress to count it', async () => batch.stderr().includes(progress), 5000, 100);

    // A worker started: the tile is still stalled (its lock holds), and now a worker will take it over.
    const rescuer = await startedWorker(env);
    procs.push(rescuer);
    // Its connection is named a moment after it logs `worker started`: ask until it is listed.
    const rescuerName = `${hostname()}:${rescuer.child.pid}`;
    const s2 = await until(
      'the rescuer listed among the workers',
      async () => {
        const again = await runCli(['status', batchId], { env });
        const parsed = JSON.parse(again.stdout) as { workers: string[]; stalled: { tileId: string }[]; warnings: string[] };
        return parsed.workers.includes(rescuerName) && parsed;
      },
      15_000,
      200,
    );
    expect(s2.workers).toEqual([rescuerName]);
    expect(s2.stalled.map((x) => x.tileId)).toEqual([tileId]);
    expect(s2.warnings).toEqual([expect.stringMatching(/BullMQ's stall check hands it to a worker within about \d+ s, and it runs again from the start \(hand-back 1 of 2/)]);

    batch.child.kill('SIGINT');
    rescuer.child.kill('SIGTERM');
    expect(await rescuer.exited).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('a worker whose PostgreSQL goes silent under a tile job: SIGTERM ends it in about 75 s (under systemd\'s 90 s), exit 1, one line per failure (password hidden)', async () => {
    const relay = tcpRelay(new URL(servers!.databaseUrl));
    await relay.up();
    try {
      const direct = await databaseUrl('silent');
      // The worker reaches the same schema through the relay; the test server trusts loopback, so
      // the password is accepted and only the log shows whether it leaks.
      const viaRelay = new URL(direct);
      const relayUrl = new URL(relay.url());
      viaRelay.port = relayUrl.port;
      viaRelay.password = 'sekrit';
      const env = { TUBAN_QUEUE_NAME: uniqueName('q'), TUBAN_QUEUE_PREFIX: uniqueName('p'), TUBAN_LOG_LEVEL: 'info', REDIS_URL: servers!.redisUrl };
      const queue = queueOf(env);
      const worker = await startedWorker({ ...env, DATABASE_URL: viaRelay.href });
      procs.push(worker);
      // The server's machine goes off the network: its first tile job's first query waits for ever.
      relay.blackhole();
      const batch = start(batchArgs(join(dir, 'out-silent')), { ...env, DATABASE_URL: direct });
      procs.push(batch);
      await until('a tile job running', async () => (await queue.getActive()).some((j) => j.name === 'tile.detect'), 60_000);
      await new Promise((r) => setTimeout(r, 1000));

      const t0 = Date.now();
      worker.child.kill('SIGTERM');
      const outcome = await Promise.race([worker.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 100_000).unref())]);
      const ms = Date.now() - t0;
      if (outcome === 'hung') worker.child.kill('SIGKILL');
      batch.child.kill('SIGINT');
      const stderr = worker.stderr();
      expect(outcome, `worker still running 100 s after SIGTERM; stderr:\n${stderr.slice(-3000)}`).toEqual({ code: 1, signal: null });
      // 60 s for the job while Redis answers (start-worker.ts JOB_CLOSE_TIMEOUT_MS), 10 s for the database, 1 s to disconnect.
      expect(ms).toBeGreaterThan(55_000);
      expect(ms).toBeLessThan(85_000);
      const errors = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level >= 50)
        .map((l) => l.msg);
      expect(errors).toEqual([
        expect.stringMatching(/^1 job\(s\) still running 6\d s after the worker began closing/),
        expect.stringContaining(`the database ${viaRelay.href.replace('sekrit', '***')} did not close within 10 s`),
      ]);
      expect(stderr).not.toContain('sekrit');
      expect(stderr).toContain('worker stopped without closing cleanly: exit 1');
    } finally {
      await relay.down();
    }
  }, 180_000);
});
