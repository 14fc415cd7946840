/**
 * `tuban … | head`: the reader closes the pipe before the command has printed everything. The
 * command still finishes its work, writes every file whole (no `.tmp` left), prints no EPIPE stack
 * and exits with its own code. Needs `npm run build` first (npm test does it).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { CLI, runCli } from './testing/run-cli.js';

let dir: string;
let scene: SceneManifest;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-closed-'));
  scene = await generateScene({ dir: join(dir, 'scene'), size: 256, seed: 5, tilesPerSide: 1 });
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function expectWhole(out: string, files: string[]): Promise<void> {
  const names = await readdir(out);
  expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  for (const f of files) expect(names, f).toContain(f);
}

describe('a closed stdout or stderr', () => {
  it('tuban batch with both closed (2>&1 | head) finishes the batch and writes every output', async () => {
    const out = join(dir, 'out');
    const r = await runCli(['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', out, '--db', join(dir, 'db')], {
      closed: ['stdout', 'stderr'],
    });
    expect(r.code).toBe(0);
    await expectWhole(out, ['polygons.geojson', 'polygons.gpkg', 'ledger.csv', 'ledger.xlsx', 'not-observed.geojson', 'batch-report.json']);
    const report = JSON.parse(await readFile(join(out, 'batch-report.json'), 'utf8')) as BatchReport;
    expect(report.counts.polygons).toBeGreaterThan(0);
  });

  it('tuban ledger with stdout closed writes every format and says nothing of EPIPE', async () => {
    const out = join(dir, 'ledger');
    const r = await runCli(['ledger', '--epoch', scene.epoch, '--db', join(dir, 'db'), '--out', out], { closed: ['stdout'] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('EPIPE');
    await expectWhole(out, ['xlsx', 'csv', 'gpkg', 'shp.zip', 'geojson'].map((f) => `ledger-${scene.epoch}.${f}`));
    expect((await readFile(join(out, `ledger-${scene.epoch}.csv`), 'utf8')).split('\n').length).toBeGreaterThan(2);
  });

  it('tuban report with stdout closed (| head -8) writes the csv and xlsx and exits 0', async () => {
    const out = join(dir, 'report');
    const r = await runCli(['report', '--quarter', '2026Q4', '--db', join(dir, 'db'), '--out', out], { closed: ['stdout'] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('EPIPE');
    await expectWhole(out, ['report-2026Q4.xlsx', 'report-2026Q4.csv']);
    expect((await readFile(join(out, 'report-2026Q4.csv'), 'utf8')).length).toBeGreaterThan(0);
  });
});
