import { describe, expect, it } from 'vitest';
import { estimateShift, offsetSource, translateGrid, type ShiftSample } from './coregister.js';
import type { BandName, Grid, Raster } from './raster.js';
import type { AlignedSource } from './tile-reader.js';

/** A smooth random texture (sum of sinusoids), sampled at (x − sx, y − sy): shifting it is exact. */
function texture(w: number, h: number, sx: number, sy: number, gain = 1, offset = 0): Float32Array {
  const out = new Float32Array(w * h);
  const waves = [[0.31, 0.17, 0], [0.09, 0.41, 1.3], [0.23, -0.29, 2.1], [0.52, 0.07, 0.4], [-0.13, 0.36, 5.2]];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (const [a, b, p] of waves) v += Math.sin(a * (x - sx) + b * (y - sy) + p);
      out[y * w + x] = gain * (1000 + 200 * v) + offset;
    }
  }
  return out;
}

function sample(w: number, h: number, shift: [number, number], gain = 1, offset = 0): ShiftSample {
  // The prior's content sits `shift` further on: prior(x + dx, y + dy) = current(x, y).
  return { width: w, height: h, current: texture(w, h, 0, 0), prior: texture(w, h, shift[0], shift[1], gain, offset), valid: new Uint8Array(w * h).fill(1) };
}

describe('estimateShift', () => {
  it('finds whole-pixel and sub-pixel shifts, whatever the gains between the epochs', () => {
    for (const shift of [[0, 0], [2, -1], [-3, 2], [0.5, 0.5], [1.3, -0.6]] as [number, number][]) {
      const est = estimateShift([sample(128, 128, shift, 1.2, 300), sample(128, 128, shift)])!;
      expect(est).not.toBeNull();
      expect(Math.abs(est.dx - shift[0])).toBeLessThan(0.2);
      expect(Math.abs(est.dy - shift[1])).toBeLessThan(0.2);
      expect(est.peak).toBeGreaterThan(0.9);
    }
  });

  it('ignores invalid pixels, and says nothing on a scene without texture', () => {
    const s = sample(192, 192, [2, 1]);
    // A cloud over a third of the window: its edges and its inside must not pull the match.
    for (let y = 30; y < 80; y++) for (let x = 20; x < 100; x++) { s.valid[y * 192 + x] = 0; s.current[y * 192 + x] = 60000; }
    const est = estimateShift([s])!;
    expect(Math.abs(est.dx - 2)).toBeLessThan(0.2);
    expect(Math.abs(est.dy - 1)).toBeLessThan(0.2);
    const flat: ShiftSample = { width: 128, height: 128, current: new Float32Array(128 * 128).fill(5), prior: new Float32Array(128 * 128).fill(9), valid: new Uint8Array(128 * 128).fill(1) };
    expect(estimateShift([flat])).toBeNull();
  });

  it('says nothing when the shift is beyond the search', () => {
    expect(estimateShift([sample(128, 128, [6, 0])], 4)).toBeNull();
  });
});

describe('offsetSource', () => {
  it('reads the prior on the target grid moved by (dx, dy) pixels and hands it back on the target grid', async () => {
    const seen: Grid[] = [];
    const src: AlignedSource = {
      async readAligned(target: Grid, bands: BandName[]): Promise<Raster> {
        seen.push(target);
        return { ...target, bands: Object.fromEntries(bands.map((b) => [b, new Float32Array(target.width * target.height)])), valid: new Uint8Array(target.width * target.height) };
      },
      close: async () => {},
    };
    const target: Grid = { width: 4, height: 3, crs: 'EPSG:32650', transform: [1000, 10, 0, 5000, 0, -10] };
    const r = await offsetSource(src, 1.5, -2).readAligned(target, ['nir']);
    expect(seen[0].transform).toEqual([1015, 10, 0, 5020, 0, -10]);
    expect(translateGrid(target, 1.5, -2)).toEqual(seen[0]);
    expect(r.transform).toEqual(target.transform);
    expect(r.width).toBe(4);
  });
});
