/**
 * The load generator of `bench-api.ts`, run in a child process so the clients' own work (fetch,
 * JSON parsing) neither queues on the server's event loop nor counts in the server process's CPU
 * time: C users, each looping over an inbox page of 100 (keyset paging, the page's own query), one
 * card from that page and one map tile of its own (the polygon layer of a z14 tile, as the page
 * asks for it: a vector tile, or GeoJSON by the tile's bbox), then — with `warm` — a revalidation of
 * the tile it fetched the round before (If-None-Match, as a browser does under `no-cache`: a 304
 * when nothing changed). An optional pause follows each request. Requests go to 127.0.0.1 only.
 * Sends the latency samples back.
 */

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
  /** The tile URL with {z} {x} {y} {bbox} placeholders. */
  tileUrl: string;
  /** Revalidate last round's tile (If-None-Match) every round: the `tile_warm` samples. */
  warm: boolean;
  /**
   * Mean pause after each request (a person reading the page), drawn uniformly from 0.5–1.5× and
   * each user starting at a random offset, so the users do not march in lockstep; 0 = back-to-back.
   */
  thinkMs: number;
  /** The inbox order asked for: `due` (the page's default), `code` or `confidence`. */
  sort: string;
  /** The month the inbox shows (the page always asks for one). */
  epoch: string;
}

export type Endpoint = 'inbox' | 'card' | 'tile_cold' | 'tile_warm';
export const ENDPOINTS: Endpoint[] = ['inbox', 'card', 'tile_cold', 'tile_warm'];
export interface LoadOutput {
  samples: Record<Endpoint, number[]>;
  /** Response body bytes per endpoint (summed). */
  bytes: Record<Endpoint, number>;
  /** Warm revalidations answered 200 instead of 304. */
  warmMisses: number;
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
  const samples: Record<Endpoint, number[]> = { inbox: [], card: [], tile_cold: [], tile_warm: [] };
  const bytes: Record<Endpoint, number> = { inbox: 0, card: 0, tile_cold: 0, tile_warm: 0 };
  let warmMisses = 0;
  const errors: string[] = [];
  const [x0, y1] = tileOf(input.zoom, input.extent[0], input.extent[1]);
  const [x1, y0] = tileOf(input.zoom, input.extent[2], input.extent[3]);
  const stopAt = performance.now() + input.seconds * 1000;
  let seed = 13;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const timed = async (kind: Endpoint, url: string, token: string, etag?: string): Promise<{ body: string; etag: string | null } | null> => {
    const s = performance.now();
    const r = await fetch(input.base + url, { headers: { authorization: `Bearer ${token}`, ...(etag ? { 'if-none-match': etag } : {}) } });
    const body = Buffer.from(await r.arrayBuffer());
    const ms = performance.now() - s;
    if (r.status !== 200 && !(etag && r.status === 304)) {
      if (errors.length < 20) errors.push(`${url}: ${r.status} ${body.toString('utf8', 0, 160)}`);
      return null;
    }
    if (etag && r.status === 200) warmMisses++;
    samples[kind].push(ms);
    bytes[kind] += body.length;
    if (input.thinkMs > 0) await pause(input.thinkMs * (0.5 + rnd()));
    return { body: kind === 'inbox' ? body.toString('utf8') : '', etag: r.headers.get('etag') };
  };
  const nx = x1 - x0 + 1;
  const ny = y1 - y0 + 1;
  const t0 = performance.now();
  await Promise.all(
    input.tokens.map(async (token, u) => {
      let cursor = '';
      let last: { url: string; etag: string | null } | null = null;
      if (input.thinkMs > 0) await pause(input.thinkMs * rnd());
      for (let k = 0; k < input.rounds && performance.now() < stopAt; k++) {
        const inbox = await timed('inbox', `/api/polygons?epoch=${input.epoch}&limit=100&sort=${input.sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token);
        const page = inbox ? (JSON.parse(inbox.body) as { features: { id: string }[]; next_cursor: string | null }) : null;
        cursor = page?.next_cursor ?? '';
        if (page?.features.length) await timed('card', `/api/polygons/${encodeURIComponent(page.features[(k * 7 + u) % page.features.length].id)}`, token);
        // Each user walks the tile grid from its own offset, so the users ask for different tiles.
        const i = (u * Math.ceil((nx * ny) / input.tokens.length) + k) % (nx * ny);
        const x = x0 + (i % nx);
        const y = y0 + Math.floor(i / nx);
        const b = tileBbox(input.zoom, x, y).map((v) => v.toFixed(6)).join(',');
        const url = input.tileUrl.replace('{z}', String(input.zoom)).replace('{x}', String(x)).replace('{y}', String(y)).replace('{bbox}', b);
        const cold = await timed('tile_cold', url, token);
        if (input.warm && last?.etag) await timed('tile_warm', last.url, token, last.etag);
        last = cold ? { url, etag: cold.etag } : null;
      }
    }),
  );
  return { samples, bytes, warmMisses, errors, wallS: (performance.now() - t0) / 1000 };
}

// Forked by bench-api.ts: one LoadInput message in, one LoadOutput message out.
if (process.send) {
  process.once('message', (input: LoadInput) => {
    run(input).then(
      (out) => process.send!(out, () => process.exit(0)),
      (err: unknown) => process.send!({ samples: { inbox: [], card: [], tile_cold: [], tile_warm: [] }, bytes: { inbox: 0, card: 0, tile_cold: 0, tile_warm: 0 }, warmMisses: 0, errors: [String(err)], wallS: 0 }, () => process.exit(1)),
    );
  });
}
