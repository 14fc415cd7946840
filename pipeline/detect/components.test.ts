import { describe, expect, it } from 'vitest';
import { componentStats, labelComponents, removeSmallComponents } from '../../geo/kernels/label.js';
import { close, createMorphScratch, open } from '../../geo/kernels/morphology.js';
import { mulberry32 } from '../../fixtures/scene-math.js';
import { extractComponents, maskAtCut } from './components.js';
import { DEFAULT_DETECTOR_PARAMS } from './detector-params.js';
import { CLOUD_CANDIDATE_FLAG, CLOUD_FRINGE_FLAG, NOT_OBSERVED } from './score.js';
import { StageTimer } from './stage-timer.js';

/** A scored tile of odd size: blobs of high score, speckle, nodata and a cloud with a fringe. */
function scene(w: number, h: number, seed: number): { type: Uint8Array; score: Float32Array } {
  const rand = mulberry32(seed);
  const n = w * h;
  const type = new Uint8Array(n).fill(1);
  const score = new Float32Array(n);
  for (let i = 0; i < n; i++) score[i] = rand() * 4;
  for (let b = 0; b < 12; b++) {
    const [x0, y0] = [Math.floor(rand() * w), Math.floor(rand() * h)];
    const [x1, y1] = [Math.min(w, x0 + 1 + Math.floor(rand() * 9)), Math.min(h, y0 + 1 + Math.floor(rand() * 7))];
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) score[y * w + x] = 20 + rand() * 10;
  }
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.02) score[i] = 25; // speckle the opening removes
    else if (r < 0.04) { type[i] = NOT_OBSERVED; score[i] = NaN; }
  }
  // A cloud core (candidates) with a fringe around it, left of centre.
  for (let y = 2; y < Math.min(h, 14); y++) for (let x = 2; x < Math.min(w, 16); x++) {
    const core = y > 4 && y < 11 && x > 4 && x < 13;
    if (type[y * w + x] !== NOT_OBSERVED) type[y * w + x] = 1 | (core ? CLOUD_CANDIDATE_FLAG : CLOUD_FRINGE_FLAG);
  }
  return { type, score };
}

describe('extractComponents', () => {
  it('draws the same components as the cut, open, close and label steps taken one by one, on odd sizes', async () => {
    for (const [w, h, seed] of [[67, 45, 1], [96, 33, 2], [31, 70, 3], [130, 64, 4]]) {
      const { type, score } = scene(w, h, seed);
      const params = { ...DEFAULT_DETECTOR_PARAMS, clouds: { ...DEFAULT_DETECTOR_PARAMS.clouds, coreMinM2: 2_000 }, components: { ...DEFAULT_DETECTOR_PARAMS.components, mmuM2: 400 } };
      const c = await extractComponents({ score, type }, { params, model: null, width: w, height: h, pixelAreaM2: 100, timer: new StageTimer() });
      // The reference, from the types and scores extractComponents left (clouds hidden).
      const mask = new Uint8Array(w * h);
      let notObserved = 0;
      for (let i = 0; i < w * h; i++) {
        if (type[i] === NOT_OBSERVED) notObserved++;
        else mask[i] = score[i] >= c.threshold ? 1 : 0;
      }
      const scratch = createMorphScratch(w, h);
      open(mask, w, h, scratch, 1);
      close(mask, w, h, scratch, 1);
      const labels = new Int32Array(w * h);
      const count = labelComponents(mask, w, h, labels, 8);
      const stats = componentStats(labels, w, h, count, score);
      removeSmallComponents(labels, w, h, stats, c.minPixels);
      expect(c.count).toBe(count);
      expect(c.count).toBeGreaterThan(2);
      expect(c.notObservedPx).toBe(notObserved);
      expect(Array.from(c.labels)).toEqual(Array.from(labels));
      expect(Array.from(c.stats.count)).toEqual(Array.from(stats.count));
      expect(Array.from(c.stats.sum!)).toEqual(Array.from(stats.sum!));
    }
  });
});

describe('maskAtCut', () => {
  it('marks what scores at the cut and counts what is not observed, four pixels a step or one, as a pixel-by-pixel pass does', () => {
    const rand = mulberry32(5);
    const n = 4099; // a tail past the last whole word
    const type = new Uint8Array(n + 3);
    const score = new Float32Array(n + 3);
    for (let i = 0; i < type.length; i++) {
      // Runs of observed words (the fast path) between scattered not-observed pixels, any other byte value.
      type[i] = rand() < 0.05 ? NOT_OBSERVED : Math.floor(rand() * 255);
      score[i] = rand() < 0.05 ? Number.NaN : rand();
    }
    for (const [t, s, m] of [[type.subarray(0, n), score, new Uint8Array(n)], [type.subarray(1, n + 1), score.subarray(1), new Uint8Array(n + 1).subarray(1)]] as const) {
      m.fill(7); // the buffer comes in holding other data
      const want = new Uint8Array(n);
      let hidden = 0;
      for (let i = 0; i < n; i++) {
        if (t[i] === NOT_OBSERVED) hidden++;
        else want[i] = s[i] >= 0.6 ? 1 : 0;
      }
      expect(maskAtCut(t, s, 0.6, m, n)).toBe(hidden);
      expect(hidden).toBeGreaterThan(100);
      expect(Array.from(m.subarray(0, n))).toEqual(Array.from(want));
    }
  });
});
