/**
 * The month ledger after a re-run dropped polygons whose cases were open (polygons_gone): a
 * continuing polygon the workflow had issued on its own (its site's case was settled) stays the
 * month's row, 图形灭失; one that had only joined its site's open case (已并入往期) never was a row
 * and does not become one when it vanishes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { loadLedger } from '../pipeline/outputs/ledger-exports.js';
import { quarterReport } from '../pipeline/reports/quarter-report.js';
import { replaceBatchPolygons } from '../pipeline/store/repository.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const SETTLED = '370102-202610-0001'; // judged legal: its site's next sighting is issued on its own
const OPEN = '370102-202610-0002'; // still open: its site's next sighting joins it
const OWN = '370102-202611-0001';
const JOINED = '370102-202611-0002';
const FRESH = '370102-202611-0003';

let db: Database;
let t: TestApp;

const november = () => [
  polygon(OWN, '2026-11', square(117.0, 36.6), { previousCode: SETTLED }),
  polygon(JOINED, '2026-11', square(117.01, 36.6), { previousCode: OPEN }),
  polygon(FRESH, '2026-11', square(117.02, 36.6)),
];

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(SETTLED, '2026-10', square(117.0, 36.6)), polygon(OPEN, '2026-10', square(117.01, 36.6))], '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('a re-run that drops continuing polygons with cases', () => {
  it('keeps the one issued on its own as its row, 图形灭失, and does not make a row of the one that had joined an open case', async () => {
    t.setToday('2026-11-05');
    expect((await t.request('nr', `/api/polygons/${SETTLED}/accept`, {})).statusCode).toBe(200);
    expect((await t.request('nr', `/api/polygons/${SETTLED}/verdict`, { verdict: 'legal', approval_doc_no: '济自然资批〔2026〕1号' })).statusCode).toBe(200);
    await writeBatch(db, 'b-2026-11', '2026-11', november(), '2026-12-01');
    t.setToday('2026-12-02');
    await t.request('chief', '/api/sweep', {});
    const status = async () => Object.fromEntries((await db.query<{ code: string; status: string }>("SELECT code, status FROM cases WHERE epoch = '2026-11'")).rows.map((r) => [r.code, r.status]));
    expect(await status()).toEqual({ [OWN]: 'issued', [JOINED]: 'merged', [FRESH]: 'issued' });
    const before = await loadLedger(db, '2026-11', { asOf: '2026-12-02' });
    expect(before.rows.map((r) => r.图斑编号)).toEqual([OWN, FRESH]);

    // The re-run of November finds only the new site.
    await replaceBatchPolygons(db, 'b-2026-11', november().filter((p) => p.code === FRESH));
    await t.request('chief', '/api/sweep', {});
    expect(await status()).toEqual({ [OWN]: 'vanished', [JOINED]: 'vanished', [FRESH]: 'issued' });

    const after = await loadLedger(db, '2026-11', { asOf: '2026-12-02' });
    expect(after.rows.map((r) => [r.图斑编号, r.往期图斑编号, r.销号状态])).toEqual([
      [OWN, SETTLED, '图形灭失'],
      [FRESH, '', '未销号'],
    ]);
    // The sighting that had joined the open case, retracted by the re-run, is no longer the site's progression.
    expect(before.polygons.map((p) => p.code).sort()).toEqual([OWN, JOINED, FRESH]);
    expect(after.polygons.map((p) => p.code).sort()).toEqual([OWN, FRESH]);
    const report = await quarterReport(db, '2026Q4', { asOf: '2026-12-02' });
    expect([report.total.continuing, report.total.items]).toEqual([0, 4]); // rows: October's two sites, OWN and FRESH; no progression left
  });

  it('dates the rows of a month whose polygons a re-run all dropped by the batch that issued them, not by today', async () => {
    const code = '370102-202612-0001';
    await writeBatch(db, 'b-2026-12', '2026-12', [polygon(code, '2026-12', square(117.05, 36.6))], '2026-12-28');
    t.setToday('2027-01-10');
    await t.request('chief', '/api/sweep', {});
    await replaceBatchPolygons(db, 'b-2026-12', []);
    await t.request('chief', '/api/sweep', {});
    const ledger = await loadLedger(db, '2026-12', { asOf: '2027-01-10' });
    expect(ledger.rows.map((r) => [r.图斑编号, r.下发时间, r.销号状态])).toEqual([[code, '2026-12-28', '图形灭失']]);
  });
});
