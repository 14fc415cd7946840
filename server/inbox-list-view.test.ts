/**
 * The inbox's own view of a page (`GET /api/polygons?view=list`): what a list item shows and
 * nothing else — no outline, no overlaps, reasons or detector — so a city month's inbox does not
 * ship every polygon's geometry to a list that draws none (the card and the map have their own).
 * Same order, paging and scope as the full page; the full page is unchanged without `view`.
 */
import type { FeatureCollection } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, writeBatch, type TestApp, testApp } from './testing/fixtures.js';
import type { Polygon } from 'geojson';

let db: Database;
let t: TestApp;

/** A detailed outline (a traced parcel has dozens of vertices), as the batch writes them. */
function ring(lon: number, lat: number): Polygon {
  const pts: [number, number][] = [];
  for (let k = 0; k < 48; k++) pts.push([lon + 0.0005 + 0.0004 * Math.cos((k * Math.PI) / 24), lat + 0.0005 + 0.0004 * Math.sin((k * Math.PI) / 24)]);
  return { type: 'Polygon', coordinates: [[...pts, pts[0]]] };
}

const N = 60;

beforeAll(async () => {
  db = await openTestDatabase();
  const polys = Array.from({ length: N }, (_, i) =>
    polygon(`370102-202610-${String(i + 1).padStart(4, '0')}`, '2026-10', ring(117 + (i % 10) * 0.002, 36.6 + Math.floor(i / 10) * 0.002), {
      leadBureau: i % 3 === 0 ? 'forestry' : 'natural_resources',
      coBureaus: i % 3 === 0 ? ['natural_resources'] : [],
      priority: i % 4 === 0 ? 'high' : 'normal',
      overlaps: { permanent_basic_farmland: { m2: 4000, share: 0.44 }, forest: { m2: 1200, share: 0.13 } },
      reasons: ['ndvi_drop', 'brightness_rise', 'learned_score'],
      // Every other polygon lies outside the township layer.
      ...(i % 2 === 0 ? { townshipCode: '370102001', townshipName: '解放路街道' } : {}),
      // And every third outside the village layer.
      ...(i % 3 === 0 ? { villageCode: '370102001002', villageName: '文化东路社区' } : {}),
    }),
  );
  await writeBatch(db, 'b-2026-10', '2026-10', polys, '2026-11-02');
  await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['fo', 'bureau', 'forestry']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function pages(user: string, view: string, limit: number): Promise<{ fcs: (FeatureCollection & { next_cursor: string | null })[]; bytes: number }> {
  const fcs: (FeatureCollection & { next_cursor: string | null })[] = [];
  let bytes = 0;
  let cursor: string | null = null;
  do {
    const r = await t.request(user, `/api/polygons?epoch=2026-10&sort=due&limit=${limit}${view}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.statusCode, r.body).toBe(200);
    bytes += r.body.length;
    const fc = r.json() as FeatureCollection & { next_cursor: string | null };
    fcs.push(fc);
    cursor = fc.next_cursor;
  } while (cursor);
  return { fcs, bytes };
}

describe('GET /api/polygons?view=list', () => {
  it('sends what a list item shows, without the outline, in the same order and pages as the full view', async () => {
    const full = await pages('nr', '', 7);
    const list = await pages('nr', '&view=list', 7);
    const codes = (x: typeof full) => x.fcs.flatMap((fc) => fc.features.map((f) => f.id));
    expect(codes(list)).toEqual(codes(full));
    expect(codes(list).length).toBe(N); // natural_resources leads 40 and co-handles 20
    const f = list.fcs[0].features[0];
    expect(f.geometry).toBeNull();
    expect(Object.keys(f.properties ?? {}).sort()).toEqual(
      ['area_m2', 'area_mu', 'change_type', 'code', 'confidence', 'days_overdue', 'district_code', 'district_name', 'due_date', 'due_rule', 'epoch', 'geometry_changed', 'last_sighting', 'last_urged_on', 'lead_bureau', 'lead_bureau_name', 'overdue', 'priority', 'review_overdue', 'source', 'status', 'township_code', 'township_name', 'urged', 'verdict', 'village_code', 'village_name'].sort(),
    );
    // 乡镇/街道 as the batch stored it, null outside every township.
    const township = new Map(list.fcs.flatMap((fc) => fc.features).map((x) => [x.id, x.properties?.township_name]));
    expect([township.get('370102-202610-0001'), township.get('370102-202610-0002')]).toEqual(['解放路街道', null]);
    // 村 likewise, null outside every village.
    const village = new Map(list.fcs.flatMap((fc) => fc.features).map((x) => [x.id, [x.properties?.village_code, x.properties?.village_name]]));
    expect([village.get('370102-202610-0001'), village.get('370102-202610-0002')]).toEqual([['370102001002', '文化东路社区'], [null, null]]);
    // Each list item's values are the full view's.
    const byCode = new Map(full.fcs.flatMap((fc) => fc.features).map((x) => [x.id, x.properties]));
    for (const item of list.fcs.flatMap((fc) => fc.features)) for (const [k, v] of Object.entries(item.properties ?? {})) expect(v, `${item.id} ${k}`).toEqual(byCode.get(item.id)?.[k]);
    // A fraction of the bytes (each outline here has 49 vertices).
    expect(list.bytes).toBeLessThan(full.bytes / 3);
  });

  it('keeps the scope', async () => {
    const list = await pages('fo', '&view=list', 100);
    const codes = list.fcs.flatMap((fc) => fc.features.map((f) => String(f.id)));
    expect(codes.length).toBe(N / 3);
    expect(list.fcs[0].features.every((f) => f.properties?.lead_bureau === 'forestry')).toBe(true);
  });

  it('refuses an unknown view', async () => {
    const r = await t.request('nr', '/api/polygons?view=everything');
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('VALIDATION');
  });
});
