/**
 * A batch run again on the queue whose tile file cannot be read this time (corrupted in place, same
 * size: the same batch id) keeps the tile's result of the batch's earlier run, as the embedded run
 * does (pipeline/batch/rerun-report.test.ts): the workers' tile job and finalise are the same
 * handlers, and the decision is taken where the rejected tile is stored (batch-store `rejectTile`).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { BatchArgsSchema } from '../../pipeline/batch/batch-args.js';
import { createHandlers } from '../../pipeline/batch/handlers.js';
import { exportBatch, planAndStore, runBatch } from '../../pipeline/batch/run-batch.js';
import { breakFirstChunk } from '../../pipeline/batch/testing/rejected-prior-scene.js';
import { loadRuleTable } from '../../pipeline/route/load-rule-table.js';
import { openDatabase } from '../../pipeline/store/open-database.js';
import { migrate } from '../../pipeline/store/migrations.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { enqueueBatch } from './enqueue-batch.js';
import { startWorker } from './start-worker.js';
import { followBatch } from './follow-batch.js';

describe.runIf(servers)('a queued re-run over a tile file damaged since the first run', () => {
  const log = pino({ level: 'silent' });
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it("keeps the tile's earlier polygons and codes, names the file, and its outputs agree with its report", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-queue-unread-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 512, seed: 11, tilesPerSide: 2 });
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
    const schema = uniqueName('unread_tile');
    const db = await openDatabase(servers!.databaseUrl, { schema });
    cleanup.push(() => db.close());
    await migrate(db);
    const first = await runBatch(args, { db, log, out: join(dir, 'first') });
    const month = async () => (await db.query<{ code: string; tile_id: string; g: string }>('SELECT code, tile_id, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const before = await month();
    const count = new Map<string, number>();
    for (const r of before) count.set(r.tile_id, (count.get(r.tile_id) ?? 0) + 1);
    const [victim] = [...count.entries()].sort((x, y) => y[1] - x[1])[0];
    const file = first.report.tiles.find((t) => t.tileId === victim)!.files[0];
    await breakFirstChunk(file);

    // The same batch on a queue that holds none of its jobs (a flow removed after it failed, Redis emptied): every tile job runs.
    const plan = await planAndStore(db, args, log);
    expect(plan.batchId).toBe(first.report.batchId);
    const ref = { queueName: uniqueName('q'), queuePrefix: uniqueName('p') };
    const workerDb = await openDatabase(servers!.databaseUrl, { schema });
    cleanup.push(() => workerDb.close());
    const worker = startWorker({ connection: servers!.redisUrl, handlers: createHandlers({ db: workerDb, log, mode: 'queue' }), ...ref, log, handleSignals: false });
    cleanup.push(() => worker.close());
    await enqueueBatch(servers!.redisUrl, { batchId: plan.batchId, tileIds: plan.tiles.map((t) => t.tile.id), ...ref });
    await followBatch(servers!.redisUrl, plan.batchId, () => {}, { ...ref, pollMs: 200 });
    const again = await exportBatch(db, plan.batchId, join(dir, 'again'), await loadRuleTable(args.rules));

    expect(before.filter((r) => r.tile_id === victim).length).toBeGreaterThan(0);
    expect(await month()).toEqual(before);
    expect(again.report.tiles.find((t) => t.tileId === victim)?.keptFromEarlierRun).toMatchObject({ file, error: { code: 'TILE.UNREADABLE' } });
    expect(again.report.rejected.map((r) => [r.subject, r.error.code])).toEqual([[file, 'TILE.UNREADABLE']]);
    expect(again.report.warnings.filter((w) => w.startsWith(`${file}: cannot be read now`))).toHaveLength(1);
    const geojson = JSON.parse(await readFile(join(dir, 'again', 'polygons.geojson'), 'utf8')) as { features: unknown[] };
    expect(geojson.features.length).toBe(again.report.counts.polygons);
    expect(again.report.counts.polygons).toBe(before.length);
  }, 300_000);
});
