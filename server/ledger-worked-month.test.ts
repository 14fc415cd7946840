/**
 * A worked month through the server's HTTP API (the bureaus' actions), then the lead bureau's
 * month ledger and quarterly report (`GET /api/ledger/…`, `GET /api/report/…`) checked against what
 * the actions recorded: who handles each row, what a split polygon's row says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { csvRows } from '../pipeline/outputs/testing/csv-rows.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const REASSIGNED = '370103-202610-0001';
const SPLIT = '370103-202610-0002';
const CONTINUING = '370103-202611-0001';

let db: Database;
let t: TestApp;

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, r.statusCode === 201 ? 201 : 200]);
  return r;
}
const ledger = async (month: string) => csvRows((await t.request('chief', `/api/ledger/${month}.csv`)).rawPayload.toString('utf8'));
const report = async () => csvRows((await t.request('chief', '/api/report/2026Q4.csv')).rawPayload.toString('utf8'));

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [
    polygon(REASSIGNED, '2026-10', square(117.0, 36.6), { areaM2: 1000 }),
    polygon(SPLIT, '2026-10', square(117.01, 36.6), { areaM2: 9000, leadBureau: 'forestry' }),
  ], '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources'], ['fo', 'bureau', 'forestry'], ['wa', 'bureau', 'water']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('the ledger and the report after a worked month', () => {
  it('name the bureau a case was reassigned to as 主办单位, and count the site under it', async () => {
    t.setToday('2026-11-05');
    await ok('nr', `/api/polygons/${REASSIGNED}/request-reassignment`, { reason: '河道管理范围内', suggested_bureau: 'water' });
    await ok('chief', `/api/polygons/${REASSIGNED}/reassign`, { lead_bureau: 'water', co_bureaus: ['natural_resources'], reason: '河道管理范围内' });
    await ok('wa', `/api/polygons/${REASSIGNED}/accept`);
    await ok('wa', `/api/polygons/${REASSIGNED}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation', party: '某公司' });
    // Next month the site grows; the batch routes it as before (natural resources), it joins the water bureau's open case.
    await writeBatch(db, 'b-2026-11', '2026-11', [polygon(CONTINUING, '2026-11', square(117.0, 36.6), { areaM2: 1500, previousCode: REASSIGNED })], '2026-12-01');
    t.setToday('2026-12-02');

    const row = (await ledger('2026-10')).find((r) => r.图斑编号 === REASSIGNED)!;
    expect([row.主办单位, row.协办单位, row.判定类型]).toEqual(['城乡水务局', '自然资源和规划局', '违法']);
    const byBureau = Object.fromEntries((await report()).filter((l) => l.分组 === '主办单位').map((l) => [l.名称, [l.新增问题数, l.违法, l.延续图斑]]));
    expect(byBureau['城乡水务局']).toEqual(['1', '1', '1']);
    expect(byBureau['自然资源和规划局']).toBeUndefined();
  });

  it('give a split polygon judged 违法 the violation types of its illegal parcels', async () => {
    await ok('fo', `/api/polygons/${SPLIT}/accept`);
    await ok('fo', `/api/polygons/${SPLIT}/split`, { parcels: [square(117.01, 36.6, 0.0005), { type: 'Polygon', coordinates: [[[117.0105, 36.6], [117.011, 36.6], [117.011, 36.601], [117.01, 36.601], [117.01, 36.6005], [117.0105, 36.6005], [117.0105, 36.6]]] }] });
    await ok('fo', `/api/polygons/${SPLIT}/verdict`, { parcel: 1, verdict: 'illegal', violation_type: 'rural_housing', party: '李四', actual_use: '住宅' });
    await ok('fo', `/api/polygons/${SPLIT}/verdict`, { parcel: 2, verdict: 'legal', approval_doc_no: '济林批〔2026〕5号' });
    const row = (await ledger('2026-10')).find((r) => r.图斑编号 === SPLIT)!;
    expect([row.判定类型, row.违法类型, row.当事人, row.实际用途]).toEqual(['违法', '农村村民非法占地建住宅', '李四', '住宅']);
    expect(row.备注).toContain(`${SPLIT}-2 合法`);
  });

  it('say 是否整改到位 否 for a closure the lead bureau sent back (退回), and note why; the report does not count it rectified', async () => {
    const code = '370104-202610-0001';
    await writeBatch(db, 'b-2026-10-sent-back', '2026-10', [polygon(code, '2026-10', square(117.2, 36.6), { tileId: 't9' })], '2026-11-02');
    t.setToday('2026-11-05');
    await ok('nr', `/api/polygons/${code}/accept`);
    await ok('nr', `/api/polygons/${code}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    await ok('nr', `/api/polygons/${code}/rectification`, { method: 'demolish_restore', progress: 100, case_filed: true });
    await ok('nr', `/api/polygons/${code}/close`, { reason: '已拆除复耕', rectified: true, penalty_done: true });
    t.setToday('2026-11-10');
    await ok('chief', `/api/polygons/${code}/review`, { approve: false, comment: '复耕未到位' });
    const row = (await ledger('2026-10')).find((r) => r.图斑编号 === code)!;
    expect([row.办理状态, row.是否整改到位, row.是否处罚到位, row.销号状态]).toEqual(['整改中', '否', '', '县级已填报违法']);
    expect(row.备注).toContain('销号退回 2026-11-10：复耕未到位');
    const district = (await report()).find((l) => l.分组 === '区县' && l.代码 === '370104')!;
    expect([district.违法, district.整改到位]).toEqual(['1', '0']);
    // The bureau reports the rectification again and closes: the closure it now records stands.
    await ok('nr', `/api/polygons/${code}/rectification`, { method: 'demolish_restore', progress: 100 });
    expect((await ledger('2026-10')).find((r) => r.图斑编号 === code)!.是否整改到位).toBe('是');
    await ok('nr', `/api/polygons/${code}/close`, { reason: '复耕完成', rectified: true, penalty_done: true });
    await ok('chief', `/api/polygons/${code}/review`, { approve: true });
    const done = (await ledger('2026-10')).find((r) => r.图斑编号 === code)!;
    expect([done.是否整改到位, done.是否处罚到位, done.销号状态]).toEqual(['是', '是', '已销号']);
  });

  it('date a batch that finished at 01:00 CST on 1 January in the new year, in the ledger and on its case', async () => {
    const code = '370102-202612-0001';
    await writeBatch(db, 'b-2026-12', '2026-12', [polygon(code, '2026-12', square(117.05, 36.6))], '2026-12-31');
    await db.query(`UPDATE batches SET finished_at = '2027-01-01T01:00:00+08:00' WHERE id = 'b-2026-12'`);
    t.setToday('2027-01-05');
    const row = (await ledger('2026-12')).find((r) => r.图斑编号 === code)!;
    expect([row.下发时间, row.办理期限, row.是否逾期]).toEqual(['2027-01-01', '2027-01-31', '否']);
    const card = (await t.request('chief', `/api/polygons/${code}`)).json();
    expect([card.case.issued_on, card.case.due_date]).toEqual(['2027-01-01', '2027-01-31']);
  });
});
