import { describe, expect, it } from 'vitest';
import { areaM2 } from '../../geo/area.js';
import type { Grid } from '../../geo/raster.js';
import { notObservedGeometry, notObservedPerCell } from './not-observed.js';
import { NOT_OBSERVED } from './score.js';

const grid: Grid = { crs: 'EPSG:32650', width: 100, height: 80, transform: [500000, 10, 0, 4060000, 0, -10] };

describe('notObservedGeometry', () => {
  it('is null when every pixel was observed', () => {
    expect(notObservedGeometry(new Uint8Array(100 * 80), grid)).toBeNull();
  });

  it('outlines a cloud block at cell resolution, in lon/lat, with the right area', () => {
    const type = new Uint8Array(100 * 80);
    // A 32×32 px cloud aligned to 16-px cells at col 16, row 32 (320 m × 320 m).
    for (let r = 32; r < 64; r++) type.fill(NOT_OBSERVED, r * 100 + 16, r * 100 + 48);
    // A lone pixel elsewhere is below the half-cell rule.
    type[5] = NOT_OBSERVED;
    const g = notObservedGeometry(type, grid);
    expect(g?.type).toBe('MultiPolygon');
    expect(g!.coordinates).toHaveLength(1);
    const a = areaM2(g!);
    // UTM scale factor near the central meridian: grid metres ≈ 0.9996 ground metres.
    expect(a).toBeGreaterThan(320 * 320 * 0.99);
    expect(a).toBeLessThan(320 * 320 * 1.01);
    const [lon, lat] = g!.coordinates[0][0][0];
    expect(lon).toBeGreaterThan(116);
    expect(lon).toBeLessThan(118);
    expect(lat).toBeGreaterThan(36);
    expect(lat).toBeLessThan(37);
  });

  it('clips edge cells to the grid', () => {
    const type = new Uint8Array(100 * 80).fill(NOT_OBSERVED);
    const g = notObservedGeometry(type, grid)!;
    expect(areaM2(g)).toBeGreaterThan(1000 * 800 * 0.99);
    expect(areaM2(g)).toBeLessThan(1000 * 800 * 1.01);
  });

  it('counts each cell\'s not-observed pixels as a pixel-by-pixel count does, edge cells clipped', () => {
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
    for (const [w, h, cell] of [[100, 80, 16], [37, 29, 16], [16, 16, 16], [5, 3, 4], [33, 17, 1]]) {
      const type = new Uint8Array(w * h);
      for (let i = 0; i < type.length; i++) type[i] = next() < 0.3 ? NOT_OBSERVED : next() < 0.5 ? 1 : 0;
      const cw = Math.ceil(w / cell);
      const want = new Uint32Array(cw * Math.ceil(h / cell));
      for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) if (type[r * w + c] === NOT_OBSERVED) want[Math.floor(r / cell) * cw + Math.floor(c / cell)]++;
      expect(notObservedPerCell(type, w, h, cell)).toEqual(want);
    }
  });

  it('counts four pixels a step exactly, whatever the other bytes hold, and pixel by pixel off word boundaries', () => {
    let seed = 11;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
    const w = 96, h = 40;
    // Every byte value next to 0xff, runs of 0xff across words and cells.
    const whole = new Uint8Array(w * h + 1);
    for (let i = 0; i < whole.length; i++) whole[i] = next() < 0.4 ? NOT_OBSERVED : Math.floor(next() * 256);
    for (const [type, cell] of [[whole.subarray(0, w * h), 16], [whole.subarray(0, w * h), 8], [whole.subarray(1), 16]] as const) {
      const cw = Math.ceil(w / cell);
      const want = new Uint32Array(cw * Math.ceil(h / cell));
      for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) if (type[r * w + c] === NOT_OBSERVED) want[Math.floor(r / cell) * cw + Math.floor(c / cell)]++;
      expect(want.reduce((a, b) => a + b, 0)).toBeGreaterThan(1000);
      expect(notObservedPerCell(type, w, h, cell)).toEqual(want);
    }
  });
});
