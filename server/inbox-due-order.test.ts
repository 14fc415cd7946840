/**
 * The inbox in deadline order (`GET /api/polygons?sort=due`, the page's default): overdue first, then
 * the nearest deadline, none last, ties by code, over every keyset page, so the top of a month of
 * thousands of cases is what is late and not only what its first page held; scope kept.
 */
import type { FeatureCollection } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

/** code → [due date or null, status, lead bureau]; "today" is 2026-12-10. */
const CASES: Record<string, [string | null, string, string]> = {
  '370102-202610-0001': ['2026-12-31', 'issued', 'natural_resources'],
  '370102-202610-0002': ['2026-11-30', 'accepted', 'natural_resources'], // overdue
  '370102-202610-0003': ['2026-12-15', 'verified', 'forestry'],
  '370102-202610-0004': ['2026-11-30', 'issued', 'natural_resources'], // overdue, tie with 0002
  '370102-202610-0005': [null, 'reviewed', 'natural_resources'],
  '370102-202610-0006': ['2026-11-20', 'reviewed', 'natural_resources'], // past, but settled: not overdue
  '370102-202610-0007': ['2026-12-15', 'rectifying', 'natural_resources'],
  '370102-202610-0008': ['2026-12-01', 'issued', 'forestry'], // overdue
};

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', Object.entries(CASES).map(([code, [, , leadBureau]], i) => polygon(code, '2026-10', square(117 + i * 0.01, 36.6), { leadBureau })), '2026-11-02');
  await addUsers(db, [
    ['chief', 'lead'],
    ['nr', 'bureau', 'natural_resources'],
  ]);
  t = await testApp(db);
  await t.app.inject({ method: 'POST', url: '/api/sweep', headers: { authorization: `Bearer ${await t.token('chief')}` } });
  // The states and deadlines under test, set directly (setup, not under test).
  for (const [code, [due, status]] of Object.entries(CASES)) await db.query('UPDATE cases SET due_date = $2::date, status = $3 WHERE code = $1', [code, due, status]);
  t.setToday('2026-12-10');
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function get(user: string, url: string) {
  return t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await t.token(user)}` } });
}

async function allPages(user: string, limit: number): Promise<{ codes: string[]; overdue: boolean[] }> {
  const codes: string[] = [], overdue: boolean[] = [];
  let cursor: string | null = null;
  do {
    const r = await get(user, `/api/polygons?epoch=2026-10&sort=due&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.statusCode, r.body).toBe(200);
    const fc = r.json() as FeatureCollection & { next_cursor: string | null };
    for (const f of fc.features) {
      codes.push(String(f.id));
      overdue.push(Boolean(f.properties?.overdue));
    }
    cursor = fc.next_cursor;
  } while (cursor);
  return { codes, overdue };
}

/** What the order should be, from the table above. */
function expected(codes: string[]): string[] {
  const rank = (c: string) => (CASES[c][0] !== null && CASES[c][0]! < '2026-12-10' && !['reviewed', 'vanished'].includes(CASES[c][1]) ? 0 : 1);
  const due = (c: string) => CASES[c][0] ?? '9999-12-31';
  return [...codes].sort((a, b) => rank(a) - rank(b) || due(a).localeCompare(due(b)) || (a < b ? -1 : 1));
}

describe('inbox in deadline order', () => {
  it('puts what is overdue first over every page, then the nearest deadline, none last, ties by code', async () => {
    for (const limit of [1, 2, 3, 500]) {
      const { codes, overdue } = await allPages('chief', limit);
      expect(codes, `limit ${limit}`).toEqual(expected(Object.keys(CASES)));
      expect(overdue.slice(0, 3)).toEqual([true, true, true]);
      expect(overdue.slice(3).every((x) => !x)).toBe(true);
    }
  });

  it("keeps the caller's scope", async () => {
    const mine = Object.keys(CASES).filter((c) => CASES[c][2] === 'natural_resources');
    expect((await allPages('nr', 2)).codes).toEqual(expected(mine));
  });

  it('refuses a forged cursor or one of another order', async () => {
    const code = Buffer.from('370102-202610-0001').toString('base64url');
    for (const cursor of [code, Buffer.from('2|2026-12-01|370102-202610-0001').toString('base64url'), Buffer.from("0|2026-12-01|x' OR 1=1").toString('base64url')]) {
      const r = await get('chief', `/api/polygons?epoch=2026-10&sort=due&cursor=${cursor}`);
      expect([r.statusCode, r.json().code]).toEqual([400, 'CURSOR.INVALID']);
    }
  });
});
