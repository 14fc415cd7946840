/**
 * Per-kernel speed, single thread, on data held in memory (no decoding): megapixels per second of
 * each kernel of both detectors, and milliseconds of each geo/kernels kernel. Build first:
 *
 *   npm run build && node dist/scripts/bench-kernels.js [size] [seed] [--only detect|geo]
 *     [--detect-size 2048] [--city beirut] [--data ../shared/data] [--reps 3]
 *     [--cache /tmp/tuban-bench/kernels] [--detectors unsupervised,learned,learned4] [--js-pass] [--all-features] [--params JSON]
 *
 * `--baseline DIR`: also loads the kernels built in another checkout (DIR/dist, e.g. main) and
 * alternates its runs with this build's in the same process (same data, same neighbours on a
 * shared machine); prints both tables, the speed-up per kernel and whether the outputs are the
 * same bytes. Per-kernel times need a baseline whose scorePixels fills ScoreScratch.kernelMs;
 * otherwise only its totals compare.
 *
 * Detectors (`--detect-size`², strips and halos as the tile driver cuts them):
 * - unsupervised, 4 bands: the seeded synthetic scene of `npm run bench` (clouds, haze,
 *   misregistration, planted changes), then maskCloudFringes on the whole raster;
 * - learned, 6 bands: an OSCD city (real Sentinel-2, `--city`) mirrored out to size², the shipped model;
 * - learned4 (not in the default list): the 4-band model on the unsupervised row's scene, with the
 *   model's own scoring settings (withModelSettings: its tolerant gate, both ways, own evidence) —
 *   the path `model: 'auto'` takes for a 4-band tile, `npm run bench`'s pair.
 * Times are this process's CPU time (the machine is shared: wall time says more about the
 * neighbours). Each kernel's Mpx/s is over the output pixels (trees: also per pixel put to them, the gate's share).
 * `--reps` runs each detector that often and keeps each kernel's fastest time (the machine is shared).
 * `--pixel-m M` (learned4 only; 10/M an integer f): the bench scene at (size/f)² upsampled by f
 * (bilinear at pixel centres, validity nearest) onto a grid of M metres, the parameters put to that
 * pixel size (atPixelSize, as detect-tile.ts does): the fine-grid path of 4-band imagery (GF-2 at
 * 1 m, GF-1 at 2 m, PlanetScope at 3 m), whose range and gate radius grows to round(10 / M) px.
 * `--js-pass`: this build scores with the JS reference of the per-pixel pass (score.ts scoreRows)
 * instead of the WebAssembly one (assembly/score-pass.ts): with `--baseline` a checkout of this
 * build, an A/B of the two passes (their hashes must match).
 * A SHA-256 of the outputs (score, type, learned features) is printed: two builds whose hashes
 * match produced byte-identical outputs. This build scores as the tile driver does, computing only
 * what the model reads (LearnedScoring.use), and the features hashed are the ones the trees read:
 * the planes the model splits on at the pixels the gate put to it (the same for a build that
 * computes everything). `--all-features`: every feature at every pixel, as the trainer reads
 * them, and every plane hashed whole.
 *
 * geo/kernels (`size`², default 10980 = one Sentinel-2 tile): a seeded synthetic change mask, ~1–2 %
 * change, a few thousand blobs (rectangles and discs, 3–60 px) plus 0.3 % single-pixel speckle.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BandName, Raster } from '../geo/raster.js';
import { histogram, otsuThreshold, robustUpperThreshold } from '../geo/kernels/threshold.js';
import { createMorphScratch, openClose } from '../geo/kernels/morphology.js';
import { componentStats, labelComponents, removeSmallComponents } from '../geo/kernels/label.js';
import { polygonizeLabels } from '../geo/kernels/polygonize.js';
import { simplifyPolygon } from '../geo/kernels/simplify.js';
import { mulberry32 } from '../fixtures/scene-math.js';
import { generateSceneArrays } from '../fixtures/synthetic-scene.js';
import { readOscdCity } from '../evaluation/bench-data.js';
import { atPixelSize, parseDetectorParams, withModelSettings, type DetectorParams } from '../pipeline/detect/detector-params.js';
import { fitNormalisation, type NormFit } from '../pipeline/detect/normalise.js';
import { createScoreScratch, scorePixels, type KernelTimes, type LearnedScoring } from '../pipeline/detect/score.js';
import { FEATURE_CONTEXT, FEATURE_COUNT, createFeaturePlanes, createFeatureScratch } from '../pipeline/detect/change-features.js';
import { foldModel, foldedFeatureUse, shippedChangeModel, shippedChangeModel4Band } from '../pipeline/detect/change-model.js';
import { defaultStripRows } from '../pipeline/detect/score-stream.js';
import { rangeRadius } from '../pipeline/detect/score-pass.js';
import { featureRadii } from '../pipeline/detect/change-features.js';
import { maskCloudFringes } from '../pipeline/detect/cloud-fringes.js';
import { flag } from './bench-lib.js';

const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(i > 0 && all[i - 1].startsWith('--')));
const only = flag('only', 'all');
const reps = Math.max(1, Number(flag('reps', '1')));
const jsPass = process.argv.includes('--js-pass');
const allFeatures = process.argv.includes('--all-features');

/** A halo'd strip of rows [top, bottom) of `r` as a Raster of views (no copy). */
function stripOf(r: Raster, top: number, bottom: number): Raster {
  const bands: Partial<Record<BandName, Float32Array>> = {};
  for (const [b, a] of Object.entries(r.bands)) bands[b as BandName] = a!.subarray(top * r.width, bottom * r.width);
  return { ...r, height: bottom - top, bands, valid: r.valid.subarray(top * r.width, bottom * r.width) };
}

