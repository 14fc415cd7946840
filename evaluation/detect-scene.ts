/**
 * The accuracy harness's view of the detector: a labelled scene run through the product's stages
 * (detectPair, what detectTile runs per tile) on the first date's grid, and the metrics of one
 * scene. Used by bench:accuracy, bench:stability, the trainer and the regression tests.
 */
import { catalogueTiles } from '../pipeline/catalogue.js';
import { openMosaic, openTile } from '../geo/tile-reader.js';
import { pixelSize, type BandName, type Grid } from '../geo/raster.js';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import { detectPair, modelFor, type TileDetection, type TileRasters } from '../pipeline/detect/detect-tile.js';
import type { DetectorParams } from '../pipeline/detect/detector-params.js';
import type { ObjectModel } from '../pipeline/detect/object-model.js';
import { tilePair, type EpochPair } from '../pipeline/detect/epoch-pair.js';
import type { BenchSceneFiles } from './bench-data.js';
import { addCounts, objectMetrics, pixelCounts, pixelMetrics, type PixelCounts } from './metrics.js';

/** What the evaluation needs of a detection: the emitted components on the reference grid. */
export interface BenchDetection {
  labels: Int32Array;
  mask: Uint8Array;
  /** The detector's per-pixel score (change probability with the learned model), NaN where not observed. */
  score: Float32Array;
  /** Change type code per pixel (NOT_OBSERVED where hidden). */
  type: Uint8Array;
  components: { label: number; confidence: number }[];
  threshold: number;
}

/** What the evaluation needs of a scene. */
export interface BenchReference {
  name: string;
  reference: Uint8Array;
  width: number;
  height: number;
  /** Ground size of a pixel, m. */
  pixelSizeM: number;
}

/** A scene's two dates opened on the first date's grid (where its labels lie), for the detector's stages. */
export interface OpenScene {
  /** First date on its own grid (fixed), second date warped onto it (moving): the roles stay before → after. */
  pair: EpochPair;
  /** Bands both dates have, of those the scene asked for. */
  bands: BandName[];
  grid: Grid;
}

/**
 * Catalogues both dates and opens the first as the tile and the second as the aligned mosaic,
 * through the product's readers; runs `fn` on the pair and closes the readers.
 */
export async function withScene<T>(files: BenchSceneFiles, fn: (scene: OpenScene) => Promise<T>): Promise<T> {
  const order = files.fileBands ?? files.bands;
  const [c1, c2] = await Promise.all([catalogueTiles(files.first, { bands: order }), catalogueTiles(files.second, { bands: order })]);
  if (c1.tiles.length !== 1 || c2.tiles.length === 0) {
    throw new Error(`${files.name}: expected one first-date tile and a second date, got ${c1.tiles.length}/${c2.tiles.length} (${[...c1.rejected, ...c2.rejected].map((r) => r.error.message).join('; ')})`);
  }
  const tile = c1.tiles[0];
  if (tile.grid.width !== files.width || tile.grid.height !== files.height) {
    throw new Error(`${files.name}: reference is ${files.width}×${files.height}, first-date grid ${tile.grid.width}×${tile.grid.height}`);
  }
  const bands = files.bands.filter((b) => tile.bands[b] && c2.tiles.every((t) => t.bands[b]));
  const reader = await openTile(tile);
  const mosaic = await openMosaic(c2.tiles);
  try {
    // The epochs reversed (the first date fixed): the product's not-imagery check would name them the
    // wrong way round, and the harness's reference scenes are imagery, so it is left out here.
    const pair: EpochPair = { ...tilePair(reader, mosaic), fixedEpoch: 'before', afterDate: c2.tiles[0].date, notImagery: undefined };
    return await fn({ pair, bands, grid: tile.grid });
  } finally {
    await Promise.allSettled([reader.close(), mosaic.close()]);
  }
}

export interface SceneDetectOptions {
  /** The learned model to score with (a leave-one-city-out fold); default: the product's choice for the params and bands. */
  model?: ChangeModel | null;
  /** The object model of the second stage (a leave-one-city-out fold; null: none); default: the product's choice. */
  objectModel?: ObjectModel | null;
  scoreWorkers?: number;
  stripRows?: number;
}

