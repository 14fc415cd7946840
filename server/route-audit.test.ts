/**
 * Every route the server registers, as every kind of caller (security audit 40). The route list is
 * the server's own (`/openapi.json`, which the registry writes from the routes it registers, the
 * imagery plugin's included), not a sample: a route added later is probed here without a change.
 *
 * - no token, a forged one, an expired one, a disabled account's: 401 on every signed-in route;
 * - another bureau's or district's code answers exactly as a code that does not exist, on every
 *   route that takes a code, for a bureau, a district, an analyst-less admin (status and body);
 * - roles without the permission are refused alike (403 before any lookup) on the lead's and the
 *   admin's routes;
 * - a burst of sign-ins at once is throttled as the same guesses one after another are;
 * - a district account whose district has no stored outline cannot file a clue inside another
 *   district's outline (its imagery scope would show that district).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { storeDistricts } from '../pipeline/store/districts.js';
import { handoverRecipientSchema, rectificationMethodSchema } from '../schemas/workflow.js';
import { signToken } from './auth/token.js';
import { disableUser } from './auth/user-store.js';
import { imageryPlugin } from './imagery-routes.js';
import { createImageryService, type ImageryService } from './imagery/imagery-service.js';
import { addUsers, jpegWithExif, openTestDatabase, PASSWORD, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

// OWN: natural resources leads, forestry co-handles, in 370102. OTHER: water's, in 370112.
const OWN = '370102-202610-0001';
const OTHER = '370112-202610-0002';
const MISSING = '370102-202610-0999';
/** The secret testApp signs with (fixtures.ts). */
const SECRET = Buffer.from('test-secret-test-secret-test-secret!!');

let db: Database;
let t: TestApp;
let imagery: ImageryService;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(
    db,
    'b-2026-10',
    '2026-10',
    [polygon(OWN, '2026-10', square(117.0, 36.6), { coBureaus: ['forestry'] }), polygon(OTHER, '2026-10', square(117.3, 36.9), { leadBureau: 'water' })],
    '2026-11-02',
  );
  await storeDistricts(db, { batchId: 'b-2026-10', epoch: '2026-10' }, [
    { code: '370102', name: '历下区', geometry: square(117.0, 36.6, 0.1) },
    { code: '370112', name: '历城区', geometry: square(117.3, 36.9, 0.1) },
  ]);
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['forest', 'bureau', 'forestry'],
    ['water', 'bureau', 'water'],
    ['d102', 'district', '370102'],
    ['d112', 'district', '370112'],
    // 高新区: an account whose district the batches' layer has no outline of.
    ['d171', 'district', '370171'],
    ['viewer', 'analyst'],
    ['chief', 'lead'],
    ['root', 'admin'],
    ['gone', 'bureau', 'natural_resources'],
    ['victim', 'lead'],
  ]);
  imagery = createImageryService(db);
  t = await testApp(db, { plugins: [imageryPlugin(imagery)], webDir: 'web' });
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await imagery?.close();
  await db?.close();
});

interface Route {
  method: string;
  path: string;
  open: boolean;
}

/** The routes the server lists, every one. */
async function routes(): Promise<Route[]> {
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { security?: unknown[] }>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, open: Array.isArray(op.security) && op.security.length === 0 })));
}

const PARAMS: Record<string, string> = { name: 'nr', id: '1', file: '2026-10.csv', z: '10', x: '843', epoch: '2026-10', side: 'after' };

/** A concrete URL of `path` for polygon `code`. */
function urlOf(r: Route, code: string): string {
  const file = r.path.includes('/chips/') ? 'before.png' : r.path.includes('/report/') ? '2026Q4.csv' : r.path.includes('/map/tiles/') ? '389.pbf' : r.path.includes('/imagery/') ? '389.png' : PARAMS.file;
  const url = r.path.replace(/\{(\w+)\}/g, (_m, p: string) => (p === 'code' ? code : p === 'file' ? file : PARAMS[p]));
  if (url.endsWith('/evidence') && r.method === 'POST') return `${url}?name=a.jpg`;
  if (url.startsWith('/api/map/polygons.geojson')) return `${url}?bbox=116,36,118,37`;
  return url;
}

