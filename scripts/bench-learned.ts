/**
 * Speed of the learned detector (the path real Sentinel-2 and Landsat tiles take: both epochs
 * carry swir1/swir2) on a large tile, scored on the calling thread and in 1…N score workers.
 * The tile is real imagery: an OSCD city's six bands, both dates, mirrored out to --size² and
 * written once as two 6-band deflate GeoTIFFs (cached under --cache). Runs the default score workers
 * first (the product's configuration: every core), then the calling thread alone (the single-threaded
 * reference), each in a child process of its own (`--run-one N`), so each row's peak RSS is that run's.
 * Prints wall seconds, Mpx/s, the run's peak RSS, per-stage seconds and whether
 * every run's polygons and score raster are identical to the first's; and, where the peer scene of
 * that size exists ($BENCH_DATA, ../shared/bench/make_data.sh), peer A's 4-band full-pair time in the
 * same run, beside (the issue-16 target: learned 6-band ≤ 1× peer A 4-band). After the calling-thread
 * run (workers 0), its score stage by part: the per-pixel pass, the features, the gate and the trees,
 * each in Mpx/s of output pixels (wall time on that thread: recordKernelTimes), the trees also per
 * pixel put to them.
 *
 *   npm run bench:learned -- [--size 4096] [--workers default,0] [--city beirut] [--data ../shared/data] [--peer on|off]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BandName, Raster } from '../geo/raster.js';
import { writeGeoTiff } from '../geo/tiff/write-geotiff.js';
import { openMosaic, openTile } from '../geo/tile-reader.js';
import { readOscdCity } from '../evaluation/bench-data.js';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { detectPair, modelFor } from '../pipeline/detect/detect-tile.js';
import { tilePair } from '../pipeline/detect/epoch-pair.js';
import { DEFAULT_DETECTOR_PARAMS } from '../pipeline/detect/detector-params.js';
import { defaultScoreWorkers } from '../pipeline/detect/score-pool.js';
import { recordKernelTimes, type KernelTimes } from '../pipeline/detect/score.js';
import { flag, parseTimeV } from './bench-lib.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PEER_A = resolve(ROOT, '..', 'shared', 'bench', 'peer_a.py');

/** Peer A (rasterio + numpy + scipy + shapely) on the 4-band peer scene of this size, whole process; null when it cannot run. */
function peerA(size: number): { wallS: number; peakRssGiB: number } | null {
  const d = join(process.env.BENCH_DATA ?? '/tmp/tuban-bench/data', String(size));
  if (!existsSync(PEER_A) || !existsSync(join(d, 'before.tif')) || !existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-v', '/usr/bin/python3', PEER_A, join(d, 'before.tif'), join(d, 'after.tif'), join(d, 'zones.geojson'), join(tmpdir(), `tuban-learned-peer-a-${size}.geojson`)], { encoding: 'utf8' });
  return r.status === 0 ? parseTimeV(r.stderr) : null;
}

const BANDS: BandName[] = ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];

/** Index folded into [0, n) by reflection, so the mirrored mosaic has no seams. */
const mirror = (i: number, n: number): number => {
  const p = i % (2 * n);
  return p < n ? p : 2 * n - 1 - p;
};

async function writeMirrored(path: string, src: Raster, size: number, date: string): Promise<void> {
  const bands = BANDS.map((b) => src.bands[b]!);
  await writeGeoTiff(path, {
    grid: { width: size, height: size, crs: 'EPSG:32650', transform: [400_000, 10, 0, 3_500_000, 0, -10] },
    dtype: 'uint16', nodata: 0, date, tileSize: 512, compression: 'deflate', bandCount: BANDS.length,
    rows: (row0, n) => bands.map((b) => {
      const out = new Uint16Array(size * n);
      for (let r = 0; r < n; r++) {
        const sr = mirror(row0 + r, src.height) * src.width;
        for (let c = 0; c < size; c++) out[r * size + c] = b[sr + mirror(c, src.width)];
      }
      return out;
    }),
  });
}

/** The score stage of the calling-thread run by part, Mpx/s of output pixels (wall ms on that thread). */
function printParts(ms: KernelTimes, mpx: number): void {
  const part = (label: string, keys: (keyof KernelTimes)[]) => {
    const t = keys.reduce((a, k) => a + (ms[k] ?? 0), 0);
    return `${label} ${(t / 1000).toFixed(1)} s = ${(mpx / (t / 1000)).toFixed(1)} Mpx/s`;
  };
  const asked = (ms.askedPx ?? 0) / 1e6;
  const trees = (ms.trees ?? 0) / 1000;
  console.log(`score by part (workers 0, wall on the scoring thread): ${[
    part('per-pixel pass', ['pixels', 'smooth', 'types']),
    part('features', ['features']),
    part('gate', ['gate', 'rescue']),
    part('trees', ['trees']),
  ].join('; ')} (${(asked / trees).toFixed(1)} Mpx/s per pixel asked, ${((100 * asked) / mpx).toFixed(1)} % asked); all ${part('', ['pixels', 'smooth', 'types', 'features', 'gate', 'trees', 'rescue']).trim()}`);
}

