/**
 * Whether every valid pixel a reader has returned holds one value in each band: a failed export, a
 * tile filled with a constant, a saturated or zero-scaled product not declared nodata. Such a file is
 * not imagery, and compared it made its ground observed (no change against a real prior; false change
 * as the prior). The reader tells it from the windows it reads anyway (the epoch fit's sample first,
 * then every strip): no read of its own.
 *
 * Cheap on real imagery: a read is scanned only until two valid values of a band differ, a few pixels
 * into the first read, and never after (`varied`). Only a file still one value everywhere is scanned
 * whole, once per read. A band constant while another varies is imagery: the scan stops at the first
 * band that varies. Only valid pixels (every band has data) are looked at: with per-band files that
 * declare different nodata, a band's own fill where another band has none is not a value of the file.
 */
import type { BandName, Window } from './raster.js';

export class OneValueWatch {
  private readonly value = new Map<BandName, number>();
  private varied = false;
  private validPixels = 0;
  /** The windows read so far (only while still one value): a pixel read again is not counted again. */
  private readonly seen: Window[] = [];

  /**
   * One read of `win` (the file's pixels): its bands (`outs[k]` is `bands[k]`, NaN where it has no
   * data) and its validity mask (1: every band has data).
   */
  see(win: Window, bands: readonly BandName[], outs: readonly Float32Array[], valid: Uint8Array): void {
    if (this.varied) return;
    for (let k = 0; k < bands.length; k++) {
      const band = outs[k];
      let v = this.value.get(bands[k]) ?? NaN;
      let i = 0;
      // The band's first valid value, unless an earlier read gave one.
      if (v !== v) {
        while (i < band.length && !valid[i]) i++;
        if (i === band.length) continue;
        v = band[i];
        this.value.set(bands[k], v);
      }
      for (; i < band.length; i++) {
        if (band[i] !== v && valid[i]) {
          this.varied = true;
          this.value.clear();
          this.seen.length = 0;
          return;
        }
      }
    }
    // Still one value in each band: count the pixels that said so (only such a file pays this pass).
    this.validPixels += this.countNew(win, valid);
    this.seen.push(win);
  }

  /** Valid pixels of `win` outside every window read before (the fit's sample read again by strips, a strip's halo, a realigned sample). */
  private countNew(win: Window, valid: Uint8Array): number {
    let n = 0;
    for (let r = 0; r < win.height; r++) {
      const row = win.row + r;
      // The columns of this row read before, as sorted [start, end) runs within the window.
      const runs = this.seen
        .filter((s) => s.row <= row && row < s.row + s.height)
        .map((s) => [Math.max(s.col, win.col) - win.col, Math.min(s.col + s.width, win.col + win.width) - win.col] as const)
        .filter(([a, b]) => a < b)
        .sort((x, y) => x[0] - y[0]);
      const at = r * win.width;
      let c = 0;
      for (const [a, b] of runs) {
        for (; c < a; c++) n += valid[at + c];
        c = Math.max(c, b);
      }
      for (; c < win.width; c++) n += valid[at + c];
    }
    return n;
  }

  /**
   * The one value of each band, where every valid pixel read so far held it and at least `minPixels`
   * distinct ones were read; null otherwise.
   */
  oneValue(minPixels: number): Partial<Record<BandName, number>> | null {
    if (this.varied || this.validPixels < minPixels || this.value.size === 0) return null;
    return Object.fromEntries(this.value) as Partial<Record<BandName, number>>;
  }
}
