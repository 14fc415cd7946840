/**
 * The case facts a rectification records beside 立案 / 不予立案 (RESEARCH.md §3.5, §3.6, §3.8 items 9–10):
 * 立案时间 (`case_filed_on`), 罚没金额 (`fine_amount_yuan`), 拆除复耕面积 (`restored_area_m2`) and 是否申请
 * 法院强制执行 (`court_enforcement`). What is refused, what is kept when a later report leaves them out,
 * and the ledger's columns for them, worked through the server's HTTP API and read back from the CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRows } from '../pipeline/outputs/testing/csv-rows.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const FILED = '370102-202610-0001';
const NOT_FILED = '370102-202610-0002';
const LEGAL = '370102-202610-0003';
const REFUSED = '370102-202610-0004';
const PATROL_FIRST = '370102-202610-0005';
const COLUMNS = ['立案时间', '罚没金额(元)', '拆除复耕面积(亩)', '拆除复耕面积(平方米)', '是否申请法院强制执行'] as const;

let db: Database;
let t: TestApp;
let clue = '';

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, r.statusCode === 201 ? 201 : 200]);
  return r;
}
const rectify = (code: string, body: Record<string, unknown>) => t.request('nr', `/api/polygons/${code}/rectification`, { method: 'demolish_restore', progress: 50, ...body });
const stored = async (code: string) => (await db.query<{ r: Record<string, unknown> | null; v: number }>('SELECT rectification AS r, version AS v FROM cases WHERE code = $1', [code])).rows[0];
const ledger = async () => csvRows((await t.request('chief', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8'));
const cells = (row: Record<string, string>) => COLUMNS.map((c) => row[c]);

beforeAll(async () => {
  db = await openTestDatabase();
  const codes = [FILED, NOT_FILED, LEGAL, REFUSED, PATROL_FIRST];
  // Each polygon's monitored area is 9000 m² (13.5 亩); issued on 2 November.
  await writeBatch(db, 'b-2026-10', '2026-10', codes.map((code, i) => polygon(code, '2026-10', square(117 + i / 100, 36.6))), '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources'], ['d102', 'district', '370102']]);
  t = await testApp(db);
  t.setToday('2026-11-03');
  const illegal = { verdict: 'illegal', violation_type: 'illegal_occupation' };
  for (const code of codes) await ok('nr', `/api/polygons/${code}/accept`);
  for (const code of [FILED, NOT_FILED, REFUSED]) await ok('nr', `/api/polygons/${code}/verdict`, illegal);
  // The local patrol had found this one on 20 October, before the imagery's polygon was issued.
  await ok('nr', `/api/polygons/${PATROL_FIRST}/verdict`, { ...illegal, patrol_found_on: '2026-10-20' });
  await ok('nr', `/api/polygons/${LEGAL}/verdict`, { verdict: 'legal', approval_doc_no: '济自然资批〔2026〕7号' });
  clue = (await ok('d102', '/api/clues', { source: 'hotline', district_code: '370102', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: '12345 举报 夜间施工', reported_on: '2026-10-28' })).json().code;
  await ok('nr', `/api/polygons/${clue}/accept`);
  await ok('nr', `/api/polygons/${clue}/verdict`, illegal);
  t.setToday('2026-11-12');
}, 180_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('a rectification’s case facts', () => {
  it('are refused (400 VALIDATION, nothing stored) when they contradict the filing decision, the calendar or the site', async () => {
    const before = await stored(REFUSED);
    const refusals: [Record<string, unknown>, RegExp][] = [
      // 立案时间, 罚没金额 and 申请法院强制执行 are a filed case's: not without case_filed true, not with 不予立案.
      [{ case_filed_on: '2026-11-05' }, /case_filed_on.*case_filed true/],
      [{ case_filed: false, not_filed_reason: '超过追诉时效', case_filed_on: '2026-11-05' }, /case_filed_on.*case_filed true/],
      [{ fine_amount_yuan: 5000 }, /fine_amount_yuan.*case_filed true/],
      [{ case_filed: false, court_enforcement: true }, /court_enforcement.*case_filed true/],
      // Filed on a day to come, or before the polygon was issued (a mistyped year).
      [{ case_filed: true, case_filed_on: '2026-11-13' }, /case_filed_on 2026-11-13 is after today \(2026-11-12\)/],
      [{ case_filed: true, case_filed_on: '2025-11-05' }, /case_filed_on 2025-11-05 is before .*2026-11-02/],
      // Without a 立案时间, a penalty decided before the polygon was issued (a mistyped year: it started the
      // 30-day 纪委 case-file clock overdue).
      [{ case_filed: true, penalty_decided_on: '2025-11-05' }, /penalty_decided_on 2025-11-05 is before the case was issued \(2026-11-02\)/],
      // The penalty is decided on a filed case: not before it was filed.
      [{ case_filed: true, case_filed_on: '2026-11-06', penalty_decided_on: '2026-11-05' }, /penalty_decided_on 2026-11-05 is before case_filed_on 2026-11-06/],
      // Yuan with fen at most, not negative; not a string.
      [{ case_filed: true, fine_amount_yuan: -1 }, /fine_amount_yuan/],
      [{ case_filed: true, fine_amount_yuan: 100.005 }, /fine_amount_yuan.*two decimals/],
      [{ case_filed: true, fine_amount_yuan: '5000' }, /fine_amount_yuan/],
      // m², not negative, and at most 1.5 × the site's 9000 m² (a figure in the wrong unit or with a digit too many).
      [{ restored_area_m2: -5 }, /restored_area_m2/],
      [{ restored_area_m2: 13_501 }, /restored_area_m2 13501 m² is more than 1\.5 × the site's 9000 m²/],
      [{ court_enforcement: 'yes', case_filed: true }, /court_enforcement/],
    ];
    for (const [body, message] of refusals) {
      const r = await rectify(REFUSED, body);
      expect([JSON.stringify(body), r.statusCode, r.json().code], r.body).toEqual([JSON.stringify(body), 400, 'VALIDATION']);
      expect(r.json().message).toMatch(message);
    }
    expect(await stored(REFUSED)).toEqual(before);
    // The bound itself is accepted.
    expect((await rectify(REFUSED, { restored_area_m2: 13_500 })).statusCode).toBe(200);
  });

  it('date a case filed before the polygon was issued from the patrol’s own find, not earlier', async () => {
    const early = await rectify(PATROL_FIRST, { case_filed: true, case_filed_on: '2026-10-19' });
    expect([early.statusCode, early.json().message]).toEqual([400, expect.stringMatching(/before .*2026-10-20/)]);
    const r = await rectify(PATROL_FIRST, { case_filed: true, case_filed_on: '2026-10-25' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().case.rectification.case_filed_on).toBe('2026-10-25');
  });

  it('date a case filed on a clue from the day it was reported, which may precede its registration (last month’s call entered this month)', async () => {
    // Reported by hotline on 28 October, registered (issued) on 12 November: filed on 1 November in between.
    const late = (await ok('d102', '/api/clues', { source: 'hotline', district_code: '370102', geometry: { type: 'Point', coordinates: [117.12, 36.65] }, description: '12345 举报 挖土', reported_on: '2026-10-28' })).json().code;
    await ok('nr', `/api/polygons/${late}/accept`);
    await ok('nr', `/api/polygons/${late}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    const early = await rectify(late, { case_filed: true, case_filed_on: '2026-10-27' });
    expect([early.statusCode, early.json().message]).toEqual([400, expect.stringMatching(/before the clue was reported \(2026-10-28\)/)]);
    const r = await rectify(late, { case_filed: true, case_filed_on: '2026-11-01' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().case.rectification.case_filed_on).toBe('2026-11-01');
  });

  it('are stored, answered on the card, and kept by a later report that leaves them out', async () => {
    const first = await rectify(FILED, { case_filed: true, case_filed_on: '2026-11-05', penalty_decided_on: '2026-11-10', fine_amount_yuan: 12345.6, restored_area_m2: 8000, court_enforcement: true });
    expect(first.statusCode, first.body).toBe(200);
    const facts = { case_filed: true, case_filed_on: '2026-11-05', penalty_decided_on: '2026-11-10', fine_amount_yuan: 12345.6, restored_area_m2: 8000, court_enforcement: true };
    expect(first.json().case.rectification).toMatchObject(facts);
    // Progress reported without them (as 处罚决定日期 is): the recorded facts stand.
    expect((await rectify(FILED, { progress: 90 })).statusCode).toBe(200);
    expect((await t.request('nr', `/api/polygons/${FILED}`)).json().case.rectification).toMatchObject({ ...facts, progress: 90 });
    // A correction replaces one fact and leaves the others.
    expect((await rectify(FILED, { progress: 100, case_filed: true, court_enforcement: false })).statusCode).toBe(200);
    expect((await stored(FILED)).r).toMatchObject({ ...facts, progress: 100, court_enforcement: false });
  });

  it('of a filed case are dropped when the decision becomes 不予立案; the restored area, no case fact, stays', async () => {
    expect((await rectify(NOT_FILED, { case_filed: true, case_filed_on: '2026-11-04', fine_amount_yuan: 800, court_enforcement: true, restored_area_m2: 600.5 })).statusCode).toBe(200);
    const r = await rectify(NOT_FILED, { progress: 100, case_filed: false, not_filed_reason: '违法事实不成立' });
    expect(r.statusCode, r.body).toBe(200);
    const rect = r.json().case.rectification;
    expect(['case_filed_on', 'fine_amount_yuan', 'court_enforcement'].filter((k) => k in rect)).toEqual([]);
    expect([rect.case_filed, rect.not_filed_reason, rect.restored_area_m2]).toEqual([false, '违法事实不成立', 600.5]);
  });

  it('are in the OpenAPI document of the rectification body', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const schema = doc.paths['/api/polygons/{code}/rectification'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['case_filed_on', 'fine_amount_yuan', 'restored_area_m2', 'court_enforcement']));
    expect(schema.properties.fine_amount_yuan).toMatchObject({ type: 'number', minimum: 0 });
  });

  it('put no bound on the restored area of a clue reported as a point (it has no outline to measure)', async () => {
    const r = await rectify(clue, { restored_area_m2: 25_000 });
    expect(r.statusCode, r.body).toBe(200);
  });
});

describe('the ledger’s columns for them', () => {
  it('are in the header, after the filing and the rectification columns they belong to', async () => {
    const text = (await t.request('chief', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8');
    const header = text.slice(1, text.indexOf('\r\n')).split(',');
    const at = (c: string) => header.indexOf(c);
    expect(COLUMNS.map(at).every((i) => i > 0)).toBe(true);
    expect([at('不予立案说明') < at('立案时间'), at('立案时间') < at('处罚决定时间'), at('处罚决定时间') < at('罚没金额(元)'), at('整改期限') < at('拆除复耕面积(亩)'), at('是否处罚到位') < at('是否申请法院强制执行')]).toEqual([true, true, true, true, true]);
  });

  it('give a filed violation its 立案时间, 罚没金额, 拆除复耕面积 in 亩 and m², and 是否申请法院强制执行', async () => {
    const rows = await ledger();
    expect(cells(rows.find((r) => r.图斑编号 === FILED)!)).toEqual(['2026-11-05', '12345.6', '12', '8000', '否']);
    // Not filed: no case facts; the area restored still counts.
    expect(cells(rows.find((r) => r.图斑编号 === NOT_FILED)!)).toEqual(['', '', '0.9', '600.5', '']);
    expect(cells(rows.find((r) => r.图斑编号 === clue)!)).toEqual(['', '', '37.5', '25000', '']);
  });

  it('are blank for a legal row and for a violation that recorded none of them', async () => {
    const rows = await ledger();
    expect(cells(rows.find((r) => r.图斑编号 === LEGAL)!)).toEqual(['', '', '', '', '']);
    expect(cells(rows.find((r) => r.图斑编号 === PATROL_FIRST)!)).toEqual(['2026-10-25', '', '', '', '']);
  });
});
