/**
 * The newer routes as an attacker with a valid account would try them (security audit 36): another
 * bureau's or district's polygon through the field file, the list view, urge, If-Match, evidence and
 * the imagery tiles; a reassigned case and a disabled account; and malformed paging, dates, ids and
 * tile coordinates, which must be a 400 with a clear message, never a 500 nor a partial write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { imageryPlugin } from './imagery-routes.js';
import { createImageryService, type ImageryService } from './imagery/imagery-service.js';
import { addUsers, openTestDatabase, PASSWORD, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

// OWN: natural resources leads, forestry co-handles (370102). SOLO: natural resources alone (370102).
// OTHER: water's, in 370112. MOVED: natural resources', reassigned to water during the tests.
const OWN = '370102-202610-0001';
const SOLO = '370102-202610-0002';
const OTHER = '370112-202610-0003';
const MOVED = '370102-202610-0004';
const MISSING = '370102-202610-0999';

let db: Database;
let t: TestApp;
let imagery: ImageryService;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(
    db,
    'b-2026-10',
    '2026-10',
    [
      polygon(OWN, '2026-10', square(117.0, 36.6), { coBureaus: ['forestry'] }),
      polygon(SOLO, '2026-10', square(117.01, 36.6)),
      polygon(OTHER, '2026-10', square(117.3, 36.9), { leadBureau: 'water', routingReason: '水务局的河道' }),
      polygon(MOVED, '2026-10', square(117.02, 36.6)),
    ],
    '2026-11-02',
  );
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['forest', 'bureau', 'forestry'],
    ['water', 'bureau', 'water'],
    ['d102', 'district', '370102'],
    ['chief', 'lead'],
    ['root', 'admin'],
  ]);
  imagery = createImageryService(db);
  t = await testApp(db, { plugins: [imageryPlugin(imagery)] });
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await imagery?.close();
  await db?.close();
});

const get = (user: string, url: string) => t.request(user, url);
const post = async (user: string, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${await t.token(user)}`, ...headers }, payload: payload as object });
const codesOf = (body: string) => [...body.matchAll(/3701\d\d-202610-\d{4}/g)].map((m) => m[0]);

describe("another bureau's polygon on the newer routes", () => {
  it('is not in the field file (KML) nor the list view of a bureau or a district', async () => {
    for (const [user, expected] of [
      ['nr', [OWN, SOLO, MOVED]],
      ['forest', [OWN]],
      ['d102', [OWN, SOLO, MOVED]],
      ['water', [OTHER]],
    ] as const) {
      const kml = await get(user, '/api/polygons.kml?epoch=2026-10');
      expect(kml.statusCode, kml.body).toBe(200);
      expect([...new Set(codesOf(kml.body))].sort(), `${user} KML`).toEqual([...expected].sort());
      // Asking for the other bureau's lead or district by filter narrows the caller's own scope only.
      const asked = await get(user, '/api/polygons.kml?epoch=2026-10&lead_bureau=water&district=370112');
      expect(codesOf(asked.body).every((c) => (expected as readonly string[]).includes(c)), `${user} KML filtered`).toBe(true);
      const list = (await get(user, '/api/polygons?epoch=2026-10&view=list&limit=10000')).json();
      expect(list.features.map((f: { id: string }) => f.id).sort(), `${user} list`).toEqual([...expected].sort());
    }
    expect((await get('forest', '/api/polygons.kml?epoch=2026-10')).body).not.toContain('水务局的河道');
  });

  it('answers 404 POLYGON.NOT_FOUND to urge, notes with a stale If-Match, evidence and chips, as a missing code does', async () => {
    // The case moves on (version 2), so a stale If-Match would be a 409 naming who changed it.
    expect((await post('water', `/api/polygons/${OTHER}/accept`, {})).statusCode).toBe(200);
    const answer = async (user: string, code: string, method: 'GET' | 'POST', path: string, payload?: object, headers?: Record<string, string>) => {
      const r = method === 'POST' ? await post(user, `/api/polygons/${code}${path}`, payload ?? {}, headers) : await get(user, `/api/polygons/${code}${path}`);
      return [r.statusCode, r.json().code, String(r.json().message).replace(code, 'X'), r.json().changed_by];
    };
    for (const user of ['nr', 'forest', 'd102']) {
      for (const [method, path, payload, headers] of [
        ['POST', '/urge', { comment: '请尽快' }],
        ['POST', '/notes', { text: '看看' }, { 'if-match': '"1"' }],
        ['POST', '/verdict', { verdict: 'other', situation: 'false_change', reason: 'x' }, { 'if-match': '"1"' }],
        ['GET', '/evidence/1'],
        ['GET', '/chips/after.png'],
        ['POST', '/split-preview', { lines: [{ type: 'LineString', coordinates: [[117.3, 36.9], [117.302, 36.902]] }] }],
      ] as const) {
        const seen = await answer(user, OTHER, method, path, payload, headers);
        expect(seen, `${user} ${method} ${path}`).toEqual(await answer(user, MISSING, method, path, payload, headers));
        // A district may not split at all: 403 before any lookup, for both codes alike.
        expect(seen[0], `${user} ${method} ${path}`).toBe(user === 'd102' && path === '/split-preview' ? 403 : 404);
      }
    }
  });

  it('lets the lead bureau alone urge; a co-handler neither urges nor judges, but adds notes', async () => {
    const urged = await post('nr', `/api/polygons/${OWN}/urge`, { comment: '自己督办自己' });
    expect([urged.statusCode, urged.json().code]).toEqual([403, 'AUTH.FORBIDDEN']);
    const judged = await post('forest', `/api/polygons/${OWN}/verdict`, { verdict: 'other', situation: 'false_change', reason: 'x' });
    expect([judged.statusCode, judged.json().code]).toEqual([403, 'CASE.NOT_LEAD']);
    expect((await post('forest', `/api/polygons/${OWN}/notes`, { text: '协办意见' })).statusCode).toBe(200);
    const accepted = await post('forest', '/api/polygons/accept', { codes: [OWN, OTHER] });
    expect(accepted.json().accepted).toEqual([]);
    expect(accepted.json().refused.map((r: { error: string }) => r.error)).toEqual(['CASE.NOT_LEAD', 'POLYGON.NOT_FOUND']);
    expect((await post('chief', `/api/polygons/${OWN}/urge`, { comment: '请按期核查' })).statusCode).toBe(200);
  });

  it('serves no imagery tile of a month to a user with nothing there, at any zoom or coordinate', async () => {
    // 204 outside the caller's part of the month, whatever z/x/y, before the imagery is even asked.
    for (const tile of ['0/0/0', '22/0/0', '99/99999999/99999999', '23/1/1', '5/40/3']) {
      const r = await get('forest', `/api/imagery/2027-01/after/${tile}.png`);
      expect(r.statusCode, tile).toBe(204);
      expect(r.headers.vary, tile).toBe('Authorization, Cookie');
    }
    for (const tile of ['-1/0/0', '0/-1/0', '0/0/-1.png', '100/0/0', '0/0/0x1', '1/0/1e3']) {
      const r = await get('forest', `/api/imagery/2026-10/after/${tile}.png`);
      expect([r.statusCode, r.json().code], tile).toEqual([400, 'IMAGERY.BAD_REQUEST']);
    }
    // The epoch is not a path: a traversal is a month without imagery, nothing more.
    expect([204, 400, 404]).toContain((await get('chief', '/api/imagery/..%2F..%2Fetc/after/0/0/0.png')).statusCode);
  });
});

describe('a reassigned case and a disabled account', () => {
  it('the bureau a case was taken from loses it at once: card, list, field file, notes', async () => {
    expect((await get('nr', `/api/polygons/${MOVED}`)).statusCode).toBe(200);
    const r = await post('chief', `/api/polygons/${MOVED}/reassign`, { lead_bureau: 'water', reason: '河道管理范围' });
    expect(r.statusCode, r.body).toBe(200);
    expect((await get('nr', `/api/polygons/${MOVED}`)).json().code).toBe('POLYGON.NOT_FOUND');
    expect(codesOf((await get('nr', '/api/polygons.kml?epoch=2026-10')).body)).not.toContain(MOVED);
    expect(codesOf((await get('nr', '/api/polygons?view=list')).body)).not.toContain(MOVED);
    expect((await post('nr', `/api/polygons/${MOVED}/notes`, { text: '还是我们的' })).statusCode).toBe(404);
    expect((await get('water', `/api/polygons/${MOVED}`)).statusCode).toBe(200);
  });

  it("a disabled user's existing token reads nothing: list, field file, months, tiles", async () => {
    await addUsers(db, [['leaving', 'bureau', 'natural_resources']]);
    const token = (await t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'leaving', password: PASSWORD } })).json().token;
    const as = (url: string) => t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    expect((await as('/api/polygons.kml')).statusCode).toBe(200);
    const off = await t.app.inject({ method: 'POST', url: '/api/users/leaving/disable', headers: { authorization: `Bearer ${await t.token('root')}` } });
    expect(off.statusCode).toBe(200);
    for (const url of ['/api/polygons.kml', '/api/polygons?view=list', '/api/months', `/api/polygons/${OWN}`, '/api/imagery/2026-10/after/10/0/0.png', '/api/imagery/epochs']) {
      const r = await as(url);
      expect([r.statusCode, r.json().code], url).toEqual([401, 'AUTH.TOKEN_INVALID']);
    }
  });
});

describe('malformed input on the newer routes', () => {
  /** 400 VALIDATION (or the route's own 4xx code) with a message, never a 500. */
  const refused = async (user: string, url: string, code = 'VALIDATION') => {
    const r = await get(user, url);
    expect([r.statusCode, r.json().code], `${url}: ${r.body}`).toEqual([400, code]);
    expect(String(r.json().message).length, url).toBeGreaterThan(3);
  };

  it('paging, limits, dates, enums, long and Unicode strings on the list and the field file', async () => {
    const long = 'x'.repeat(5000);
    for (const q of [
      'limit=100000',
      'limit=-1',
      'limit=0',
      'limit=abc',
      'limit=1.5',
      'epoch=2026-1',
      'epoch=二〇二六-10',
      `epoch=${long}`,
      'status=bogus',
      'overdue=yes',
      'sort=random',
      'view=tiny',
      `district=${encodeURIComponent('历下区')}`,
      `district=${long}`,
      `cursor=${long}`,
      'bbox=1,2,3',
      'bbox=3,2,1,4',
      'bbox=1.2.3,2,3,4',
      'lead_bureau=nobody',
    ]) {
      await refused('nr', `/api/polygons?${q}`);
    }
    for (const q of ['epoch=2026-1', 'status=bogus', 'overdue=1', `district=${long}`, 'bbox=0,0,0,0']) await refused('nr', `/api/polygons.kml?${q}`);
    for (const cursor of ['!!!!', Buffer.from('x|y|z').toString('base64url'), Buffer.from("370102'; DROP TABLE cases; --").toString('base64url')]) {
      await refused('nr', `/api/polygons?cursor=${cursor}`, 'CURSOR.INVALID');
      await refused('nr', `/api/polygons?sort=confidence&cursor=${cursor}`, 'CURSOR.INVALID');
      await refused('nr', `/api/polygons?sort=due&cursor=${cursor}`, 'CURSOR.INVALID');
    }
  });

  it('a deadline cursor naming a day that does not exist is refused, not a database error', async () => {
    for (const key of ['0|2026-13-45|370102-202610-0001', '1|2026-02-30|370102-202610-0001', '1|0000-00-00|370102-202610-0001', '0|0000-01-01|370102-202610-0001']) {
      await refused('nr', `/api/polygons?sort=due&cursor=${Buffer.from(key).toString('base64url')}`, 'CURSOR.INVALID');
    }
  });

  it('an evidence id past the database integer range is a 404, not a database error', async () => {
    for (const id of ['99999999999999999999', '9223372036854775808', '1e30']) {
      const r = await get('nr', `/api/polygons/${OWN}/evidence/${id}`);
      expect(r.statusCode, `${id}: ${r.body}`).toBeLessThan(500);
      expect(r.statusCode, id).toBeGreaterThanOrEqual(400);
    }
    for (const id of ['0', '-1', 'abc', '1.5']) await refused('nr', `/api/polygons/${OWN}/evidence/${id}`);
  });

  it('urge and clues: bad days, long and Unicode text are refused and write nothing', async () => {
    const before = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0].n;
    for (const body of [
      { comment: '督办', respond_by: '2026-02-30' },
      { comment: '督办', respond_by: '2026/12/01' },
      { comment: '督办', respond_by: '2025-01-01' },
      { comment: '督'.repeat(2001) },
      { comment: '   ' },
      { comment: '督办', extra: 1 },
    ]) {
      const r = await post('chief', `/api/polygons/${SOLO}/urge`, body);
      expect([r.statusCode, r.json().code], JSON.stringify(body)).toEqual([400, 'VALIDATION']);
    }
    const clue = { source: 'patrol', district_code: '370102', geometry: { type: 'Point', coordinates: [117.0, 36.6] }, description: '巡查发现' };
    for (const [user, body, code] of [
      ['d102', { ...clue, district_code: '370112' }, 'CLUE.OUT_OF_SCOPE'],
      ['d102', { ...clue, reported_on: '2026-02-30' }, 'VALIDATION'],
      ['d102', { ...clue, reported_on: '2027-01-01' }, 'CLUE.BAD_DATE'],
      ['d102', { ...clue, district_name: '区'.repeat(51) }, 'VALIDATION'],
      ['d102', { ...clue, description: '线'.repeat(2001) }, 'VALIDATION'],
      ['d102', { ...clue, geometry: { type: 'Point', coordinates: [200, 36.6] } }, 'VALIDATION'],
      ['d102', { ...clue, geometry: { type: 'Polygon', coordinates: [[[117, 36], [117.01, 36.01], [117.01, 36], [117, 36.01], [117, 36]]] } }, 'VALIDATION'],
      ['nr', { ...clue, district_code: '999999' }, 'CLUE.UNKNOWN_DISTRICT'],
      ['chief', clue, 'AUTH.FORBIDDEN'],
    ] as const) {
      const r = await post(user, '/api/clues', body);
      expect(r.json().code, `${user} ${JSON.stringify(body).slice(0, 80)}: ${r.body}`).toBe(code);
      expect(r.statusCode).toBeLessThan(500);
    }
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBe(before);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clues')).rows[0].n).toBe(0);
  });

  it('map layer: tiles off the grid and boxes out of order are 400s', async () => {
    for (const q of ['bbox=1,2,3', 'bbox=3,2,1,4', 'bbox=1,2,3,4&zoom=-1', 'bbox=1,2,3,4&zoom=99', 'bbox=1,2,3,4&limit=0', 'bbox=1,2,3,4&epoch=x']) {
      await refused('nr', `/api/map/polygons.geojson?${q}`);
    }
    // Vector tiles exist on a PostgreSQL server only (PGlite: MAP.NO_MVT); off the grid is a 400 there.
    for (const tile of ['3/8/0', '3/0/8', '23/0/0', '0/99999999999/0']) {
      const r = await get('nr', `/api/map/tiles/${tile}.pbf`);
      expect(r.statusCode, `${tile}: ${r.body}`).toBeLessThan(500);
      if (r.json().code !== 'MAP.NO_MVT') expect([r.statusCode, r.json().code], tile).toEqual([400, 'VALIDATION']);
    }
  });
});
