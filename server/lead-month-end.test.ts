/**
 * The lead bureau's month end: how late each overdue case is (counted as its deadline was: working
 * days on the holiday calendar for the rectification clock, calendar days for the others), 督办 (a
 * dated, audited urge that changes nothing else), and a closure waiting for the lead bureau's review,
 * whose delay is the reviewer's and never the bureau's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const RECTIFYING = '370102-202608-0001';
const UNTOUCHED = '370102-202608-0002';
const ON_TIME = '370102-202609-0001';

let db: Database;
let t: TestApp;

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, 200]);
  return r;
}
const props = async (user: string, code: string) => (await t.request(user, `/api/polygons/${code}`)).json().properties;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-08', '2026-08', [polygon(RECTIFYING, '2026-08', square(117.0, 36.6)), polygon(UNTOUCHED, '2026-08', square(117.01, 36.6))], '2026-09-02');
  await writeBatch(db, 'b-2026-09', '2026-09', [polygon(ON_TIME, '2026-09', square(117.02, 36.6))], '2026-10-09');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('how late a case is', () => {
  it('counts working days on the holiday calendar for a working-day clock, calendar days for the others', async () => {
    t.setToday('2026-09-08');
    await ok('nr', `/api/polygons/${RECTIFYING}/accept`);
    const v = await ok('nr', `/api/polygons/${RECTIFYING}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    // 15 working days from 09-08: the make-up Sunday 09-20 works, 中秋 09-25..27 does not.
    expect(v.json().case).toMatchObject({ due_rule: 'rectification', due_date: '2026-09-29' });
    t.setToday('2026-10-12');
    // After 09-29: 09-30, (国庆 10-01..07 off), 10-08, 10-09, Saturday 10-10 (调休上班), 10-12.
    expect(await props('nr', RECTIFYING)).toMatchObject({ overdue: true, days_overdue: 5 });
    // The verification clock (end of the month of issue, 09-30) is in calendar days.
    expect(await props('chief', UNTOUCHED)).toMatchObject({ overdue: true, due_rule: 'verification', days_overdue: 12 });
    expect(await props('chief', ON_TIME)).toMatchObject({ overdue: false, days_overdue: null });
    // The overdue list, in deadline order, carries it on every item, page by page.
    const first = (await t.request('chief', '/api/polygons?overdue=true&sort=due&limit=1')).json();
    expect(first.features.map((f: { properties: { code: string; days_overdue: number } }) => [f.properties.code, f.properties.days_overdue])).toEqual([[RECTIFYING, 5]]);
    const second = (await t.request('chief', `/api/polygons?overdue=true&sort=due&limit=1&cursor=${first.next_cursor}`)).json();
    expect(second.features.map((f: { properties: { code: string; days_overdue: number } }) => [f.properties.code, f.properties.days_overdue])).toEqual([[UNTOUCHED, 12]]);
  });
});

describe('督办 (urge)', () => {
  it('is a dated, audited record on the case, counted on the list, that changes no state, clock or level and starts no hand-over', async () => {
    t.setToday('2026-10-12');
    const before = (await t.request('chief', `/api/polygons/${UNTOUCHED}`)).json();
    const r = await ok('chief', `/api/polygons/${UNTOUCHED}/urge`, { comment: '请于10月16日前完成核查并报送', respond_by: '2026-10-16' });
    expect(r.json().result).toEqual({ urged_on: '2026-10-12', respond_by: '2026-10-16' });
    t.setToday('2026-10-13');
    await ok('chief', `/api/polygons/${UNTOUCHED}/urge`, { comment: '再次督办' });
    const after = (await t.request('chief', `/api/polygons/${UNTOUCHED}`)).json();
    for (const k of ['status', 'due_rule', 'due_date', 'escalation_level', 'verdict']) expect(after.case[k], k).toEqual(before.case[k]);
    expect(after.escalations).toEqual(before.escalations);
    expect(after.properties).toMatchObject({ urged: 2, last_urged_on: '2026-10-13' });
    const urges = after.history.filter((h: { action: string }) => h.action === 'urge');
    expect(urges.map((h: { actor: string; after: unknown }) => [h.actor, h.after])).toEqual([
      ['chief', { comment: '请于10月16日前完成核查并报送', respond_by: '2026-10-16', urged_on: '2026-10-12' }],
      ['chief', { comment: '再次督办', respond_by: null, urged_on: '2026-10-13' }],
    ]);
    // The overdue list says how often and when last; a case never urged says 0.
    const list = (await t.request('chief', '/api/polygons?overdue=true&sort=due')).json();
    const byCode = Object.fromEntries(list.features.map((f: { properties: { code: string } }) => [f.properties.code, f.properties]));
    expect(byCode[UNTOUCHED]).toMatchObject({ urged: 2, last_urged_on: '2026-10-13' });
    expect(byCode[RECTIFYING]).toMatchObject({ urged: 0, last_urged_on: null });
    // The lead bureau's alone; a day to answer by is not in the past.
    expect((await t.request('nr', `/api/polygons/${UNTOUCHED}/urge`, { comment: '自行督办' })).statusCode).toBe(403);
    const past = await t.request('chief', `/api/polygons/${UNTOUCHED}/urge`, { comment: '限期已过', respond_by: '2026-10-12' });
    expect([past.statusCode, past.json().code]).toEqual([400, 'VALIDATION']);
    expect((await t.request('chief', `/api/polygons/${UNTOUCHED}`)).json().properties.urged).toBe(2);
  });

  it('counts the urges of the bureau handling the case now: a case reassigned (改派) starts at none', async () => {
    await ok('chief', `/api/polygons/${UNTOUCHED}/reassign`, { lead_bureau: 'forestry', reason: '林地，改由林业局办理' });
    // The two urges were the natural-resources bureau's; the forestry bureau has not been urged.
    expect(await props('chief', UNTOUCHED)).toMatchObject({ lead_bureau: 'forestry', urged: 0, last_urged_on: null });
    const listed = (await t.request('chief', '/api/polygons?overdue=true&view=list')).json().features.find((f: { id: string }) => f.id === UNTOUCHED);
    expect(listed.properties).toMatchObject({ urged: 0, last_urged_on: null });
    t.setToday('2026-10-14');
    await ok('chief', `/api/polygons/${UNTOUCHED}/urge`, { comment: '请林业局尽快核查' });
    expect(await props('chief', UNTOUCHED)).toMatchObject({ urged: 1, last_urged_on: '2026-10-14' });
  });
});

describe('a closure awaiting the lead bureau’s review', () => {
  it('past the 5th is the reviewer’s delay: not overdue for the bureau, not escalated, 是否逾期 否 in the ledger, and the lead bureau is told its review is late', async () => {
    t.setToday('2026-10-13');
    await ok('nr', `/api/polygons/${ON_TIME}/accept`);
    await ok('nr', `/api/polygons/${ON_TIME}/verdict`, { verdict: 'other', situation: 'false_change', reason: '云影' });
    const closed = await ok('nr', `/api/polygons/${ON_TIME}/close`, { reason: '非真实变化' });
    // Changzhi (seeds/001): 每月5日前…反馈 — the month's closures are reviewed by the 5th of the next month.
    expect(closed.json().case).toMatchObject({ status: 'closed', due_rule: 'monthly_report', due_date: '2026-11-05' });
    t.setToday('2026-11-05');
    expect(await props('chief', ON_TIME)).toMatchObject({ overdue: false, review_overdue: false });
    t.setToday('2026-11-06');
    await ok('chief', '/api/sweep');
    const card = (await t.request('chief', `/api/polygons/${ON_TIME}`)).json();
    expect(card.properties).toMatchObject({ status: 'closed', overdue: false, days_overdue: null, review_overdue: true });
    expect(card.case.escalation_level).toBe(0);
    expect(card.escalations).toEqual([]);
    // The bureau's lists, badge and map agree: nothing of the bureau's is late here.
    const overdueCodes = (await t.request('nr', '/api/polygons?overdue=true&epoch=2026-09')).json().features.map((f: { id: string }) => f.id);
    expect(overdueCodes).toEqual([]);
    const counts = (await t.request('chief', '/api/inbox/counts?epoch=2026-09')).json();
    expect(counts).toMatchObject({ overdue: 0, review_overdue: 1 });
    const map = (await t.request('nr', '/api/map/polygons.geojson?epoch=2026-09&bbox=116.9,36.5,117.1,36.7&zoom=14')).json();
    expect(map.features.map((f: { properties: { code: string; overdue: boolean } }) => [f.properties.code, f.properties.overdue])).toEqual([[ON_TIME, false]]);
    // The ledger says the same: 是否逾期 否.
    const csv = (await t.request('chief', '/api/ledger/2026-09.csv')).body.replace(/^\uFEFF/, '').split('\r\n').map((l: string) => l.split(','));
    const row = csv.find((r: string[]) => r.includes(ON_TIME))!;
    expect(row[csv[0].indexOf('是否逾期')]).toBe('否');
    // Approved, it is settled; no clock runs any more.
    await ok('chief', `/api/polygons/${ON_TIME}/review`, { approve: true });
    expect((await t.request('chief', '/api/inbox/counts?epoch=2026-09')).json().review_overdue).toBe(0);
  });
});
