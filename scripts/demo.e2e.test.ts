/**
 * `npm run demo` replaces its folder: not while a tuban process (a `tuban serve --db out/demo/db`)
 * holds the demo's database, whose users and verdicts it would delete under the server; it says so
 * before anything else, and generates nothing. Needs
 * `npm run build` first (npm test does it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDirectoryLock } from '../pipeline/store/directory-lock.js';

const DEMO = fileURLToPath(new URL('../dist/scripts/demo.js', import.meta.url));
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run demo', () => {
  it('leaves the demo folder alone, exit 75, while another process holds its database', async () => {
    if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: run 'npm run build' before this test (npm test does)`);
    dir = await mkdtemp(join(tmpdir(), 'tuban-demo-'));
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, 'db', 'kept'), 'a verdict');
    const lock = await acquireDirectoryLock(join(dir, 'db'), { command: 'tuban serve --db out/demo/db', role: 'server' });
    try {
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [DEMO, '--dir', dir!, '--size', '256', '--tiles', '1'], (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr })),
      );
      expect(r.code, r.stderr).toBe(75);
      expect(r.stderr).toContain('DB.LOCKED');
      expect(r.stderr).toContain('tuban serve --db out/demo/db');
      // The refusal is all it says: no "Generating … scene" first, as if it were going ahead, and
      // not the batch's advice of a --wait-db the demo does not take.
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toContain('--wait-db');
      expect(r.stderr).not.toContain('start it again');
      expect(r.stderr).toContain('a running tuban serve');
      expect(r.stderr).toContain('give the demo another --dir');
      expect(existsSync(join(dir, 'db', 'kept'))).toBe(true);
      expect(existsSync(join(dir, 'scene'))).toBe(false);
    } finally {
      await lock.release();
    }
  }, 120_000);
});
