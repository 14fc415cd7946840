/**
 * The ledger's case columns that the triage record holds and no other column shows (RESEARCH.md §3.8
 * items 9–11): 整改期限 (the rectification clock's due date, which 办理期限 shows only while it runs),
 * 处罚决定时间 (rectification.penalty_decided_on), 结案时间 (the day the bureau closed a filed case; 销号时间
 * is the review's day), 移送纪委监委时间 and 移送纪委监委理由 (the hand-over's date and note). Each case is
 * worked through the server's HTTP API and read back from the month's CSV, for every kind of row:
 * legal, illegal (filed, not filed), other, split, clue, 图形灭失, reassigned, unverified.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRows } from '../pipeline/outputs/testing/csv-rows.js';
import type { Database } from '../pipeline/store/queryable.js';
import { replaceBatchPolygons } from '../pipeline/store/repository.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const LEGAL = '370102-202610-0001';
const FILED = '370102-202610-0002';
const NOT_FILED = '370102-202610-0003';
const OTHER = '370102-202610-0004';
const SPLIT = '370102-202610-0005';
const REASSIGNED = '370102-202610-0006';
const UNVERIFIED = '370102-202610-0007';
const VANISHED = '370103-202610-0001';
const COLUMNS = ['整改期限', '处罚决定时间', '结案时间', '移送纪委监委时间', '移送纪委监委理由'] as const;

let db: Database;
let t: TestApp;
let clue = '';

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, r.statusCode === 201 ? 201 : 200]);
  return r;
}
const ledger = async () => csvRows((await t.request('chief', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8'));
const cells = (row: Record<string, string>) => COLUMNS.map((c) => row[c]);

beforeAll(async () => {
  db = await openTestDatabase();
  const codes = [LEGAL, FILED, NOT_FILED, OTHER, SPLIT, REASSIGNED, UNVERIFIED];
  await writeBatch(db, 'b-2026-10', '2026-10', codes.map((code, i) => polygon(code, '2026-10', square(117 + i / 100, 36.6))), '2026-11-02');
  await writeBatch(db, 'b-2026-10-b', '2026-10', [polygon(VANISHED, '2026-10', square(117.3, 36.6), { tileId: 't9' })], '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources'], ['wa', 'bureau', 'water'], ['d102', 'district', '370102']]);
  t = await testApp(db);

  t.setToday('2026-11-03');
  const illegal = { verdict: 'illegal', violation_type: 'illegal_occupation' };
  for (const code of [LEGAL, FILED, NOT_FILED, OTHER, SPLIT, VANISHED]) await ok('nr', `/api/polygons/${code}/accept`);
  await ok('nr', `/api/polygons/${LEGAL}/verdict`, { verdict: 'legal', approval_doc_no: '济自然资批〔2026〕7号' });
  // Judged illegal on 3 November: the rectification clock runs 15 working days, to 24 November.
  for (const code of [FILED, NOT_FILED, OTHER, VANISHED]) await ok('nr', `/api/polygons/${code}/verdict`, illegal);
  // Judged again, 其他 after all: a rectification deadline it once had no longer applies.
  await ok('nr', `/api/polygons/${OTHER}/verdict`, { verdict: 'other', situation: 'seasonal', reason: '农户晾晒秸秆' });
  await ok('nr', `/api/polygons/${SPLIT}/split`, { parcels: [square(117.04, 36.6, 0.0005), { type: 'Polygon', coordinates: [[[117.0405, 36.6], [117.041, 36.6], [117.041, 36.601], [117.04, 36.601], [117.04, 36.6005], [117.0405, 36.6005], [117.0405, 36.6]]] }] });
  await ok('nr', `/api/polygons/${SPLIT}/verdict`, { parcel: 1, ...illegal, party: '李四' });
  await ok('nr', `/api/polygons/${REASSIGNED}/request-reassignment`, { reason: '河道管理范围内', suggested_bureau: 'water' });
  await ok('chief', `/api/polygons/${REASSIGNED}/reassign`, { lead_bureau: 'water', reason: '河道管理范围内' });
  clue = (await ok('d102', '/api/clues', { source: 'hotline', district_code: '370102', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: '12345 举报 夜间施工', reported_on: '2026-10-28' })).json().code;
  await ok('nr', `/api/polygons/${clue}/accept`);

  t.setToday('2026-11-05');
  // The split polygon is illegal once its last parcel is judged: its clock starts that day.
  await ok('nr', `/api/polygons/${SPLIT}/verdict`, { parcel: 2, verdict: 'legal', approval_doc_no: '济自然资批〔2026〕9号' });
  await ok('wa', `/api/polygons/${REASSIGNED}/accept`);
  await ok('wa', `/api/polygons/${REASSIGNED}/verdict`, illegal);
  await ok('nr', `/api/polygons/${clue}/verdict`, illegal);

  t.setToday('2026-11-12');
  await ok('nr', `/api/polygons/${FILED}/rectification`, { method: 'fine', progress: 100, case_filed: true, party_official: true, penalty_decided_on: '2026-11-10' });
  await ok('nr', `/api/polygons/${NOT_FILED}/rectification`, { method: 'demolish_restore', progress: 100, case_filed: false, not_filed_reason: '超过追诉时效' });
  await ok('nr', `/api/polygons/${clue}/rectification`, { method: 'demolish_restore', progress: 30 });
  await ok('nr', `/api/polygons/${VANISHED}/rectification`, { method: 'fine', progress: 50, case_filed: true, penalty_decided_on: '2026-11-11' });
  await ok('nr', `/api/polygons/${LEGAL}/close`, { reason: '手续齐全' });

  t.setToday('2026-11-20');
  await ok('nr', `/api/polygons/${FILED}/close`, { reason: '罚款已缴纳', rectified: true, penalty_done: true });
  await ok('nr', `/api/polygons/${NOT_FILED}/close`, { reason: '已拆除复耕', rectified: true });
  await ok('chief', `/api/polygons/${FILED}/hand-over`, { to: 'police', handed_on: '2026-11-18', note: '涉嫌非法占用农用地罪' });
  await ok('chief', `/api/polygons/${FILED}/hand-over`, { to: 'discipline', handed_on: '2026-11-19', reference: '济自然资移〔2026〕3号', note: '当事人含村干部，移送案件材料' });

  t.setToday('2026-11-26');
  await ok('chief', `/api/polygons/${FILED}/review`, { approve: true });
  await ok('chief', `/api/polygons/${LEGAL}/review`, { approve: true });
  // A re-run no longer finds the site; the lead bureau withdraws its case (图形灭失).
  await replaceBatchPolygons(db, 'b-2026-10-b', []);
  await ok('chief', '/api/sweep');
  await ok('chief', `/api/polygons/${VANISHED}/withdraw`, { reason: '复跑后不再提取' });
}, 180_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('the ledger’s case columns', () => {
  it('are in every export’s header', async () => {
    const text = (await t.request('chief', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8');
    const header = text.slice(1, text.indexOf('\r\n')).split(',');
    for (const c of COLUMNS) expect(header).toContain(c);
  });

  it('give a filed, penalised, closed and reviewed violation its rectification deadline, penalty decision, closure and hand-over', async () => {
    const row = (await ledger()).find((r) => r.图斑编号 === FILED)!;
    // 整改期限 stays after the clock stopped (the review's 办理期限 is no longer the rectification's); 结案时间
    // is the bureau's closure, 销号时间 the review's; the commission's hand-over, not the police's.
    expect(cells(row)).toEqual(['2026-11-24', '2026-11-10', '2026-11-20', '2026-11-19', '当事人含村干部，移送案件材料']);
    // (销号时间 is the review's audit time, the database's clock, not the test's.)
    expect([row.销号状态, row.办理状态, row.是否移送纪委监委, row.是否移送公安]).toEqual(['已销号', '审核通过', '是', '是']);
  });

  it('give a violation not filed (不予立案) no 结案时间, and one still rectifying the running clock', async () => {
    const rows = await ledger();
    expect(cells(rows.find((r) => r.图斑编号 === NOT_FILED)!)).toEqual(['2026-11-24', '', '', '', '']);
    const c = rows.find((r) => r.图斑编号 === clue)!;
    expect([c.发现方式, ...cells(c)]).toEqual(['热线(12336/12345)', '2026-11-26', '', '', '', '']);
    expect(c.办理期限).toBe('2026-11-26');
  });

  it('count a split polygon’s and a reassigned case’s clock from the day they became violations', async () => {
    const rows = await ledger();
    expect(cells(rows.find((r) => r.图斑编号 === SPLIT)!)).toEqual(['2026-11-26', '', '', '', '']);
    const re = rows.find((r) => r.图斑编号 === REASSIGNED)!;
    expect([re.主办单位, ...cells(re)]).toEqual(['城乡水务局', '2026-11-26', '', '', '', '']);
  });

  it('keep what a withdrawn violation (图形灭失) had recorded', async () => {
    const row = (await ledger()).find((r) => r.图斑编号 === VANISHED)!;
    expect([row.销号状态, ...cells(row)]).toEqual(['图形灭失', '2026-11-24', '2026-11-11', '', '', '']);
  });

  it('are blank for legal, other and unverified rows', async () => {
    const rows = await ledger();
    for (const code of [LEGAL, OTHER, UNVERIFIED]) expect([code, ...cells(rows.find((r) => r.图斑编号 === code)!)]).toEqual([code, '', '', '', '', '']);
  });
});