/**
 * Runs the product's detector (detectPair, the driver detectTile runs per tile) on one scene, on
 * the first date's grid. Returns the detection as the evaluation reads it and the reference.
 */
export async function detectScene(files: BenchSceneFiles, params: DetectorParams, opts: SceneDetectOptions = {}): Promise<{ det: BenchDetection; ref: BenchReference; detection: TileDetection }> {
  return withScene(files, async ({ pair, bands, grid: g }) => {
    const model = opts.model !== undefined ? opts.model : modelFor(params, bands);
    const { detection, rasters } = await detectPair(pair, { params, bands, model, objectModel: opts.objectModel, scoreWorkers: opts.scoreWorkers, stripRows: opts.stripRows });
    const { labels, labelConfidence, score, type } = emittedRasters(rasters);
    const mask = new Uint8Array(labels.length);
    for (let i = 0; i < labels.length; i++) mask[i] = labels[i] ? 1 : 0;
    const components: BenchDetection['components'] = [];
    for (let l = 1; l < labelConfidence.length; l++) if (labelConfidence[l] >= 0) components.push({ label: l, confidence: labelConfidence[l] });
    let pixelSizeM = pixelSize(g);
    if (g.crs === 'EPSG:4326') {
      // Degrees → metres at the scene's latitude.
      const lat = g.transform[3] + (g.height / 2) * g.transform[5];
      pixelSizeM = ((Math.abs(g.transform[1]) * Math.cos((lat * Math.PI) / 180) + Math.abs(g.transform[5])) / 2) * 111_320;
    }
    return {
      det: { labels, mask, score, type, components, threshold: detection.threshold },
      ref: { name: files.name, reference: files.reference, width: files.width, height: files.height, pixelSizeM },
      detection,
    };
  });
}

/** The rasters with the labels of components that were not emitted zeroed (in place). */
export function emittedRasters(r: TileRasters): TileRasters {
  const { labels, labelConfidence } = r;
  for (let i = 0; i < labels.length; i++) if (labels[i] && !(labelConfidence[labels[i]] >= 0)) labels[i] = 0;
  return r;
}

export interface SceneResult {
  scene: string;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  counts: PixelCounts;
  objectRecall: number;
  refObjects: number;
  polygonPrecision: number;
  polygons: number;
  highConf: { polygons: number; hit: number; precision: number | null };
  lowConf: { polygons: number; hit: number; precision: number | null };
  /** Polygons on labelled pixels by confidence decile (bin k: [k/10, (k+1)/10), 1.0 in bin 9), those touching labelled change, and their summed confidence. */
  reliability: Reliability;
  /** What issuing only the polygons at or above each of CONFIDENCE_CUTS would give (the share-vs-recall trade-off). */
  tradeOff: CutPoint[];
  threshold: number;
  seconds: number;
}

/** Confidence cuts of the trade-off curve (0: every polygon, as issued). */
export const CONFIDENCE_CUTS = [0, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8] as const;

/** One point of the trade-off curve: the polygons at or above `cut` only. */
export interface CutPoint {
  cut: number;
  /** Polygons on labelled pixels, and those touching labelled change. */
  polygons: number;
  hit: number;
  /** Reference objects (≥ MMU) they touch. */
  refObjectsHit: number;
  counts: PixelCounts;
}

/**
 * The trade-off curve of one scene: for each cut, the metrics with the components under it
 * removed (pixels and objects), as if the detector had not issued them.
 */
