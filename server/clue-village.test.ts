/**
 * A clue takes its 村/社区 from the village outlines a batch stored (`villages`, migration 19), as it
 * takes its 乡镇/街道 from the townships (clue-township.test.ts): the one holding most of it, none
 * outside every one or before any is stored. The clue keeps it as the layer says, and a village code
 * not under the clue's township (or, with no township code, its district) is a warning, as the
 * batch's report gives one for a polygon. The card, the list view, the field file and the ledger's
 * 村 column show it.
 * 王家镇 370102001 lies west of 117.1°E, 李庄街道 east of it, both from 36.6° to 36.7°N; the villages:
 * 前进村 and 后街村 the north half of 王家镇 (west, east), 飞地村 (a code of another township) the
 * north half of 李庄街道, 无码社区 (no code) its south half, and 外区村 (a code of another district)
 * north of both townships; 外区镇 (a township of another district's code) east of 李庄街道.
 */
import type { Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTownships, storeVillages } from '../pipeline/store/districts.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const box = (x0: number, y0: number, x1: number, y1: number): Polygon => ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });
const TOWNSHIPS = [
  { code: '370102001', name: '王家镇', geometry: square(117.0, 36.6, 0.1) },
  { code: '370102002000', name: '李庄街道', geometry: square(117.1, 36.6, 0.1) },
  // A township of another district's code, east of 李庄街道.
  { code: '370103001', name: '外区镇', geometry: square(117.2, 36.6, 0.1) },
];
const VILLAGES = [
  { code: '370102001201', name: '前进村', geometry: box(117.0, 36.65, 117.05, 36.7) },
  { code: '370102001202', name: '后街村', geometry: box(117.05, 36.65, 117.1, 36.7) },
  { code: '370102009203', name: '飞地村', geometry: box(117.1, 36.65, 117.2, 36.7) },
  { code: null, name: '无码社区', geometry: box(117.1, 36.6, 117.2, 36.65) },
  { code: '370103005201', name: '外区村', geometry: box(117.0, 36.7, 117.1, 36.75) },
];

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-11', '2026-11', [polygon('370102-202611-0001', '2026-11', square(117.05, 36.65))], '2026-11-02');
  await addUsers(db, [
    ['d102', 'district', '370102'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
  await storeTownships(db, { batchId: 'b-2026-11', epoch: '2026-11' }, TOWNSHIPS);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const point = (lon: number, lat: number) => ({ type: 'Point', coordinates: [lon, lat] });
const clue = (geometry: unknown, description: string) => ({ source: 'patrol', district_code: '370102', geometry, description });
const add = async (geometry: unknown, description: string) => {
  const r = await t.request('d102', '/api/clues', clue(geometry, description));
  expect(r.statusCode, r.body).toBe(201);
  return r.json() as { code: string; warnings: string[]; code_mismatches: unknown[] };
};
const placed = async (code: string) => (await db.query('SELECT township_code, village_code, village_name FROM clues WHERE code = $1', [code])).rows[0];
const codes: Record<string, string> = {};

describe('before a batch stored the village outlines', () => {
  it('a clue has no village', async () => {
    const { code, warnings } = await add(point(117.02, 36.67), '早于村界');
    codes.早于村界 = code;
    expect(await placed(code)).toEqual({ township_code: '370102001', village_code: null, village_name: null });
    expect(warnings).toEqual([]);
  });
});

describe('with the village outlines stored', () => {
  beforeAll(async () => {
    expect(await storeVillages(db, { batchId: 'b-2026-11', epoch: '2026-11' }, VILLAGES)).toBe(VILLAGES.length);
  });

  it('a clue takes the village holding most of it (a point: the one it lies in), none outside every one, with no warning', async () => {
    const inside = await add(point(117.02, 36.67), '村东新建彩钢棚');
    expect(await placed(inside.code)).toEqual({ township_code: '370102001', village_code: '370102001201', village_name: '前进村' });
    // An outline with its west edge in 前进村 lies mostly in 后街村.
    const most = await add(box(117.048, 36.66, 117.06, 36.67), '跨村界');
    expect(await placed(most.code)).toEqual({ township_code: '370102001', village_code: '370102001202', village_name: '后街村' });
    // 王家镇's south half is in no village.
    const outside = await add(point(117.02, 36.62), '村界外');
    expect(await placed(outside.code)).toEqual({ township_code: '370102001', village_code: null, village_name: null });
    // A village the layer names without a code: its name, no code, nothing to check.
    const named = await add(point(117.15, 36.62), '无码社区内');
    expect(await placed(named.code)).toEqual({ township_code: '370102002000', village_code: null, village_name: '无码社区' });
    for (const r of [inside, most, outside, named]) expect([r.warnings, r.code_mismatches], r.code).toEqual([[], []]);
    Object.assign(codes, { 村东新建彩钢棚: inside.code, 跨村界: most.code, 村界外: outside.code, 无码社区内: named.code });
  });

  it('keeps a village whose code is not under the clue\'s township (or, outside every township, its district), or a township not under its district, and warns, as the batch does', async () => {
    const other = await add(point(117.15, 36.67), '飞地');
    expect(await placed(other.code)).toEqual({ township_code: '370102002000', village_code: '370102009203', village_name: '飞地村' });
    expect(other.warnings).toEqual([`village 370102009203 飞地村 does not begin with the code of township 370102002000 李庄街道 clue ${other.code} lies in: check the village and township layers`]);
    const district = await add(point(117.05, 36.72), '外区');
    expect(await placed(district.code)).toEqual({ township_code: null, village_code: '370103005201', village_name: '外区村' });
    expect(district.warnings).toEqual([`village 370103005201 外区村 does not begin with the code of district 370102 历下区 clue ${district.code} lies in: check the village and district layers`]);
    // The township's code likewise against the clue's district (a batch warns on a polygon's too).
    const township = await add(point(117.25, 36.65), '外区镇内');
    expect(await placed(township.code)).toEqual({ township_code: '370103001', village_code: null, village_name: null });
    expect(township.warnings).toEqual([`township 370103001 外区镇 does not begin with the code of district 370102 历下区 clue ${township.code} lies in: check the township and district layers`]);
    Object.assign(codes, { 飞地: other.code, 外区: district.code });
  });

  it('gives each warning also as its units (kind, code, name) for the page to say in Chinese, and /openapi.json documents both', async () => {
    const other = await add(point(117.16, 36.68), '飞地二');
    expect(other.code_mismatches).toEqual([{ unit: { kind: 'village', code: '370102009203', name: '飞地村' }, parent: { kind: 'township', code: '370102002000', name: '李庄街道' } }]);
    expect(other.warnings).toHaveLength(1);
    const district = await add(point(117.05, 36.73), '外区二');
    expect(district.code_mismatches).toEqual([{ unit: { kind: 'village', code: '370103005201', name: '外区村' }, parent: { kind: 'district', code: '370102', name: '历下区' } }]);
    const township = await add(point(117.26, 36.65), '外区镇二');
    expect(township.code_mismatches).toEqual([{ unit: { kind: 'township', code: '370103001', name: '外区镇' }, parent: { kind: 'district', code: '370102', name: '历下区' } }]);
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> };
    expect(doc.paths['/api/clues'].post.responses['201'].description).toMatch(/warnings.*code_mismatches/s);
    Object.assign(codes, { 飞地二: other.code, 外区二: district.code, 外区镇二: township.code });
  });

  it('the card, the list view and the field file show the clue\'s village', async () => {
    const code = codes.村东新建彩钢棚;
    const card = await t.request('chief', `/api/polygons/${code}`);
    expect(card.statusCode, card.body).toBe(200);
    expect([card.json().properties.village_code, card.json().properties.village_name]).toEqual(['370102001201', '前进村']);
    const list = await t.request('chief', '/api/polygons?epoch=2026-11&view=list&limit=100');
    const village = new Map(list.json().features.map((f: { id: string; properties: Record<string, unknown> }) => [f.id, [f.properties.village_code, f.properties.village_name]]));
    expect([village.get(code), village.get(codes.无码社区内), village.get(codes.村界外)]).toEqual([['370102001201', '前进村'], [null, '无码社区'], [null, null]]);
    const kml = await t.request('chief', '/api/polygons.kml?epoch=2026-11');
    expect(kml.statusCode, kml.body).toBe(200);
    const placemark = (c: string) => kml.body.split('<Placemark>').find((p: string) => p.startsWith(`<name>${c}</name>`)) ?? '';
    expect(placemark(code)).toContain('<Data name="村"><value>前进村 370102001201</value></Data>');
    expect(placemark(codes.村界外)).toContain('<name>');
    expect(placemark(codes.村界外)).not.toContain('<Data name="村">');
  });

  it("fills the ledger's 村 for clues: each one's village, blank outside every one and before the outlines", async () => {
    const r = await t.request('chief', '/api/ledger/2026-11.csv');
    expect(r.statusCode, r.body).toBe(200);
    const [header, ...rows] = r.body.replace(/^\uFEFF/, '').trim().split('\r\n').map((l: string) => l.split(','));
    const [codeAt, villageAt, basisAt] = ['图斑编号', '村', '发现依据说明'].map((c) => header.indexOf(c));
    const byDescription = Object.fromEntries(rows.filter((row: string[]) => row[codeAt].includes('-X')).map((row: string[]) => [row[basisAt], row[villageAt]]));
    expect(byDescription).toEqual({ 早于村界: '', 村东新建彩钢棚: '前进村', 跨村界: '后街村', 村界外: '', 无码社区内: '无码社区', 飞地: '飞地村', 外区: '外区村', 外区镇内: '', 飞地二: '飞地村', 外区二: '外区村', 外区镇二: '' });
  });
});
