import { describe, expect, it } from 'vitest';
import { componentStats, labelComponents, seedStats } from '../../geo/kernels/label.js';
import type { Grid } from '../../geo/raster.js';
import { carveBuiltCores, TYPE_SLOTS } from './carve-cores.js';
import type { TileComponents } from './components.js';
import { DEFAULT_DETECTOR_PARAMS } from './detector-params.js';
import { CHANGE_TYPE_CODES, STILL_VEGETATED } from './score.js';
import { StageTimer } from './stage-timer.js';
import { vectoriseComponents } from './vectorise.js';

const W = 48;
const H = 24;
const THRESHOLD = 0.5;
const { construction: BUILT, vegetation_loss: HARVEST } = CHANGE_TYPE_CODES;

/**
 * One component: a harvested strip (vegetation loss at the threshold) with a 7×7 roof in it
 * (construction, well above the threshold) and, elsewhere in the strip, a diagonal chain and a
 * one-pixel-wide line of construction pixels (an edge's mixed pixels, no interior).
 */
function strip(field = HARVEST): { type: Uint8Array; score: Float32Array } {
  const type = new Uint8Array(W * H);
  const score = new Float32Array(W * H);
  for (let y = 2; y < 20; y++) {
    for (let x = 2; x < 44; x++) {
      type[y * W + x] = field;
      score[y * W + x] = THRESHOLD;
    }
  }
  const built = (x: number, y: number) => {
    type[y * W + x] = BUILT;
    score[y * W + x] = 0.9;
  };
  for (let y = 8; y < 15; y++) for (let x = 32; x < 39; x++) built(x, y);
  for (let k = 0; k < 12; k++) built(4 + k, 4 + k); // diagonal chain
  for (let x = 4; x < 26; x++) built(x, 18); // one pixel wide
  return { type, score };
}

function components(score: Float32Array, minPixels: number): TileComponents {
  const mask = new Uint8Array(W * H);
  for (let i = 0; i < W * H; i++) mask[i] = score[i] >= THRESHOLD ? 1 : 0;
  const labels = new Int32Array(W * H);
  const count = labelComponents(mask, W, H, labels, 8);
  const stats = componentStats(labels, W, H, count, score);
  const seeds = seedStats(labels, score, THRESHOLD, count, mask);
  const keep = new Uint8Array(count + 1).fill(1);
  keep[0] = 0;
  return { labels, count, keep, stats, seeds, threshold: THRESHOLD, minPixels, notObservedPx: 0, mask };
}

const grid: Grid = { width: W, height: H, transform: [500_000, 10, 0, 4_000_000, 0, -10], crs: 'EPSG:32650' };

async function vectorise(type: Uint8Array, score: Float32Array) {
  return vectoriseComponents({ score, type }, components(score, 3), {
    params: { ...DEFAULT_DETECTOR_PARAMS.components, mmuM2: 300, minConfidence: 0 },
    learned: true,
    grid,
    pixelAreaM2: 100,
    tileId: 't',
    afterDate: '2026-10-01',
    timer: new StageTimer(),
  });
}

describe('carveBuiltCores', () => {
  it('issues a solid roof inside a harvested strip as construction, and leaves the strip and its one-pixel-wide runs as they were', async () => {
    const { type, score } = strip();
    const { detections } = await vectorise(type, score);
    const built = detections.filter((d) => d.changeType === 'construction');
    expect(built).toHaveLength(1);
    expect(built[0].pixelCount).toBe(49);
    const rest = detections.filter((d) => d.changeType !== 'construction');
    expect(rest.map((d) => d.changeType)).toEqual(['vegetation_loss']);
    expect(rest[0].pixelCount).toBe(18 * 42 - 49);
  });

  it('issues the roof out of a component whose vote is seasonal (a crop that only turned), which itself is not issued', async () => {
    const { type, score } = strip(STILL_VEGETATED);
    const { detections } = await vectorise(type, score);
    expect(detections.map((d) => [d.changeType, d.pixelCount])).toEqual([['construction', 49]]);
  });

  it('keeps one vegetation-loss detection when the roof has no interior (a 2-pixel-wide block)', async () => {
    const { type, score } = strip();
    // Thin the roof to two columns: no pixel has four construction neighbours.
    for (let y = 8; y < 15; y++) for (let x = 34; x < 39; x++) {
      type[y * W + x] = HARVEST;
      score[y * W + x] = THRESHOLD;
    }
    const { detections } = await vectorise(type, score);
    expect(detections.map((d) => d.changeType)).toEqual(['vegetation_loss']);
    expect(detections[0].pixelCount).toBe(18 * 42);
  });

  it('moves the roof\'s pixels, seeds and vote to a new label and takes them off the strip\'s', () => {
    const { type, score } = strip();
    const comps = components(score, 3);
    expect(comps.count).toBe(1);
    const typeCounts = new Float64Array(2 * TYPE_SLOTS);
    for (let i = 0; i < W * H; i++) if (comps.labels[i]) typeCounts[TYPE_SLOTS + type[i]] += score[i] * score[i];
    const before = { construction: typeCounts[TYPE_SLOTS + BUILT], seeds: comps.seeds.count[1], pixels: comps.stats.count[1] };
    const carved = carveBuiltCores({ ...comps, typeCounts, width: W, type, score, carvable: () => true });
    expect(carved.count).toBe(2);
    expect(carved.stats.count[2]).toBe(49);
    expect(carved.stats.count[1]).toBe(before.pixels - 49);
    expect([carved.stats.minCol[2], carved.stats.minRow[2], carved.stats.maxCol[2], carved.stats.maxRow[2]]).toEqual([32, 8, 38, 14]);
    expect(carved.stats.max![2]).toBeCloseTo(0.9, 6);
    expect(carved.stats.max![1]).toBeCloseTo(0.9, 6); // the chain and the line are still in it
    expect(carved.seeds.count[2] + carved.seeds.count[1]).toBe(before.seeds);
    expect(carved.typeCounts[2 * TYPE_SLOTS + BUILT]).toBeCloseTo(49 * 0.81, 4);
    expect(carved.typeCounts[TYPE_SLOTS + BUILT]).toBeCloseTo(before.construction - 49 * 0.81, 4);
    expect(carved.keep[2]).toBe(1);
    let relabelled = 0;
    for (let i = 0; i < W * H; i++) if (comps.labels[i] === 2) relabelled++;
    expect(relabelled).toBe(49);
  });

  it('returns its input untouched when no component is searched', () => {
    const { type, score } = strip();
    const comps = components(score, 3);
    const typeCounts = new Float64Array(2 * TYPE_SLOTS).fill(1);
    const labels = Array.from(comps.labels);
    const input = { ...comps, typeCounts, width: W, type, score, carvable: () => false };
    expect(carveBuiltCores(input)).toBe(input);
    expect(Array.from(comps.labels)).toEqual(labels);
  });

  it('carves nothing under the minimum mapping unit', () => {
    const { type, score } = strip();
    const comps = components(score, 50);
    const typeCounts = new Float64Array(2 * TYPE_SLOTS).fill(1);
    const input = { ...comps, typeCounts, width: W, type, score, carvable: () => true };
    expect(carveBuiltCores(input).count).toBe(1);
  });
});