export function tradeOffCurve(scene: BenchReference, det: BenchDetection, minRefPixels: number, cuts: readonly number[] = CONFIDENCE_CUTS): CutPoint[] {
  const maxLabel = det.components.reduce((m, c) => Math.max(m, c.label), 0);
  const conf = new Float64Array(maxLabel + 1).fill(-1);
  for (const c of det.components) conf[c.label] = c.confidence;
  const labels = new Int32Array(det.labels.length), mask = new Uint8Array(det.labels.length);
  return cuts.map((cut) => {
    for (let i = 0; i < labels.length; i++) {
      const l = det.labels[i];
      const on = l !== 0 && conf[l] >= cut;
      labels[i] = on ? l : 0;
      mask[i] = on ? 1 : 0;
    }
    const om = objectMetrics(labels, maxLabel, scene.reference, scene.width, scene.height, minRefPixels);
    return { cut, polygons: om.predObjects, hit: om.predObjectsHit, refObjectsHit: om.refObjectsHit, counts: pixelCounts(mask, scene.reference) };
  });
}

/** Trade-off curves added up point by point (pooling scenes; same cuts). */
export function addTradeOff(a: CutPoint[], b: CutPoint[]): CutPoint[] {
  if (!a.length) return b.map((p) => ({ ...p }));
  return a.map((p, k) => {
    if (b[k].cut !== p.cut) throw new Error(`addTradeOff: cut ${b[k].cut} against ${p.cut}`);
    return { cut: p.cut, polygons: p.polygons + b[k].polygons, hit: p.hit + b[k].hit, refObjectsHit: p.refObjectsHit + b[k].refObjectsHit, counts: addCounts(p.counts, b[k].counts) };
  });
}

export interface Reliability {
  polygons: number[];
  hit: number[];
  confidenceSum: number[];
}

export const emptyReliability = (): Reliability => ({ polygons: Array(10).fill(0), hit: Array(10).fill(0), confidenceSum: Array(10).fill(0) });

/** Reliability bins added up (pooling scenes). */
export function addReliability(a: Reliability, b: Reliability): Reliability {
  return { polygons: a.polygons.map((v, k) => v + b.polygons[k]), hit: a.hit.map((v, k) => v + b.hit[k]), confidenceSum: a.confidenceSum.map((v, k) => v + b.confidenceSum[k]) };
}

const HIGH_CONF = 0.8;

/** Scores one scene; separate from reading so the metrics stay independent of the detector. */
export function evaluateScene(scene: BenchReference, det: BenchDetection, seconds: number, params: DetectorParams): SceneResult {
  const counts = pixelCounts(det.mask, scene.reference);
  const pm = pixelMetrics(counts);
  const minRefPixels = Math.max(1, Math.ceil(params.components.mmuM2 / (scene.pixelSizeM * scene.pixelSizeM)));
  const maxLabel = det.components.reduce((m, c) => Math.max(m, c.label), 0);
  const om = objectMetrics(det.labels, maxLabel, scene.reference, scene.width, scene.height, minRefPixels);
  const hi = { polygons: 0, hit: 0, precision: null as number | null };
  const lo = { polygons: 0, hit: 0, precision: null as number | null };
  // Only components on labelled pixels count (objectMetrics' rule), via predHit/labelled.
  const labelled = new Uint8Array(maxLabel + 1);
  for (let i = 0; i < det.labels.length; i++) if (det.labels[i] && scene.reference[i] !== 0) labelled[det.labels[i]] = 1;
  const reliability = emptyReliability();
  for (const c of det.components) {
    if (!labelled[c.label]) continue;
    const g = c.confidence >= HIGH_CONF ? hi : lo;
    g.polygons++;
    g.hit += om.predHit[c.label];
    const k = Math.min(9, Math.max(0, Math.floor(c.confidence * 10)));
    reliability.polygons[k]++;
    reliability.hit[k] += om.predHit[c.label];
    reliability.confidenceSum[k] += c.confidence;
  }
  for (const g of [hi, lo]) g.precision = g.polygons ? g.hit / g.polygons : null;
  return {
    scene: scene.name,
    precision: pm.precision,
    recall: pm.recall,
    f1: pm.f1,
    accuracy: pm.accuracy,
    counts,
    objectRecall: om.objectRecall,
    refObjects: om.refObjects,
    polygonPrecision: om.polygonPrecision,
    polygons: om.predObjects,
    highConf: hi,
    lowConf: lo,
    reliability,
    tradeOff: tradeOffCurve(scene, det, minRefPixels),
    threshold: det.threshold,
    seconds,
  };
}
