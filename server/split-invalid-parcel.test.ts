/**
 * A parcel drawn as an invalid polygon is `400 SPLIT.INVALID_GEOMETRY` naming the parcel, whatever
 * the invalidity: a hole outside its shell and larger than it (a second ring drawn elsewhere) was
 * a 500 INTERNAL, since the parcel's area was computed before its validity was read
 * (PostGIS: `lwgeom_area_spher returned area < 0.0`). So was a parcel (or a clue's outline) valid on
 * the plane but not on the globe, where its area is measured: long edges are great circles there, so
 * a ring across half the world is another shape (its hole outside it, or an edge 180° long).
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

/** Drawn on the plane, measured on the globe: each once a 500, and what each is now. */
const WORLD: [string, Polygon][] = [
  // The reviewer's: across the antimeridian on the plane, a hole in its middle (the globe's shell is 2° wide).
  ['across 358° with a hole', { type: 'Polygon', coordinates: [[[-179, 0], [179, 0], [179, 1], [-179, 1], [-179, 0]], [[-10, 0.2], [10, 0.2], [10, 0.8], [-10, 0.8], [-10, 0.2]]] }],
  // Less than 180° across, the same: its long edges bow toward the pole on the globe, past its hole.
  ['across 178° with a hole', { type: 'Polygon', coordinates: [[[-89, 10], [89, 10], [89, 11], [-89, 11], [-89, 10]], [[-50, 10.2], [50, 10.2], [50, 10.8], [-50, 10.8], [-50, 10.2]]] }],
  // An edge 180° of longitude long: no one great circle (PostGIS: `Antipodal (180 degrees long) edge detected!`).
  ['an edge 180° long', box(-90, 0, 90, 1)],
  ['the whole world', box(-180, -90, 180, 90)],
  ['a cap round the pole', box(-180, 80, 180, 90)],
];

describe('a parcel drawn across the world', () => {
  it('is SPLIT.INVALID_GEOMETRY naming the parcel, not a 500; one elsewhere is SPLIT.OUTSIDE; a degenerate one invalid; other shapes VALIDATION', async () => {
    const west = box(117.0, 36.6, 117.0005, 36.601);
    for (const [what, g] of WORLD) {
      const r = await t.request('nr', `/api/polygons/${CODE}/split`, { parcels: [west, g] });
      expect([r.statusCode, r.json().code], `${what}: ${r.body}`).toEqual([400, 'SPLIT.INVALID_GEOMETRY']);
      expect(r.json().message, what).toMatch(/: parcel 2 spans .*°/);
    }
    for (const [what, g, code] of [
      ['a small parcel far away', box(10, 10, 10.001, 10.001), 'SPLIT.OUTSIDE'],
      ['one point four times', { type: 'Polygon', coordinates: [[[117, 36.6], [117, 36.6], [117, 36.6], [117, 36.6]]] }, 'SPLIT.INVALID_GEOMETRY'],
      ['a ring along a line', { type: 'Polygon', coordinates: [[[117, 36.6], [117.0005, 36.6], [117.001, 36.6], [117, 36.6]]] }, 'SPLIT.INVALID_GEOMETRY'],
      ['a point', { type: 'Point', coordinates: [117, 36.6] }, 'VALIDATION'],
      ['a line', { type: 'LineString', coordinates: [[117, 36.6], [117.001, 36.601]] }, 'VALIDATION'],
      ['no rings', { type: 'Polygon', coordinates: [] }, 'VALIDATION'],
      ['latitude 95', box(117, 94, 117.001, 95), 'VALIDATION'],
    ] as const) {
      const r = await t.request('nr', `/api/polygons/${CODE}/split`, { parcels: [west, g] });
      expect([r.statusCode, r.json().code], `${what}: ${r.body}`).toEqual([400, code]);
    }
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM parcels')).rows[0].n).toBe(2); // the split above, kept
  });
});

describe('a clue drawn across the world', () => {
  it('is CLUE.TOO_LARGE, not a 500, and adds none', async () => {
    const clues = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clues')).rows[0].n;
    const before = await clues();
    for (const [what, geometry] of WORLD) {
      const r = await t.request('nr', '/api/clues', { source: 'patrol', district_code: '370102', geometry, description: '巡查发现' });
      expect([r.statusCode, r.json().code], `${what}: ${r.body}`).toEqual([400, 'CLUE.TOO_LARGE']);
      expect(r.json().message, what).toMatch(/spans .*°/);
    }
    expect(await clues()).toBe(before);
  });
});
