/**
 * Stage 4 of a tile: turn the kept components into detections. Each component's change type by a
 * score-weighted vote (seasonal ones dropped), solid built cores carved out of those voted
 * vegetation loss or seasonal (carve-cores.ts), the object stage where it runs (object-stage.ts:
 * rejects, and gives the confidence), else its confidence from its seed pixels, then its outline traced (the
 * holes of a ring found at its rim filled, fill-holes.ts), simplified, put in lon/lat and measured,
 * one detection per 4-connected part.
 */
import { areaM2 } from '../../geo/area.js';
import { polygonizeLabels } from '../../geo/kernels/polygonize.js';
import { ringArea } from '../../geo/kernels/ring.js';
import { simplifyPolygon } from '../../geo/kernels/simplify.js';
import type { Grid } from '../../geo/raster.js';
import { pixelPolygonToLonLat } from '../../geo/pixel-to-geo.js';
import type { ChangeType } from '../../schemas/vocabulary.js';
import type { Detection } from '../model.js';
import type { TileComponents } from './components.js';
import { componentConfidence, learnedConfidence } from './confidence.js';
import type { ComponentParams } from './detector-params.js';
import type { ObjectModel } from './object-model.js';
import { scoreObjects } from './object-stage.js';
import { fillEnclosedHoles } from './fill-holes.js';
import { carveBuiltCores, TYPE_SLOTS } from './carve-cores.js';
import { STILL_VEGETATED, changeTypeOfCode } from './score.js';
import type { TileScores } from './score-stream.js';
import type { StageTimer } from './stage-timer.js';

export interface VectoriseOptions {
  /** The component settings in force (componentParams). */
  params: ComponentParams;
  /** Whether the scores are the learned model's probabilities (their confidence reads differently). */
  learned: boolean;
  grid: Grid;
  pixelAreaM2: number;
  tileId: string;
  afterDate: string;
  timer: StageTimer;
  /** Called once the outlines are traced (before confidence and lon/lat). */
  traced?: () => void;
  /**
   * The second stage: candidates it scores under its threshold are not issued (their `comps.keep`
   * is cleared, so they are not traced), the rest get its probability as confidence.
   */
  objectModel?: ObjectModel | null;
}

export interface Vectorised {
  detections: Detection[];
  /** Confidence of each emitted label (index = label; NaN = not emitted). */
  labelConfidence: Float64Array;
}

