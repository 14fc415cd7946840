/**
 * `tuban batch --tiles /nonexistent/`: nothing to read is said plainly, naming the folder, exit 2,
 * and no output is written (no ledger for a month that was not processed); a folder of only
 * rejected tiles still runs and lists them in batch-report.json, exit 2, as README documents.
 * Needs `npm run build` first (npm test does it).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { CLI, runCli } from './testing/run-cli.js';

let dir: string;
let scene: SceneManifest;

const batch = (tiles: string, out: string) => ['batch', '--epoch', scene.epoch, '--tiles', tiles, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', out, '--db', join(dir, 'db')];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-notiles-'));
  scene = await generateScene({ dir: join(dir, 'scene'), size: 192, seed: 3, tilesPerSide: 1 });
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tuban batch with no tile to read', () => {
  it('says the --tiles folder does not exist, exits 2 and writes no output', async () => {
    const out = join(dir, 'out-missing');
    const missing = join(dir, 'nonexistent');
    const r = await runCli(batch(`${missing}/`, out));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`TILE.NOT_FOUND: --tiles found no tile to read (${missing}: does not exist)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain('finished');
    expect(r.stdout).not.toContain('not observable');
    const written = existsSync(out) ? await readdir(out) : [];
    expect(written.filter((f) => f !== 'batch.log')).toEqual([]);
  });

  it('still runs a folder of only rejected tiles and lists them in batch-report.json (exit 2)', async () => {
    const broken = join(dir, 'only-broken');
    await mkdir(broken);
    await writeFile(join(broken, 'x.tif'), 'not a tiff at all');
    const r = await runCli(batch(broken, join(dir, 'out-broken')));
    expect(r.code, r.stderr).toBe(2);
    const report = JSON.parse(await readFile(join(dir, 'out-broken', 'batch-report.json'), 'utf8')) as BatchReport;
    expect(report.rejected.map((x) => [x.subject, x.error.code])).toEqual([[join(broken, 'x.tif'), 'TILE.UNREADABLE']]);
    expect(r.stdout).toContain('TILE.UNREADABLE');
  });
});
