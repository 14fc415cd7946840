/**
 * Stage 3 of a tile alone (extractComponents: clouds, threshold, mask, label) on a real scored tile
 * of the `npm run bench` scene, without the read and score stages in front of it. The first run at a
 * size scores the pair once (the product's code, calling thread) and caches score + type under
 * `--cache`; later runs load them and time only extractComponents, which rewrites both (so each
 * repeat starts from a fresh copy of the cache).
 *
 *   npm run build && node dist/scripts/bench-components.js [--size 10980] [--reps 3]
 *     [--data /tmp/tuban-bench/data] [--cache /tmp/tuban-bench/components] [--baseline DIR]
 *
 * Prints per stage the wall and this process's CPU seconds (the machine is shared), the load
 * average, and a SHA-256 over everything extractComponents returns and rewrites (labels, keep,
 * stats, seeds, threshold, type, score): two builds with the same hash give the same components.
 * `--baseline DIR` loads extractComponents from another build (DIR/dist, e.g. a copy of main's) and
 * alternates its runs with this build's in the same process, minimum of `--reps` each.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BandName } from '../geo/raster.js';
import { openMosaic, openTile } from '../geo/tile-reader.js';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { extractComponents, type TileComponents } from '../pipeline/detect/components.js';
import { approxPixelAreaM2, modelFor } from '../pipeline/detect/detect-tile.js';
import { DEFAULT_DETECTOR_PARAMS, atPixelSize, componentParams } from '../pipeline/detect/detector-params.js';
import { fitEpochs } from '../pipeline/detect/epoch-fit.js';
import { tilePair } from '../pipeline/detect/epoch-pair.js';
import { streamScores } from '../pipeline/detect/score-stream.js';
import { StageTimer } from '../pipeline/detect/stage-timer.js';
import { flag } from './bench-lib.js';

const BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];
const size = Number(flag('size', '10980'));
const reps = Math.max(1, Number(flag('reps', '3')));
const data = resolve(flag('data', process.env.BENCH_DATA ?? '/tmp/tuban-bench/data'));
const cacheDir = resolve(flag('cache', '/tmp/tuban-bench/components'));
const baselineDir = flag('baseline', '');
const shared = flag('shared', 'yes') !== 'no';

type Extract = typeof extractComponents;

interface Scored {
  width: number;
  height: number;
  pxArea: number;
  score: Float32Array;
  type: Uint8Array;
}

/** The pair scored as detectPair scores it, from the cache when there. */
async function scored(): Promise<Scored> {
  const base = join(cacheDir, String(size));
  if (existsSync(`${base}.json`)) {
    const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { width: number; height: number; pxArea: number };
    const s = readFileSync(`${base}.score`);
    const t = readFileSync(`${base}.type`);
    return { ...meta, score: new Float32Array(s.buffer, s.byteOffset, s.length / 4), type: new Uint8Array(t.buffer, t.byteOffset, t.length) };
  }
  const dir = join(data, String(size));
  // The catalogue dates tiles from their names: link them under dated names, as `npm run bench` does.
  const staged = join(cacheDir, `in-${size}`);
  mkdirSync(staged, { recursive: true });
  const names = [['before.tif', 'T50SMF_20260906_before.tif'], ['after.tif', 'T50SMF_20261008_after.tif']];
  for (const [src, name] of names) if (!existsSync(join(staged, name))) symlinkSync(join(dir, src), join(staged, name));
  const [before, after] = await Promise.all(names.map(([, name]) => catalogueTiles([join(staged, name)], { bands: BANDS })));
  if (!before.tiles.length || !after.tiles.length) throw new Error(`bench-components: ${dir} did not catalogue (${JSON.stringify([...before.rejected, ...after.rejected])})`);
  const reader = await openTile(after.tiles[0]);
  const mosaic = await openMosaic(before.tiles);
  try {
    const pair = tilePair(reader, mosaic);
    const pxArea = approxPixelAreaM2(pair.grid);
    const params = atPixelSize(DEFAULT_DETECTOR_PARAMS, Math.sqrt(pxArea));
    const model = modelFor(params, BANDS);
    const timer = new StageTimer();
    const fitted = await fitEpochs(pair, BANDS, params.score);
    const { score, type } = await streamScores(fitted.pair, { bands: BANDS, params, fit: fitted.fit, model, workers: 0, timer });
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(`${base}.score`, new Uint8Array(score.buffer, score.byteOffset, score.byteLength));
    writeFileSync(`${base}.type`, type);
    const meta = { width: pair.grid.width, height: pair.grid.height, pxArea };
    writeFileSync(`${base}.json`, JSON.stringify(meta));
    console.log(`scored ${size}² once and cached it under ${cacheDir}`);
    return { ...meta, score, type };
  } finally {
    await Promise.allSettled([reader.close(), mosaic.close()]);
  }
}

