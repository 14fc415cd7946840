/**
 * Jinan's 纪行衔接 (seeds/000 item 8): a new violation not rectified by its deadline goes to the
 * discipline commission as a clue within 15 days ("未能按照要求落实整改的，负责报送的卫片成员单位须
 * 厘清责任链条及法律法规依据，15日内作为问题线索移交市纪委监委"). The sweep holds the bureau to it
 * without the lead bureau having to decide it case by case: once the rectification clock has run out,
 * a hand-over to the commission is due 15 days later, and escalated once when none is recorded by then.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const LATE = '370102-202610-0001';
const HANDED = '370102-202610-0002';
const PATROL_FIRST = '370102-202610-0003';

let db: Database;
let t: TestApp;

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, 200]);
  return r;
}
const escalations = async (code: string, rule: string) =>
  (await t.request('chief', `/api/polygons/${code}`)).json().escalations.filter((e: { kind: string; rule: string }) => e.kind === 'overdue' && e.rule === rule);

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(LATE, '2026-10', square(117.0, 36.6)), polygon(HANDED, '2026-10', square(117.01, 36.6)), polygon(PATROL_FIRST, '2026-10', square(117.02, 36.6))], '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('a violation not rectified in time', () => {
  it('is due to the discipline commission 15 days after its rectification deadline, and escalated once when nobody recorded the hand-over', async () => {
    t.setToday('2026-11-03');
    for (const code of [LATE, HANDED]) {
      await ok('nr', `/api/polygons/${code}/accept`);
      const v = await ok('nr', `/api/polygons/${code}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
      expect(v.json().case.due_date).toBe('2026-11-24'); // 15 working days
    }
    t.setToday('2026-11-25');
    expect((await escalations(LATE, 'rectification')).map((e: { due_date: string }) => e.due_date)).toEqual(['2026-11-24']);
    expect(await escalations(LATE, 'handover')).toEqual([]);
    // The 15 days run to 2026-12-09: still in time that day.
    t.setToday('2026-12-09');
    await ok('chief', `/api/polygons/${HANDED}/hand-over`, { to: 'discipline', handed_on: '2026-12-01', reference: '济自然资移〔2026〕7号' });
    expect(await escalations(LATE, 'handover')).toEqual([]);
    t.setToday('2026-12-10');
    const level = (await t.request('chief', `/api/polygons/${LATE}`)).json().case.escalation_level;
    const [late] = await escalations(LATE, 'handover');
    expect(late).toMatchObject({ due_date: '2026-12-09', created_by: 'system' });
    expect(late.level).toBe(level);
    await ok('chief', '/api/sweep');
    expect(await escalations(LATE, 'handover')).toHaveLength(1);
    // Handed over in time: no hand-over is late.
    expect(await escalations(HANDED, 'handover')).toEqual([]);
  });
});

describe('a hand-over of a clue', () => {
  it('may be dated from the day the clue was reported, before it was registered (last month’s call entered this month), not earlier', async () => {
    await addUsers(db, [['d102', 'district', '370102']]);
    t.setToday('2027-01-06');
    // A hotline call of 30 December, handed to the police on 2 January, registered on 6 January.
    const r = await t.request('d102', '/api/clues', { source: 'hotline', district_code: '370102', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: '12345 举报 夜间挖土', reported_on: '2026-12-30' });
    expect(r.statusCode, r.body).toBe(201);
    const clue = r.json().code;
    const early = await t.request('chief', `/api/polygons/${clue}/hand-over`, { to: 'police', handed_on: '2026-12-29' });
    expect([early.statusCode, early.json().message]).toEqual([400, expect.stringMatching(/before the clue was reported \(2026-12-30\)/)]);
    const done = await t.request('chief', `/api/polygons/${clue}/hand-over`, { to: 'police', handed_on: '2027-01-02' });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().result).toMatchObject({ to: 'police', handed_on: '2027-01-02' });
  });
});

describe('a hand-over of a case the local patrol found first', () => {
  it('may be dated from the patrol’s find, before the polygon was issued (as its 立案时间 may), not earlier', async () => {
    // Found by the patrol on 20 October, filed on 25 October, handed to the police on 28 October; the
    // imagery's polygon was issued on 2 November. The hand-over was refused as before the issue.
    t.setToday('2026-11-03');
    await ok('nr', `/api/polygons/${PATROL_FIRST}/accept`);
    await ok('nr', `/api/polygons/${PATROL_FIRST}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation', patrol_found_on: '2026-10-20' });
    await ok('nr', `/api/polygons/${PATROL_FIRST}/rectification`, { method: 'demolish_restore', progress: 10, case_filed: true, case_filed_on: '2026-10-25' });
    t.setToday('2026-11-05');
    const done = await t.request('chief', `/api/polygons/${PATROL_FIRST}/hand-over`, { to: 'police', handed_on: '2026-10-28' });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().result).toMatchObject({ to: 'police', handed_on: '2026-10-28' });
    const early = await t.request('chief', `/api/polygons/${PATROL_FIRST}/hand-over`, { to: 'discipline', handed_on: '2026-10-19' });
    expect([early.statusCode, early.json().message]).toEqual([400, expect.stringMatching(/handed_on 2026-10-19 is before the patrol first found the site \(2026-10-20\)/)]);
  });
});
