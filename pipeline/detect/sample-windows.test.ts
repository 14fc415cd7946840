import { describe, expect, it } from 'vitest';
import type { Window } from '../../geo/raster.js';
import { SAMPLE_SIDE, SPREAD_FROM, axisSamples, sampleWindows } from './sample-windows.js';

/** The epoch fit's window rule before the windows were kept apart (detector ≤ ee48412), verbatim. */
function legacyWindows(grid: { width: number; height: number }): Window[] {
  const size = Math.min(256, grid.width, grid.height);
  const steps = 4;
  const wins: Window[] = [];
  const snap = (v: number, max: number) => {
    const snapped = Math.round(v / 512) * 512;
    return max >= 1024 && snapped <= max ? snapped : v;
  };
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < steps; j++) {
      const col = snap(Math.round(((grid.width - size) * (j + 0.5)) / steps), grid.width - size);
      const row = snap(Math.round(((grid.height - size) * (i + 0.5)) / steps), grid.height - size);
      if (!wins.some((w) => w.col === col && w.row === row)) wins.push({ col, row, width: size, height: size });
    }
  }
  return wins;
}

/** Pixels two windows share. */
const overlap = (a: Window, b: Window) =>
  Math.max(0, Math.min(a.col + a.width, b.col + b.width) - Math.max(a.col, b.col)) * Math.max(0, Math.min(a.row + a.height, b.row + b.height) - Math.max(a.row, b.row));

describe('sampleWindows', () => {
  it('is the old rule, window for window and in the same order, on tiles of 1024 px and more on both axes', () => {
    const lengths = [SPREAD_FROM, 1070, 1180, 1279, 1280, 1281, 1300, 1536, 1800, 2047, 2048, 2049, 3000, 4096, 5000, 5490, 10_980, 12_345];
    for (let l = SPREAD_FROM; l < 4200; l += 37) lengths.push(l);
    for (const width of lengths) {
      for (const height of [SPREAD_FROM, 1777, 4096, 10_980, width]) {
        expect(sampleWindows({ width, height }), `${width}×${height}`).toEqual(legacyWindows({ width, height }));
      }
    }
  });

  it('overlaps by at most a quarter (none from 1280 px on, none below 1024 px), stays inside the tile and covers the old windows\' span on shorter axes', () => {
    for (let width = 1; width <= 1400; width += 7) {
      for (const height of [1, 9, 100, 255, 256, 257, 300, 395, 511, 512, 513, 785, 1070, 1279, 1280, 4096]) {
        const wins = sampleWindows({ width, height });
        const where = `${width}×${height}`;
        expect(wins.length, where).toBeGreaterThan(0);
        expect(wins.length, where).toBeLessThanOrEqual(16);
        let px = 0;
        wins.forEach((w, i) => {
          expect(w.col >= 0 && w.row >= 0 && w.col + w.width <= width && w.row + w.height <= height, `${where} window ${i} inside`).toBe(true);
          expect(Math.max(w.width, w.height), where).toBeLessThanOrEqual(SAMPLE_SIDE);
          for (let j = 0; j < i; j++) {
            const o = overlap(w, wins[j]);
            const allowed = (width >= SPREAD_FROM && width < 1280) || (height >= SPREAD_FROM && height < 1280) ? (w.width * w.height) / 4 : 0;
            expect(o, `${where} windows ${j} and ${i}`).toBeLessThanOrEqual(allowed);
          }
          px += w.width * w.height;
        });
        if (width < SPREAD_FROM && height < SPREAD_FROM) expect(px, where).toBeLessThanOrEqual(width * height);
      }
    }
    // An axis under 4 × 256 px: the span the old windows covered, from the first one's start to the
    // last one's end, covered to within k − 1 px of rounding (⌊span / k⌋ × k).
    for (const l of [1, 100, 256, 257, 300, 512, 700, 1000, 1023]) {
      const { starts, size } = axisSamples(l);
      const old = legacyWindows({ width: l, height: l });
      const first = Math.min(...old.map((w) => w.col));
      const end = Math.max(...old.map((w) => w.col + w.width));
      expect(starts[0], `${l}`).toBe(first);
      expect(starts.at(-1)! + size, `${l}`).toBe(end);
      expect(size * starts.length, `${l}`).toBeGreaterThan(end - first - starts.length);
    }
  });

  it('samples a 304² tile once: 2 × 2 windows of 146² over the old windows\' span [6, 298) instead of 16 overlapping windows of 256²', () => {
    expect(legacyWindows({ width: 304, height: 304 })).toHaveLength(16);
    expect(sampleWindows({ width: 304, height: 304 })).toEqual([
      { col: 6, row: 6, width: 146, height: 146 },
      { col: 152, row: 6, width: 146, height: 146 },
      { col: 6, row: 152, width: 146, height: 146 },
      { col: 152, row: 152, width: 146, height: 146 },
    ]);
  });
});
