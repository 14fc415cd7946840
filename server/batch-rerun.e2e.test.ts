/**
 * Verdicts survive a real batch re-run: the built `tuban batch` on a generated scene (embedded
 * database), a verdict recorded through the API, then the batch run again with a corrected zone
 * file (another batch id, which supersedes the first batch's polygons on the same tile: delete and
 * reinsert in finalise). The case keeps its verdict and history by code; nothing is flagged because
 * no outline changed. Needs `npm run build` first (npm test does it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import type { Database } from '../pipeline/store/queryable.js';
import { loadEpochScene } from './imagery/epoch-scenes.js';
import { addUsers, testApp } from './testing/fixtures.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/cli/tuban.js', import.meta.url));
let dir: string;
let scene: SceneManifest;

async function batch(zones: string, tiles = scene.currentDir, ...extra: string[]): Promise<string> {
  const r = await run(process.execPath, [CLI, 'batch', '--epoch', scene.epoch, '--tiles', tiles, '--prior', scene.priorDir, '--zones', zones, '--out', join(dir, 'out'), '--db', join(dir, 'db'), ...extra], {
    maxBuffer: 64 << 20,
  });
  return r.stdout;
}

/** Open the batch's database in this process, run `fn` on the app, close (PGlite allows one process). */
async function withApp<T>(fn: (db: Database, t: Awaited<ReturnType<typeof testApp>>) => Promise<T>): Promise<T> {
  const db = await openDatabase(join(dir, 'db'));
  try {
    await migrate(db);
    const t = await testApp(db);
    try {
      return await fn(db, t);
    } finally {
      await t.app.close();
    }
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-rerun-'));
  scene = await generateScene({ dir: join(dir, 'scene'), size: 384, seed: 5, tilesPerSide: 1 });
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a batch re-run over a month with verdicts', () => {
  it('keeps the verdict and the history by code', async () => {
    await batch(scene.zonesPath);
    const code = await withApp(async (db, t) => {
      await addUsers(db, [['chief', 'lead']]);
      const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
      const list = await t.app.inject({ method: 'GET', url: '/api/polygons?limit=1', headers: await auth('chief') });
      const first = list.json().features[0];
      expect(first, list.body).toBeDefined();
      const lead = first.properties.lead_bureau as string;
      await addUsers(db, [['handler', 'bureau', lead]]);
      const h = await auth('handler');
      expect((await t.app.inject({ method: 'POST', url: `/api/polygons/${first.id}/accept`, headers: h, payload: {} })).statusCode).toBe(200);
      const v = await t.app.inject({ method: 'POST', url: `/api/polygons/${first.id}/verdict`, headers: h, payload: { verdict: 'illegal', violation_type: 'illegal_occupation' } });
      expect(v.statusCode, v.body).toBe(200);
      return first.id as string;
    });
    const batchBefore = await withApp(async (db) => (await db.query<{ batch_id: string }>('SELECT batch_id FROM polygons WHERE code = $1', [code])).rows[0].batch_id);

    // A corrected zone file: the same features, other bytes — another batch id for the same month and tile.
    const corrected = join(dir, 'zones-corrected.geojson');
    await writeFile(corrected, JSON.stringify(JSON.parse(await readFile(scene.zonesPath, 'utf8')), null, 1));
    const rerun = await batch(corrected);
    // The summary says the month's codes and the bureaus' cases were kept: nothing new in any inbox.
    expect(rerun).toMatch(new RegExp(`\\nRe-run over the tiles of batch ${batchBefore}: (\\d+) polygons, the same codes; 0 awaiting a case, \\1 cases kept, 0 whose polygon is gone\\n`));

    await withApp(async (db, t) => {
      const row = (await db.query<{ batch_id: string }>('SELECT batch_id FROM polygons WHERE code = $1', [code])).rows[0];
      expect(row.batch_id).not.toBe(batchBefore); // the polygon row was replaced by the new batch
      const card = (await t.app.inject({ method: 'GET', url: `/api/polygons/${code}`, headers: { authorization: `Bearer ${await t.token('chief')}` } })).json();
      expect(card.case).toMatchObject({ status: 'verified', verdict: 'illegal', geometry_changed: false });
      expect(card.history.map((x: { action: string }) => x.action)).toEqual(['accept', 'verdict']);
    });
  }, 600_000);

  // The month's imagery prepared again (a COG copy, other names): other tile files, so only
  // --replaces makes the new batch take the old one's place instead of listing every site twice.
  it("--replaces: a batch over re-prepared imagery takes the old batch's place, its codes and cases", async () => {
    const { code, old, before } = await withApp(async (db) => {
      const verdict = (await db.query<{ code: string }>("SELECT code FROM cases WHERE verdict = 'illegal' ORDER BY code LIMIT 1")).rows[0];
      expect(verdict).toBeDefined();
      const held = (await db.query<{ batch_id: string }>('SELECT batch_id FROM polygons WHERE code = $1', [verdict.code])).rows[0];
      const codes = (await db.query<{ code: string }>('SELECT code FROM polygons WHERE epoch = $1 ORDER BY code', [scene.epoch])).rows.map((r) => r.code);
      return { code: verdict.code, old: held.batch_id, before: codes };
    });
    const copies = join(dir, 'reprepared');
    await mkdir(copies, { recursive: true });
    for (const f of (await readdir(scene.currentDir)).filter((n) => n.endsWith('.tif'))) await copyFile(join(scene.currentDir, f), join(copies, `cog_${f}`));

    const stdout = await batch(scene.zonesPath, copies, '--replaces', old);
    expect(stdout).toContain(`Replaced batch ${old}: ${before.length} of its ${before.length} polygons found again`);
    expect(stdout).not.toMatch(/already holds/);

    await withApp(async (db, t) => {
      const rows = (await db.query<{ code: string; batch_id: string }>('SELECT code, batch_id FROM polygons WHERE epoch = $1 ORDER BY code', [scene.epoch])).rows;
      expect(rows.map((r) => r.code)).toEqual(before);
      const now = rows[0].batch_id;
      expect(now).not.toBe(old);
      expect(new Set(rows.map((r) => r.batch_id))).toEqual(new Set([now]));
      expect((await db.query('SELECT replaced_by FROM batches WHERE id = $1', [old])).rows[0]).toEqual({ replaced_by: now });
      // The map shows the new files' imagery only.
      const sceneNow = await loadEpochScene(db, scene.epoch);
      expect(sceneNow!.after.map((tile) => tile.files[0].split('/').at(-1))).toEqual(expect.arrayContaining([expect.stringMatching(/^cog_/)]));
      expect(sceneNow!.after.every((tile) => tile.files[0].includes('/reprepared/'))).toBe(true);
      const card = (await t.app.inject({ method: 'GET', url: `/api/polygons/${code}`, headers: { authorization: `Bearer ${await t.token('chief')}` } })).json();
      expect(card.case).toMatchObject({ status: 'verified', verdict: 'illegal' });
    });

    // A wrong id ends the batch before a tile is read, naming what is wrong.
    const wrong = await run(process.execPath, [CLI, 'batch', '--epoch', scene.epoch, '--tiles', copies, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', join(dir, 'out'), '--db', join(dir, 'db'), '--replaces', '202610-000000000000']).catch((e: { code: number; stderr: string }) => e);
    expect('code' in wrong && wrong.code).toBe(1);
    expect((wrong as { stderr: string }).stderr).toContain('BATCH.CANNOT_REPLACE: --replaces: 202610-000000000000 is no batch of this database');
  }, 600_000);
});
