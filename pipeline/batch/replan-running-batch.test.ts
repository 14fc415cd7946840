/**
 * `tuban batch --queue` run a second time while the first is still on the workers (a retried
 * CLI, a second operator; enqueueBatch adds no job twice) plans and stores the same batch again.
 * That used to replace each tile's row whole, wiping the outcome the tiles already done had stored,
 * so the finaliser's report counted only the tiles done after the second plan ("Tiles used 3" of
 * 7 on OSCD cities, observed and not-observed areas short by the rest), and a finished batch went
 * back to 'planned' for good (its queue jobs are kept completed, nothing runs again).
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
import * as repo from '../store/repository.js';
import type { BatchReport } from './batch-report.js';
import { BatchArgsSchema } from './batch-args.js';
import { createHandlers } from './handlers.js';
import { planAndStore } from './run-batch.js';

describe('a batch planned again while its tiles run', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('keeps the outcomes of the tiles already done, and a finished batch stays done', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-replan-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 5, tilesPerSide: 2 });
    const tiles = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(scene.currentDir, f));
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const log = pino({ level: 'silent' });
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles, prior: [scene.priorDir], zones: [scene.zonesPath] });
    const plan = await planAndStore(db, args, log);
    expect(plan.tiles).toHaveLength(4);
    const handlers = createHandlers({ db, log, mode: 'queue' });
    const ctx: JobContext = { progress: () => {}, signal: new AbortController().signal };
    const detect = (i: number) => handlers['tile.detect']({ batchId: plan.batchId, tileId: plan.tiles[i].tile.id }, ctx);

    await detect(0);
    await detect(1);
    // The second CLI: the same batch id, planned and stored again; its enqueue adds nothing.
    const again = await planAndStore(db, args, log);
    expect(again.batchId).toBe(plan.batchId);
    await detect(2);
    await detect(3);
    await handlers['batch.finalise']({ batchId: plan.batchId }, ctx);

    const row = await repo.loadBatch(db, plan.batchId);
    const report = row!.report as BatchReport;
    expect(report.tiles.map((t) => t.tileId).sort()).toEqual(plan.tiles.map((t) => t.tile.id).sort());
    expect(report.tiles.every((t) => t.status === 'done')).toBe(true);
    expect(row!.status).toBe('done');

    // Run once more after it finished: the queue's jobs are completed and run no more.
    await planAndStore(db, args, log);
    const after = await repo.loadBatch(db, plan.batchId);
    expect(after!.status).toBe('done');
    const outcomes = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM tiles WHERE batch_id = $1 AND info ? 'outcome'`, [plan.batchId]);
    expect(outcomes.rows[0].n).toBe(4);
  }, 180_000);
});