/** SHA-256 of what extractComponents returns and rewrites. */
function digest(c: TileComponents, score: Float32Array, type: Uint8Array): string {
  const h = createHash('sha256');
  const bytes = (a: ArrayBufferView) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const { stats } = c;
  for (const a of [c.labels, c.keep, stats.count, stats.minCol, stats.minRow, stats.maxCol, stats.maxRow, stats.sum, stats.max, c.seeds.count, c.seeds.sum, score, type]) if (a) bytes(a);
  h.update(JSON.stringify([c.count, c.threshold, c.minPixels, c.notObservedPx]));
  return h.digest('hex').slice(0, 16);
}

/** CPU seconds of this process (user + system) for each stage, taken from the wall timer's calls. */
class CpuTimer extends StageTimer {
  readonly cpu: Record<string, number> = {};
  /** Of which system time: mostly page faults on fresh buffers. */
  readonly sys: Record<string, number> = {};
  override async time<T>(stage: string, fn: () => Promise<T> | T): Promise<T> {
    const c0 = process.cpuUsage();
    try {
      return await super.time(stage, fn);
    } finally {
      const c = process.cpuUsage(c0);
      this.cpu[stage] = (this.cpu[stage] ?? 0) + (c.user + c.system) / 1e6;
      this.sys[stage] = (this.sys[stage] ?? 0) + c.system / 1e6;
    }
  }
}

async function runOnce(extract: Extract, s: Scored): Promise<{ wall: Record<string, number>; cpu: Record<string, number>; sys: Record<string, number>; hash: string }> {
  // The product's tile buffers live on SharedArrayBuffers when a worker pool scores (the default).
  const score = shared ? new Float32Array(new SharedArrayBuffer(s.score.byteLength)) : new Float32Array(s.score.length);
  const type = shared ? new Uint8Array(new SharedArrayBuffer(s.type.byteLength)) : new Uint8Array(s.type.length);
  score.set(s.score);
  type.set(s.type);
  const params = atPixelSize(DEFAULT_DETECTOR_PARAMS, Math.sqrt(s.pxArea));
  const model = modelFor(params, BANDS);
  const timer = new CpuTimer();
  const c = await extract({ score, type }, { params: { ...params, components: componentParams(params, model !== null) }, model, width: s.width, height: s.height, pixelAreaM2: s.pxArea, timer });
  return { wall: timer.timings, cpu: timer.cpu, sys: timer.sys, hash: digest(c, score, type) };
}

const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
const s = await scored();
const builds: [string, Extract][] = [['this', extractComponents]];
if (baselineDir) {
  const mod = (await import(pathToFileURL(join(resolve(baselineDir), 'dist', 'pipeline', 'detect', 'components.js')).href)) as { extractComponents: Extract };
  builds.unshift(['baseline', mod.extractComponents]);
}
const best: Record<string, { wall: Record<string, number>; cpu: Record<string, number>; hashes: Set<string> }> = {};
for (let r = 0; r < reps; r++) {
  for (const [name, fn] of builds) {
    const res = await runOnce(fn, s);
    const b = (best[name] ??= { wall: {}, cpu: {}, hashes: new Set() });
    for (const [k, v] of Object.entries(res.wall)) b.wall[k] = Math.min(b.wall[k] ?? Infinity, v);
    for (const [k, v] of Object.entries(res.cpu)) b.cpu[k] = Math.min(b.cpu[k] ?? Infinity, v);
    b.hashes.add(res.hash);
    const stages = Object.keys(res.cpu).map((k) => `${k} ${res.cpu[k].toFixed(2)} (sys ${res.sys[k].toFixed(2)})`).join(', ');
    console.log(`${size}² ${name} rep ${r + 1}: cpu s ${stages}; hash ${res.hash}; load ${load()}`);
  }
}
console.log(`\n${size}², min of ${reps} (wall s / cpu s), load ${load()}`);
for (const [name, b] of Object.entries(best)) {
  const stages = Object.keys(b.cpu).map((k) => `${k} ${b.wall[k].toFixed(2)}/${b.cpu[k].toFixed(2)}`).join('  ');
  const total = Object.values(b.cpu).reduce((a, v) => a + v, 0);
  console.log(`  ${name.padEnd(8)} ${stages}  total cpu ${total.toFixed(2)}  hash ${[...b.hashes].join(',')}`);
}
if (builds.length > 1) {
  const hs = Object.values(best).map((b) => [...b.hashes].join(','));
  console.log(hs.every((h) => h === hs[0]) && !hs[0].includes(',') ? 'outputs identical' : 'OUTPUTS DIFFER');
}
