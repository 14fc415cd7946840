/**
 * What a co-handling bureau of a case that carries a site learns of the sightings merged into it,
 * which are not its (their card is a 404): neither the inbox's `last_sighting` nor the construction
 * stage the case took from one dates, names or measures them, as the history's site.seen_again rows
 * and the card's `sightings` already leave them out (site-merge.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

// MAY: natural resources' site, co-handled by forestry; JUN: the site again, grown, merged into MAY
// (natural resources' alone).
const MAY = '370102-202705-0001';
const JUN = '370102-202706-0001';

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['forest', 'bureau', 'forestry'],
    ['chief', 'lead'],
    ['d102', 'district', '370102'],
  ]);
  t = await testApp(db);
  await writeBatch(db, 'b-2027-05', '2027-05', [polygon(MAY, '2027-05', square(117.3, 36.6), { areaM2: 9000, coBureaus: ['forestry'] })], '2027-06-01');
  await writeBatch(db, 'b-2027-06', '2027-06', [polygon(JUN, '2027-06', square(117.3, 36.6, 0.0012), { areaM2: 12345, previousCode: MAY })], '2027-07-01');
  const r = await call('chief', '/api/sweep', {});
  expect(r.statusCode).toBe(200);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const call = (user: string, url: string, payload?: unknown) => t.request(user, url, payload);

describe('a co-handling bureau of the case that carries a site', () => {
  it('is not told, in the inbox, that a sighting it may not open was merged, nor when', async () => {
    expect((await call('forest', `/api/polygons/${JUN}`)).statusCode).toBe(404);
    const item = async (user: string) => (await call(user, '/api/polygons?epoch=2027-05')).json().features.find((f: { id: string }) => f.id === MAY).properties.last_sighting;
    expect(await item('nr')).toBe('2027-06');
    expect(await item('forest')).toBeNull();
    expect((await call('forest', `/api/polygons/${MAY}`)).json().properties.last_sighting).toBeNull();
  });

  it('sees the construction stage the case climbed, but not the code or the area of the sighting that climbed it', async () => {
    const reasons = async (user: string) => (await call(user, `/api/polygons/${MAY}`)).json().escalations.map((e: { kind: string; level: number; reason: string }) => [e.kind, e.level, e.reason]);
    const own = await reasons('nr');
    expect(own).toHaveLength(1);
    expect(own[0][2]).toBe('同一地块后续图斑再次出现并扩大');
    const co = await reasons('forest');
    expect(co.map((e: unknown[]) => e.slice(0, 2))).toEqual([['construction_stage', 2]]);
    expect(co[0][2]).not.toContain(JUN);
    expect(co[0][2]).not.toMatch(/12345/);
  });
});

describe('a co-handling bureau acting on a card older than the merge', () => {
  it('is told the case changed (409 CASE.STALE), but not that the change was a sighting merged into it', async () => {
    // A site seen again without growing: no construction stage, the merge is the case's last change.
    const AUG = '370102-202708-0001';
    await writeBatch(db, 'b-2027-08', '2027-08', [polygon(AUG, '2027-08', square(117.4, 36.6), { areaM2: 9000, coBureaus: ['forestry'] })], '2027-09-01');
    await writeBatch(db, 'b-2027-09', '2027-09', [polygon('370102-202709-0001', '2027-09', square(117.4, 36.6), { areaM2: 8000, previousCode: AUG })], '2027-10-01');
    expect((await call('chief', '/api/sweep', {})).statusCode).toBe(200);
    // The version a card read before the merge showed.
    const before = (await call('nr', `/api/polygons/${AUG}`)).json().case.version - 1;
    const stale = async (user: string) => {
      const r = await t.app.inject({
        method: 'POST',
        url: `/api/polygons/${AUG}/notes`,
        headers: { authorization: `Bearer ${await t.token(user)}`, 'if-match': `"${before}"` },
        payload: { text: '协办意见' },
      });
      expect(r.statusCode, r.body).toBe(409);
      return r.json();
    };
    // Its own bureau sees the sighting on the card, so the conflict may name it.
    expect((await stale('nr')).changed_action).toBe('site.seen_again');
    const co = await stale('forest');
    expect(co.code).toBe('CASE.STALE');
    expect([co.changed_by, co.changed_action]).toEqual([null, null]);
    expect(co.message).not.toMatch(/seen_again/);
    // The card's history, which the conflict must not outrun, has no row of it either.
    const history = (await call('forest', `/api/polygons/${AUG}`)).json().history.map((h: { action: string }) => h.action);
    expect(history).not.toContain('site.seen_again');
  });
});

describe('a sighting outside the caller\'s scope, and evidence of another case', () => {
  it('answers every read and action exactly as a code that does not exist', async () => {
    const MISSING = '370102-202706-0999';
    const answer = async (code: string, method: 'GET' | 'POST', path: string, payload?: object) => {
      const r = await call('forest', `/api/polygons/${code}${path}`, method === 'POST' ? (payload ?? {}) : undefined);
      return [r.statusCode, r.json().code, String(r.json().message).replace(code, 'X')];
    };
    for (const [method, path, payload] of [
      ['GET', ''],
      ['GET', '/chips/after.png'],
      ['GET', '/evidence/1'],
      ['POST', '/notes', { text: '现场' }],
      ['POST', '/separate', { reason: '另一地块' }],
      ['POST', '/withdraw', { reason: '图形灭失' }],
      ['POST', '/accept'],
    ] as const) {
      const seen = await answer(JUN, method, path, payload);
      expect(seen, `${method} ${path}`).toEqual(await answer(MISSING, method, path, payload));
      expect(seen[0]).toBe(404);
    }
  });

  it('serves an evidence id only through the code it belongs to', async () => {
    const up = await t.app.inject({
      method: 'POST',
      url: `/api/polygons/${MAY}/evidence?name=a.pdf`,
      headers: { authorization: `Bearer ${await t.token('nr')}`, 'content-type': 'application/pdf' },
      payload: Buffer.from('%PDF-1.4\n%%EOF\n'),
    });
    expect(up.statusCode, up.body).toBe(200);
    const id = up.json().result.id;
    expect((await call('nr', `/api/polygons/${MAY}/evidence/${id}`)).statusCode).toBe(200);
    // JUN is natural resources' own too, but the file is MAY's.
    const other = await call('nr', `/api/polygons/${JUN}/evidence/${id}`);
    expect(other.statusCode).toBe(404);
  });
});

describe('a later polygon of a site issued to another bureau (the site grown into its remit)', () => {
  it('names the earlier polygon in its construction stage (往期图斑编号 is the batch\'s), but not that polygon\'s area where the caller may not see it', async () => {
    // MAR: natural resources' (9000 m²); APR: the site again, grown, routed to forestry: its own case, stage 2.
    const MAR = '370102-202703-0001';
    const APR = '370102-202704-0001';
    await writeBatch(db, 'b-2027-03', '2027-03', [polygon(MAR, '2027-03', square(117.5, 36.6), { areaM2: 9000 })], '2027-04-01');
    await writeBatch(db, 'b-2027-04', '2027-04', [polygon(APR, '2027-04', square(117.5, 36.6, 0.0012), { areaM2: 12345, previousCode: MAR, leadBureau: 'forestry' })], '2027-05-01');
    expect((await call('chief', '/api/sweep', {})).statusCode).toBe(200);
    expect((await call('forest', `/api/polygons/${MAR}`)).statusCode).toBe(404);
    const card = (await call('forest', `/api/polygons/${APR}`)).json();
    expect(card.previous_case).toBeNull();
    const stage = card.escalations.filter((e: { kind: string }) => e.kind === 'construction_stage');
    expect(stage.map((e: { level: number }) => e.level)).toEqual([2]);
    expect(stage[0].reason).toContain(MAR);
    expect(stage[0].reason).not.toMatch(/9000/);
    // Who sees the earlier polygon and the later one (the lead bureau, their district) reads the growth in full.
    for (const user of ['chief', 'd102']) {
      const full = (await call(user, `/api/polygons/${APR}`)).json().escalations.find((e: { kind: string }) => e.kind === 'construction_stage');
      expect(full.reason, user).toBe(`往期图斑 ${MAR} 再次出现并扩大 (9000 → 12345 m²)`);
    }
  });
});
