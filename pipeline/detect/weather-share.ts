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
/**
 * Pixels tested for weather: a share near the 40 % limit is known to a few tenths of a percent from
 * 2^17 of them (a binomial's standard error), and a cold pass over all ~1 Mpx took ~0.25 s of the
 * critical path.
 */
const WEATHER_SAMPLE = 1 << 17;

/**
 * Plain loops over every stride-th pixel of the sample (up to 16 windows of 256²: ~1 Mpx), on the
 * main thread before scoring starts: band arrays hoisted, no closure or property chain per pixel.
 */
export function weatherShare(samples: readonly { before: Raster; after: Raster }[], bands: readonly BandName[]): WeatherShare {
  const k0 = 1 / epochScale(samples, 'before', bands);
  const k1 = 1 / epochScale(samples, 'after', bands);
  let total = 0;
  for (const s of samples) total += s.before.valid.length;
  const stride = Math.max(1, Math.floor(total / WEATHER_SAMPLE));
  let after = 0, before = 0, pixels = 0;
  for (const s of samples) {
    const e0 = s.before.bands, e1 = s.after.bands;
    const bl0 = e0.blue!, gr0 = e0.green!, rd0 = e0.red!, ni0 = e0.nir!, sw0 = e0.swir1;
    const bl1 = e1.blue!, gr1 = e1.green!, rd1 = e1.red!, ni1 = e1.nir!, sw1 = e1.swir1;
    const v0 = s.before.valid, v1 = s.after.valid;
    for (let i = 0; i < v0.length; i += stride) {
      if (!v0[i] || !v1[i]) continue;
      pixels++;
      const w0 = isCloudOrShadow(bl0[i] * k0, gr0[i] * k0, rd0[i] * k0, ni0[i] * k0, sw0 ? sw0[i] * k0 : -1);
      const w1 = isCloudOrShadow(bl1[i] * k1, gr1[i] * k1, rd1[i] * k1, ni1[i] * k1, sw1 ? sw1[i] * k1 : -1);
      if (w1 && !w0) after++;
      else if (w0 && !w1) before++;
    }
  }
  return { after: pixels ? after / pixels : 0, before: pixels ? before / pixels : 0, pixels };
}

/** An epoch's reflectance scale (normalise.ts guessScale) from every stride-th pixel valid in both epochs. */
function epochScale(samples: readonly { before: Raster; after: Raster }[], epoch: 'before' | 'after', bands: readonly BandName[]): number {
  let total = 0;
  for (const s of samples) total += s[epoch].valid.length;
  const stride = Math.max(1, Math.floor(total / SCALE_SAMPLE));
  const values = new Float64Array(Math.ceil(total / stride) + samples.length);
  let p99 = 0;
  for (const b of bands) {
    let m = 0;
    for (const s of samples) {
      const band = s[epoch].bands[b];
      if (!band) continue;
      const v0 = s.before.valid, v1 = s.after.valid;
      for (let i = 0; i < band.length; i += stride) if (v0[i] && v1[i]) values[m++] = band[i];
    }
    if (m > 0) p99 = Math.max(p99, kthSmallest(values, m, Math.floor(0.99 * (m - 1))));
  }
  return guessScale(p99);
}
