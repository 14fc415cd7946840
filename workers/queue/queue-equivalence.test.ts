import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { areaM2 } from '../../geo/area.js';
import { writeSceneTownships, writeSceneVillages } from '../../fixtures/scene-townships.js';
import { BatchArgsSchema } from '../../pipeline/batch/batch-args.js';
import { createHandlers } from '../../pipeline/batch/handlers.js';
import { exportBatch, planAndStore, runBatch } from '../../pipeline/batch/run-batch.js';
import { loadRuleTable } from '../../pipeline/route/load-rule-table.js';
import { openDatabase } from '../../pipeline/store/open-database.js';
import { migrate } from '../../pipeline/store/migrations.js';
import type { Database } from '../../pipeline/store/queryable.js';
import * as repo from '../../pipeline/store/repository.js';
import { rejectedPriorScene } from '../../pipeline/batch/testing/rejected-prior-scene.js';
import { comparableOutputs } from '../testing/batch-outputs.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { enqueueBatch } from './enqueue-batch.js';
import { startWorker, type WorkerHandle } from './start-worker.js';
import { followBatch } from './follow-batch.js';

/**
 * The production path must be the embedded path on other machines: same handlers, same SQL,
 * so the same inputs give the same polygons, codes and ledger, whichever worker ran which tile.
 */
