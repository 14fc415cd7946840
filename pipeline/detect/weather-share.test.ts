/**
 * weatherShare (detectPair's clouded-tile check): the share of the fit's sample under weather in one
 * epoch only, on each epoch's own reflectance scale.
 */
import { describe, expect, it } from 'vitest';
import type { BandName, Raster } from '../../geo/raster.js';
import { weatherShare } from './weather-share.js';

const BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];
const N = 512 * 512;

/** A window of ground (vegetation-like reflectances) where `cloudy(i)` pixels are white cloud, at `scale` (10000: DN, 1: reflectance). */
function window(scale: number, cloudy: (i: number) => boolean): Raster {
  const ground = { blue: 0.04, green: 0.07, red: 0.05, nir: 0.3 };
  const bands = Object.fromEntries(BANDS.map((b) => [b, Float32Array.from({ length: N }, (_, i) => (cloudy(i) ? 0.6 + (b === 'nir' ? 0.02 : 0) : ground[b as keyof typeof ground]) * scale)]));
  return { width: 512, height: 512, crs: 'EPSG:32650', transform: [0, 10, 0, 0, 0, -10], bands, valid: new Uint8Array(N).fill(1) };
}

describe('weatherShare', () => {
  it('measures cloud in the current epoch only, whatever scale each epoch is stored in', () => {
    const clear = window(10_000, () => false);
    const clouded = window(1, (i) => Math.floor(i / 512) % 10 < 6); // reflectance 0–1, 60 % of the rows cloud
    const w = weatherShare([{ before: clear, after: clouded }], BANDS);
    expect(w.after).toBeGreaterThan(0.58);
    expect(w.after).toBeLessThan(0.62);
    expect(w.before).toBe(0);
  });

  it('counts weather in both epochs as neither, and only pixels valid in both', () => {
    // Whole rows, as cloud lies in patches (the pass reads every stride-th pixel).
    const row = (i: number) => Math.floor(i / 512) % 4;
    const both = (i: number) => row(i) === 0;
    const before = window(10_000, both);
    const after = window(10_000, (i) => both(i) || row(i) === 1);
    after.valid.fill(0, 0, N / 2);
    const w = weatherShare([{ before, after }], BANDS);
    expect(w.pixels).toBeGreaterThan(0);
    expect(w.pixels).toBeLessThanOrEqual(N / 2);
    expect(w.after).toBeCloseTo(0.25, 2);
    expect(w.before).toBe(0);
  });
});
