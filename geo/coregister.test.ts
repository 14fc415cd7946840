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

  it('gives the same bits as the plain per-offset loop, windows with and without missing pixels mixed', () => {
    // Noisy, non-integer values (as a warped prior has), so a changed summation order would show.
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const noisy = (w: number, h: number, shift: [number, number], holes: number): ShiftSample => {
      const s = sample(w, h, shift, 1.07, 13.3);
      for (let i = 0; i < w * h; i++) {
        s.current[i] += rnd() * 37.1;
        s.prior[i] += rnd() * 41.9;
      }
      for (let k = 0; k < holes; k++) s.valid[Math.floor(rnd() * w * h)] = 0;
      return s;
    };
    for (const windows of [[noisy(128, 112, [1.4, -0.7], 0)], [noisy(100, 100, [0.3, 2.2], 0), noisy(110, 90, [0.3, 2.2], 25), noisy(100, 100, [0.3, 2.2], 0)]]) {
      // ±4 (9 offsets a row: three passes of three) and ±3 (7: two passes of three and one single).
      for (const R of [4, 3]) {
        const got = estimateShift(windows, R)!;
        const want = referenceShift(windows, R)!;
        expect(got).not.toBeNull();
        for (const k of ['dx', 'dy', 'peak', 'atZero', 'pixels'] as const) expect(Object.is(got[k], want[k])).toBe(true);
      }
    }
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

/** estimateShift as first written (every window through the general per-offset loop), to hold the fast path to the same bits. */
function referenceShift(samples: ShiftSample[], R: number) {
  const side = 2 * R + 1;
  const acc = new Float64Array(side * side * 6);
  const gradient = (src: Float32Array, valid: Uint8Array, w: number, h: number) => {
    const g = new Float32Array(w * h).fill(NaN);
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        const i = y * w + x;
        if (!valid[i - 1] || !valid[i + 1] || !valid[i - w] || !valid[i + w]) continue;
        g[i] = Math.abs(src[i + 1] - src[i - 1]) + Math.abs(src[i + w] - src[i - w]);
      }
    }
    return g;
  };
  for (const s of samples) {
    const { width: w, height: h } = s;
    const ga = gradient(s.current, s.valid, w, h);
    const gb = gradient(s.prior, s.valid, w, h);
    for (let sy = -R; sy <= R; sy++) {
      for (let sx = -R; sx <= R; sx++) {
        let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (let y = R + 1; y < h - R - 1; y++) {
          let i = y * w + R + 1;
          let j = (y + sy) * w + R + 1 + sx;
          for (let x = R + 1; x < w - R - 1; x++, i++, j++) {
            const a = ga[i], b = gb[j];
            if (a !== a || b !== b) continue;
            n++; sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b;
          }
        }
        const o = ((sy + R) * side + sx + R) * 6;
        acc[o] += n; acc[o + 1] += sa; acc[o + 2] += sb; acc[o + 3] += saa; acc[o + 4] += sbb; acc[o + 5] += sab;
      }
    }
  }
  const ncc = new Float64Array(side * side);
  let best = 0;
  for (let k = 0; k < side * side; k++) {
    const [n, sa, sb, saa, sbb, sab] = acc.subarray(k * 6, k * 6 + 6);
    const va = saa - (sa * sa) / n, vb = sbb - (sb * sb) / n;
    ncc[k] = n > 0 && va > 0 && vb > 0 ? (sab - (sa * sb) / n) / Math.sqrt(va * vb) : -1;
    if (ncc[k] > ncc[best]) best = k;
  }
  const py = Math.floor(best / side) - R, px = (best % side) - R;
  const at = (x: number, y: number) => ncc[(y + R) * side + x + R];
  const vertex = (l: number, c: number, r: number) => {
    const d = l - 2 * c + r;
    return d < 0 ? Math.max(-0.5, Math.min(0.5, (l - r) / (2 * d))) : 0;
  };
  if (acc[best * 6] < 10_000 || Math.abs(px) === R || Math.abs(py) === R) return null;
  return { dx: px + vertex(at(px - 1, py), at(px, py), at(px + 1, py)), dy: py + vertex(at(px, py - 1), at(px, py), at(px, py + 1)), peak: at(px, py), atZero: at(0, 0), pixels: acc[best * 6] };
}
