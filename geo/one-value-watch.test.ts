import { describe, expect, it } from 'vitest';
import type { BandName } from './raster.js';
import { OneValueWatch } from './one-value-watch.js';

const BANDS: BandName[] = ['blue', 'nir'];
const validOf = (outs: Float32Array[]) => Uint8Array.from(outs[0], (_, i) => Number(outs.every((b) => b[i] === b[i])));
const see = (w: OneValueWatch, outs: Float32Array[]) => w.see(BANDS, outs, validOf(outs));

describe('OneValueWatch', () => {
  it('tells one value in each band over every read, nodata (NaN) aside, once enough pixels were valid', () => {
    const w = new OneValueWatch();
    const read = () => [Float32Array.from([NaN, 800, 800, 800]), Float32Array.from([NaN, 2500, 2500, 2500])];
    see(w, read());
    expect(w.oneValue(4)).toBeNull(); // 3 valid pixels so far
    see(w, read());
    expect(w.oneValue(4)).toEqual({ blue: 800, nir: 2500 });
  });

  it('is imagery once any band varies, in this read or a later one, and stays so', () => {
    const w = new OneValueWatch();
    see(w, [Float32Array.from([800, 800]), Float32Array.from([2500, 2500])]);
    expect(w.oneValue(1)).toEqual({ blue: 800, nir: 2500 });
    see(w, [Float32Array.from([800, 800]), Float32Array.from([2500, 2501])]); // blue constant, nir varies: imagery
    expect(w.oneValue(1)).toBeNull();
    see(w, [Float32Array.from([800, 800]), Float32Array.from([2500, 2500])]);
    expect(w.oneValue(1)).toBeNull();
  });

  it('knows nothing from reads without a valid pixel', () => {
    const w = new OneValueWatch();
    see(w, [new Float32Array(4).fill(NaN), new Float32Array(4).fill(NaN)]);
    expect(w.oneValue(0)).toBeNull();
  });
});
