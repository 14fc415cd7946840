/**
 * Accuracy benchmark: runs the PRODUCT detector (catalogueTiles → openTile/openMosaic →
 * detectPair, the driver detectTile runs for `tuban batch` per tile; evaluation/detect-scene.ts) on the 9 labelled OSCD cities and Landsat
 * Taizhou — the first date is the scored grid (labels lie on it), the second is warped onto it — prints per-scene and pooled pixel P/R/F1, object recall, polygon precision,
 * precision of polygons with confidence ≥ 0.8 vs below, and seconds per scene; writes
 * bench-results/accuracy.json.
 *
 * With the learned model (params.model 'auto' or 'learned': every bench scene has swir) the OSCD
 * scores that count are LEAVE-ONE-CITY-OUT: each city is scored with the fold model of
 * bench-results/change-model-loco.json that was trained on the other 8 (npm run train writes
 * both). Taizhou was never trained on and uses the shipped model. A second pass scores the OSCD
 * cities with the shipped (all-9) model, reported as in-sample only, to show the overfitting gap.
 * With --params '{"model":"unsupervised"}' nothing is fitted on these scenes.
 *
 * The object stage (pipeline/detect/object-model.ts) is leave-one-city-out too: each OSCD city's
 * candidates are sorted by the fold object model of bench-results/object-model-loco.json trained
 * on the other 8 cities' candidates (npm run train); Taizhou and the in-sample pass use the shipped
 * one. `--params '{"learned":{"objectStage":false}}'` runs without it (the detector before it).
 * The reliability table pools polygons by confidence decile against the share touching labelled
 * change, so a bureau can read what a confidence means; the trade-off table says what issuing only
 * the polygons at or above a confidence cut would give (polygons, share touching labelled change,
 * object recall, pixel F1; the same cities, the same fold models); the object stage's cost is
 * printed beside the scoring's.
 *
 *   npm run bench:accuracy [-- --data ../shared/data --out bench-results/accuracy.json]
 *                          [--params '{"model":"unsupervised"}'] [--bands blue,green,red,nir] [--only paris,bercy]
 *   4-band model:          --bands blue,green,red,nir --params '{"model":"learned"}'
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { OSCD_CITIES, oscdCityFiles, taizhouFiles } from '../evaluation/bench-data.js';
import { addReliability, addTradeOff, detectScene, emptyReliability, evaluateScene, type CutPoint, type Reliability, type SceneResult } from '../evaluation/detect-scene.js';
import { addCounts, pixelMetrics, type PixelCounts } from '../evaluation/metrics.js';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import { detectorStamp, modelFor } from '../pipeline/detect/detect-tile.js';
import { flatParams, parseDetectorParams, usesLearnedModel, type DetectorParams } from '../pipeline/detect/detector-params.js';
import { objectModelFits, type ObjectModel } from '../pipeline/detect/object-model.js';

/** Detector seconds of one scene by stage, for the object stage's cost beside the scoring's. */
interface StageCost {
  scene: string;
  megapixels: number;
  score: number;
  objects: number;
  detector: number;
}