const half = (w: number) => ({ type: 'Polygon', coordinates: [[[w, 36.6], [w + 0.0005, 36.6], [w + 0.0005, 36.601], [w, 36.601], [w, 36.6]]] });

/** A body each POST route takes (valid, so the request reaches its scope check). */
function bodyOf(r: Route): { payload?: unknown; headers?: Record<string, string> } {
  const action = r.path.split('/').pop()!;
  const bodies: Record<string, unknown> = {
    verdict: { verdict: 'legal', approval_doc_no: '济政土字〔2026〕1号' },
    'recheck-date': { recheck_on: '2026-12-01', reason: '待下期影像' },
    split: { parcels: [half(116.9995), half(117.0)] },
    'split-preview': { parcels: [half(116.9995)] },
    rectification: { method: rectificationMethodSchema.options[0], progress: 50 },
    close: { reason: '已整改' },
    'request-reassignment': { reason: '不属本局' },
    reassign: { lead_bureau: 'forestry', reason: '林地' },
    review: { approve: true },
    escalate: { reason: '逾期' },
    'hand-over': { to: handoverRecipientSchema.options[0] },
    urge: { comment: '请尽快核查' },
    notes: { text: '现场已核' },
    'confirm-geometry': {},
    withdraw: { reason: '图形灭失' },
    separate: { reason: '另一处' },
    accept: r.path === '/api/polygons/accept' ? { codes: [OWN] } : undefined,
    session: { name: 'nobody', password: 'wrong password' },
    clues: { source: 'patrol', district_code: '370102', geometry: { type: 'Point', coordinates: [117.0, 36.6] }, description: '巡查发现' },
  };
  if (r.method !== 'POST') return {};
  if (action === 'evidence') return { payload: jpegWithExif({ taken: '2026:10:20 09:00:00', lat: 36.6, lon: 117.0, azimuth: 90 }), headers: { 'content-type': 'image/jpeg' } };
  return { payload: bodies[action] };
}

