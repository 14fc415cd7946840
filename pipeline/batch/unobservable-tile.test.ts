/**
 * A tile whose two epochs share almost no valid pixel (nodata or cloud nearly everywhere) is
 * rejected by name as TILE.NOT_OBSERVABLE, and the batch's other tiles are detected as before; it
 * used to throw out of the normalisation and take the whole batch down.
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

const NODATA = 65535;

describe('a tile with nothing to compare', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('is rejected as TILE.NOT_OBSERVABLE by name, and the other tiles are detected', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-unobservable-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir, size: 256, seed: 11, tilesPerSide: 2 });
    const tiles = (await readdir(scene.currentDir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(scene.currentDir, f));
    // The first tile rewritten as nodata everywhere but a 2×2 patch.
    const victim = tiles[0];
    const { tiles: [info] } = await catalogueTiles([victim]);
    const reader = await openTile(info);
    const bands = Object.keys(info.bands) as (keyof typeof info.bands)[];
    const { width, height } = info.grid;
    const r = await reader.readWindow({ col: 0, row: 0, width, height }, bands as never);
    await reader.close();
    const blank = bands.map((b) => {
      const out = new Float32Array(width * height).fill(NODATA);
      for (const i of [0, 1, width, width + 1]) out[i] = r.bands[b]![i];
      return out;
    });
    await writeGeoTiffArrays(victim, { grid: info.grid, dtype: 'uint16', nodata: NODATA, date: info.date, bands: blank });

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
    expect(rejected).toHaveLength(1);
    expect(rejected[0].files).toEqual([victim]);
    expect(rejected[0].error).toMatchObject({ code: 'TILE.NOT_OBSERVABLE' });
    expect(rejected[0].error!.message).toMatch(/valid in both epochs/);
    const done = outcomes.filter((o) => o.status === 'done');
    expect(done).toHaveLength(3);
    expect(done.reduce((n, o) => n + o.detections, 0)).toBeGreaterThan(0);
  }, 180_000);
});
