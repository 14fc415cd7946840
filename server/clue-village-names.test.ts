/**
 * Units of one name stay apart. A layer may name its 村/社区 (or 乡镇/街道) without codes, and one name
 * recurs across a city: a 王庄村 in 王家镇 and another in 李庄街道, a 城关镇 in 市中区 and another in
 * 槐荫区. The batch stores each as its own unit (keyed by the unit above it and its name), so a clue in
 * either gets its own village and township — also after a later batch over part of the city whose
 * layers hold only one of them (it replaces that one, not both). Stored as the batch stores them:
 * the outlines of `adminUnitOutlines` over the batch's zones.
 * 历下区 370102 from 117.0° to 117.2°E (王家镇 west of 117.1°, 李庄街道 east), 市中区 370103 to 117.3°,
 * 槐荫区 370104 to 117.4°, all from 36.6° to 36.8°N; each 王庄村 the south-west quarter of its
 * township; each 城关镇 (no code) the whole of its district.
 */
import type { Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUnitOutlines, districtOutlines, type BatchZones } from '../pipeline/batch/finalise-batch.js';
import type { Zone } from '../pipeline/model.js';
import { overlayPolygon } from '../pipeline/route/overlay.js';
import { ZoneIndex } from '../pipeline/route/zone-index.js';
import { storeDistricts, storeTownships, storeVillages } from '../pipeline/store/districts.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const box = (x0: number, y0: number, x1: number, y1: number): Polygon => ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });
const zone = (kind: Zone['kind'], code: string | undefined, name: string, geometry: Polygon): Zone => ({ id: `${kind}-${code ?? name}-${geometry.coordinates[0][0].join(',')}`, kind, code, name, geometry, source: 'zones.geojson' });

const LIXIA = zone('district', '370102', '历下区', box(117.0, 36.6, 117.2, 36.8));
const SHIZHONG = zone('district', '370103', '市中区', box(117.2, 36.6, 117.3, 36.8));
const HUAIYIN = zone('district', '370104', '槐荫区', box(117.3, 36.6, 117.4, 36.8));
const WANGJIA = zone('township', '370102001', '王家镇', box(117.0, 36.6, 117.1, 36.8));
const LIZHUANG = zone('township', '370102002000', '李庄街道', box(117.1, 36.6, 117.2, 36.8));
const CHENGGUAN_SHIZHONG = zone('township', undefined, '城关镇', box(117.2, 36.6, 117.3, 36.8));
const CHENGGUAN_HUAIYIN = zone('township', undefined, '城关镇', box(117.3, 36.6, 117.4, 36.8));
const WANGZHUANG_WANGJIA = zone('village', undefined, '王庄村', box(117.0, 36.6, 117.05, 36.7));
const WANGZHUANG_LIZHUANG = zone('village', undefined, '王庄村', box(117.1, 36.6, 117.15, 36.7));

const CITY = [LIXIA, SHIZHONG, HUAIYIN, WANGJIA, LIZHUANG, CHENGGUAN_SHIZHONG, CHENGGUAN_HUAIYIN, WANGZHUANG_WANGJIA, WANGZHUANG_LIZHUANG];
// A later month's batch over 王家镇 and 市中区 only: its layers hold one 王庄村 and one 城关镇.
const PART = [LIXIA, SHIZHONG, WANGJIA, CHENGGUAN_SHIZHONG, WANGZHUANG_WANGJIA];

