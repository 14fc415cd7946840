/**
 * The inbox's counts under the 主办 filter (`GET /api/inbox/counts?lead_bureau=`), as the list takes it.
 * A month's walkthrough as a bureau that co-handles most of its scope (stop 40): with 本单位主办 picked,
 * the list showed its own 24 while the counts above it said 68, and 逾期 67 for its 23 late cases:
 * the others' lateness, which it can do nothing about, counted as its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, writeBatch, type TestApp, testApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;
const code = (n: number) => `370102-202610-000${n}`;

beforeAll(async () => {
  db = await openTestDatabase();
  // 1 led by natural resources; 2 and 3 by forestry, natural resources co-handling.
  await writeBatch(db, 'b-2026-10', '2026-10', [
    polygon(code(1), '2026-10', square(117.05, 36.65)),
    polygon(code(2), '2026-10', square(117.06, 36.65), { leadBureau: 'forestry', coBureaus: ['natural_resources'] }),
    polygon(code(3), '2026-10', square(117.07, 36.65), { leadBureau: 'forestry', coBureaus: ['natural_resources'] }),
  ], '2026-10-28');
  await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['chief', 'lead']]);
  t = await testApp(db);
  // Past the end of the month of issue: every verification is late.
  t.setToday('2026-11-03');
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('GET /api/inbox/counts?lead_bureau=', () => {
  it('without it, the whole scope, co-handled cases included (as before)', async () => {
    const r = await t.request('nr', '/api/inbox/counts?epoch=2026-10');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ total: 3, overdue: 3, by_status: { issued: 3 } });
  });

  it("with the bureau's own id, what it leads: the counts of the list it sits above", async () => {
    const r = await t.request('nr', '/api/inbox/counts?epoch=2026-10&lead_bureau=natural_resources');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ total: 1, overdue: 1, by_status: { issued: 1 } });
    const list = (await t.request('nr', '/api/polygons?epoch=2026-10&lead_bureau=natural_resources&overdue=true&view=list')).json();
    expect(list.features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual([code(1)]);
  });

  it('the lead role picks any bureau; the scope still bounds it (a bureau asking for another is counted within what it sees)', async () => {
    expect((await t.request('chief', '/api/inbox/counts?lead_bureau=forestry')).json()).toMatchObject({ total: 2, overdue: 2 });
    expect((await t.request('nr', '/api/inbox/counts?lead_bureau=forestry')).json()).toMatchObject({ total: 2 });
    expect((await t.request('nr', '/api/inbox/counts?lead_bureau=water')).json()).toMatchObject({ total: 0, overdue: 0 });
  });

  it('an unknown bureau is refused by name', async () => {
    const r = await t.request('nr', '/api/inbox/counts?lead_bureau=nosuch');
    expect(r.statusCode).toBe(400);
    expect(r.body).toContain('lead_bureau');
  });
});
