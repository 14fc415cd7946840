/**
 * `npm run bench:api`: the triage API at scale over loopback, for the embedded (PGlite, in a temp
 * directory) and the server (PostgreSQL + PostGIS) database. For each: 100 000 synthetic polygons
 * (ten districts, four lead bureaus), users of three roles, the app of `tuban serve` (buildServeApp:
 * API, imagery plugin, vendor routes) listening on 127.0.0.1, then 20 concurrent users (12 bureau,
 * 5 district, 3 lead) in a child process, each looping inbox page → card → map tile of its own
 * (cold: no validator) → revalidation of its previous tile (warm: If-None-Match, 304) until the
 * time or request budget is spent. Prints database × endpoint → n, p50, p95, p99, req/s, mean
 * response bytes against the targets (p95 ≤ 100 ms inbox page, ≤ 50 ms tile), the server process's
 * CPU time per request (and the PostgreSQL backends' where the server is local), and writes
 * bench-results/api.json.
 *
 *   npm run bench:api [-- --polygons 100000 --users 20 --seconds 20 --rounds 1000 --think-ms 0 --sort due|code|confidence
 *                        --maintain-ms 10000 --only embedded|postgres --db postgres://…
 *                        --tile auto|mvt|geojson|full --warm 1|0]
 *
 * --tile: auto (default) takes what GET /api/map/layer offers, as the page does: vector tiles
 * (`/api/map/tiles/z/x/y.pbf`, ST_AsMVT) on PostgreSQL, GeoJSON by the tile's bbox
 * (`/api/map/polygons.geojson?bbox=…&zoom=14`) on PGlite; `full` is the API's full-property
 * `/api/polygons.geojson?bbox=…` (what the map read before vector tiles).
 *
 * --think-ms 0 (the default) sends each user's next request as soon as the last one answered: a
 * closed-loop stress test, 20 requests always in flight. A pause (e.g. 1000) is closer to people.
 *
 * The server database: --db, else DATABASE_URL, else TUBAN_TEST_DATABASE_URL (a fresh schema is
 * created there and dropped afterwards); with none, this script runs its PostgreSQL half again
 * under scripts/test-servers.mjs (a throwaway PostgreSQL 15 + PostGIS on a free port).
 * The imagery tile is not timed: the synthetic polygons have no imagery behind them.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import type { Database } from '../pipeline/store/queryable.js';
import type { Role } from '../server/access/roles.js';
import { loadCalendar } from '../server/deadlines/calendar.js';
import { DEFAULT_DEADLINES } from '../server/deadlines/rules.js';
import { buildServeApp } from '../server/serve-app.js';
import { PASSWORD, addUsers, insertSyntheticPolygons } from '../server/testing/fixtures.js';
import { ENDPOINTS, type Endpoint, type LoadInput, type LoadOutput } from './bench-api-load.js';

type Kind = 'embedded' | 'postgres';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const N = Number(arg('polygons') ?? 100_000);
const USERS = Number(arg('users') ?? 20);
const SECONDS = Number(arg('seconds') ?? 20);
const ROUNDS = Number(arg('rounds') ?? 1000);
const THINK_MS = Number(arg('think-ms') ?? 0);
/** The inbox order: the page's default (overdue first, then the nearest deadline), or code / confidence. */
const SORT = arg('sort') ?? 'due';
/** How often a read triggers the case sync and deadline sweep (the server's default: 10 s). */
const MAINTAIN_MS = arg('maintain-ms') === undefined ? undefined : Number(arg('maintain-ms'));
const ONLY = arg('only') as Kind | undefined;
const PART = arg('part'); // set when re-run under test-servers.mjs: write this half's result there
const PG_URL = arg('db') ?? process.env.DATABASE_URL ?? process.env.TUBAN_TEST_DATABASE_URL;
const TILE = arg('tile') ?? 'auto';
const WARM = (arg('warm') ?? '1') !== '0';
const TARGET_P95_MS: Record<Endpoint, number | null> = { inbox: 100, card: null, tile_cold: 50, tile_warm: 50 };
const TILE_URLS: Record<string, string> = {
  mvt: '/api/map/tiles/{z}/{x}/{y}.pbf',
  geojson: '/api/map/polygons.geojson?bbox={bbox}&zoom={z}',
  full: '/api/polygons.geojson?bbox={bbox}',
};
const BUREAUS = ['natural_resources', 'forestry', 'water', 'urban_management'];
const DISTRICTS = ['370101', '370102'];
/** The extent `insertSyntheticPolygons` fills: a 300-column grid of 0.001° cells from (117, 36). */
const extentOf = (n: number): [number, number, number, number] => [117, 36, 117.3, 36 + Math.ceil(n / 300) * 0.001];
const ZOOM = 14;

