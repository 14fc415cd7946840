/**
 * The map's GeoJSON layer at city zoom: a view holding more polygons than the layer's cap (10 000, or
 * `limit`) is cut, and the answer says so (`truncated: true`), so the page can tell the lead bureau
 * that the map shows only part of the view instead of leaving a district's polygons off unseen.
 * A vector tile cut at the cap (PostgreSQL) says so in the tile itself: a layer `truncated`, which
 * the page reads (MapLibre keeps a tile's response headers from the page, not its layers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, insertSyntheticPolygons, openTestDatabase, testApp, type TestApp } from './testing/fixtures.js';
import { polygonTileMvt } from './workflow/map-layer.js';

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

/** Slippy-map tile of a lon/lat point. */
function tileOf(z: number, lon: number, lat: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

describe.runIf(process.env.TUBAN_TEST_DATABASE_URL)('vector tiles at the cap (PostgreSQL)', () => {
  const chief = { name: 'chief', role: 'lead', bureau: null, district: null } as const;
  const codes = async () => (await db.query<{ code: string }>(`SELECT code FROM cases WHERE epoch = '2026-10'`)).rows.map((r) => r.code);
  /** The tile's bytes and the codes in it (MVT keeps string values and layer names as UTF-8 bytes). */
  async function tile(z: number, limit?: number) {
    const [x, y] = tileOf(z, 117.03, 36.0004);
    const { tile: bytes } = await polygonTileMvt(db, chief, z, x, y, { epoch: '2026-10', limit }, '2026-11-03');
    return { cut: bytes.includes(Buffer.from('truncated')), n: (await codes()).filter((c) => bytes.includes(Buffer.from(c))).length };
  }

  it('a tile holding more than it sends carries a `truncated` layer; one that sends all does not', async () => {
    expect(await tile(9, 100)).toEqual({ cut: true, n: 100 }); // centroids: all 120 in this z9 tile
    expect(await tile(9, 120)).toEqual({ cut: false, n: 120 });
    expect(await tile(12, 50)).toEqual({ cut: true, n: 50 }); // outlines and dots: 70 in this z12 tile
    expect(await tile(12)).toEqual({ cut: false, n: 70 });
    // Through the route, at the cap of 10 000: whole.
    const [x, y] = tileOf(9, 117.03, 36.0004);
    const r = await t.request('chief', `/api/map/tiles/9/${x}/${y}.pbf?epoch=2026-10`);
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.includes(Buffer.from('centroids')) && !r.rawPayload.includes(Buffer.from('truncated'))).toBe(true);
  });
});
