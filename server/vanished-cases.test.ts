/**
 * Cases whose polygon a batch re-run no longer finds (图形灭失): withdrawn by the system when nobody
 * had touched them, flagged for the lead bureau otherwise, who withdraws them (`withdraw`); either
 * way settled: no deadline runs out, the next pass does not flag them again, the month's ledger still
 * lists them as issued (polygons_gone) and says 图形灭失.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkflowLedger } from '../pipeline/outputs/workflow-dispositions.js';
import { loadLedger } from '../pipeline/outputs/ledger-exports.js';
import type { Database } from '../pipeline/store/queryable.js';
import { replaceBatchPolygons } from '../pipeline/store/repository.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const UNTOUCHED = '370102-202610-0001';
const WORKED = '370102-202610-0002';
const KEPT = '370102-202610-0003';
const batch = () => [UNTOUCHED, WORKED, KEPT].map((code, i) => polygon(code, '2026-10', square(117 + i / 100, 36.6)));

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', batch(), '2026-11-02');
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const call = (user: string, url: string, payload?: unknown) => t.request(user, url, payload);

describe('a case whose polygon a re-run dropped', () => {
  it('is withdrawn at once when nobody had touched it, and flagged for the lead bureau when someone had', async () => {
    await call('chief', '/api/sweep', {});
    expect((await call('nr', `/api/polygons/${WORKED}/accept`, {})).statusCode).toBe(200);
    await replaceBatchPolygons(db, 'b-2026-10', batch().filter((p) => p.code === KEPT));
    await call('chief', '/api/sweep', {});

    const untouched = (await call('nr', `/api/polygons/${UNTOUCHED}`)).json();
    expect(untouched.case).toMatchObject({ status: 'vanished', geometry_changed: false, due_date: null });
    expect(untouched.history.map((h: { actor: string; action: string }) => `${h.actor} ${h.action}`)).toEqual(['system polygon.vanished']);
    const worked = (await call('nr', `/api/polygons/${WORKED}`)).json();
    expect(worked.case).toMatchObject({ status: 'accepted', geometry_changed: true });
    expect(worked.case.due_date).not.toBeNull();
    // Not on the map or in the list (no polygon): the counts name it, for the lead bureau and its bureau.
    for (const user of ['chief', 'nr']) expect((await call(user, '/api/inbox/counts')).json().vanished).toEqual([WORKED]);
  });

  it('is withdrawn by the lead bureau only, and only once its polygon is gone', async () => {
    const byBureau = await call('nr', `/api/polygons/${WORKED}/withdraw`, { reason: '复跑后不再提取' });
    expect(byBureau.statusCode).toBe(403);
    const stillThere = await call('chief', `/api/polygons/${KEPT}/withdraw`, { reason: '复跑后不再提取' });
    expect([stillThere.statusCode, stillThere.json().code]).toEqual([409, 'CASE.BAD_STATE']);
    expect((await call('chief', `/api/polygons/${WORKED}/withdraw`, {})).statusCode).toBe(400); // a reason is required
    const ok = await call('chief', `/api/polygons/${WORKED}/withdraw`, { reason: '复跑后不再提取' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().case).toMatchObject({ status: 'vanished', geometry_changed: false, due_date: null });
    expect((await call('chief', '/api/inbox/counts')).json().vanished).toEqual([]);
    const again = await call('chief', `/api/polygons/${WORKED}/withdraw`, { reason: '再次' });
    expect([again.statusCode, again.json().code]).toEqual([409, 'CASE.BAD_STATE']);
  });

  it('stays settled: never overdue, not flagged again by the next full pass, 图形灭失 in the ledger', async () => {
    t.setToday('2027-03-01'); // far past every clock of the month
    await call('chief', '/api/sweep', {});
    const counts = (await call('chief', '/api/inbox/counts?epoch=2026-10')).json();
    expect(counts.by_status).toEqual({ vanished: 2, issued: 1 });
    expect([counts.overdue, counts.geometry_changed]).toEqual([1, 0]); // only the kept polygon's case is late
    const escalated = await db.query<{ code: string }>(`SELECT DISTINCT code FROM escalations ORDER BY code`);
    expect(escalated.rows.map((r) => r.code)).toEqual([KEPT]);
    const ledger = await loadWorkflowLedger(db, '2026-10', [UNTOUCHED, WORKED, KEPT], '2027-03-01');
    expect(Object.fromEntries(ledger.dispositions.map((d) => [d.code, d.closure]))).toEqual({ [UNTOUCHED]: '图形灭失', [WORKED]: '图形灭失', [KEPT]: '未销号' });
    // The month's exported ledger still lists the two (they were issued), as issued, 图形灭失.
    const month = await loadLedger(db, '2026-10', { asOf: '2027-03-01' });
    expect(month.rows.map((r) => [r.图斑编号, r.销号状态])).toEqual([[UNTOUCHED, '图形灭失'], [WORKED, '图形灭失'], [KEPT, '未销号']]);
    expect(month.rows.map((r) => r['监测面积(平方米)'])).toEqual(batch().map((p) => p.areaM2));
    expect([...month.geometries.keys()].sort()).toEqual([UNTOUCHED, WORKED, KEPT]);
  });

  it('leaves polygons_gone when a batch finds the site again under its code', async () => {
    await replaceBatchPolygons(db, 'b-2026-10', batch().filter((p) => p.code !== UNTOUCHED));
    const gone = await db.query<{ code: string }>('SELECT code FROM polygons_gone ORDER BY code');
    expect(gone.rows.map((r) => r.code)).toEqual([UNTOUCHED]);
    const month = await loadLedger(db, '2026-10', { asOf: '2027-03-01' });
    expect(month.rows.map((r) => r.图斑编号)).toEqual([UNTOUCHED, WORKED, KEPT]);
  });
});
