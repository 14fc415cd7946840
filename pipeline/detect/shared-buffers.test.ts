import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { openMosaic, openTile } from '../../geo/tile-reader.js';
import { BatchArgsSchema, detectorParamsFor } from '../batch/batch-args.js';
import { planBatch, planTile, type BatchPlan } from '../batch/plan-batch.js';
import { detectTile } from './detect-tile.js';
import { giveBackShared, sharedKeptBytes, takeShared } from './shared-buffers.js';

describe('kept shared buffers', () => {
  it('hands a buffer given back to the next taker of its size, once, and keeps at most the cap', () => {
    const a = takeShared(1000);
    giveBackShared([a]);
    expect(takeShared(999)).not.toBe(a);
    expect(takeShared(1000)).toBe(a);
    expect(takeShared(1000)).not.toBe(a);
    giveBackShared([a]);
    expect(() => giveBackShared([a])).toThrow(/twice/);
    expect(takeShared(1000)).toBe(a);
    // A set over the cap is left to the garbage collector, whole.
    const before = sharedKeptBytes();
    giveBackShared([takeShared(8 * 2 ** 20), takeShared(9 * 2 ** 20)]);
    expect(sharedKeptBytes()).toBe(before);
  });

  describe('tiles detected one after another in one process', () => {
    let dir: string;
    let plan: BatchPlan;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tuban-kept-buffers-'));
      const scene = await generateScene({ dir, size: 512, seed: 42, tilesPerSide: 2 });
      plan = await planBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] }));
    }, 60_000);
    afterAll(() => rm(dir, { recursive: true, force: true }));

    const detect = async (tileId: string) => {
      const { tile, priors } = planTile(plan, tileId);
      const current = await openTile(tile.tile);
      const prior = await openMosaic(priors);
      try {
        const r = await detectTile(current, prior, { params: detectorParamsFor(plan.args), bands: tile.bands, scoreWorkers: 0 });
        return JSON.stringify([r.detections, r.normalisation, r.coregistration, r.threshold, r.notObserved]);
      } finally {
        await Promise.all([current.close(), prior.close()]);
      }
    };

    it('give the same outputs whether their sample and strip memory is fresh or another tile’s', async () => {
      // Two tiles of one size: the first detection of A runs in fresh buffers (no tile of this size
      // ran before), the second in the buffers B left, stale contents and all.
      const px = (id: string) => planTile(plan, id).tile.tile.grid;
      const ids = plan.tiles.map((t) => t.tile.id);
      const [a, b] = ids.filter((id) => px(id).width === px(ids[0]).width && px(id).height === px(ids[0]).height);
      expect(b, 'two tiles of one size').toBeDefined();
      const first = await detect(a);
      const kept = sharedKeptBytes();
      expect(kept).toBeGreaterThan(0);
      await detect(b);
      const again = await detect(a);
      expect(again).toBe(first);
      expect(JSON.parse(first)[0].length, 'detections to compare').toBeGreaterThan(0);
    }, 120_000);
  });
});
