/**
 * Speed benchmark against the peers, in ONE run (the machine is shared and noisy: compare ratios,
 * not absolute seconds). For each size of the seeded peer scene (../shared/bench/make_data.sh,
 * 4-band uint16 deflate COGs, EPSG:32650, 10 m) it runs, `--repeat` times each:
 *   Tuban   node dist/cli/tuban.js batch … (whole process under /usr/bin/time -v)
 *   peer A  rasterio + numpy + scipy + shapely  (../shared/bench/peer_a.py)
 *   peer B  GDAL command line + SpatiaLite     (../shared/bench/peer_b.sh)
 * and prints wall seconds, peak RSS (GiB), Tuban/peer ratios and, per Tuban stage (from its
 * batch-report.json), seconds, megapixels/s and share of the run's wall time, with the read stage set
 * against the decode limit measured in the same run (scripts/bench-decode.ts: both epochs decoded by
 * the same reader on every core, nothing else running). The load average is printed with each run:
 * the machine is shared. With --eval, scores each output against the ground truth.
 * Results go to bench-results/speed.json.
 *
 *   npm run bench -- [--sizes 4096,10980] [--repeat N] [--tools tuban,peerA,peerB] [--eval]
 *                    [--data DIR (default $BENCH_DATA or /tmp/tuban-bench/data)] [--out FILE]
 *                    [--params JSON (tuban batch --detector-params)]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type RunResult, type ThreadStat, type ToolSummary, cpuByThreadName, errorLine, median, parseThreadStat, parseTimeV } from './bench-lib.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = resolve(ROOT, '..', 'shared', 'bench');
const TUBAN_CLI = join(ROOT, 'dist', 'cli', 'tuban.js');
const DECODE_PROBE = join(ROOT, 'dist', 'scripts', 'bench-decode.js');
const PY = '/usr/bin/python3';
const TIME = '/usr/bin/time';

type Tool = 'tuban' | 'peerA' | 'peerB';

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timed?: boolean; inherit?: boolean; spawned?: (pid: number) => void } = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res, rej) => {
    const [c, a] = opts.timed ? [TIME, ['-v', cmd, ...args]] : [cmd, args];
    const p = spawn(c, a, { env: { ...process.env, ...opts.env }, stdio: opts.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    if (p.pid !== undefined) opts.spawned?.(p.pid);
    let out = '';
    let err = '';
    p.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? 1, out, err }));
  });
}

function need(path: string, what: string): void {
  if (!existsSync(path)) throw new Error(`${what} not found at ${path}`);
}

async function ensureData(data: string, sizes: number[]): Promise<void> {
  const missing = sizes.filter((s) => !['before.tif', 'after.tif', 'gt.tif', 'zones.geojson', 'zones.gpkg'].every((f) => existsSync(join(data, String(s), f))));
  if (!missing.length) return;
  need(join(SHARED, 'make_data.sh'), 'the peer benchmark data builder (../shared/bench/make_data.sh)');
  console.log(`bench data for ${missing.join(', ')} missing under ${data}: running make_data.sh (the full scene takes ~5 min, ~4 GB disk)…`);
  const r = await run('bash', [join(SHARED, 'make_data.sh')], { env: { BENCH_DATA: data }, inherit: true });
  if (r.code !== 0) throw new Error(`make_data.sh failed with exit code ${r.code}`);
}

/** Tuban's catalogue reads one epoch per directory and dates from names: stage symlinks accordingly. */
function stageTubanInputs(data: string, size: number, work: string): { tiles: string; prior: string } {
  const tiles = join(work, 'in', String(size), 'current');
  const prior = join(work, 'in', String(size), 'prior');
  for (const [dir, src, name] of [[tiles, 'after.tif', 'T50SMF_20261008_after.tif'], [prior, 'before.tif', 'T50SMF_20260906_before.tif']] as const) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    symlinkSync(join(data, String(size), src), join(dir, name));
  }
  return { tiles, prior };
}

/**
 * A district layer over the whole peer scene (make_data.sh: 10980² at 10 m from (499980, 4100040),
 * EPSG:32650; the smaller sizes are windows of it): `tuban batch` stops without districts, and the
 * peers route by zone kind only, so one district for every polygon is the like-for-like job.
 */