function pool(name: string, rs: SceneResult[]): SceneResult {
  let counts: PixelCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const r of rs) counts = addCounts(counts, r.counts);
  const pm = pixelMetrics(counts);
  const sum = (f: (r: SceneResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const refObjects = sum((r) => r.refObjects);
  const polygons = sum((r) => r.polygons);
  const hiP = sum((r) => r.highConf.polygons), hiH = sum((r) => r.highConf.hit);
  const loP = sum((r) => r.lowConf.polygons), loH = sum((r) => r.lowConf.hit);
  return {
    scene: name,
    precision: pm.precision,
    recall: pm.recall,
    f1: pm.f1,
    accuracy: pm.accuracy,
    counts,
    objectRecall: refObjects ? sum((r) => r.objectRecall * r.refObjects) / refObjects : 0,
    refObjects,
    polygonPrecision: polygons ? sum((r) => r.polygonPrecision * r.polygons) / polygons : 0,
    polygons,
    highConf: { polygons: hiP, hit: hiH, precision: hiP ? hiH / hiP : null },
    lowConf: { polygons: loP, hit: loH, precision: loP ? loH / loP : null },
    reliability: rs.reduce((a: Reliability, r) => addReliability(a, r.reliability), emptyReliability()),
    tradeOff: rs.reduce((a: CutPoint[], r) => addTradeOff(a, r.tradeOff), []),
    threshold: NaN,
    seconds: sum((r) => r.seconds),
  };
}

function fmt(r: SceneResult): string {
  const p = (v: number | null) => (v === null ? '   – ' : v.toFixed(2).padStart(5));
  return [
    r.scene.padEnd(12),
    p(r.precision), p(r.recall), p(r.f1), p(r.accuracy),
    p(r.objectRecall), String(r.refObjects).padStart(4),
    p(r.polygonPrecision), String(r.polygons).padStart(5),
    `${p(r.highConf.precision)} (${r.highConf.polygons})`.padStart(11),
    `${p(r.lowConf.precision)} (${r.lowConf.polygons})`.padStart(11),
    Number.isFinite(r.threshold) ? r.threshold.toFixed(2).padStart(6) : '     –',
    r.seconds.toFixed(1).padStart(6),
  ].join(' ');
}

/** Rows of the reliability table: per confidence decile, polygons, mean confidence and observed precision (share touching labelled change). */
export function reliabilityRows(r: Reliability): { bin: string; polygons: number; meanConfidence: number | null; precision: number | null }[] {
  return r.polygons.map((n, k) => ({
    bin: `${(k / 10).toFixed(1)}–${((k + 1) / 10).toFixed(1)}`,
    polygons: n,
    meanConfidence: n ? r.confidenceSum[k] / n : null,
    precision: n ? r.hit[k] / n : null,
  }));
}

/** Rows of the trade-off curve: issuing only polygons at or above each confidence cut. */
export function tradeOffRows(curve: CutPoint[], refObjects: number): { confidenceAtLeast: number; polygons: number; shareTouchingChange: number | null; objectRecall: number; pixelF1: number }[] {
  return curve.map((p) => ({
    confidenceAtLeast: p.cut,
    polygons: p.polygons,
    shareTouchingChange: p.polygons ? p.hit / p.polygons : null,
    objectRecall: refObjects ? p.refObjectsHit / refObjects : 0,
    pixelF1: pixelMetrics(p.counts).f1,
  }));
}

function withoutCurve(r: SceneResult): Omit<SceneResult, 'tradeOff'> {
  const { tradeOff: _curve, ...rest } = r;
  return rest;
}

function printTradeOff(r: SceneResult): void {
  console.log('trade-off (pooled OSCD): issuing only polygons at confidence ≥ cut');
  console.log('  cut   polygons  share touching change  object recall  pixel F1');
  for (const row of tradeOffRows(r.tradeOff, r.refObjects)) {
    const f = (v: number | null) => (v === null ? '     –' : v.toFixed(3).padStart(6));
    console.log(`  ${row.confidenceAtLeast.toFixed(2)}  ${String(row.polygons).padStart(8)}  ${f(row.shareTouchingChange).padStart(21)}  ${f(row.objectRecall).padStart(13)}  ${f(row.pixelF1).padStart(8)}`);
  }
}

function printReliability(r: Reliability): void {
  console.log('reliability (pooled OSCD polygons on labelled pixels): confidence decile → observed precision');
  console.log('  confidence  polygons  mean conf  precision');
  for (const row of reliabilityRows(r)) {
    const f = (v: number | null) => (v === null ? '     –' : v.toFixed(2).padStart(6));
    console.log(`  ${row.bin.padEnd(10)} ${String(row.polygons).padStart(9)}  ${f(row.meanConfidence).padStart(9)}  ${f(row.precision).padStart(9)}`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
  const data = arg('--data', '../shared/data');
  const outPath = arg('--out', 'bench-results/accuracy.json');
  const only = arg('--only', '');
  const params: DetectorParams = parseDetectorParams(JSON.parse(arg('--params', '{}')), '--params');
  const names = [...OSCD_CITIES, 'taizhou'].filter((c) => !only || only.split(',').includes(c));
  // --bands blue,green,red,nir: read only these (4-band imagery, as from GF-1/GF-2: 'auto' scores it
  // with the 4-band model and its leave-one-out folds, --params '{"model":"unsupervised"}' without).
  const onlyBands = args.includes('--bands') ? arg('--bands', '').split(',') : null;
  const sceneBands = onlyBands ?? ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];
  const learned = usesLearnedModel(params, sceneBands);
  const fourBand = !(sceneBands.includes('swir1') && sceneBands.includes('swir2'));
  // Leave-one-city-out: each OSCD city is scored with the fold model that never saw it (written by
  // npm run train); Taizhou, never trained on, uses the shipped model.
  const locoPath = arg('--loco', fourBand ? 'bench-results/change-model-4band-loco.json' : 'bench-results/change-model-loco.json');
  const folds: Record<string, ChangeModel> = learned ? (JSON.parse(readFileSync(locoPath, 'utf8')) as { folds: Record<string, ChangeModel> }).folds : {};
  // The object stage's folds: each city's candidates sorted by a model trained on the other cities' candidates only.
  const objectLocoPath = arg('--object-loco', 'bench-results/object-model-loco.json');
  // The 4-band model has no object stage (BENCHMARKS.md, "Confidence on 4-band tiles"): only the 6-band folds exist.
  const objects = learned && params.learned.objectStage && !fourBand;
  const objectFolds: Record<string, ObjectModel> = objects ? (JSON.parse(readFileSync(objectLocoPath, 'utf8')) as { folds: Record<string, ObjectModel> }).folds : {};
  const costs: StageCost[] = [];
  const header = 'scene            P     R    F1   acc  objR  nObj polyP  nPoly  P(c≥0.8)   P(c<0.8)    thr   sec';
  const runAll = async (mode: 'loco' | 'in-sample') => {
    const oscd: SceneResult[] = [];
    const others: SceneResult[] = [];
    for (const name of names) {
      if (mode === 'in-sample' && name === 'taizhou') continue;
      const all = name === 'taizhou' ? await taizhouFiles(`${data}/landsat_taizhou`) : await oscdCityFiles(`${data}/oscd`, name);
      const files = onlyBands ? { ...all, bands: all.bands.filter((b) => onlyBands.includes(b)) } : all;
      const changeModel = learned && mode === 'loco' && name !== 'taizhou' ? folds[name] : undefined;
      if (learned && mode === 'loco' && name !== 'taizhou' && !changeModel) throw new Error(`no leave-one-out model for ${name} in ${locoPath}: run npm run train`);
      const objectFold = objects && mode === 'loco' && name !== 'taizhou' ? objectFolds[name] : undefined;
      if (objects && mode === 'loco' && name !== 'taizhou' && (!objectFold || objectFold.trainedOn.includes(name))) throw new Error(`no leave-one-out object model for ${name} in ${objectLocoPath}: run npm run train`);
      // A fold trained on another pixel model's candidates (e.g. a 4-band model's) does not apply: no object stage, as in the product.
      const objectModel = objectFold && changeModel ? (objectModelFits(objectFold, changeModel) ? objectFold : null) : undefined;
      const t0 = performance.now();
      const { det, ref, detection } = await detectScene(files, params, { ...(changeModel ? { model: changeModel } : {}), ...(objectModel !== undefined ? { objectModel } : {}) });
      const r = evaluateScene(ref, det, (performance.now() - t0) / 1000, params);
      const t = detection.timings;
      if (mode === 'loco') costs.push({ scene: name, megapixels: detection.pixels / 1e6, score: t.score ?? 0, objects: t.objects ?? 0, detector: Object.values(t).reduce((a, v) => a + v, 0) });
      (name === 'taizhou' ? others : oscd).push(r);
      console.log(fmt(r));
    }
    const pooled = oscd.length ? pool('OSCD pooled', oscd) : null;
    if (pooled) console.log(fmt(pooled));
    return { oscd, pooled, others };
  };
  console.log(learned ? `LEAVE-ONE-CITY-OUT (fold models from ${locoPath}${objects ? ` and ${objectLocoPath}` : ', no object stage'}; Taizhou: shipped models)` : 'unsupervised (nothing fitted on these scenes)');
  // The model's own settings are in force where --params left them at their defaults (withModelSettings).
  const modelScoring = learned ? (modelFor(params, sceneBands)!.scoring ?? null) : null;
  if (modelScoring) console.log(`model scoring settings (where --params leaves them at their defaults): ${JSON.stringify(modelScoring)}`);
  console.log(header);
  const main = await runAll('loco');
  if (main.pooled) {
    printReliability(main.pooled.reliability);
    printTradeOff(main.pooled);
  }
  const cost = costs.reduce((a, c) => ({ megapixels: a.megapixels + c.megapixels, score: a.score + c.score, objects: a.objects + c.objects, detector: a.detector + c.detector }), { megapixels: 0, score: 0, objects: 0, detector: 0 });
  console.log(
    `detector cost over ${costs.length} scenes (${cost.megapixels.toFixed(1)} Mpx): scoring ${cost.score.toFixed(2)} s (${(cost.score / cost.megapixels).toFixed(2)} s/Mpx), object stage ${cost.objects.toFixed(3)} s (${(cost.objects / cost.megapixels).toFixed(3)} s/Mpx, ${((100 * cost.objects) / Math.max(cost.score, 1e-9)).toFixed(1)} % of scoring), whole detector ${cost.detector.toFixed(2)} s`,
  );
  let inSample: { oscd: SceneResult[]; pooled: SceneResult | null } | null = null;
  if (learned && !args.includes('--no-in-sample')) {
    console.log('IN-SAMPLE (shipped model, fitted on all 9 cities: for the overfitting gap only)');
    console.log(header);
    const r = await runAll('in-sample');
    inSample = { oscd: r.oscd, pooled: r.pooled };
  }
  mkdirSync(dirname(outPath), { recursive: true });
  const stamp = detectorStamp(params, learned ? [modelFor(params, sceneBands)!] : []);
  writeFileSync(
    outPath,
    JSON.stringify(
      {
        detector: stamp,
        params: flatParams(params),
        modelScoring,
        scoring: learned ? 'oscd: leave-one-city-out (fold model never saw the city); taizhou: shipped model, never trained on' : 'unsupervised: nothing fitted on these scenes',
        summary: main.pooled && {
          oscdPooledF1: main.pooled.f1,
          oscdWorstCity: (({ scene, f1 }) => ({ scene, f1 }))(main.oscd.reduce((a, r) => (r.f1 < a.f1 ? r : a))),
          oscdObjectRecall: main.pooled.objectRecall,
          inSamplePooledF1: inSample?.pooled?.f1 ?? null,
          polygons: main.pooled.polygons,
          polygonShareTouchingChange: main.pooled.polygonPrecision,
          precisionConfAtLeast08: main.pooled.highConf.precision,
          precisionConfBelow08: main.pooled.lowConf.precision,
          taizhouAccuracy: main.others.find((r) => r.scene === 'taizhou')?.accuracy ?? null,
        },
        objectStage: objects ? 'oscd: leave-one-city-out fold object models; taizhou: shipped' : 'off',
        reliability: main.pooled && reliabilityRows(main.pooled.reliability),
        tradeOff: main.pooled && tradeOffRows(main.pooled.tradeOff, main.pooled.refObjects),
        cost: { ...cost, scenes: costs },
        // Per-scene curves stay out of the file (the pooled one is `tradeOff` above).
        oscd: main.oscd.map(withoutCurve),
        pooled: main.pooled && withoutCurve(main.pooled),
        others: main.others.map(withoutCurve),
        inSample: inSample && { oscd: inSample.oscd.map(withoutCurve), pooled: inSample.pooled && withoutCurve(inSample.pooled) },
        fittedOnBench: learned,
      },
      null,
      2,
    ),
  );
  console.log(`wrote ${outPath}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
