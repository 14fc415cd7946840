/**
 * The map's polygon layer on a real database (in-memory PGlite, or the PostgreSQL server of
 * TUBAN_TEST_DATABASE_URL): vector tiles where PostGIS has protobuf-c, GeoJSON by bounding box on
 * both; scope enforced in SQL; ETag/304 per scope, so a tag (and any cache keyed on it) never
 * carries one bureau's tile to another.
 */
import type { FeatureCollection } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

const P_ECO = '370102-202610-0001'; // led by ecology_environment, co-handled by natural_resources
const P_NR = '370102-202610-0002'; // natural_resources
const P_FOR = '370103-202610-0001'; // forestry, another district

/** Slippy-map tile of a lon/lat point. */
function tileOf(z: number, lon: number, lat: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

beforeAll(async () => {
  db = await openTestDatabase();
  // All three in one z14 tile (14/13516/6399: 116.9824–117.0044 E, 36.5979–36.6155 N).
  await writeBatch(db, 'b-2026-10', '2026-10', [
    polygon(P_ECO, '2026-10', square(116.99, 36.601), { leadBureau: 'ecology_environment', coBureaus: ['natural_resources'], priority: 'high' }),
    polygon(P_NR, '2026-10', square(116.993, 36.601)),
    polygon(P_FOR, '2026-10', square(116.996, 36.601), { leadBureau: 'forestry' }),
  ], '2026-11-02');
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['forest', 'bureau', 'forestry'],
    ['d103', 'district', '370103'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function get(user: string | null, url: string, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'GET', url, headers: { ...(user ? { authorization: `Bearer ${await t.token(user)}` } : {}), ...headers } });
}

const BBOX = '116.98,36.59,117.0,36.61';
const ids = (body: string) => (JSON.parse(body) as FeatureCollection).features.map((f) => f.id);

describe('map layer', () => {
  it('says which source the page should use: vector tiles where PostGIS has protobuf-c, else GeoJSON by bbox', async () => {
    const r = await get('nr', '/api/map/layer?epoch=2026-10');
    expect(r.statusCode).toBe(200);
    const layer = r.json();
    if (db.kind === 'postgres') {
      expect(layer).toMatchObject({ format: 'mvt', tiles: ['/api/map/tiles/{z}/{x}/{y}.pbf?epoch=2026-10'], layers: { polygons: 'polygons', centroids: 'centroids', truncated: 'truncated' } });
    } else {
      expect(layer).toMatchObject({ format: 'geojson', url: '/api/map/polygons.geojson?epoch=2026-10' });
      const [x, y] = tileOf(14, 116.993, 36.6015);
      const tile = await get('nr', `/api/map/tiles/14/${x}/${y}.pbf`);
      expect([tile.statusCode, tile.json().code]).toEqual([404, 'MAP.NO_MVT']);
    }
  });

  it('GeoJSON by bbox: only the scope, slim properties, outlines in 6 decimals at a zoom', async () => {
    const r = await get('forest', `/api/map/polygons.geojson?bbox=${BBOX}&zoom=14&epoch=2026-10`);
    expect([r.statusCode, r.headers['content-type']]).toEqual([200, 'application/geo+json; charset=utf-8']);
    const fc = JSON.parse(r.body) as FeatureCollection;
    expect(fc.features.map((f) => f.id)).toEqual([P_FOR]);
    expect(fc.features[0].properties).toEqual({ code: P_FOR, status: 'issued', overdue: false, priority: 'normal', centroid_lon: 116.9965, centroid_lat: 36.6015 });
    const round6 = (g: unknown) => JSON.parse(JSON.stringify(g), (_k, v) => (typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v));
    expect(fc.features[0].geometry).toEqual(round6(square(116.996, 36.601)));
    expect(ids((await get('nr', `/api/map/polygons.geojson?bbox=${BBOX}`)).body)).toEqual([P_ECO, P_NR]);
    expect(ids((await get('d103', `/api/map/polygons.geojson?bbox=${BBOX}`)).body)).toEqual([P_FOR]);
    expect(ids((await get('chief', `/api/map/polygons.geojson?bbox=${BBOX}`)).body)).toEqual([P_ECO, P_NR, P_FOR]);
    expect(ids((await get('chief', `/api/map/polygons.geojson?bbox=${BBOX}&epoch=2026-09`)).body)).toEqual([]);
    expect((await get('chief', '/api/map/polygons.geojson?bbox=2,1,1,2')).json().code).toBe('VALIDATION');
    expect((await get(null, `/api/map/polygons.geojson?bbox=${BBOX}`)).statusCode).toBe(401);
  });

  it('GeoJSON below z12 (the page draws only dots there): centroid points with the style\'s properties, no outlines', async () => {
    for (const zoom of [10, 11]) {
      const r = await get('chief', `/api/map/polygons.geojson?bbox=${BBOX}&zoom=${zoom}&epoch=2026-10`);
      expect(r.statusCode).toBe(200);
      const fc = JSON.parse(r.body) as FeatureCollection & { centroids?: boolean; truncated: boolean };
      expect([fc.centroids, fc.truncated]).toEqual([true, false]);
      expect(fc.features.map((f) => f.properties?.code)).toEqual([P_ECO, P_NR, P_FOR]);
      expect(fc.features[0]).toEqual({ type: 'Feature', geometry: { type: 'Point', coordinates: [116.9905, 36.6015] }, properties: { code: P_ECO, status: 'issued', overdue: false, priority: 'high' } });
      expect(fc.features.every((f) => f.geometry.type === 'Point')).toBe(true);
      const etag = String(r.headers.etag);
      const again = await get('chief', `/api/map/polygons.geojson?bbox=${BBOX}&zoom=${zoom}&epoch=2026-10`, { 'if-none-match': etag });
      expect(again.statusCode).toBe(304);
    }
    // From z12 the outlines again, each with its centroid for the dots.
    const z12 = JSON.parse((await get('chief', `/api/map/polygons.geojson?bbox=${BBOX}&zoom=12&epoch=2026-10`)).body) as FeatureCollection & { centroids?: boolean };
    expect(z12.centroids).toBe(false);
    expect(z12.features.map((f) => f.geometry.type)).toEqual(['Polygon', 'Polygon', 'Polygon']);
  });

  it('revalidates with ETag → 304 per scope: a tag never carries one bureau\'s data to another, and a write changes it', async () => {
    const url = `/api/map/polygons.geojson?bbox=${BBOX}&zoom=14`;
    const a = await get('forest', url);
    expect(a.headers['cache-control']).toBe('private, no-cache');
    expect(a.headers.vary).toBe('Authorization, Cookie, Accept-Encoding'); // the credentials kept, gzip beside them (compression.ts)
    const etag = String(a.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get('forest', url, { 'if-none-match': etag });
    expect([again.statusCode, again.body]).toEqual([304, '']);
    // Another bureau presenting forestry's tag gets its own layer, in full, never a 304 or forestry's polygon.
    const other = await get('nr', url, { 'if-none-match': etag });
    expect(other.statusCode).toBe(200);
    expect(other.headers.etag).not.toBe(etag);
    expect(ids(other.body)).toEqual([P_ECO, P_NR]);
    expect(other.body).not.toContain(P_FOR);
    // The district sees the same polygon as forestry but is another scope: its own tag.
    expect((await get('d103', url, { 'if-none-match': etag })).statusCode).toBe(200);
    // A write moves the data version: the old tag no longer validates, the new layer shows the change.
    expect((await t.app.inject({ method: 'POST', url: `/api/polygons/${P_FOR}/accept`, headers: { authorization: `Bearer ${await t.token('forest')}` }, payload: {} })).statusCode).toBe(200);
    const after = await get('forest', url, { 'if-none-match': etag });
    expect(after.statusCode).toBe(200);
    expect((JSON.parse(after.body) as FeatureCollection).features[0].properties?.status).toBe('accepted');
  });

  it.runIf(process.env.TUBAN_TEST_DATABASE_URL)('vector tiles (PostgreSQL): the scope\'s polygons and centroids only, ETag → 304 per scope', async () => {
    const [x, y] = tileOf(14, 116.993, 36.6015);
    const url = `/api/map/tiles/14/${x}/${y}.pbf?epoch=2026-10`;
    const nr = await get('nr', url);
    expect([nr.statusCode, nr.headers['content-type']]).toEqual([200, 'application/vnd.mapbox-vector-tile']);
    // MVT keeps layer names and string values as UTF-8 bytes: the codes in scope are there, no other.
    const bytes = nr.rawPayload;
    expect(bytes.includes(Buffer.from('polygons'))).toBe(true);
    expect(bytes.includes(Buffer.from(P_ECO)) && bytes.includes(Buffer.from(P_NR))).toBe(true);
    expect(bytes.includes(Buffer.from(P_FOR))).toBe(false);
    expect(bytes.includes(Buffer.from('centroids'))).toBe(false); // dots only below z13
    const forest = await get('forest', url, { 'if-none-match': String(nr.headers.etag) });
    expect(forest.statusCode).toBe(200);
    expect(forest.rawPayload.includes(Buffer.from(P_FOR))).toBe(true);
    expect(forest.rawPayload.includes(Buffer.from(P_NR))).toBe(false);
    expect((await get('nr', url, { 'if-none-match': String(nr.headers.etag) })).statusCode).toBe(304);
    // Low zoom: centroids, no outlines; a tile without polygons is empty, not an error.
    const [x10, y10] = tileOf(10, 116.993, 36.6015);
    const low = (await get('chief', `/api/map/tiles/10/${x10}/${y10}.pbf`)).rawPayload;
    expect(low.includes(Buffer.from('centroids')) && !low.includes(Buffer.from('polygons'))).toBe(true);
    const empty = await get('chief', '/api/map/tiles/14/0/0.pbf');
    expect([empty.statusCode, empty.rawPayload.length]).toEqual([200, 0]);
    expect((await get('chief', '/api/map/tiles/14/99999/0.pbf')).json().code).toBe('VALIDATION');
    expect((await get('chief', '/api/map/tiles/14/1/x.pbf')).json().code).toBe('VALIDATION');
  });
});