/**
 * This process's CPU time (user + system), ms: on a machine shared with other jobs a kernel's CPU
 * time moves far less than its wall time (this thread does all the work; GC threads add a little).
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * The seeded 4-band scene at size², generated once and kept as raw planes under `--cache`
 * (generating it costs more than scoring it, and A/B runs of two builds read the same bytes).
 */
function cachedScene(size: number): { before: Raster; after: Raster } {
  const dir = join(flag('cache', '/tmp/tuban-bench/kernels'), `scene-${size}`);
  const names = ['blue', 'green', 'red', 'nir'] as const;
  const file = (epoch: string, plane: string) => join(dir, `${epoch}-${plane}.bin`);
  if (!existsSync(file('after', 'valid'))) {
    // footprint 1: the point-sampled scene every published figure (and a cached plane dir) was made with.
    const s = generateSceneArrays({ size, seed: 1, clouds: true, footprint: 1 });
    mkdirSync(dir, { recursive: true });
    for (const [epoch, r] of [['before', s.before], ['after', s.after]] as const) {
      for (const b of names) writeFileSync(file(epoch, b), r.bands[b]!);
      writeFileSync(file(epoch, 'valid'), r.valid);
    }
  }
  const load = (epoch: string): Raster => {
    const bands: Partial<Record<BandName, Float32Array>> = {};
    for (const b of names) { const buf = readFileSync(file(epoch, b)); bands[b] = new Float32Array(buf.buffer, buf.byteOffset, size * size).slice(); }
    return { width: size, height: size, crs: 'EPSG:32650', transform: [500_000, 10, 0, 4_060_000, 0, -10], bands, valid: new Uint8Array(readFileSync(file(epoch, 'valid'))) };
  };
  return { before: load('before'), after: load('after') };
}

