/**
 * Gzip of the server's text answers (server/compression.ts), through the app's own hooks: each
 * gzip body is the identity body, only for clients that accept it, with its own ETag that
 * revalidates to 304 as the identity one does, `Vary: Accept-Encoding` beside the credentials, the
 * imagery untouched, and the login and scope as without compression. Streams (page files,
 * MapLibre) are checked on a listening socket, where chunking and Content-Length are real.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, insertSyntheticPolygons, openTestDatabase, testApp, type TestApp } from './testing/fixtures.js';
import { maplibreDist, vendorRoutes } from './vendor-routes.js';

let db: Database;
let t: TestApp;
let png: Buffer;
let base: string;

const MAP = '/api/map/polygons.geojson?bbox=116.9,35.9,117.4,36.1&zoom=10&epoch=2026-10';

beforeAll(async () => {
  db = await openTestDatabase();
  await insertSyntheticPolygons(db, 600); // lead bureaus natural_resources / forestry / water / urban_management in turn
  await addUsers(db, [
    ['chief', 'lead'],
    ['forest', 'bureau', 'forestry'],
    ['nr', 'bureau', 'natural_resources'],
  ]);
  // A real PNG of noise (incompressible, as imagery is), larger than the compression threshold.
  const noise = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 2654435761) >>> 24));
  png = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
  t = await testApp(db, { webDir: 'web', chips: async () => ({ png }) });
  await t.app.register(vendorRoutes);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function get(user: string | null, url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  return t.app.inject({ method, url, headers: { ...(user ? { authorization: `Bearer ${await t.token(user)}` } : {}), ...headers } });
}

const varyOf = (h: IncomingHttpHeaders | Record<string, unknown>) => String(h.vary ?? '').split(',').map((s) => s.trim());

/** A GET/HEAD over a real socket, the body as the bytes that came (Node's http does not decompress). */
function fetchRaw(path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gzip of text answers', () => {
  it('the map GeoJSON: gzip to a client that accepts it, the same bytes unzipped, its own ETag, Vary beside the credentials', async () => {
    const plain = await get('chief', MAP);
    const zipped = await get('chief', MAP, { 'accept-encoding': 'gzip, deflate, br' });
    expect([plain.statusCode, zipped.statusCode]).toEqual([200, 200]);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.length).toBeGreaterThan(50_000);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true);
    expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length / 5);
    expect(Number(zipped.headers['content-length'])).toBe(zipped.rawPayload.length);
    expect(zipped.headers['content-type']).toBe('application/geo+json; charset=utf-8');
    // A strong validator per representation (RFC 9110 §8.8.1): the identity tag with -gzip inside the quotes.
    expect(plain.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(zipped.headers.etag).toBe(String(plain.headers.etag).replace(/"$/, '-gzip"'));
    for (const r of [plain, zipped]) expect(varyOf(r.headers)).toEqual(['Authorization', 'Cookie', 'Accept-Encoding']);
    expect(zipped.headers['cache-control']).toBe('private, no-cache');
  });

  it('identity unless Accept-Encoding allows gzip: none, gzip;q=0, identity, *;q=0 and an identity preferred', async () => {
    const plain = await get('chief', MAP);
    for (const ae of ['gzip;q=0', 'identity', 'gzip;q=0, *', '*;q=0', 'br', 'gzip;q=0.2, identity;q=0.9', 'GZIP; Q=0']) {
      const r = await get('chief', MAP, { 'accept-encoding': ae });
      expect([ae, r.headers['content-encoding'], r.headers.etag]).toEqual([ae, undefined, plain.headers.etag]);
      expect(r.rawPayload.equals(plain.rawPayload)).toBe(true);
    }
    for (const ae of ['*', 'x-gzip', 'br;q=1, gzip;q=0.5', 'identity;q=0.5, gzip']) {
      expect([ae, (await get('chief', MAP, { 'accept-encoding': ae })).headers['content-encoding']]).toEqual([ae, 'gzip']);
    }
  });

  it('revalidates to 304 with the gzip tag and with the identity tag, answering with the tag held', async () => {
    const plain = await get('chief', MAP);
    const zipped = await get('chief', MAP, { 'accept-encoding': 'gzip' });
    const viaGzip = await get('chief', MAP, { 'accept-encoding': 'gzip', 'if-none-match': String(zipped.headers.etag) });
    expect([viaGzip.statusCode, viaGzip.body, viaGzip.headers.etag, viaGzip.headers['content-encoding']]).toEqual([304, '', zipped.headers.etag, undefined]);
    expect(varyOf(viaGzip.headers)).toEqual(['Authorization', 'Cookie', 'Accept-Encoding']);
    const viaIdentity = await get('chief', MAP, { 'accept-encoding': 'gzip', 'if-none-match': String(plain.headers.etag) });
    expect([viaIdentity.statusCode, viaIdentity.headers.etag]).toEqual([304, plain.headers.etag]);
    expect(varyOf(viaIdentity.headers)).toContain('Accept-Encoding');
    // Weak forms, as a proxy may pass them on.
    expect((await get('chief', MAP, { 'if-none-match': `W/${String(zipped.headers.etag)}` })).statusCode).toBe(304);
    // Another bureau holding the lead's gzip tag gets its own layer, in full.
    const other = await get('nr', MAP, { 'accept-encoding': 'gzip', 'if-none-match': String(zipped.headers.etag) });
    expect(other.statusCode).toBe(200);
    expect(other.headers.etag).not.toBe(zipped.headers.etag);
  });

  it('the inbox list page: compressed, unzipped to the bureau\'s own scope only; no token is still 401', async () => {
    const url = '/api/polygons?view=list&limit=500&epoch=2026-10';
    const plain = await get('forest', url);
    const zipped = await get('forest', url, { 'accept-encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true);
    const items = JSON.parse(gunzipSync(zipped.rawPayload).toString()) as { features: { properties: { lead_bureau: string } }[] };
    expect(items.features.length).toBe(150);
    expect(new Set(items.features.map((f) => f.properties.lead_bureau))).toEqual(new Set(['forestry']));
    const anonymous = await get(null, url, { 'accept-encoding': 'gzip' });
    expect([anonymous.statusCode, JSON.parse(anonymous.rawPayload.toString()).code]).toEqual([401, 'AUTH.REQUIRED']);
  });

  it('HEAD says what GET would send: the gzip length, encoding and tag, no body', async () => {
    const zipped = await get('chief', MAP, { 'accept-encoding': 'gzip' });
    const head = await get('chief', MAP, { 'accept-encoding': 'gzip' }, 'HEAD');
    expect([head.statusCode, head.rawPayload.length, head.headers['content-encoding'], head.headers.etag]).toEqual([200, 0, 'gzip', zipped.headers.etag]);
    expect(Number(head.headers['content-length'])).toBe(zipped.rawPayload.length);
  });

  it('the field file KML, /openapi.json and /workflow-labels.js are compressed; the download keeps its name', async () => {
    for (const [user, url] of [['forest', '/api/polygons.kml?epoch=2026-10'], [null, '/openapi.json'], [null, '/workflow-labels.js']] as const) {
      const plain = await get(user, url);
      const zipped = await get(user, url, { 'accept-encoding': 'gzip' });
      expect([url, plain.statusCode, zipped.headers['content-encoding']]).toEqual([url, 200, 'gzip']);
      expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true);
      expect(zipped.headers['content-disposition']).toBe(plain.headers['content-disposition']);
      expect(varyOf(zipped.headers)).toContain('Accept-Encoding');
    }
  });

  it.runIf(process.env.TUBAN_TEST_DATABASE_URL)('vector tiles (PostgreSQL): gzipped, the same protobuf unzipped, 304 with either tag', async () => {
    const url = '/api/map/tiles/14/13520/6433.pbf?epoch=2026-10'; // 117.07–117.09 E, 36.00–36.02 N: ~40 of the grid's squares
    const plain = await get('chief', url);
    const zipped = await get('chief', url, { 'accept-encoding': 'gzip' });
    expect([plain.statusCode, plain.headers['content-type'], zipped.headers['content-encoding']]).toEqual([200, 'application/vnd.mapbox-vector-tile', 'gzip']);
    expect(plain.rawPayload.length).toBeGreaterThan(1024);
    expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true);
    for (const tag of [zipped.headers.etag, plain.headers.etag]) {
      const again = await get('chief', url, { 'accept-encoding': 'gzip', 'if-none-match': String(tag) });
      expect([again.statusCode, again.headers.etag]).toEqual([304, tag]);
      expect(varyOf(again.headers)).toEqual(['Authorization', 'Cookie', 'Accept-Encoding']);
    }
  });

  it('PNG chips go as they are, with their content tag and 304', async () => {
    const url = '/api/polygons/370101-202610-000001/chips/after.png';
    const r = await get('chief', url, { 'accept-encoding': 'gzip' });
    expect([r.statusCode, r.headers['content-type'], r.headers['content-encoding']]).toEqual([200, 'image/png', undefined]);
    expect(r.rawPayload.equals(png)).toBe(true);
    expect(varyOf(r.headers)).toEqual(['Authorization', 'Cookie']);
    const again = await get('chief', url, { 'accept-encoding': 'gzip', 'if-none-match': String(r.headers.etag) });
    expect([again.statusCode, again.headers.etag]).toEqual([304, r.headers.etag]);
  });

  it('the ledger: xlsx and shp.zip (zip files already) go as they are, the CSV gzipped', async () => {
    for (const file of ['2026-10.xlsx', '2026-10.shp.zip']) {
      const r = await get('chief', `/api/ledger/${file}`, { 'accept-encoding': 'gzip' });
      expect([file, r.statusCode, r.headers['content-encoding'], r.rawPayload.subarray(0, 2).toString()]).toEqual([file, 200, undefined, 'PK']);
    }
    const csv = await get('chief', '/api/ledger/2026-10.csv', { 'accept-encoding': 'gzip' });
    expect([csv.statusCode, csv.headers['content-encoding'], csv.headers['content-disposition']]).toEqual([200, 'gzip', 'attachment; filename="ledger-2026-10.csv"']);
    expect(gunzipSync(csv.rawPayload).toString()).toContain('370101-202610-000001');
  });

  it('small answers go as they are, still saying Vary', async () => {
    const r = await get('forest', '/api/me', { 'accept-encoding': 'gzip' });
    expect([r.statusCode, r.headers['content-encoding']]).toEqual([200, undefined]);
    expect(r.json()).toMatchObject({ name: 'forest', bureau: 'forestry' });
    expect(varyOf(r.headers)).toContain('Accept-Encoding');
  });

  it('streams (MapLibre, the page\'s JS) are gzipped as they flow, over a real socket; HEAD too', async () => {
    const file = readFileSync(join(maplibreDist(), 'maplibre-gl.js'));
    const r = await fetchRaw('/vendor/maplibre-gl.js', { 'accept-encoding': 'gzip' });
    expect([r.status, r.headers['content-encoding'], r.headers['transfer-encoding'], r.headers['content-length']]).toEqual([200, 'gzip', 'chunked', undefined]);
    expect(gunzipSync(r.body).equals(file)).toBe(true);
    expect(r.body.length).toBeLessThan(file.length / 2);
    expect(varyOf(r.headers)).toEqual(['Accept-Encoding']);
    expect(r.headers['cache-control']).toBe('public, max-age=86400');
    const plain = await fetchRaw('/vendor/maplibre-gl.js', {});
    expect([plain.headers['content-encoding'], plain.body.equals(file)]).toEqual([undefined, true]);
    const head = await fetchRaw('/vendor/maplibre-gl.js', { 'accept-encoding': 'gzip' }, 'HEAD');
    expect([head.status, head.headers['content-encoding'], head.body.length]).toEqual([200, 'gzip', 0]);
    const page = await fetchRaw('/app.js', { 'accept-encoding': 'gzip' });
    expect([page.status, page.headers['content-encoding']]).toEqual([200, 'gzip']);
    expect(gunzipSync(page.body).equals(readFileSync('web/app.js'))).toBe(true);
  });
});
