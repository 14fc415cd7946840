/**
 * 巡查首次发现时间 (`patrol_found_on`) has a floor: the 前时相 (before_date) of the site's first polygon,
 * the earlier image in which the site showed no change (RESEARCH.md §3.1 前时相/后时相). A patrol cannot
 * have found a site before it was there; a day before that is a mistyped year, and it used to pass and
 * then lower the floor 立案时间, 移送 and 处罚决定日期 are checked against (actions.ts siteKnownSince), and
 * make the ledger's 是否发现不及时 否. A polygon continuing an earlier month's site (往期图斑编号) takes
 * the floor of that site's first polygon: the patrol may have found the site then.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const FIRST = '370102-202610-0001';
/** The site's first sighting, routed to forestry, so the later polygon is issued on its own. */
const EARLIER = '370102-202610-0002';
const LATER = '370102-202611-0001';

let db: Database;
let t: TestApp;
const illegal = { verdict: 'illegal', violation_type: 'illegal_occupation' };
const verdict = (code: string, patrol: string) => t.request('nr', `/api/polygons/${code}/verdict`, { ...illegal, patrol_found_on: patrol });
const stored = async (code: string) => (await db.query<{ status: string; verdict: string | null; version: number }>('SELECT status, verdict, version FROM cases WHERE code = $1', [code])).rows[0];

beforeAll(async () => {
  db = await openTestDatabase();
  // 前时相 2026-09-03, 后时相 2026-10-05 (the fixture's), issued 2 November.
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(FIRST, '2026-10', square(117.0, 36.6)), polygon(EARLIER, '2026-10', square(117.01, 36.6), { leadBureau: 'forestry' })], '2026-11-02');
  // The same site a month later, grown: 前时相 2026-10-05, 后时相 2026-11-06.
  await writeBatch(db, 'b-2026-11', '2026-11', [polygon(LATER, '2026-11', square(117.01, 36.6, 0.0012), { previousCode: EARLIER, beforeDate: '2026-10-05', afterDate: '2026-11-06' })], '2026-12-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources']]);
  t = await testApp(db);
  t.setToday('2026-12-03');
  for (const code of [FIRST, LATER]) expect((await t.request('nr', `/api/polygons/${code}/accept`, {})).statusCode).toBe(200);
}, 180_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('巡查首次发现时间', () => {
  it('is refused before the 前时相 of the site (a mistyped year), naming the image, and nothing is stored', async () => {
    const before = await stored(FIRST);
    for (const day of ['2016-10-20', '2026-09-02']) {
      const r = await verdict(FIRST, day);
      expect([r.statusCode, r.json().code], r.body).toEqual([400, 'VALIDATION']);
      expect(r.json().message).toContain(
        `patrol_found_on ${day} is before 前时相 2026-09-03 of ${FIRST}, the earlier image of the site, which showed no change there: a patrol cannot have found the site before it was there (巡查首次发现时间不得早于前时相)`,
      );
      expect(r.json()).toMatchObject({ field: 'patrol_found_on', earliest: '2026-09-03' });
    }
    expect(await stored(FIRST)).toEqual(before);
    // The day of the image itself is taken.
    expect((await verdict(FIRST, '2026-09-03')).statusCode).toBe(200);
    expect(await stored(FIRST)).toMatchObject({ status: 'verified', verdict: 'illegal' });
  });

  it("is bounded by the batch's earliest earlier image where it had several (the site's pixels may be the older one's)", async () => {
    const OLDER = '370102-202610-0003';
    await writeBatch(db, 'b-2026-10b', '2026-10', [polygon(OLDER, '2026-10', square(117.02, 36.6))], '2026-11-02');
    // As a batch stores them: the plan's priors, and the tile's outcome naming those it was compared with
    // (p3 lies elsewhere: its date is no floor for this tile).
    await db.query(
      `UPDATE batches SET plan = '{"prior": [{"id": "p1", "date": "2026-09-03"}, {"id": "p2", "date": "2026-08-20"}, {"id": "p3", "date": "2026-06-01"}]}' WHERE id = 'b-2026-10b'`,
    );
    await db.query(`INSERT INTO tiles (batch_id, tile_id, role, info) VALUES ('b-2026-10b', 't1', 'current', '{"outcome": {"comparedWith": ["p1", "p2"]}}')`);
    expect((await t.request('nr', `/api/polygons/${OLDER}/accept`, {})).statusCode).toBe(200);
    const early = await verdict(OLDER, '2026-08-19');
    expect([early.statusCode, early.json().earliest]).toEqual([400, '2026-08-20']);
    // Found between the two earlier images: a fact the latest image's date alone refused.
    expect((await verdict(OLDER, '2026-08-25')).statusCode).toBe(200);
  });

  it('of a site seen again is bounded by the first polygon’s 前时相, not its own', async () => {
    expect((await stored(LATER)).status).toBe('accepted'); // issued on its own, not merged into forestry's case
    const early = await verdict(LATER, '2026-09-01');
    expect([early.statusCode, early.json().message]).toEqual([400, expect.stringContaining(`before 前时相 2026-09-03 of ${EARLIER}`)]);
    // Found by the patrol after the first image and before this polygon's own 前时相 (2026-10-05).
    const r = await verdict(LATER, '2026-09-20');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().case.verdict_details.patrol_found_on).toBe('2026-09-20');
  });
});
