/**
 * A polygon continuing an earlier month's site (往期图斑): its card says where the earlier case
 * stands (status, verdict) — the case it joined (site-merge.test.ts), or, for one issued again
 * (another bureau's, a settled site), the judgement the bureau verifying it should know; only when
 * the caller may see that case (scope), like any card.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const OCT = '370102-202610-0001';
const NOV = '370102-202611-0001';
const NOV_FORESTRY = '370102-202611-0002';
const OCT_FORESTRY_PREV = '370102-202610-0002';

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-10', '2026-10', [polygon(OCT, '2026-10', square(117, 36.6)), polygon(OCT_FORESTRY_PREV, '2026-10', square(117.01, 36.6))], '2026-11-02');
  await writeBatch(
    db,
    'b-11',
    '2026-11',
    [
      polygon(NOV, '2026-11', square(117, 36.6, 0.0012), { previousCode: OCT }),
      // Forestry leads this month's polygon; last month's was natural resources' only.
      polygon(NOV_FORESTRY, '2026-11', square(117.01, 36.6, 0.0012), { previousCode: OCT_FORESTRY_PREV, leadBureau: 'forestry' }),
    ],
    '2026-12-01',
  );
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['forest', 'bureau', 'forestry'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const call = (user: string, url: string, payload?: unknown) => t.request(user, url, payload);

describe('a continuing site', () => {
  it("shows where the earlier site's case stands on the card", async () => {
    expect((await call('nr', `/api/polygons/${OCT}/accept`, {})).statusCode).toBe(200);
    expect((await call('nr', `/api/polygons/${OCT}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' })).statusCode).toBe(200);
    const card = (await call('nr', `/api/polygons/${NOV}`)).json();
    expect(card.properties.previous_code).toBe(OCT);
    expect(card.previous_case).toEqual({ code: OCT, epoch: '2026-10', status: 'verified', verdict: 'illegal' });
    expect((await call('nr', `/api/polygons/${OCT}`)).json().previous_case).toBeNull(); // a first sighting
  });

  it("names the earlier code but not its case to a caller outside that case's scope", async () => {
    const card = (await call('forest', `/api/polygons/${NOV_FORESTRY}`)).json();
    expect(card.properties.previous_code).toBe(OCT_FORESTRY_PREV);
    expect(card.previous_case).toBeNull();
    expect((await call('forest', `/api/polygons/${OCT_FORESTRY_PREV}`)).statusCode).toBe(404);
  });
});
