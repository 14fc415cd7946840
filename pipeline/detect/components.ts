/**
 * Stage 3 of a tile: from the scores to the components worth vectorising. Hide cloud fringes,
 * pick one threshold for the tile, draw the change mask (with hysteresis under the learned model),
 * clean it, label it, and keep the components that pass the minimum mapping unit and have seed
 * pixels at the threshold. Full-tile buffers: mask u8 and labels i32.
 */
import { byteWords, zeroLanes } from '../../geo/kernels/byte-lanes.js';
import { componentStats, labelComponents, removeSmallComponents, seedStats, type ComponentStats } from '../../geo/kernels/label.js';
import { createMorphScratch, openClosePacked, packedRowStart } from '../../geo/kernels/morphology.js';
import { histogram } from '../../geo/kernels/threshold.js';
import { prefaultPages } from '../prefault-pages.js';
import type { ChangeModel } from './change-model.js';
import { maskCloudFringes } from './cloud-fringes.js';
import type { ComponentParams, DetectorParams } from './detector-params.js';
import { NOT_OBSERVED } from './score.js';
import type { TileScores } from './score-stream.js';
import type { StageTimer } from './stage-timer.js';
import { chooseThreshold } from './choose-threshold.js';

const HIST_BINS = 4096;
/** Score histogram range in σ units of the normalised difference; scores above are clamped into the last bin. */
const HIST_HI = 64;

export interface TileComponents {
  /** Component label per pixel (0 = none), numbered 1…count; components under the MMU are erased, others not kept are still drawn. */
  labels: Int32Array;
  count: number;
  /** keep[l] = 1 for the components that passed the MMU and seed tests. */
  keep: Uint8Array;
  /** Pixel count (0 for components under the MMU), bounding box and max score of each component. */
  stats: ComponentStats;
  /** Pixels of each component at the threshold (its evidence; the grown rim only draws the outline), and their score sum. */
  seeds: { count: Uint32Array; sum: Float64Array };
  threshold: number;
  /** Components and polygon parts smaller than this are dropped (the MMU in pixels). */
  minPixels: number;
  /** Pixels that could not be compared (cloud, shadow, nodata, no prior). */
  notObservedPx: number;
  /** The change mask the labels were drawn from: non-zero at every labelled pixel, so a pass over the labels can skip its zero runs. */
  mask: Uint8Array;
}

export interface ComponentOptions {
  /** The clouds, threshold and learned groups, and the component settings in force (componentParams). */
  params: Pick<DetectorParams, 'clouds' | 'threshold' | 'learned'> & { components: ComponentParams };
  model: ChangeModel | null;
  width: number;
  height: number;
  /** Ground area of one pixel, m². */
  pixelAreaM2: number;
  timer: StageTimer;
}

/** Rewrites `scores.type` (cloud fringes become NOT_OBSERVED) and reads `scores.score`. */
export async function extractComponents(scores: TileScores, opts: ComponentOptions): Promise<TileComponents> {
  const { params, model, width: w, height: h, pixelAreaM2: pxArea, timer } = opts;
  const { score, type } = scores;
  const n = w * h;
  // The mask doubles as the cloud cores' scratch (it is written whole later). The labels' pages
  // are made resident by a worker while the clouds and the mask are done here (the first touch of
  // fresh memory is much of the cost at 10980²: ~1 s for the labels' 480 MB); they stay zero, so
  // labelComponents need not clear them.
  const labels = new Int32Array(new SharedArrayBuffer(n * Int32Array.BYTES_PER_ELEMENT));
  const labelsResident = prefaultPages(labels.buffer as SharedArrayBuffer);
  const mask = new Uint8Array(n);
  const minCorePx = params.clouds.coreMinM2 > 0 ? Math.ceil(params.clouds.coreMinM2 / pxArea) : 0;
  await timer.time('clouds', () => maskCloudFringes(type, score, w, h, { fringes: params.clouds.fringes, minCorePx, haloPx: params.clouds.haloPx, bufferPx: params.clouds.bufferPx }, mask));

  const threshold = await timer.time('threshold', () => {
    // The learned score is a probability with its threshold fixed in training.
    if (model) return model.threshold;
    const hist = new Float64Array(HIST_BINS);
    histogram(score, null, 0, HIST_HI, hist);
    return chooseThreshold(hist, 0, HIST_HI, params.threshold);
  });

  // Hysteresis with the learned model: a change's edge pixels often score just under the cut,
  // and a small building seen in one or two pixels at the cut falls under the MMU without them.
  const lowCut = model ? threshold * Math.min(1, params.learned.growCut) : threshold;
  // Count observation while we pass over the tile.
  let notObservedPx = 0;
  await timer.time('mask', () => {
    if (params.components.openRadius > 0) {
      // The cut is drawn straight into the packed plane the opening and closing work on, and the
      // two run back to back (openClose: the same result as open, then close) with one unpack.
      const scratch = createMorphScratch(w, h);
      notObservedPx = packAtCut(type, score, lowCut, scratch.a, w, h);
      openClosePacked(mask, w, h, scratch, params.components.openRadius);
    } else {
      notObservedPx = maskAtCut(type, score, lowCut, mask, n);
    }
  });

  const { count, stats } = await timer.time('label', async () => {
    await labelsResident;
    const count = labelComponents(mask, w, h, labels, 8, { cleared: true });
    return { count, stats: componentStats(labels, w, h, count, score, mask) };
  });

  const minPixels = Math.max(1, Math.ceil(params.components.mmuM2 / pxArea));
  const seeds = lowCut < threshold ? seedStats(labels, score, threshold, count, mask) : { count: stats.count, sum: stats.sum! };
  const minSeeds = model ? Math.max(1, params.learned.seedPx) : 1;
  const keep = new Uint8Array(count + 1);
  // The MMU sieve (small components are erased from `labels`), then the seed test on the rest.
  removeSmallComponents(labels, w, h, stats, minPixels, keep);
  for (let l = 1; l <= count; l++) if (keep[l] && seeds.count[l] < minSeeds) keep[l] = 0;
  return { labels, count, keep, stats, seeds, threshold, minPixels, notObservedPx, mask };
}