function benchDistricts(work: string): string {
  const path = join(work, 'districts.geojson');
  const [x0, y1, side] = [499980, 4100040, 109800];
  const ring = [[x0, y1], [x0 + side, y1], [x0 + side, y1 - side], [x0, y1 - side], [x0, y1]];
  writeFileSync(path, JSON.stringify({
    type: 'FeatureCollection',
    crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::32650' } },
    features: [{ type: 'Feature', properties: { kind: 'district', code: '370102', name: 'bench scene' }, geometry: { type: 'Polygon', coordinates: [ring] } }],
  }));
  return path;
}

/** Extra `tuban batch` flags (--params → --detector-params), set once from the command line. */
let tubanFlags: string[] = [];

async function runTuban(data: string, size: number, work: string, k: number): Promise<TubanRun> {
  const { tiles, prior } = stageTubanInputs(data, size, work);
  const out = join(work, `tuban_${size}_${k}`);
  // A monthly user's database already exists: initialise it untimed (PGlite's first start runs
  // initdb and loads PostGIS, ~13 s once), then time the batch itself. Each repeat gets a fresh one.
  const db = join(work, `tuban_db_${size}_${k}`);
  rmSync(out, { recursive: true, force: true });
  rmSync(db, { recursive: true, force: true });
  const init = await run('node', [TUBAN_CLI, 'migrate', '--db', db]);
  if (init.code !== 0) return { wallS: NaN, peakRssGiB: NaN, ok: false, error: `tuban migrate: ${errorLine(init.err)}` };
  const started = Date.now();
  let threads: ThreadSampler | undefined;
  const r = await run('node', [TUBAN_CLI, 'batch', '--epoch', '2026-10', '--tiles', tiles, '--prior', prior, '--zones', join(data, String(size), 'zones.geojson'), benchDistricts(work), '--out', out, '--db', db, ...tubanFlags], { timed: true, spawned: (pid) => { threads = sampleThreads(pid); } });
  const ended = Date.now();
  const threadCpu = threads?.stop();
  const t = parseTimeV(r.err);
  const res: TubanRun = { wallS: t?.wallS ?? NaN, peakRssGiB: t?.peakRssGiB ?? NaN, ok: r.code === 0 && t !== null };
  if (!res.ok) res.error = `exit ${r.code}: ${errorLine(r.err)}`;
  const reportPath = join(out, 'batch-report.json');
  if (existsSync(reportPath)) {
    const rep = JSON.parse(readFileSync(reportPath, 'utf8')) as { timings?: Record<string, number>; megapixelsPerSecond?: Record<string, number>; counts?: { polygons?: number }; tiles?: { timings?: Record<string, number> }[] };
    res.stages = rep.timings;
    res.megapixelsPerSecond = rep.megapixelsPerSecond;
    res.polygons = rep.counts?.polygons;
    const tileStaged = (rep.tiles ?? []).reduce((acc, tile) => acc + Object.values(tile.timings ?? {}).reduce((a, v) => a + v, 0), 0);
    res.untimed = untimedParts(r.err, started, ended, tileStaged, rep.timings ?? {});
  }
  if (threadCpu?.length) res.threadCpuS = Object.fromEntries(threadCpu.map(([name, cpu]) => [name, Math.round(cpu * 100) / 100]));
  return res;
}

/** A Tuban run with its untimed wall split up (untimedParts) and its CPU seconds by thread (sampleThreads). */
type TubanRun = RunResult & { untimed?: Record<string, number>; threadCpuS?: Record<string, number> };

interface ThreadSampler {
  /** Stops sampling; CPU seconds by thread name (cpuByThreadName), empty without /proc. */
  stop(): [string, number][];
}

// Linux's USER_HZ (100 nearly everywhere); getconf may be missing (then stdout is null).
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/**
 * Samples every 0.1 s the threads of the process `/usr/bin/time` (pid `timePid`) runs: Tuban's
 * workers name themselves (pipeline/thread-name.ts), so the run's CPU splits into scoring, inflate,
 * the database, the main thread and V8's own. A thread that ends between samples loses its last
 * 0.1 s at most.
 */
function sampleThreads(timePid: number): ThreadSampler {
  const samples: ThreadStat[][] = [];
  let pid: number | undefined;
  const read = (path: string): string | null => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  };
  const timer = setInterval(() => {
    pid ??= Number(read(`/proc/${timePid}/task/${timePid}/children`)?.trim().split(/\s+/)[0]) || undefined;
    if (pid === undefined) return;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return; // ended
    }
    samples.push(tids.flatMap((tid) => {
      const t = parseThreadStat(read(`/proc/${pid}/task/${tid}/stat`) ?? '', CLOCK_TICKS);
      return t ? [t] : [];
    }));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return pid === undefined ? [] : cpuByThreadName(samples, pid);
    },
  };
}

