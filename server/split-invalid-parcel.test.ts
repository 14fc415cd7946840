/**
 * A parcel drawn as an invalid polygon is `400 SPLIT.INVALID_GEOMETRY` naming the parcel, whatever
 * the invalidity: a hole outside its shell and larger than it (a second ring drawn elsewhere) was
 * a 500 INTERNAL, since the parcel's area was computed before its validity was read
 * (PostGIS: `lwgeom_area_spher returned area < 0.0`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Polygon } from 'geojson';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const CODE = '370102-202610-0001';
let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  // square(lon, lat, d) spans lon..lon+d, lat..lat+d.
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(CODE, '2026-10', square(117.0, 36.6, 0.001))], '2026-11-02');
  await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const box = (w: number, s: number, e: number, n: number): Polygon => ({ type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] });

describe('split with an invalid parcel', () => {
  it('a hole outside its shell is SPLIT.INVALID_GEOMETRY naming the parcel, and nothing is written', async () => {
    expect((await t.request('nr', `/api/polygons/${CODE}/accept`, {})).statusCode).toBe(200);
    const west = box(117.0, 36.6, 117.0005, 36.601);
    const east = box(117.0005, 36.6, 117.001, 36.601);
    const holeOutside: Polygon = { type: 'Polygon', coordinates: [east.coordinates[0], [[117.01, 36.61], [117.02, 36.61], [117.02, 36.62], [117.01, 36.61]]] };
    const r = await t.request('nr', `/api/polygons/${CODE}/split`, { parcels: [west, holeOutside] });
    expect([r.statusCode, r.json().code], r.body).toEqual([400, 'SPLIT.INVALID_GEOMETRY']);
    expect(r.json().message).toContain('parcel 2');
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM parcels')).rows[0].n).toBe(0);
    // The same parcels drawn right split the polygon.
    const ok = await t.request('nr', `/api/polygons/${CODE}/split`, { parcels: [west, east] });
    expect(ok.statusCode, ok.body).toBe(200);
  });
});