/**
 * mask[i] = 1 where pixel i < n is observed and scores at least `cut`, else 0; returns the pixels not observed.
 * Module-level, not inline in the per-tile stage closure: V8 drops a closure's optimised code once
 * no instance of it lives, so a loop in a per-tile closure was compiled anew after every major GC.
 * Four pixels a step where the planes fall on words (little-endian): a word of types holding no
 * NOT_OBSERVED (0xff) byte makes its four mask bytes from the scores alone, in one store.
 */
export function maskAtCut(type: Uint8Array, score: Float32Array, cut: number, mask: Uint8Array, n: number): number {
  let notObserved = 0;
  let i = 0;
  const t32 = byteWords(type, n);
  const m32 = byteWords(mask, n);
  if (LITTLE_ENDIAN && NOT_OBSERVED === 0xff && t32 !== null && m32 !== null) {
    for (let q = 0; q < t32.length; q++, i += 4) {
      // No 0xff type among the four: the complement has no zero lane.
      if (zeroLanes(~t32[q]) === 0) {
        m32[q] = (score[i] >= cut ? 1 : 0) | (score[i + 1] >= cut ? 0x100 : 0) | (score[i + 2] >= cut ? 0x10000 : 0) | (score[i + 3] >= cut ? 0x1000000 : 0);
        continue;
      }
      for (let j = i; j < i + 4; j++) notObserved += maskPixel(type, score, cut, mask, j);
    }
  }
  for (; i < n; i++) notObserved += maskPixel(type, score, cut, mask, i);
  return notObserved;
}

/** maskAtCut for one pixel: 1 when it is not observed. */
function maskPixel(type: Uint8Array, score: Float32Array, cut: number, mask: Uint8Array, i: number): number {
  if (type[i] === NOT_OBSERVED) {
    mask[i] = 0; // the mask buffer comes in holding the cloud cores
    return 1;
  }
  mask[i] = score[i] >= cut ? 1 : 0;
  return 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * maskAtCut into the image words of a packed plane (geo/kernels/morphology.ts layout: bit x & 31 of
 * word packedRowStart(w, y) + (x >> 5)) instead of bytes; every image word is written, margins are
 * left alone. Returns the pixels not observed.
 */
function packAtCut(type: Uint8Array, score: Float32Array, cut: number, plane: Uint32Array, w: number, h: number): number {
  let notObserved = 0;
  const words = (w + 31) >>> 5;
  // Where `type` is 4-byte aligned, 32 pixels' types are 8 Int32 reads: when none is NOT_OBSERVED
  // (0xFF, whose complement is a zero byte lane) the scores alone make the word.
  const t32 = type.byteOffset % 4 === 0 && NOT_OBSERVED === 0xff ? new Int32Array(type.buffer, type.byteOffset, (w * h) >>> 2) : null;
  for (let y = 0; y < h; y++) {
    const q = packedRowStart(w, y);
    const row = y * w;
    for (let j = 0; j < words; j++) {
      const x0 = row + (j << 5);
      const x1 = Math.min(x0 + 32, row + w);
      if (t32 !== null && x1 - x0 === 32 && (x0 & 3) === 0) {
        const k = x0 >>> 2;
        const lanes = zeroLanes(~t32[k]) | zeroLanes(~t32[k + 1]) | zeroLanes(~t32[k + 2]) | zeroLanes(~t32[k + 3]) |
          zeroLanes(~t32[k + 4]) | zeroLanes(~t32[k + 5]) | zeroLanes(~t32[k + 6]) | zeroLanes(~t32[k + 7]);
        if (lanes === 0) {
          let word = 0;
          for (let b = 0; b < 32; b++) if (score[x0 + b] >= cut) word |= 1 << b;
          plane[q + j] = word;
          continue;
        }
      }
      let word = 0;
      for (let i = x0, b = 0; i < x1; i++, b++) {
        if (type[i] === NOT_OBSERVED) notObserved++;
        else if (score[i] >= cut) word |= 1 << b;
      }
      plane[q + j] = word;
    }
  }
  return notObserved;
}
