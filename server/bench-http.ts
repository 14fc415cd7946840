/**
 * The triage API over loopback with concurrent users: N synthetic polygons (default 100 000), the
 * app of `tuban serve` on a real port, C users (default 20, bureaus in turn) each looping over an
 * inbox page of 100 (keyset paging), one card and a map bounding box. Embedded database, or a fresh
 * schema of TUBAN_TEST_DATABASE_URL. Prints p50/p95 per request kind as one JSON line.
 *   npm run build && node dist/server/bench-http.js [N] [C] [requests per user]
 *   node scripts/test-servers.mjs -- node dist/server/bench-http.js
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './app.js';
import { loadCalendar } from './deadlines/calendar.js';
import { DEFAULT_DEADLINES } from './deadlines/rules.js';
import { PASSWORD, addUsers, insertSyntheticPolygons, openTestDatabase } from './testing/fixtures.js';

const N = Number(process.argv[2] ?? 100_000);
const C = Number(process.argv[3] ?? 20);
const R = Number(process.argv[4] ?? 30);
const BUREAUS = ['natural_resources', 'forestry', 'water', 'urban_management'];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function main(): Promise<void> {
  const db = await openTestDatabase();
  await insertSyntheticPolygons(db, N);
  await addUsers(db, BUREAUS.map((b) => [b, 'bureau', b] as [string, 'bureau', string]));
  const app = await buildApp({
    db,
    dataDir: await mkdtemp(join(tmpdir(), 'tuban-bench-')),
    secret: Buffer.from('bench-secret-bench-secret-bench-secret'),
    deadlines: { rules: DEFAULT_DEADLINES, calendar: await loadCalendar() },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const tokens: Record<string, string> = {};
  for (const b of BUREAUS) {
    const r = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: b, password: PASSWORD }) });
    tokens[b] = ((await r.json()) as { token: string }).token;
  }
  let t = Date.now();
  await fetch(`${base}/api/polygons?limit=1`, { headers: { authorization: `Bearer ${tokens.forestry}` } });
  const firstReadMs = Date.now() - t; // creates the 100 000 cases
  const times: Record<'inbox' | 'card' | 'bbox', number[]> = { inbox: [], card: [], bbox: [] };
  const timed = async (kind: keyof typeof times, url: string, token: string) => {
    const s = performance.now();
    const r = await fetch(base + url, { headers: { authorization: `Bearer ${token}` } });
    const body = await r.text();
    times[kind].push(performance.now() - s);
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${body.slice(0, 200)}`);
    return body;
  };
  t = Date.now();
  await Promise.all(
    Array.from({ length: C }, async (_, u) => {
      const token = tokens[BUREAUS[u % BUREAUS.length]];
      let cursor = '';
      for (let k = 0; k < R; k++) {
        const page = JSON.parse(await timed('inbox', `/api/polygons?limit=100${cursor ? `&cursor=${cursor}` : ''}`, token)) as { features: { id: string }[]; next_cursor: string | null };
        cursor = page.next_cursor ?? '';
        await timed('card', `/api/polygons/${page.features[(k * 7) % page.features.length].id}`, token);
        const x = 117 + ((u * 13 + k * 7) % 280) * 0.001;
        const y = 36 + ((u * 11 + k * 5) % 300) * 0.001;
        await timed('bbox', `/api/polygons.geojson?bbox=${x.toFixed(3)},${y.toFixed(3)},${(x + 0.02).toFixed(3)},${(y + 0.02).toFixed(3)}`, token);
      }
    }),
  );
  const wall = (Date.now() - t) / 1000;
  const total = times.inbox.length + times.card.length + times.bbox.length;
  const round = (v: number) => Math.round(v * 10) / 10;
  console.log(
    JSON.stringify({
      db: db.kind,
      polygons: N,
      users: C,
      first_read_ms: firstReadMs,
      requests: total,
      req_per_s: round(total / wall),
      inbox_p50_ms: round(pct(times.inbox, 0.5)),
      inbox_p95_ms: round(pct(times.inbox, 0.95)),
      card_p50_ms: round(pct(times.card, 0.5)),
      card_p95_ms: round(pct(times.card, 0.95)),
      bbox_p50_ms: round(pct(times.bbox, 0.5)),
      bbox_p95_ms: round(pct(times.bbox, 0.95)),
    }),
  );
  await app.close();
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