/** One run's line of the table, as a child process reports it (its last stdout line, JSON). */
interface RunRow {
  row: string;
  stages: string;
  sig: string;
  wall: number;
  parts: KernelTimes | null;
}

/** The child's side: one detectPair of the cached pair with `workers` score workers, reported as RunRow. */
async function runOne(workers: number, size: number, files: string[]): Promise<RunRow> {
  const [before, after] = await Promise.all(files.map((f) => catalogueTiles([f], { bands: BANDS })));
  // The calling thread's run: its scorePixels calls report their kernels here.
  const ms: KernelTimes = {};
  recordKernelTimes(workers === 0 ? ms : null);
  const reader = await openTile(after.tiles[0]);
  const mosaic = await openMosaic(before.tiles);
  const t0 = performance.now();
  try {
    const params = { ...DEFAULT_DETECTOR_PARAMS };
    // detectTile's driver, which also hands back the score raster compared across runs.
    const { detection: r, rasters } = await detectPair(tilePair(reader, mosaic), { params, bands: BANDS, model: modelFor(params, BANDS), scoreWorkers: workers });
    const wall = (performance.now() - t0) / 1000;
    const sig = createHash('sha256').update(new Uint8Array(rasters.score.buffer)).update(JSON.stringify(r.detections.map((d) => d.geometry))).digest('hex');
    const st = r.timings;
    const stages = Object.entries(st).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
    // This process's peak: the run's own (it is the only one here).
    const peak = (process.resourceUsage().maxRSS * 1024) / 1024 ** 3;
    const row = [String(workers).padStart(7), wall.toFixed(1).padStart(8), ((size * size) / 1e6 / wall).toFixed(2).padStart(7), peak.toFixed(2).padStart(9), (st.read ?? 0).toFixed(1).padStart(5), (st.score ?? 0).toFixed(1).padStart(6), (st.clouds ?? 0).toFixed(1).padStart(7), String(r.detections.length).padStart(9)].join(' ');
    return { row, stages, sig, wall, parts: workers === 0 ? ms : null };
  } finally {
    recordKernelTimes(null);
    await Promise.allSettled([reader.close(), mosaic.close()]);
  }
}

async function main(): Promise<void> {
  const size = Number(flag('size', '4096'));
  const city = flag('city', 'beirut');
  const data = flag('data', '../shared/data');
  const cache = flag('cache', '/tmp/tuban-bench/learned');
  const counts = flag('workers', 'default,0').split(',').map((v) => (v === 'default' ? defaultScoreWorkers() : Number(v)));
  const dir = join(cache, `${city}-${size}`);
  const files = [join(dir, 'before.tif'), join(dir, 'after.tif')];
  const one = flag('run-one', '');
  if (one !== '') {
    console.log(JSON.stringify(await runOne(Number(one), size, files)));
    return;
  }
  if (!files.every(existsSync)) {
    mkdirSync(dir, { recursive: true });
    const scene = await readOscdCity(join(data, 'oscd'), city);
    await writeMirrored(files[0], scene.before, size, '2016-06-01');
    await writeMirrored(files[1], scene.after, size, '2017-06-01');
  }
  console.log(`${city} mirrored to ${size}² (${((size * size) / 1e6).toFixed(1)} Mpx, 6 bands), ${availableParallelism()} cores, default score workers ${defaultScoreWorkers()}, load ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log('workers   wall s   Mpx/s  peak GiB  read  score  clouds  polygons  identical  stages');
  let firstWall: number | null = null;
  let reference: string | null = null;
  let parts: KernelTimes | null = null;
  for (const workers of counts) {
    // Each run in a process of its own, so its peak RSS is its own (a high-water mark never falls,
    // and a second run in the same process would count the first one's garbage too).
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--run-one', String(workers), '--size', String(size), '--city', city, '--cache', cache], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
    const last = child.stdout.trim().split('\n').pop() ?? '';
    if (child.status !== 0 || !last.startsWith('{')) throw new Error(`bench-learned: the run with ${workers} workers failed (exit ${child.status}): ${child.stdout.slice(-2000)}`);
    const r = JSON.parse(last) as RunRow;
    reference ??= r.sig;
    firstWall ??= r.wall;
    console.log(`${r.row} ${String(r.sig === reference).padStart(10)}  ${r.stages}`);
    if (workers === 0) parts = r.parts;
  }
  if (parts) printParts(parts, (size * size) / 1e6);
  if (flag('peer', 'on') !== 'off') {
    const a = peerA(size);
    if (!a) console.log(`peer A: no 4-band peer scene of ${size}² (make_data.sh builds 1024, 4096, 10980) or no python3/rasterio: not run`);
    else console.log(`peer A, 4-band ${size}² pair, same run: ${a.wallS.toFixed(1)} s, ${a.peakRssGiB.toFixed(2)} GiB; learned (first row) / peer A = ${(firstWall! / a.wallS).toFixed(2)}× (load ${loadavg().map((v) => v.toFixed(2)).join(' ')})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
