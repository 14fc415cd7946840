/**
 * What gzip buys on the triage server's large answers, per level (README "Bureau triage server",
 * the choice of `GZIP_LEVEL` in compression.ts): 5 000 synthetic polygons of one month in the
 * embedded database (or TUBAN_TEST_DATABASE_URL), the lead bureau's city-zoom map GeoJSON, an inbox
 * list page of 500, the field file's KML of all, /openapi.json, MapLibre's JS and (PostgreSQL) a z14 vector tile, each read once from the app;
 * then each body gzipped at levels 1–9, median ms of 25 on this machine. Prints one JSON line.
 *   npm run build && node dist/server/bench-compression.js [N]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { addUsers, insertSyntheticPolygons, openTestDatabase, testApp } from './testing/fixtures.js';
import { maplibreDist } from './vendor-routes.js';

const N = Number(process.argv[2] ?? 5000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const db = await openTestDatabase();
  await insertSyntheticPolygons(db, N);
  await addUsers(db, [['chief', 'lead']]);
  const t = await testApp(db);
  const get = async (url: string) => {
    const r = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await t.token('chief')}` } });
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    return r.rawPayload;
  };
  const bodies: Record<string, Buffer> = {
    map_geojson_z10: await get('/api/map/polygons.geojson?bbox=116.9,35.9,117.4,36.1&zoom=10&epoch=2026-10'),
    inbox_list_500: await get('/api/polygons?view=list&limit=500&epoch=2026-10'),
    field_kml_all: await get('/api/polygons.kml?epoch=2026-10'),
    openapi: await get('/openapi.json'),
    maplibre_js: readFileSync(join(maplibreDist(), 'maplibre-gl.js')),
  };
  // The synthetic grid repeats its coordinates; real outlines and centroids do not. The same
  // document with every coordinate moved by a random few metres (6 decimals kept) is closer to a city.
  const jitter = (v: unknown): unknown =>
    typeof v === 'number' && !Number.isInteger(v) ? Math.round((v + (Math.random() - 0.5) * 1e-4) * 1e6) / 1e6 : Array.isArray(v) ? v.map(jitter) : v;
  bodies.map_geojson_z10_jittered = Buffer.from(
    JSON.stringify(JSON.parse(bodies.map_geojson_z10.toString()), (k, v) => (k === 'coordinates' || k === 'centroid_lon' || k === 'centroid_lat' ? jitter(v) : v)),
  );
  // Vector tiles (ST_AsMVT) only where PostGIS has protobuf-c: the PostgreSQL server.
  if (db.kind === 'postgres') bodies.mvt_z14 = await get('/api/map/tiles/14/13521/6433.pbf?epoch=2026-10');
  const out: Record<string, unknown> = { kind: db.kind, N };
  for (const [name, body] of Object.entries(bodies)) {
    const levels: Record<number, { kB: number; ms: number }> = {};
    for (const level of [1, 2, 3, 4, 5, 6, 9]) {
      const ms: number[] = [];
      let size = 0;
      for (let i = 0; i < 25; i++) {
        const t0 = process.hrtime.bigint();
        size = gzipSync(body, { level }).length;
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      levels[level] = { kB: Math.round(size / 100) / 10, ms: Math.round(median(ms) * 10) / 10 };
    }
    out[name] = { kB: Math.round(body.length / 100) / 10, levels };
  }
  console.log(JSON.stringify(out));
  await t.app.close();
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
