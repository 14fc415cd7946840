/**
 * Which learned features make the 4-band (or any) model call change where nothing changed on a
 * generated scene? Streams each current tile of a gen-scene scene through fitEpochs → streamScores
 * with the model's features observed, and for pixels the product calls change (probability after
 * the gate ≥ the model's threshold; pixels within 8 px of cloud left out) groups them by the scene's
 * land class (unchanged) or "planted", printing each feature's mean value and its occlusion
 * attribution: the drop in logit when the feature is set to its median over the tile's unchanged
 * pixels. --all adds every feature's mean over the class and over its called pixels; --where CLASS
 * lists some called pixels of that class. A diagnostic, not a test.
 *
 *   node dist/scripts/diagnose-features.js SCENE_DIR [--model FILE] [--params '{"learned":{"gateOn":"range"}}'] [--all] [--where greenhouse]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { openMosaic, openTile } from '../geo/tile-reader.js';
import { tilePair } from '../pipeline/detect/epoch-pair.js';
import { fitEpochs } from '../pipeline/detect/epoch-fit.js';
import { streamScores } from '../pipeline/detect/score-stream.js';
import { StageTimer } from '../pipeline/detect/stage-timer.js';
import { checkModel, shippedChangeModel4Band, type ChangeModel } from '../pipeline/detect/change-model.js';
import { FEATURE_NAMES } from '../pipeline/detect/change-features.js';
import { atPixelSize, parseDetectorParams, type DetectorParams } from '../pipeline/detect/detector-params.js';
import { pixelSizeM } from '../pipeline/detect/detect-tile.js';
import { classAt, cloudyAt, plan } from '../fixtures/scene-model.js';
import type { SceneTruth } from '../fixtures/synthetic-scene.js';

const CLS = ['wheat', 'corn', 'vegetables', 'orchard', 'fallow', 'grass', 'greenhouse', 'forest', 'river', 'lake', 'road',
  'roof_grey', 'roof_red', 'roof_blue', 'concrete', 'tree', 'soil', 'quarry', 'fill', 'pond', 'cleared'];

function logit(m: ChangeModel, x: Float64Array): number {
  let z = m.bias;
  const tf = m.treeFeature!, tt = m.treeThreshold!, tl = m.treeLeaf!;
  for (let t = 0; t < tl.length / 8; t++) {
    let k = 0;
    for (let d = 0; d < 3; d++) k = 2 * k + (x[tf[t * 7 + k]] <= tt[t * 7 + k] ? 1 : 2);
    z += tl[t * 8 + k - 7];
  }
  return z;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const args = process.argv.slice(3);
  const model = args.includes('--model') ? checkModel(JSON.parse(readFileSync(args[args.indexOf('--model') + 1], 'utf8'))) : shippedChangeModel4Band();
  const F = model.features.length;
  const base = parseDetectorParams(args.includes('--params') ? JSON.parse(args[args.indexOf('--params') + 1]) : {}, '--params');
  const cols = model.features.map((f) => (FEATURE_NAMES as readonly string[]).indexOf(f));
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as SceneTruth;
  const p = plan(truth.size, truth.seed, truth.notObservable.length > 0);
  const st = truth.grid.transform;
  const cur = await catalogueTiles([join(dir, 'current')]);
  const pri = await catalogueTiles([join(dir, 'prior')]);
  const groups = new Map<string, { n: number; all: number; sum: Float64Array; attr: Float64Array; sumAll: Float64Array }>();
  const bands = ['blue', 'green', 'red', 'nir'] as const;
  for (const tile of cur.tiles) {
    const reader = await openTile(tile);
    const mosaic = await openMosaic(pri.tiles);
    const t = tile.grid.transform;
    const params: DetectorParams = { ...atPixelSize(base, pixelSizeM(tile.grid)), model: 'learned' };
    const fitted = await fitEpochs(tilePair(reader, mosaic), [...bands], params.score);
    // First pass: collect rows per pixel (tiles are small).
    const rows: { x: Float64Array; key: string; sx: number; sy: number; i: number }[] = [];
    const w = tile.grid.width;
    const scored = await streamScores(fitted.pair, {
      bands: [...bands], params, fit: fitted.fit, model, workers: 0, timer: new StageTimer(),
      observe: (planes, row, count) => {
        for (let k = 0; k < w * count; k++) {
          const col = k % w, r = row + (k - col) / w;
          const x = new Float64Array(F);
          let ok = true;
          for (let f = 0; f < F; f++) { x[f] = planes[cols[f]][k]; if (!Number.isFinite(x[f])) ok = false; }
          if (!ok) continue;
          const X = t[0] + (col + 0.5) * t[1], Y = t[3] + (r + 0.5) * t[5];
          const sx = (X - st[0]) / st[1], sy = (Y - st[3]) / st[5];
          const c0 = classAt(p, sx, sy, 0), c1 = classAt(p, sx, sy, 1);
          // Near cloud (the product hides it with a 60 m halo): left out.
          let cloudy = false;
          for (const [ox, oy] of [[0, 0], [8, 0], [-8, 0], [0, 8], [0, -8], [6, 6], [-6, 6], [6, -6], [-6, -6]]) if (cloudyAt(p, sx + ox, sy + oy)) cloudy = true;
          if (cloudy) continue;
          rows.push({ x, key: c0 !== c1 ? 'PLANTED' : CLS[c0], sx, sy, i: r * w + col });
        }
      },
    });
    const med = new Float64Array(F);
    for (let f = 0; f < F; f++) {
      const v = rows.filter((r) => r.key !== 'PLANTED').map((r) => r.x[f]).sort((a, b) => a - b);
      med[f] = v[v.length >> 1];
    }
    const where = args.includes('--where') ? args[args.indexOf('--where') + 1] : '';
    let shown = 0;
    for (const { x, key, sx, sy, i } of rows) {
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { n: 0, all: 0, sum: new Float64Array(F), attr: new Float64Array(F), sumAll: new Float64Array(F) }));
      g.all++;
      for (let f = 0; f < F; f++) g.sumAll[f] += x[f];
      const z = logit(model, x);
      // Called: the product's probability (gate applied) at or above the threshold.
      if (!(scored.score[i] >= model.threshold)) continue;
      g.n++;
      if (key === where && shown++ % 25 === 0) console.log(`  ${key} at scene ${sx.toFixed(1)},${sy.toFixed(1)}: ${model.features.slice(0, 4).map((n, f) => `${n} ${x[f].toFixed(1)}`).join(' ')}`);
      for (let f = 0; f < F; f++) {
        g.sum[f] += x[f];
        const keep = x[f];
        x[f] = med[f];
        g.attr[f] += z - logit(model, x);
        x[f] = keep;
      }
    }
    await reader.close();
    await mosaic.close();
  }
  for (const [key, g] of [...groups].sort((a, b) => b[1].n - a[1].n)) {
    if (g.n < 20) continue;
    const top = [...Array(F).keys()].sort((a, b) => g.attr[b] - g.attr[a]).slice(0, 8);
    console.log(`${key.padEnd(11)} called ${g.n} of ${g.all} px (${((100 * g.n) / g.all).toFixed(1)} %)`);
    if (args.includes('--all')) console.log(`   all: ${model.features.map((n, f) => `${n} ${(g.sumAll[f] / g.all).toFixed(2)}`).join(' ')}`);
    if (args.includes('--all')) console.log(`   called: ${model.features.map((n, f) => `${n} ${(g.sum[f] / g.n).toFixed(2)}`).join(' ')}`);
    console.log(`   ${top.map((f) => `${model.features[f]} ${(g.sum[f] / g.n).toFixed(2)} [+${(g.attr[f] / g.n).toFixed(2)}]`).join('  ')}`);
  }
}

await main();
