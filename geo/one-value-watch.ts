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
 * band that varies.
 */
import type { BandName } from './raster.js';

export class OneValueWatch {
  private readonly value = new Map<BandName, number>();
  private varied = false;
  private validPixels = 0;

  /** One read's bands (`outs[k]` is `bands[k]`, NaN where it has no data) and its validity mask (1: every band has data). */
  see(bands: readonly BandName[], outs: readonly Float32Array[], valid: Uint8Array): void {
    if (this.varied) return;
    for (let k = 0; k < bands.length; k++) {
      const band = outs[k];
      let v = this.value.get(bands[k]) ?? NaN;
      let i = 0;
      // The band's first value with data, unless an earlier read gave one.
      if (v !== v) {
        while (i < band.length && band[i] !== band[i]) i++;
        if (i === band.length) continue;
        v = band[i];
        this.value.set(bands[k], v);
      }
      for (; i < band.length; i++) {
        const x = band[i];
        if (x !== v && x === x) {
          this.varied = true;
          this.value.clear();
          return;
        }
      }
    }
    // Still one value in each band: count the pixels that said so (only such a file pays this pass).
    let n = 0;
    for (let i = 0; i < valid.length; i++) n += valid[i];
    this.validPixels += n;
  }

  /**
   * The one value of each band, where every valid pixel read so far held it and at least `minPixels`
   * were read (pixels read twice, a strip's halo, count twice); null otherwise.
   */
  oneValue(minPixels: number): Partial<Record<BandName, number>> | null {
    if (this.varied || this.validPixels < minPixels || this.value.size === 0) return null;
    return Object.fromEntries(this.value) as Partial<Record<BandName, number>>;
  }
}
