/**
 * How much of a tile's normalisation sample is weather in one epoch only: cloud or shadow by the
 * epoch's own raw reflectances, before any fit. The fit keeps the `normKeepShare` of the sample
 * that agrees best between the epochs; where weather in one epoch covers more than the rest, the
 * fit matches the cloud onto the other epoch's ground, and the weather tests, which read the
 * normalised values, see no cloud at all: the tile would come out observed and unchanged.
 */
import type { BandName, Raster } from '../../geo/raster.js';
import { guessScale } from './normalise.js';
import { kthSmallest } from './order-statistic.js';
import { isCloudOrShadow } from './score.js';

export interface WeatherShare {
  /** Share of the pixels valid in both epochs that are cloud or shadow after and not before. */
  after: number;
  /** … before and not after. */
  before: number;
  pixels: number;
}

/** Values per band read for an epoch's reflectance scale: its 99th percentile settles long before. */
const SCALE_SAMPLE = 20_000;

export function weatherShare(samples: readonly { before: Raster; after: Raster }[], bands: readonly BandName[]): WeatherShare {
  const scaleOf = (epoch: 'before' | 'after'): number => {
    let total = 0;
    for (const s of samples) total += s[epoch].valid.length;
    const stride = Math.max(1, Math.floor(total / SCALE_SAMPLE));
    let p99 = 0;
    for (const b of bands) {
      const values: number[] = [];
      let seen = 0;
      for (const s of samples) {
        const band = s[epoch].bands[b];
        if (!band) continue;
        for (let i = 0; i < band.length; i++) if (s.before.valid[i] && s.after.valid[i] && seen++ % stride === 0) values.push(band[i]);
      }
      if (values.length > 0) p99 = Math.max(p99, kthSmallest(values, values.length, Math.floor(0.99 * (values.length - 1))));
    }
    return guessScale(p99);
  };
  const inv = { before: 1 / scaleOf('before'), after: 1 / scaleOf('after') };
  const weather = (r: Raster, i: number, k: number): boolean =>
    isCloudOrShadow(r.bands.blue![i] * k, r.bands.green![i] * k, r.bands.red![i] * k, r.bands.nir![i] * k, r.bands.swir1 ? r.bands.swir1[i] * k : -1);
  let after = 0, before = 0, pixels = 0;
  for (const s of samples) {
    for (let i = 0; i < s.before.valid.length; i++) {
      if (!s.before.valid[i] || !s.after.valid[i]) continue;
      pixels++;
      const w0 = weather(s.before, i, inv.before);
      const w1 = weather(s.after, i, inv.after);
      if (w1 && !w0) after++;
      else if (w0 && !w1) before++;
    }
  }
  return { after: pixels ? after / pixels : 0, before: pixels ? before / pixels : 0, pixels };
}
