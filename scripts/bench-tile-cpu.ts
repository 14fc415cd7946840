/**
 * CPU per tile of the detector in one process, pass after pass over the bench:scale scene: what a
 * `tuban worker` spends per tile, without the queue and the database, so an A/B of two builds can
 * be read on a loaded machine (CPU, not wall).
 *
 *   node dist/scripts/bench-tile-cpu.js [--passes 4] [--size 1024] [--tiles-per-side 4] [--seed 42] [--scene DIR]
 *
 * Per pass: the process's CPU (all threads) and its main thread's (the thread that runs the tile:
 * its critical path), the rest (inflate threads, V8's GC and compiler threads), the main thread's
 * GC pauses (PerformanceObserver 'gc'), the detector's stage sums, and a digest of every tile's
 * detections, coregistration and normalisation: equal digests mean equal outputs. The first pass
 * carries the JIT warm-up; steady state is the later ones. Scores on the calling thread, as a
 * bench:scale worker does (--score-workers 0).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { generateScene } from '../fixtures/synthetic-scene.js';
import { openMosaic, openTile } from '../geo/tile-reader.js';
import { BatchArgsSchema, detectorParamsFor } from '../pipeline/batch/batch-args.js';
import { largestFirst, planBatch, planTile } from '../pipeline/batch/plan-batch.js';
import { detectTile } from '../pipeline/detect/detect-tile.js';
import { flag } from './bench-lib.js';

const passes = Number(flag('passes', '4'));
const size = Number(flag('size', '1024'));
const tilesPerSide = Number(flag('tiles-per-side', '4'));
const seed = Number(flag('seed', '42'));
const sceneDir = flag('scene', '');

/** utime + stime in seconds from a /proc stat file. */
function statCpu(path: string): number {
  const st = readFileSync(path, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
const cpuNow = () => ({ total: statCpu('/proc/self/stat'), main: statCpu(`/proc/self/task/${process.pid}/stat`) });
/**
 * Threads alive when this script started: V8's platform threads (GC and compiler helpers) and
 * libuv's; every thread started later is a worker thread (inflate pool) or libuv's fs pool. Linux
 * names them all 'node', so the start-up snapshot is what tells them apart.
 */
const startupTids = new Set(readdirSync('/proc/self/task'));
/** CPU seconds of every live thread by tid, named 'v8+uv' (there at start-up) or 'later' (workers, fs pool). */
function threadCpu(): Map<string, { name: string; cpu: number }> {
  const m = new Map<string, { name: string; cpu: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      m.set(tid, { name: startupTids.has(tid) ? 'v8+uv' : 'later', cpu: statCpu(`/proc/self/task/${tid}/stat`) });
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return m;
}
/** CPU by thread name between two snapshots (threads gone by the second are not counted: the process total has them). */
function byName(a: Map<string, { name: string; cpu: number }>, b: Map<string, { name: string; cpu: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tid, t] of b) if (tid !== String(process.pid)) out[t.name] = (out[t.name] ?? 0) + t.cpu - (a.get(tid)?.cpu ?? 0);
  return out;
}

const gc = { ms: 0, major: 0, minor: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.ms += e.duration;
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    else gc.minor++;
  }
}).observe({ entryTypes: ['gc'] });

const tmp = sceneDir ? '' : await mkdtemp(join(tmpdir(), 'tuban-tile-cpu-'));
const dir = sceneDir || tmp;
try {
  const existing = sceneDir && existsSync(join(dir, 'zones.geojson'));
  const scene = existing
    ? { epoch: JSON.parse(readFileSync(join(dir, 'epoch.json'), 'utf8')).epoch as string, currentDir: join(dir, 'current'), priorDir: join(dir, 'prior'), zonesPath: join(dir, 'zones.geojson') }
    // footprint 1: the point-sampled scene every published figure (and a cached scene dir) was made with.
    : await generateScene({ dir, size, seed, tilesPerSide, footprint: 1 });
  if (sceneDir && !existing) (await import('node:fs')).writeFileSync(join(dir, 'epoch.json'), JSON.stringify({ epoch: scene.epoch }));
  const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
  const plan = await planBatch(args);
  const params = detectorParamsFor(plan.args);
  const tileIds = largestFirst(plan);
  const px = plan.tiles.reduce((a, t) => a + t.tile.grid.width * t.tile.grid.height, 0);
  process.stdout.write(`${tileIds.length} tiles (${(px / 1e6).toFixed(2)} Mpx), score on the calling thread, node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  process.stdout.write('pass  CPU/tile  main/tile  other/tile  other %  GC ms/tile  major/minor  normalise  Σ stages  detections  digest        load\n');
  for (let pass = 1; pass <= passes; pass++) {
    const c0 = cpuNow();
    const th0 = threadCpu();
    const g0 = { ...gc };
    const digest = createHash('sha256');
    let detections = 0;
    const stages: Record<string, number> = {};
    for (const tileId of tileIds) {
      const { tile, priors } = planTile(plan, tileId);
      const current = await openTile(tile.tile);
      const prior = await openMosaic(priors);
      try {
        const r = await detectTile(current, prior, { params, bands: tile.bands, scoreWorkers: 0 });
        detections += r.detections.length;
        digest.update(JSON.stringify([tileId, r.detections, r.coregistration, r.normalisation, r.threshold, r.notObserved]));
        for (const [k, v] of Object.entries(r.timings)) stages[k] = (stages[k] ?? 0) + v;
      } finally {
        await Promise.allSettled([current.close(), prior.close()]);
      }
    }
    // Let the GC observer's entries for this pass arrive before reading them.
    await new Promise((r) => setImmediate(r));
    const c1 = cpuNow();
    const threads = byName(th0, threadCpu());
    const t = tileIds.length;
    const total = c1.total - c0.total, main = c1.main - c0.main;
    const sum = Object.values(stages).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `${String(pass).padStart(4)}  ${(total / t).toFixed(3).padStart(8)}  ${(main / t).toFixed(3).padStart(9)}  ${((total - main) / t).toFixed(3).padStart(10)}  ${((100 * (total - main)) / total).toFixed(0).padStart(5)} %` +
        `  ${((gc.ms - g0.ms) / t).toFixed(1).padStart(10)}  ${`${gc.major - g0.major}/${gc.minor - g0.minor}`.padStart(11)}  ${(stages.normalise ?? 0).toFixed(2).padStart(9)}  ${sum.toFixed(2).padStart(8)}` +
        `  ${String(detections).padStart(10)}  ${digest.digest('hex').slice(0, 12)}  ${loadavg()[0].toFixed(1).padStart(4)}  ` +
        Object.entries(threads).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${((1000 * v) / t).toFixed(0)}`).join(', ') + ' ms/tile\n',
    );
  }
} finally {
  if (tmp) await rm(tmp, { recursive: true, force: true });
}
