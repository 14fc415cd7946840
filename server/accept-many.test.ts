/**
 * 签收 of many polygons in one request (`POST /api/polygons/accept`): each is accepted exactly as
 * its own `…/{code}/accept` would be (one transaction and one audit row each), and the ones this
 * bureau may not sign for (another bureau's, co-handled, already accepted, unknown) are listed with why, the
 * others accepted all the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const code = (n: number) => `370102-202610-000${n}`;
let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(
    db,
    'b1',
    '2026-10',
    [
      polygon(code(1), '2026-10', square(117.0, 36.6)),
      polygon(code(2), '2026-10', square(117.01, 36.6)),
      polygon(code(3), '2026-10', square(117.02, 36.6)),
      polygon(code(4), '2026-10', square(117.03, 36.6), { leadBureau: 'forestry' }),
      polygon(code(5), '2026-10', square(117.04, 36.6), { leadBureau: 'forestry', coBureaus: ['natural_resources'] }),
    ],
    '2026-11-02',
  );
  await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['d102', 'district', '370102']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('POST /api/polygons/accept', () => {
  it("accepts each of the bureau's issued polygons on its own, and names the others with why", async () => {
    expect((await t.request('nr', `/api/polygons/${code(3)}/accept`, {})).statusCode).toBe(200);
    const r = await t.request('nr', '/api/polygons/accept', { codes: [code(1), code(2), code(3), code(4), code(5), '370102-202610-0999', code(1)] });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json() as { accepted: string[]; refused: { code: string; error: string }[] };
    expect(body.accepted).toEqual([code(1), code(2)]);
    expect(body.refused.map((x) => [x.code, x.error])).toEqual([
      [code(3), 'CASE.BAD_STATE'], // accepted already
      [code(4), 'POLYGON.NOT_FOUND'], // another bureau's: not even seen
      [code(5), 'CASE.NOT_LEAD'], // co-handled: the lead bureau signs for it
      ['370102-202610-0999', 'POLYGON.NOT_FOUND'],
    ]);
    const cases = await db.query<{ code: string; status: string }>('SELECT code, status FROM cases ORDER BY code');
    expect(cases.rows.map((c) => c.status)).toEqual(['accepted', 'accepted', 'accepted', 'issued', 'issued']);
    // One audit row per polygon accepted, by the one who did it, as a single accept writes.
    const audit = await db.query<{ code: string; actor: string }>("SELECT code, actor FROM audit_log WHERE action = 'accept' ORDER BY id");
    expect(audit.rows).toEqual([code(3), code(1), code(2)].map((c) => ({ code: c, actor: 'nr' })));
  });

  it('is refused whole for a role that signs for nothing, and for a malformed list', async () => {
    const district = await t.request('d102', '/api/polygons/accept', { codes: [code(4)] });
    expect(district.statusCode).toBe(200);
    expect(district.json().refused.map((x: { error: string }) => x.error)).toEqual(['AUTH.FORBIDDEN']);
    expect((await db.query("SELECT status FROM cases WHERE code = $1", [code(4)])).rows[0]).toEqual({ status: 'issued' });
    for (const payload of [{ codes: [] }, { codes: ['../x'] }, { codes: [code(4)], extra: 1 }]) {
      const bad = await t.request('nr', '/api/polygons/accept', payload);
      expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION']);
    }
  });
});
