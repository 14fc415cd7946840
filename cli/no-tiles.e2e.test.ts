/**
 * `tuban batch --tiles /nonexistent/`: nothing to read is said plainly, naming the folder, exit 2,
 * and nothing is created (no ledger for a month that was not processed, no database folder, no
 * output folder): the plan fails before the database is opened. A folder of only rejected tiles
 * still runs and lists them in batch-report.json, exit 2, as README documents.
 * Needs `npm run build` first (npm test does it).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { CLI, runCli } from './testing/run-cli.js';

let dir: string;
let scene: SceneManifest;

const batch = (tiles: string, out: string, db = join(dir, 'db'), zones = scene.zonesPath) => ['batch', '--epoch', scene.epoch, '--tiles', tiles, '--prior', scene.priorDir, '--zones', zones, '--out', out, '--db', db];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-notiles-'));
  scene = await generateScene({ dir: join(dir, 'scene'), size: 192, seed: 3, tilesPerSide: 1 });
}, 300_000);

/** Each entry under `root` with its size and modification time: what "untouched" means. */
async function snapshot(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return Promise.all(entries.sort().map(async (e) => {
    const s = await stat(join(root, e));
    return `${e} ${s.size} ${s.mtimeMs}`;
  }));
}

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tuban batch with no tile to read', () => {
  it('says the --tiles folder does not exist, exits 2 and creates nothing: no database folder, no output', async () => {
    const out = join(dir, 'out-missing');
    const missing = join(dir, 'nonexistent');
    const db = join(dir, 'fresh', 'db');
    const r = await runCli(batch(`${missing}/`, out, db));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`TILE.NOT_FOUND: --tiles found no tile to read (${missing}: does not exist)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain('finished');
    expect(r.stdout).not.toContain('not observable');
    // The plan failed before the database was opened: not even the folder its lock goes in.
    expect(existsSync(join(dir, 'fresh'))).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  it('leaves an existing database folder untouched when --tiles names nothing', async () => {
    const db = join(dir, 'existing', 'db');
    await mkdir(db, { recursive: true });
    await writeFile(join(db, 'PG_VERSION'), '17\n');
    const before = await snapshot(join(dir, 'existing'));
    const r = await runCli(batch(join(dir, 'nonexistent'), join(dir, 'out-existing'), db));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('TILE.NOT_FOUND');
    expect(await snapshot(join(dir, 'existing'))).toEqual(before);
  });

  it('stops on zone files without a district before the database folder is created', async () => {
    const zones = join(dir, 'no-district.geojson');
    const all = JSON.parse(await readFile(scene.zonesPath, 'utf8')) as { features: { properties: { kind?: string } }[] };
    await writeFile(zones, JSON.stringify({ ...all, features: all.features.filter((f) => f.properties.kind !== 'district') }));
    const db = join(dir, 'nodistrict', 'db');
    const r = await runCli(batch(scene.currentDir, join(dir, 'out-nodistrict'), db, zones));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('ZONES.NO_DISTRICTS');
    expect(existsSync(join(dir, 'nodistrict'))).toBe(false);
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
    // No footprint was read: how much ground went unobserved is unknown, not 0 km².
    expect(r.stdout).toContain('not observable: every tile (no footprint known: no tile could be placed)');
    expect(r.stdout).not.toContain('0.00 km²');
    expect(report.notObservedUnknown).toBe(true);
  });
});
