/**
 * End to end through the built `tuban batch` (issue 15): tiles named only by month
 * (`after-2026-10.tif`, `before-2026-09.tif`, no date tags), and the same scene given as STAC
 * items. Needs `npm run build` first (npm test does it).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { FeatureCollection, Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { CLI, runCli } from './testing/run-cli.js';

let dir: string;
let scene: SceneManifest;

const tuban = (args: string[]) => runCli(args);

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-inputs-'));
  scene = await generateScene({ dir: join(dir, 'scene'), size: 384, seed: 5, tilesPerSide: 1, monthNames: true, perBandFiles: true });
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tiles dated by month only', () => {
  it('runs the batch and shows 前/后时相 as months', async () => {
    expect((await readdir(scene.currentDir)).sort()).toEqual(['after-2026-10_B02.tif', 'after-2026-10_B03.tif', 'after-2026-10_B04.tif', 'after-2026-10_B08.tif']);
    const out = join(dir, 'out-month');
    const r = await tuban(['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', out, '--db', join(dir, 'db')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'batch-report.json'), 'utf8')) as BatchReport;
    expect(report.rejected).toEqual([]);
    expect(report.tiles.map((t) => [t.status, t.date, t.datePrecision, t.priorDatePrecision, t.bands])).toEqual([['done', '2026-10-01', 'month', 'month', ['blue', 'green', 'red', 'nir']]]);
    const polys = JSON.parse(await readFile(join(out, 'polygons.geojson'), 'utf8')) as FeatureCollection<Polygon>;
    expect(polys.features.length).toBeGreaterThan(0);
    for (const f of polys.features) expect([f.properties!.before_date, f.properties!.after_date]).toEqual(['2026-09', '2026-10']);
    const ledger = await readFile(join(out, 'ledger.csv'), 'utf8');
    expect(ledger).toContain(',2026-09,2026-10,');
  });

  it('reads the same scene from STAC items, recording cloud cover, and rejects a bad --tiles-date as usage', async () => {
    const items = join(dir, 'items');
    await mkdir(items);
    const asset = (file: string, common: string) => ({ href: relative(items, file), type: 'image/tiff; application=geotiff', roles: ['data'], 'eo:bands': [{ common_name: common }] });
    const write = async (name: string, folder: string, stem: string, datetime: string, cloud: number) => {
      const assets = Object.fromEntries([['B02', 'blue'], ['B03', 'green'], ['B04', 'red'], ['B08', 'nir']].map(([b, c]) => [c, asset(join(folder, `${stem}_${b}.tif`), c)]));
      await writeFile(join(items, name), JSON.stringify({ type: 'Feature', stac_version: '1.0.0', id: name.replace('.json', ''), geometry: null, properties: { datetime, 'eo:cloud_cover': cloud }, links: [], assets }));
    };
    await write('after.json', scene.currentDir, 'after-2026-10', '2026-10-08T03:01:02Z', 4.5);
    await write('before.json', scene.priorDir, 'before-2026-09', '2026-09-06T03:01:02Z', 12);
    const out = join(dir, 'out-stac');
    const r = await tuban(['batch', '--epoch', scene.epoch, '--tiles', join(items, 'after.json'), '--prior', join(items, 'before.json'), '--zones', scene.zonesPath, '--out', out, '--db', join(dir, 'db')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'batch-report.json'), 'utf8')) as BatchReport;
    expect(report.rejected).toEqual([]);
    expect(report.tiles.map((t) => [t.date, t.datePrecision, t.cloudCover, t.stacItem])).toEqual([['2026-10-08', 'day', 4.5, `${join(items, 'after.json')}#after`]]);
    const polys = JSON.parse(await readFile(join(out, 'polygons.geojson'), 'utf8')) as FeatureCollection<Polygon>;
    expect(polys.features.length).toBeGreaterThan(0);
    expect(polys.features[0].properties!.after_date).toBe('2026-10-08');
    expect(polys.features[0].properties!.before_date).toBe('2026-09-06');

    const bad = await tuban(['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--tiles-date', '2026-13', '--out', join(dir, 'out-bad'), '--db', join(dir, 'db')]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--tiles-date');
  });
});