function send(r: Route, code: string, auth: Record<string, string>) {
  const { payload, headers } = bodyOf(r);
  return t.app.inject({ method: r.method as 'GET', url: urlOf(r, code), headers: { ...auth, ...(headers ?? {}) }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

const bearer = async (user: string) => ({ authorization: `Bearer ${await t.token(user)}` });

describe('the route list', () => {
  it('is every route the server registers, the imagery plugin\'s included', async () => {
    const all = await routes();
    const names = all.map((r) => `${r.method} ${r.path}`);
    for (const r of ['GET /api/polygons/{code}/evidence/{id}', 'POST /api/users/{name}/disable', 'GET /api/imagery/{epoch}/{side}/{z}/{x}/{file}', 'GET /api/map/tiles/{z}/{x}/{file}', 'GET /api/ledger/{file}']) {
      expect(names).toContain(r);
    }
    // Fastify's own table agrees: no API route is registered without being listed.
    const printed = t.app.printRoutes({ commonPrefix: false });
    const registered = [...printed.matchAll(/(\/api\/\S*) \(([A-Z, ]+)\)/g)].flatMap(([, path, methods]) => methods.split(', ').filter((m) => m !== 'HEAD').map((m) => `${m} ${path.replace(/:(\w+)/g, '{$1}')}`));
    for (const r of registered) expect(names, r).toContain(r);
    expect(all.length).toBeGreaterThanOrEqual(40);
  });
});

describe('no valid credentials', () => {
  it('every signed-in route answers 401 to no token, a forged one, an expired one and a disabled account\'s, and writes nothing', async () => {
    const goneToken = await t.token('gone');
    await disableUser(db, 'gone', 'test', new Date('2026-11-03T02:00:00Z'));
    const nowMs = new Date('2026-11-03T02:00:00Z').getTime();
    const callers: Record<string, Record<string, string>> = {
      none: {},
      forged: { authorization: `Bearer ${signToken(Buffer.from('another-secret-another-secret-!!!'), 'chief', nowMs)}` },
      expired: { authorization: `Bearer ${signToken(SECRET, 'chief', nowMs - 13 * 3600_000)}` },
      'alg-less': { authorization: `Bearer ${Buffer.from(JSON.stringify({ sub: 'chief', iat_ms: nowMs, exp: nowMs / 1000 + 3600 })).toString('base64url')}.` },
      disabled: { authorization: `Bearer ${goneToken}` },
      'disabled (cookie)': { cookie: `tuban_session=${goneToken}`, origin: 'http://localhost:80' },
    };
    const audit = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0].n;
    const before = await audit();
    let probed = 0;
    for (const r of await routes()) {
      if (r.open) continue;
      for (const [who, auth] of Object.entries(callers)) {
        const res = await send(r, OWN, auth);
        expect(res.statusCode, `${who}: ${r.method} ${r.path}: ${res.body}`).toBe(401);
        probed++;
      }
    }
    expect(probed).toBeGreaterThan(200);
    expect(await audit()).toBe(before);
  });
});

describe("another bureau's or district's polygon", () => {
  it('answers every route that takes a code exactly as a code that does not exist (status and body), for each role', async () => {
    const withCode = (await routes()).filter((r) => r.path.includes('{code}'));
    expect(withCode.length).toBeGreaterThanOrEqual(20);
    // water leads OTHER only; d112 sees 370112 only; the admin sees no polygon at all.
    for (const user of ['water', 'd112', 'root']) {
      const auth = await bearer(user);
      for (const r of withCode) {
        const other = await send(r, OWN, auth);
        const missing = await send(r, MISSING, auth);
        const where = `${user}: ${r.method} ${r.path}`;
        expect(other.statusCode, `${where}: ${other.body}`).toBe(missing.statusCode);
        expect(other.body.replaceAll(OWN, MISSING), where).toBe(missing.body);
        // The body reached the scope check: a refusal for the route or the role, never the probe's own mistake.
        expect([403, 404], `${where}: ${missing.body}`).toContain(missing.statusCode);
      }
    }
    // The bulk accept names each code it refuses: another's as a missing one.
    for (const user of ['water', 'd112', 'root']) {
      const many = async (code: string) => (await t.app.inject({ method: 'POST', url: '/api/polygons/accept', headers: await bearer(user), payload: { codes: [code] } })).body;
      expect((await many(OWN)).replaceAll(OWN, MISSING), user).toBe(await many(MISSING));
    }
    // The probe is not vacuous: the bureau that leads OWN reads its card, its evidence list and its history.
    expect((await send({ method: 'GET', path: '/api/polygons/{code}', open: false }, OWN, await bearer('nr'))).statusCode).toBe(200);
  }, 120_000);

  it('is in no list, count, month, field file or map layer of the bureau or district it is not', async () => {
    for (const [user, foreign] of [
      ['water', OWN],
      ['d112', OWN],
      ['d102', OTHER],
      ['forest', OTHER],
    ] as const) {
      for (const url of ['/api/polygons', '/api/polygons?view=list', `/api/polygons?district=${foreign.slice(0, 6)}`, '/api/polygons?lead_bureau=natural_resources', '/api/polygons?lead_bureau=water', '/api/polygons.geojson', '/api/polygons.kml', '/api/map/polygons.geojson?bbox=116,36,118,38', '/api/polygons?sort=confidence', '/api/polygons?sort=due']) {
        const r = await t.request(user, url);
        expect(r.statusCode, `${user} ${url}: ${r.body}`).toBe(200);
        expect(r.body, `${user} ${url}`).not.toContain(foreign);
      }
    }
    // Vector tiles (PostgreSQL's ST_AsMVT): the codes are plain strings in the tile's bytes.
    if ((await t.request('water', '/api/map/layer')).json().format === 'mvt') {
      const z = 14;
      const x = Math.floor(((117.0005 + 180) / 360) * 2 ** z);
      const lat = (36.6005 * Math.PI) / 180;
      const y = Math.floor(((1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2) * 2 ** z);
      const tile = async (user: string) => (await t.request(user, `/api/map/tiles/${z}/${x}/${y}.pbf`)).rawPayload.toString('latin1');
      expect(await tile('nr')).toContain(OWN);
      expect(await tile('water')).not.toContain(OWN);
      expect(await tile('d112')).not.toContain(OWN);
    }
    // Counts: one case each, never the city's two.
    expect((await t.request('water', '/api/inbox/counts')).json().total).toBe(1);
    expect((await t.request('d102', '/api/inbox/counts')).json().total).toBe(1);
  });
});

describe('extra fields in a body (mass assignment)', () => {
  it('every POST route refuses district, bureau, status, role and the like by name, those without a body too, and writes nothing', async () => {
    const extra = { role: 'lead', status: 'reviewed', lead_bureau: 'water', district_code: '370112', bureau: 'water' };
    const audit = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0].n;
    const before = await audit();
    const posts = (await routes()).filter((r) => r.method === 'POST' && !r.path.endsWith('/evidence'));
    expect(posts.length).toBeGreaterThanOrEqual(20);
    for (const r of posts) {
      for (const user of ['nr', 'chief', 'root']) {
        const { payload } = bodyOf(r);
        const res = await t.app.inject({ method: 'POST', url: urlOf(r, OWN), headers: await bearer(user), payload: { ...(payload as object | undefined), ...extra } });
        const where = `${user}: POST ${r.path}: ${res.body}`;
        expect(res.statusCode, where).toBe(400);
        expect(res.json().code, where).toBe('VALIDATION');
        expect(res.json().message, where).toMatch(/unknown field 'role'/);
      }
    }
    expect(await audit()).toBe(before);
    // An empty object is no body, as the page sends it to accept.
    expect((await t.request('viewer', `/api/polygons/${OWN}/accept`, {})).statusCode).toBe(403);
  });
});

describe("the lead bureau's and the admin's routes", () => {
  it('refuse every other role alike (403), whatever the object named', async () => {
    const lead = ['GET /api/ledger/2026-10.csv', 'GET /api/report/2026Q4.csv', 'POST /api/sweep'];
    const admin = ['GET /api/users', 'POST /api/users/chief/disable', 'POST /api/users/chief/enable', 'POST /api/users/nobody/disable'];
    for (const user of ['nr', 'forest', 'd102', 'viewer', 'root']) {
      for (const call of user === 'root' ? lead : [...lead, ...admin]) {
        const [method, url] = call.split(' ');
        const r = await t.app.inject({ method: method as 'GET', url, headers: await bearer(user) });
        expect(r.statusCode, `${user} ${call}: ${r.body}`).toBe(403);
      }
    }
    // The lead role is no admin either: it cannot disable the admin or enable a disabled account.
    for (const call of admin) {
      const [method, url] = call.split(' ');
      expect((await t.app.inject({ method: method as 'GET', url, headers: await bearer('chief') })).statusCode, call).toBe(403);
    }
  });
});

describe('sign-in throttling under a burst', () => {
  it('lets no more guesses through, at once and after, than one after another (10 a name in 15 min)', async () => {
    const guess = (password: string) => t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'victim', password }, remoteAddress: '203.0.113.40' });
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => guess(`wrong guess ${i}`)));
    const codes = burst.map((r) => r.json().code as string);
    expect(codes.every((c) => c === 'AUTH.BAD_CREDENTIALS' || c === 'AUTH.THROTTLED'), codes.join()).toBe(true);
    // A refused attempt costs the budget nothing: what is left of it may still be used, and no more.
    let checked = codes.filter((c) => c === 'AUTH.BAD_CREDENTIALS').length;
    expect(checked).toBeLessThanOrEqual(10);
    for (let i = 0; i < 12; i++) if ((await guess(`later guess ${i}`)).json().code === 'AUTH.BAD_CREDENTIALS') checked++;
    expect(checked).toBe(10);
    // Locked out from this address now, the right password included; elsewhere the owner signs in.
    expect((await guess(PASSWORD)).json().code).toBe('AUTH.THROTTLED');
    const owner = await t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'victim', password: PASSWORD }, remoteAddress: '10.0.0.7' });
    expect(owner.statusCode).toBe(200);
  });

  it('counts an IPv6 client by its /64 (one host holds millions of addresses), an IPv4-mapped one by its IPv4 address', async () => {
    const guess = (remoteAddress: string) => t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'root', password: 'wrong guess' }, remoteAddress });
    const codes: string[] = [];
    for (let i = 1; i <= 11; i++) codes.push((await guess(`2001:db8:40:7:${i.toString(16)}::${i}`)).json().code);
    expect(codes.slice(0, 10).every((c) => c === 'AUTH.BAD_CREDENTIALS'), codes.join()).toBe(true);
    expect(codes[10]).toBe('AUTH.THROTTLED');
    // The same /64 written out in full, and another /64, and an IPv4 client as IPv6 shows it.
    expect((await guess('2001:0db8:0040:0007:ffff:ffff:ffff:ffff')).json().code).toBe('AUTH.THROTTLED');
    expect((await guess('2001:db8:40:8::1')).json().code).toBe('AUTH.BAD_CREDENTIALS');
    for (let i = 0; i < 10; i++) await guess('198.51.100.40');
    expect((await guess('::ffff:198.51.100.40')).json().code).toBe('AUTH.THROTTLED');
  });

  it('a right password does not count against its address', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'chief', password: PASSWORD }, remoteAddress: '203.0.113.41' });
      expect(r.statusCode, r.body).toBe(200);
    }
    const n = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sign_in_failures WHERE client = '203.0.113.41'`);
    expect(n.rows[0].n).toBe(0);
  });
});

describe('response headers', () => {
  it('every answer keeps its URL (a case code, a month) from other sites: Referrer-Policy same-origin', async () => {
    for (const [user, url] of [[null, '/'], [null, '/api/health'], ['nr', `/api/polygons/${OWN}`], ['nr', '/api/polygons?view=list'], [null, '/api/nothing']] as const) {
      const r = await t.app.inject({ method: 'GET', url, headers: user ? await bearer(user) : {} });
      expect(r.headers['referrer-policy'], url).toBe('same-origin');
    }
  });
});

describe('an evidence file served back', () => {
  it('is saved under a name that ends as its type, and is rendered by no browser as a page of this origin', async () => {
    const upload = async (name: string, type: string, bytes: Buffer) =>
      t.app.inject({ method: 'POST', url: `/api/polygons/${OTHER}/evidence?name=${encodeURIComponent(name)}`, headers: { ...(await bearer('water')), 'content-type': type }, payload: bytes });
    const pdf = Buffer.from('%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n');
    const jpeg = jpegWithExif({ taken: '2026:10:20 09:00:00', lat: 36.9, lon: 117.3, azimuth: 90 });
    for (const [name, type, bytes, saved] of [
      ['笔录.html', 'application/pdf', pdf, "笔录.html.pdf"],
      ['scan.svg', 'application/octet-stream', pdf, 'scan.svg.pdf'],
      ['现场.JPG', 'image/jpeg', jpeg, '现场.JPG'],
      ['photo.jpeg.htm', 'image/jpeg', jpeg, 'photo.jpeg.htm.jpg'],
      ['Report.PDF', 'application/pdf', pdf, 'Report.PDF'],
    ] as const) {
      const up = await upload(name, type, bytes);
      expect(up.statusCode, up.body).toBe(200);
      const back = await t.app.inject({ method: 'GET', url: `/api/polygons/${OTHER}/evidence/${up.json().result.id}`, headers: await bearer('water') });
      expect(back.statusCode).toBe(200);
      expect(back.headers['content-disposition'], name).toMatch(new RegExp(`filename\\*=UTF-8''${encodeURIComponent(saved).replace(/[.*]/g, '\\$&')}$`));
      expect(back.headers['x-content-type-options']).toBe('nosniff');
      expect(back.headers['content-security-policy'], name).toBe("default-src 'none'; sandbox");
    }
  });
});

describe('a district account whose district has no stored outline', () => {
  it("cannot file a clue inside another district's outline (nor widen its imagery there)", async () => {
    const clue = (lon: number, lat: number) => ({ source: 'patrol', district_code: '370171', geometry: { type: 'Point', coordinates: [lon, lat] }, description: '巡查发现' });
    const inside = await t.request('d171', '/api/clues', clue(117.35, 36.95));
    expect(inside.statusCode, inside.body).toBe(400);
    expect(inside.json().code).toBe('CLUE.OUTSIDE_DISTRICT');
    expect(inside.json().message).toContain('370112');
    // Where no stored district lies it is still its own to file (the layer does not know its district).
    const outside = await t.request('d171', '/api/clues', clue(117.6, 36.6));
    expect(outside.statusCode, outside.body).toBe(201);
  });
});
