/**
 * Where does the detector call change on a generated scene, and on what land cover? Runs the
 * product path (catalogueTiles → openTile/openMosaic → detectPair, detectTile's driver, for the rasters) on each current tile of a scene
 * written by gen-scene, and sorts every emitted component into "planted" (touches a planted
 * change) or "false", tabulating false ones by the scene's land class before/after, change type,
 * confidence and cloud proximity. A diagnostic, not a test.
 *
 *   node dist/scripts/diagnose-synthetic.js SCENE_DIR [--params '{"smoothRadius":2}']
 */
import { readFileSync } from 'node:fs';
import { booleanIntersects } from '@turf/boolean-intersects';
import type { Polygon } from 'geojson';
import { join } from 'node:path';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { openMosaic, openTile } from '../geo/tile-reader.js';
import { detectPair, modelFor } from '../pipeline/detect/detect-tile.js';
import { tilePair } from '../pipeline/detect/epoch-pair.js';
import { emittedRasters } from '../evaluation/detect-scene.js';
import { parseDetectorParams, type DetectorParams } from '../pipeline/detect/detector-params.js';
import { changeTypeOfCode } from '../pipeline/detect/score.js';
import { classAt, cloudyAt, plan } from '../fixtures/scene-model.js';
import type { SceneTruth } from '../fixtures/synthetic-scene.js';

const CLS = ['wheat', 'corn', 'vegetables', 'orchard', 'fallow', 'grass', 'greenhouse', 'forest', 'river', 'lake', 'road',
  'roof_grey', 'roof_red', 'roof_blue', 'concrete', 'tree', 'soil', 'quarry', 'fill', 'pond', 'cleared'];

async function main(): Promise<void> {
  const dir = process.argv[2];
  const args = process.argv.slice(3);
  const params: DetectorParams = parseDetectorParams(args.includes('--params') ? JSON.parse(args[args.indexOf('--params') + 1]) : {}, '--params');
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as SceneTruth & { clouds?: boolean };
  const p = plan(truth.size, truth.seed, truth.notObservable.length > 0);
  const st = truth.grid.transform;
  const cur = await catalogueTiles([join(dir, 'current')]);
  const pri = await catalogueTiles([join(dir, 'prior')]);
  const tally = new Map<string, number>();
  // Planted changes the end-to-end test counts (at least the MMU, routed to a bureau): found when an
  // emitted polygon intersects them, as cli/tuban.e2e.test.ts checks.
  const planted = truth.planted.filter((q) => q.areaM2 >= params.components.mmuM2 && q.expectedLead !== null);
  const emitted: Polygon[] = [];
  let real = 0, fals = 0, realHi = 0, falsHi = 0;
  const t0 = performance.now();
  for (const tile of cur.tiles) {
    const reader = await openTile(tile);
    const mosaic = await openMosaic(pri.tiles);
    const bands = (['blue', 'green', 'red', 'nir', 'swir1', 'swir2'] as const).filter((b) => tile.bands[b] && pri.tiles.every((t) => t.bands[b]));
    const { detection: r, rasters } = await detectPair(tilePair(reader, mosaic), { params, bands: [...bands], model: modelFor(params, bands) });
    const { width: w, labels, type, labelConfidence } = emittedRasters(rasters);
    for (const d of r.detections) emitted.push(d.geometry);
    const t = tile.grid.transform;
    const nl = labelConfidence.length;
    const planted = new Uint8Array(nl), cloud = new Uint8Array(nl), size = new Uint32Array(nl);
    const sxy = new Float64Array(nl * 2);
    const clsCount = new Map<number, Map<string, number>>();
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (!l) continue;
      const col = i % w, row = (i - col) / w;
      const X = t[0] + (col + 0.5) * t[1], Y = t[3] + (row + 0.5) * t[5];
      const sx = (X - st[0]) / st[1], sy = (Y - st[3]) / st[5];
      const c0 = classAt(p, sx, sy, 0), c1 = classAt(p, sx, sy, 1);
      if (c0 !== c1) planted[l] = 1;
      if (cloudyAt(p, sx, sy) || cloudyAt(p, sx + 3, sy) || cloudyAt(p, sx - 3, sy) || cloudyAt(p, sx, sy + 3) || cloudyAt(p, sx, sy - 3)) cloud[l] = 1;
      size[l]++;
      sxy[2 * l] += sx; sxy[2 * l + 1] += sy;
      const key = `${CLS[c0]}:${changeTypeOfCode(type[i]) ?? type[i]}`;
      if (!clsCount.has(l)) clsCount.set(l, new Map());
      clsCount.get(l)!.set(key, (clsCount.get(l)!.get(key) ?? 0) + 1);
    }
    for (let l = 1; l < nl; l++) {
      if (!(labelConfidence[l] >= 0)) continue;
      const hi = labelConfidence[l] >= 0.8;
      if (planted[l]) { real++; if (hi) realHi++; else if (args.includes('--list')) console.log(`    true-lowconf px ${size[l]} conf ${labelConfidence[l].toFixed(2)}`); continue; }
      fals++;
      if (hi) falsHi++;
      let best = '', bn = 0;
      for (const [k, v] of clsCount.get(l) ?? []) if (v > bn) { bn = v; best = k; }
      const key = `${best}${cloud[l] ? ' (near cloud)' : ''}`;
      if (args.includes('--list')) console.log(`    false ${key} px ${size[l]} at scene ${(sxy[2 * l] / size[l]).toFixed(0)},${(sxy[2 * l + 1] / size[l]).toFixed(0)} conf ${labelConfidence[l].toFixed(2)}`);
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    console.log(`${tile.id.slice(0, 12)} thr ${r.threshold.toFixed(2)} sigma ${Object.values(r.normalisation.bands).map((b) => b!.sigma.toFixed(0)).join('/')} timings ${JSON.stringify(Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, +v.toFixed(2)])))}`);
    await reader.close();
    await mosaic.close();
  }
  const missed = planted.filter((q) => !emitted.some((g) => booleanIntersects(g, q.geometry)));
  const found = planted.length - missed.length;
  if (args.includes('--list')) for (const q of missed) console.log(`    missed ${q.id} ${q.changeType} ${q.areaM2.toFixed(0)} m² in ${q.zoneKind}`);
  console.log(`components touching planted: ${real} (conf≥0.8: ${realHi}); false: ${fals} (conf≥0.8: ${falsHi}); planted found ${found} of ${planted.length} (≥ MMU, routed); ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const [k, v] of [...tally].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${String(v).padStart(4)}  ${k}`);
}

await main();
