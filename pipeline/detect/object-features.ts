/**
 * Features of each candidate change component for the object model (object-model.ts): its size,
 * shape, how its score stands against the ring around it, the texture of the score inside it, its
 * change type, and its neighbourhood (how much else changed, and how much could not be seen,
 * within about 400 m). Read from the tile's score and type planes and the component labels only,
 * so the trainer (scripts/train-object-model.ts) and the product compute exactly the same numbers.
 *
 * Two passes over the tile plus one over a coarse grid of cells; memory: F floats per candidate
 * and a few floats per cell. A plain function over typed arrays: no I/O.
 */
import { CHANGE_TYPE_CODES, NOT_OBSERVED } from './score.js';

/** Feature names, in the order of each candidate's row. The model file lists them; a mismatch is refused. */
export const OBJECT_FEATURE_NAMES = [
  'log10_area_over_mmu', // log10(area m² / MMU m²)
  'seed_share', // pixels at or above the threshold / pixels
  'mean_score', // mean score over the component
  'max_score',
  'score_std', // internal texture of the score
  'bbox_fill', // pixels / bounding-box pixels
  'bbox_aspect', // short side / long side of the bounding box
  'compactness', // 4π·area / perimeter² on pixel edges
  'ring_mean_score', // mean score of the 4-neighbours outside the component (edge contrast)
  'contrast', // mean_score − ring_mean_score
  'ring_not_observed', // share of the outside 4-neighbours not observed (cloud, nodata)
  'type_agreement', // share of the score²-weighted type vote carried by the dominant type
  'type_construction', // dominant type one-hot
  'type_bare_soil',
  'type_vegetation_loss',
  'type_water',
  'nbhd_candidate_share', // share of the neighbourhood covered by candidate components
  'nbhd_seed_share', // share of the neighbourhood at or above the threshold
  'nbhd_not_observed', // share of the neighbourhood not observed
  'nbhd_log_components', // log10(1 + candidate components whose centre lies in the neighbourhood)
] as const;
export const OBJECT_FEATURE_COUNT = OBJECT_FEATURE_NAMES.length;

/** Neighbourhood: a square of NBHD_CELLS × NBHD_CELLS cells of about CELL_M metres, centred on the component's cell. */
const CELL_M = 160;
const NBHD_CELLS = 5;

export interface ObjectFeatureInput {
  labels: Int32Array;
  /** Labels 1…count. */
  count: number;
  /** candidate[l] = 1 for the components to describe; others count as background. */
  candidate: Uint8Array;
  /** Change score per pixel (probability under the learned model); NaN where not observed. */
  score: Float32Array;
  /** CHANGE_TYPE_CODES per pixel, NOT_OBSERVED where hidden. */
  type: Uint8Array;
  width: number;
  height: number;
  /** The cut a seed pixel reaches. */
  threshold: number;
  /** Ground size of a pixel side, m. */
  pixelSizeM: number;
  /** Minimum mapping unit, m². */
  mmuM2: number;
}

/**
 * Feature rows of the candidates: row l (l = 1…count) at [l·F, (l+1)·F) of the returned array,
 * F = OBJECT_FEATURE_COUNT; rows of non-candidates are zero.
 */
