/**
 * The strip stream on its own: scored in a pool over shared strip slots (the readers' own arrays
 * copied in when they ignore `reuse`), in any strip height, the scores and types are exactly those
 * of the calling thread. Real-reader equivalence (OSCD, learned model): evaluation/score-workers.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { BandName, Grid, Raster, Window } from '../../geo/raster.js';
import { windowGrid } from '../../geo/raster.js';
import { DEFAULT_DETECTOR_PARAMS } from './detector-params.js';
import type { EpochPair } from './epoch-pair.js';
import { fitNormalisation } from './normalise.js';
import { openScoreStream, streamScores } from './score-stream.js';
import { StageTimer } from './stage-timer.js';

const BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];
const grid: Grid = { width: 97, height: 203, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };

/** A seeded scene: textured fields, and in the after epoch a bright built-up block, a darkened strip and a nodata hole. */
function scene(after: boolean): Raster {
  const n = grid.width * grid.height;
  let a = after ? 99 : 42;
  const rnd = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const bands: Raster['bands'] = {};
  const base = { blue: 600, green: 900, red: 800, nir: 3000 };
  for (const b of BANDS) bands[b] = new Float32Array(n);
  const valid = new Uint8Array(n).fill(1);
  for (let r = 0; r < grid.height; r++) {
    for (let c = 0; c < grid.width; c++) {
      const i = r * grid.width + c;
      const field = ((r >> 4) + (c >> 4)) % 3;
      const built = after && r >= 60 && r < 90 && c >= 20 && c < 50;
      const cleared = after && r >= 140 && r < 150;
      for (const b of BANDS) {
        let v = base[b as keyof typeof base] * (1 + 0.15 * field) + 80 * rnd();
        if (built) v = b === 'nir' ? 1800 : 2200 + 100 * rnd();
        if (cleared && b === 'nir') v *= 0.4;
        bands[b]![i] = v;
      }
      if (after && r >= 170 && r < 174 && c >= 5 && c < 9) {
        for (const b of BANDS) bands[b]![i] = NaN;
        valid[i] = 0;
      }
    }
  }
  return { ...grid, bands, valid };
}

/** Fresh arrays on every read, `reuse` ignored: the stream must copy them into its shared slots. */
function windowOf(r: Raster, win: Window): Raster {
  const bands: Raster['bands'] = {};
  for (const b of BANDS) bands[b] = r.bands[b]!.slice(win.row * r.width, (win.row + win.height) * r.width);
  return { ...windowGrid(r, win), bands, valid: r.valid.slice(win.row * r.width, (win.row + win.height) * r.width) };
}

/** The scene's two epochs as a pair read through windowOf. */
function scenePair(before: Raster, after: Raster): EpochPair {
  return {
    id: 't', file: 't.tif', afterDate: '2026-10-01', grid, fixedEpoch: 'after',
    fixed: { readWindow: async (win) => windowOf(after, win) },
    moving: { readAligned: async (target) => windowOf(before, { col: 0, row: Math.round((grid.transform[3] - target.transform[3]) / 10), width: target.width, height: target.height }), close: async () => {} },
  };
}

describe('streamScores', () => {
  it('scores in a pool over shared strips exactly as on the calling thread, whatever the strip height', async () => {
    const before = scene(false);
    const after = scene(true);
    const pair = scenePair(before, after);
    const fit = fitNormalisation([{ before, after }]);
    const run = (workers: number, stripRows: number) =>
      streamScores(pair, { bands: BANDS, params: DEFAULT_DETECTOR_PARAMS, fit, model: null, workers, stripRows, timer: new StageTimer() });
    const inline = await run(0, 40);
    expect(inline.score.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    let changed = 0;
    for (let i = 0; i < inline.type.length; i++) if (inline.type[i] !== 0 && inline.type[i] !== 255) changed++;
    expect(changed).toBeGreaterThan(300); // the planted block and strip score as change
    for (const [workers, rows] of [[2, 40], [3, 17], [2, 64]] as const) {
      const pooled = await run(workers, rows);
      expect(pooled.score.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Buffer.from(pooled.score.buffer).equals(Buffer.from(inline.score.buffer)), `${workers} workers, ${rows} rows`).toBe(true);
      expect(Buffer.from(pooled.type.buffer).equals(Buffer.from(inline.type.buffer))).toBe(true);
    }
  }, 60_000);

  it('opens its workers before the fit exists, scores as the calling thread once given it, and closes unused', async () => {
    const before = scene(false);
    const after = scene(true);
    const pair = scenePair(before, after);
    const setup = { bands: BANDS, params: DEFAULT_DETECTOR_PARAMS, model: null, workers: 2, stripRows: 40 };
    // detectPair's order: the stream (and its workers) first, the epochs' fit after.
    const stream = openScoreStream(grid, setup);
    const fit = fitNormalisation([{ before, after }]);
    let pooled;
    try {
      pooled = await stream.run(pair, { fit, timer: new StageTimer() });
      expect(() => stream.run(pair, { fit, timer: new StageTimer() })).toThrow(/once/);
    } finally {
      await stream.close();
    }
    const inline = await streamScores(pair, { ...setup, fit, workers: 0, timer: new StageTimer() });
    expect(Buffer.from(pooled.score.buffer).equals(Buffer.from(inline.score.buffer))).toBe(true);
    expect(Buffer.from(pooled.type.buffer).equals(Buffer.from(inline.type.buffer))).toBe(true);
    // A tile the fit rejects: its stream is closed without a run, and its workers end.
    const unused = openScoreStream(grid, setup);
    await unused.close();
    await expect(unused.run(pair, { fit, timer: new StageTimer() })).rejects.toThrow(/closed/);
  }, 60_000);
});
