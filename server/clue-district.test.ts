/**
 * A clue lies in the district it names (security audit 36): a district user registered a point in
 * another district, got 201, and its imagery scope grew to show that district's imagery; a bureau's
 * typo filed a clue in the wrong district's ledger. The outlines are the ones a batch stores
 * (`storeDistricts`, as finalising does): 历下区 370102 east of 117.0°E, 市中区 370103 west of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeDistricts } from '../pipeline/store/districts.js';
import type { Database } from '../pipeline/store/queryable.js';
import { imageryScope } from './access/imagery-scope.js';
import type { User } from './access/roles.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

const LIXIA = { code: '370102', name: '历下区', geometry: square(117.0, 36.6, 0.1) };
const SHIZHONG = { code: '370103', name: '市中区', geometry: square(116.9, 36.6, 0.1) };
/** South of both, with no polygon this month. */
const LICHENG = { code: '370112', name: '历城区', geometry: { type: 'Polygon' as const, coordinates: [[[116.9, 36.5], [117.1, 36.5], [117.1, 36.6], [116.9, 36.6], [116.9, 36.5]]] } };
/** Metres per degree of longitude at 36.65°N. */
const M_PER_DEG_LON = 111_320 * Math.cos((36.65 * Math.PI) / 180);

beforeAll(async () => {
  db = await openTestDatabase();
  // The month of the app's today (2026-11-03): d102 has one polygon, so its imagery scope is a box around it.
  await writeBatch(db, 'b-2026-11', '2026-11', [polygon('370102-202611-0001', '2026-11', square(117.05, 36.65)), polygon('370103-202611-0001', '2026-11', square(116.95, 36.65))], '2026-11-02');
  await storeDistricts(db, { batchId: 'b-2026-11', epoch: '2026-11' }, [LIXIA, SHIZHONG, LICHENG]);
  await addUsers(db, [
    ['d102', 'district', '370102'],
    ['d104', 'district', '370104'], // a district no batch has routed (no stored outline)
    ['nr', 'bureau', 'natural_resources'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const point = (lon: number, lat: number) => ({ type: 'Point', coordinates: [lon, lat] });
const clue = (district: string, geometry: unknown) => ({ source: 'patrol', district_code: district, geometry, description: '巡查发现' });
const clueCount = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clues')).rows[0].n;
const auditCount = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'clue.add'`)).rows[0].n;

describe('a clue in another district', () => {
  it('is refused for a district user, and its imagery scope does not grow (the audit)', async () => {
    const d102: User = { name: 'd102', role: 'district', bureau: null, district: '370102' };
    const scopeBefore = await imageryScope(db, d102, '2026-11');
    const [clues, audits] = [await clueCount(), await auditCount()];
    const r = await t.request('d102', '/api/clues', clue('370102', point(116.95, 36.65))); // in 市中区, 4.5 km west
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json()).toMatchObject({ code: 'CLUE.OUTSIDE_DISTRICT', district: { code: '370102', name: '历下区' }, lies_in: { code: '370103', name: '市中区' } });
    expect(r.json().outside_m).toBeGreaterThan(4400);
    expect(r.json().outside_m).toBeLessThan(4500);
    expect(r.json().message).toContain('4.5 km outside district 370102 历下区');
    expect(r.json().message).toContain('370103 市中区');
    expect([await clueCount(), await auditCount()]).toEqual([clues, audits]);
    const scopeAfter = await imageryScope(db, d102, '2026-11');
    expect(scopeAfter).not.toBe('all');
    expect(scopeAfter && scopeAfter !== 'all' ? Array.from(scopeAfter.boxes) : null).toEqual(scopeBefore && scopeBefore !== 'all' ? Array.from(scopeBefore.boxes) : null);
    expect(scopeBefore && scopeBefore !== 'all' ? scopeBefore.boxes.length : 0).toBe(4);
  });

  it('is refused as an outline mostly in the other district, even with a corner in its own', async () => {
    const before = await clueCount();
    // 2 km × 1 km, one tenth of it east of 117.0°E.
    const outline = { type: 'Polygon', coordinates: [[[116.98, 36.65], [117.002, 36.65], [117.002, 36.66], [116.98, 36.66], [116.98, 36.65]]] };
    const r = await t.request('d102', '/api/clues', clue('370102', outline));
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json()).toMatchObject({ code: 'CLUE.OUTSIDE_DISTRICT', lies_in: { code: '370103' } });
    expect(r.json().share_inside).toBeLessThan(0.2);
    expect(await clueCount()).toBe(before);
  });

  it('is refused for a bureau that mistyped the district, naming the district the point is in', async () => {
    const before = await clueCount();
    const r = await t.request('nr', '/api/clues', clue('370103', point(117.05, 36.65))); // 历下区's place, 市中区's code
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json()).toMatchObject({ code: 'CLUE.OUTSIDE_DISTRICT', district: { code: '370103', name: '市中区' }, lies_in: { code: '370102', name: '历下区' } });
    expect(r.json().message).toMatch(/it lies in district 370102 历下区/);
    expect(await clueCount()).toBe(before);
    const right = await t.request('nr', '/api/clues', clue('370102', point(117.05, 36.65)));
    expect(right.statusCode, right.body).toBe(201);
    expect(right.json().code).toMatch(/^370102-202611-X/);
  });
});

describe('a clue on its district\'s boundary', () => {
  it('is accepted within 50 m outside it (GPS, the boundary\'s digitisation), refused beyond', async () => {
    const near = await t.request('d102', '/api/clues', clue('370102', point(117.0 - 30 / M_PER_DEG_LON, 36.65)));
    expect(near.statusCode, near.body).toBe(201);
    const far = await t.request('d102', '/api/clues', clue('370102', point(117.0 - 80 / M_PER_DEG_LON, 36.65)));
    expect(far.statusCode, far.body).toBe(400);
    expect(far.json().outside_m).toBe(80);
    expect(far.json().message).toContain('80 m outside district 370102');
  });

  it('is accepted as an outline that straddles the boundary with most of it inside', async () => {
    const outline = { type: 'Polygon', coordinates: [[[116.9995, 36.65], [117.001, 36.65], [117.001, 36.651], [116.9995, 36.651], [116.9995, 36.65]]] };
    const r = await t.request('d102', '/api/clues', clue('370102', outline));
    expect(r.statusCode, r.body).toBe(201);
  });

  it('past the layer\'s outer edge goes to the nearest district within 1 km, as a batch routes a polygon there', async () => {
    const north = await t.request('d102', '/api/clues', clue('370102', point(117.05, 36.7 + 500 / 111_320)));
    expect(north.statusCode, north.body).toBe(201);
    const wrong = await t.request('nr', '/api/clues', clue('370103', point(117.05, 36.7 + 500 / 111_320)));
    expect(wrong.statusCode, wrong.body).toBe(400);
    expect(wrong.json().lies_in).toBeNull();
    expect(wrong.json().message).toContain('no district of the layer');
  });
});

describe('a district with no stored outline', () => {
  it('is not placed against one: its user\'s clue is accepted where the layer has no district (as before any batch routed it)', async () => {
    const r = await t.request('d104', '/api/clues', clue('370104', point(117.5, 36.65)));
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().code).toMatch(/^370104-202611-X/);
  });

  it("refuses a clue inside another district of the layer (its imagery scope would grow into that district's), within 50 m of its edge taken", async () => {
    const r = await t.request('d104', '/api/clues', clue('370104', point(117.05, 36.65)));
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json()).toMatchObject({ code: 'CLUE.OUTSIDE_DISTRICT', lies_in: { code: '370102', name: '历下区' } });
    expect(r.json().message).toContain('370104 has no stored outline');
    const edge = await t.request('d104', '/api/clues', clue('370104', point(117.1 - 30 / M_PER_DEG_LON, 36.65)));
    expect(edge.statusCode, edge.body).toBe(201);
  });
});

describe('a district of the layer with no polygon yet', () => {
  it('is offered to a bureau\'s clue form and takes its clues, under the layer\'s name', async () => {
    expect((await t.request('nr', '/api/districts')).json()).toEqual([
      { code: '370102', name: '历下区' },
      { code: '370103', name: '市中区' },
      { code: '370112', name: '历城区' },
    ]);
    const r = await t.request('nr', '/api/clues', clue('370112', point(117.05, 36.55)));
    expect(r.statusCode, r.body).toBe(201);
    const row = await db.query<{ district_name: string }>('SELECT district_name FROM clues WHERE code = $1', [r.json().code]);
    expect(row.rows[0].district_name).toBe('历城区');
  });
});

/**
 * The imagery scope is each clue's whole box widened by 2 km, not its point (review 40): a clue
 * whose point lies where it may but whose outline reaches far into another district opened that
 * district's imagery. A 2 km square where the layer has no district with a 30 m arm along its south
 * edge into 历下区 keeps its point on its surface in the square.
 */
describe("a clue's whole outline, not its point", () => {
  const M_PER_DEG_LAT = 111_320;
  /** A `side` m square with its south-west corner at (lon, lat), and a 30 m wide arm along its south edge `arm` m west (negative: east of its east edge). */
  const squareWithArm = (lon: number, lat: number, side: number, arm: number) => {
    const [x0, x1, y0, y1, w] = [lon, lon + side / M_PER_DEG_LON, lat, lat + side / M_PER_DEG_LAT, lat + 30 / M_PER_DEG_LAT];
    const ring =
      arm > 0
        ? [[x0 - arm / M_PER_DEG_LON, y0], [x1, y0], [x1, y1], [x0, y1], [x0, w], [x0 - arm / M_PER_DEG_LON, w], [x0 - arm / M_PER_DEG_LON, y0]]
        : [[x0, y0], [x1 - arm / M_PER_DEG_LON, y0], [x1 - arm / M_PER_DEG_LON, w], [x1, w], [x1, y1], [x0, y1], [x0, y0]];
    return { type: 'Polygon', coordinates: [ring] };
  };
  const d104: User = { name: 'd104', role: 'district', bureau: null, district: '370104' };
  const boxes = async (user: User) => {
    const s = await imageryScope(db, user, '2026-11');
    return s && s !== 'all' ? Array.from(s.boxes) : s;
  };

  it('refuses a district with no stored outline an outline reaching more than 50 m into another district, its point outside it', async () => {
    const [scope, clues] = [await boxes(d104), await clueCount()];
    // East of 历下区 (which ends at 117.1°E), where the layer has no district; the arm runs 2.5 km into it.
    const r = await t.request('d104', '/api/clues', clue('370104', squareWithArm(117.1 + 100 / M_PER_DEG_LON, 36.64, 2000, 2500)));
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json()).toMatchObject({ code: 'CLUE.OUTSIDE_DISTRICT', district: { code: '370104' }, lies_in: { code: '370102', name: '历下区' } });
    expect(r.json().message).toContain('the outline reaches more than 50 m into district 370102 历下区; district 370104 has no stored outline');
    expect([await boxes(d104), await clueCount()]).toEqual([scope, clues]);
    // An arm that stops 30 m short of 历下区's inside (20 m into it) is taken.
    const edge = await t.request('d104', '/api/clues', clue('370104', squareWithArm(117.1 + 100 / M_PER_DEG_LON, 36.62, 1000, 120)));
    expect(edge.statusCode, edge.body).toBe(201);
  });

  it("refuses any clue more than 5 km across (its box opens 2 km around it): the review's 30 km arm, and an outlined district's 49 % in a neighbour", async () => {
    const [scope, clues] = [await boxes(d104), await clueCount()];
    // The review's: a 2 km square where the layer has no district, its arm 30 km west through 历下区 and 市中区.
    const review = await t.request('d104', '/api/clues', clue('370104', squareWithArm(117.1 + 100 / M_PER_DEG_LON, 36.64, 2000, 30_000)));
    expect(review.statusCode, review.body).toBe(400);
    expect(review.json().code).toBe('CLUE.TOO_LARGE');
    expect(review.json().message).toMatch(/3\d\.\d km east-west/);
    expect(await boxes(d104)).toEqual(scope);
    // Most of it in 历下区 (the share rule passes it), its arm 8 km west into 市中区.
    const share = await t.request('d102', '/api/clues', clue('370102', squareWithArm(117.0 + 100 / M_PER_DEG_LON, 36.66, 1500, 8000)));
    expect(share.statusCode, share.body).toBe(400);
    expect(share.json().code).toBe('CLUE.TOO_LARGE');
    // North-south too.
    const tall = { type: 'Polygon', coordinates: [[[117.05, 36.61], [117.0504, 36.61], [117.0504, 36.67], [117.05, 36.67], [117.05, 36.61]]] };
    const r = await t.request('d102', '/api/clues', clue('370102', tall));
    expect([r.statusCode, r.json().code], r.body).toEqual([400, 'CLUE.TOO_LARGE']);
    expect(r.json().message).toMatch(/6\.\d km north-south/);
    expect(await clueCount()).toBe(clues);
    // A 10 km² site twice as long as wide (4.5 × 2.2 km) is one clue.
    const long = await t.request('d102', '/api/clues', clue('370102', squareWithArm(117.02, 36.62, 2200, -2300)));
    expect(long.statusCode, long.body).toBe(201);
  });
});
