/**
 * Harness-only detector driver: the detector's pure functions run strip by strip over a
 * whole scene held in memory, with local morphology and labelling. The product path is
 * pipeline/detect/detect-tile.ts; the bench switches to it once it lands.
 */
import type { BandName, Raster } from '../../geo/raster.js';
import { windowGrid } from '../../geo/raster.js';
import type { ChangeType } from '../model.js';
import type { DetectorParams } from '../detect/detector-params.js';
import { fitNormalisation } from '../detect/normalise.js';
import type { NormFit } from '../detect/normalise.js';
import { changeTypeOfCode, scorePixels } from '../detect/score.js';
import { accumulateHistogram, chooseThreshold } from '../detect/threshold.js';
import { componentConfidence } from '../detect/confidence.js';
import { labelComponents } from './label-components.js';

export interface SceneComponent {
  label: number;
  pixelCount: number;
  changeType: ChangeType;
  confidence: number;
  reasons: string[];
}

export interface SceneDetection {
  fit: NormFit;
  threshold: number;
  /** Final components (0 = none); labels index `components` + 1. */
  labels: Int32Array;
  components: SceneComponent[];
  /** 1 where a kept component lies. */
  mask: Uint8Array;
}

/** Rows [row0, row0 + rows) of a raster, as a Raster on its own (copied, so strips can be transferred). */
export function sliceRows(r: Raster, row0: number, rows: number): Raster {
  const a = row0 * r.width;
  const b = (row0 + rows) * r.width;
  const bands: Partial<Record<BandName, Float32Array>> = {};
  for (const [k, v] of Object.entries(r.bands) as [BandName, Float32Array][]) bands[k] = v.slice(a, b);
  const g = windowGrid(r, { col: 0, row: row0, width: r.width, height: rows });
  return { ...g, bands, valid: r.valid.slice(a, b) };
}

/** Binary erosion (dilate=false) or dilation with a (2r+1)² square, into `out`. */
function morph(src: Uint8Array, w: number, h: number, r: number, dilate: boolean, out: Uint8Array): void {
  const tmp = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = dilate ? 0 : 1;
      for (let d = -r; d <= r; d++) {
        const xx = Math.min(w - 1, Math.max(0, x + d));
        const s = src[y * w + xx];
        if (dilate ? s : !s) { v = dilate ? 1 : 0; break; }
      }
      tmp[y * w + x] = v;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = dilate ? 0 : 1;
      for (let d = -r; d <= r; d++) {
        const yy = Math.min(h - 1, Math.max(0, y + d));
        const s = tmp[yy * w + x];
        if (dilate ? s : !s) { v = dilate ? 1 : 0; break; }
      }
      out[y * w + x] = v;
    }
  }
}

const HIST_BINS = 2000;
const HIST_HI = 40; // σ units; scores beyond fall in the last bin

/** Runs the detector over an aligned before/after pair. `stripRows` mimics the driver's streaming. */
export function detectScene(
  before: Raster,
  after: Raster,
  params: DetectorParams,
  pixelSizeM: number,
  stripRows = 128,
): SceneDetection {
  const { width: w, height: h } = before;
  const n = w * h;
  // Normalisation from sparse sample windows (every other strip), as the driver would.
  const samples: { before: Raster; after: Raster }[] = [];
  for (let row = 0; row < h; row += 2 * stripRows) {
    const rows = Math.min(stripRows, h - row);
    samples.push({ before: sliceRows(before, row, rows), after: sliceRows(after, row, rows) });
  }
  const fit = fitNormalisation(samples, params);

  // Score strip by strip with a halo of smoothRadius rows so box smoothing is seamless.
  const score = new Float32Array(n);
  const type = new Uint8Array(n);
  const halo = params.smoothRadius;
  for (let row = 0; row < h; row += stripRows) {
    const r0 = Math.max(0, row - halo);
    const r1 = Math.min(h, row + stripRows + halo);
    const b = sliceRows(before, r0, r1 - r0);
    const a = sliceRows(after, r0, r1 - r0);
    const sOut = new Float32Array((r1 - r0) * w);
    const tOut = new Uint8Array((r1 - r0) * w);
    scorePixels(b, a, fit, params, { score: sOut, type: tOut });
    const keepFrom = (row - r0) * w;
    const keepRows = Math.min(stripRows, h - row);
    score.set(sOut.subarray(keepFrom, keepFrom + keepRows * w), row * w);
    type.set(tOut.subarray(keepFrom, keepFrom + keepRows * w), row * w);
  }
  const hist = new Float64Array(HIST_BINS);
  accumulateHistogram(score, 0, HIST_HI, hist);
  const threshold = chooseThreshold(hist, 0, HIST_HI, params);

  let mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = score[i] >= threshold ? 1 : 0;
  if (params.openRadius > 0) {
    const er = new Uint8Array(n);
    morph(mask, w, h, params.openRadius, false, er);
    const op = new Uint8Array(n);
    morph(er, w, h, params.openRadius, true, op);
    // Opening removes thin parts; keep only pixels that were above threshold.
    for (let i = 0; i < n; i++) op[i] &= mask[i];
    mask = op;
  }
  const labels = new Int32Array(n);
  const count = labelComponents(mask, w, h, labels);
  const px = new Int32Array(count + 1);
  const sum = new Float64Array(count + 1);
  const max = new Float64Array(count + 1);
  const perim = new Int32Array(count + 1);
  const typeCounts = new Int32Array((count + 1) * 8);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!l) continue;
    px[l]++;
    sum[l] += score[i];
    if (score[i] > max[l]) max[l] = score[i];
    typeCounts[l * 8 + Math.min(7, type[i])]++;
    const x = i % w, y = (i - x) / w;
    if (x === 0 || labels[i - 1] !== l) perim[l]++;
    if (x === w - 1 || labels[i + 1] !== l) perim[l]++;
    if (y === 0 || labels[i - w] !== l) perim[l]++;
    if (y === h - 1 || labels[i + w] !== l) perim[l]++;
  }
  const pixelAreaM2 = pixelSizeM * pixelSizeM;
  const remap = new Int32Array(count + 1);
  const components: SceneComponent[] = [];
  for (let l = 1; l <= count; l++) {
    if (px[l] * pixelAreaM2 < params.mmuM2) continue;
    let best = 1, bestN = -1;
    for (let t = 1; t < 6; t++) if (typeCounts[l * 8 + t] > bestN) { bestN = typeCounts[l * 8 + t]; best = t; }
    const changeType = changeTypeOfCode(best);
    if (!changeType) continue;
    const { confidence, reasons } = componentConfidence(
      {
        meanScore: sum[l] / px[l],
        maxScore: max[l],
        pixelCount: px[l],
        pixelAreaM2,
        threshold,
        typeAgreement: bestN / px[l],
        compactness: Math.min(1, (4 * Math.PI * px[l]) / (perim[l] * perim[l])),
      },
      params,
    );
    if (confidence < params.minConfidence) continue;
    components.push({ label: components.length + 1, pixelCount: px[l], changeType, confidence, reasons });
    remap[l] = components.length;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = remap[labels[i]];
    out[i] = labels[i] ? 1 : 0;
  }
  return { fit, threshold, labels, components, mask: out };
}