describe.runIf(servers)('embedded vs queue (3 workers) on one seeded scene', () => {
  const log = pino({ level: 'silent' });
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  async function database(schema: string): Promise<Database> {
    const db = await openDatabase(servers!.databaseUrl, { schema });
    cleanup.push(() => db.close());
    return db;
  }

  it('gives identical polygons, codes, ledger rows and report, enqueued twice without duplicates, and reports a poisoned input', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-equiv-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 5, tilesPerSide: 2 });
    // A poisoned current tile: named like a tile, not a TIFF.
    await writeFile(join(scene.currentDir, 'zz_poison.tif'), Buffer.from('this is not a GeoTIFF'));
    // A 乡镇/街道 layer that leaves the scene's south uncovered: townships and blanks both ways.
    const townships = join(dir, 'townships.geojson');
    await writeSceneTownships(scene.zonesPath, townships);
    // And a 村/社区 layer (no kind column: its 12-digit codes make it villages) over each township's north half.
    const villages = join(dir, 'villages.geojson');
    await writeSceneVillages(scene.zonesPath, villages);
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath, townships, villages] });

    const schemaA = uniqueName('equiv_embedded');
    const schemaB = uniqueName('equiv_queue');
    const dbA = await database(schemaA);
    await migrate(dbA);
    const embedded = await runBatch(args, { db: dbA, log, out: join(dir, 'out-embedded') });

    const dbB = await database(schemaB);
    await migrate(dbB);
    const plan = await planAndStore(dbB, args, log);
    expect(plan.batchId).toBe(embedded.plan.batchId);
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const workers: WorkerHandle[] = [];
    for (let i = 0; i < 3; i++) {
      // One pool per worker, as on separate machines.
      workers.push(startWorker({ connection: servers!.redisUrl, handlers: createHandlers({ db: await database(schemaB), log, mode: 'queue' }), ...ref, log, handleSignals: false }));
    }
    cleanup.push(() => Promise.all(workers.map((w) => w.close())));
    // Enqueued twice at once (a retried CLI, two operators): deterministic job ids, one flow.
    const tileIds = plan.tiles.map((t) => t.tile.id);
    await Promise.all([0, 1].map(() => enqueueBatch(servers!.redisUrl, { batchId: plan.batchId, tileIds, ...ref })));
    await followBatch(servers!.redisUrl, plan.batchId, () => {}, { ...ref, pollMs: 200 });
    const queue = new Queue(ref.queueName, { connection: { url: servers!.redisUrl }, prefix: ref.queuePrefix });
    cleanup.push(() => queue.close());
    const jobs = await queue.getJobs(['completed', 'failed', 'wait', 'active', 'delayed', 'waiting-children']);
    const ids = jobs.map((j) => j.id);
    expect(ids).toHaveLength(tileIds.length + 1);
    expect(new Set(ids).size).toBe(ids.length);
    expect(jobs.every((j) => j.attemptsMade === 1)).toBe(true);
    const queued = await exportBatch(dbB, plan.batchId, join(dir, 'out-queue'), await loadRuleTable(args.rules));

    const [polysA, polysB] = await Promise.all([repo.loadPolygons(dbA, plan.batchId), repo.loadPolygons(dbB, plan.batchId)]);
    expect(polysA.length).toBeGreaterThan(0);
    expect(polysB).toEqual(polysA);
    // The district outlines the server checks clues against: stored by the one finalise handler in both runners.
    const outlines = (db: Database) => db.query('SELECT code, name, geom::text AS geom, batch_id, epoch FROM districts ORDER BY code').then((r) => r.rows);
    const [outlinesA, outlinesB] = await Promise.all([outlines(dbA), outlines(dbB)]);
    expect(outlinesA.length).toBe(3);
    expect(outlinesB).toEqual(outlinesA);
    // And the township outlines a clue is placed by (migration 16): two halves of each district.
    const townshipRows = (db: Database) => db.query('SELECT key, code, name, geom::text AS geom, batch_id, epoch FROM townships ORDER BY key').then((r) => r.rows);
    const [townshipsA, townshipsB] = await Promise.all([townshipRows(dbA), townshipRows(dbB)]);
    expect(townshipsA.length).toBe(6);
    expect(townshipsB).toEqual(townshipsA);
    // And the village outlines (migration 19): the north half of each township.
    const villageRows = (db: Database) => db.query('SELECT key, code, name, geom::text AS geom, batch_id, epoch FROM villages ORDER BY key').then((r) => r.rows);
    const [villagesA, villagesB] = await Promise.all([villageRows(dbA), villageRows(dbB)]);
    expect(villagesA.length).toBe(6);
    expect(villagesB).toEqual(villagesA);
    // Each polygon's township, the same both ways (compared above), in its own district, and blank
    // only for those the report counts outside every township.
    const inTownship = polysA.filter((p) => p.townshipName !== null);
    expect(inTownship.length).toBeGreaterThan(0);
    expect(inTownship.every((p) => p.townshipCode!.startsWith(p.districtCode) && p.routingReason.endsWith(`属地: ${p.townshipName}`))).toBe(true);
    const blank = polysA.filter((p) => p.townshipName === null).map((p) => p.code);
    expect(blank.length).toBeGreaterThan(0);
    expect([...(embedded.report.counts.outsideTownships?.codes ?? [])].sort()).toEqual([...blank].sort());
    // Each polygon's village likewise: under its own township, blank only where the report counts it.
    const inVillage = polysA.filter((p) => p.villageName !== null);
    expect(inVillage.length).toBeGreaterThan(0);
    expect(inVillage.every((p) => p.townshipCode !== null && p.villageCode!.startsWith(p.townshipCode))).toBe(true);
    const noVillage = polysA.filter((p) => p.villageName === null).map((p) => p.code);
    expect(noVillage.length).toBeGreaterThan(blank.length);
    expect([...(embedded.report.counts.outsideVillages?.codes ?? [])].sort()).toEqual([...noVillage].sort());
    expect(embedded.report.warnings.filter((w) => /village .* does not begin/.test(w))).toEqual([]);
    // The files, as an analyst gets them: polygons.geojson (codes, geometries, properties),
    // ledger.csv rows and the report without its run-specific fields.
    const files = await comparableOutputs(join(dir, 'out-embedded'));
    expect(await comparableOutputs(join(dir, 'out-queue'))).toEqual(files);
    expect(files.ledger[0].split(',')).toContain('乡镇/街道');
    expect(files.ledger.some((line) => /(城关街道|王家镇)/.test(line))).toBe(true);
    expect(files.polygons.some((f) => typeof f.properties?.township_code === 'string')).toBe(true);
    expect(files.ledger[0].split(',')).toContain('村');
    expect(files.ledger.some((line) => line.includes('前进村'))).toBe(true);
    expect(files.polygons.some((f) => typeof f.properties?.village_code === 'string')).toBe(true);
    const rows = async (db: Database, table: string) => (await db.query<{ n: number }>(`select count(*)::int as n from ${table} where batch_id = $1`, [plan.batchId])).rows[0].n;
    for (const table of ['detections', 'tiles', 'polygons', 'rejected_inputs']) expect(await rows(dbB, table), table).toBe(await rows(dbA, table));

    // The poisoned tile is reported by name in both, and did not stop the batch.
    const poisoned = (r: unknown) => JSON.stringify(r).includes('zz_poison.tif');
    expect(poisoned(embedded.report)).toBe(true);
    expect(poisoned(queued.report)).toBe(true);
  });

  it('gives the same not-observed ground of rejected prior tiles, named by the prior file, and the same report figures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-equiv-prior-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await rejectedPriorScene(dir);
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });

    const dbA = await database(uniqueName('equiv_prior_embedded'));
    await migrate(dbA);
    const embedded = await runBatch(args, { db: dbA, log, out: join(dir, 'out-embedded') });

    const schemaB = uniqueName('equiv_prior_queue');
    const dbB = await database(schemaB);
    await migrate(dbB);
    const plan = await planAndStore(dbB, args, log);
    expect(plan.batchId).toBe(embedded.plan.batchId);
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const workers: WorkerHandle[] = [];
    for (let i = 0; i < 2; i++) workers.push(startWorker({ connection: servers!.redisUrl, handlers: createHandlers({ db: await database(schemaB), log, mode: 'queue' }), ...ref, log, handleSignals: false }));
    cleanup.push(() => Promise.all(workers.map((w) => w.close())));
    await enqueueBatch(servers!.redisUrl, { batchId: plan.batchId, tileIds: plan.tiles.map((t) => t.tile.id), ...ref });
    await followBatch(servers!.redisUrl, plan.batchId, () => {}, { ...ref, pollMs: 200 });
    const queued = await exportBatch(dbB, plan.batchId, join(dir, 'out-queue'), await loadRuleTable(args.rules));

    const files = await comparableOutputs(join(dir, 'out-embedded'));
    expect(await comparableOutputs(join(dir, 'out-queue'))).toEqual(files);
    expect(files.notObserved.filter((p) => p.reason).map((p) => [p.reason, p.file, p.input]).sort()).toEqual(
      [['TILE.BAND_MISMATCH', scene.threeBands, 'prior'], ['TILE.UNREADABLE', scene.badChecksum, 'prior']].sort(),
    );
    expect(queued.report.rejectedNotObservedM2).toBe(embedded.report.rejectedNotObservedM2);
    expect(queued.report.notObservedM2).toBe(embedded.report.notObservedM2);
    // The north-west tile, whose prior did not decode, fell back to the priors left over it on either
    // runner: compared, with the same detections and the same ground named by the broken file.
    for (const r of [embedded.report, queued.report]) {
      expect(r.tiles.map((t) => t.status)).toEqual(['done', 'done', 'done', 'done']);
      expect(r.tiles.flatMap((t) => t.rejectedPriors ?? []).map((p) => [p.subject, p.error.code])).toEqual([[scene.badChecksum, 'TILE.UNREADABLE']]);
    }
    expect(embedded.report.rejectedNotObservedM2!).toBeGreaterThan(areaM2(scene.current[0].footprint) * 0.6);
    const rows = async (db: Database, table: string) => (await db.query<{ n: number }>(`select count(*)::int as n from ${table} where batch_id = $1`, [plan.batchId])).rows[0].n;
    for (const table of ['detections', 'not_observed', 'rejected_inputs']) expect(await rows(dbB, table), table).toBe(await rows(dbA, table));
  }, 300_000);
});
