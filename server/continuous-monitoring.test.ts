/**
 * 持续监测 (CONTINUOUS_MONITORING): a change that cannot be judged yet (推堆土, 在建而用途不明) is judged
 * 其他 with situation continuous_monitoring and a note of what to watch for; the case goes to
 * `monitoring`, not closeable, with a re-check date (the end of the next month) before which it is not
 * overdue; the next batch's polygon at the site is issued on its own and each card names the other;
 * the bureau handling it (only) gives the definitive verdict from there. The ledger says 持续监测 in
 * 销号状态 and 办理状态, the quarterly report counts it under 其他 and in 其中持续监测. Through the real
 * app and database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { loadLedger } from '../pipeline/outputs/ledger-exports.js';
import { quarterReport } from '../pipeline/reports/quarter-report.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const OCT = '370102-202610-0001'; // 推堆土: monitored, re-detected in November
const NOV = '370102-202611-0001'; // the November polygon at OCT's site
const LATER = '370102-202610-0002'; // monitored, then judged legal and closed
const SOIL = '370102-202610-0003'; // monitored, then judged illegal

const PILED = { verdict: 'other', situation: 'continuous_monitoring', reason: '现场推堆土，未见建设，用途不明', watch: '堆土平整后是否起建筑' };

let db: Database;
let t: TestApp;

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, 200]);
  return r.json();
}
const card = async (user: string, code: string) => {
  const r = await t.request(user, `/api/polygons/${code}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
};

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(
    db,
    'b-10',
    '2026-10',
    [
      polygon(OCT, '2026-10', square(117, 36.6), { coBureaus: ['forestry'] }),
      polygon(LATER, '2026-10', square(117.01, 36.6)),
      polygon(SOIL, '2026-10', square(117.02, 36.6)),
    ],
    '2026-11-02',
  );
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['forest', 'bureau', 'forestry'],
    ['water', 'bureau', 'water'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
  t.setToday('2026-11-03');
  for (const code of [OCT, LATER, SOIL]) await ok('nr', `/api/polygons/${code}/accept`);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('持续监测: the verdict', () => {
  it('needs what to watch for, and only with that situation', async () => {
    const without = await t.request('nr', `/api/polygons/${OCT}/verdict`, { verdict: 'other', situation: 'continuous_monitoring', reason: '推堆土' });
    expect(without.statusCode).toBe(400);
    expect(without.body).toMatch(/watch/);
    const misplaced = await t.request('nr', `/api/polygons/${OCT}/verdict`, { verdict: 'other', situation: 'seasonal', reason: '晾晒', watch: '是否建房' });
    expect(misplaced.statusCode).toBe(400);
    expect(misplaced.body).toMatch(/watch/);
    expect((await card('nr', OCT)).case.status).toBe('accepted');
  });

  it('is the bureau handling the case\'s only: a co-handling bureau, another bureau and the lead role are refused', async () => {
    const co = await t.request('forest', `/api/polygons/${OCT}/verdict`, PILED);
    expect([co.statusCode, co.json().code]).toEqual([403, 'CASE.NOT_LEAD']);
    expect((await t.request('water', `/api/polygons/${OCT}/verdict`, PILED)).statusCode).toBe(404);
    const chief = await t.request('chief', `/api/polygons/${OCT}/verdict`, PILED);
    expect([chief.statusCode, chief.json().code]).toEqual([403, 'AUTH.FORBIDDEN']);
    expect((await card('nr', OCT)).case.status).toBe('accepted');
  });

  it('moves the case to monitoring with a re-check date at the end of the next month, not closeable', async () => {
    const r = await ok('nr', `/api/polygons/${OCT}/verdict`, PILED);
    expect(r.case).toMatchObject({ status: 'monitoring', verdict: 'other', due_rule: 'monitoring', due_date: '2026-12-31' });
    expect(r.case.verdict_details).toMatchObject({ situation: 'continuous_monitoring', watch: '堆土平整后是否起建筑' });
    const close = await t.request('nr', `/api/polygons/${OCT}/close`, { reason: '持续监测' });
    expect([close.statusCode, close.json().code]).toEqual([409, 'CASE.BAD_STATE']);
    // Rectification is a violation's; a monitored site has none yet.
    expect((await t.request('nr', `/api/polygons/${OCT}/rectification`, { method: 'demolish_restore', progress: 10 })).statusCode).toBe(409);
  });

  it('is not overdue before its re-check date, and overdue (and escalated) after it like any case', async () => {
    t.setToday('2026-12-31');
    expect((await card('nr', OCT)).properties.overdue).toBe(false);
    t.setToday('2027-01-01');
    await ok('chief', '/api/sweep');
    const c = await card('nr', OCT);
    expect(c.properties.overdue).toBe(true);
    expect(c.escalations.map((e: { kind: string; rule: string; due_date: string }) => [e.kind, e.rule, e.due_date])).toEqual([['overdue', 'monitoring', '2026-12-31']]);
    const list = (await t.request('nr', '/api/polygons?overdue=true&status=monitoring&view=list')).json();
    expect(list.features.map((f: { id: string }) => f.id)).toEqual([OCT]);
    t.setToday('2026-11-03');
  });

  it('re-checked and still not judgeable: the next re-check is the end of the month after that', async () => {
    t.setToday('2026-12-20');
    const r = await ok('nr', `/api/polygons/${OCT}/verdict`, { ...PILED, watch: '地基已开挖，看是否起建筑' });
    expect(r.case).toMatchObject({ status: 'monitoring', due_rule: 'monitoring', due_date: '2027-01-31' });
    t.setToday('2026-11-03');
  });
});

describe('持续监测: the next batch at the site', () => {
  it('issues the new polygon on its own, and each card names the other', async () => {
    await writeBatch(db, 'b-11', '2026-11', [polygon(NOV, '2026-11', square(117, 36.6, 0.0012), { previousCode: OCT })], '2026-12-01');
    t.setToday('2026-12-02');
    const next = await card('nr', NOV);
    expect(next.case.status).toBe('issued');
    expect(next.case.merged_into).toBeNull();
    expect(next.previous_case).toEqual({ code: OCT, epoch: '2026-10', status: 'monitoring', verdict: 'other', monitoring: { watch: '地基已开挖，看是否起建筑', recheck_by: '2027-01-31' } });
    const monitored = await card('nr', OCT);
    expect(monitored.later_cases).toEqual([{ code: NOV, epoch: '2026-11', status: 'issued', verdict: null }]);
    expect(monitored.sightings).toEqual([]);
    // Another bureau's card of the site is no more visible than before.
    expect((await t.request('water', `/api/polygons/${NOV}`)).statusCode).toBe(404);
  });
});

describe('持续监测: the definitive verdict', () => {
  it('legal: verified on the month of that verdict (not overdue from the issue month), then closed', async () => {
    await ok('nr', `/api/polygons/${LATER}/verdict`, PILED);
    t.setToday('2027-01-10');
    const r = await ok('nr', `/api/polygons/${LATER}/verdict`, { verdict: 'legal', approval_doc_no: '济自然资批〔2026〕9号' });
    expect(r.case).toMatchObject({ status: 'verified', verdict: 'legal', due_rule: 'verification', due_date: '2027-01-31' });
    expect((await card('nr', LATER)).properties.overdue).toBe(false);
    expect((await ok('nr', `/api/polygons/${LATER}/close`, { reason: '已取得用地批复' })).case.status).toBe('closed');
    // A refused closure goes back to verified on the same month's clock, not the issue month's.
    const back = await ok('chief', `/api/polygons/${LATER}/review`, { approve: false, comment: '补充批复文件' });
    expect(back.case).toMatchObject({ status: 'verified', due_rule: 'verification', due_date: '2027-01-31' });
    t.setToday('2026-11-03');
  });

  it('illegal: the rectification clock counts from that verdict', async () => {
    await ok('nr', `/api/polygons/${SOIL}/verdict`, PILED);
    t.setToday('2026-12-07');
    const r = await ok('nr', `/api/polygons/${SOIL}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    // 15 working days from Monday 2026-12-07.
    expect(r.case).toMatchObject({ status: 'verified', verdict: 'illegal', due_rule: 'rectification', due_date: '2026-12-28' });
    t.setToday('2026-11-03');
  });
});

describe('持续监测 in the ledger and the quarterly report', () => {
  it('销号状态 and 办理状态 持续监测, the watch note in 其他情形, the re-check date as 办理期限', async () => {
    const data = await loadLedger(db, '2026-10', { asOf: '2026-12-02' });
    const row = data.rows.find((r) => r.图斑编号 === OCT)!;
    expect([row.判定类型, row.销号状态, row.办理状态, row.办理期限, row.是否逾期]).toEqual(['其他', '持续监测', '持续监测', '2027-01-31', '否']);
    expect(row.其他情形).toBe('持续监测（推堆土/在建，用途待定）：现场推堆土，未见建设，用途不明；关注：地基已开挖，看是否起建筑');
  });

  it('counts a monitored item under 其他 and 其中持续监测, neither 未核查 nor 已销号', async () => {
    const r = await quarterReport(db, '2026Q4', { asOf: '2026-12-02' });
    // OCT monitored (其他, 持续监测); LATER legal, SOIL illegal (judged out of monitoring: the report
    // reads the cases as they are now); NOV, the re-detection issued on its own, 未核查 until verified.
    expect([r.total.items, r.total.other, r.total.monitoring, r.total.legal, r.total.illegal, r.total.unverified, r.total.closed]).toEqual([4, 1, 1, 1, 1, 1, 0]);
  });
});

describe('持续监测: reassignment (改派) of a case judged by the wrong bureau', () => {
  // After the report's counts above: these two are more of October's items.
  const ASKED = '370102-202610-0004'; // nr asks to hand it on, the lead bureau reassigns it
  const SPLIT = '370102-202610-0005'; // split, one parcel 持续监测: the lead bureau reassigns it unasked
  const half = (w: number) => ({ type: 'Polygon', coordinates: [[[117.04 + w, 36.6], [117.04 + w + 0.0005, 36.6], [117.04 + w + 0.0005, 36.601], [117.04 + w, 36.601], [117.04 + w, 36.6]]] });

  beforeAll(async () => {
    await writeBatch(db, 'b-10b', '2026-10', [polygon(ASKED, '2026-10', square(117.03, 36.6)), polygon(SPLIT, '2026-10', square(117.04, 36.6))], '2026-11-02');
    await ok('chief', '/api/sweep');
    for (const code of [ASKED, SPLIT]) await ok('nr', `/api/polygons/${code}/accept`);
    await ok('nr', `/api/polygons/${ASKED}/verdict`, PILED);
    await ok('nr', `/api/polygons/${SPLIT}/split`, { parcels: [half(0), half(0.0005)] });
    await ok('nr', `/api/polygons/${SPLIT}/verdict`, { parcel: 1, verdict: 'legal', approval_doc_no: '济自然资批〔2026〕3号' });
    expect((await ok('nr', `/api/polygons/${SPLIT}/verdict`, { ...PILED, parcel: 2 })).case.status).toBe('monitoring');
  });

  it('the request is the bureau handling the case\'s, the reassignment the lead role\'s', async () => {
    expect((await t.request('water', `/api/polygons/${ASKED}/request-reassignment`, { reason: '不是我们的' })).statusCode).toBe(404);
    const chief = await t.request('chief', `/api/polygons/${ASKED}/request-reassignment`, { reason: '不是我们的' });
    expect([chief.statusCode, chief.json().code]).toEqual([403, 'AUTH.FORBIDDEN']);
    const self = await t.request('nr', `/api/polygons/${ASKED}/reassign`, { lead_bureau: 'water', reason: '水利工程范围' });
    expect([self.statusCode, self.json().code]).toEqual([403, 'AUTH.FORBIDDEN']);
    expect((await card('nr', ASKED)).case).toMatchObject({ status: 'monitoring', lead_bureau: 'natural_resources', verdict: 'other' });
  });

  it('asked from monitoring: the verdict stays while the lead bureau decides; reassigned, issued to the new bureau without it, on the month\'s clock', async () => {
    t.setToday('2026-11-20');
    const req = await ok('nr', `/api/polygons/${ASKED}/request-reassignment`, { reason: '位于河道管理范围', suggested_bureau: 'water' });
    // The verification clock from the day it left 持续监测, not the issue month's (that is the same month here).
    expect(req.case).toMatchObject({ status: 'reassignment_requested', verdict: 'other', due_rule: 'verification', due_date: '2026-11-30' });
    const r = await ok('chief', `/api/polygons/${ASKED}/reassign`, { lead_bureau: 'water', reason: '河道管理范围内' });
    expect(r.case).toMatchObject({ status: 'issued', lead_bureau: 'water', verdict: null, verdict_details: null, due_rule: 'verification', due_date: '2026-11-30' });
    expect((await t.request('nr', `/api/polygons/${ASKED}`)).statusCode).toBe(404);
    const c = await card('water', ASKED);
    expect(c.properties.overdue).toBe(false);
    // The history keeps what the old bureau judged.
    expect(c.history.some((h: { action: string; after: { situation?: string } }) => h.action === 'verdict' && h.after.situation === 'continuous_monitoring')).toBe(true);
    await ok('water', `/api/polygons/${ASKED}/accept`);
    expect((await ok('water', `/api/polygons/${ASKED}/verdict`, PILED)).case).toMatchObject({ status: 'monitoring', due_date: '2026-12-31' });
    t.setToday('2026-11-03');
  });

  it('reassigned from monitoring unasked: every parcel\'s verdict goes with the case\'s, and the clock counts from that day', async () => {
    t.setToday('2026-12-05');
    const r = await ok('chief', `/api/polygons/${SPLIT}/reassign`, { lead_bureau: 'water', reason: '河道管理范围内' });
    // From the issue month's clock it would be overdue since 2026-11-30.
    expect(r.case).toMatchObject({ status: 'issued', lead_bureau: 'water', verdict: null, due_rule: 'verification', due_date: '2026-12-31' });
    const parcels = (await db.query('SELECT idx, verdict, verdict_details FROM parcels WHERE code = $1 ORDER BY idx', [SPLIT])).rows;
    expect(parcels).toEqual([{ idx: 1, verdict: null, verdict_details: null }, { idx: 2, verdict: null, verdict_details: null }]);
    expect((await card('water', SPLIT)).properties.overdue).toBe(false);
    // The new bureau's verdict of one parcel does not complete the polygon with the old bureau's other one.
    await ok('water', `/api/polygons/${SPLIT}/accept`);
    expect((await ok('water', `/api/polygons/${SPLIT}/verdict`, { parcel: 1, verdict: 'legal', approval_doc_no: '济水批〔2026〕1号' })).case).toMatchObject({ status: 'accepted', verdict: null });
    t.setToday('2026-11-03');
  });
});
