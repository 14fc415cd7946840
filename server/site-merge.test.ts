/**
 * A polygon continuing a site (往期图斑) whose earlier case its bureau still has open joins that case
 * (已并入往期) instead of asking for a second verification of one place: the case's history records
 * the sighting, a grown site climbs the construction-stage ladder on the case its bureau works, and
 * the polygon asks nothing of anyone (no deadline, not overdue). A settled site, or one routed to
 * another bureau, is issued as before. The lead bureau separates a sighting that is another site;
 * withdrawing the case it joined (图形灭失) issues its sightings on their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { loadLedger } from '../pipeline/outputs/ledger-exports.js';
import { replaceBatchPolygons } from '../pipeline/store/repository.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

// October: four sites. SITE stays open (accepted); SETTLED is judged, closed and reviewed; OTHER_BUREAU
// is natural resources' but grows into forestry's zone; DROPPED is dropped by a re-run of October.
const SITE = '370102-202610-0001';
const SETTLED = '370102-202610-0002';
const OTHER_BUREAU = '370102-202610-0003';
const DROPPED = '370102-202610-0004';
const october = (codes = [SITE, SETTLED, OTHER_BUREAU, DROPPED]) =>
  codes.map((code) => polygon(code, '2026-10', square(117 + Number(code.slice(-1)) / 100, 36.6), { areaM2: 9000 }));
// November: each October site seen again, grown.
const NOV = (n: number) => `370102-202611-000${n}`;
const november = [
  polygon(NOV(1), '2026-11', square(117.01, 36.6, 0.0012), { areaM2: 12000, previousCode: SITE }),
  polygon(NOV(2), '2026-11', square(117.02, 36.6, 0.0012), { areaM2: 12000, previousCode: SETTLED }),
  polygon(NOV(3), '2026-11', square(117.03, 36.6, 0.0012), { areaM2: 12000, previousCode: OTHER_BUREAU, leadBureau: 'forestry' }),
  polygon(NOV(4), '2026-11', square(117.04, 36.6, 0.0012), { areaM2: 12000, previousCode: DROPPED }),
];
// December: SITE once more, continuing November's sighting (a chain), grown again.
const DEC = '370102-202612-0001';

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', october(), '2026-11-02');
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['forest', 'bureau', 'forestry'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const call = (user: string, url: string, payload?: unknown) => t.request(user, url, payload);

async function ok(user: string, url: string, payload: unknown = {}) {
  const r = await call(user, url, payload);
  expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
  return r.json();
}

const card = async (user: string, code: string) => (await call(user, `/api/polygons/${code}`)).json();

describe('a site seen again while its case is open', () => {
  it('joins that case, which records the sighting; a settled site or another bureau\'s polygon is issued', async () => {
    await ok('nr', `/api/polygons/${SITE}/accept`);
    await ok('nr', `/api/polygons/${SETTLED}/accept`);
    await ok('nr', `/api/polygons/${SETTLED}/verdict`, { verdict: 'legal', approval_doc_no: '济政土批〔2026〕12号' });
    await ok('nr', `/api/polygons/${SETTLED}/close`, { reason: '合法用地' });
    await ok('chief', `/api/polygons/${SETTLED}/review`, { approve: true });
    await writeBatch(db, 'b-2026-11', '2026-11', november, '2026-12-01');
    await ok('chief', '/api/sweep');

    const nov1 = await card('nr', NOV(1));
    expect(nov1.case).toMatchObject({ status: 'merged', merged_into: SITE, due_date: null, due_rule: null });
    expect(nov1.properties.overdue).toBe(false);
    expect(nov1.previous_case).toMatchObject({ code: SITE, status: 'accepted' });
    expect(nov1.history.map((h: { action: string }) => h.action)).toEqual(['merge', 'escalate.construction_stage']); // grown: 9000 → 12000 m²
    const site = await card('nr', SITE);
    expect(site.sightings).toEqual([{ code: NOV(1), epoch: '2026-11', area_m2: 12000 }]);
    expect(site.history.find((h: { action: string }) => h.action === 'site.seen_again').after).toEqual({ code: NOV(1), epoch: '2026-11', area_m2: 12000 });

    expect((await card('nr', NOV(2))).case).toMatchObject({ status: 'issued', merged_into: null, due_rule: 'verification' });
    expect((await card('forest', NOV(3))).case).toMatchObject({ status: 'issued', merged_into: null, lead_bureau: 'forestry' });
    expect((await card('nr', NOV(4))).case).toMatchObject({ status: 'merged', merged_into: DROPPED });

    // The carrying case's inbox item says its site was seen changing again, and when.
    const octList = (await call('nr', '/api/polygons?epoch=2026-10')).json();
    const lastSighting = Object.fromEntries(octList.features.map((f: { id: string; properties: { last_sighting: string | null } }) => [f.id, f.properties.last_sighting]));
    expect(lastSighting).toMatchObject({ [SITE]: '2026-11', [DROPPED]: '2026-11', [SETTLED]: null, [OTHER_BUREAU]: null });
    const counts = (await call('nr', '/api/inbox/counts?epoch=2026-11')).json();
    expect(counts.by_status).toEqual({ merged: 2, issued: 1 });
  });

  it('takes no action but notes; a bureau cannot separate it', async () => {
    const accept = await call('nr', `/api/polygons/${NOV(1)}/accept`, {});
    expect([accept.statusCode, accept.json().code]).toEqual([409, 'CASE.BAD_STATE']);
    await ok('nr', `/api/polygons/${NOV(1)}/notes`, { text: '现场仍在施工' });
    expect((await call('nr', `/api/polygons/${NOV(1)}/separate`, { reason: 'x' })).statusCode).toBe(403);
  });

  it('climbs the construction-stage ladder on the case that carries it, month after month', async () => {
    await writeBatch(db, 'b-2026-12', '2026-12', [polygon(DEC, '2026-12', square(117.01, 36.6, 0.0015), { areaM2: 20000, previousCode: NOV(1) })], '2027-01-04');
    await ok('chief', '/api/sweep');
    // Flattened: December continues November's sighting, and joins the case November joined.
    expect((await card('nr', DEC)).case).toMatchObject({ status: 'merged', merged_into: SITE });
    const site = await card('nr', SITE);
    expect(site.sightings.map((s: { code: string }) => s.code)).toEqual([NOV(1), DEC]);
    expect(site.case.escalation_level).toBe(3);
    // The reasons name no polygon (a co-handling bureau may not see the sighting: scope-audit.test.ts);
    // the history's site.seen_again rows say which.
    expect(site.escalations.map((e: { kind: string; level: number; reason: string }) => [e.kind, e.level, e.reason])).toEqual([
      ['construction_stage', 2, '同一地块后续图斑再次出现并扩大'],
      ['construction_stage', 3, '同一地块后续图斑再次出现并扩大'],
    ]);
    // A second sweep adds nothing.
    await ok('chief', '/api/sweep');
    expect((await card('nr', SITE)).escalations).toHaveLength(2);
  });

  it('is separated by the lead bureau when it is another site after all: issued on its month\'s clock', async () => {
    const r = await ok('chief', `/api/polygons/${DEC}/separate`, { reason: '相邻新建，非同一地块' });
    expect(r.case).toMatchObject({ status: 'issued', merged_into: null, due_rule: 'verification' });
    expect(r.case.due_date).not.toBeNull();
    const site = await card('nr', SITE);
    expect(site.sightings.map((s: { code: string }) => s.code)).toEqual([NOV(1)]);
    expect(site.history.at(-1)).toMatchObject({ actor: 'chief', action: 'site.separated', after: { code: DEC, reason: '相邻新建，非同一地块' } });
    const again = await call('chief', `/api/polygons/${DEC}/separate`, { reason: 'x' });
    expect([again.statusCode, again.json().code]).toEqual([409, 'CASE.BAD_STATE']);
  });

  it('is issued on its own when the case it joined is withdrawn (图形灭失): nobody judged the site', async () => {
    await replaceBatchPolygons(db, 'b-2026-10', october([SITE, SETTLED, OTHER_BUREAU]));
    await ok('chief', '/api/sweep');
    // Nobody had touched DROPPED: withdrawn by the system, and its sighting issued.
    expect((await card('chief', DROPPED)).case).toMatchObject({ status: 'vanished', merged_into: null });
    const nov4 = await card('nr', NOV(4));
    expect(nov4.case).toMatchObject({ status: 'issued', merged_into: null, due_rule: 'verification' });
    expect(nov4.history.at(-1)).toMatchObject({ actor: 'system', action: 'reissue', before: { status: 'merged', merged_into: DROPPED } });
    expect((await card('nr', NOV(1))).case.status).toBe('merged'); // SITE's polygon is still there
  });

  it('takes a re-run\'s new outline without asking anyone to confirm a verdict it does not have', async () => {
    const redrawn = november.map((p) => (p.code === NOV(1) ? { ...p, geometry: square(117.01, 36.6, 0.0013) } : p));
    await replaceBatchPolygons(db, 'b-2026-11', redrawn);
    await ok('chief', '/api/sweep');
    const nov1 = await card('chief', NOV(1));
    expect(nov1.case).toMatchObject({ status: 'merged', geometry_changed: false });
    expect(nov1.history.at(-1)).toMatchObject({ action: 'geometry.changed', after: { geometry_changed: false } });
    expect((await call('chief', '/api/inbox/counts?epoch=2026-11')).json().geometry_changed).toBe(0);
  });

  it('moves with the case it joined when the lead bureau reassigns that case', async () => {
    await ok('chief', `/api/polygons/${SITE}/reassign`, { lead_bureau: 'water', reason: '位于河道管理范围' });
    const nov1 = await card('chief', NOV(1));
    expect(nov1.case).toMatchObject({ status: 'merged', merged_into: SITE, lead_bureau: 'water' });
    expect(nov1.history.at(-1)).toMatchObject({ actor: 'chief', action: 'reassign', before: { lead_bureau: 'natural_resources' }, after: { lead_bureau: 'water', with: SITE } });
    expect((await call('nr', `/api/polygons/${NOV(1)}`)).statusCode).toBe(404); // no longer natural resources'
  });

  it('lists in the ledger, with its earlier code, every continuing polygon issued to be verified on its own', async () => {
    const rows = async (epoch: string) => (await loadLedger(db, epoch, { asOf: '2027-01-10' })).rows.map((r) => [r.图斑编号, r.往期图斑编号]);
    // NOV(1) is progression of SITE's open case: no row. NOV(2) changed again after its site was
    // judged and reviewed, NOV(3) is another bureau's, NOV(4) continues DROPPED, withdrawn (图形灭失):
    // each verified on its own, so each verdict needs its row.
    expect(await rows('2026-11')).toEqual([[NOV(2), SETTLED], [NOV(3), OTHER_BUREAU], [NOV(4), DROPPED]]);
    // December's polygon, separated by the lead bureau: another site after all.
    expect(await rows('2026-12')).toEqual([[DEC, NOV(1)]]);
  });

  it('joins the case of a site the lead bureau reassigned, though the batch routes it as before, instead of going back to the bureau it was taken from', async () => {
    const JAN = '370102-202701-0001';
    await writeBatch(db, 'b-2027-01', '2027-01', [polygon(JAN, '2027-01', square(117.01, 36.6, 0.0012), { areaM2: 12000, previousCode: NOV(1) })], '2027-02-01');
    await ok('chief', '/api/sweep');
    const jan = await card('chief', JAN);
    expect(jan.case).toMatchObject({ status: 'merged', merged_into: SITE, lead_bureau: 'water' });
    expect(jan.history[0]).toMatchObject({ action: 'merge', after: { merged_into: SITE, lead_bureau: 'water', routed_to: 'natural_resources' } });
    expect((await call('nr', `/api/polygons/${JAN}`)).statusCode).toBe(404);
  });
});

describe('what a co-handling bureau of the carrying case sees', () => {
  it('no sighting it may not open: neither in the list nor in the history', async () => {
    const MAY = '370102-202705-0001';
    const JUN = '370102-202706-0001';
    await writeBatch(db, 'b-2027-05', '2027-05', [polygon(MAY, '2027-05', square(117.3, 36.6), { areaM2: 9000, coBureaus: ['forestry'] })], '2027-06-01');
    await ok('chief', '/api/sweep');
    await writeBatch(db, 'b-2027-06', '2027-06', [polygon(JUN, '2027-06', square(117.3, 36.6, 0.0012), { areaM2: 12000, previousCode: MAY })], '2027-07-01');
    await ok('chief', '/api/sweep');
    const seen = (c: { sightings: { code: string }[]; history: { action: string }[] }) => [c.sightings.map((x) => x.code), c.history.filter((h) => h.action === 'site.seen_again').length];
    expect(seen(await card('nr', MAY))).toEqual([[JUN], 1]);
    expect(seen(await card('forest', MAY))).toEqual([[], 0]);
    expect((await call('forest', `/api/polygons/${JUN}`)).statusCode).toBe(404);
  });
});

describe('a site seen again after its case was judged', () => {
  // March (district 370112): JUDGED_LEGAL is verified legal, CLOSED is judged other and closed
  // (awaiting review), ILLEGAL is judged illegal; April sees each again.
  const MAR = (n: number) => `370112-202703-000${n}`;
  const APR = (n: number) => `370112-202704-000${n}`;
  const at = (n: number, d = 0.001) => square(117.5 + n / 100, 36.6, d);
  const district = { districtCode: '370112', districtName: '历城区' };

  it('is issued when the judgement was legal or other, or the case is closed; progression of an illegal site joins its case', async () => {
    await writeBatch(db, 'b-2027-03', '2027-03', [1, 2, 3].map((n) => polygon(MAR(n), '2027-03', at(n), { areaM2: 9000, ...district })), '2027-04-01');
    for (const n of [1, 2, 3]) await ok('nr', `/api/polygons/${MAR(n)}/accept`);
    await ok('nr', `/api/polygons/${MAR(1)}/verdict`, { verdict: 'legal', approval_doc_no: '济政土批〔2027〕3号' });
    await ok('nr', `/api/polygons/${MAR(2)}/verdict`, { verdict: 'other', situation: 'temporary_use', reason: '临时用地已批' });
    await ok('nr', `/api/polygons/${MAR(2)}/close`, { reason: '临时用地' });
    await ok('nr', `/api/polygons/${MAR(3)}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    await writeBatch(db, 'b-2027-04', '2027-04', [1, 2, 3].map((n) => polygon(APR(n), '2027-04', at(n, 0.0012), { areaM2: 12000, previousCode: MAR(n), ...district })), '2027-05-06');
    await ok('chief', '/api/sweep');

    // Building beyond an approval, or after a closure: nobody else would verify it (a review of
    // MAR(2)'s closure would settle it unseen).
    expect((await card('nr', APR(1))).case).toMatchObject({ status: 'issued', merged_into: null, due_rule: 'verification' });
    expect((await card('nr', APR(2))).case).toMatchObject({ status: 'issued', merged_into: null, due_rule: 'verification' });
    expect((await card('nr', APR(3))).case).toMatchObject({ status: 'merged', merged_into: MAR(3) });
    await ok('chief', `/api/polygons/${MAR(2)}/review`, { approve: true });
    expect((await card('nr', APR(2))).case.status).toBe('issued');
  });

  it('is issued on a clock from the day it is separated or its case withdrawn, not overdue the day it is issued', async () => {
    await writeBatch(db, 'b-2027-03-x', '2027-03', [polygon(MAR(4), '2027-03', at(4), { areaM2: 9000, ...district })], '2027-04-01');
    await writeBatch(db, 'b-2027-04-x', '2027-04', [polygon(APR(4), '2027-04', at(4, 0.0012), { areaM2: 9000, previousCode: MAR(4), ...district })], '2027-05-06');
    await ok('chief', '/api/sweep');
    expect((await card('nr', APR(4))).case).toMatchObject({ status: 'merged', merged_into: MAR(4) });

    // July: April's month is long over (its clock ran out on 2027-05-31).
    t.setToday('2027-07-20');
    const separated = (await ok('chief', `/api/polygons/${APR(3)}/separate`, { reason: '相邻新建，非同一地块' })).case;
    expect(separated).toMatchObject({ status: 'issued', issued_on: '2027-07-20', due_rule: 'verification' });
    expect(separated.due_date >= '2027-07-20').toBe(true);
    // March re-run without MAR(4), which nobody had touched: withdrawn, and its sighting issued.
    await replaceBatchPolygons(db, 'b-2027-03-x', []);
    await ok('chief', '/api/sweep');
    const apr4 = await card('nr', APR(4));
    expect(apr4.case).toMatchObject({ status: 'issued', issued_on: '2027-07-20', due_date: separated.due_date });
    for (const code of [APR(3), APR(4)]) {
      const c = await card('nr', code);
      expect([code, c.properties.overdue, c.escalations.filter((e: { kind: string }) => e.kind === 'overdue')]).toEqual([code, false, []]);
    }
  });
});