/**
 * Where the wall time outside Tuban's stages goes, from the batch's log lines (pino, stderr, epoch
 * ms) against the bench's own clock around the process: `startup` = process start, imports,
 * catalogue and plan (to "batch planned"); `tile` = the tile job outside its detector stages
 * (storing its detections and not-observed outline in the database, the wait for the database to
 * open); `gap` = from the last "tile done" to the finalise job's own clock; `exit` = after
 * "batch finalised", outputs excepted (summary, closing the database, process exit). Empty when
 * the log lines are missing.
 */
function untimedParts(stderr: string, started: number, ended: number, tileStaged: number, timings: Record<string, number>): Record<string, number> {
  const at: Record<string, number> = {};
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as { time?: number; msg?: string };
      if (typeof j.time === 'number' && j.msg) at[j.msg] = j.time; // the last of each kind
    } catch {
      // not a log line
    }
  }
  const planned = at['batch planned'];
  const tileDone = at['tile done'];
  const finalised = at['batch finalised'];
  if (planned === undefined || tileDone === undefined || finalised === undefined) return {};
  const finalise = timings.finalise ?? 0;
  return {
    startup: (planned - started) / 1000,
    tile: (tileDone - planned) / 1000 - tileStaged,
    gap: (finalised - tileDone) / 1000 - finalise,
    exit: (ended - finalised) / 1000 - (timings.outputs ?? 0),
  };
}

/** The decode limit beside a Tuban run: both epochs decoded by Tuban's reader on every core, nothing else. */
async function runDecodeProbe(data: string, size: number): Promise<DecodeProbe | null> {
  const d = join(data, String(size));
  const r = await run('node', [DECODE_PROBE, join(d, 'before.tif'), join(d, 'after.tif')]);
  if (r.code !== 0) return null;
  try {
    return JSON.parse(r.out.trim().split('\n').pop()!) as DecodeProbe;
  } catch {
    return null;
  }
}

interface DecodeProbe {
  seconds: number;
  tileMpxPerS: number;
  cpuS: number;
  workers: number;
}

/**
 * Tuban's stages as a table: seconds (summed over the tile's strips: in the strip stream, `read` is
 * the time the stream waited for decoded strips and `score` the time it waited for the score
 * workers), Mpx/s of the tile, and share of the run's wall time; the rest of the wall is start-up,
 * catalogue, database and outputs not timed as a stage. Then the read stage against the decode limit.
 */
function stageTable(size: number, run: RunResult, probe: DecodeProbe | null): string[] {
  const mpx = (size * size) / 1e6;
  const stages = Object.entries(run.stages ?? {}).sort((a, b) => b[1] - a[1]);
  const lines = [`        ${'stage'.padEnd(11)}${'s'.padStart(7)}${'Mpx/s'.padStart(8)}${'of wall'.padStart(9)}`];
  let timed = 0;
  for (const [k, v] of stages) {
    timed += v;
    lines.push(`        ${k.padEnd(11)}${fmt(v, 2).padStart(7)}${fmt(v > 0 ? mpx / v : NaN, 1).padStart(8)}${`${fmt((100 * v) / run.wallS, 1)} %`.padStart(9)}`);
  }
  lines.push(`        ${'(untimed)'.padEnd(11)}${fmt(run.wallS - timed, 2).padStart(7)}${''.padStart(8)}${`${fmt((100 * (run.wallS - timed)) / run.wallS, 1)} %`.padStart(9)}`);
  const u = (run as TubanRun).untimed;
  if (u && Object.keys(u).length) {
    lines.push(`          of which: start-up, imports and plan ${fmt(u.startup, 2)} s; tile job outside its stages (storing detections, waiting for the database) ${fmt(u.tile, 2)} s;` +
      ` tile done → finalise ${fmt(u.gap, 2)} s; after finalise, outputs excepted (summary, closing, exit) ${fmt(u.exit, 2)} s`);
  }
  const cpu = (run as TubanRun).threadCpuS;
  if (cpu) {
    const total = Object.values(cpu).reduce((a, b) => a + b, 0);
    lines.push(`        CPU by thread ${fmt(total, 1)} s (${fmt(total / run.wallS, 2)} cores busy on average): ${Object.entries(cpu).map(([n, c]) => `${n} ${fmt(c, 2)}`).join(', ')}`);
  }
  const read = run.stages?.read;
  if (probe && read !== undefined) {
    lines.push(`        decode limit (both epochs, ${probe.workers} inflate workers, nothing else): ${fmt(probe.seconds, 2)} s, ${fmt(probe.tileMpxPerS, 1)} Mpx/s, ${fmt(probe.cpuS, 1)} CPU s;` +
      ` read stage ${fmt(read, 2)} s = ${fmt(read / probe.seconds, 2)}× the limit (${fmt(mpx / read, 1)} vs ${fmt(probe.tileMpxPerS, 1)} Mpx/s; waiting time only: decode overlaps scoring)`);
  }
  return lines;
}

