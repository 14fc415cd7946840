/**
 * Stage 1 of a tile: sample both epochs, measure their misregistration (and shift the moving
 * epoch back when it is large and clear enough), and fit the radiometric normalisation on the
 * re-aligned samples. Reads up to 16 windows of at most 256² per epoch (sample-windows.ts); nothing full-tile.
 */
import { estimateShift, offsetSource } from '../../geo/coregister.js';
import { windowGrid, type BandName, type Raster } from '../../geo/raster.js';
import { asEpochs, asFixedMoving, type EpochPair } from './epoch-pair.js';
import type { ScoreParams } from './detector-params.js';
import { fitNormalisation, type NormFit } from './normalise.js';
import { sampleWindows } from './sample-windows.js';
import { weatherShare, type WeatherShare } from './weather-share.js';
import { giveBackShared, takeShared } from './shared-buffers.js';

/** Prior pixels (dx, dy) that line up with the tile's pixel (0, 0); peak/atZero: edge correlation with and without the shift. */
export interface Coregistration {
  dx: number;
  dy: number;
  peak: number;
  atZero: number;
  applied: boolean;
}

export interface EpochFit {
  /** The pair to score: its moving epoch shifted back when co-registration was applied. */
  pair: EpochPair;
  fit: NormFit;
  /** The measured misregistration (null: too little texture to measure). */
  coregistration: Coregistration | null;
  /** Share of the sample under weather (cloud, shadow) in one epoch only, by raw reflectances. */
  weather: WeatherShare;
  /** The sample's pixels valid in the current epoch, whatever the prior holds there (NothingToCompare). */
  currentPixels: number;
}

/** The score group's alignment and normalisation settings (ScoreParams). */
export type EpochFitParams = Pick<ScoreParams, 'coregisterMinPx' | 'normIterations' | 'normKeepShare'>;

export async function fitEpochs(pair: EpochPair, bands: BandName[], params: EpochFitParams): Promise<EpochFit> {
  // The samples' memory, given back for the next tile once the fit is done (only then: a read
  // that failed may still have inflate jobs writing into it).
  const buffers: SharedArrayBuffer[] = [];
  let samples = await readSamples(pair, bands, buffers);
  const coregistration = coregisterEpochs(pair, samples, params.coregisterMinPx);
  if (coregistration?.applied) {
    // Shift the moving epoch back onto the grid, and fit the gains on the re-aligned windows.
    pair = { ...pair, moving: offsetSource(pair.moving, coregistration.dx, coregistration.dy) };
    samples = await realignMoving(pair, samples, bands, buffers);
  }
  const fit = fitNormalisation(samples, params);
  const weather = weatherShare(samples, bands);
  let currentPixels = 0;
  for (const s of samples) for (const v of s.after.valid) currentPixels += v ? 1 : 0;
  giveBackShared(buffers);
  return { pair, fit, coregistration, weather, currentPixels };
}

/** Up to 16 windows of at most 256² over the tile, overlapping little or not at all (sample-windows.ts): enough pixels to fit gains without decoding it twice. */
async function readSamples(pair: EpochPair, bands: BandName[], buffers: SharedArrayBuffer[]): Promise<{ before: Raster; after: Raster }[]> {
  const grid = pair.grid;
  const wins = sampleWindows(grid);
  return Promise.all(
    wins.map(async (win) => {
      const n = win.width * win.height;
      const [fixed, moving] = await Promise.all([
        pair.fixed.readWindow(win, bands, sharedSample(bands, n, buffers)),
        pair.moving.readAligned(windowGrid(grid, win), bands, sharedSample(bands, n, buffers)),
      ]);
      return asEpochs(pair, fixed, moving);
    }),
  );
}

/**
 * Memory for one sample window on SharedArrayBuffers, passed to the readers as `reuse`: the inflate
 * workers then decode straight into it (geo/tiff/open-geotiff.ts), with no decoded-block planes
 * allocated and copied on this thread (≈ 130 MB of short-lived garbage per fit on a 4-band tile).
 * Taken from the process's kept buffers (shared-buffers.ts; the readers write every pixel of a
 * window, so stale contents never show) and listed in `buffers` to be given back.
 */
function sharedSample(bands: BandName[], n: number, buffers: SharedArrayBuffer[]): Raster {
  const take = (bytes: number) => {
    const b = takeShared(bytes);
    buffers.push(b);
    return b;
  };
  const record: Raster['bands'] = {};
  for (const b of bands) record[b] = new Float32Array(take(n * 4));
  return { width: 0, height: 0, crs: '', transform: [0, 1, 0, 0, 0, -1], bands: record, valid: new Uint8Array(take(n)) };
}

/** Below this the epochs' edges hardly agree at any shift (heavy change, cloud, no texture): a peak there is noise. OSCD pairs measure 0.31–0.79. */
const MIN_EDGE_CORRELATION = 0.2;

/**
 * The epochs' misregistration measured on the normalisation windows (NIR edges), and whether it is
 * large and clear enough to take out: at least minPx, a better match than no shift at all, and a
 * correlation worth trusting.
 */
function coregisterEpochs(pair: EpochPair, samples: { before: Raster; after: Raster }[], minPx: number): Coregistration | null {
  const est = estimateShift(
    samples.map((s) => {
      const { fixed, moving } = asFixedMoving(pair, s);
      return { width: fixed.width, height: fixed.height, current: fixed.bands.nir!, prior: moving.bands.nir!, valid: bothValid(fixed.valid, moving.valid) };
    }),
  );
  if (!est) return null;
  const r = (v: number) => Math.round(v * 100) / 100;
  const applied = minPx > 0 && Math.hypot(est.dx, est.dy) >= minPx && est.peak > est.atZero && est.peak >= MIN_EDGE_CORRELATION;
  return { dx: r(est.dx), dy: r(est.dy), peak: r(est.peak), atZero: r(est.atZero), applied };
}

/**
 * 1 where both epochs hold data. Module-level, not inline in the per-tile map callback: V8 drops a
 * closure's optimised code once no instance of it lives, so the loop was compiled anew per tile.
 */
function bothValid(a: Uint8Array, b: Uint8Array): Uint8Array {
  const valid = new Uint8Array(a.length);
  for (let i = 0; i < valid.length; i++) valid[i] = a[i] & b[i];
  return valid;
}

/** The sample windows with only their moving side read again, from the shifted source (the fixed side is already right). */
function realignMoving(pair: EpochPair, samples: { before: Raster; after: Raster }[], bands: BandName[], buffers: SharedArrayBuffer[]): Promise<{ before: Raster; after: Raster }[]> {
  return Promise.all(
    samples.map(async (s) => {
      const { fixed } = asFixedMoving(pair, s);
      const moving = await pair.moving.readAligned({ width: fixed.width, height: fixed.height, crs: fixed.crs, transform: fixed.transform }, bands, sharedSample(bands, fixed.width * fixed.height, buffers));
      return asEpochs(pair, fixed, moving);
    }),
  );
}
