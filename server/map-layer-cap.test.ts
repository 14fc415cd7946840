/**
 * The map's GeoJSON layer at city zoom: a view holding more polygons than the layer's cap (10 000, or
 * `limit`) is cut, and the answer says so (`truncated: true`), so the page can tell the lead bureau
 * that the map shows only part of the view instead of leaving a district's polygons off unseen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, insertSyntheticPolygons, openTestDatabase, testApp, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await insertSyntheticPolygons(db, 120); // 2026-10, a 300-column grid from 117 E, 36 N
  await addUsers(db, [['chief', 'lead'], ['fo', 'bureau', 'forestry']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const CITY = '/api/map/polygons.geojson?epoch=2026-10&bbox=116.9,35.9,117.5,36.2&zoom=10';

describe('GET /api/map/polygons.geojson at the cap', () => {
  it('says when the view holds more than it sends', async () => {
    const cut = await t.request('chief', `${CITY}&limit=100`);
    expect(cut.statusCode, cut.body).toBe(200);
    expect(cut.json().features).toHaveLength(100);
    expect(cut.json().truncated).toBe(true);
    const whole = await t.request('chief', `${CITY}&limit=120`);
    expect(whole.json().features).toHaveLength(120);
    expect(whole.json().truncated).toBe(false);
  });

  it('counts within the scope', async () => {
    const r = await t.request('fo', `${CITY}&limit=30`); // forestry leads 30 of the 120
    expect(r.json().features).toHaveLength(30);
    expect(r.json().truncated).toBe(false);
  });
});
