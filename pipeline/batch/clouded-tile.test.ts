/**
 * A tile whose current epoch lies under cloud over most of it is rejected by name as
 * TILE.NOT_OBSERVABLE. It used to be "detected": the radiometric fit matched the cloud onto the
 * prior's ground, so the weather tests saw no cloud, and the tile came out fully observed with no
 * change (a 60 %-clouded tile: 0 detections, 0 m² not observed), "no look" filed as "no change".
 * A tile with a smaller cloud is detected as before, its cloud not observed.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { openTile } from '../../geo/tile-reader.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import type { JobContext } from '../../schemas/jobs.js';
import { catalogueTiles } from '../catalogue.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import { BatchArgsSchema } from './batch-args.js';
import { createHandlers } from './handlers.js';
import { planAndStore } from './run-batch.js';

/** Rewrites `file` with a thick, textured white cloud over its left `share` of columns. */
async function cloudOver(file: string, share: number): Promise<void> {
  const { tiles: [info] } = await catalogueTiles([file]);
  const reader = await openTile(info);
  const bands = Object.keys(info.bands) as (keyof typeof info.bands)[];
  const { width, height } = info.grid;
  const r = await reader.readWindow({ col: 0, row: 0, width, height }, bands as never);
  await reader.close();
  const edge = Math.round(width * share);
  const out = bands.map((b, k) => {
    const a = Float32Array.from(r.bands[b]!);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < edge; x++) {
        const texture = 800 * Math.sin(x / 7) * Math.cos(y / 11);
        const cloud = 5200 - 100 * k + texture;
        a[y * width + x] = Math.round(0.1 * a[y * width + x] + 0.9 * cloud);
      }
    }
    return a;
  });
  await writeGeoTiffArrays(file, { grid: info.grid, dtype: 'uint16', nodata: 0, date: info.date, bands: out });
}

describe('a tile under cloud', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('is rejected as TILE.NOT_OBSERVABLE when cloud covers most of it; a smaller cloud is not observed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-clouded-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 11, tilesPerSide: 2 });
    const tiles = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(scene.currentDir, f));
    await cloudOver(tiles[0], 0.6);
    await cloudOver(tiles[1], 0.2);

    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const log = pino({ level: 'silent' });
    const plan = await planAndStore(db, BatchArgsSchema.parse({ epoch: scene.epoch, tiles, prior: [scene.priorDir], zones: [scene.zonesPath] }), log);
    const handlers = createHandlers({ db, log, mode: 'embedded' });
    const ctx: JobContext = { progress: () => {}, signal: new AbortController().signal };
    const outcomes = [];
    for (const t of plan.tiles) outcomes.push(await handlers['tile.detect']({ batchId: plan.batchId, tileId: t.tile.id }, ctx));
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.map((o) => o.files)).toEqual([[tiles[0]]]);
    expect(rejected[0].error).toMatchObject({ code: 'TILE.NOT_OBSERVABLE' });
    expect(rejected[0].error!.message).toMatch(/current epoch is cloud or shadow over \d+ % of the sampled pixels/);
    const lightly = outcomes.find((o) => o.files[0] === tiles[1])!;
    expect(lightly.status).toBe('done');
    // The 20 % cloud (and its halo) is said to be unobserved, not looked at and found unchanged.
    expect(lightly.notObservedM2).toBeGreaterThan(0.15 * (lightly.observedM2 + lightly.notObservedM2));
    expect(outcomes.filter((o) => o.status === 'done')).toHaveLength(3);
  }, 180_000);
});