/** `r` upsampled by `f` (bilinear at pixel centres, edges replicated; validity nearest) on a grid of `pixelM` m. */
function upsampleRaster(r: Raster, f: number, pixelM: number): Raster {
  const { width: w, height: h } = r;
  const W = w * f, H = h * f;
  const at = (a: Float32Array, x: number, y: number) => a[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
  const bands: Partial<Record<BandName, Float32Array>> = {};
  const valid = new Uint8Array(W * H);
  for (let Y = 0; Y < H; Y++) for (let X = 0; X < W; X++) valid[Y * W + X] = r.valid[Math.floor(Y / f) * w + Math.floor(X / f)];
  for (const [b, a] of Object.entries(r.bands)) {
    const o = new Float32Array(W * H);
    for (let Y = 0; Y < H; Y++) {
      const sy = (Y + 0.5) / f - 0.5, y0 = Math.floor(sy), fy = sy - y0;
      for (let X = 0; X < W; X++) {
        const sx = (X + 0.5) / f - 0.5, x0 = Math.floor(sx), fx = sx - x0;
        o[Y * W + X] = (1 - fy) * ((1 - fx) * at(a!, x0, y0) + fx * at(a!, x0 + 1, y0)) + fy * ((1 - fx) * at(a!, x0, y0 + 1) + fx * at(a!, x0 + 1, y0 + 1));
      }
    }
    bands[b as BandName] = o;
  }
  return { ...r, width: W, height: H, transform: [r.transform[0], pixelM, 0, r.transform[3], 0, -pixelM], bands, valid };
}

function upsampledScene(s: { before: Raster; after: Raster }, f: number, pixelM: number): { before: Raster; after: Raster } {
  return { before: upsampleRaster(s.before, f, pixelM), after: upsampleRaster(s.after, f, pixelM) };
}

/** The detector kernels a run calls: this build's, or another build's (`--baseline`). */
interface Kernels {
  scorePixels: typeof scorePixels;
  createScoreScratch: typeof createScoreScratch;
  createFeatureScratch: typeof createFeatureScratch;
  /** Absent in builds before the feature planes became views of the base planes. */
  createFeaturePlanes?: typeof createFeaturePlanes;
  foldModel: typeof foldModel;
  shippedChangeModel: typeof shippedChangeModel;
  /** Absent in builds before the 4-band model. */
  shippedChangeModel4Band?: typeof shippedChangeModel4Band;
  maskCloudFringes: typeof maskCloudFringes;
}

const OWN: Kernels = { scorePixels, createScoreScratch, createFeatureScratch, createFeaturePlanes, foldModel, shippedChangeModel, shippedChangeModel4Band, maskCloudFringes };

/** Another checkout's built kernels (`DIR/dist/pipeline/detect/*.js`), for an A/B in one process. */
async function kernelsOf(dir: string): Promise<Kernels> {
  const m = (f: string) => import(pathToFileURL(resolve(dir, 'dist/pipeline/detect', f)).href);
  const [score, features, model, clouds] = await Promise.all([m('score.js'), m('change-features.js'), m('change-model.js'), m('cloud-fringes.js')]);
  return { scorePixels: score.scorePixels, createScoreScratch: score.createScoreScratch, createFeatureScratch: features.createFeatureScratch, createFeaturePlanes: features.createFeaturePlanes, foldModel: model.foldModel, shippedChangeModel: model.shippedChangeModel, shippedChangeModel4Band: model.shippedChangeModel4Band, maskCloudFringes: clouds.maskCloudFringes };
}

interface DetectorRun {
  ms: KernelTimes;
  totalMs: number;
  hash: string;
  score: Float32Array;
  type: Uint8Array;
}

/** Scores the whole pair strip by strip as streamScores does on the calling thread, timing each kernel. */
function scoreAll(K: Kernels, before: Raster, after: Raster, fit: NormFit, params: DetectorParams, learnedModel: boolean, fourBand = false): DetectorRun {
  const { width: w, height: h } = before;
  const stripRows = defaultStripRows(w, learnedModel);
  const px = params.score.pixelSizeM;
  // As score-stream.ts cuts them (on the default 10 m grid: FEATURE_CONTEXT and 1).
  const halo = px === 10 || px === undefined
    ? (learnedModel ? Math.max(params.score.smoothRadius, FEATURE_CONTEXT) : params.score.smoothRadius) + 1
    : (learnedModel ? Math.max(params.score.smoothRadius, featureRadii(px).context) : params.score.smoothRadius) + rangeRadius(px);
  const haloRows = Math.min(h, stripRows + 2 * halo);
  const scratch = K.createScoreScratch(w, haloRows, px);
  // --js-pass: this build's JS reference pass (score.ts scoreRows) instead of the WebAssembly one.
  if (K === OWN && jsPass) scratch.referencePass = true;
  const ms: KernelTimes = {};
  scratch.kernelMs = ms;
  scratch.kernelClock = cpuMs;
  let learned: LearnedScoring | undefined;
  if (learnedModel) {
    if (fourBand && !K.shippedChangeModel4Band) throw new Error('bench-kernels: this build has no 4-band model (learned4)');
    const model = fourBand ? K.shippedChangeModel4Band!() : K.shippedChangeModel();
    const fs = K.createFeatureScratch(w, haloRows, px);
    // The planes as the tile driver makes them (views where the build has them).
    const features = K.createFeaturePlanes ? K.createFeaturePlanes(fs, w, stripRows) : Array.from({ length: FEATURE_COUNT }, () => new Float32Array(w * stripRows));
    learned = { folded: K.foldModel(model), threshold: model.threshold, scratch: fs, features };
    // As the tile driver scores (LearnedScoring.use: only what the model reads), unless --all-features
    // (the trainer's view: every feature at every pixel). A build without `use` ignores it.
    if (!allFeatures) learned.use = foldedFeatureUse(learned.folded);
  }
  // Features hashed: every plane at every pixel (--all-features), else those the model reads at the pixels put to it.
  const read = learned && !allFeatures ? foldedFeatureUse(learned.folded).feature : null;
  const score = new Float32Array(w * h);
  const type = new Uint8Array(w * h);
  const hash = createHash('sha256');
  const t0 = cpuMs();
  for (let row = 0; row < h; row += stripRows) {
    const count = Math.min(stripRows, h - row);
    const top = Math.max(0, row - halo);
    const bottom = Math.min(h, row + count + halo);
    const off = row * w;
    const out = { score: score.subarray(off, off + w * count), type: type.subarray(off, off + w * count) };
    const askedBefore = ms.askedPx ?? 0;
    K.scorePixels(stripOf(before, top, bottom), stripOf(after, top, bottom), fit, params, out, { first: row - top, count }, scratch, learned);
    // The features, hashed per strip outside the kernels' clocks: the trainer's view (every plane,
    // every pixel) or the trees' (the planes they read at the pixels put to them).
    if (learned && !read) for (const f of learned.features) hash.update(new Uint8Array(f.buffer, f.byteOffset, w * count * 4));
    else if (learned && read) {
      const asked = learned.scratch.asked, n = (ms.askedPx ?? 0) - askedBefore;
      const vals = new Float32Array(n);
      hash.update(new Uint8Array(asked.buffer, asked.byteOffset, 4 * n));
      learned.features.forEach((f, k) => {
        if (!read[k]) return;
        for (let j = 0; j < n; j++) vals[j] = f[asked[j]];
        hash.update(new Uint8Array(vals.buffer));
      });
    }
  }
  const totalMs = cpuMs() - t0;
  hash.update(new Uint8Array(score.buffer)).update(type);
  return { ms, totalMs, hash: hash.digest('hex').slice(0, 16), score, type };
}

function fastest(runs: KernelTimes[]): KernelTimes {
  const best: KernelTimes = {};
  for (const r of runs) for (const [k, v] of Object.entries(r) as [keyof KernelTimes, number][]) best[k] = Math.min(best[k] ?? Infinity, v);
  return best;
}

function printKernels(label: string, mpx: number, runs: DetectorRun[], extra: Record<string, number> = {}, note = ''): void {
  const ms = fastest(runs.map((r) => r.ms));
  const total = Math.min(...runs.map((r) => r.totalMs));
  const hashes = new Set(runs.map((r) => r.hash));
  console.log(`\n${label}: ${mpx.toFixed(2)} Mpx, CPU ms (user + sys), min of ${runs.length}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; outputs sha256 ${[...hashes].join(' ≠ ')}${note ? `; ${note}` : ''}`);
  console.log(`${'kernel'.padEnd(22)} ${'ms'.padStart(8)} ${'Mpx/s'.padStart(8)}`);
  const row = (k: string, v: number, px = mpx) => console.log(`${k.padEnd(22)} ${v.toFixed(0).padStart(8)} ${(px / (v / 1000)).toFixed(1).padStart(8)}`);
  for (const k of ['pixels', 'shift', 'smooth', 'types', 'features', 'gate', 'trees', 'rescue'] as const) if (ms[k] !== undefined) row(k, ms[k]!);
  if (ms.askedPx !== undefined && ms.trees) {
    const asked = ms.askedPx / 1e6;
    console.log(`${'  trees per asked px'.padEnd(22)} ${''.padStart(8)} ${(asked / (ms.trees / 1000)).toFixed(1).padStart(8)}  (${((100 * asked) / mpx).toFixed(1)} % of pixels past the gate)`);
  }
  row('scorePixels total', total);
  for (const [k, v] of Object.entries(extra)) row(k, v);
}

async function benchDetectors(): Promise<void> {
  const size = Number(flag('detect-size', '2048'));
  // --params: an override (e.g. '{"learned":{"gateShift":0.5}}'), to time a non-default kernel.
  const params = parseDetectorParams(JSON.parse(flag('params', '{}')), '--params');
  const mpx = (size * size) / 1e6;

  const which = flag('detectors', 'unsupervised,learned').split(',');
  const baseline = flag('baseline', '');
  const builds: [string, Kernels][] = baseline ? [['baseline', await kernelsOf(baseline)], ['this build', OWN]] : [['this build', OWN]];
  let t = performance.now();
  if (which.includes('learned4')) {
    // The 4-band model on the bench scene, with its own scoring settings (as detect-tile.ts applies them).
    const pixelM = Number(flag('pixel-m', '10'));
    const f = Math.round(10 / pixelM);
    if (!(f >= 1 && Math.abs(f * pixelM - 10) < 1e-9 && size % f === 0)) throw new Error(`bench-kernels: --pixel-m ${pixelM} must divide 10 m into an integer factor that divides --detect-size ${size}`);
    const scene = f === 1 ? cachedScene(size) : upsampledScene(cachedScene(size / f), f, pixelM);
    const p4 = atPixelSize(withModelSettings(params, shippedChangeModel4Band().scoring), pixelM);
    if (f > 1) console.log(`bench scene ${size / f}² upsampled ×${f} to ${size}² at ${pixelM} m: range / gate radius ${rangeRadius(pixelM)} px, feature radii ${JSON.stringify(featureRadii(pixelM))}`);
    const fit4 = fitNormalisation([{ before: scene.before, after: scene.after }], p4.score);
    console.log(`synthetic 4-band scene ${size}², 4-band model, learned settings ${JSON.stringify(p4.learned)}`);
    const runs = builds.map(() => [] as DetectorRun[]);
    for (let k = 0; k < reps; k++) builds.forEach(([, K], b) => runs[b].push(scoreAll(K, scene.before, scene.after, fit4, p4, true, true)));
    builds.forEach(([name], b) => printKernels(`learned 4-band [${name}]`, mpx, runs[b]));
    if (builds.length > 1) compare(runs);
    t = performance.now();
  }
  if (which.includes('unsupervised')) {
  // Unsupervised, 4 bands: the bench scene.
  const scene = cachedScene(size);
  const fit4 = fitNormalisation([{ before: scene.before, after: scene.after }], params.score);
  console.log(`synthetic 4-band scene ${size}² generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const runs4 = builds.map(() => [] as DetectorRun[]);
  const cloudMs = builds.map(() => [] as number[]);
  const cloudHash = builds.map(() => '');
  // Builds alternate rep by rep, so both see the same neighbours on a shared machine.
  for (let k = 0; k < reps; k++) {
    builds.forEach(([, K], b) => {
      const r = scoreAll(K, scene.before, scene.after, fit4, params, false);
      runs4[b].push(r);
      // maskCloudFringes over the whole raster, as extractComponents calls it (its own copy of the outputs).
      const type = r.type.slice(), score = r.score.slice();
      const minCorePx = Math.ceil(params.clouds.coreMinM2 / 100);
      const opts = { fringes: params.clouds.fringes, minCorePx, haloPx: params.clouds.haloPx, bufferPx: params.clouds.bufferPx };
      t = cpuMs();
      // A baseline built before 2026-12-06 takes the flood queue from its caller (one argument more).
      if (K.maskCloudFringes.length > 6) (K.maskCloudFringes as unknown as (...a: unknown[]) => number)(type, score, size, size, new Int32Array(size * size), opts);
      else K.maskCloudFringes(type, score, size, size, opts);
      cloudMs[b].push(cpuMs() - t);
      cloudHash[b] = createHash('sha256').update(type).update(new Uint8Array(score.buffer)).digest('hex').slice(0, 16);
    });
  }
  builds.forEach(([name], b) => printKernels(`unsupervised 4-band [${name}]`, mpx, runs4[b], { maskCloudFringes: Math.min(...cloudMs[b]) }, `clouds sha256 ${cloudHash[b]}`));
  if (builds.length > 1) compare(runs4, cloudMs);
  }
  if (!which.includes('learned')) return;

  // Learned, 6 bands: a real city mirrored out.
  const city = flag('city', 'beirut');
  t = performance.now();
  const src = await readOscdCity(join(flag('data', '../shared/data'), 'oscd'), city);
  const mirror = (i: number, n: number) => { const p = i % (2 * n); return p < n ? p : 2 * n - 1 - p; };
  const grow = (r: Raster): Raster => {
    const bands: Partial<Record<BandName, Float32Array>> = {};
    const valid = new Uint8Array(size * size);
    const rowMap = Int32Array.from({ length: size }, (_, y) => mirror(y, r.height) * r.width);
    const colMap = Int32Array.from({ length: size }, (_, x) => mirror(x, r.width));
    for (const [b, a] of Object.entries(r.bands)) {
      const o = new Float32Array(size * size);
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) o[y * size + x] = a![rowMap[y] + colMap[x]];
      bands[b as BandName] = o;
    }
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) valid[y * size + x] = r.valid[rowMap[y] + colMap[x]];
    return { width: size, height: size, crs: r.crs, transform: r.transform, bands, valid };
  };
  const before6 = grow(src.before), after6 = grow(src.after);
  const fit6 = fitNormalisation([{ before: before6, after: after6 }], params.score);
  console.log(`\nOSCD ${city} (6 bands) mirrored to ${size}² in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const runs6 = builds.map(() => [] as DetectorRun[]);
  for (let k = 0; k < reps; k++) builds.forEach(([, K], b) => runs6[b].push(scoreAll(K, before6, after6, fit6, params, true)));
  builds.forEach(([name], b) => printKernels(`learned 6-band [${name}]`, mpx, runs6[b]));
  if (builds.length > 1) compare(runs6);
}

/** Baseline ÷ this build, per kernel (fastest of each), and whether the outputs are the same bytes. */
function compare(runs: DetectorRun[][], cloudMs?: number[][]): void {
  const [base, own] = runs.map((r) => fastest(r.map((x) => x.ms)));
  const total = runs.map((r) => Math.min(...r.map((x) => x.totalMs)));
  const same = runs[0][0].hash === runs[1][0].hash;
  const parts = (['pixels', 'shift', 'smooth', 'types', 'features', 'gate', 'trees', 'rescue'] as const).filter((k) => base[k] && own[k]).map((k) => `${k} ${(base[k]! / own[k]!).toFixed(2)}×`);
  if (cloudMs) parts.push(`maskCloudFringes ${(Math.min(...cloudMs[0]) / Math.min(...cloudMs[1])).toFixed(2)}×`);
  console.log(`speed-up over the baseline: total ${(total[0] / total[1]).toFixed(2)}×; ${parts.join(', ')}; outputs ${same ? 'identical' : 'DIFFER'}`);
}

function benchGeoKernels(): void {
  const size = Number(positional[0] ?? 10980);
  const seed = Number(positional[1] ?? 1);
  const w = size;
  const h = size;
  const rand = mulberry32(seed);

  const mask = new Uint8Array(w * h);
  const blobs = Math.round((w * h) / 30000);
  for (let b = 0; b < blobs; b++) {
    const cx = Math.floor(rand() * w);
    const cy = Math.floor(rand() * h);
    const r = 3 + Math.floor(rand() * rand() * 30);
    const disc = rand() < 0.5;
    for (let y = Math.max(0, cy - r); y < Math.min(h, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x < Math.min(w, cx + r); x++) {
        if (!disc || (x - cx) ** 2 + (y - cy) ** 2 <= r * r) mask[y * w + x] = 1;
      }
    }
  }
  for (let k = 0, n = Math.round(w * h * 0.003); k < n; k++) mask[Math.floor(rand() * w * h)] = 1;
  let fg = 0;
  for (let i = 0; i < mask.length; i++) fg += mask[i];

  // A change score: high where the mask is set, noise elsewhere (for histogram / thresholds).
  const score = new Float32Array(w * h);
  for (let i = 0; i < score.length; i++) score[i] = (mask[i] ? 0.6 : 0.1) + (rand() - 0.5) * 0.2;

  const times: Record<string, number> = {};
  function time<T>(name: string, f: () => T): T {
    const t0 = performance.now();
    const v = f();
    times[name] = Math.round(performance.now() - t0);
    return v;
  }

  const bins = new Uint32Array(512);
  time('histogram', () => histogram(score, null, -0.5, 1.5, bins));
  const thresholds = time('otsu+robust', () => [otsuThreshold(bins, -0.5, 1.5), robustUpperThreshold(bins, -0.5, 1.5, 4)]);

  const scratch = time('alloc morph scratch', () => createMorphScratch(w, h));
  time('openClose 3×3 (pack+4 passes+unpack)', () => openClose(mask, w, h, scratch));
  let fgAfter = 0;
  for (let i = 0; i < mask.length; i++) fgAfter += mask[i];

  const labels = time('alloc labels', () => new Int32Array(w * h));
  const n = time('labelComponents 8', () => labelComponents(mask, w, h, labels, 8));
  const stats = time('componentStats (+values)', () => componentStats(labels, w, h, n, score));
  const keep = new Uint8Array(n + 1);
  const kept = time('removeSmallComponents <10 px', () => removeSmallComponents(labels, w, h, stats, 10, keep));
  const polys = time('polygonizeLabels (kept)', () => polygonizeLabels(labels, w, h, n, keep));
  let vertices = 0;
  let simplified = 0;
  time('simplifyPolygon tol 1 px', () => {
    for (const ps of polys) {
      if (!ps) continue;
      for (const p of ps) {
        for (const r of p) vertices += r.length;
        for (const r of simplifyPolygon(p, 1, 4)) simplified += r.length;
      }
    }
  });

  console.log(`\ngeo/kernels ${size}²`);
  console.log(JSON.stringify({ size, seed, fgPixels: fg, fgAfterOpenClose: fgAfter, components: n, kept, vertices, simplified, thresholds }));
  for (const [k, v] of Object.entries(times)) console.log(`${k.padEnd(40)} ${String(v).padStart(7)} ms  ${((size * size) / 1e3 / Math.max(v, 1)).toFixed(1).padStart(7)} Mpx/s`);
}

if (only === 'all' || only === 'detect') await benchDetectors();
if (only === 'all' || only === 'geo') benchGeoKernels();
