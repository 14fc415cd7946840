/**
 * Two `tuban batch` processes on one embedded database directory, over different tiles of one
 * month: while the first holds the directory, a second without --wait-db fails at once with
 * DB.LOCKED (exit 75) naming the first's pid and leaves no --out folder; one with --wait-db waits and then runs, and both
 * batches end up in the database with distinct, gap-free codes. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import { lockPathFor } from '../pipeline/store/directory-lock.js';
import { openDatabase } from '../pipeline/store/open-database.js';

const CLI = fileURLToPath(new URL('../dist/cli/tuban.js', import.meta.url));

interface Run {
  pid: number;
  result: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { pid: child.pid!, result: new Promise((r) => child.once('close', (code) => r({ code, stdout, stderr }))) };
}

let dir: string;
let scene: SceneManifest;
let tiles: string[];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-dblock-'));
  scene = await generateScene({ dir: join(dir, 'scene'), size: 512, seed: 5, tilesPerSide: 2 });
  tiles = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(scene.currentDir, f));
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('two tuban batch runs on one embedded database', () => {
  it('fails the second at once naming the holder, or lets it wait; both batches are kept', async () => {
    expect(tiles).toHaveLength(4);
    const db = join(dir, 'db');
    const batch = (part: string[], out: string, extra: string[] = []) =>
      ['batch', '--epoch', scene.epoch, '--tiles', ...part, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', join(dir, out), '--db', db, ...extra];

    const first = start(batch(tiles.slice(0, 2), 'out-a'));
    // The first holds the directory from its start (a fresh one takes ~13 s of initdb alone).
    for (let i = 0; i < 200 && !existsSync(lockPathFor(db)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(lockPathFor(db))).toBe(true);
    const refused = await start(batch(tiles.slice(2), 'out-refused')).result;
    const waiting = start(batch(tiles.slice(2), 'out-b', ['--wait-db', '600']));

    expect(refused.code, refused.stderr).toBe(75);
    expect(refused.stderr).toContain('DB.LOCKED');
    expect(refused.stderr).toContain(`pid ${first.pid}`);
    expect(refused.stderr).toContain('tuban batch --epoch');
    // Refused before anything was written: no --out folder, no empty batch.log in it.
    expect(existsSync(join(dir, 'out-refused'))).toBe(false);

    const [a, b] = await Promise.all([first.result, waiting.result]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain(`in use by pid ${first.pid}`);
    expect(b.stderr).toContain('waiting up to 600 s');
    expect(readFileSync(join(dir, 'out-b', 'batch.log'), 'utf8')).toContain('waiting up to 600 s');
    // Planned again once the database was free (cli/batch-wait-db.test.ts: a tile replaced meanwhile).
    expect(readFileSync(join(dir, 'out-b', 'batch.log'), 'utf8')).toContain('planned again after waiting for the database: the batch id is unchanged');
    expect(existsSync(lockPathFor(db))).toBe(false);

    const database = await openDatabase(db);
    try {
      const batches = await database.query<{ id: string; status: string }>('SELECT id, status FROM batches ORDER BY id');
      expect(batches.rows).toHaveLength(2);
      expect(batches.rows.every((r) => r.status === 'done')).toBe(true);
      const polys = await database.query<{ batch_id: string; code: string; district_code: string }>('SELECT batch_id, code, district_code FROM polygons');
      expect(new Set(polys.rows.map((p) => p.batch_id)).size).toBe(2);
      const byDistrict = new Map<string, number[]>();
      for (const p of polys.rows) byDistrict.set(p.district_code, [...(byDistrict.get(p.district_code) ?? []), Number(p.code.split('-')[2])]);
      for (const [district, serials] of byDistrict) expect(serials.sort((x, y) => x - y), district).toEqual(serials.map((_, i) => i + 1));
    } finally {
      await database.close();
    }
  }, 600_000);
});