/** Store a batch's outlines as finalising does (pipeline/batch/handlers.ts). */
async function storeLayers(db: Database, batch: { batchId: string; epoch: string }, zones: Zone[]): Promise<void> {
  const bz: BatchZones = { zones: new ZoneIndex(zones), rejected: [], repaired: [], warnings: [] };
  await storeDistricts(db, batch, districtOutlines(bz));
  await storeTownships(db, batch, adminUnitOutlines(bz, 'township'));
  await storeVillages(db, batch, adminUnitOutlines(bz, 'village'));
}

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon('370102-202610-0001', '2026-10', square(117.05, 36.75))], '2026-10-02');
  await addUsers(db, [
    ['d102', 'district', '370102'],
    ['d103', 'district', '370103'],
    ['d104', 'district', '370104'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const point = (lon: number, lat: number) => ({ type: 'Point', coordinates: [lon, lat] });
/** A clue at (lon, lat) registered by its district's user: where it was placed. */
async function placedAt(district: string, lon: number, lat: number) {
  const r = await t.request(`d${district.slice(3)}`, '/api/clues', { source: 'patrol', district_code: district, geometry: point(lon, lat), description: '巡查发现' });
  expect(r.statusCode, r.body).toBe(201);
  return (await db.query('SELECT township_code, township_name, village_code, village_name FROM clues WHERE code = $1', [r.json().code])).rows[0];
}
const IN_WANGJIA = { township_code: '370102001', township_name: '王家镇', village_code: null, village_name: '王庄村' };
const IN_LIZHUANG = { township_code: '370102002000', township_name: '李庄街道', village_code: null, village_name: '王庄村' };
const IN_SHIZHONG = { township_code: null, township_name: '城关镇', village_code: null, village_name: null };
const rows = async (table: 'townships' | 'villages', name: string) =>
  (await db.query<{ key: string; geom: string; epoch: string }>(`SELECT key, ST_AsText(geom) AS geom, epoch FROM ${table} WHERE name = $1 ORDER BY key`, [name])).rows;
const outline = (z: Zone) => `MULTIPOLYGON(((${z.geometry.coordinates[0].map((p) => p.join(' ')).join(',')})))`;

describe('two villages of one name in different townships, and two townships of one name in different districts', () => {
  it('are stored as two units each, with their own outlines', async () => {
    await storeLayers(db, { batchId: 'b-2026-10', epoch: '2026-10' }, CITY);
    expect((await rows('villages', '王庄村')).map((r) => r.geom).sort()).toEqual([outline(WANGZHUANG_WANGJIA), outline(WANGZHUANG_LIZHUANG)].sort());
    expect((await rows('townships', '城关镇')).map((r) => r.geom).sort()).toEqual([outline(CHENGGUAN_SHIZHONG), outline(CHENGGUAN_HUAIYIN)].sort());
  });

  it('the batch places a polygon in each by the feature holding most of it, as before: its own township, the village of that name', () => {
    const zones = new ZoneIndex(CITY);
    const at = (lon: number, lat: number) => {
      const o = overlayPolygon(square(lon, lat), zones);
      return [o.district?.code, o.township, o.village];
    };
    expect(at(117.02, 36.62)).toEqual(['370102', { code: '370102001', name: '王家镇' }, { code: null, name: '王庄村' }]);
    expect(at(117.12, 36.62)).toEqual(['370102', { code: '370102002000', name: '李庄街道' }, { code: null, name: '王庄村' }]);
    expect(at(117.25, 36.7)).toEqual(['370103', { code: null, name: '城关镇' }, null]);
    expect(at(117.35, 36.7)).toEqual(['370104', { code: null, name: '城关镇' }, null]);
  });

  it('a clue in each gets its own township and village', async () => {
    expect(await placedAt('370102', 117.02, 36.62)).toEqual(IN_WANGJIA);
    expect(await placedAt('370102', 117.12, 36.62)).toEqual(IN_LIZHUANG);
    expect(await placedAt('370103', 117.25, 36.7)).toEqual(IN_SHIZHONG);
    expect(await placedAt('370104', 117.35, 36.7)).toEqual(IN_SHIZHONG);
  });

  it('a later batch over part of the city replaces the one its layers hold and keeps the other; a re-run of either writes the same rows', async () => {
    await storeLayers(db, { batchId: 'b-2026-11', epoch: '2026-11' }, PART);
    expect(await placedAt('370102', 117.12, 36.62)).toEqual(IN_LIZHUANG);
    expect(await placedAt('370104', 117.35, 36.7)).toEqual(IN_SHIZHONG);
    expect(await placedAt('370102', 117.02, 36.62)).toEqual(IN_WANGJIA);
    const villages = await rows('villages', '王庄村');
    const townships = await rows('townships', '城关镇');
    expect(villages.map((r) => [r.geom, r.epoch]).sort()).toEqual([[outline(WANGZHUANG_WANGJIA), '2026-11'], [outline(WANGZHUANG_LIZHUANG), '2026-10']].sort());
    expect(townships.map((r) => [r.geom, r.epoch]).sort()).toEqual([[outline(CHENGGUAN_SHIZHONG), '2026-11'], [outline(CHENGGUAN_HUAIYIN), '2026-10']].sort());

    await storeLayers(db, { batchId: 'b-2026-10', epoch: '2026-10' }, CITY);
    await storeLayers(db, { batchId: 'b-2026-11', epoch: '2026-11' }, PART);
    expect([await rows('villages', '王庄村'), await rows('townships', '城关镇')]).toEqual([villages, townships]);
  });

  it('a village renamed in a later month (村改社区: a new key, the old row left beside it) gives a clue the newer name', async () => {
    const renamed = { ...WANGZHUANG_WANGJIA, id: 'village-renamed', name: '王庄社区' };
    await storeLayers(db, { batchId: 'b-2026-12', epoch: '2026-12' }, [LIXIA, WANGJIA, renamed]);
    // Both outlines hold the clue whole: the newest month's decides, not the older row's key.
    expect(await placedAt('370102', 117.02, 36.62)).toEqual({ ...IN_WANGJIA, village_name: '王庄社区' });
  });
});
