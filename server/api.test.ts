/**
 * API tests on a real database: in-memory PGlite (one per file: PostGIS takes ~13 s to start), or
 * the PostgreSQL server when TUBAN_TEST_DATABASE_URL is set (a fresh schema). Polygons are written
 * by the batch's own repository; the app is the one `tuban serve` runs, called through inject().
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureCollection } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { replaceBatchPolygons } from '../pipeline/store/repository.js';
import { dispositionCells } from '../pipeline/outputs/ledger-disposition.js';
import { loadWorkflowLedger } from '../pipeline/outputs/workflow-dispositions.js';
import { addUser } from './auth/user-store.js';
import { imageryPlugin } from './imagery-routes.js';
import { createImageryService } from './imagery/imagery-service.js';
import { listPolygons } from './workflow/polygon-queries.js';
import { addUsers, jpegWithExif, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

const P_ECO = '370102-202610-0001'; // led by ecology_environment, co-handled by natural_resources
const P_NR = '370102-202610-0002'; // led by natural_resources
const P_FOR = '370103-202610-0001'; // led by forestry, another district
const P_LEGAL = '370102-202610-0003';
const P_SPLIT = '370102-202610-0004';
const P_REASSIGN = '370102-202610-0005';
const P_DEADLINE = '370102-202610-0006';
const P_RERUN = '370102-202610-0007';
const P_RACE = '370102-202610-0008';

const batch1 = () => [
  polygon(P_ECO, '2026-10', square(117.0, 36.6), { leadBureau: 'ecology_environment', coBureaus: ['natural_resources', 'township'], priority: 'high' }),
  polygon(P_NR, '2026-10', square(117.01, 36.6), { areaM2: 9000 }),
  polygon(P_FOR, '2026-10', square(117.02, 36.6), { leadBureau: 'forestry' }),
  polygon(P_LEGAL, '2026-10', square(117.03, 36.6)),
  polygon(P_SPLIT, '2026-10', square(117.04, 36.6)),
  polygon(P_REASSIGN, '2026-10', square(117.05, 36.6), { leadBureau: 'ecology_environment' }),
  polygon(P_DEADLINE, '2026-10', square(117.06, 36.6)),
  polygon(P_RERUN, '2026-10', square(117.07, 36.6)),
  polygon(P_RACE, '2026-10', square(117.08, 36.6)),
];

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', batch1(), '2026-11-02');
  await addUsers(db, [
    ['ana', 'analyst'],
    ['nr', 'bureau', 'natural_resources'],
    ['eco', 'bureau', 'ecology_environment'],
    ['forest', 'bureau', 'forestry'],
    ['d102', 'district', '370102'],
    ['d103', 'district', '370103'],
    ['chief', 'lead'],
    ['root', 'admin'],
  ]);
  t = await testApp(db, { maxEvidenceBytes: 64 * 1024 });
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function call(user: string | null, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
  const headers: Record<string, string> = user ? { authorization: `Bearer ${await t.token(user)}` } : {};
  return t.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

async function codes(user: string, query = ''): Promise<string[]> {
  const r = await call(user, 'GET', `/api/polygons${query}`);
  expect(r.statusCode, r.body).toBe(200);
  return (r.json() as FeatureCollection).features.map((f) => String(f.id)).sort();
}

async function status(code: string): Promise<string> {
  return (await db.query<{ status: string }>('SELECT status FROM cases WHERE code = $1', [code])).rows[0].status;
}

describe('sign-in and anonymous access', () => {
  it('answers 401 with a code to anonymous calls anywhere under /api but the session route', async () => {
    for (const url of ['/api/polygons', `/api/polygons/${P_NR}`, '/api/inbox/counts', '/api/users', '/api/no-such-route', '/api/polygons.geojson?bbox=1,1,2,2']) {
      const r = await call(null, 'GET', url);
      expect(r.statusCode, url).toBe(401);
      expect(r.json().code).toBe('AUTH.REQUIRED');
    }
    const post = await call(null, 'POST', `/api/polygons/${P_NR}/accept`, {});
    expect(post.statusCode).toBe(401);
  });

  it('gives a signed token and an HttpOnly SameSite cookie; the cookie works as well', async () => {
    const r = await call(null, 'POST', '/api/session', { name: 'nr', password: 'correct horse battery' });
    expect(r.statusCode).toBe(200);
    expect(r.json().user).toMatchObject({ name: 'nr', role: 'bureau', bureau: 'natural_resources' });
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/^tuban_session=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: cookie.split(';')[0] } });
    expect(me.json().name).toBe('nr');
    // A district user is shown its district by name, as the district layer gives it.
    expect((await call('d102', 'GET', '/api/me')).json()).toMatchObject({ name: 'd102', district: '370102', district_name: '历下区' });
  });

  it('refuses a wrong password, an unknown user, a forged and an expired token', async () => {
    for (const body of [{ name: 'nr', password: 'wrong password!!' }, { name: 'ghost', password: 'correct horse battery' }]) {
      const r = await call(null, 'POST', '/api/session', body);
      expect(r.statusCode).toBe(401);
      expect(r.json().code).toBe('AUTH.BAD_CREDENTIALS');
    }
    const token = await t.token('nr');
    const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    const r = await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${forged}` } });
    expect(r.json().code).toBe('AUTH.TOKEN_INVALID');
    t.setToday('2026-11-05');
    const late = await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
    expect(late.statusCode).toBe(401);
    t.setToday('2026-11-03');
  });

  it('signs a disabled user out at once', async () => {
    await addUser(db, { name: 'temp', role: 'bureau', bureau: 'water', password: 'correct horse battery' }, 'test');
    const token = (await call(null, 'POST', '/api/session', { name: 'temp', password: 'correct horse battery' })).json().token;
    await db.query(`UPDATE users SET disabled = true WHERE name = 'temp'`);
    const r = await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(401);
    expect((await call(null, 'POST', '/api/session', { name: 'temp', password: 'correct horse battery' })).statusCode).toBe(401);
  });

  it('throttles password guessing per name after 10 failures', async () => {
    await addUser(db, { name: 'target', role: 'analyst', password: 'correct horse battery' }, 'test');
    for (let i = 0; i < 10; i++) expect((await call(null, 'POST', '/api/session', { name: 'target', password: `guess-number-${i}` })).statusCode).toBe(401);
    const r = await call(null, 'POST', '/api/session', { name: 'target', password: 'correct horse battery' });
    expect([r.statusCode, r.json().code]).toEqual([429, 'AUTH.THROTTLED']);
    expect((await call(null, 'POST', '/api/session', { name: 'nr', password: 'correct horse battery' })).statusCode).toBe(200);
  });

  it('refuses a short password with a code', async () => {
    await expect(addUser(db, { name: 'shorty', role: 'lead', password: 'short' })).rejects.toMatchObject({ code: 'USER.PASSWORD_TOO_SHORT' });
    expect((await db.query(`SELECT count(*)::int AS n FROM users WHERE name = 'shorty'`)).rows[0]).toEqual({ n: 0 });
  });
});

describe('who sees what (scope in SQL)', () => {
  it('a bureau sees the polygons it leads or co-handles, nothing else', async () => {
    expect(await codes('eco')).toEqual([P_ECO, P_REASSIGN].sort());
    expect(await codes('forest')).toEqual([P_FOR]);
    const nr = await codes('nr');
    expect(nr).toContain(P_ECO); // co-handler
    expect(nr).toContain(P_NR);
    expect(nr).not.toContain(P_FOR);
  });

  it('lead_bureau= narrows the list to what one bureau leads, never past the scope', async () => {
    const nr = await codes('nr');
    const led = await codes('nr', '?lead_bureau=natural_resources');
    expect(led).toContain(P_NR);
    expect(led).not.toContain(P_ECO); // co-handled, not led
    expect(led.length).toBe(nr.length - 1);
    expect(await codes('nr', '?lead_bureau=ecology_environment')).toEqual([P_ECO]);
    expect(await codes('chief', '?lead_bureau=forestry')).toEqual([P_FOR]);
    expect(await codes('forest', '?lead_bureau=ecology_environment')).toEqual([]);
    expect((await call('nr', 'GET', '/api/polygons?lead_bureau=nobody')).statusCode).toBe(400);
  });

  it("another bureau's polygon is 404 in the card, the map layer, the chips and every action, never its data", async () => {
    const card = await call('forest', 'GET', `/api/polygons/${P_ECO}`);
    expect(card.statusCode).toBe(404);
    expect(card.json().code).toBe('POLYGON.NOT_FOUND');
    expect(card.body).not.toContain('ecology_environment');
    const map = await call('forest', 'GET', '/api/polygons.geojson?bbox=116.9,36.5,117.2,36.7');
    expect((map.json() as FeatureCollection).features.map((f) => f.id)).toEqual([P_FOR]);
    expect((await call('forest', 'GET', `/api/polygons/${P_ECO}/chips/after.png`)).statusCode).toBe(404);
    for (const a of ['accept', 'notes']) {
      const r = await call('forest', 'POST', `/api/polygons/${P_ECO}/${a}`, a === 'notes' ? { text: 'x' } : {});
      expect(r.statusCode, a).toBe(404);
    }
    expect(await status(P_ECO)).toBe('issued');
  });

  it('a district sees its own district only; the lead and analysts see all; admin sees no polygons', async () => {
    const d102 = await codes('d102');
    expect(d102).toContain(P_ECO);
    expect(d102).not.toContain(P_FOR);
    expect(await codes('d103')).toEqual([P_FOR]);
    expect((await codes('chief')).length).toBeGreaterThanOrEqual(9);
    expect((await codes('ana')).length).toBeGreaterThanOrEqual(9);
    const admin = await call('root', 'GET', '/api/polygons');
    expect(admin.statusCode).toBe(403);
    expect((await call('root', 'GET', '/api/users')).json().map((u: { name: string }) => u.name)).toContain('nr');
    expect((await call('nr', 'GET', '/api/users')).statusCode).toBe(403);
  });

  it('a co-handler cannot record the verdict but adds notes; analysts and districts cannot act', async () => {
    const v = await call('nr', 'POST', `/api/polygons/${P_ECO}/verdict`, { verdict: 'other', situation: 'false_change', reason: '云影' });
    expect(v.statusCode).toBe(403);
    expect(v.json().code).toBe('CASE.NOT_LEAD');
    expect((await call('nr', 'POST', `/api/polygons/${P_ECO}/accept`, {})).json().code).toBe('CASE.NOT_LEAD');
    expect((await call('nr', 'POST', `/api/polygons/${P_ECO}/notes`, { text: '协办: 已到现场' })).statusCode).toBe(200);
    expect((await call('ana', 'POST', `/api/polygons/${P_ECO}/accept`, {})).statusCode).toBe(403);
    expect((await call('d102', 'POST', `/api/polygons/${P_ECO}/accept`, {})).statusCode).toBe(403);
    expect(await status(P_ECO)).toBe('issued');
  });
});

describe('state machine', () => {
  it('walks issued → accepted → verified(illegal) → rectifying → closed → reviewed, refusing every wrong step with 409', async () => {
    const go = (user: string, action: string, body: unknown = {}) => call(user, 'POST', `/api/polygons/${P_NR}/${action}`, body);
    const illegal = { verdict: 'illegal', violation_type: 'illegal_occupation', violation_subtype: 'built_before_approval', party: '某公司' };
    const refused = async (user: string, action: string, body: unknown, code: string) => {
      const r = await go(user, action, body);
      expect(r.statusCode, `${action}: ${r.body}`).toBe(409);
      expect(r.json().code).toBe(code);
    };
    await refused('nr', 'verdict', illegal, 'CASE.BAD_STATE');
    await refused('nr', 'close', { reason: 'x' }, 'CASE.BAD_STATE');
    await refused('nr', 'rectification', { method: 'demolish_restore', progress: 10 }, 'CASE.BAD_STATE');
    await refused('chief', 'review', { approve: true }, 'CASE.BAD_STATE');
    expect((await go('nr', 'accept')).json().case.status).toBe('accepted');
    await refused('nr', 'accept', {}, 'CASE.BAD_STATE');
    // 巡查首次发现时间 is a day already past (the app's today is 2026-11-03).
    const future = await go('nr', 'verdict', { ...illegal, patrol_found_on: '2026-11-04' });
    expect([future.statusCode, future.json().code]).toEqual([400, 'VALIDATION']);
    const v = await go('nr', 'verdict', { ...illegal, patrol_found_on: '2026-10-20' });
    expect(v.statusCode, v.body).toBe(200);
    expect(v.json().case.verdict_details.patrol_found_on).toBe('2026-10-20');
    expect(v.json().case).toMatchObject({ status: 'verified', verdict: 'illegal', due_rule: 'rectification' });
    await refused('nr', 'close', { reason: '未整改' }, 'CASE.VERDICT_MISMATCH');
    expect((await go('nr', 'rectification', { method: 'demolish_restore', progress: 50, case_filed: true, party_official: true, penalty_decided_on: '2026-11-03' })).json().case).toMatchObject({
      status: 'rectifying',
      rectification: { progress: 50, files_due: '2026-12-03' },
    });
    // 不予立案 carries its 不予立案说明; a reason beside a filed case is refused, and filing later drops it.
    const reasonWhenFiled = await go('nr', 'rectification', { method: 'demolish_restore', progress: 50, case_filed: true, not_filed_reason: '超过追诉时效' });
    expect([reasonWhenFiled.statusCode, reasonWhenFiled.json().code]).toEqual([400, 'VALIDATION']);
    expect((await go('nr', 'rectification', { method: 'demolish_restore', progress: 50, case_filed: false, not_filed_reason: '超过追诉时效' })).json().case.rectification).toMatchObject({
      case_filed: false,
      not_filed_reason: '超过追诉时效',
    });
    const filedAfterAll = (await go('nr', 'rectification', { method: 'demolish_restore', progress: 50, case_filed: true })).json().case.rectification;
    expect([filedAfterAll.case_filed, 'not_filed_reason' in filedAfterAll, filedAfterAll.files_due]).toEqual([true, false, '2026-12-03']);
    await refused('nr', 'close', { reason: '已拆除' }, 'CASE.BAD_STATE');
    await refused('nr', 'request-reassignment', { reason: '不是我们的' }, 'CASE.BAD_STATE');
    await go('nr', 'rectification', { method: 'demolish_restore', progress: 100 });
    // 销号 needs 是否整改落实到位=是 and, for a filed case (立案), 是否处罚到位=是 (state_machine.yaml RECTIFIED → CLOSED_CANCELLED).
    await refused('nr', 'close', { reason: '已拆除', rectified: false }, 'CASE.BAD_STATE');
    await refused('nr', 'close', { reason: '已拆除复耕', rectified: true, penalty_done: false }, 'CASE.BAD_STATE');
    expect((await go('nr', 'close', { reason: '已拆除复耕', rectified: true, penalty_done: true })).json().case.status).toBe('closed');
    expect((await go('nr', 'review', { approve: true })).statusCode).toBe(403);
    expect((await go('chief', 'review', { approve: false, comment: '照片不清楚' })).json().case.status).toBe('rectifying');
    await go('nr', 'close', { reason: '补充照片' });
    expect((await go('chief', 'review', { approve: true })).json().case.status).toBe('reviewed');
    await refused('nr', 'rectification', { method: 'fine', progress: 100 }, 'CASE.BAD_STATE');
    expect((await go('nr', 'notes', { text: '归档' })).statusCode).toBe(200);
    expect((await call('nr', 'GET', `/api/polygons/${P_NR}`)).json().properties).toMatchObject({ status: 'reviewed', verdict: 'illegal', due_date: null, overdue: false });
  });

  it('legal needs the approval number, other needs a reason; neither is rectified', async () => {
    await call('nr', 'POST', `/api/polygons/${P_LEGAL}/accept`, {});
    const noDoc = await call('nr', 'POST', `/api/polygons/${P_LEGAL}/verdict`, { verdict: 'legal' });
    expect(noDoc.statusCode).toBe(400);
    expect(noDoc.json().code).toBe('VALIDATION');
    expect(noDoc.json().message).toContain('approval_doc_no');
    const badType = await call('nr', 'POST', `/api/polygons/${P_LEGAL}/verdict`, { verdict: 'illegal', violation_type: 'jaywalking' });
    expect(badType.json().code).toBe('VALIDATION');
    const ok = await call('nr', 'POST', `/api/polygons/${P_LEGAL}/verdict`, { verdict: 'legal', approval_doc_no: '济自然规划批〔2026〕12号' });
    expect(ok.json().case).toMatchObject({ status: 'verified', verdict: 'legal', verdict_details: { approval_doc_no: '济自然规划批〔2026〕12号' } });
    const rect = await call('nr', 'POST', `/api/polygons/${P_LEGAL}/rectification`, { method: 'fine', progress: 100 });
    expect(rect.json().code).toBe('CASE.VERDICT_MISMATCH');
    expect((await call('nr', 'POST', `/api/polygons/${P_LEGAL}/close`, { reason: '合法用地' })).json().case.status).toBe('closed');
  });

  it('two accepts at once: one wins, the other is refused with 409 (the case row is locked)', async () => {
    const token = await t.token('nr');
    const rs = await Promise.all(
      [0, 1].map(() => t.app.inject({ method: 'POST', url: `/api/polygons/${P_RACE}/accept`, headers: { authorization: `Bearer ${token}` }, payload: {} })),
    );
    expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    const n = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE code = $1 AND action = 'accept'`, [P_RACE]);
    expect(n.rows[0].n).toBe(1);
  });

  it('reassignment goes through the lead bureau, and the polygon moves scope with it', async () => {
    const req = await call('eco', 'POST', `/api/polygons/${P_REASSIGN}/request-reassignment`, { reason: '位于林地', suggested_bureau: 'forestry' });
    expect(req.json().case.status).toBe('reassignment_requested');
    expect((await call('eco', 'POST', `/api/polygons/${P_REASSIGN}/accept`, {})).statusCode).toBe(409);
    expect((await call('eco', 'POST', `/api/polygons/${P_REASSIGN}/reassign`, { lead_bureau: 'forestry', reason: 'x' })).statusCode).toBe(403);
    const r = await call('chief', 'POST', `/api/polygons/${P_REASSIGN}/reassign`, { lead_bureau: 'forestry', co_bureaus: ['ecology_environment'], reason: '林地为主' });
    expect(r.json().case).toMatchObject({ status: 'issued', lead_bureau: 'forestry', co_bureaus: ['ecology_environment'] });
    expect(await codes('forest')).toContain(P_REASSIGN);
    expect((await call('forest', 'POST', `/api/polygons/${P_REASSIGN}/accept`, {})).json().case.status).toBe('accepted');
    expect((await call('eco', 'POST', `/api/polygons/${P_REASSIGN}/verdict`, { verdict: 'other', situation: 'seasonal', reason: 'x' })).json().code).toBe('CASE.NOT_LEAD');
  });
});

describe('split into parcels', () => {
  it('refuses a parcel outside the polygon and writes nothing', async () => {
    await call('nr', 'POST', `/api/polygons/${P_SPLIT}/accept`, {});
    const r = await call('nr', 'POST', `/api/polygons/${P_SPLIT}/split`, { parcels: [square(117.04, 36.6, 0.0005), square(117.0405, 36.6, 0.001)] });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('SPLIT.OUTSIDE');
    expect((await db.query(`SELECT count(*)::int AS n FROM parcels WHERE code = $1`, [P_SPLIT])).rows[0]).toEqual({ n: 0 });
    const overlap = await call('nr', 'POST', `/api/polygons/${P_SPLIT}/split`, { parcels: [square(117.04, 36.6, 0.0006), square(117.0404, 36.6004, 0.0006)] });
    expect(overlap.json().code).toBe('SPLIT.OVERLAP');
  });

  it('splits into halves with areas in m² and 亩, then judges each parcel', async () => {
    const west = { type: 'Polygon', coordinates: [[[117.04, 36.6], [117.0405, 36.6], [117.0405, 36.601], [117.04, 36.601], [117.04, 36.6]]] };
    const east = { type: 'Polygon', coordinates: [[[117.0405, 36.6], [117.041, 36.6], [117.041, 36.601], [117.0405, 36.601], [117.0405, 36.6]]] };
    const r = await call('nr', 'POST', `/api/polygons/${P_SPLIT}/split`, { parcels: [west, east] });
    expect(r.statusCode, r.body).toBe(200);
    const parcels = r.json().result as { idx: number; area_m2: number; area_mu: number }[];
    const whole = (await db.query<{ a: number }>(`SELECT ST_Area(geom::geography) AS a FROM polygons WHERE code = $1`, [P_SPLIT])).rows[0].a;
    expect(parcels[0].area_m2 + parcels[1].area_m2).toBeCloseTo(whole, 0);
    expect(parcels[0].area_m2).toBeGreaterThan(4000); // 0.0005° × 0.001° at 36.6° N ≈ 4.97e3 m²
    expect(parcels[0].area_mu).toBeCloseTo(parcels[0].area_m2 / (10000 / 15), 3);
    expect((await call('nr', 'POST', `/api/polygons/${P_SPLIT}/verdict`, { verdict: 'other', situation: 'false_change', reason: '阴影' })).json().code).toBe('CASE.SPLIT');
    expect((await call('nr', 'POST', `/api/polygons/${P_SPLIT}/verdict`, { verdict: 'other', situation: 'false_change', reason: '阴影', parcel: 7 })).json().code).toBe('PARCEL.NOT_FOUND');
    const one = await call('nr', 'POST', `/api/polygons/${P_SPLIT}/verdict`, { verdict: 'legal', approval_doc_no: 'A-1', parcel: 1 });
    expect(one.json().case.status).toBe('accepted');
    const two = await call('nr', 'POST', `/api/polygons/${P_SPLIT}/verdict`, { verdict: 'illegal', violation_type: 'rural_housing', parcel: 2 });
    expect(two.json().case).toMatchObject({ status: 'verified', verdict: 'illegal' });
    const card = (await call('nr', 'GET', `/api/polygons/${P_SPLIT}`)).json();
    expect(card.parcels.map((p: { verdict: string }) => p.verdict)).toEqual(['legal', 'illegal']);
  });
});

describe('evidence', () => {
  it('stores a photo by content hash with its EXIF time, position and azimuth; co-handlers may upload', async () => {
    const jpg = jpegWithExif({ taken: '2026:11:05 09:12:30', lat: 36.6005, lon: 117.0005, azimuth: 90 });
    const r = await t.app.inject({
      method: 'POST',
      url: `/api/polygons/${P_ECO}/evidence?name=${encodeURIComponent('现场 东侧.jpg')}&note=east`,
      headers: { authorization: `Bearer ${await t.token('nr')}`, 'content-type': 'image/jpeg' },
      payload: jpg,
    });
    expect(r.statusCode, r.body).toBe(200);
    const e = r.json().result;
    expect(e).toMatchObject({ file_name: '现场 东侧.jpg', mime: 'image/jpeg', exif: { taken_at: '2026-11-05T09:12:30', azimuth: 90 } });
    expect(e.exif.lat).toBeCloseTo(36.6005, 5);
    const files = await readdir(join(t.dataDir, 'evidence', e.sha256.slice(0, 2)));
    expect(files).toEqual([e.sha256]);
    const back = await call('eco', 'GET', `/api/polygons/${P_ECO}/evidence/${e.id}`);
    expect(back.statusCode).toBe(200);
    expect(Buffer.compare(back.rawPayload, jpg)).toBe(0);
    // A photo opens from its thumbnail; anything else is saved, never rendered under this origin.
    expect(back.headers['content-disposition']).toMatch(/^inline; filename\*=UTF-8''/);
    expect((await call('forest', 'GET', `/api/polygons/${P_ECO}/evidence/${e.id}`)).statusCode).toBe(404);
  });

  it('refuses a non-image, an oversized file and a path-traversal name with codes, writing nothing', async () => {
    const before = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence')).rows[0].n;
    const auth = { authorization: `Bearer ${await t.token('eco')}` };
    const up = (name: string, type: string, payload: Buffer) =>
      t.app.inject({ method: 'POST', url: `/api/polygons/${P_ECO}/evidence?name=${encodeURIComponent(name)}`, headers: { ...auth, 'content-type': type }, payload });
    const text = await up('notes.jpg', 'image/jpeg', Buffer.from('just some text, not a photo'));
    expect([text.statusCode, text.json().code]).toEqual([415, 'EVIDENCE.BAD_TYPE']);
    const html = await up('x.html', 'text/html', Buffer.from('<html>'));
    expect([html.statusCode, html.json().code]).toEqual([415, 'EVIDENCE.BAD_TYPE']);
    const big = Buffer.concat([jpegWithExif({ taken: '2026:11:05 09:12:30', lat: 36, lon: 117, azimuth: 1 }), Buffer.alloc(70 * 1024)]);
    const large = await up('big.jpg', 'image/jpeg', big);
    expect([large.statusCode, large.json().code]).toEqual([413, 'EVIDENCE.TOO_LARGE']);
    const trav = await up('../../../etc/cron.d/x.jpg', 'image/jpeg', jpegWithExif({ taken: '2026:11:05 09:12:31', lat: 36, lon: 117, azimuth: 1 }));
    expect([trav.statusCode, trav.json().code]).toEqual([400, 'EVIDENCE.BAD_NAME']);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence')).rows[0].n).toBe(before);
    const dirs = await readdir(join(t.dataDir, 'evidence'));
    expect(dirs.length).toBe(1); // only the photo of the previous test
  });

  it('serves a document as a download, never rendered under the server origin', async () => {
    const pdf = await t.app.inject({
      method: 'POST',
      url: `/api/polygons/${P_ECO}/evidence?name=${encodeURIComponent('笔录.pdf')}`,
      headers: { authorization: `Bearer ${await t.token('nr')}`, 'content-type': 'application/pdf' },
      payload: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'),
    });
    expect(pdf.statusCode, pdf.body).toBe(200);
    const pdfBack = await call('eco', 'GET', `/api/polygons/${P_ECO}/evidence/${pdf.json().result.id}`);
    expect([pdfBack.headers['content-type'], pdfBack.headers['content-disposition']]).toEqual(['application/pdf', expect.stringMatching(/^attachment; /)]);
  });
});

describe('bad input', () => {
  it('malformed JSON, unknown code, bad cursor, bad bbox, unknown fields: clear 4xx with a code', async () => {
    const auth = { authorization: `Bearer ${await t.token('eco')}`, 'content-type': 'application/json' };
    const mal = await t.app.inject({ method: 'POST', url: `/api/polygons/${P_ECO}/notes`, headers: auth, payload: '{"text": "unterminated' });
    expect([mal.statusCode, mal.json().code]).toEqual([400, 'BODY.MALFORMED']);
    const unknown = await call('eco', 'GET', '/api/polygons/370102-202610-9999');
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'POLYGON.NOT_FOUND']);
    const badCode = await call('eco', 'GET', '/api/polygons/..%2F..%2Fetc');
    expect(badCode.statusCode).toBe(400);
    expect((await call('eco', 'GET', '/api/polygons?cursor=!!!')).json().code).toBe('CURSOR.INVALID');
    expect((await call('eco', 'GET', '/api/polygons?bbox=2,2,1,1')).json().code).toBe('VALIDATION');
    expect((await call('eco', 'GET', '/api/polygons?limit=10001')).json().code).toBe('VALIDATION');
    const extra = await call('eco', 'POST', `/api/polygons/${P_ECO}/notes`, { text: 'x', status: 'reviewed' });
    expect([extra.statusCode, extra.json().code]).toEqual([400, 'VALIDATION']);
    expect(await status(P_ECO)).toBe('issued');
  });
});

describe('listing, paging and counts', () => {
  it('pages by keyset cursor with the batch properties plus the workflow ones', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await call('chief', 'GET', `/api/polygons?epoch=2026-10&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      const fc = r.json() as FeatureCollection & { next_cursor: string | null };
      expect(fc.features.length).toBeLessThanOrEqual(3);
      seen.push(...fc.features.map((f) => String(f.id)));
      cursor = fc.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(9);
    const one = (await call('chief', 'GET', `/api/polygons?limit=1&priority=high`)).json() as FeatureCollection;
    expect(one.features[0].properties).toMatchObject({
      code: P_ECO,
      epoch: '2026-10',
      district_code: '370102',
      lead_bureau: 'ecology_environment',
      lead_bureau_name: '生态环境局',
      co_bureaus: ['natural_resources', 'township'],
      priority: 'high',
      area_m2: 9000,
      change_class: 'JZ',
      overlaps: { drinking_water_source: { m2: 5670, share: 0.63 } },
      detector_version: '1.0.0',
      status: 'issued',
      verdict: null,
      due_date: '2026-11-30',
      overdue: false,
    });
  });

  it('sends the page and the map layer as the document listPolygons builds, with their content types', async () => {
    const user = { name: 'chief', role: 'lead' as const, bureau: null, district: null };
    const today = ((await call('chief', 'POST', '/api/sweep')).json() as { today: string }).today;
    const name = { ecology_environment: '生态环境局' };
    for (const [url, filter, type] of [
      ['/api/polygons?limit=4', { limit: 4 }, 'application/json; charset=utf-8'],
      ['/api/polygons.geojson?bbox=116.9,36.5,117.2,36.7&limit=100', { limit: 100, bbox: '116.9,36.5,117.2,36.7' }, 'application/geo+json; charset=utf-8'],
    ] as const) {
      const r = await call('chief', 'GET', url);
      expect([r.statusCode, r.headers['content-type']]).toEqual([200, type]);
      const expected = await listPolygons(db, user, filter, today, name);
      expect(expected.features.length).toBeGreaterThan(0);
      const got = r.json() as typeof expected;
      // Names of bureaus other than the one mapped above come from the rule table: compare the rest.
      for (const f of [...got.features, ...expected.features]) delete (f.properties as Record<string, unknown>).lead_bureau_name;
      expect(got).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(Object.keys(got)).toEqual(['type', 'features', 'count', 'next_cursor']);
      expect(Object.keys(got.features[0])).toEqual(['type', 'id', 'geometry', 'properties']);
    }
  });

  it('filters by status and bbox and counts the inbox', async () => {
    expect(await codes('chief', '?status=reviewed')).toEqual([P_NR]);
    expect(await codes('chief', '?bbox=117.015,36.59,117.025,36.61')).toEqual([P_FOR]);
    const counts = (await call('nr', 'GET', '/api/inbox/counts')).json();
    expect(counts.by_status.reviewed).toBe(1);
    expect(counts.total).toBe((await codes('nr')).length);
  });
});

describe('deadlines and escalation', () => {
  it('runs 15 working days from an illegal verdict across 国庆 and the make-up Saturday, then escalates once when passed', async () => {
    t.setToday('2026-09-24');
    await call('nr', 'POST', `/api/polygons/${P_DEADLINE}/accept`, {});
    const v = await call('nr', 'POST', `/api/polygons/${P_DEADLINE}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    expect(v.json().case).toMatchObject({ due_rule: 'rectification', due_date: '2026-10-22' });
    t.setToday('2026-10-22');
    expect((await call('chief', 'GET', `/api/polygons/${P_DEADLINE}`)).json().properties.overdue).toBe(false);
    t.setToday('2026-10-23');
    const card = (await call('chief', 'GET', `/api/polygons/${P_DEADLINE}`)).json();
    expect(card.properties.overdue).toBe(true);
    expect(card.escalations).toMatchObject([{ kind: 'overdue', rule: 'rectification', level: 1, due_date: '2026-10-22' }]);
    await call('chief', 'POST', '/api/sweep', {});
    await call('chief', 'POST', '/api/sweep', {});
    expect((await call('chief', 'GET', `/api/polygons/${P_DEADLINE}`)).json().escalations.length).toBe(1);
    expect(await codes('chief', '?overdue=true')).toContain(P_DEADLINE);
    expect((await call('nr', 'GET', '/api/inbox/counts')).json().overdue).toBeGreaterThanOrEqual(1);
    const esc = await call('chief', 'POST', `/api/polygons/${P_DEADLINE}/escalate`, { reason: '逾期未整改, 移交纪委监委' });
    expect(esc.json().result).toMatchObject({ level: 2, handover_due: '2026-11-07' });
    expect((await call('nr', 'POST', `/api/polygons/${P_DEADLINE}/escalate`, { reason: 'x' })).statusCode).toBe(403);
    t.setToday('2026-11-03');
  });

  it('records a handover once done (移送): the lead role only, not in the future; the ledger says 是 only then', async () => {
    const ledgerCell = async () => {
      const wf = await loadWorkflowLedger(db, '2026-10', [P_DEADLINE], '2026-11-03');
      return dispositionCells(wf.dispositions.find((d) => d.code === P_DEADLINE)!);
    };
    // Escalated, the hand-over due by 2026-11-07: not handed over yet.
    expect((await ledgerCell()).是否移送纪委监委).toBe('否');
    expect((await call('nr', 'POST', `/api/polygons/${P_DEADLINE}/hand-over`, { to: 'discipline' })).statusCode).toBe(403);
    const future = await call('chief', 'POST', `/api/polygons/${P_DEADLINE}/hand-over`, { to: 'discipline', handed_on: '2026-11-04' });
    expect([future.statusCode, future.json().code]).toEqual([400, 'VALIDATION']);
    expect((await call('chief', 'POST', `/api/polygons/${P_DEADLINE}/hand-over`, { to: 'court' })).statusCode).toBe(400);
    const early = await call('chief', 'POST', `/api/polygons/${P_DEADLINE}/hand-over`, { to: 'discipline', handed_on: '2025-11-02' });
    expect([early.statusCode, early.json().code, early.json().message]).toEqual([400, 'VALIDATION', expect.stringMatching(/before the case was issued/)]);
    const done = await call('chief', 'POST', `/api/polygons/${P_DEADLINE}/hand-over`, { to: 'discipline', handed_on: '2026-11-02', reference: '济自然资移〔2026〕3号' });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().result).toMatchObject({ to: 'discipline', handed_on: '2026-11-02' });
    const card = (await call('chief', 'GET', `/api/polygons/${P_DEADLINE}`)).json();
    expect(card.handovers).toMatchObject([{ to: 'discipline', handed_on: '2026-11-02', reference: '济自然资移〔2026〕3号', created_by: 'chief' }]);
    expect(card.history.at(-1)).toMatchObject({ actor: 'chief', action: 'hand_over' });
    const cells = await ledgerCell();
    expect([cells.是否移送纪委监委, cells.备注]).toEqual(['是', '移送纪委监委 2026-11-02（济自然资移〔2026〕3号）']);
  });

  it('a site that reappears grown in later batches climbs the construction-stage ladder', async () => {
    const grown1 = polygon('370102-202611-0001', '2026-11', square(117.01, 36.6, 0.0012), { areaM2: 12000, previousCode: P_NR });
    await writeBatch(db, 'b-2026-11', '2026-11', [grown1], '2026-12-01');
    const grown2 = polygon('370102-202612-0001', '2026-12', square(117.01, 36.6, 0.0015), { areaM2: 20000, previousCode: grown1.code });
    await writeBatch(db, 'b-2026-12', '2026-12', [grown2], '2027-01-04');
    await call('chief', 'POST', '/api/sweep', {});
    const stages = await db.query<{ code: string; level: number }>(`SELECT code, level FROM escalations WHERE kind = 'construction_stage' ORDER BY code`);
    // grown1 continues a reviewed site: issued. grown2 continues grown1, whose case is open: merged
    // into it, and the stage it reached is escalated on grown1's case too (site-merge.test.ts).
    expect(stages.rows).toEqual([
      { code: grown1.code, level: 2 },
      { code: grown1.code, level: 3 },
      { code: grown2.code, level: 3 },
    ]);
    const card = (await call('nr', 'GET', `/api/polygons/${grown2.code}`)).json();
    expect(card.case).toMatchObject({ status: 'merged', merged_into: grown1.code, escalation_level: 3 });
    expect(card.escalations[0].reason).toContain(grown1.code);
    expect((await call('nr', 'GET', `/api/polygons/${grown1.code}`)).json().case.escalation_level).toBe(3);
  });

});

describe('clues from other sources', () => {
  it('a district user adds a point clue in its district; it follows the same workflow', async () => {
    const r = await call('d102', 'POST', '/api/clues', { source: 'hotline', district_code: '370102', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: '12345 举报: 夜间施工' });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().code).toBe('370102-202611-X0001');
    const other = await call('d102', 'POST', '/api/clues', { source: 'patrol', district_code: '370103', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: 'x' });
    expect([other.statusCode, other.json().code]).toEqual([403, 'CLUE.OUT_OF_SCOPE']);
    expect((await call('ana', 'POST', '/api/clues', { source: 'patrol', district_code: '370102', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: 'x' })).statusCode).toBe(403);
    expect(await codes('d102')).toContain('370102-202611-X0001');
    expect(await codes('forest')).not.toContain('370102-202611-X0001');
    const acc = await call('nr', 'POST', '/api/polygons/370102-202611-X0001/accept', {});
    expect(acc.json().case).toMatchObject({ status: 'accepted', source: 'hotline' });
    const card = (await call('d102', 'GET', '/api/polygons/370102-202611-X0001')).json();
    expect(card.geometry.type).toBe('Point');
    expect(card.history.map((h: { action: string }) => h.action)).toEqual(['clue.add', 'accept']);
  });

  it('a bureau adds a polygon clue (its own bureau leads it, area from PostGIS); a self-crossing outline is refused', async () => {
    const r = await call('eco', 'POST', '/api/clues', { source: 'patrol', district_code: '370103', geometry: square(117.2, 36.7, 0.001), description: '巡查: 河道旁堆土' });
    expect(r.statusCode, r.body).toBe(201);
    const card = (await call('eco', 'GET', `/api/polygons/${r.json().code}`)).json();
    expect(card.case.lead_bureau).toBe('ecology_environment');
    expect(card.properties.area_m2).toBeGreaterThan(9000);
    expect(card.properties.area_m2).toBeLessThan(10500); // 0.001° × 0.001° at 36.7° N ≈ 9.9e3 m²
    const bowtie = { type: 'Polygon', coordinates: [[[117.3, 36.7], [117.301, 36.701], [117.301, 36.7], [117.3, 36.701], [117.3, 36.7]]] };
    const bad = await call('eco', 'POST', '/api/clues', { source: 'patrol', district_code: '370103', geometry: bowtie, description: 'x' });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION']);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM clues WHERE district_code = '370103'`)).rows[0].n).toBe(1);
  });
});

describe('audit log', () => {
  it('records who, what, before → after for every change, shown on the card', async () => {
    const card = (await call('nr', 'GET', `/api/polygons/${P_NR}`)).json();
    const actions = card.history.map((h: { action: string; actor: string }) => `${h.actor}:${h.action}`);
    expect(actions).toEqual([
      'nr:accept',
      'nr:verdict',
      'nr:rectification',
      'nr:rectification', // 不予立案
      'nr:rectification', // filed after all
      'nr:rectification',
      'nr:close',
      'chief:review',
      'nr:close',
      'chief:review',
      'nr:notes',
    ].map((a) => a.replace('notes', 'note')));
    expect(card.history[0]).toMatchObject({ before: { status: 'issued' }, after: { status: 'accepted' } });
    expect(card.history[1].after).toMatchObject({ status: 'verified', verdict: 'illegal', violation_type: 'illegal_occupation' });
    // Refused actions leave no trace.
    expect(card.history.length).toBe(11);
  });

  it('records account changes too', async () => {
    const r = await db.query<{ actor: string; action: string; name: string }>(`SELECT actor, action, after->>'name' AS name FROM audit_log WHERE action LIKE 'user.%' ORDER BY id`);
    expect(r.rows.slice(0, 2)).toEqual([
      { actor: 'test', action: 'user.add', name: 'ana' },
      { actor: 'test', action: 'user.add', name: 'nr' },
    ]);
    expect(JSON.stringify(r.rows)).not.toContain('scrypt$');
  });

  it('is append-only in the database: UPDATE, DELETE and TRUNCATE fail', async () => {
    await expect(db.query(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE actor = 'someone else'`)).rows[0].n).toBe(0);
  });
});

describe('batch re-run', () => {
  it('keeps verdicts and history by code, and flags a polygon whose geometry changed for review', async () => {
    await call('nr', 'POST', `/api/polygons/${P_RERUN}/accept`, {});
    await call('nr', 'POST', `/api/polygons/${P_RERUN}/verdict`, { verdict: 'other', situation: 'seasonal', reason: '大棚' });
    // The batch re-run replaces its rows (delete + insert, as finalise-batch does): same codes,
    // one outline changed.
    const rerun = batch1().map((p) => (p.code === P_RERUN ? { ...p, geometry: square(117.07, 36.6, 0.0011) } : p));
    await replaceBatchPolygons(db, 'b-2026-10', rerun);
    await call('chief', 'POST', '/api/sweep', {});
    const card = (await call('nr', 'GET', `/api/polygons/${P_RERUN}`)).json();
    expect(card.case).toMatchObject({ status: 'verified', verdict: 'other', geometry_changed: true });
    expect(card.history.map((h: { action: string }) => h.action)).toEqual(['accept', 'verdict', 'geometry.changed']);
    const kept = (await call('nr', 'GET', `/api/polygons/${P_NR}`)).json();
    expect(kept.case).toMatchObject({ status: 'reviewed', verdict: 'illegal', geometry_changed: false });
    expect((await call('chief', 'GET', '/api/inbox/counts')).json().geometry_changed).toBe(1);
    // A second re-run no longer finds P_LEGAL: its case stays (closed, legal, history) and is flagged.
    await replaceBatchPolygons(db, 'b-2026-10', rerun.filter((p) => p.code !== P_LEGAL));
    await call('chief', 'POST', '/api/sweep', {});
    const gone = await call('nr', 'GET', `/api/polygons/${P_LEGAL}`);
    expect(gone.statusCode, gone.body).toBe(200);
    expect(gone.json().geometry).toBeNull();
    expect(gone.json().case).toMatchObject({ status: 'closed', verdict: 'legal', geometry_changed: true });
    expect(gone.json().history.map((h: { action: string }) => h.action).slice(-1)).toEqual(['polygon.vanished']);
    expect(await codes('nr')).not.toContain(P_LEGAL);
    await replaceBatchPolygons(db, 'b-2026-10', rerun);
    expect((await call('chief', 'GET', '/api/inbox/counts')).json().geometry_changed).toBe(2);
    const ok = await call('chief', 'POST', `/api/polygons/${P_RERUN}/confirm-geometry`, { comment: '边界微调, 判定不变' });
    expect(ok.json().case.geometry_changed).toBe(false);
    await call('chief', 'POST', '/api/sweep', {});
    expect((await call('chief', 'GET', `/api/polygons/${P_RERUN}`)).json().case.geometry_changed).toBe(false);
  });
});

describe('the page and the chips seam', () => {
  it('serves web/ at / and nothing outside it; chips come from the imagery module, within scope', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const web = join(t.dataDir, 'web');
    await mkdir(web, { recursive: true });
    await writeFile(join(web, 'index.html'), '<!doctype html><title>图斑</title>');
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const asked: string[] = [];
    const page = await testApp(db, {
      webDir: web,
      chips: async (feature, which) => {
        asked.push(`${feature.id}:${which}`);
        return { png, date: which === 'before' ? '2026-09-03' : '2026-10-05' };
      },
    });
    try {
      // The chips seam: the imagery module is asked only for polygons the user may see.
      const token = (await page.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'eco', password: 'correct horse battery' } })).json().token;
      const chip = await page.app.inject({ method: 'GET', url: `/api/polygons/${P_ECO}/chips/before.png`, headers: { authorization: `Bearer ${token}` } });
      expect([chip.statusCode, chip.headers['content-type'], chip.headers['x-sensor-date']]).toEqual([200, 'image/png', '2026-09-03']);
      expect(Buffer.compare(chip.rawPayload, png)).toBe(0);
      expect((await page.app.inject({ method: 'GET', url: `/api/polygons/${P_FOR}/chips/after.png`, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(404);
      expect((await page.app.inject({ method: 'GET', url: `/api/polygons/${P_ECO}/chips/side.png`, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(400);
      expect(asked).toEqual([`${P_ECO}:before`]);
      const r = await page.app.inject({ method: 'GET', url: '/' });
      expect([r.statusCode, r.headers['content-type'], r.body]).toEqual([200, 'text/html; charset=utf-8', '<!doctype html><title>图斑</title>']);
      for (const url of ['/../secret', '/%2e%2e/%2e%2e/etc/passwd', '/nope.js']) expect((await page.app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
      expect((await page.app.inject({ method: 'GET', url: '/api/whatever' })).statusCode).toBe(401);
    } finally {
      await page.app.close();
    }
  });
});

describe('OpenAPI', () => {
  it('is generated from the route schemas', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toBe('3.0.3');
    const verdict = doc.paths['/api/polygons/{code}/verdict'].post;
    const schema = JSON.stringify(verdict.requestBody.content['application/json'].schema);
    expect(schema).toContain('approval_doc_no');
    expect(schema).toContain('illegal_occupation');
    expect(doc.paths['/api/polygons'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['epoch', 'status', 'priority', 'overdue', 'bbox', 'district', 'limit', 'cursor']),
    );
    expect(doc.paths['/api/session'].post.security).toEqual([]);
  });

  it("lists the imagery plugin's routes, which it registers with handlers of its own", async () => {
    const imagery = createImageryService(db);
    const served = await testApp(db, { plugins: [imageryPlugin(imagery)] });
    try {
      const doc = (await served.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(doc.paths['/api/imagery/epochs'].get.tags).toEqual(['imagery']);
      const tile = doc.paths['/api/imagery/{epoch}/{side}/{z}/{x}/{file}'].get;
      expect(tile.parameters.map((p: { name: string }) => p.name)).toEqual(['epoch', 'side', 'z', 'x', 'file']);
      expect(Object.keys(tile.responses)).toEqual(expect.arrayContaining(['200', '204', '401']));
      // Registered too, not only listed: the anonymous get the API's 401.
      expect((await served.app.inject({ method: 'GET', url: '/api/imagery/epochs' })).statusCode).toBe(401);
    } finally {
      await served.app.close();
      await imagery.close();
    }
  });
});

// Last: it moves the clock to late December, past every other case's deadline.
describe('a deadline past the holiday calendar', () => {
  let clueCode = '';
  it("marks a working-day due date in a year whose holidays no calendar gave (2027 here): it counted weekends only", async () => {
    expect((await call('chief', 'GET', `/api/polygons/${P_DEADLINE}`)).json().case.due_holidays_unknown).toBeNull();
    t.setToday('2026-12-21');
    const clue = await call('d102', 'POST', '/api/clues', { source: 'patrol', district_code: '370102', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: '巡查: 年底新建' });
    expect(clue.statusCode, clue.body).toBe(201);
    const code = clue.json().code as string;
    expect((await call('nr', 'GET', `/api/polygons/${code}`)).json().case.due_holidays_unknown).toBeNull(); // 月清 needs no holidays
    await call('nr', 'POST', `/api/polygons/${code}/accept`, {});
    const v = await call('nr', 'POST', `/api/polygons/${code}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    expect(v.json().case.due_date).toMatch(/^2027-01-/);
    expect((await call('nr', 'GET', `/api/polygons/${code}`)).json().case).toMatchObject({ due_rule: 'rectification', due_holidays_unknown: 2027 });
    clueCode = code;
  });

  it('escalates a decided hand-over nobody recorded as done by its due date, once; one recorded in time is not', async () => {
    const esc = await call('chief', 'POST', `/api/polygons/${clueCode}/escalate`, { reason: '涉公职人员，移交纪委监委' });
    const due = esc.json().result.handover_due as string;
    expect(due).toBe('2027-01-05');
    t.setToday('2027-01-06');
    const handoverOverdue = async (c: string) =>
      (await call('chief', 'GET', `/api/polygons/${c}`)).json().escalations.filter((e: { kind: string; rule: string }) => e.kind === 'overdue' && e.rule === 'handover');
    const [late] = await handoverOverdue(clueCode);
    expect(late).toMatchObject({ due_date: due, created_by: 'system' });
    expect(late.level).toBeGreaterThan(esc.json().result.level);
    await call('chief', 'POST', '/api/sweep', {});
    expect(await handoverOverdue(clueCode)).toHaveLength(1);
    // Handed over on 2026-11-02, before its due date 2026-11-07: nothing to escalate.
    expect(await handoverOverdue(P_DEADLINE)).toEqual([]);
  });

  it("escalates once the case files of a penalty against an official are not with the commission 30 days after the decision; other parties' have no such clock", async () => {
    const rectify = (body: object) => call('nr', 'POST', `/api/polygons/${clueCode}/rectification`, { method: 'fine', progress: 10, ...body });
    const filesOverdue = async () =>
      (await call('chief', 'GET', `/api/polygons/${clueCode}`)).json().escalations.filter((e: { kind: string; rule: string }) => e.kind === 'overdue' && e.rule === 'penalty_files');
    // No official among the parties: a penalty decision starts no clock. (Decided on the clue's day, 21
    // December: not before anything was known of the site.)
    expect((await rectify({ party_official: false, penalty_decided_on: '2026-12-21' })).json().case.rectification.files_due).toBeUndefined();
    const official = (await rectify({ party_official: true })).json().case.rectification;
    expect([official.penalty_decided_on, official.files_due]).toEqual(['2026-12-21', '2027-01-20']);
    t.setToday('2027-01-21');
    await call('chief', 'POST', '/api/sweep', {});
    await call('chief', 'POST', '/api/sweep', {});
    expect((await filesOverdue()).map((e: { due_date: string }) => e.due_date)).toEqual(['2027-01-20']);
    // Handed to the commission after the decision: a later decision's clock is met by it.
    expect((await call('chief', 'POST', `/api/polygons/${clueCode}/hand-over`, { to: 'discipline', handed_on: '2027-01-21' })).statusCode).toBe(200);
    expect((await rectify({ penalty_decided_on: '2026-12-22' })).json().case.rectification.files_due).toBe('2027-01-21');
    await call('chief', 'POST', '/api/sweep', {});
    expect(await filesOverdue()).toHaveLength(1);
  });
});
