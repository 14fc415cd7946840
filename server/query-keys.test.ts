/**
 * An unknown query key is a 400 naming it, on every /api route: a typo in a filter
 * (`?stauts=issued`, `?lead_burea=water`) once fell away and the route answered with the caller's
 * whole scope, so a scripted monthly export silently held the wrong set. And every key the page
 * sends is still accepted (web/inbox.js `query`, web/summary.js, web/map-source.js, web/evidence.js).
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { imageryPlugin } from './imagery-routes.js';
import { createImageryService, type ImageryService } from './imagery/imagery-service.js';
import { addUsers, jpegWithExif, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let imagery: ImageryService;
let t: TestApp;
const CODE = '370102-202610-0001';
const BBOX = '116.9,36.5,117.2,36.7';

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(CODE, '2026-10', square(117.0, 36.6))], '2026-11-02');
  await addUsers(db, [
    ['chief', 'lead'],
    ['nr', 'bureau', 'natural_resources'],
  ]);
  imagery = createImageryService(db);
  t = await testApp(db, { plugins: [imageryPlugin(imagery)], webDir: resolve('web') });
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await imagery?.close();
  await db?.close();
});

async function call(user: string, method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({ method, url, payload: payload as object, headers: { authorization: `Bearer ${await t.token(user)}`, ...headers } });
}

/** The 400 an unknown key gets: VALIDATION, its message naming the key (and, for a near miss, the key meant). */
async function refusesKey(user: string, method: 'GET' | 'POST', url: string, key: string, meant?: string, payload?: unknown, headers?: Record<string, string>) {
  const r = await call(user, method, url, payload, headers);
  expect([r.statusCode, r.json().code], `${method} ${url}: ${r.body}`).toEqual([400, 'VALIDATION']);
  expect(r.json().message, url).toContain(`unknown query parameter '${key}'`);
  if (meant) expect(r.json().message, url).toContain(`did you mean '${meant}'?`);
}

describe('an unknown query key', () => {
  it('is refused by the polygon list, the field file and the map GeoJSON, not answered with everything', async () => {
    await refusesKey('nr', 'GET', '/api/polygons?lead_burea=water', 'lead_burea', 'lead_bureau');
    await refusesKey('nr', 'GET', '/api/polygons.kml?stauts=issued', 'stauts', 'status');
    await refusesKey('nr', 'GET', `/api/polygons.geojson?bbox=${BBOX}&prority=high`, 'prority', 'priority');
    // What the inbox list takes and the field file does not (it is every page, with outlines): said, not ignored.
    await refusesKey('nr', 'GET', '/api/polygons.kml?epoch=2026-10&limit=5', 'limit');
    await refusesKey('nr', 'GET', '/api/polygons.kml?epoch=2026-10&view=list', 'view');
    await refusesKey('nr', 'GET', '/api/inbox/counts?month=2026-10', 'month');
  });

  it('is refused by the map layer routes', async () => {
    await refusesKey('nr', 'GET', '/api/map/layer?epcoh=2026-10', 'epcoh', 'epoch');
    await refusesKey('nr', 'GET', `/api/map/polygons.geojson?bbox=${BBOX}&zoom=14&limt=5`, 'limt', 'limit');
    // Before the tile is built (PGlite's MAP.NO_MVT comes after the request is checked).
    await refusesKey('nr', 'GET', '/api/map/tiles/14/13515/6386.pbf?epoch=2026-10&status=issued', 'status');
  });

  it('is refused by the evidence upload and by routes that take no query at all', async () => {
    const jpeg = jpegWithExif({ taken: '2026:11:05 10:00:00', lat: 36.6, lon: 117, azimuth: 0 });
    await refusesKey('nr', 'POST', `/api/polygons/${CODE}/evidence?name=a.jpg&nte=east`, 'nte', 'note', jpeg, { 'content-type': 'image/jpeg' });
    expect((await db.query('SELECT 1 FROM evidence')).rows).toHaveLength(0);
    await refusesKey('nr', 'GET', `/api/polygons/${CODE}?view=list`, 'view');
    await refusesKey('nr', 'GET', '/api/months?epoch=2026-10', 'epoch');
    await refusesKey('nr', 'GET', '/api/me?x=1', 'x');
    await refusesKey('chief', 'GET', '/api/ledger/2026-10.csv?district=370102', 'district');
    await refusesKey('nr', 'POST', `/api/polygons/${CODE}/accept?force=1`, 'force', undefined, {});
    expect((await call('nr', 'GET', `/api/polygons/${CODE}`)).json().case.status).toBe('issued');
    const r = await t.app.inject({ method: 'POST', url: '/api/session?remember=1', payload: { name: 'nr', password: 'x' } });
    expect([r.statusCode, r.json().message]).toEqual([400, expect.stringContaining("unknown query parameter 'remember'")]);
  });

  it('is refused by the imagery routes, which the registry does not parse', async () => {
    await refusesKey('nr', 'GET', '/api/imagery/epochs?epoch=2026-10', 'epoch');
    await refusesKey('nr', 'GET', '/api/imagery/2026-10/after/14/13515/6386.png?t=1', 't');
    // Signed out, still the 401 first: the key is not looked at before the credentials.
    expect((await t.app.inject('/api/imagery/epochs?x=1')).statusCode).toBe(401);
    expect((await t.app.inject('/api/polygons?stauts=1')).statusCode).toBe(401);
  });
});