export async function vectoriseComponents(scores: TileScores, comps: TileComponents, opts: VectoriseOptions): Promise<Vectorised> {
  const { params, grid, pixelAreaM2: pxArea, timer } = opts;
  const { labels, threshold, minPixels } = comps;
  const { width: w, height: h } = grid;
  const { count, keep, stats, seeds, typeCounts } = await timer.time('label', () => {
    const voted = countTypes(labels, scores.type, scores.score, comps.count, comps.keep, comps.mask);
    return carveBuiltCores({
      ...comps,
      typeCounts: voted,
      width: w,
      type: scores.type,
      score: scores.score,
      // What farming explains: vegetation loss (the default rule table's `seasonal`), and a vote
      // that is mostly still-vegetated or regrowing pixels (not issued at all).
      carvable: (l) => {
        const t = dominantType(voted, l).changeType;
        return t === 'vegetation_loss' || t === null;
      },
    });
  });
  const objectModel = opts.objectModel ?? null;
  const objectP = objectModel
    ? await timer.time('objects', () => {
        // Candidates: what would be issued without the stage (kept, not seasonal).
        const candidate = new Uint8Array(count + 1);
        for (let l = 1; l <= count; l++) candidate[l] = keep[l] && dominantType(typeCounts, l).changeType !== null ? 1 : 0;
        const p = scoreObjects(objectModel, { labels, count, candidate, score: scores.score, type: scores.type, width: w, height: h, threshold, pixelSizeM: Math.sqrt(pxArea), mmuM2: params.mmuM2 });
        // Rejected components are not traced.
        for (let l = 1; l <= count; l++) if (candidate[l] && !(p[l] >= objectModel.threshold)) keep[l] = 0;
        return p;
      })
    : null;

  const polys = await timer.time('vectorise', () => {
    fillEnclosedHoles(labels, comps.mask, scores.score, w, count, keep, stats);
    return polygonizeLabels(labels, w, h, count, keep, stats);
  });
  opts.traced?.();

  const detections: Detection[] = [];
  const labelConfidence = new Float64Array(count + 1).fill(NaN);
  await timer.time('vectorise', () => {
    for (let l = 1; l <= count; l++) {
      const parts = polys[l];
      if (!keep[l] || !parts) continue;
      const { changeType, agreement } = dominantType(typeCounts, l);
      if (changeType === null) continue; // seasonal: still vegetated or regrowing
      const pixelCount = seeds.count[l];
      const meanScore = seeds.sum[l] / pixelCount;
      const evidence = { meanScore, maxScore: stats.max![l], pixelCount, pixelAreaM2: pxArea, threshold, typeAgreement: agreement };
      const { confidence: evidenceConfidence, reasons } = opts.learned ? learnedConfidence(evidence, params) : componentConfidence(evidence, params);
      let confidence = evidenceConfidence;
      if (objectP) {
        confidence = Math.round(objectP[l] * 1000) / 1000;
        reasons.unshift(`object model ${confidence.toFixed(2)} (shape, contrast, neighbourhood)`);
      }
      if (confidence < params.minConfidence) continue;
      labelConfidence[l] = confidence;
      for (const part of parts) {
        const simplified = simplifyPolygon(part, 0.5, 1);
        const geometry = pixelPolygonToLonLat(simplified, grid);
        const partPixels = Math.abs(ringArea(part[0])) - part.slice(1).reduce((a, hole) => a + Math.abs(ringArea(hole)), 0);
        if (partPixels < minPixels) continue;
        detections.push({
          tileId: opts.tileId,
          index: detections.length,
          geometry,
          areaM2: areaM2(geometry),
          changeType,
          confidence,
          reasons,
          beforeDate: '',
          afterDate: opts.afterDate,
          pixelCount: Math.round(partPixels),
        });
      }
    }
  });
  return { detections, labelConfidence };
}

/**
 * Per-label votes for each change type code, each pixel weighted by its squared score, in one pass: the
 * component's core (pure pixels, highest scores) decides, not its rim, whose pixels mix old and
 * new cover (a new yard on wheat has a rim that still looks half-vegetated).
 */
function countTypes(labels: Int32Array, type: Uint8Array, score: Float32Array, count: number, keep: Uint8Array, mask: Uint8Array): Float64Array {
  const counts = new Float64Array((count + 1) * TYPE_SLOTS);
  // Labelled pixels lie where the mask is set: its zero runs are skipped 4 pixels a step (at
  // 10980² a 120 MB scan instead of 1.1 GB of labels, scores and types), in the same pixel order.
  const n = labels.length;
  const m32 = mask.byteOffset % 4 === 0 && mask.length >= n ? new Uint32Array(mask.buffer, mask.byteOffset, n >>> 2) : null;
  for (let i = 0; i < n; i++) {
    if (m32 !== null && (i & 3) === 0 && i + 4 <= n && m32[i >>> 2] === 0) {
      i += 3;
      continue;
    }
    const l = labels[i];
    const s = score[i];
    if (l && keep[l] && s === s) counts[l * TYPE_SLOTS + (type[i] & (TYPE_SLOTS - 1))] += s * s;
  }
  return counts;
}

/**
 * The component's change type by score-weighted vote, and the share of the vote it carries; null
 * when most of the vote is seasonal (STILL_VEGETATED or regrowth, code 0): no land was taken.
 */
function dominantType(counts: Float64Array, label: number): { changeType: ChangeType | null; agreement: number } {
  let best = -1;
  let bestN = -1;
  let total = 0;
  const seasonal = counts[label * TYPE_SLOTS + STILL_VEGETATED] + counts[label * TYPE_SLOTS];
  for (let k = 0; k < TYPE_SLOTS; k++) {
    const c = counts[label * TYPE_SLOTS + k];
    if (changeTypeOfCode(k) === null) continue;
    total += c;
    if (c > bestN) {
      bestN = c;
      best = k;
    }
  }
  if (seasonal > total) return { changeType: null, agreement: 0 };
  return { changeType: changeTypeOfCode(best) ?? 'construction', agreement: total > 0 ? bestN / total : 0 };
}
