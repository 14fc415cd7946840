/**
 * Verdicts survive a real batch re-run: the built `tuban batch` on a generated scene (embedded
 * database), a verdict recorded through the API, then the batch run again with a corrected zone
 * file (another batch id, which supersedes the first batch's polygons on the same tile: delete and
 * reinsert in finalise). The case keeps its verdict and history by code; nothing is flagged because
 * no outline changed. Needs `npm run build` first (npm test does it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, testApp } from './testing/fixtures.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/cli/tuban.js', import.meta.url));
let dir: string;
let scene: SceneManifest;

async function batch(zones: string): Promise<void> {
  await run(process.execPath, [CLI, 'batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', zones, '--out', join(dir, 'out'), '--db', join(dir, 'db')], {
    maxBuffer: 64 << 20,
  });
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
    await batch(corrected);

    await withApp(async (db, t) => {
      const row = (await db.query<{ batch_id: string }>('SELECT batch_id FROM polygons WHERE code = $1', [code])).rows[0];
      expect(row.batch_id).not.toBe(batchBefore); // the polygon row was replaced by the new batch
      const card = (await t.app.inject({ method: 'GET', url: `/api/polygons/${code}`, headers: { authorization: `Bearer ${await t.token('chief')}` } })).json();
      expect(card.case).toMatchObject({ status: 'verified', verdict: 'illegal', geometry_changed: false });
      expect(card.history.map((x: { action: string }) => x.action)).toEqual(['accept', 'verdict']);
    });
  }, 600_000);
});
