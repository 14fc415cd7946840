/**
 * `tuban worker` must stop on SIGTERM within a bounded time even when Redis cannot be reached
 * (it hung for more than 25 s: closing waited for a connection that never came). The worker
 * gets a real PostgreSQL server and a Redis URL on a port nothing listens on. SIGHUP (a terminal
 * closing under a worker started without nohup) closes it as SIGTERM does.
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

describe.runIf(servers)('tuban worker with Redis unreachable', () => {
  it('exits within 15 s of SIGTERM, saying it could not close cleanly', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
    const env = { ...process.env, DATABASE_URL: servers!.databaseUrl, REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, TUBAN_QUEUE_NAME: uniqueName('q'), TUBAN_LOG_LEVEL: 'info' };
    const w = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => w.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      w.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('worker started')) resolve();
      });
      void exited.then(() => reject(new Error(`worker exited before starting: ${stderr}`)));
    });
    // Let it try (and fail) to reach Redis for a while, as a worker whose Redis went away would.
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    w.kill('SIGTERM');
    const timeout = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000).unref());
    const outcome = await Promise.race([exited, timeout]);
    if (outcome === 'hung') w.kill('SIGKILL');
    expect(outcome, `worker still running 15 s after SIGTERM; stderr:\n${stderr.slice(-2000)}`).not.toBe('hung');
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(stderr).toContain('closing worker');
  }, 60_000);
});

describe.runIf(servers)('tuban worker, Redis reachable', () => {
  it('closes on SIGHUP as on SIGTERM: exit 0, the signal named', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
    const env = { ...process.env, DATABASE_URL: servers!.databaseUrl, REDIS_URL: servers!.redisUrl, TUBAN_QUEUE_NAME: uniqueName('q'), TUBAN_LOG_LEVEL: 'info' };
    const w = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => w.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      w.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('worker started')) resolve();
      });
      void exited.then(() => reject(new Error(`worker exited before starting: ${stderr}`)));
    });
    w.kill('SIGHUP');
    const outcome = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000).unref())]);
    if (outcome === 'hung') w.kill('SIGKILL');
    expect(outcome, stderr.slice(-2000)).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/"signal":"SIGHUP".*"msg":"closing worker"/);
    expect(stderr).toContain('worker stopped');
  }, 60_000);
});
