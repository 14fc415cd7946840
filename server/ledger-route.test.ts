/**
 * `GET /api/ledger/{epoch}.{format}` (the lead bureau's month ledger, pipeline/outputs/ledger-exports.ts
 * `exportLedger` over the workflow tables) and `GET /workflow-labels.js` (the page's labels, generated
 * from schemas/workflow.ts), on a real database through the app `tuban serve` runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_FORMATS } from '../schemas/api.js';
import { DEFAULT_RULES } from '../pipeline/route/default-rules.js';
import type { Database } from '../pipeline/store/queryable.js';
import * as W from '../schemas/workflow.js';
import * as V from '../schemas/vocabulary.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';
import { csvRows } from '../pipeline/outputs/testing/csv-rows.js';

let db: Database;
let t: TestApp;
const CODE = '370102-202610-0001';
const OTHER = '370102-202610-0002';

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(CODE, '2026-10', square(117.0, 36.6)), polygon(OTHER, '2026-10', square(117.01, 36.6), { leadBureau: 'forestry' })], '2026-11-02');
  await addUsers(db, [
    ['chief', 'lead'],
    ['nr', 'bureau', 'natural_resources'],
    ['d102', 'district', '370102'],
    ['ana', 'analyst'],
    ['root', 'admin'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function get(user: string | null, url: string) {
  return t.app.inject({ method: 'GET', url, headers: user ? { authorization: `Bearer ${await t.token(user)}` } : {} });
}


describe('GET /api/ledger/{epoch}.{format}', () => {
  it('is the lead bureau\'s: 401 signed out, 403 for bureaus, districts, analysts and admins', async () => {
    expect((await get(null, '/api/ledger/2026-10.csv')).statusCode).toBe(401);
    for (const user of ['nr', 'd102', 'ana', 'root']) {
      const r = await get(user, '/api/ledger/2026-10.csv');
      expect([user, r.statusCode, r.json().code]).toEqual([user, 403, 'AUTH.FORBIDDEN']);
    }
  });

  it('follows the workflow: the row of a polygon shows the verdict once the bureau records it', async () => {
    const before = csvRows((await get('chief', '/api/ledger/2026-10.csv')).rawPayload.toString('utf8'));
    expect(before.map((r) => r['图斑编号']).sort()).toEqual([CODE, OTHER]);
    expect(before.find((r) => r['图斑编号'] === CODE)!['判定类型']).toBe('未核查');

    const h = { authorization: `Bearer ${await t.token('nr')}` };
    expect((await t.app.inject({ method: 'POST', url: `/api/polygons/${CODE}/accept`, headers: h, payload: {} })).statusCode).toBe(200);
    const v = await t.app.inject({ method: 'POST', url: `/api/polygons/${CODE}/verdict`, headers: h, payload: { verdict: 'illegal', violation_type: 'rural_housing', party: '张三' } });
    expect(v.statusCode, v.body).toBe(200);

    const r = await get('chief', '/api/ledger/2026-10.csv');
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toBe('attachment; filename="ledger-2026-10.csv"');
    expect(r.headers['cache-control']).toBe('private, no-store');
    const row = csvRows(r.rawPayload.toString('utf8')).find((x) => x['图斑编号'] === CODE)!;
    expect([row['判定类型'], row['违法类型'], row['当事人']]).toEqual([W.VERDICT_ZH.illegal, W.VIOLATION_TYPE_ZH.rural_housing, '张三']);
    expect(csvRows(r.rawPayload.toString('utf8')).find((x) => x['图斑编号'] === OTHER)!['判定类型']).toBe('未核查');
  });

  it('sends every format with its type; an unknown format or month is a 400', async () => {
    const magic: Record<string, (b: Buffer) => boolean> = {
      xlsx: (b) => b.subarray(0, 2).toString() === 'PK',
      'shp.zip': (b) => b.subarray(0, 2).toString() === 'PK',
      gpkg: (b) => b.subarray(0, 15).toString() === 'SQLite format 3',
      geojson: (b) => JSON.parse(b.toString()).features.length === 2,
      csv: (b) => b.toString().includes('图斑编号'),
    };
    for (const f of LEDGER_FORMATS) {
      const r = await get('chief', `/api/ledger/2026-10.${f}`);
      expect([f, r.statusCode]).toEqual([f, 200]);
      expect(magic[f](r.rawPayload), f).toBe(true);
    }
    for (const bad of ['2026-10.pdf', '2026-13.csv', '202610.csv', '2026-10.shpzip']) {
      const r = await get('chief', `/api/ledger/${bad}`);
      expect([bad, r.statusCode, r.json().code]).toEqual([bad, 400, 'VALIDATION']);
    }
  });
});

describe('GET /workflow-labels.js', () => {
  it('is public and holds exactly the labels of schemas/workflow.ts and the rule table', async () => {
    const r = await get(null, '/workflow-labels.js');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const mod = (await import(`data:text/javascript;base64,${Buffer.from(r.body).toString('base64')}`)) as Record<string, unknown>;
    expect({ ...mod }).toEqual({
      STATUS: W.WORKFLOW_STATUS_ZH,
      VERDICTS: W.VERDICT_ZH,
      VIOLATION_TYPES: W.VIOLATION_TYPE_ZH,
      VIOLATION_SUBTYPES: W.VIOLATION_SUBTYPE_ZH,
      VIOLATION_NATURES: W.VIOLATION_NATURE_ZH,
      OTHER_SITUATIONS: W.OTHER_SITUATION_ZH,
      RECTIFICATION_METHODS: W.RECTIFICATION_METHOD_ZH,
      CLUE_SOURCES: W.CLUE_SOURCE_ZH,
      HANDOVER_RECIPIENTS: W.HANDOVER_RECIPIENT_ZH,
      CHANGE_TYPES: V.CHANGE_TYPE_ZH,
      PRIORITY: V.PRIORITY_ZH,
      BUREAUS: Object.fromEntries(Object.entries(DEFAULT_RULES.bureaus).map(([id, b]) => [id, b.name_zh])),
      ZONE_KINDS: DEFAULT_RULES.zone_names_zh,
    });
    // Every id the API accepts has its label on the page.
    expect(Object.keys(mod.VIOLATION_TYPES as object)).toEqual(W.violationTypeSchema.options);
    // Every zone kind a polygon's overlaps may hold is named on the card's 叠加分析 table (生态保护红线 too).
    expect(Object.keys(mod.ZONE_KINDS as object).sort()).toEqual([...V.ZONE_KINDS].sort());
    expect((mod.ZONE_KINDS as Record<string, string>).ecological_redline).toBe('生态保护红线');
    expect(Object.keys(mod.VIOLATION_NATURES as object)).toEqual(W.violationNatureSchema.options);
  });
});
