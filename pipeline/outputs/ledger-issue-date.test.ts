/**
 * 下发时间 of the items no case holds yet (no triage server has opened the month): the day the server
 * will issue each (case-store.ts ISSUED_ON), so the ledger says the same before and after: a polygon's
 * own batch's day, in a month of two batches, and a clue's reported_on; 办理期限 the end of that month.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePolygon } from '../../fixtures/sample-polygon.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { replaceBatchPolygons, setBatchStatus, upsertBatch } from '../store/repository.js';
import { loadLedger } from './ledger-exports.js';

const sq = (lon: number, lat: number, d = 0.001) => ({ type: 'Polygon' as const, coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] });

let db: Database;

beforeAll(async () => {
  const url = process.env.TUBAN_TEST_DATABASE_URL;
  db = url ? await openDatabase(url, { schema: `tuban_issue_date_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
  await migrate(db);
  const batch = async (id: string, code: string, lon: number, finished: string) => {
    await upsertBatch(db, { id, epoch: '2026-11', params: {} });
    await replaceBatchPolygons(db, id, [samplePolygon({ code, epoch: '2026-11', geometry: sq(lon, 36.0) })]);
    await setBatchStatus(db, id, 'done');
    await db.query('UPDATE batches SET finished_at = $2 WHERE id = $1', [id, finished]);
  };
  // 08:00 UTC is 16:00 in China; 20:00 UTC on the 30th is 04:00 on 1 December there.
  await batch('b-2026-11-a', '370102-202611-0001', 117.0, '2026-11-30T20:00:00Z');
  await batch('b-2026-11-b', '370102-202611-0002', 117.01, '2026-12-03T08:00:00Z');
  await db.query(
    `INSERT INTO clues (code, epoch, source, geom, area_m2, district_code, district_name, lead_bureau, description, reported_by, reported_on)
     VALUES ('370102-202611-X0001', '2026-11', 'hotline', ST_SetSRID(ST_MakePoint(117.05, 36.0), 4326), 0, '370102', '历下区', 'natural_resources', '12345 举报', 'd102', '2026-11-20')`,
  );
}, 120_000);

afterAll(async () => {
  await db?.close();
});

describe('下发时间 of an item no case holds yet', () => {
  it('is its own batch\'s day (a polygon) or its reported_on (a clue), the clock running to that month\'s end', async () => {
    const data = await loadLedger(db, '2026-11', { asOf: '2026-12-05' });
    expect(data.rows.map((r) => [r.图斑编号, r['月份/批次'], r.下发时间, r.办理期限, r.是否逾期])).toEqual([
      ['370102-202611-0001', '2026-11', '2026-12-01', '2026-12-31', '否'],
      ['370102-202611-0002', '2026-11', '2026-12-03', '2026-12-31', '否'],
      ['370102-202611-X0001', '2026-11', '2026-11-20', '2026-11-30', '是'],
    ]);
  });
});
