/**
 * The load generator of `bench-api.ts`, run in a worker thread so the clients' own work (fetch,
 * JSON parsing) does not queue on the server's event loop: C users, each looping over an inbox page
 * of 100 (keyset paging, the page's own query), one card from that page and one map tile (the
 * polygon layer of a z14 tile as GeoJSON by bbox, as the page asks for it), with an optional pause
 * after each request, until the time or the request budget is spent. Requests go to 127.0.0.1 only. Posts the latency samples back.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface LoadInput {
  base: string;
  /** One bearer token per simulated user (20 users, roles mixed). */
  tokens: string[];
  seconds: number;
  /** Rounds per user at most (one round = inbox page + card + tile). */
  rounds: number;
  /** Lon/lat extent of the seeded polygons: tiles are drawn inside it. */
  extent: [number, number, number, number];
  zoom: number;
  /**
   * Mean pause after each request (a person reading the page), drawn uniformly from 0.5–1.5× and
   * each user starting at a random offset, so the users do not march in lockstep; 0 = back-to-back.
   */
  thinkMs: number;
}

export type Endpoint = 'inbox' | 'card' | 'tile';
export interface LoadOutput {
  samples: Record<Endpoint, number[]>;
  errors: string[];
  wallS: number;
}

/** The lon/lat bounds of slippy-map tile (z, x, y). */
function tileBbox(z: number, x: number, y: number): [number, number, number, number] {
  const n = 2 ** z;
  const lon = (i: number) => (i / n) * 360 - 180;
  const lat = (j: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * j) / n))) * 180) / Math.PI;
  return [lon(x), lat(y + 1), lon(x + 1), lat(y)];
}

function tileOf(z: number, lon: number, lat: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

async function run(input: LoadInput): Promise<LoadOutput> {
  const samples: Record<Endpoint, number[]> = { inbox: [], card: [], tile: [] };
  const errors: string[] = [];
  const [x0, y1] = tileOf(input.zoom, input.extent[0], input.extent[1]);
  const [x1, y0] = tileOf(input.zoom, input.extent[2], input.extent[3]);
  const stopAt = performance.now() + input.seconds * 1000;
  let seed = 13;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const timed = async (kind: Endpoint, url: string, token: string): Promise<string | null> => {
    const s = performance.now();
    const r = await fetch(input.base + url, { headers: { authorization: `Bearer ${token}` } });
    const body = await r.text();
    const ms = performance.now() - s;
    if (r.status !== 200) {
      if (errors.length < 20) errors.push(`${url}: ${r.status} ${body.slice(0, 160)}`);
      return null;
    }
    samples[kind].push(ms);
    if (input.thinkMs > 0) await pause(input.thinkMs * (0.5 + rnd()));
    return body;
  };
  const t0 = performance.now();
  await Promise.all(
    input.tokens.map(async (token, u) => {
      let cursor = '';
      if (input.thinkMs > 0) await pause(input.thinkMs * rnd());
      for (let k = 0; k < input.rounds && performance.now() < stopAt; k++) {
        const body = await timed('inbox', `/api/polygons?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token);
        const page = body ? (JSON.parse(body) as { features: { id: string }[]; next_cursor: string | null }) : null;
        cursor = page?.next_cursor ?? '';
        if (page?.features.length) await timed('card', `/api/polygons/${encodeURIComponent(page.features[(k * 7 + u) % page.features.length].id)}`, token);
        const x = x0 + ((u * 13 + k * 7) % (x1 - x0 + 1));
        const y = y0 + ((u * 11 + k * 5) % (y1 - y0 + 1));
        const b = tileBbox(input.zoom, x, y).map((v) => v.toFixed(6)).join(',');
        await timed('tile', `/api/polygons.geojson?bbox=${b}`, token);
      }
    }),
  );
  return { samples, errors, wallS: (performance.now() - t0) / 1000 };
}

if (parentPort) {
  run(workerData as LoadInput).then(
    (out) => parentPort!.postMessage(out),
    (err: unknown) => parentPort!.postMessage({ samples: { inbox: [], card: [], tile: [] }, errors: [String(err)], wallS: 0 }),
  );
}
