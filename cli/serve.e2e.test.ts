/**
 * End to end through the built CLI (needs `npm run build`): `tuban user add|list|disable` with the
 * password on standard input, then `tuban serve` on a real port over an embedded database: the
 * secret file (0600), sign-in, 401 for the anonymous, the page and imagery routes, tuban user and
 * a month's batch run beside it through the database it shares (a second server is refused, exit
 * 75), and no password or token in the logs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateScene } from '../fixtures/synthetic-scene.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { CLI, runCli } from './testing/run-cli.js';

const PASSWORD = 'correct horse battery staple';
let dir: string;

const tuban = (args: string[], stdin = '') => runCli(args, { env: { TUBAN_SECRET: '' }, stdin });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-serve-'));
});

describe('tuban user and tuban serve', () => {
  it('adds, refuses and lists users; the password comes from standard input', async () => {
    const db = ['--db', join(dir, 'db')];
    const add = await tuban(['user', 'add', 'chief', '--role', 'lead', ...db], PASSWORD + '\n');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('added chief (lead)');
    const short = await tuban(['user', 'add', 'weak', '--role', 'bureau', '--bureau', 'water', ...db], 'short\n');
    expect(short.code).toBe(65);
    expect(short.stderr).toContain('USER.PASSWORD_TOO_SHORT');
    expect(short.stderr).not.toContain('short\n');
    const dup = await tuban(['user', 'add', 'chief', '--role', 'lead', ...db], PASSWORD + '\n');
    expect([dup.code, dup.stderr.includes('USER.EXISTS')]).toEqual([65, true]);
    const noBureau = await tuban(['user', 'add', 'b1', '--role', 'bureau', ...db], PASSWORD + '\n');
    expect(noBureau.stderr).toContain('USER.INVALID');
    const badRole = await tuban(['user', 'add', 'x', '--role', 'king', ...db], PASSWORD + '\n');
    expect(badRole.code).toBe(64);
    const badFlag = await tuban(['user', 'list', '--bd', 'x', ...db]);
    expect([badFlag.code, badFlag.stderr.includes("unknown flag --bd for 'tuban user'")]).toEqual([64, true]);
    const list = await tuban(['user', 'list', ...db]);
    expect(list.stdout.trim().split('\n')).toEqual(['chief\tlead\t-\tactive']);
  }, 120_000);

  it('refuses a short TUBAN_SECRET as configuration (exit 64, one line naming it) before opening the database', async () => {
    const r = await runCli(['serve', '--port', '0', '--db', join(dir, 'db-unopened')], { env: { TUBAN_SECRET: 'too short' } });
    expect(r.code).toBe(64);
    expect(r.stderr.trim()).toBe('tuban: CONFIG.INVALID: environment: TUBAN_SECRET: must be at least 32 characters');
    await expect(stat(join(dir, 'db-unopened'))).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('serves on a real port, writes the secret 0600 and never logs the password or the token', async () => {
    const data = join(dir, 'data');
    const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', join(dir, 'db'), '--data', data], { env: { ...process.env, TUBAN_SECRET: undefined } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in: ${out}`)), 90_000);
      const check = () => {
        const m = out.match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      p.stdout.on('data', check);
      p.on('exit', () => reject(new Error(`serve exited: ${out}`)));
    });
    try {
      const mode = (await stat(join(data, 'secret'))).mode & 0o777;
      expect(mode).toBe(0o600);
      expect((await fetch(`${base}/api/polygons`)).status).toBe(401);
      const bad = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chief', password: 'wrong-password-x' }) });
      expect(bad.status).toBe(401);
      const s = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chief', password: PASSWORD }) });
      expect(s.status).toBe(200);
      const { token } = (await s.json()) as { token: string };
      const list = await fetch(`${base}/api/polygons`, { headers: { authorization: `Bearer ${token}` } });
      expect(list.status).toBe(200);
      expect(((await list.json()) as { type: string }).type).toBe('FeatureCollection');
      const doc = await fetch(`${base}/openapi.json`);
      expect(((await doc.json()) as { openapi: string }).openapi).toBe('3.0.3');
      // The page and MapLibre come with it (public, before sign-in), and the imagery routes sit behind the login.
      expect((await fetch(`${base}/`)).headers.get('content-type')).toContain('text/html');
      expect((await fetch(`${base}/vendor/maplibre-gl.js`)).status).toBe(200);
      expect((await fetch(`${base}/api/imagery/epochs`)).status).toBe(401);
      const epochs = await fetch(`${base}/api/imagery/epochs`, { headers: { authorization: `Bearer ${token}` } });
      expect([epochs.status, await epochs.json()]).toEqual([200, { epochs: [] }]);
      // The server holds the embedded database for its whole life and shares it: tuban user and the
      // month's batch run beside it, through it, and what they store is live at once.
      const signIn = (name: string) => fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: PASSWORD }) });
      const added = await tuban(['user', 'add', 'clerk', '--role', 'bureau', '--bureau', 'water', '--db', join(dir, 'db')], PASSWORD + '\n');
      expect(added.code, added.stderr).toBe(0);
      const clerk = (await (await signIn('clerk')).json()) as { token: string };
      expect((await fetch(`${base}/api/polygons`, { headers: { authorization: `Bearer ${clerk.token}` } })).status).toBe(200);
      expect((await tuban(['user', 'disable', 'clerk', '--db', join(dir, 'db')])).code).toBe(0);
      expect((await fetch(`${base}/api/polygons`, { headers: { authorization: `Bearer ${clerk.token}` } })).status).toBe(401);
      const scene = await generateScene({ dir: join(dir, 'scene'), size: 192, seed: 3, tilesPerSide: 1 });
      const batch = await runCli(['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', join(dir, 'out'), '--db', join(dir, 'db')]);
      expect(batch.code, batch.stderr).toBe(0);
      const report = JSON.parse(await readFile(join(dir, 'out', 'batch-report.json'), 'utf8')) as BatchReport;
      expect(report.counts.polygons).toBeGreaterThan(0);
      // The server gives new polygons their cases on its next pass (every 10 s, behind a read).
      const listed = async () => ((await (await fetch(`${base}/api/polygons?epoch=${scene.epoch}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { features: unknown[] }).features.length;
      const until = Date.now() + 45_000;
      let n = await listed();
      while (n < report.counts.polygons && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1000));
        n = await listed();
      }
      expect(n).toBe(report.counts.polygons);
      // A second server on the same directory is refused: it would have to hold it itself.
      const second = await runCli(['serve', '--port', '0', '--db', join(dir, 'db'), '--data', data]);
      expect([second.code, second.stderr.includes('DB.LOCKED'), second.stderr.includes(String(p.pid))]).toEqual([75, true, true]);
      // A backup goes through the running server; a restore into its database is refused, naming it.
      const backup = await runCli(['backup', '--out', join(dir, 'backup'), '--db', join(dir, 'db')]);
      expect(backup.code, backup.stderr).toBe(0);
      const restore = await runCli(['restore', '--from', join(dir, 'backup'), '--db', join(dir, 'db'), '--data', join(dir, 'restored-data')]);
      expect([restore.code, restore.stderr.includes('DB.LOCKED'), restore.stderr.includes(String(p.pid))], restore.stderr).toEqual([75, true, true]);
      await new Promise((r) => setTimeout(r, 200));
      expect(out).toContain('"url":"/api/session"');
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain('wrong-password-x');
      expect(out).not.toContain(token.split('.')[1]);
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
    const disable = await tuban(['user', 'disable', 'chief', '--db', join(dir, 'db')]);
    expect(disable.code).toBe(0);
    expect((await tuban(['user', 'list', '--db', join(dir, 'db')])).stdout).toContain('chief\tlead\t-\tdisabled');
  }, 180_000);
});
