/**
 * The score pool on its own: a strip a worker cannot score fails alone, and the pool's size. That a
 * tile scored in workers equals one scored inline is checked on real imagery in
 * evaluation/score-workers.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Raster } from '../../geo/raster.js';
import { loadConfig } from '../config.js';
import { DEFAULT_DETECTOR_PARAMS } from './detector-params.js';
import { fitNormalisation } from './normalise.js';
import { ScorePool, defaultScoreWorkers } from './score-pool.js';

describe('ScorePool', () => {
  it('rejects a strip the worker cannot score and goes on with the next', async () => {
    const raster = (w: number, h: number, v: number): Raster => ({
      width: w, height: h, crs: 'EPSG:32650', transform: [0, 10, 0, 0, 0, -10], valid: new Uint8Array(w * h).fill(1),
      bands: Object.fromEntries(['blue', 'green', 'red', 'nir'].map((b, k) => [b, new Float32Array(w * h).fill(v + 100 * k)])),
    });
    const fit = fitNormalisation([{ before: raster(16, 16, 500), after: raster(16, 16, 520) }]);
    const pool = new ScorePool(1, { params: DEFAULT_DETECTOR_PARAMS, model: null, width: 16, haloRows: 16, outRows: 16 });
    try {
      await expect(pool.score(fit, raster(16, 16, 500), raster(16, 8, 500), 0, 8)).rejects.toThrow(/grids differ/);
      const ok = await pool.score(fit, raster(16, 16, 500), raster(16, 16, 520), 0, 16);
      expect(ok.score).toHaveLength(256);
      expect(ok.type).toHaveLength(256);
    } finally {
      await pool.close();
    }
  });

  it('takes its size from TUBAN_SCORE_WORKERS, else every core, shared among tiles run at once', () => {
    expect(defaultScoreWorkers(1, loadConfig({ TUBAN_SCORE_WORKERS: '3' }))).toBe(3);
    expect(defaultScoreWorkers(4, loadConfig({ TUBAN_SCORE_WORKERS: '0' }))).toBe(0);
    expect(() => loadConfig({ TUBAN_SCORE_WORKERS: 'many' })).toThrow(/TUBAN_SCORE_WORKERS/);
    const unset = loadConfig({});
    // Every core by default, a 2-core machine included (issue 16): the calling thread only reads.
    expect(defaultScoreWorkers(1, unset, 2)).toBe(2);
    expect(defaultScoreWorkers(2, unset, 16)).toBe(8);
    expect(defaultScoreWorkers(1, unset, 64)).toBe(16);
    expect(defaultScoreWorkers(1_000, unset)).toBe(0); // a thousand tiles at once leave no core to a pool
  });
});
