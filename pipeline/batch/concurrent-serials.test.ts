/**
 * Two batches of one month over different tiles of the same districts, finalised at the same moment
 * on a PostgreSQL server (two pools, as two workers on two machines): every code distinct, each
 * district's serials 1..N with no gap, and a re-run keeps its codes. Needs the test server
 * (`node scripts/test-servers.mjs -- npx vitest run <this file>`; skipped without it).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import type { JobContext } from '../../schemas/jobs.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import * as repo from '../store/repository.js';
import { BatchArgsSchema } from './batch-args.js';
import { createHandlers } from './handlers.js';
import { planAndStore } from './run-batch.js';

const url = process.env.TUBAN_TEST_DATABASE_URL;

describe.runIf(url)('serials of batches finalised concurrently on a server', () => {
  const log = pino({ level: 'silent' });
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });
  const schema = `tuban_serials_${process.pid}_${Date.now()}`;
  async function database(): Promise<Database> {
    const db = await openDatabase(url!, { schema });
    cleanup.push(() => db.close());
    return db;
  }
  const ctx: JobContext = { progress: () => {}, signal: new AbortController().signal };

  it('gives distinct, gap-free codes per district, and a re-run keeps its codes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-serials-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 512, seed: 5, tilesPerSide: 2 });
    const tiles = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(scene.currentDir, f));
    expect(tiles).toHaveLength(4);
    const argsFor = (t: string[]) => BatchArgsSchema.parse({ epoch: scene.epoch, tiles: t, prior: [scene.priorDir], zones: [scene.zonesPath] });

    const db = await database();
    await migrate(db);
    const plans = [];
    for (const part of [tiles.slice(0, 2), tiles.slice(2)]) {
      const plan = await planAndStore(db, argsFor(part), log);
      const handlers = createHandlers({ db, log, mode: 'queue' });
      for (const t of plan.tiles) await handlers['tile.detect']({ batchId: plan.batchId, tileId: t.tile.id }, ctx);
      plans.push(plan);
    }
    const [a, b] = plans;
    expect(a.batchId).not.toBe(b.batchId);

    // Both finalise jobs at once, each on its own pool.
    const workers = [createHandlers({ db: await database(), log, mode: 'queue' }), createHandlers({ db: await database(), log, mode: 'queue' })];
    await Promise.all([workers[0]['batch.finalise']({ batchId: a.batchId }, ctx), workers[1]['batch.finalise']({ batchId: b.batchId }, ctx)]);

    const [pa, pb] = await Promise.all([repo.loadPolygons(db, a.batchId), repo.loadPolygons(db, b.batchId)]);
    expect(pa.length).toBeGreaterThan(0);
    expect(pb.length).toBeGreaterThan(0);
    const all = [...pa, ...pb];
    expect(new Set(all.map((p) => p.code)).size).toBe(all.length);
    const byDistrict = new Map<string, number[]>();
    for (const p of all) byDistrict.set(p.districtCode, [...(byDistrict.get(p.districtCode) ?? []), Number(p.code.split('-')[2])]);
    for (const [district, serials] of byDistrict) {
      expect(serials.sort((x, y) => x - y), district).toEqual(serials.map((_, i) => i + 1));
    }
    // The race is only a race where both batches number the same district.
    const shared = [...byDistrict.keys()].filter((d) => pa.some((p) => p.districtCode === d) && pb.some((p) => p.districtCode === d));
    expect(shared.length).toBeGreaterThan(0);

    // The first batch finalised again (a retried job), after the other took the serials above it.
    const serialIn = (ps: typeof pa) => Number(ps.find((p) => p.districtCode === shared[0])!.code.split('-')[2]);
    const first = serialIn(pa) < serialIn(pb) ? a : b;
    const before = (await repo.loadPolygons(db, first.batchId)).map((p) => p.code);
    await workers[0]['batch.finalise']({ batchId: first.batchId }, ctx);
    expect((await repo.loadPolygons(db, first.batchId)).map((p) => p.code)).toEqual(before);
  });
});
