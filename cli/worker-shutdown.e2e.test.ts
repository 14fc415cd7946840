/**
 * `tuban worker` must stop on SIGTERM within a bounded time even when Redis cannot be reached
 * (it hung for more than 25 s: closing waited for a connection that never came), and say so: one
 * line naming Redis (password hidden), exit 1, so systemd records the stop as failed, not clean.
 * (PostgreSQL not answering while a tile job waits on it: cli/worker-stalled.e2e.test.ts.) SIGHUP (a terminal closing under a worker started without
 * nohup) closes it as SIGTERM does.
 * Needs `npm run build` first and the test servers (npm test does both).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { servers, uniqueName } from '../workers/testing/test-servers.js';

// TUBAN_CLI runs the test against another build (e.g. main's, to see it fail there).
const CLI = process.env.TUBAN_CLI ?? fileURLToPath(new URL('../dist/cli/tuban.js', import.meta.url));

/** A loopback port that was free a moment ago (and is closed now). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A `tuban worker` with `env`, resolved once it has logged `worker started`. */
async function startedWorker(env: Record<string, string>) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  const w = spawn(process.execPath, [CLI, 'worker'], { env: { ...process.env, TUBAN_QUEUE_NAME: uniqueName('q'), TUBAN_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const out = { stderr: '' };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => w.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    w.stderr!.on('data', (d: Buffer) => {
      out.stderr += d.toString();
      if (out.stderr.includes('worker started')) resolve();
    });
    void exited.then(() => reject(new Error(`worker exited before starting: ${out.stderr}`)));
  });
  return { w, out, exited };
}

/** SIGTERM, then the exit (or 'hung' after 25 s, the worker then killed) and how long it took. */
async function terminate(worker: Awaited<ReturnType<typeof startedWorker>>) {
  const t0 = Date.now();
  worker.w.kill('SIGTERM');
  const outcome = await Promise.race([worker.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 25_000).unref())]);
  if (outcome === 'hung') worker.w.kill('SIGKILL');
  return { outcome, ms: Date.now() - t0 };
}

/** The worker's pino lines at `level` or above. */
function linesAtLeast(stderr: string, level: number): { level: number; msg: string }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level >= level);
}

describe.runIf(servers)('tuban worker with Redis unreachable', () => {
  it('exits within 25 s of SIGTERM (~11.5 s measured) with exit 1, saying in one line (password hidden) that it could not close cleanly', async () => {
    const port = await closedPort();
    const worker = await startedWorker({ DATABASE_URL: servers!.databaseUrl, REDIS_URL: `redis://:sekrit@127.0.0.1:${port}` });
    // Let it try (and fail) to reach Redis for a while, as a worker whose Redis went away would.
    await new Promise((r) => setTimeout(r, 2000));
    const { outcome, ms } = await terminate(worker);
    const { stderr } = worker.out;
    expect(outcome, `worker still running 25 s after SIGTERM; stderr:\n${stderr.slice(-2000)}`).not.toBe('hung');
    expect(ms).toBeLessThan(25_000); // ~11.5 s measured (10 s close + 2 s PING); slack for a loaded CI machine
    expect(stderr).toContain('closing worker');
    expect(outcome).toEqual({ code: 1, signal: null });
    const errors = linesAtLeast(stderr, 50);
    expect(errors, stderr.slice(-2000)).toHaveLength(1);
    expect(errors[0].msg).toContain(`Redis at redis://:***@127.0.0.1:${port} did not answer`);
    expect(stderr).not.toContain('sekrit');
    expect(stderr).not.toContain('"msg":"worker stopped"');
  }, 60_000);
});

describe.runIf(servers)('tuban worker, Redis reachable', () => {
  it('closes on SIGHUP as on SIGTERM: exit 0, the signal named', async () => {
    const worker = await startedWorker({ DATABASE_URL: servers!.databaseUrl, REDIS_URL: servers!.redisUrl });
    worker.w.kill('SIGHUP');
    const outcome = await Promise.race([worker.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 25_000).unref())]);
    if (outcome === 'hung') worker.w.kill('SIGKILL');
    const { stderr } = worker.out;
    expect(outcome, stderr.slice(-2000)).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/"signal":"SIGHUP".*"msg":"closing worker"/);
    expect(stderr).toContain('worker stopped');
    expect(linesAtLeast(stderr, 40)).toEqual([]);
  }, 60_000);
});
