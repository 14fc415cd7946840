/**
 * The ledger's 下发时间 is the day the item was issued: a clue's the day it was registered, its
 * case's issued_on and the day its verification clock (办理期限, 月清) runs from (not the day the report
 * came in, which stays the clue's month and what 是否发现不及时 compares); a polygon's its own batch's
 * (not the month's latest batch's), batch metadata (XFSJ) even once a separation gave its case a later
 * clock. The API's ledger is `exportLedger`'s bytes (what `tuban ledger` writes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { exportLedger } from '../pipeline/outputs/ledger-exports.js';
import { csvRows } from '../pipeline/outputs/testing/csv-rows.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const EARLY = '370102-202611-0001';
const LATE = '370102-202611-0002';
const SITE = '370102-202610-0001';
const SIGHTING = '370102-202611-0003';

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(SITE, '2026-10', square(117.03, 36.6), { areaM2: 9000 })], '2026-11-02');
  // November in two batches (a tile delivered late): each polygon issued with its own.
  await writeBatch(db, 'b-2026-11-a', '2026-11', [polygon(EARLY, '2026-11', square(117.01, 36.6))], '2026-12-01');
  await writeBatch(db, 'b-2026-11-b', '2026-11', [
    polygon(LATE, '2026-11', square(117.02, 36.6), { tileId: 't2' }),
    polygon(SIGHTING, '2026-11', square(117.03, 36.6, 0.0012), { areaM2: 12000, previousCode: SITE, tileId: 't2' }),
  ], '2026-12-03');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources'], ['d102', 'district', '370102']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, r.statusCode === 201 ? 201 : 200]);
  return r.json();
}
const card = async (code: string) => (await t.request('chief', `/api/polygons/${code}`)).json().case as { issued_on: string; due_date: string | null };
async function ledger(month: string, asOf: string) {
  const bytes = (await t.request('chief', `/api/ledger/${month}.csv`)).rawPayload;
  // What `tuban ledger --as-of <today>` writes, byte for byte.
  expect(Buffer.compare(bytes, Buffer.from((await exportLedger(db, month, 'csv', { asOf })).bytes))).toBe(0);
  return Object.fromEntries(csvRows(bytes.toString('utf8')).map((r) => [r.图斑编号, r]));
}

describe('下发时间 in the ledger', () => {
  it('is the day a clue of last month was registered, which its clock runs from, in the month it was reported in', async () => {
    t.setToday('2026-12-08');
    await ok('nr', `/api/polygons/${SITE}/accept`);
    await ok('chief', '/api/sweep');
    const r = await ok('d102', '/api/clues', {
      source: 'public_report', district_code: '370102', geometry: { type: 'Point', coordinates: [117.05, 36.6] }, description: '群众举报: 村口建房', reported_on: '2026-11-01',
    });
    expect(r.code).toBe('370102-202611-X0001');
    const c = await card(r.code);
    expect([c.issued_on, c.due_date]).toEqual(['2026-12-08', '2026-12-31']);
    const row = (await ledger('2026-11', '2026-12-08'))[r.code];
    expect([row.年度, row['月份/批次'], row.下发时间, row.办理期限]).toEqual(['2026', '2026-11', '2026-12-08', '2026-12-31']);
    // 是否发现不及时 still compares the day the report came in with the patrol's: reported on 11-01, the patrol found it on 11-03.
    await ok('nr', `/api/polygons/${r.code}/accept`);
    await ok('nr', `/api/polygons/${r.code}/verdict`, { verdict: 'illegal', violation_type: 'rural_housing', party: '王五', patrol_found_on: '2026-11-03' });
    const judged = (await ledger('2026-11', '2026-12-08'))[r.code];
    expect([judged.下发时间, judged.巡查首次发现时间, judged.是否发现不及时]).toEqual(['2026-12-08', '2026-11-03', '是']);
  });

  it('is a polygon\'s own batch\'s day in a month of two batches, as on its card', async () => {
    const rows = await ledger('2026-11', '2026-12-08');
    for (const code of [EARLY, LATE]) {
      const c = await card(code);
      expect([code, rows[code].下发时间, rows[code].办理期限]).toEqual([code, c.issued_on, c.due_date]);
    }
    expect([rows[EARLY].下发时间, rows[LATE].下发时间]).toEqual(['2026-12-01', '2026-12-03']);
  });

  it("stays a sighting's batch's day once it is separated from the case it had joined; its clock runs from the separation", async () => {
    expect((await card(SIGHTING))).toMatchObject({ status: 'merged' });
    t.setToday('2026-12-15');
    await ok('chief', `/api/polygons/${SIGHTING}/separate`, { reason: '相邻新建，非同一地块' });
    const c = await card(SIGHTING);
    expect(c.issued_on).toBe('2026-12-15');
    const row = (await ledger('2026-11', '2026-12-15'))[SIGHTING];
    expect([row.往期图斑编号, row.下发时间, row.办理期限]).toEqual([SITE, '2026-12-03', c.due_date]);
  });
});
