/**
 * How imagery tile cutting delays everyone else's requests on a running `tuban serve` (stop 40):
 * one client times the page's own API calls (the inbox list, its counts, the map's polygons of
 * the view) back-to-back, first alone, then while C clients pan the month's imagery (distinct
 * tiles over z12–z17, after and before, as MapLibre asks: a cold tile cache, every tile cut).
 * Prints p50/p95 of the API calls in each phase and the tiles per second. Requests go to the
 * given base URL; run it in its own process, so its fetches do not share the server's thread.
 *
 *   node dist/scripts/bench-imagery-load.js --base http://127.0.0.1:8080 --token T [--clients 6] [--seconds 20]
 */
import { parseFlags, one } from '../cli/args.js';

const { flags } = parseFlags(process.argv.slice(2));
const base = one(flags, 'base') ?? 'http://127.0.0.1:8080';
const token = one(flags, 'token') ?? '';
const clients = Number(one(flags, 'clients') ?? '6');
const seconds = Number(one(flags, 'seconds') ?? '20');
const headers = { authorization: `Bearer ${token}` };

async function get(url: string): Promise<{ status: number; bytes: number }> {
  const r = await fetch(base + url, { headers });
  const b = await r.arrayBuffer();
  if (r.status >= 400) throw new Error(`${url}: ${r.status} ${Buffer.from(b).toString('utf8', 0, 200)}`);
  return { status: r.status, bytes: b.byteLength };
}

function tileOf(z: number, lon: number, lat: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const { epochs } = JSON.parse(Buffer.from(await (await fetch(`${base}/api/imagery/epochs`, { headers })).arrayBuffer()).toString()) as { epochs: { epoch: string; bounds: [number, number, number, number] | null }[] };
const month = epochs.find((e) => e.bounds);
if (!month?.bounds) throw new Error('no month with imagery the caller may see');
const [w, s, e, n] = month.bounds;
const epoch = month.epoch;
const bbox = [w, s, e, n].map((v) => v.toFixed(6)).join(',');
const apiCalls = [`/api/polygons?epoch=${epoch}&sort=due&limit=500&view=list`, `/api/inbox/counts?epoch=${epoch}`, `/api/map/polygons.geojson?bbox=${bbox}&zoom=13&epoch=${epoch}`];

/** Every tile of the month's bounds at z12–z17, both sides, in the order a pan over the zooms asks for them (row by row, zoom by zoom). */
const pan: string[] = [];
for (let z = 12; z <= 17; z++) {
  // (the first tile above is cut again here under its own key only if the pan reaches it; one tile of hundreds)
  const [x0, y0] = tileOf(z, w, n);
  const [x1, y1] = tileOf(z, e, s);
  for (const side of ['after', 'before']) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) pan.push(`/api/imagery/${epoch}/${side}/${z}/${x}/${y}.png`);
}

async function timeApi(stopAt: number): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = { list: [], counts: [], map: [] };
  const keys = Object.keys(out);
  while (performance.now() < stopAt) {
    for (let k = 0; k < apiCalls.length; k++) {
      const t = performance.now();
      await get(apiCalls[k]);
      out[keys[k]].push(performance.now() - t);
    }
  }
  return out;
}

function report(label: string, r: Record<string, number[]>): void {
  const all = Object.values(r).flat();
  const parts = Object.entries(r).map(([k, v]) => `${k} p50 ${quantile(v, 0.5).toFixed(1)} p95 ${quantile(v, 0.95).toFixed(1)}`);
  console.log(`${label}: ${all.length} calls, all p50 ${quantile(all, 0.5).toFixed(1)} ms p95 ${quantile(all, 0.95).toFixed(1)} ms (${parts.join('; ')})`);
}

// The first tile after a start (run this on a fresh server): the middle of the month at z14.
{
  const [x, y] = tileOf(14, (w + e) / 2, (s + n) / 2);
  const t = performance.now();
  const r = await get(`/api/imagery/${epoch}/after/14/${x}/${y}.png`);
  console.log(`first tile: ${(performance.now() - t).toFixed(1)} ms (${r.status}, ${r.bytes} B)`);
}
await get(apiCalls[0]); // the first query's plan and caches are not what is measured
report('API alone', await timeApi(performance.now() + seconds * 1000));

let next = 0;
let served = 0;
let bytes = 0;
const tileMs: number[] = [];
const t0 = performance.now();
const stopAt = t0 + seconds * 1000;
const panner = async () => {
  while (performance.now() < stopAt && next < pan.length) {
    const url = pan[next++];
    const t = performance.now();
    const r = await get(url);
    tileMs.push(performance.now() - t);
    served++;
    bytes += r.bytes;
  }
};
const [api] = await Promise.all([timeApi(stopAt), ...Array.from({ length: clients }, panner)]);
const tileS = (performance.now() - t0) / 1000;
report(`API under ${clients} panning clients`, api);
console.log(`tiles: ${served} of ${pan.length} in ${tileS.toFixed(1)} s = ${(served / tileS).toFixed(1)} tiles/s, p50 ${quantile(tileMs, 0.5).toFixed(1)} ms p95 ${quantile(tileMs, 0.95).toFixed(1)} ms, ${(bytes / 1024).toFixed(0)} kB`);