describe('the keys the page sends', () => {
  const ok = async (user: string, url: string) => {
    const r = await call(user, 'GET', url);
    expect(r.statusCode, `${url}: ${r.body}`).toBeLessThan(300);
  };

  it('are all accepted', async () => {
    // web/inbox.js: the inbox (every filter, a next page), the overdue list, the counts and the field file.
    await ok('nr', '/api/polygons?epoch=2026-10&status=issued&priority=high&overdue=true&sort=confidence&lead_bureau=natural_resources&limit=50&view=list');
    const first = (await call('nr', 'GET', '/api/polygons?epoch=2026-10&limit=1&view=list')).json();
    expect(first.features).toHaveLength(1);
    await ok('nr', '/api/polygons?epoch=2026-10&overdue=true&sort=due&limit=50&view=list');
    await ok('nr', '/api/inbox/counts?epoch=2026-10');
    await ok('nr', '/api/polygons.kml?epoch=2026-10&status=issued&priority=high&overdue=true&lead_bureau=natural_resources');
    // web/summary.js: the month summary's pages.
    await ok('chief', '/api/polygons?epoch=2026-10&limit=10000&view=list');
    // web/map-source.js: the layer's source, its GeoJSON by box (MVT tiles take epoch alone).
    await ok('nr', '/api/map/layer?epoch=2026-10');
    await ok('nr', `/api/map/polygons.geojson?bbox=${BBOX}&zoom=14&epoch=2026-10`);
    const tile = await call('nr', 'GET', '/api/map/tiles/14/13515/6386.pbf?epoch=2026-10');
    // Past the query check: a tile on PostgreSQL (200, or 204 where the view holds none), MAP.NO_MVT on PGlite.
    if (db.kind === 'postgres') expect([200, 204], tile.body).toContain(tile.statusCode);
    else expect(tile.json().code, tile.body).toBe('MAP.NO_MVT');
    // web/evidence.js: the upload's name and note.
    const jpeg = jpegWithExif({ taken: '2026:11:05 10:00:00', lat: 36.6, lon: 117, azimuth: 0 });
    const up = await call('nr', 'POST', `/api/polygons/${CODE}/evidence?name=a.jpg&note=east`, jpeg, { 'content-type': 'image/jpeg' });
    expect(up.statusCode, up.body).toBe(200);
  });

  it('in the page URL itself, and on the public files, are no business of the API', async () => {
    for (const url of ['/?epoch=2026-10&case=370102-202610-0001', '/app.js?v=2', '/workflow-labels.js?_=1', '/openapi.json?x=1']) {
      expect((await t.app.inject(url)).statusCode, url).toBe(200);
    }
  });
});
