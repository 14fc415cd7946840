import { describe, expect, it } from 'vitest';
import { componentStats, labelComponents } from '../../geo/kernels/label.js';
import type { Grid } from '../../geo/raster.js';
import type { TileComponents } from './components.js';
import { DEFAULT_DETECTOR_PARAMS } from './detector-params.js';
import { fillEnclosedHoles, HOLE_TO_RING } from './fill-holes.js';
import { CHANGE_TYPE_CODES } from './score.js';
import { StageTimer } from './stage-timer.js';
import { vectoriseComponents } from './vectorise.js';

const W = 40;
const H = 40;

/** Labels from a mask drawn by `draw`, with every component kept; score 0.5 observed everywhere. */
function scene(draw: (set: (x: number, y: number) => void) => void) {
  const mask = new Uint8Array(W * H);
  draw((x, y) => (mask[y * W + x] = 1));
  const labels = new Int32Array(W * H);
  const count = labelComponents(mask, W, H, labels, 8);
  const score = new Float32Array(W * H).fill(0.5);
  const stats = componentStats(labels, W, H, count, score);
  const keep = new Uint8Array(count + 1).fill(1);
  keep[0] = 0;
  return { mask, labels, count, score, stats, keep };
}

/** A one-pixel ring whose inside is the square [x0, x0 + side) × [y0, y0 + side). */
function ring(set: (x: number, y: number) => void, x0: number, y0: number, side: number): void {
  for (let k = -1; k <= side; k++) {
    set(x0 + k, y0 - 1);
    set(x0 + k, y0 + side);
    set(x0 - 1, y0 + k);
    set(x0 + side, y0 + k);
  }
}

const fill = (s: ReturnType<typeof scene>) => fillEnclosedHoles(s.labels, s.mask, s.score, W, s.count, s.keep, s.stats);
const at = (s: ReturnType<typeof scene>, x: number, y: number) => s.labels[y * W + x];

describe('fillEnclosedHoles', () => {
  it('gives a ring its hole, in the labels and the mask', () => {
    const s = scene((set) => ring(set, 5, 5, 3));
    expect(fill(s)).toBe(9);
    for (let y = 5; y < 8; y++) for (let x = 5; x < 8; x++) {
      expect(at(s, x, y)).toBe(1);
      expect(s.mask[y * W + x]).toBe(1);
    }
    expect(at(s, 2, 2)).toBe(0);
  });

  it('fills a hole closed only by diagonal steps (its 4-connected inside cannot leave)', () => {
    // A diamond: every rim pixel touches the next one at a corner only.
    const s = scene((set) => {
      for (let k = 0; k < 4; k++) {
        set(10 + k, 6 + k);
        set(10 - k, 6 + k);
        set(10 + k, 12 - k);
        set(10 - k, 12 - k);
      }
    });
    expect(s.count).toBe(1);
    expect(fill(s)).toBeGreaterThan(0);
    expect(at(s, 10, 9)).toBe(1);
  });

  it('leaves a ring with a gap, a hole with a pixel not observed, and a hole holding another component', () => {
    const open = scene((set) => ring(set, 5, 5, 3));
    open.labels[4 * W + 6] = 0; // a gap in the top edge
    expect(fill(open)).toBe(0);

    const clouded = scene((set) => ring(set, 5, 5, 3));
    clouded.score[6 * W + 6] = NaN;
    expect(fill(clouded)).toBe(0);

    const nested = scene((set) => {
      ring(set, 5, 5, 5);
      set(7, 7);
    });
    expect(nested.count).toBe(2);
    expect(fill(nested)).toBe(0);
    expect(at(nested, 6, 6)).toBe(0);
  });

  it('fills a hole up to HOLE_TO_RING times the ring, not one larger (a field ringed by its edge)', () => {
    // A one-pixel ring round a side² inside has 4·side + 4 pixels.
    const fits = Math.floor(HOLE_TO_RING * 2 + Math.sqrt(HOLE_TO_RING * HOLE_TO_RING * 4 + 4 * HOLE_TO_RING));
    const small = scene((set) => ring(set, 2, 2, fits));
    expect(fits * fits).toBeLessThanOrEqual(HOLE_TO_RING * (4 * fits + 4));
    expect(fill(small)).toBe(fits * fits);
    const large = scene((set) => ring(set, 2, 2, fits + 1));
    expect((fits + 1) ** 2).toBeGreaterThan(HOLE_TO_RING * (4 * fits + 8));
    expect(fill(large)).toBe(0);
  });

  it('leaves components that are not kept', () => {
    const s = scene((set) => ring(set, 5, 5, 3));
    s.keep[1] = 0;
    expect(fill(s)).toBe(0);
  });

  it('makes the detection of a ring one polygon without a hole, of the ring\'s type', async () => {
    const s = scene((set) => ring(set, 10, 10, 6));
    const type = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) if (s.labels[i]) type[i] = CHANGE_TYPE_CODES.construction;
    for (let i = 0; i < W * H; i++) if (s.mask[i]) s.score[i] = 0.95;
    const comps: TileComponents = {
      labels: s.labels, count: s.count, keep: s.keep, stats: componentStats(s.labels, W, H, s.count, s.score), seeds: { count: Uint32Array.of(0, 28), sum: Float64Array.of(0, 28 * 0.95) },
      threshold: 0.9, minPixels: 3, notObservedPx: 0, mask: s.mask,
    };
    const grid: Grid = { width: W, height: H, transform: [500_000, 10, 0, 4_000_000, 0, -10], crs: 'EPSG:32650' };
    const { detections } = await vectoriseComponents({ score: s.score, type }, comps, {
      params: { ...DEFAULT_DETECTOR_PARAMS.components, minConfidence: 0 }, learned: true, grid, pixelAreaM2: 100, tileId: 't', afterDate: '2026-10-01', timer: new StageTimer(),
    });
    expect(detections).toHaveLength(1);
    const d = detections[0];
    expect(d.changeType).toBe('construction');
    expect(d.pixelCount).toBe(8 * 8);
    expect(d.geometry.coordinates).toHaveLength(1); // no interior ring
    expect(Math.abs(d.areaM2 / 6400 - 1)).toBeLessThan(0.01); // 64 pixels of 100 m², on the ground
  });
});