async function runPeerA(data: string, size: number, work: string, k: number): Promise<RunResult> {
  const d = join(data, String(size));
  const log = join(work, `stages_a_${size}_${k}.jsonl`);
  rmSync(log, { force: true });
  const r = await run(PY, [join(SHARED, 'peer_a.py'), join(d, 'before.tif'), join(d, 'after.tif'), join(d, 'zones.geojson'), join(work, `a_${size}.geojson`), '--stages', log], { timed: true });
  const t = parseTimeV(r.err);
  const res: RunResult = { wallS: t?.wallS ?? NaN, peakRssGiB: t?.peakRssGiB ?? NaN, ok: r.code === 0 && t !== null };
  if (!res.ok) res.error = `exit ${r.code}: ${errorLine(r.err)}`;
  if (existsSync(log)) res.stages = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop()!) as Record<string, number>;
  return res;
}

async function runPeerB(data: string, size: number, work: string, k: number): Promise<RunResult> {
  const d = join(data, String(size));
  const log = join(work, `stages_b_${size}_${k}.txt`);
  rmSync(log, { force: true });
  const r = await run('bash', [join(SHARED, 'peer_b.sh'), join(d, 'before.tif'), join(d, 'after.tif'), join(d, 'zones.gpkg'), join(work, `b_${size}.geojson`)], { timed: true, env: { STAGES: log } });
  const t = parseTimeV(r.err);
  const res: RunResult = { wallS: t?.wallS ?? NaN, peakRssGiB: t?.peakRssGiB ?? NaN, ok: r.code === 0 && t !== null };
  if (!res.ok) res.error = `exit ${r.code}: ${errorLine(r.err)}`;
  if (existsSync(log)) {
    res.stages = Object.fromEntries(readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([k2, v]) => [k2, Number(v)]));
  }
  return res;
}

/** eval.py rasterises by a numeric `id` and reads `bureau`/`zone_kind`/`area_m2`: add them to Tuban's output. */
function evalCopyOfTuban(src: string, dst: string): void {
  const fc = JSON.parse(readFileSync(src, 'utf8')) as { features: Array<{ properties: Record<string, unknown> }> };
  fc.features.forEach((f, i) => {
    f.properties = { ...f.properties, id: i + 1, bureau: f.properties.lead_bureau ?? null, zone_kind: f.properties.zone_kind ?? null, area_m2: f.properties.area_m2 ?? null };
  });
  writeFileSync(dst, JSON.stringify(fc));
}