if (TILE !== 'auto' && !TILE_URLS[TILE]) throw new Error(`--tile must be auto, mvt, geojson or full, got '${TILE}'`);
if (ONLY && ONLY !== 'embedded' && ONLY !== 'postgres') throw new Error(`--only must be embedded or postgres, got '${ONLY}'`);
if (MAINTAIN_MS !== undefined && !(MAINTAIN_MS >= 0)) throw new Error('--maintain-ms must be 0 or more');
if (!Number.isFinite(THINK_MS) || THINK_MS < 0) throw new Error('--think-ms must be 0 or more');
if (!['due', 'code', 'confidence'].includes(SORT)) throw new Error('--sort must be due, code or confidence');
for (const [k, v] of [['polygons', N], ['users', USERS], ['seconds', SECONDS], ['rounds', ROUNDS]] as const) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
}

interface EndpointStats { n: number; p50_ms: number; p95_ms: number; p99_ms: number; req_per_s: number; mean_bytes: number; target_p95_ms: number | null; met: boolean | null }
interface DbResult {
  db: Kind;
  polygons: number;
  users: number;
  think_ms: number;
  maintain_every_ms: number;
  tile_format: string;
  warm_misses: number;
  /** CPU time (user + system) of this process (HTTP server, and PGlite's WebAssembly) per request. */
  server_cpu_ms_per_req: number;
  /** CPU time of the PostgreSQL backends serving the load per request (local server only). */
  postgres_cpu_ms_per_req: number | null;
  seed_ms: number;
  first_sync_ms: number;
  wall_s: number;
  total_req_per_s: number;
  endpoints: Record<Endpoint, EndpointStats>;
  errors: string[];
  loadavg_before: number[];
  loadavg_after: number[];
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);
const r1 = (v: number) => Math.round(v * 10) / 10;
const since = (t: number) => Math.round(performance.now() - t);

/** Who the C simulated users are: 60 % bureau staff, 25 % district, 15 % lead bureau. */
function accounts(c: number): { users: [string, Role, string?][]; clients: string[] } {
  const users: [string, Role, string?][] = [
    ...BUREAUS.map((b) => [`b_${b}`, 'bureau', b] as [string, Role, string]),
    ...DISTRICTS.map((d) => [`d_${d}`, 'district', d] as [string, Role, string]),
    ['lead', 'lead'],
  ];
  const clients = Array.from({ length: c }, (_, u) => {
    const slot = u % 20;
    if (slot < 12) return `b_${BUREAUS[u % BUREAUS.length]}`;
    if (slot < 17) return `d_${DISTRICTS[u % DISTRICTS.length]}`;
    return 'lead';
  });
  return { users, clients };
}

/** utime + stime (ms) of each PostgreSQL backend of this database, read from /proc (null when the server is not local). */
async function backendCpu(db: Database): Promise<Map<number, number> | null> {
  if (db.kind !== 'postgres') return null;
  try {
    const pids = (await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')).rows.map((r) => r.pid);
    const out = new Map<number, number>();
    for (const pid of pids) {
      // Fields after the parenthesised command: state is field 3, utime 14, stime 15 (clock ticks, 100 Hz).
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) * 10);
    }
    return out;
  } catch {
    return null;
  }
}

