/**
 * An analyst who re-prepares a month's imagery (a COG copy, another name, a reprojection) and runs
 * the batch again gets other tile ids: the new batch does not supersede the first (that needs the
 * same tile files), and the month's ledger lists every site twice under two codes. Found running
 * OSCD bercy five ways in one month: `tuban ledger` gave 624 rows for ~100 sites, with no word of it.
 * The batch now says so, naming the other batch, in its report's warnings (and so its summary),
 * and `--replaces` that batch makes the new one take its place, its codes included.
 */
import { copyFile, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import { BatchArgsSchema } from './batch-args.js';
import { runBatch } from './run-batch.js';

describe('a second batch of the same month over the same ground from other tile files', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('warns that the month now holds its sites twice, naming the other batch; the same files again do not; --replaces takes its place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-same-ground-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 7, tilesPerSide: 1 });
    const copies = join(dir, 'reprepared');
    await mkdir(copies);
    for (const f of (await readdir(scene.currentDir)).filter((n) => n.endsWith('.tif'))) await copyFile(join(scene.currentDir, f), join(copies, `cog_${f}`));
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const log = pino({ level: 'silent' });
    const run = (tiles: string, out: string) =>
      runBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [tiles], prior: [scene.priorDir], zones: [scene.zonesPath] }), { db, log, out: join(dir, out) });

    const first = await run(scene.currentDir, 'first');
    expect(first.report.counts.polygons).toBeGreaterThan(0);
    expect(first.report.warnings.join('\n')).not.toMatch(/already holds/);
    const again = await run(scene.currentDir, 'again');
    expect(again.plan.batchId).toBe(first.plan.batchId);
    expect(again.report.warnings.join('\n')).not.toMatch(/already holds/);

    const second = await run(copies, 'second');
    expect(second.plan.batchId).not.toBe(first.plan.batchId);
    const warning = second.report.warnings.find((w) => /already holds/.test(w));
    expect(warning).toContain(first.plan.batchId);
    expect(warning).toContain(`${second.report.counts.polygons} polygon(s)`);
    expect(warning).toMatch(/ledger .* both/);
    expect(warning).toContain(`--replaces ${first.plan.batchId}`);

    // --replaces names only a finished batch of the month, and is checked before a tile is read.
    await db.query("INSERT INTO batches (id, epoch, status) VALUES ('202609-aaaaaaaaaaaa', '2026-09', 'done'), ($1, $2, 'running')", [`${scene.epoch.replace('-', '')}-bbbbbbbbbbbb`, scene.epoch]);
    const replacing = (ids: string[]) =>
      runBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [copies], prior: [scene.priorDir], zones: [scene.zonesPath], replaces: ids }), { db, log, out: join(dir, 'replacing') });
    const refused = replacing(['202609-aaaaaaaaaaaa', `${scene.epoch.replace('-', '')}-bbbbbbbbbbbb`, `${scene.epoch.replace('-', '')}-cccccccccccc`]);
    await expect(refused).rejects.toMatchObject({ code: 'BATCH.CANNOT_REPLACE' });
    await expect(refused).rejects.toThrow(
      new RegExp(`202609-aaaaaaaaaaaa is a batch of 2026-09, not ${scene.epoch}; .*-bbbbbbbbbbbb has not finished \\(running\\).*; .*-cccccccccccc is no batch of this database`),
    );

    // Replacing the first: the month holds each site once again, under the first batch's codes.
    const firstCodes = (await db.query<{ code: string }>('SELECT code FROM polygons WHERE batch_id = $1 ORDER BY code', [first.plan.batchId])).rows.map((r) => r.code);
    const third = await replacing([first.plan.batchId]);
    expect(third.report.warnings.join('\n')).not.toMatch(/already holds/);
    expect(third.report.replaced).toEqual([{ batchId: first.plan.batchId, polygons: firstCodes.length, kept: firstCodes.length }]);
    const month = await db.query<{ code: string; batch_id: string }>('SELECT code, batch_id FROM polygons WHERE epoch = $1 ORDER BY code', [scene.epoch]);
    expect(month.rows.map((r) => r.code)).toEqual(firstCodes);
    expect(new Set(month.rows.map((r) => r.batch_id))).toEqual(new Set([third.plan.batchId]));
  }, 240_000);

  it('names the tile file re-prepared, not the first of the other batch (a tile the two share)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-same-ground-one-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 7, tilesPerSide: 2 });
    const files = (await readdir(scene.currentDir)).filter((n) => n.endsWith('.tif')).sort();
    expect(files.length).toBe(4);
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const log = pino({ level: 'silent' });
    const run = (out: string) =>
      runBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] }), { db, log, out: join(dir, out) });
    const first = await run('first');
    // The last tile is delivered again under another name (a COG copy): the other three are the same files.
    const last = files[files.length - 1];
    await rename(join(scene.currentDir, last), join(scene.currentDir, `cog_${last}`));
    const second = await run('second');
    const warning = second.report.warnings.find((w) => /already holds/.test(w));
    expect(warning).toContain(first.plan.batchId);
    expect(warning).toContain(`(tiles such as ${join(scene.currentDir, last)})`);
  }, 240_000);
});
