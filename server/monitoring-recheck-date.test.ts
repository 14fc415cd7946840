/**
 * 持续监测's re-check date per case: a soil heap is re-checked sooner than a poured foundation. The
 * bureau handling the case may give the date with the 持续监测 verdict (`recheck_on`) and move it later
 * (`POST …/recheck-date`, in the history with who, when and the old and new dates), from today to
 * the monitoring rule's date plus `recheck_max_months` (default 2); the due date, the list sorted by
 * due, the overdue list, the sweep, the ledger and the card read it; without one, the rule's date.
 * Through the real app and database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { loadLedger } from '../pipeline/outputs/ledger-exports.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const HEAP = '370102-202610-0001'; // 推堆土: re-checked sooner than the rule's date
const FOUNDATION = '370102-202610-0002'; // 地基已浇筑: re-checked as late as allowed
const PLAIN = '370102-202610-0003'; // the rule's date, moved later
const SPLIT = '370102-202610-0004'; // two parcels, one 持续监测
const ACCEPTED = '370102-202610-0005'; // never monitored

const PILED = { verdict: 'other', situation: 'continuous_monitoring', reason: '现场推堆土，用途不明', watch: '堆土平整后是否起建筑' };
const half = (w: number) => ({ type: 'Polygon', coordinates: [[[117.03 + w, 36.6], [117.03 + w + 0.0005, 36.6], [117.03 + w + 0.0005, 36.601], [117.03 + w, 36.601], [117.03 + w, 36.6]]] });

let db: Database;
let t: TestApp;

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, 200]);
  return r.json();
}
async function refused(user: string, url: string, body: unknown, status: number, code: string, message?: RegExp) {
  const r = await t.request(user, url, body);
  expect([JSON.stringify(body), r.statusCode, r.json().code], r.body).toEqual([JSON.stringify(body), status, code]);
  if (message) expect(r.json().message).toMatch(message);
  return r.json();
}
const card = async (user: string, code: string) => {
  const r = await t.request(user, `/api/polygons/${code}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
};
const stored = async (code: string) => (await db.query<{ status: string; due: string | null; v: number }>('SELECT status, due_date::text AS due, version AS v FROM cases WHERE code = $1', [code])).rows[0];

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(
    db,
    'b-10',
    '2026-10',
    [HEAP, FOUNDATION, PLAIN, SPLIT, ACCEPTED].map((code, i) => polygon(code, '2026-10', square(117 + i / 100, 36.6), { coBureaus: ['forestry'] })),
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
  for (const code of [HEAP, FOUNDATION, PLAIN, SPLIT, ACCEPTED]) await ok('nr', `/api/polygons/${code}/accept`);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('the re-check date given with the 持续监测 verdict (recheck_on)', () => {
  it('is refused (400 naming recheck_on and the bound, nothing stored) before today, after the rule\'s date plus 2 months, or with another verdict', async () => {
    const before = await stored(HEAP);
    const early = await refused('nr', `/api/polygons/${HEAP}/verdict`, { ...PILED, recheck_on: '2026-11-02' }, 400, 'VALIDATION', /recheck_on 2026-11-02 is before today \(2026-11-03\)/);
    expect(early).toMatchObject({ field: 'recheck_on', earliest: '2026-11-03', latest: '2027-02-28' });
    // The rule's re-check is 2026-12-31 (end of next month); at most 2 months later: 2027-02-28.
    await refused('nr', `/api/polygons/${HEAP}/verdict`, { ...PILED, recheck_on: '2027-03-01' }, 400, 'VALIDATION', /recheck_on 2027-03-01 is after 2027-02-28.*2026-12-31.*recheck_max_months 2/);
    await refused('nr', `/api/polygons/${HEAP}/verdict`, { ...PILED, recheck_on: '2026-11-31' }, 400, 'VALIDATION', /recheck_on/);
    await refused('nr', `/api/polygons/${HEAP}/verdict`, { verdict: 'other', situation: 'seasonal', reason: '晾晒', recheck_on: '2026-11-20' }, 400, 'VALIDATION', /recheck_on/);
    await refused('nr', `/api/polygons/${HEAP}/verdict`, { verdict: 'legal', approval_doc_no: '济自然资批〔2026〕1号', recheck_on: '2026-11-20' }, 400, 'VALIDATION', /recheck_on/);
    await refused('nr', `/api/polygons/${HEAP}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation', recheck_on: '2026-11-20' }, 400, 'VALIDATION', /recheck_on/);
    expect(await stored(HEAP)).toEqual(before);
  });

  it('sets the case\'s due date, from today up to the bound; without it the rule\'s date', async () => {
    expect((await ok('nr', `/api/polygons/${HEAP}/verdict`, { ...PILED, recheck_on: '2026-11-20' })).case).toMatchObject({ status: 'monitoring', due_rule: 'monitoring', due_date: '2026-11-20' });
    expect((await ok('nr', `/api/polygons/${FOUNDATION}/verdict`, { ...PILED, watch: '地基上是否起建筑', recheck_on: '2027-02-28' })).case).toMatchObject({ due_date: '2027-02-28' });
    expect((await ok('nr', `/api/polygons/${PLAIN}/verdict`, PILED)).case).toMatchObject({ due_date: '2026-12-31' });
    const h = (await card('nr', HEAP)).history.at(-1);
    expect([h.action, h.actor, h.after.due_date, h.after.recheck_on]).toEqual(['verdict', 'nr', '2026-11-20', '2026-11-20']);
  });

  it('orders the list by it, and the card gives the page its bounds', async () => {
    const list = (await t.request('nr', '/api/polygons?status=monitoring&view=list&sort=due')).json();
    expect(list.features.map((f: { id: string; properties: { due_date: string } }) => [f.id, f.properties.due_date])).toEqual([
      [HEAP, '2026-11-20'],
      [PLAIN, '2026-12-31'],
      [FOUNDATION, '2027-02-28'],
    ]);
    const c = (await card('nr', PLAIN)).case;
    // A 持续监测 verdict recorded today: from today to 2027-02-28, the rule's 2026-12-31 if none is chosen.
    expect(c.recheck_window).toEqual({ earliest: '2026-11-03', default: '2026-12-31', latest: '2027-02-28' });
    expect(c.recheck_latest).toBe('2027-02-28');
    expect((await card('nr', ACCEPTED)).case).toMatchObject({ recheck_window: { default: '2026-12-31' }, recheck_latest: null });
  });

  it('is overdue after it and escalated by the sweep, and the ledger\'s 办理期限 says it', async () => {
    t.setToday('2026-11-20');
    expect((await card('nr', HEAP)).properties.overdue).toBe(false);
    t.setToday('2026-11-21');
    await ok('chief', '/api/sweep');
    const c = await card('nr', HEAP);
    expect(c.properties.overdue).toBe(true);
    expect(c.escalations.map((e: { kind: string; rule: string; due_date: string }) => [e.kind, e.rule, e.due_date])).toEqual([['overdue', 'monitoring', '2026-11-20']]);
    const overdue = (await t.request('nr', '/api/polygons?overdue=true&status=monitoring&view=list')).json();
    expect(overdue.features.map((f: { id: string }) => f.id)).toEqual([HEAP]);
    const rows = (await loadLedger(db, '2026-10', { asOf: '2026-11-21' })).rows;
    expect([HEAP, FOUNDATION].map((code) => rows.find((r) => r.图斑编号 === code)!).map((r) => [r.办理期限, r.是否逾期])).toEqual([
      ['2026-11-20', '是'],
      ['2027-02-28', '否'],
    ]);
  });
});

describe('moving the re-check date (POST …/recheck-date)', () => {
  const url = (code: string) => `/api/polygons/${code}/recheck-date`;
  const MOVE = { recheck_on: '2027-01-15', reason: '地基已浇筑，待下期影像确认是否起建筑' };

  it('is the bureau handling the case\'s only, as the verdict is', async () => {
    const before = await stored(PLAIN);
    await refused('forest', url(PLAIN), MOVE, 403, 'CASE.NOT_LEAD');
    await refused('chief', url(PLAIN), MOVE, 403, 'AUTH.FORBIDDEN');
    await refused('water', url(PLAIN), MOVE, 404, 'POLYGON.NOT_FOUND');
    await refused('nr', url(ACCEPTED), MOVE, 409, 'CASE.BAD_STATE');
    await refused('nr', url(PLAIN), { recheck_on: '2027-01-15' }, 400, 'VALIDATION', /reason/);
    expect(await stored(PLAIN)).toEqual(before);
  });

  it('is bounded by today and by the bound set when the case was put under 持续监测, not moved on with the days', async () => {
    t.setToday('2026-12-10');
    const before = await stored(PLAIN);
    await refused('nr', url(PLAIN), { ...MOVE, recheck_on: '2026-12-09' }, 400, 'VALIDATION', /recheck_on 2026-12-09 is before today \(2026-12-10\)/);
    // Recorded today, a verdict could go to 2027-03-31; the case was put under monitoring on 2026-11-03.
    const late = await refused('nr', url(PLAIN), { ...MOVE, recheck_on: '2027-03-31' }, 400, 'VALIDATION', /recheck_on 2027-03-31 is after 2027-02-28/);
    expect(late).toMatchObject({ field: 'recheck_on', earliest: '2026-12-10', latest: '2027-02-28' });
    expect(await stored(PLAIN)).toEqual(before);
  });

  it('moves the due date either way, recorded in the history with who, when and the old and new dates', async () => {
    const r = await ok('nr', url(PLAIN), { ...MOVE, recheck_on: '2027-02-28' });
    expect(r.case).toMatchObject({ status: 'monitoring', due_rule: 'monitoring', due_date: '2027-02-28' });
    expect((await ok('nr', url(PLAIN), MOVE)).case.due_date).toBe('2027-01-15');
    const moves = (await card('nr', PLAIN)).history.filter((h: { action: string }) => h.action === 'recheck_date');
    expect(moves.map((h: { actor: string; at: string; before: { due_date: string }; after: Record<string, string> }) => [h.actor, typeof h.at, h.before.due_date, h.after.due_date, h.after.recheck_from, h.after.recheck_on, h.after.reason])).toEqual([
      ['nr', 'string', '2026-12-31', '2027-02-28', '2026-12-31', '2027-02-28', MOVE.reason],
      ['nr', 'string', '2027-02-28', '2027-01-15', '2027-02-28', '2027-01-15', MOVE.reason],
    ]);
    // The page's 往期 card of a later polygon reads the same date.
    expect((await stored(PLAIN)).due).toBe('2027-01-15');
  });

  it('is refused once the re-check is late: the re-check is recorded instead (持续监测 again sets the next)', async () => {
    const before = await stored(HEAP);
    await refused('nr', url(HEAP), { ...MOVE, recheck_on: '2026-12-20' }, 409, 'CASE.BAD_STATE', /2026-11-20/);
    expect(await stored(HEAP)).toEqual(before);
    // Re-checked and still not judgeable: a new window from today (rule's 2027-01-31, at most 2027-03-31).
    expect((await ok('nr', `/api/polygons/${HEAP}/verdict`, { ...PILED, watch: '已平整，看是否建房', recheck_on: '2027-03-31' })).case.due_date).toBe('2027-03-31');
    expect((await card('nr', HEAP)).case.recheck_latest).toBe('2027-03-31');
    t.setToday('2026-11-21');
  });
});

describe('a split polygon', () => {
  it('takes the date from the verdict that puts the polygon under 持续监测; a parcel\'s before that is refused by name', async () => {
    t.setToday('2026-11-21');
    await ok('nr', `/api/polygons/${SPLIT}/split`, { parcels: [half(0), half(0.0005)] });
    await refused('nr', `/api/polygons/${SPLIT}/verdict`, { ...PILED, parcel: 1, recheck_on: '2026-12-01' }, 400, 'VALIDATION', /recheck_on.*parcel 2/);
    expect((await db.query('SELECT count(*)::int AS n FROM parcels WHERE code = $1 AND verdict IS NOT NULL', [SPLIT])).rows[0].n).toBe(0);
    await ok('nr', `/api/polygons/${SPLIT}/verdict`, { parcel: 1, verdict: 'legal', approval_doc_no: '济自然资批〔2026〕3号' });
    expect((await ok('nr', `/api/polygons/${SPLIT}/verdict`, { ...PILED, parcel: 2, recheck_on: '2026-12-01' })).case).toMatchObject({ status: 'monitoring', due_date: '2026-12-01' });
  });
});

describe('a split polygon with a parcel judged illegal', () => {
  it('refuses a re-check date with a parcel\'s 持续监测 that leaves the polygon illegal, rather than dropping it', async () => {
    t.setToday('2026-11-21');
    const code = '370102-202610-0007';
    await writeBatch(db, 'b-10b', '2026-10', [polygon(code, '2026-10', square(117.2, 36.6))], '2026-11-02');
    await ok('chief', '/api/sweep');
    await ok('nr', `/api/polygons/${code}/accept`);
    const h = (w: number) => ({ type: 'Polygon', coordinates: [[[117.2 + w, 36.6], [117.2 + w + 0.0005, 36.6], [117.2 + w + 0.0005, 36.601], [117.2 + w, 36.601], [117.2 + w, 36.6]]] });
    await ok('nr', `/api/polygons/${code}/split`, { parcels: [h(0), h(0.0005)] });
    await ok('nr', `/api/polygons/${code}/verdict`, { parcel: 2, verdict: 'illegal', violation_type: 'illegal_occupation' });
    const before = await stored(code);
    await refused('nr', `/api/polygons/${code}/verdict`, { ...PILED, parcel: 1, recheck_on: '2026-12-15' }, 400, 'VALIDATION', /does not put .* under 持续监测: parcel 2 is judged illegal/);
    expect(await stored(code)).toEqual(before);
    // Without the date the parcel's verdict is taken, and the polygon is illegal.
    expect((await ok('nr', `/api/polygons/${code}/verdict`, { ...PILED, parcel: 1 })).case).toMatchObject({ status: 'verified', verdict: 'illegal' });
  });
});

describe('a case put under 持续监测 before the bound was recorded (its verdict has no recheck_latest)', () => {
  it('is held to the rule\'s date it was given plus recheck_max_months, and moving it does not move that bound', async () => {
    t.setToday('2026-11-21');
    expect((await ok('nr', `/api/polygons/${ACCEPTED}/verdict`, PILED)).case.due_date).toBe('2026-12-31');
    // As a verdict recorded before re-check dates were: no bound in its history (the log refuses updates, so the test lifts that for one).
    await db.transaction(async (tx) => {
      await tx.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update');
      await tx.query(`UPDATE audit_log SET after = after - 'recheck_latest' WHERE code = $1 AND action = 'verdict'`, [ACCEPTED]);
      await tx.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update');
    });
    expect((await card('nr', ACCEPTED)).case.recheck_latest).toBe('2027-02-28');
    const url = `/api/polygons/${ACCEPTED}/recheck-date`;
    await ok('nr', url, { recheck_on: '2027-02-28', reason: '地基已浇筑' });
    // Its due date is now 2027-02-28; the bound stays the one of the rule's 2026-12-31, not 2027-04-30.
    await refused('nr', url, { recheck_on: '2027-04-30', reason: '再看一期' }, 400, 'VALIDATION', /recheck_on 2027-04-30 is after 2027-02-28/);
    expect((await card('nr', ACCEPTED)).case.recheck_latest).toBe('2027-02-28');
  });
});
