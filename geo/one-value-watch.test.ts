import { describe, expect, it } from 'vitest';
import type { BandName, Window } from './raster.js';
import { OneValueWatch } from './one-value-watch.js';

const BANDS: BandName[] = ['blue', 'nir'];
const validOf = (outs: Float32Array[]) => Uint8Array.from(outs[0], (_, i) => Number(outs.every((b) => b[i] === b[i])));
/** A read of one row of `outs[0].length` pixels, at `row`, from column `col`. */
const see = (w: OneValueWatch, outs: Float32Array[], row = 0, col = 0) => w.see({ col, row, width: outs[0].length, height: 1 }, BANDS, outs, validOf(outs));

describe('OneValueWatch', () => {
  it('tells one value in each band over every read, nodata (NaN) aside, once enough pixels were valid', () => {
    const w = new OneValueWatch();
    const read = () => [Float32Array.from([NaN, 800, 800, 800]), Float32Array.from([NaN, 2500, 2500, 2500])];
    see(w, read(), 0);
    expect(w.oneValue(4)).toBeNull(); // 3 valid pixels so far
    see(w, read(), 1);
    expect(w.oneValue(4)).toEqual({ blue: 800, nir: 2500 });
  });

  it('is imagery once any band varies, in this read or a later one, and stays so', () => {
    const w = new OneValueWatch();
    see(w, [Float32Array.from([800, 800]), Float32Array.from([2500, 2500])]);
    expect(w.oneValue(1)).toEqual({ blue: 800, nir: 2500 });
    see(w, [Float32Array.from([800, 800]), Float32Array.from([2500, 2501])], 1); // blue constant, nir varies: imagery
    expect(w.oneValue(1)).toBeNull();
    see(w, [Float32Array.from([800, 800]), Float32Array.from([2500, 2500])], 2);
    expect(w.oneValue(1)).toBeNull();
  });

  it('knows nothing from reads without a valid pixel', () => {
    const w = new OneValueWatch();
    see(w, [new Float32Array(4).fill(NaN), new Float32Array(4).fill(NaN)]);
    expect(w.oneValue(0)).toBeNull();
  });

  // Per-band files that declare different nodata: a band's fill (here blue's 0) shows where another
  // band has no data; that pixel is no data of the file, not a second value of blue.
  it('looks only where every band has data', () => {
    const w = new OneValueWatch();
    see(w, [Float32Array.from([0, 800, 800, 800]), Float32Array.from([NaN, 2500, 2500, 2500])]);
    expect(w.oneValue(3)).toEqual({ blue: 800, nir: 2500 });
  });

  // The fit's sample read again by a strip, a strip's halo rows read twice, a realigned sample: one pixel.
  it('counts a pixel read again once', () => {
    const w = new OneValueWatch();
    const block = (height: number) => [new Float32Array(4 * height).fill(800), new Float32Array(4 * height).fill(2500)];
    const read = (win: Window) => {
      const outs = block(win.height);
      w.see(win, BANDS, outs, validOf(outs));
    };
    read({ col: 0, row: 0, width: 4, height: 2 }); // 8 pixels
    read({ col: 0, row: 0, width: 4, height: 2 }); // the same again
    read({ col: 2, row: 1, width: 4, height: 2 }); // 2 of its 8 read before
    expect(w.oneValue(14)).toEqual({ blue: 800, nir: 2500 });
    expect(w.oneValue(15)).toBeNull();
  });
});