async function benchOne(kind: Kind, db: Database): Promise<DbResult> {
  const loadBefore = loadavg().map(r1);
  let t = performance.now();
  await insertSyntheticPolygons(db, N);
  const seedMs = since(t);
  console.error(`[bench:api] ${kind}: ${N} polygons inserted in ${seedMs} ms`);
  const { users, clients } = accounts(USERS);
  await addUsers(db, users);
  const dataDir = await mkdtemp(join(tmpdir(), 'tuban-bench-api-data-'));
  const { app } = await buildServeApp({
    db,
    dataDir,
    secret: Buffer.from('bench-api-secret-bench-api-secret-0123'),
    deadlines: { rules: DEFAULT_DEADLINES, calendar: await loadCalendar() },
    maintainEveryMs: MAINTAIN_MS,
  });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const token = new Map<string, string>();
    for (const [name] of users) {
      const r = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: PASSWORD }) });
      if (r.status !== 200) throw new Error(`sign-in of ${name}: ${r.status} ${await r.text()}`);
      token.set(name, ((await r.json()) as { token: string }).token);
    }
    // The first read creates a case (status, due date) for every new batch polygon: a one-off per batch.
    t = performance.now();
    const first = await fetch(`${base}/api/polygons?limit=1`, { headers: { authorization: `Bearer ${token.get('lead')}` } });
    if (first.status !== 200) throw new Error(`first read: ${first.status} ${await first.text()}`);
    const firstSyncMs = since(t);
    console.error(`[bench:api] ${kind}: first read (cases for ${N} polygons) ${firstSyncMs} ms`);
    // Statistics as autovacuum would have them on a server some minutes after the batch.
    await db.query('ANALYZE');
    // The tile source the page would take (GET /api/map/layer), unless --tile names one.
    let format = TILE;
    if (format === 'auto') {
      const r = await fetch(`${base}/api/map/layer`, { headers: { authorization: `Bearer ${token.get('lead')}` } });
      format = ((await r.json()) as { format: string }).format;
    }
    const input: LoadInput = { base, tokens: clients.map((c) => token.get(c)!), seconds: SECONDS, rounds: ROUNDS, extent: extentOf(N), zoom: ZOOM, thinkMs: THINK_MS, tileUrl: TILE_URLS[format], warm: WARM, sort: SORT, epoch: '2026-10' /* insertSyntheticPolygons' month */ };
    console.error(`[bench:api] ${kind}: ${USERS} users for ${SECONDS} s (at most ${ROUNDS} rounds each, ${THINK_MS} ms pause after each request), tiles ${format}${WARM ? ' cold + warm' : ''}…`);
    const pgBefore = await backendCpu(db);
    const cpuBefore = process.cpuUsage();
    const out = await new Promise<LoadOutput>((resolve, reject) => {
      const child = fork(fileURLToPath(new URL('./bench-api-load.js', import.meta.url)), [], { stdio: 'inherit' });
      child.once('message', (m) => resolve(m as LoadOutput));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load generator exited ${code}`))));
      child.send(input);
    });
    const cpu = process.cpuUsage(cpuBefore);
    const pgAfter = await backendCpu(db);
    const pgCpuMs = pgBefore && pgAfter ? [...pgAfter].reduce((a, [pid, ms]) => a + ms - (pgBefore.get(pid) ?? 0), 0) : null;
    const endpoints = {} as Record<Endpoint, EndpointStats>;
    for (const e of ENDPOINTS) {
      const s = [...out.samples[e]].sort((a, b) => a - b);
      if (s.length === 0) continue;
      const target = TARGET_P95_MS[e];
      const p95 = pct(s, 0.95);
      endpoints[e] = { n: s.length, p50_ms: r1(pct(s, 0.5)), p95_ms: r1(p95), p99_ms: r1(pct(s, 0.99)), req_per_s: r1(s.length / out.wallS), mean_bytes: Math.round(out.bytes[e] / s.length), target_p95_ms: target, met: target === null ? null : p95 <= target };
    }
    const total = Object.values(out.samples).reduce((a, s) => a + s.length, 0);
    return {
      db: kind, polygons: N, users: USERS, think_ms: THINK_MS, maintain_every_ms: MAINTAIN_MS ?? 10_000, tile_format: format, warm_misses: out.warmMisses,
      server_cpu_ms_per_req: r1((cpu.user + cpu.system) / 1000 / Math.max(1, total)), postgres_cpu_ms_per_req: pgCpuMs === null ? null : r1(pgCpuMs / Math.max(1, total)),
      seed_ms: seedMs, first_sync_ms: firstSyncMs, wall_s: r1(out.wallS), total_req_per_s: r1(total / out.wallS),
      endpoints, errors: out.errors, loadavg_before: loadBefore, loadavg_after: loadavg().map(r1),
    };
  } finally {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function embedded(): Promise<DbResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tuban-bench-api-pglite-'));
  const db = await openDatabase(dir);
  try {
    await migrate(db);
    return await benchOne('embedded', db);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function postgres(url: string): Promise<DbResult> {
  const schema = `tuban_bench_api_${process.pid}_${Date.now()}`;
  const db = await openDatabase(url, { schema });
  try {
    await migrate(db);
    return await benchOne('postgres', db);
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.close();
  }
}

/** No server given: the PostgreSQL half again, under the throwaway servers of test-servers.mjs. */
async function postgresThrowaway(): Promise<DbResult> {
  const part = join(await mkdtemp(join(tmpdir(), 'tuban-bench-api-')), 'postgres.json');
  const harness = fileURLToPath(new URL('../../scripts/test-servers.mjs', import.meta.url));
  const self = fileURLToPath(import.meta.url);
  const args = [harness, '--', process.execPath, self, '--only', 'postgres', '--part', part,
    '--polygons', String(N), '--users', String(USERS), '--seconds', String(SECONDS), '--rounds', String(ROUNDS), '--think-ms', String(THINK_MS), '--sort', SORT, '--tile', TILE, '--warm', WARM ? '1' : '0',
    ...(MAINTAIN_MS === undefined ? [] : ['--maintain-ms', String(MAINTAIN_MS)])];
  const code = await new Promise<number>((res) => spawn(process.execPath, args, { stdio: 'inherit' }).once('exit', (c) => res(c ?? 1)));
  if (code !== 0) throw new Error(`the PostgreSQL run under test-servers.mjs exited ${code}`);
  const result = JSON.parse(await readFile(part, 'utf8')) as DbResult;
  await rm(dirname(part), { recursive: true, force: true });
  return result;
}

function table(results: DbResult[]): string {
  const head = ['database', 'endpoint', 'n', 'p50 ms', 'p95 ms', 'p99 ms', 'req/s', 'bytes', 'target p95', 'met'];
  const label = (e: Endpoint, r: DbResult) => (e === 'inbox' ? `inbox page (100, sort=${SORT})` : e === 'card' ? 'card' : `z14 tile ${r.tile_format}, ${e === 'tile_cold' ? 'cold' : 'warm (304)'}`);
  const rows = results.flatMap((r) =>
    (Object.entries(r.endpoints) as [Endpoint, EndpointStats][]).map(([e, s]) => [
      r.db, label(e, r),
      String(s.n), String(s.p50_ms), String(s.p95_ms), String(s.p99_ms), String(s.req_per_s), String(s.mean_bytes),
      s.target_p95_ms === null ? '—' : `≤ ${s.target_p95_ms} ms`, s.met === null ? '—' : s.met ? 'met' : 'NOT met',
    ]),
  );
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  if (ONLY === 'postgres' && PART) {
    if (!PG_URL) throw new Error('--part needs a PostgreSQL URL (run under scripts/test-servers.mjs)');
    await writeFile(PART, JSON.stringify(await postgres(PG_URL)));
    return;
  }
  const results: DbResult[] = [];
  if (ONLY !== 'postgres') results.push(await embedded());
  if (ONLY !== 'embedded') results.push(PG_URL ? await postgres(PG_URL) : await postgresThrowaway());
  console.log(table(results));
  for (const r of results) {
    console.log(`${r.db}: seed ${N} polygons ${r.seed_ms} ms, first read (case creation) ${r.first_sync_ms} ms, ${r.total_req_per_s} req/s over ${r.wall_s} s (${r.users} users, ${r.think_ms} ms pause), load ${r.loadavg_before.join('/')} → ${r.loadavg_after.join('/')}`);
    console.log(`${r.db}: CPU per request: server process ${r.server_cpu_ms_per_req} ms${r.postgres_cpu_ms_per_req === null ? '' : `, PostgreSQL backends ${r.postgres_cpu_ms_per_req} ms`}; warm revalidations answered 200: ${r.warm_misses}`);
    if (r.errors.length) console.log(`${r.db}: ${r.errors.length} failed requests, e.g. ${r.errors[0]}`);
  }
  const out = fileURLToPath(new URL('../../bench-results/api.json', import.meta.url));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model, results }, null, 2) + '\n');
  console.log(`written ${out}`);
  if (results.some((r) => r.errors.length)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
