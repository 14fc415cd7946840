/**
 * The quarterly report counts the lead bureau's 督办 (POST /api/polygons/{code}/urge) of the quarter:
 * how many and of how many cases, by bureau (the one that led the case that day), by district and in
 * all; an urge of another quarter is not counted. Through the real app and database, in every format.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { quarterReport, reportCsvBytes, reportText, reportXlsxBytes, type QuarterReport } from '../pipeline/reports/quarter-report.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const A = '370102-202610-0001'; // natural_resources, 历下区
const B = '370103-202610-0001'; // natural_resources, 市中区
const C = '370102-202610-0002'; // urged under natural_resources, then reassigned to forestry and urged again
const OLD = '370102-202607-0001'; // a Q3 case, urged in Q4

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-07', '2026-07', [polygon(OLD, '2026-07', square(117.1, 36.6))], '2026-07-28');
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(A, '2026-10', square(117.0, 36.6)), polygon(B, '2026-10', square(117.02, 36.6)), polygon(C, '2026-10', square(117.04, 36.6))], '2026-10-28');
  await addUsers(db, [['chief', 'lead']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function urge(code: string, day: string): Promise<void> {
  t.setToday(day);
  const r = await t.request('chief', `/api/polygons/${code}/urge`, { comment: '请尽快核查' });
  expect(r.statusCode, r.body).toBe(200);
}

const counts = (r: QuarterReport) => ({
  total: [r.total.urges, r.total.urgedCases],
  bureaus: Object.fromEntries(r.byBureau.map((l) => [l.key, [l.urges, l.urgedCases]])),
  districts: Object.fromEntries(r.byDistrict.map((l) => [l.key, [l.urges, l.urgedCases]])),
});

describe('督办 in the quarterly report', () => {
  it('counts the quarter\'s urges and the cases urged, by the bureau urged, by district and in all; not another quarter\'s', async () => {
    t.setToday('2026-11-03');
    await t.request('chief', '/api/sweep', {});
    const before = await quarterReport(db, '2026Q4', { asOf: '2026-12-31' });
    expect(before.total.urges).toBe(0);
    expect(before.byBureau.every((l) => l.urges === 0 && l.urgedCases === 0)).toBe(true);
    const nr = before.byBureau.find((l) => l.items === 3)!.key; // all three October cases are natural_resources'

    await urge(OLD, '2026-09-20'); // Q3: not Q4's
    await urge(A, '2026-11-05');
    await urge(A, '2026-11-20');
    await urge(B, '2026-12-01');
    await urge(OLD, '2026-11-06');
    await urge(C, '2026-11-07');
    t.setToday('2026-11-08');
    expect((await t.request('chief', `/api/polygons/${C}/reassign`, { lead_bureau: 'forestry', reason: '林地' })).statusCode).toBe(200);
    await urge(C, '2026-11-09');
    await urge(A, '2027-01-04'); // Q1 of next year

    const q4 = await quarterReport(db, '2026Q4', { asOf: '2026-12-31' });
    const forestry = q4.byBureau.find((l) => l.key !== nr && l.urges > 0)!.key;
    expect(counts(q4)).toEqual({
      total: [6, 4],
      bureaus: { [nr]: [5, 4], [forestry]: [1, 1] },
      districts: { '370102': [5, 3], '370103': [1, 1] },
    });
    // Up to the report's day: as of 30 November, December's urge of B is not yet counted.
    expect((await quarterReport(db, '2026Q4', { asOf: '2026-11-30' })).total).toMatchObject({ urges: 5, urgedCases: 3 });
    expect((await quarterReport(db, '2026Q3', { asOf: '2026-09-30' })).total).toMatchObject({ urges: 1, urgedCases: 1 });
    expect((await quarterReport(db, '2027Q1', { asOf: '2027-03-31' })).total).toMatchObject({ urges: 1, urgedCases: 1 });

    // Every format: the csv and xlsx columns, the terminal's table, the server's download.
    const csv = reportCsvBytes(q4).toString('utf8').slice(1).split('\r\n').filter(Boolean).map((l) => l.split(','));
    const [header, ...rows] = csv;
    const col = (h: string) => header.indexOf(h);
    expect(col('督办次数')).toBeGreaterThan(0);
    const total = rows.find((r) => r[0] === '合计')!;
    expect([total[col('督办次数')], total[col('督办案件数')]]).toEqual(['6', '4']);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await reportXlsxBytes(q4));
    const ws = wb.getWorksheet('按主办单位')!;
    const heads = (ws.getRow(2).values as unknown[]).map(String);
    const xlsxRow = (name: string) => ws.getRows(3, ws.rowCount - 2)!.find((r) => r.getCell(3).value === name)!;
    expect(xlsxRow(forestry).getCell(heads.indexOf('督办次数')).value).toBe(1);
    expect(xlsxRow(nr).getCell(heads.indexOf('督办案件数')).value).toBe(4);
    expect(reportText(q4)).toMatch(/督办\(次\/件\)/);
    expect(reportText(q4).split('\n').find((l) => l.startsWith('合计'))).toContain('6/4');
    t.setToday('2027-01-05');
    const served = await t.request('chief', '/api/report/2026Q4.csv');
    expect(served.statusCode).toBe(200);
    const servedTotal = served.body.slice(1).split('\r\n').find((l) => l.startsWith('合计'))!.split(',');
    expect([servedTotal[col('督办次数')], servedTotal[col('督办案件数')]]).toEqual(['6', '4']);
  });
});