async function evaluate(data: string, size: number, out: string): Promise<unknown> {
  const r = await run(PY, [join(SHARED, 'eval.py'), join(data, String(size), 'gt.tif'), out]);
  if (r.code !== 0) return { error: r.err.split('\n').slice(-2).join(' ') };
  try {
    return (JSON.parse(r.out) as { A: unknown }).A;
  } catch {
    return { error: 'unparseable eval output' };
  }
}

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(d));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '4096,10980' },
      repeat: { type: 'string', default: '1' },
      tools: { type: 'string', default: 'tuban,peerA,peerB' },
      data: { type: 'string', default: process.env.BENCH_DATA ?? '/tmp/tuban-bench/data' },
      work: { type: 'string', default: process.env.BENCH_OUT ?? '/tmp/tuban-bench/out-node' },
      out: { type: 'string', default: join(ROOT, 'bench-results', 'speed.json') },
      eval: { type: 'boolean', default: false },
      // Passed to tuban batch as --detector-params (the unsupervised detector: '{"model":"unsupervised"}').
      params: { type: 'string' },
    },
  });
  if (values.params) tubanFlags = ['--detector-params', values.params];
  const sizes = values.sizes.split(',').map(Number);
  if (sizes.some((s) => ![1024, 4096, 10980].includes(s))) throw new Error(`--sizes: make_data.sh builds 1024, 4096 and 10980 only, got '${values.sizes}'`);
  const repeat = Math.max(1, Number(values.repeat) || 1);
  const tools = values.tools.split(',') as Tool[];
  need(SHARED, '../shared/bench (peer implementations and data builder)');
  need(TIME, '/usr/bin/time (Debian package `time`)');
  if (tools.includes('peerA') || tools.includes('peerB') || values.eval) need(PY, "Debian's python3 with GDAL/rasterio");
  if (tools.includes('tuban') && !existsSync(TUBAN_CLI)) {
    throw new Error(`Tuban CLI not built at ${TUBAN_CLI}: run \`npm run build\` (or drop it with --tools peerA,peerB)`);
  }
  const data = resolve(values.data);
  const work = resolve(values.work);
  mkdirSync(work, { recursive: true });
  await ensureData(data, sizes);

  const results: Record<string, Partial<Record<Tool, ToolSummary>>> = {};
  const probes: Record<string, DecodeProbe | null> = {};
  const loads: string[] = [];
  const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
  console.log(`${availableParallelism()} cores, load average ${load()} (1/5/15 min)`);
  const runners: Record<Tool, typeof runTuban> = { tuban: runTuban, peerA: runPeerA, peerB: runPeerB };
  for (const size of sizes) {
    results[size] = {};
    for (const tool of tools) {
      const runs: RunResult[] = [];
      // Interleaving would be fairer to drift, but each tool's runs back to back keep its files in page cache.
      for (let k = 0; k < repeat; k++) {
        process.stdout.write(`${size}² ${tool} run ${k + 1}/${repeat}… `);
        const r = await runners[tool](data, size, work, k);
        runs.push(r);
        const l = load();
        loads.push(`${size} ${tool} ${k + 1}: ${l}`);
        console.log(r.ok ? `${fmt(r.wallS, 2)} s, ${fmt(r.peakRssGiB, 2)} GiB (load ${l})` : `FAILED ${r.error ?? ''}`);
      }
      const ok = runs.filter((r) => r.ok);
      const summary: ToolSummary = { runs, wallS: median(ok.map((r) => r.wallS)), peakRssGiB: median(ok.map((r) => r.peakRssGiB)) };
      if (values.eval && ok.length) {
        const outPath = tool === 'tuban' ? join(work, `tuban_${size}_eval.geojson`) : join(work, `${tool === 'peerA' ? 'a' : 'b'}_${size}.geojson`);
        if (tool === 'tuban') evalCopyOfTuban(join(work, `tuban_${size}_${repeat - 1}`, 'polygons.geojson'), outPath);
        summary.eval = await evaluate(data, size, outPath);
      }
      results[size][tool] = summary;
      if (tool === 'tuban' && existsSync(DECODE_PROBE)) {
        process.stdout.write(`${size}² decode limit probe… `);
        probes[size] = await runDecodeProbe(data, size);
        console.log(probes[size] ? `${fmt(probes[size]!.seconds, 2)} s` : 'FAILED');
      }
    }
  }

  // Table
  console.log(`\n${'size'.padEnd(7)}${'tool'.padEnd(8)}${'wall s'.padStart(9)}${'peak GiB'.padStart(10)}${'Tuban/tool'.padStart(12)}${'RSS ratio'.padStart(11)}  px F1 / obj recall`);
  for (const size of sizes) {
    const t = results[size].tuban;
    for (const tool of tools) {
      const s = results[size][tool]!;
      const ratio = t?.wallS && s.wallS ? t.wallS / s.wallS : null;
      const rss = t?.peakRssGiB && s.peakRssGiB ? t.peakRssGiB / s.peakRssGiB : null;
      const ev = s.eval as { px_f1?: number; obj_recall?: number } | undefined;
      console.log(`${String(size).padEnd(7)}${tool.padEnd(8)}${fmt(s.wallS, 2).padStart(9)}${fmt(s.peakRssGiB, 2).padStart(10)}${(tool === 'tuban' ? '' : fmt(ratio, 2)).padStart(12)}${(tool === 'tuban' ? '' : fmt(rss, 2)).padStart(11)}  ${ev ? `${fmt(ev.px_f1, 3)} / ${fmt(ev.obj_recall, 3)}` : ''}`);
    }
    const tr = t?.runs.find((r) => r.ok);
    if (tr?.stages) for (const line of stageTable(size, tr, probes[size] ?? null)) console.log(line);
  }
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify({ when: new Date().toISOString(), cores: availableParallelism(), loads, sizes, repeat, data, results, decodeLimit: probes }, null, 1)}\n`);
  console.log(`\nresults: ${values.out}`);
  return Object.values(results).every((r) => Object.values(r).every((s) => s!.wallS !== null)) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
