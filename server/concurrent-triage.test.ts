/**
 * Several people acting on one case at once: two staff of a bureau on one card, one of them on a
 * card loaded before the other's change. On a real database (PGlite here; on PostgreSQL under
 * `npm test`, where the two requests are truly concurrent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const P_STALE = '370102-202610-0001';
const P_BOTH = '370102-202610-0002';
const P_SWEEP = '370102-202610-0003';
const P_GEOM = '370102-202610-0004';
const P_DROP = '370102-202610-0005';
const ALL = [P_STALE, P_BOTH, P_SWEEP, P_GEOM, P_DROP];
const batch = (moved: string[] = [], dropped: string[] = []) =>
  ALL.filter((c) => !dropped.includes(c)).map((c, i) => polygon(c, '2026-10', square(117 + i / 100, 36.6, moved.includes(c) ? 0.0012 : 0.001)));

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', batch(), '2026-11-02');
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['nr2', 'bureau', 'natural_resources'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
  await t.request('chief', '/api/sweep', {});
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

/** POST as `user` with the card's version in If-Match (what the page sends), or none. */
const post = async (user: string, url: string, payload: unknown, version?: number | string) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${await t.token(user)}`, ...(version !== undefined ? { 'if-match': typeof version === 'number' ? `"${version}"` : version } : {}) },
    payload: payload as object,
  });
const card = async (user: string, code: string) => (await t.request(user, `/api/polygons/${code}`)).json();
const auditCount = async (code: string, action: string) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log WHERE code = $1 AND action = $2', [code, action])).rows[0].n;

describe('a card loaded before a colleague changed the case', () => {
  it('is refused with 409 CASE.STALE, naming who changed it, instead of overwriting their verdict', async () => {
    await post('nr', `/api/polygons/${P_STALE}/accept`, {});
    const loaded = (await card('nr2', P_STALE)).case.version;
    expect((await card('nr', P_STALE)).case.version).toBe(loaded);

    const first = await post('nr', `/api/polygons/${P_STALE}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' }, loaded);
    expect(first.statusCode, first.body).toBe(200);
    const stale = await post('nr2', `/api/polygons/${P_STALE}/verdict`, { verdict: 'legal', approval_doc_no: '济自然规划批〔2026〕1号' }, loaded);
    expect([stale.statusCode, stale.json().code]).toEqual([409, 'CASE.STALE']);
    expect(stale.json()).toMatchObject({ version: loaded + 1, changed_by: 'nr', changed_action: 'verdict' });
    const now = (await card('nr', P_STALE)).case;
    expect(now).toMatchObject({ verdict: 'illegal', version: loaded + 1 });
    expect(await auditCount(P_STALE, 'verdict')).toBe(1);
  });

  it('cannot set a rectification back to the progress its form was filled with', async () => {
    const v = (await card('nr', P_STALE)).case.version;
    expect((await post('nr', `/api/polygons/${P_STALE}/rectification`, { method: 'demolish_restore', progress: 60 }, v)).statusCode).toBe(200);
    const stale = await post('nr2', `/api/polygons/${P_STALE}/rectification`, { method: 'demolish_restore', progress: 30 }, v);
    expect(stale.json().code).toBe('CASE.STALE');
    expect((await card('nr', P_STALE)).case.rectification.progress).toBe(60);
  });

  it('is checked only when sent: an API client without If-Match acts as before; a malformed one is 400', async () => {
    const bad = await post('nr', `/api/polygons/${P_STALE}/notes`, { text: 'x' }, 'yesterday');
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION']);
    expect((await post('nr', `/api/polygons/${P_STALE}/notes`, { text: '现场已复核' })).statusCode).toBe(200);
    const v = (await card('nr', P_STALE)).case.version;
    expect((await post('nr', `/api/polygons/${P_STALE}/notes`, { text: '带版本' }, `W/"${v}"`)).statusCode).toBe(200);
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/api/polygons/{code}/verdict'].post.parameters.map((p: { name: string; in: string }) => `${p.in} ${p.name}`)).toContain('header If-Match');
  });
});

describe('two staff submitting on one card at the same moment', () => {
  it('records one verdict and refuses the other with 409, never a 500 nor two verdict rows', async () => {
    await post('nr', `/api/polygons/${P_BOTH}/accept`, {});
    const v = (await card('nr', P_BOTH)).case.version;
    const rs = await Promise.all([
      post('nr', `/api/polygons/${P_BOTH}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' }, v),
      post('nr2', `/api/polygons/${P_BOTH}/verdict`, { verdict: 'other', situation: 'seasonal', reason: '季节性' }, v),
    ]);
    expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect(rs.find((r) => r.statusCode === 409)!.json().code).toBe('CASE.STALE');
    expect(await auditCount(P_BOTH, 'verdict')).toBe(1);
  });
});
