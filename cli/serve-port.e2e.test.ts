/**
 * `tuban serve` on a port it cannot listen on (another server there): one sentence naming the
 * address and --port, exit 64, and the embedded database let go (no lock, no socket left), instead
 * of a stack trace and a process that hung holding the directory. Needs `npm run build` first.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './testing/run-cli.js';

let dir: string;
let taken: Server;
let port: number;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-serve-port-'));
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  port = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => taken?.close(() => r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tuban serve on a port in use', () => {
  it('says so in one line, exits 64 and releases the database', async () => {
    const db = join(dir, 'db');
    const r = await runCli(['serve', '--port', String(port), '--host', '127.0.0.1', '--db', db, '--data', join(dir, 'data')], { env: { TUBAN_SECRET: '' } });
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toContain(`127.0.0.1:${port} is already in use`);
    expect(r.stderr).toContain('--port');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(`${db}.lock`)).toBe(false);
    expect(existsSync(`${db}.sock`)).toBe(false);
  }, 60_000);
});
