/**
 * A rectification report (整改进度) sent with `null` clears the figure (the page sends it for a figure
 * emptied in its form); left out, a figure is kept. Who may, in which state, what the history and the
 * ledger say afterwards, and the 纪委 case-file clock a penalty decision's day starts (not cleared
 * once it has passed, not started on a day to come), worked through the HTTP API on a real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRows } from '../pipeline/outputs/testing/csv-rows.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const CLEARED = '370102-202610-0001';
const CLOSED = '370102-202610-0002';
const OFFICIAL = '370102-202610-0003';
const HANDED = '370102-202610-0004';

let db: Database;
let t: TestApp;

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, 200]);
  return r;
}
const rectify = (code: string, body: Record<string, unknown>, user = 'nr') =>
  t.request(user, `/api/polygons/${code}/rectification`, { method: 'combined', progress: 50, ...body });
const stored = async (code: string) => (await db.query<{ r: Record<string, unknown> | null; d: Record<string, unknown> | null; v: number }>('SELECT rectification AS r, verdict_details AS d, version AS v FROM cases WHERE code = $1', [code])).rows[0];
const row = async (code: string) => csvRows((await t.request('chief', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8')).find((r) => r.图斑编号 === code)!;
const COLUMNS = ['违法性质', '处罚决定时间', '罚没金额(元)', '拆除复耕面积(平方米)', '补办手续文号', '补办手续面积(平方米)', '补办手续其中耕地面积(亩)'] as const;
const FULL = { case_filed: true, penalty_decided_on: '2026-11-05', fine_amount_yuan: 5000, restored_area_m2: 3000, retroactive_doc_no: '济自然资补〔2026〕3号', retroactive_area_m2: 2000, retroactive_farmland_m2: 666.67, violation_nature: 'organisation' };

beforeAll(async () => {
  db = await openTestDatabase();
  const codes = [CLEARED, CLOSED, OFFICIAL, HANDED];
  await writeBatch(db, 'b-2026-10', '2026-10', codes.map((code, i) => polygon(code, '2026-10', square(117 + i / 100, 36.6), { coBureaus: ['forestry'] })), '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources'], ['fo', 'bureau', 'forestry'], ['eco', 'bureau', 'ecology_environment']]);
  t = await testApp(db);
  t.setToday('2026-11-03');
  for (const code of codes) {
    await ok('nr', `/api/polygons/${code}/accept`);
    await ok('nr', `/api/polygons/${code}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
  }
  t.setToday('2026-11-12');
  for (const code of [CLEARED, CLOSED]) expect((await rectify(code, FULL)).statusCode).toBe(200);
  await ok('nr', `/api/polygons/${CLOSED}/rectification`, { method: 'combined', progress: 100 });
  await ok('nr', `/api/polygons/${CLOSED}/close`, { reason: '已整改', rectified: true, penalty_done: true });
}, 180_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('a rectification report clearing a figure with null', () => {
  it('is the lead bureau’s: a co-handling bureau gets 403, another bureau 404, and nothing changes', async () => {
    const before = await stored(CLEARED);
    const co = await rectify(CLEARED, { fine_amount_yuan: null }, 'fo');
    expect([co.statusCode, co.json().code]).toEqual([403, 'CASE.NOT_LEAD']);
    const other = await rectify(CLEARED, { fine_amount_yuan: null }, 'eco');
    expect(other.statusCode, other.body).toBe(404);
    expect(await stored(CLEARED)).toEqual(before);
  });

  it('is refused (409) on a closed case and on a reviewed one, which keep their figures', async () => {
    for (const status of ['closed', 'reviewed']) {
      if (status === 'reviewed') await ok('chief', `/api/polygons/${CLOSED}/review`, { approve: true });
      const before = await stored(CLOSED);
      const r = await rectify(CLOSED, { fine_amount_yuan: null, violation_nature: null });
      expect([status, r.statusCode], r.body).toEqual([status, 409]);
      expect(await stored(CLOSED)).toEqual(before);
      expect(before.r).toMatchObject({ fine_amount_yuan: 5000 });
    }
  });

  it('clears what is sent as null, keeps what is left out, and the history row records the clearing', async () => {
    const before = await row(CLEARED);
    expect(COLUMNS.map((c) => before[c])).toEqual(['单位违法', '2026-11-05', '5000', '3000', '济自然资补〔2026〕3号', '2000', '1']);
    const r = await rectify(CLEARED, { fine_amount_yuan: null, penalty_decided_on: null, restored_area_m2: null, retroactive_doc_no: null, retroactive_area_m2: null, retroactive_farmland_m2: null, violation_nature: null });
    expect(r.statusCode, r.body).toBe(200);
    const { r: rect, d } = await stored(CLEARED);
    for (const key of ['fine_amount_yuan', 'penalty_decided_on', 'restored_area_m2', 'retroactive_doc_no', 'retroactive_area_m2', 'retroactive_farmland_m2']) expect([key, key in rect!]).toEqual([key, false]);
    expect(d).not.toHaveProperty('violation_nature');
    // Left out: kept.
    expect(rect).toMatchObject({ case_filed: true, method: 'combined', progress: 50 });
    const audit = (await db.query<{ before: Record<string, any>; after: Record<string, any> }>(`SELECT before, after FROM audit_log WHERE code = $1 AND action = 'rectification' ORDER BY id DESC LIMIT 1`, [CLEARED])).rows[0];
    expect(audit.before.rectification).toMatchObject({ fine_amount_yuan: 5000, penalty_decided_on: '2026-11-05', retroactive_doc_no: '济自然资补〔2026〕3号' });
    expect(audit.after).toMatchObject({ fine_amount_yuan: null, penalty_decided_on: null, violation_nature: null, retroactive_area_m2: null });
    expect(audit.after.rectification).not.toHaveProperty('fine_amount_yuan');
    expect(audit.before.verdict_details).toMatchObject({ violation_nature: 'organisation' });
    expect(audit.after.verdict_details).not.toHaveProperty('violation_nature');
    // The ledger's columns for them are empty; the filing decision left out is still 是.
    const after = await row(CLEARED);
    expect(COLUMNS.map((c) => after[c])).toEqual(['', '', '', '', '', '', '']);
    expect(after.是否立案).toBe('是');
  });

  it('keeps every figure a later report leaves out', async () => {
    expect((await rectify(CLEARED, { case_filed: true, fine_amount_yuan: 700, restored_area_m2: 10 })).statusCode).toBe(200);
    expect((await rectify(CLEARED, { progress: 60, restored_area_m2: null })).statusCode).toBe(200);
    const { r: rect } = await stored(CLEARED);
    expect([rect!.fine_amount_yuan, 'restored_area_m2' in rect!, rect!.progress]).toEqual([700, false, 60]);
  });
});

describe('the penalty decision’s day and its 纪委 case-file clock', () => {
  it('is not a day to come (400 naming the field): it would start the 30-day clock late', async () => {
    const r = await rectify(OFFICIAL, { case_filed: true, party_official: true, penalty_decided_on: '2026-11-13' });
    expect([r.statusCode, r.json().code, r.json().message]).toEqual([400, 'VALIDATION', expect.stringMatching(/penalty_decided_on 2026-11-13 is after today \(2026-11-12\)/)]);
    expect((await stored(OFFICIAL)).r).toBeNull();
  });

  it('is not cleared once the case files were due and not handed over (409); before that day, or after the handover, it is', async () => {
    const first = await rectify(OFFICIAL, { case_filed: true, party_official: true, penalty_decided_on: '2026-11-12' });
    expect(first.json().case.rectification.files_due).toBe('2026-12-12');
    // Before the day: a mistaken decision's day is cleared, and its clock with it.
    expect((await rectify(OFFICIAL, { penalty_decided_on: null })).json().case.rectification).not.toHaveProperty('files_due');
    expect((await rectify(OFFICIAL, { penalty_decided_on: '2026-11-12' })).json().case.rectification.files_due).toBe('2026-12-12');
    expect((await rectify(HANDED, { case_filed: true, party_official: true, penalty_decided_on: '2026-11-12' })).statusCode).toBe(200);
    t.setToday('2026-12-14');
    // The sweep escalates the files not with the commission by 12 December.
    await ok('chief', '/api/sweep');
    const card = (await t.request('chief', `/api/polygons/${OFFICIAL}`)).json();
    expect(card.escalations.filter((e: { rule: string }) => e.rule === 'penalty_files')).toHaveLength(1);
    const before = await stored(OFFICIAL);
    for (const body of [{ penalty_decided_on: null }, { party_official: false }]) {
      const r = await rectify(OFFICIAL, body);
      expect([JSON.stringify(body), r.statusCode, r.json().code], r.body).toEqual([JSON.stringify(body), 409, 'CASE.BAD_STATE']);
      expect(r.json().message).toMatch(/due at the discipline commission on 2026-12-12.*record the handover/);
    }
    expect(await stored(OFFICIAL)).toEqual(before);
    // Handed over: the clock is met, the facts may be corrected.
    await ok('chief', `/api/polygons/${HANDED}/hand-over`, { to: 'discipline', handed_on: '2026-12-13' });
    const r = await rectify(HANDED, { penalty_decided_on: null });
    expect(r.statusCode, r.body).toBe(200);
  });

  it('is dropped past its day with the reason the tick or the date was a mistake (files_clock_correction), kept in the history; the escalation stays', async () => {
    const before = await stored(OFFICIAL);
    expect(before.r).toMatchObject({ party_official: true, files_due: '2026-12-12' });
    // The card says so (the page asks for the reason then); not where the files were handed over.
    expect((await t.request('nr', `/api/polygons/${OFFICIAL}`)).json().case.files_overdue).toBe(true);
    expect((await t.request('nr', `/api/polygons/${CLEARED}`)).json().case.files_overdue).toBe(false);
    // Without a reason the refusal names both ways out.
    const refused = await rectify(OFFICIAL, { party_official: false });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/if the files were handed over, record the handover.*if party_official or penalty_decided_on was a mistake, give the reason in files_clock_correction/);
    // Re-dating the decision moves the passed day as surely: the same refusal, nothing changed.
    const was = await stored(OFFICIAL);
    const redated = await rectify(OFFICIAL, { penalty_decided_on: '2026-11-20' });
    expect([redated.statusCode, redated.json().code]).toEqual([409, 'CASE.BAD_STATE']);
    expect(await stored(OFFICIAL)).toEqual(was);
    // An empty reason, or one with a report that drops no passed clock, is refused (400 naming it) and changes nothing.
    for (const [code, body] of [
      [OFFICIAL, { party_official: false, files_clock_correction: '  ' }],
      [OFFICIAL, { progress: 60, files_clock_correction: '当事人非党员，误勾选' }],
      [CLEARED, { party_official: false, files_clock_correction: '当事人非党员，误勾选' }],
      [HANDED, { party_official: false, files_clock_correction: '当事人非党员，误勾选' }],
    ] as const) {
      const was = await stored(code);
      const r = await rectify(code, body);
      expect([code, JSON.stringify(body), r.statusCode, r.json().code], r.body).toEqual([code, JSON.stringify(body), 400, 'VALIDATION']);
      expect(r.body).toContain('files_clock_correction');
      expect(await stored(code)).toEqual(was);
    }
    const levelBefore = (await db.query<{ l: number }>('SELECT escalation_level AS l FROM cases WHERE code = $1', [OFFICIAL])).rows[0].l;
    const r = await rectify(OFFICIAL, { party_official: false, files_clock_correction: '当事人非党员，误勾选' });
    expect(r.statusCode, r.body).toBe(200);
    const rect = (await stored(OFFICIAL)).r!;
    expect([rect.party_official, 'files_due' in rect, 'files_clock_correction' in rect, rect.penalty_decided_on]).toEqual([false, false, false, '2026-11-12']);
    // The reason and the clock it dropped are in the history the card shows.
    const card = (await t.request('chief', `/api/polygons/${OFFICIAL}`)).json();
    const last = card.history.at(-1);
    expect([last.action, last.actor, last.after.files_clock_correction, last.after.files_due_dropped]).toEqual(['rectification', 'nr', '当事人非党员，误勾选', '2026-12-12']);
    expect(card.case.files_overdue).toBe(false);
    // The sweep's escalation is history: kept as it was, and not made again.
    await ok('chief', '/api/sweep');
    const again = (await t.request('chief', `/api/polygons/${OFFICIAL}`)).json();
    expect(again.escalations.filter((e: { rule: string }) => e.rule === 'penalty_files')).toHaveLength(1);
    expect((await db.query<{ l: number }>('SELECT escalation_level AS l FROM cases WHERE code = $1', [OFFICIAL])).rows[0].l).toBe(levelBefore);
    // The clock gone, a later report needs no reason (and takes none).
    expect((await rectify(OFFICIAL, { progress: 70 })).statusCode).toBe(200);
  });
});
