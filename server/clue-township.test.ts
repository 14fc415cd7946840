/**
 * A clue takes its 乡镇/街道 (属地) from the township outlines a batch stored (`townships`,
 * migration 16): the one holding most of it, none outside every one or before any is stored. A
 * township's own account registers clues in its own township only — and then sees them, since its
 * scope is the township's cases the township leads (server/access/roles.ts) — and none before a
 * batch with the township layer stored the outlines. The ledger's 乡镇/街道 column fills for clues.
 * 王家镇 370102001 lies east of 117.1°E… west of it; 李庄街道 (a 12-digit layer code) east of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTownships } from '../pipeline/store/districts.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const A = '370102001';
const B = '370102002';
const WANG = { code: A, name: '王家镇', geometry: square(117.0, 36.6, 0.1) };
const LI = { code: `${B}000`, name: '李庄街道', geometry: square(117.1, 36.6, 0.1) };

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-11', '2026-11', [
    polygon('370102-202611-0001', '2026-11', square(117.05, 36.65), { townshipCode: A, townshipName: '王家镇', coBureaus: ['township'] }),
    polygon('370102-202611-0002', '2026-11', square(117.15, 36.65), { townshipCode: `${B}000`, townshipName: '李庄街道', coBureaus: ['township'] }),
  ], '2026-11-02');
  await addUsers(db, [
    ['townA', 'bureau', 'township', A],
    ['townB', 'bureau', 'township', B],
    ['d102', 'district', '370102'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const point = (lon: number, lat: number) => ({ type: 'Point', coordinates: [lon, lat] });
const clue = (geometry: unknown, description = '巡查发现') => ({ source: 'patrol', district_code: '370102', geometry, description });
const written = async () => (await db.query<{ n: number }>(`SELECT (SELECT count(*) FROM clues) + (SELECT count(*) FROM cases) + (SELECT count(*) FROM audit_log WHERE action = 'clue.add') AS n`)).rows[0].n;
const placed = async (code: string) => (await db.query('SELECT c.township_code, c.township_name, k.township_code AS case_township, k.lead_bureau FROM clues c JOIN cases k USING (code) WHERE code = $1', [code])).rows[0];
const ids = async (user: string) => (await t.request(user, '/api/polygons?epoch=2026-11')).json().features.map((f: { id: string }) => f.id).sort();
let before: string;

describe('before a batch stored the township outlines', () => {
  it("refuses a township account's clue (it could not be placed, so it would not see it), saying a batch with the township layer is needed", async () => {
    const n = await written();
    const r = await t.request('townA', '/api/clues', clue(point(117.05, 36.65)));
    expect([r.statusCode, r.json().code], r.body).toEqual([403, 'AUTH.FORBIDDEN']);
    expect(r.json().message).toContain(`township ${A}`);
    expect(r.json().message).toContain('乡镇/街道 (township) zone layer');
    expect(await written()).toBe(n);
    // The page hides its clue tab meanwhile.
    expect((await t.request('townA', '/api/me')).json()).toMatchObject({ township: A, township_name: '王家镇', township_outline: false });
  });

  it("registers a district's clue with no township", async () => {
    const r = await t.request('d102', '/api/clues', clue(point(117.05, 36.65), '早于乡镇界'));
    expect(r.statusCode, r.body).toBe(201);
    before = r.json().code;
    expect(await placed(before)).toEqual({ township_code: null, township_name: null, case_township: null, lead_bureau: 'natural_resources' });
  });
});

describe('with the township outlines stored', () => {
  beforeAll(async () => {
    await storeTownships(db, { batchId: 'b-2026-11', epoch: '2026-11' }, [WANG, LI]);
  });

  it('a township account registers a clue in its own township, and sees it in its list and card (its township leads it)', async () => {
    expect((await t.request('townA', '/api/me')).json()).toMatchObject({ township: A, township_name: '王家镇', township_outline: true });
    const r = await t.request('townA', '/api/clues', clue(point(117.05, 36.66), '村东新建彩钢棚'));
    expect(r.statusCode, r.body).toBe(201);
    const code = r.json().code;
    expect(await placed(code)).toEqual({ township_code: A, township_name: '王家镇', case_township: A, lead_bureau: 'township' });
    expect(await ids('townA')).toEqual(['370102-202611-0001', code].sort());
    const card = await t.request('townA', `/api/polygons/${code}`);
    expect(card.statusCode, card.body).toBe(200);
    expect([card.json().properties.township_code, card.json().properties.township_name, card.json().properties.lead_bureau]).toEqual([A, '王家镇', 'township']);
    expect((await t.request('townA', '/api/polygons?epoch=2026-11&view=list&limit=100')).json().features.map((f: { id: string }) => f.id)).toContain(code);
    // It is township A's: township B's account does not reach it.
    expect((await t.request('townB', `/api/polygons/${code}`)).statusCode).toBe(404);
    expect(await ids('townB')).toEqual(['370102-202611-0002']);
  });

  it("refuses one in another township, or outside every one, naming its township and where the place lies; nothing written", async () => {
    const n = await written();
    const other = await t.request('townA', '/api/clues', clue(point(117.15, 36.65)));
    expect(other.statusCode, other.body).toBe(400);
    expect(other.json()).toMatchObject({ code: 'CLUE.OUTSIDE_TOWNSHIP', township: { code: A, name: '王家镇' }, lies_in: { code: `${B}000`, name: '李庄街道' } });
    expect(other.json().message).toContain(`it lies in township ${B}000 李庄街道`);
    expect(other.json().message).toContain(`${A} 王家镇`);
    const nowhere = await t.request('townA', '/api/clues', clue(point(117.05, 36.75)));
    expect(nowhere.statusCode, nowhere.body).toBe(400);
    expect(nowhere.json()).toMatchObject({ code: 'CLUE.OUTSIDE_TOWNSHIP', lies_in: null });
    expect(nowhere.json().message).toContain('no township of the stored layer');
    // An outline with a corner in its own township lies mostly in the other.
    const outline = { type: 'Polygon', coordinates: [[[117.098, 36.65], [117.12, 36.65], [117.12, 36.66], [117.098, 36.66], [117.098, 36.65]]] };
    const most = await t.request('townA', '/api/clues', clue(outline));
    expect(most.statusCode, most.body).toBe(400);
    expect(most.json().lies_in).toEqual({ code: `${B}000`, name: '李庄街道' });
    expect(await written()).toBe(n);
    // Township B's own account registers that outline: a twelve-digit layer code and a nine-digit account agree.
    const own = await t.request('townB', '/api/clues', clue(outline));
    expect(own.statusCode, own.body).toBe(201);
    expect(await ids('townB')).toContain(own.json().code);
  });

  it("gives a district's clue the township holding most of it, none outside every one", async () => {
    const outline = { type: 'Polygon', coordinates: [[[117.09, 36.65], [117.102, 36.65], [117.102, 36.66], [117.09, 36.66], [117.09, 36.65]]] };
    const mostlyA = await t.request('d102', '/api/clues', clue(outline, '跨镇界'));
    expect(mostlyA.statusCode, mostlyA.body).toBe(201);
    expect(await placed(mostlyA.json().code)).toMatchObject({ township_code: A, township_name: '王家镇', case_township: A });
    const outside = await t.request('d102', '/api/clues', clue(point(117.05, 36.75), '镇界外'));
    expect(outside.statusCode, outside.body).toBe(201);
    expect(await placed(outside.json().code)).toMatchObject({ township_code: null, township_name: null, case_township: null });
    // Not township A's to lead: a district's clue is led by natural resources.
    expect(await ids('townA')).not.toContain(mostlyA.json().code);
  });

  it("fills the ledger's 乡镇/街道 for clues: each one's township, blank outside every one and before the outlines", async () => {
    const r = await t.request('chief', '/api/ledger/2026-11.csv');
    expect(r.statusCode, r.body).toBe(200);
    const [header, ...rows] = r.body.replace(/^\uFEFF/, '').trim().split('\r\n').map((l: string) => l.split(','));
    const [codeAt, townshipAt, basisAt] = ['图斑编号', '乡镇/街道', '发现依据说明'].map((c) => header.indexOf(c));
    const byDescription = Object.fromEntries(rows.filter((row: string[]) => row[codeAt].includes('-X')).map((row: string[]) => [row[basisAt], row[townshipAt]]));
    expect(byDescription).toEqual({ 早于乡镇界: '', 村东新建彩钢棚: '王家镇', 巡查发现: '李庄街道', 跨镇界: '王家镇', 镇界外: '' });
  });
});

describe("a township account's clue reaching far into another township", () => {
  it('is refused when it is more than 5 km across, however much of it lies in its own (its box opens the imagery 2 km around it)', async () => {
    const n = await written();
    // 1 km in 王家镇 (most of it), a 30 m arm 8 km east through 李庄街道.
    const m = 111_320 * Math.cos((36.65 * Math.PI) / 180);
    const [x0, x1, y0, y1, w] = [117.08, 117.08 + 1000 / m, 36.65, 36.65 + 1000 / 111_320, 36.65 + 30 / 111_320];
    const arm = { type: 'Polygon', coordinates: [[[x0, y0], [x1 + 8000 / m, y0], [x1 + 8000 / m, w], [x1, w], [x1, y1], [x0, y1], [x0, y0]]] };
    const r = await t.request('townA', '/api/clues', clue(arm));
    expect([r.statusCode, r.json().code], r.body).toEqual([400, 'CLUE.TOO_LARGE']);
    expect(await written()).toBe(n);
  });
});
