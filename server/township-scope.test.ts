/**
 * A 乡镇/街道's own account (`--role bureau --bureau township --township <code>`): the rule table
 * makes the township co-responsible (属地) for every polygon and lead of 乡村规划区 cases, and the
 * polygon's township_code decides whose. Township A's account sees A's polygons only — list, card,
 * actions, evidence, chips, field file, counts, map, months and imagery answer for B's exactly as for
 * a code that does not exist — leads what the township leads there, co-handles the rest, adds no
 * clue while no township outline is stored (server/clue-township.test.ts: once one is, clues in its
 * own township); a city-wide township account (no --township) sees every township's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import type { Database } from '../pipeline/store/queryable.js';
import { cachedImageryScope, imageryScope, type ScopedImagery } from './access/imagery-scope.js';
import type { User } from './access/roles.js';
import { addUser, citywideTownshipUsers } from './auth/user-store.js';
import { imageryPlugin } from './imagery-routes.js';
import { createImageryService, type ImageryService } from './imagery/imagery-service.js';
import { tileAt } from './imagery/web-mercator.js';
import { addUsers, openTestDatabase, PASSWORD, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const A = '370102001';
const B = '370102002';
// A_CO: natural resources leads, the township co-handles (always_co), in A. A_LEAD: 乡村规划区, the
// township leads, in A. A_12: in A, its layer's 12-digit code. B_CO: as A_CO, in B, far away. NONE:
// outside every township (or no layer). A_OTHER: in A, but the township has no duty there.
const A_CO = '370102-202610-0001';
const A_LEAD = '370102-202610-0002';
const B_CO = '370102-202610-0003';
const NONE = '370102-202610-0004';
const A_OTHER = '370102-202610-0005';
const A_12 = '370102-202610-0006';
const MISSING = '370102-202610-0999';
const OWN = [A_CO, A_LEAD, A_12].sort();

const inA = { townshipCode: A, townshipName: '王家镇' };
const polys = (noneTownship: { townshipCode: string | null; townshipName: string | null }) => [
  polygon(A_CO, '2026-10', square(117.0, 36.6), { ...inA, coBureaus: ['township'] }),
  polygon(A_LEAD, '2026-10', square(117.01, 36.6), { ...inA, leadBureau: 'township', routingReason: '乡、村庄规划区；属地: 王家镇' }),
  polygon(B_CO, '2026-10', square(117.4, 36.9), { townshipCode: B, townshipName: '李庄街道', coBureaus: ['township'] }),
  polygon(NONE, '2026-10', square(117.2, 36.7), { ...noneTownship, coBureaus: ['township'] }),
  polygon(A_OTHER, '2026-10', square(117.02, 36.6), { ...inA, leadBureau: 'forestry' }),
  polygon(A_12, '2026-10', square(117.03, 36.6), { townshipCode: `${A}000`, townshipName: '王家镇', coBureaus: ['township'] }),
];

let db: Database;
let t: TestApp;
let imagery: ImageryService;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', polys({ townshipCode: null, townshipName: null }), '2026-11-02');
  await addUsers(db, [
    ['townA', 'bureau', 'township', A],
    ['townB', 'bureau', 'township', B],
    ['town', 'bureau', 'township'],
    ['nr', 'bureau', 'natural_resources'],
    ['d102', 'district', '370102'],
    ['chief', 'lead'],
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
const post = (user: string, url: string, payload: unknown = {}) => t.request(user, url, payload);
const codesOf = (body: string) => [...new Set([...body.matchAll(/370102-202610-\d{4}/g)].map((m) => m[0]))].sort();
const ids = async (user: string, url: string) => (await get(user, url)).json().features.map((f: { id: string }) => f.id).sort();

describe("a township's own account", () => {
  it('lists, maps, counts and exports only its township’s polygons where the township has a duty', async () => {
    expect(await ids('townA', '/api/polygons?epoch=2026-10')).toEqual(OWN);
    expect(await ids('townA', '/api/polygons?epoch=2026-10&view=list&limit=1000')).toEqual(OWN);
    expect(await ids('townA', '/api/polygons?epoch=2026-10&sort=confidence')).toEqual(OWN);
    expect(await ids('townB', '/api/polygons?epoch=2026-10')).toEqual([B_CO]);
    // The city-wide township office (no --township) sees every township's, and those outside any.
    expect(await ids('town', '/api/polygons?epoch=2026-10')).toEqual([...OWN, B_CO, NONE].sort());
    // Asking for the other township's district or lead bureau narrows its own scope only.
    expect(await ids('townA', '/api/polygons?epoch=2026-10&district=370102&lead_bureau=natural_resources')).toEqual([A_CO, A_12]);

    const kml = await get('townA', '/api/polygons.kml?epoch=2026-10');
    expect(kml.statusCode, kml.body).toBe(200);
    expect(codesOf(kml.body)).toEqual(OWN);
    expect(kml.body).not.toContain('李庄街道');
    expect(kml.headers['content-disposition']).toContain(A);

    const map = await get('townA', '/api/map/polygons.geojson?epoch=2026-10&bbox=116,36,118,37.5');
    expect(map.statusCode, map.body).toBe(200);
    expect(codesOf(map.body)).toEqual(OWN);
    expect(codesOf((await get('townB', '/api/map/polygons.geojson?epoch=2026-10&bbox=116,36,118,37.5')).body)).toEqual([B_CO]);
    // A map answer's ETag is the township's own: township B's cached copy is never A's 304.
    const url = '/api/map/polygons.geojson?epoch=2026-10&bbox=116,36,118,37.5';
    const etagB = (await get('townB', url)).headers.etag as string;
    const asA = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await t.token('townA')}`, 'if-none-match': etagB } });
    expect(asA.statusCode).toBe(200);
    expect(codesOf(asA.body)).toEqual(OWN);
    // Vector tiles where PostGIS makes them (a PostgreSQL server): one low-zoom tile holds all six.
    expect((await get('townA', '/api/map/layer?epoch=2026-10')).json().format).toBe(db.kind === 'postgres' ? 'mvt' : 'geojson');
    if (db.kind === 'postgres') {
      const { x, y } = tileAt(117.2, 36.75, 6);
      const tile = async (user: string) => codesOf((await get(user, `/api/map/tiles/6/${x}/${y}.pbf?epoch=2026-10`)).rawPayload.toString('latin1'));
      expect(await tile('chief')).toEqual([...OWN, B_CO, NONE, A_OTHER].sort());
      expect(await tile('townA')).toEqual(OWN);
      expect(await tile('townB')).toEqual([B_CO]);
    }

    expect((await get('townA', '/api/inbox/counts?epoch=2026-10')).json().total).toBe(3);
    expect((await get('townB', '/api/inbox/counts?epoch=2026-10')).json().total).toBe(1);
    expect((await get('townA', '/api/months')).json()).toEqual(['2026-10']);
  });

  it("answers township B's polygon exactly as a code that does not exist: card, actions, evidence, chips", async () => {
    const answer = async (code: string, method: 'GET' | 'POST', path: string, payload?: object) => {
      const r = method === 'POST' ? await post('townA', `/api/polygons/${code}${path}`, payload ?? {}) : await get('townA', `/api/polygons/${code}${path}`);
      return [r.statusCode, r.json().code, String(r.json().message).replace(code, 'X')];
    };
    for (const [method, path, payload] of [
      ['GET', ''],
      ['GET', '/chips/after.png'],
      ['GET', '/chips/before.png'],
      ['GET', '/evidence/1'],
      ['POST', '/accept'],
      ['POST', '/notes', { text: '属地核查' }],
      ['POST', '/verdict', { verdict: 'other', situation: 'false_change', reason: 'x' }],
      ['POST', '/request-reassignment', { reason: '不是本镇的' }],
      ['POST', '/split-preview', { lines: [{ type: 'LineString', coordinates: [[117.4, 36.9], [117.402, 36.902]] }] }],
    ] as const) {
      for (const other of [B_CO, NONE, A_OTHER]) {
        const seen = await answer(other, method, path, payload);
        expect(seen, `${other} ${method} ${path}`).toEqual(await answer(MISSING, method, path, payload));
        expect(seen[0], `${other} ${method} ${path}`).toBe(404);
      }
    }
    const many = (await post('townA', '/api/polygons/accept', { codes: [B_CO, A_LEAD] })).json();
    expect(many.refused).toEqual([{ code: B_CO, error: 'POLYGON.NOT_FOUND', message: expect.any(String) }]);
    expect(many.accepted).toEqual([A_LEAD]);
    // The other township's account and the city-wide one still reach it.
    expect((await get('townB', `/api/polygons/${B_CO}`)).statusCode).toBe(200);
    expect((await get('town', `/api/polygons/${B_CO}`)).statusCode).toBe(200);
  });

  it('leads what the rule table gives the township in its own township, and co-handles the rest (notes and evidence)', async () => {
    // A_LEAD was accepted above, by township A's account (its lead).
    expect((await get('townA', `/api/polygons/${A_LEAD}`)).json().case.status).toBe('accepted');
    const verdict = await post('townA', `/api/polygons/${A_LEAD}/verdict`, { verdict: 'other', situation: 'false_change', reason: '耕作' });
    expect(verdict.statusCode, verdict.body).toBe(200);
    const accepted = await post('townA', `/api/polygons/${A_CO}/accept`);
    expect([accepted.statusCode, accepted.json().code]).toEqual([403, 'CASE.NOT_LEAD']);
    expect((await post('townA', `/api/polygons/${A_CO}/notes`, { text: '属地已到场' })).statusCode).toBe(200);
    const up = await t.app.inject({
      method: 'POST',
      url: `/api/polygons/${A_CO}/evidence?name=a.pdf`,
      headers: { authorization: `Bearer ${await t.token('townA')}`, 'content-type': 'application/pdf' },
      payload: Buffer.from('%PDF-1.4\n%%EOF\n'),
    });
    expect(up.statusCode, up.body).toBe(200);
    const id = up.json().result.id;
    expect((await get('townA', `/api/polygons/${A_CO}/evidence/${id}`)).statusCode).toBe(200);
    // Township B's account does not reach A's evidence, through A's code or its own.
    expect((await get('townB', `/api/polygons/${A_CO}/evidence/${id}`)).statusCode).toBe(404);
    expect((await get('townB', `/api/polygons/${B_CO}/evidence/${id}`)).statusCode).toBe(404);
  });

  it('adds no clue while no batch stored the township outlines (its clue could not be placed, so it would not see it); the city-wide township account and districts do', async () => {
    const clue = { source: 'patrol', district_code: '370102', geometry: { type: 'Point', coordinates: [117.0, 36.6] }, description: '巡查发现' };
    const refused = await post('townA', '/api/clues', clue);
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'AUTH.FORBIDDEN']);
    expect(refused.json().message).toContain(`township ${A}`);
    expect(refused.json().message).toContain('乡镇/街道 (township) zone layer');
    expect((await post('town', '/api/clues', clue)).statusCode).toBe(201);
    expect((await post('d102', '/api/clues', clue)).statusCode).toBe(201);
    // Nor do the clues of others reach it.
    expect((await get('townA', '/api/polygons?epoch=2026-11')).json().features).toEqual([]);
  });

  it('is told its township (and its name from the layer) by /api/me', async () => {
    const me = (await get('townA', '/api/me')).json();
    expect([me.bureau, me.township, me.township_name]).toEqual(['township', A, '王家镇']);
  });

  it("gets no imagery of another township's polygon: its scope holds its own boxes only, a tile there is 204", async () => {
    const user = (township: string | null): User => ({ name: 'x', role: 'bureau', bureau: 'township', district: null, township });
    const own = await imageryScope(db, user(A), '2026-10');
    if (own === null || own === 'all') throw new Error(`township A's imagery scope is ${own}`);
    expect(own.boxes.length / 4).toBe(3);
    expect(own.bounds[2]).toBeLessThan(117.2); // B's polygon at 117.4, NONE at 117.2 are outside
    const b = await imageryScope(db, user(B), '2026-10');
    if (b === null || b === 'all') throw new Error(`township B's imagery scope is ${b}`);
    expect(b.boxes.length / 4).toBe(1);
    expect(await imageryScope(db, user('370102009'), '2026-10')).toBeNull();
    // Remembered per township: B's scope, asked first, is not A's.
    const cached = cachedImageryScope(db);
    expect(((await cached(user(B), '2026-10')) as ScopedImagery).boxes.length / 4).toBe(1);
    expect(((await cached(user(A), '2026-10')) as ScopedImagery).boxes.length / 4).toBe(3);
    const { x, y } = tileAt(117.4005, 36.9005, 15);
    const r = await get('townA', `/api/imagery/2026-10/after/15/${x}/${y}.png`);
    expect(r.statusCode).toBe(204);
  });

  it('follows a re-run that places a polygon in its township, keeping the case as it was', async () => {
    const before = (await get('chief', `/api/polygons/${NONE}`)).json().case;
    // The month's batch run again, now with the township layer covering NONE.
    await writeBatch(db, 'b-2026-10', '2026-10', polys(inA), '2026-11-02');
    expect(await ids('townA', '/api/polygons?epoch=2026-10')).toEqual([...OWN, NONE].sort());
    expect((await get('townB', `/api/polygons/${NONE}`)).statusCode).toBe(404);
    const after = (await get('townA', `/api/polygons/${NONE}`)).json();
    expect(after.properties.township_code).toBe(A);
    expect([after.case.version, after.case.status]).toEqual([before.version, before.status]);
  });
});

describe('township accounts: refused and city-wide', () => {
  it('refuses a township on anything but a township bureau user, and a code that is not 9 or 12 digits ending 000', async () => {
    const add = (role: 'bureau' | 'district', bureau: string | null, township: string) =>
      addUser(db, { name: `x${township.length}${bureau ?? ''}`, role, bureau, district: role === 'district' ? '370102' : null, township, password: PASSWORD });
    await expect(add('bureau', 'natural_resources', A)).rejects.toMatchObject({ code: 'USER.INVALID' });
    await expect(add('district', null, A)).rejects.toMatchObject({ code: 'USER.INVALID' });
    for (const bad of ['37010200', '3701020010', '370102001001', 'abcdefghi']) {
      await expect(add('bureau', 'township', bad), bad).rejects.toMatchObject({ code: 'USER.INVALID' });
    }
    // The database refuses it too, whatever writes the row.
    await expect(db.query(`UPDATE users SET township = '370102001' WHERE name = 'nr'`)).rejects.toThrow();
  });

  it('names the active city-wide township accounts (tuban serve warns about them)', async () => {
    expect(await citywideTownshipUsers(db)).toEqual(['town']);
  });
});

describe('migration 15 on a database with cases', () => {
  it('gives each existing case its polygon’s township', async () => {
    const old = await openDatabase('memory://');
    try {
      await migrate(old, MIGRATIONS.filter((m) => m.version <= 14));
      // Today's writer also fills columns later migrations add (the village's, 17): they exist only
      // while it writes, and the database is at 14 again before migrating.
      const later = ['polygons', 'polygons_gone'].flatMap((t) => ['village_code', 'village_name'].map((c) => [t, c] as const));
      for (const [t, c] of later) await old.query(`ALTER TABLE ${t} ADD COLUMN ${c} text`);
      await writeBatch(old, 'b', '2026-10', [polygon(A_CO, '2026-10', square(117.0, 36.6), { ...inA, coBureaus: ['township'] })], '2026-11-02');
      for (const [t, c] of later) await old.query(`ALTER TABLE ${t} DROP COLUMN ${c}`);
      await old.query(`INSERT INTO cases (code, epoch, lead_bureau, co_bureaus, district_code, issued_on, geom_hash) VALUES ($1, '2026-10', 'natural_resources', '["township"]', '370102', '2026-11-02', 'h')`, [A_CO]);
      await old.query(`INSERT INTO users (name, role, bureau, password_hash) VALUES ('old', 'bureau', 'township', 'x')`);
      expect(await migrate(old)).toEqual(MIGRATIONS.filter((m) => m.version > 14).map((m) => m.version));
      expect((await old.query<{ t: string }>('SELECT township_code AS t FROM cases')).rows).toEqual([{ t: A }]);
      // The account from before keeps seeing what it saw: city-wide, and named.
      expect(await citywideTownshipUsers(old)).toEqual(['old']);
    } finally {
      await old.close();
    }
  });
});