export function objectFeatures(inp: ObjectFeatureInput): Float32Array {
  const { labels, count, candidate, score, type, width: w, height: h, threshold, pixelSizeM, mmuM2 } = inp;
  const F = OBJECT_FEATURE_COUNT;
  const px = new Float64Array(count + 1), seeds = new Float64Array(count + 1);
  const sum = new Float64Array(count + 1), sum2 = new Float64Array(count + 1), max = new Float64Array(count + 1).fill(-Infinity);
  const minC = new Int32Array(count + 1).fill(w), maxC = new Int32Array(count + 1).fill(-1), minR = new Int32Array(count + 1).fill(h), maxR = new Int32Array(count + 1).fill(-1);
  const perim = new Float64Array(count + 1), ringSum = new Float64Array(count + 1), ringN = new Float64Array(count + 1), ringNotObs = new Float64Array(count + 1);
  const votes = new Float64Array((count + 1) * 8);
  const sumC = new Float64Array(count + 1), sumR = new Float64Array(count + 1);
  const cellPx = Math.max(1, Math.round(CELL_M / pixelSizeM));
  const cw = Math.ceil(w / cellPx), ch = Math.ceil(h / cellPx);
  const cellCand = new Float64Array(cw * ch), cellSeed = new Float64Array(cw * ch), cellNotObs = new Float64Array(cw * ch), cellArea = new Float64Array(cw * ch), cellComps = new Float64Array(cw * ch);

  for (let r = 0; r < h; r++) {
    const cr = ((r / cellPx) | 0) * cw;
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      const cell = cr + ((c / cellPx) | 0);
      cellArea[cell]++;
      const t = type[i];
      if (t === NOT_OBSERVED) {
        cellNotObs[cell]++;
        continue;
      }
      const s = score[i];
      if (s >= threshold) cellSeed[cell]++;
      const l = labels[i];
      if (!l || !candidate[l]) continue;
      cellCand[cell]++;
      px[l]++;
      if (s >= threshold) seeds[l]++;
      if (s === s) {
        sum[l] += s;
        sum2[l] += s * s;
        if (s > max[l]) max[l] = s;
        votes[l * 8 + (t & 7)] += s * s;
      }
      sumC[l] += c;
      sumR[l] += r;
      if (c < minC[l]) minC[l] = c;
      if (c > maxC[l]) maxC[l] = c;
      if (r < minR[l]) minR[l] = r;
      if (r > maxR[l]) maxR[l] = r;
      // The 4-neighbours outside the component: its perimeter (pixel edges) and the ring it is seen against.
      for (let k = 0; k < 4; k++) {
        const nc = k === 0 ? c - 1 : k === 1 ? c + 1 : c;
        const nr = k === 2 ? r - 1 : k === 3 ? r + 1 : r;
        if (nc < 0 || nc >= w || nr < 0 || nr >= h) {
          perim[l]++;
          continue;
        }
        const j = nr * w + nc;
        if (labels[j] === l) continue;
        perim[l]++;
        if (type[j] === NOT_OBSERVED) ringNotObs[l]++;
        else if (score[j] === score[j]) {
          ringSum[l] += score[j];
          ringN[l]++;
        }
      }
    }
  }
  for (let l = 1; l <= count; l++) {
    if (px[l] > 0) cellComps[((sumR[l] / px[l] / cellPx) | 0) * cw + ((sumC[l] / px[l] / cellPx) | 0)]++;
  }

  const out = new Float32Array((count + 1) * F);
  const half = (NBHD_CELLS - 1) >> 1;
  const pxArea = pixelSizeM * pixelSizeM;
  for (let l = 1; l <= count; l++) {
    const n = px[l];
    if (!n) continue;
    const mean = sum[l] / n;
    const bw = maxC[l] - minC[l] + 1, bh = maxR[l] - minR[l] + 1;
    const ringMean = ringN[l] ? ringSum[l] / ringN[l] : 0;
    let best = 1, bestV = -1, total = 0;
    for (let k = 1; k <= 5; k++) {
      total += votes[l * 8 + k];
      if (votes[l * 8 + k] > bestV) {
        bestV = votes[l * 8 + k];
        best = k;
      }
    }
    // Neighbourhood of the component's centre cell.
    const ccx = (sumC[l] / n / cellPx) | 0, ccy = (sumR[l] / n / cellPx) | 0;
    let area = 0, cand = 0, seed = 0, notObs = 0, comps = 0;
    for (let y = Math.max(0, ccy - half); y <= Math.min(ch - 1, ccy + half); y++) {
      for (let x = Math.max(0, ccx - half); x <= Math.min(cw - 1, ccx + half); x++) {
        const k = y * cw + x;
        area += cellArea[k];
        cand += cellCand[k];
        seed += cellSeed[k];
        notObs += cellNotObs[k];
        comps += cellComps[k];
      }
    }
    const o = l * F;
    out[o] = Math.log10(Math.max(n * pxArea, 1) / Math.max(mmuM2, 1));
    out[o + 1] = seeds[l] / n;
    out[o + 2] = mean;
    out[o + 3] = max[l] === -Infinity ? 0 : max[l];
    out[o + 4] = Math.sqrt(Math.max(0, sum2[l] / n - mean * mean));
    out[o + 5] = n / (bw * bh);
    out[o + 6] = Math.min(bw, bh) / Math.max(bw, bh);
    out[o + 7] = perim[l] ? Math.min(1, (4 * Math.PI * n) / (perim[l] * perim[l])) : 0;
    out[o + 8] = ringMean;
    out[o + 9] = mean - ringMean;
    out[o + 10] = perim[l] ? ringNotObs[l] / perim[l] : 0;
    out[o + 11] = total > 0 ? bestV / total : 0;
    out[o + 12] = best === CHANGE_TYPE_CODES.construction ? 1 : 0;
    out[o + 13] = best === CHANGE_TYPE_CODES.bare_soil ? 1 : 0;
    out[o + 14] = best === CHANGE_TYPE_CODES.vegetation_loss ? 1 : 0;
    out[o + 15] = best === CHANGE_TYPE_CODES.water_fill || best === CHANGE_TYPE_CODES.new_water ? 1 : 0;
    out[o + 16] = area ? cand / area : 0;
    out[o + 17] = area ? seed / area : 0;
    out[o + 18] = area ? notObs / area : 0;
    out[o + 19] = Math.log10(1 + comps);
  }
  return out;
}
