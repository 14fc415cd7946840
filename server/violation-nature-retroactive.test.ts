/**
 * Two groups of case facts the ledger carries (RESEARCH.md §3.5, §3.6, §3.8 items 5, 6 and 10, §4.4):
 * 违法性质 / 主体分类 (`violation_nature`) of an illegal verdict, given with it or later with a
 * rectification, and 补办手续文号 / 面积 / 其中耕地面积 (`retroactive_doc_no`, `retroactive_area_m2`,
 * `retroactive_farmland_m2`) of a rectification
 * whose method seeks a retroactive approval (补办手续, 拆补组合). What is refused, who may record them,
 * what is kept and dropped, and the ledger's columns for them, through the server's HTTP API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRows } from '../pipeline/outputs/testing/csv-rows.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const WITH_VERDICT = '370102-202610-0001';
const LATER = '370102-202610-0002';
const LEGAL = '370102-202610-0003';
const OTHER = '370102-202610-0004';
const APPROVED = '370102-202610-0005';
const DEMOLISHED = '370102-202610-0006';
const COLUMNS = ['违法性质', '补办手续文号', '补办手续面积(亩)', '补办手续面积(平方米)', '补办手续其中耕地面积(亩)'] as const;

let db: Database;
let t: TestApp;

async function ok(user: string, url: string, body: unknown = {}) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, 200]);
  return r;
}
const rectify = (code: string, body: Record<string, unknown>, user = 'nr') => t.request(user, `/api/polygons/${code}/rectification`, { method: 'retroactive_approval', progress: 50, ...body });
const stored = async (code: string) =>
  (await db.query<{ d: Record<string, unknown> | null; r: Record<string, unknown> | null; v: number }>('SELECT verdict_details AS d, rectification AS r, version AS v FROM cases WHERE code = $1', [code])).rows[0];
const ledger = async () => csvRows((await t.request('chief', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8'));
const cells = (rows: Record<string, string>[], code: string) => COLUMNS.map((c) => rows.find((r) => r.图斑编号 === code)![c]);
const illegal = { verdict: 'illegal', violation_type: 'illegal_occupation' };

beforeAll(async () => {
  db = await openTestDatabase();
  const codes = [WITH_VERDICT, LATER, LEGAL, OTHER, APPROVED, DEMOLISHED];
  // Each polygon's monitored area is 9000 m² (13.5 亩), led by natural resources, urban management co-handling.
  await writeBatch(db, 'b-2026-10', '2026-10', codes.map((code, i) => polygon(code, '2026-10', square(117 + i / 100, 36.6), { coBureaus: ['urban_management'] })), '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources'], ['um', 'bureau', 'urban_management']]);
  t = await testApp(db);
  t.setToday('2026-11-03');
  for (const code of codes) await ok('nr', `/api/polygons/${code}/accept`);
  for (const code of [LATER, APPROVED, DEMOLISHED]) await ok('nr', `/api/polygons/${code}/verdict`, illegal);
  t.setToday('2026-11-12');
}, 180_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('违法性质 (violation_nature)', () => {
  it('is refused, by name, with a legal or other verdict, and as an unknown value; nothing is stored', async () => {
    const refusals: [string, Record<string, unknown>, RegExp][] = [
      [LEGAL, { verdict: 'legal', approval_doc_no: '济自然资批〔2026〕7号', violation_nature: 'individual' }, /body\.violation_nature: violation_nature \(违法性质\) goes with verdict illegal/],
      [OTHER, { verdict: 'other', situation: 'seasonal', reason: '晾晒', violation_nature: 'organisation' }, /body\.violation_nature: violation_nature \(违法性质\) goes with verdict illegal/],
      [WITH_VERDICT, { ...illegal, violation_nature: '个人违法' }, /body\.violation_nature/],
    ];
    for (const [code, body, message] of refusals) {
      const before = await stored(code);
      const r = await t.request('nr', `/api/polygons/${code}/verdict`, body);
      expect([JSON.stringify(body), r.statusCode, r.json().code], r.body).toEqual([JSON.stringify(body), 400, 'VALIDATION']);
      expect(r.json().message).toMatch(message);
      expect(await stored(code)).toEqual(before);
    }
    // Without it the same verdicts stand.
    await ok('nr', `/api/polygons/${LEGAL}/verdict`, { verdict: 'legal', approval_doc_no: '济自然资批〔2026〕7号' });
    await ok('nr', `/api/polygons/${OTHER}/verdict`, { verdict: 'other', situation: 'seasonal', reason: '晾晒' });
  });

  it('is recorded by the lead bureau with an illegal verdict, not by a co-handling bureau', async () => {
    const body = { ...illegal, violation_nature: 'government' };
    const co = await t.request('um', `/api/polygons/${WITH_VERDICT}/verdict`, body);
    expect([co.statusCode, co.json().code]).toEqual([403, 'CASE.NOT_LEAD']);
    expect((await stored(WITH_VERDICT)).d).toBeNull();
    const r = await ok('nr', `/api/polygons/${WITH_VERDICT}/verdict`, body);
    expect(r.json().case.verdict_details.violation_nature).toBe('government');
  });

  it('found later goes with a rectification, kept with the verdict; a later report without it keeps it', async () => {
    const co = await rectify(LATER, { violation_nature: 'organisation' }, 'um');
    expect([co.statusCode, co.json().code]).toEqual([403, 'CASE.NOT_LEAD']);
    const r = await rectify(LATER, { method: 'demolish_restore', violation_nature: 'organisation' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().case.verdict_details).toEqual({ violation_type: 'illegal_occupation', violation_nature: 'organisation' });
    expect('violation_nature' in r.json().case.rectification).toBe(false);
    expect((await rectify(LATER, { method: 'demolish_restore', progress: 80 })).statusCode).toBe(200);
    expect((await stored(LATER)).d).toMatchObject({ violation_nature: 'organisation' });
    // A value outside the vocabulary, here as in the verdict.
    expect((await rectify(LATER, { method: 'demolish_restore', violation_nature: 'company' })).json()).toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/violation_nature/) });
  });

  it('is not recorded on a legal case by a rectification (only illegal findings are rectified)', async () => {
    const r = await rectify(LEGAL, { method: 'demolish_restore', violation_nature: 'individual' });
    expect([r.statusCode, r.json().code]).toEqual([409, 'CASE.VERDICT_MISMATCH']);
  });
});

describe('补办手续文号, 面积 and 其中耕地面积 (retroactive_doc_no, retroactive_area_m2, retroactive_farmland_m2)', () => {
  it('are refused (400 VALIDATION naming the field, nothing stored) without a method that seeks an approval, or past the site’s bound', async () => {
    const before = await stored(APPROVED);
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ method: 'demolish_restore', retroactive_doc_no: '济自然资补〔2026〕3号' }, /retroactive_doc_no goes with method retroactive_approval \(补办手续\) or combined \(拆补组合\), not demolish_restore/],
      [{ method: 'fine', retroactive_area_m2: 100 }, /retroactive_area_m2 goes with method .* not fine/],
      [{ retroactive_area_m2: -1 }, /retroactive_area_m2/],
      [{ retroactive_area_m2: '100' }, /retroactive_area_m2/],
      [{ retroactive_doc_no: '  ' }, /retroactive_doc_no/],
      // m², at most 1.5 × the site's 9000 m² (亩 typed as m² would pass, m² typed with a digit too many not).
      [{ retroactive_area_m2: 13_501 }, /retroactive_area_m2 13501 m² is more than 1\.5 × the site's 9000 m²/],
      // 其中耕地: a part of the approved area, in m², with a method that seeks an approval.
      [{ method: 'demolish_restore', retroactive_farmland_m2: 100 }, /retroactive_farmland_m2 goes with method retroactive_approval \(补办手续\) or combined \(拆补组合\), not demolish_restore/],
      [{ retroactive_farmland_m2: -1 }, /retroactive_farmland_m2/],
      [{ retroactive_farmland_m2: '100' }, /retroactive_farmland_m2/],
      [{ retroactive_area_m2: 6000, retroactive_farmland_m2: 6000.5 }, /retroactive_farmland_m2 6000\.5 m² is more than retroactive_area_m2 6000 m²/],
    ];
    for (const [body, message] of refusals) {
      const r = await rectify(APPROVED, body);
      expect([JSON.stringify(body), r.statusCode, r.json().code], r.body).toEqual([JSON.stringify(body), 400, 'VALIDATION']);
      expect(r.json().message).toMatch(message);
    }
    expect(await stored(APPROVED)).toEqual(before);
  });

  it('are recorded by the lead bureau under 补办手续 and kept by a later report that leaves them out; not by a co-handling bureau', async () => {
    const facts = { retroactive_doc_no: '济自然资补〔2026〕3号', retroactive_area_m2: 8000, retroactive_farmland_m2: 5000 };
    const co = await rectify(APPROVED, facts, 'um');
    expect([co.statusCode, co.json().code]).toEqual([403, 'CASE.NOT_LEAD']);
    const r = await rectify(APPROVED, facts);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().case.rectification).toMatchObject({ method: 'retroactive_approval', ...facts });
    expect((await rectify(APPROVED, { progress: 100 })).statusCode).toBe(200);
    expect((await stored(APPROVED)).r).toMatchObject({ progress: 100, ...facts });
  });

  it('其中耕地面积 is refused past the approved area recorded earlier, either figure sent alone (400 naming both, nothing stored)', async () => {
    const before = await stored(APPROVED);
    for (const [body, message] of [
      [{ retroactive_farmland_m2: 8000.01 }, /retroactive_farmland_m2 8000\.01 m² is more than retroactive_area_m2 8000 m²/],
      [{ retroactive_area_m2: 4999 }, /retroactive_farmland_m2 5000 m² is more than retroactive_area_m2 4999 m²/],
    ] as const) {
      const r = await rectify(APPROVED, body);
      expect([JSON.stringify(body), r.statusCode, r.json().code], r.body).toEqual([JSON.stringify(body), 400, 'VALIDATION']);
      expect(r.json().message).toMatch(message);
    }
    expect(await stored(APPROVED)).toEqual(before);
    // All of it cultivated land is allowed, and 0.
    expect((await rectify(APPROVED, { retroactive_farmland_m2: 8000 })).statusCode).toBe(200);
    expect((await rectify(APPROVED, { retroactive_farmland_m2: 0 })).statusCode).toBe(200);
    expect((await rectify(APPROVED, { retroactive_farmland_m2: 5000 })).statusCode).toBe(200);
  });

  it('go with 拆补组合 beside the restored area, and are dropped when the method turns to demolition only', async () => {
    const r = await rectify(DEMOLISHED, { method: 'combined', restored_area_m2: 3000, retroactive_doc_no: '济自然资补〔2026〕9号', retroactive_area_m2: 6000, retroactive_farmland_m2: 3000 });
    expect(r.statusCode, r.body).toBe(200);
    const rows = await ledger();
    expect(cells(rows, DEMOLISHED)).toEqual(['', '济自然资补〔2026〕9号', '9', '6000', '4.5']);
    const d = await rectify(DEMOLISHED, { method: 'demolish_restore', progress: 60 });
    expect(d.statusCode, d.body).toBe(200);
    const rect = d.json().case.rectification;
    expect([rect.retroactive_doc_no, rect.retroactive_area_m2, rect.retroactive_farmland_m2, rect.restored_area_m2]).toEqual([undefined, undefined, undefined, 3000]);
  });

  it('under 拆补组合 add up with the restored area to at most 1.5 × the site, checked against what is stored in either order (400 naming both, nothing stored)', async () => {
    // DEMOLISHED: 3000 m² restored recorded; the site's 9000 m² allow 13 500 m² in all.
    const combined = (body: Record<string, unknown>) => rectify(DEMOLISHED, { method: 'combined', ...body });
    const refuse = async (body: Record<string, unknown>, message: RegExp) => {
      const before = await stored(DEMOLISHED);
      const r = await combined(body);
      expect([JSON.stringify(body), r.statusCode, r.json().code], r.body).toEqual([JSON.stringify(body), 400, 'VALIDATION']);
      expect(r.json().message).toMatch(message);
      expect(r.json()).toMatchObject({ fields: ['restored_area_m2', 'retroactive_area_m2'], max_m2: 13500 });
      expect(await stored(DEMOLISHED)).toEqual(before);
    };
    // The approval after the demolition, and both in one report.
    await refuse({ retroactive_area_m2: 10_500.5 }, /restored_area_m2 3000 m² \+ retroactive_area_m2 10500\.5 m² = 13500\.5 m² is more than 1\.5 × the site's 9000 m² \(13\.50 亩\)/);
    await refuse({ restored_area_m2: 7000, retroactive_area_m2: 7000 }, /restored_area_m2 7000 m² \+ retroactive_area_m2 7000 m² = 14000 m² is more than/);
    expect((await combined({ retroactive_area_m2: 10_500 })).statusCode).toBe(200);
    // The demolition after the approval.
    await refuse({ restored_area_m2: 3000.5 }, /restored_area_m2 3000\.5 m² \+ retroactive_area_m2 10500 m² = 13500\.5 m²/);
    expect((await combined({ restored_area_m2: 2000 })).statusCode).toBe(200);
    expect((await stored(DEMOLISHED)).r).toMatchObject({ method: 'combined', restored_area_m2: 2000, retroactive_area_m2: 10500 });
    // 补办手续 alone is not a split of the site: each figure has its own bound. Turned to 拆补组合, the two recorded add up.
    expect((await rectify(DEMOLISHED, { restored_area_m2: 9000 })).statusCode).toBe(200);
    await refuse({ progress: 70 }, /restored_area_m2 9000 m² \+ retroactive_area_m2 10500 m² = 19500 m²/);
    // Demolition only drops the approval (the ledger's columns below are blank for it).
    expect((await rectify(DEMOLISHED, { method: 'demolish_restore', progress: 60 })).statusCode).toBe(200);
  });

  it('are in the OpenAPI document of the rectification body, and 违法性质 in the verdict’s', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const rect = doc.paths['/api/polygons/{code}/rectification'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(rect.properties)).toEqual(expect.arrayContaining(['retroactive_doc_no', 'retroactive_area_m2', 'retroactive_farmland_m2', 'violation_nature']));
    expect(rect.properties.retroactive_area_m2).toMatchObject({ type: 'number', minimum: 0 });
    expect(rect.properties.retroactive_farmland_m2).toMatchObject({ type: 'number', minimum: 0 });
    const verdict = doc.paths['/api/polygons/{code}/verdict'].post.requestBody.content['application/json'].schema;
    const variants = verdict.oneOf ?? verdict.anyOf;
    const illegalVariant = variants.find((v: { properties: { verdict: { const?: string; enum?: string[] } } }) => (v.properties.verdict.const ?? v.properties.verdict.enum?.[0]) === 'illegal');
    expect(illegalVariant.properties.violation_nature.enum).toEqual(['individual', 'organisation', 'government']);
  });
});

describe('the ledger’s columns for them', () => {
  it('are in the header, 违法性质 after 违法类型 and 补办手续 after 拆除复耕面积', async () => {
    const text = (await t.request('chief', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8');
    const header = text.slice(1, text.indexOf('\r\n')).split(',');
    const at = (c: string) => header.indexOf(c);
    expect(COLUMNS.map(at).every((i) => i > 0)).toBe(true);
    expect([at('违法类型') + 1 === at('违法性质'), at('拆除复耕面积(平方米)') + 1 === at('补办手续文号'), at('补办手续面积(平方米)') + 1 === at('补办手续其中耕地面积(亩)'), at('补办手续其中耕地面积(亩)') < at('是否整改到位')]).toEqual([true, true, true, true]);
  });

  it('give each violation who violated, in Chinese, and an approval under 补办手续 in 亩 and m², its cultivated land in 亩; blank for legal and other rows', async () => {
    const rows = await ledger();
    expect(cells(rows, WITH_VERDICT)).toEqual(['政府及部门违法', '', '', '', '']);
    expect(cells(rows, LATER)).toEqual(['单位违法', '', '', '', '']);
    expect(cells(rows, APPROVED)).toEqual(['', '济自然资补〔2026〕3号', '12', '8000', '7.5']);
    // 拆补组合 turned to 拆除复耕: no approval any more.
    expect(cells(rows, DEMOLISHED)).toEqual(['', '', '', '', '']);
    expect(cells(rows, LEGAL)).toEqual(['', '', '', '', '']);
    expect(cells(rows, OTHER)).toEqual(['', '', '', '', '']);
  });
});
