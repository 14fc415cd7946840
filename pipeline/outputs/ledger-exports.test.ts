/**
 * The month's ledger from a real database (in-memory PGlite with PostGIS, or a server with
 * TUBAN_TEST_DATABASE_URL) with workflow rows, exported in every format and read back by independent
 * readers: GDAL's ogrinfo (gpkg, shp.zip via /vsizip/, geojson), exceljs (xlsx), a CSV parser.
 *
 * The workflow tables are created here with the columns server/ (issue 13) gives them in its
 * migration; once that migration is merged, `migrate` creates them and WORKFLOW_TABLES goes.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ogrinfo, ogrinfoMissing } from '../../geo/vector/ogrinfo.js';
import { quarterReport, reportCsvBytes, reportXlsxBytes } from '../reports/quarter-report.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { replaceBatchPolygons, setBatchStatus, upsertBatch } from '../store/repository.js';
import { LEDGER_COLUMNS } from './ledger.js';
import { csvRows } from './testing/csv-rows.js';
import { oneDispositionEach } from './ledger-disposition.js';
import { LEDGER_FORMATS } from '../../schemas/api.js';
import { encodeLedger, exportLedger, loadLedger, type LedgerData } from './ledger-exports.js';
import { samplePolygon } from '../../fixtures/sample-polygon.js';
import { loadWorkflowLedger } from './workflow-dispositions.js';

const WORKFLOW_TABLES = `
CREATE TABLE IF NOT EXISTS clues (code text PRIMARY KEY, epoch text NOT NULL, source text NOT NULL, geom geometry(Geometry, 4326) NOT NULL,
  area_m2 double precision NOT NULL, district_code text NOT NULL, district_name text NOT NULL, lead_bureau text NOT NULL,
  co_bureaus jsonb NOT NULL DEFAULT '[]'::jsonb, description text NOT NULL, reported_by text NOT NULL, reported_on date NOT NULL);
CREATE TABLE IF NOT EXISTS cases (code text PRIMARY KEY, epoch text NOT NULL, source text NOT NULL DEFAULT 'satellite', status text NOT NULL DEFAULT 'issued',
  lead_bureau text NOT NULL, co_bureaus jsonb NOT NULL, district_code text NOT NULL, verdict text, verdict_details jsonb, rectification jsonb,
  issued_on date NOT NULL, due_date date, due_rule text, geom_hash text NOT NULL, geometry_changed boolean NOT NULL DEFAULT false,
  escalation_level integer NOT NULL DEFAULT 0, version integer NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS parcels (code text NOT NULL REFERENCES cases(code), idx integer NOT NULL, geom geometry(Polygon, 4326) NOT NULL,
  area_m2 double precision NOT NULL, area_mu double precision NOT NULL, verdict text, verdict_details jsonb, PRIMARY KEY (code, idx));
CREATE TABLE IF NOT EXISTS escalations (id bigserial PRIMARY KEY, code text NOT NULL REFERENCES cases(code), kind text NOT NULL, rule text NOT NULL,
  level integer NOT NULL, due_date date, reason text NOT NULL, created_by text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), actor text NOT NULL,
  action text NOT NULL, code text, before jsonb, after jsonb)`;

const sq = (lon: number, lat: number, d = 0.001) => ({ type: 'Polygon' as const, coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] });

/** Entry names from a zip's central directory (the end record's offset), read independently of the writer. */
function zipNames(zip: Buffer): string[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const names: string[] = [];
  for (let o = zip.readUInt32LE(end + 16), i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const n = zip.readUInt16LE(o + 28), extra = zip.readUInt16LE(o + 30), comment = zip.readUInt16LE(o + 32);
    names.push(zip.toString('utf8', o + 46, o + 46 + n));
    o += 46 + n + extra + comment;
  }
  return names;
}

let db: Database;
let dir: string;
let data: LedgerData;
const CI = process.env.CI === 'true';
const missing = ogrinfoMissing();

beforeAll(async () => {
  const url = process.env.TUBAN_TEST_DATABASE_URL;
  db = url ? await openDatabase(url, { schema: `tuban_ledger_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
  await migrate(db);
  dir = await mkdtemp(join(tmpdir(), 'tuban-ledger-export-'));
  const districts = join(dir, 'districts.geojson');
  await writeFile(districts, JSON.stringify({
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { kind: 'district', code: '370102', name: '历下区' }, geometry: sq(116.9, 35.9, 0.3) },
      { type: 'Feature', properties: { kind: 'district', code: '370103', name: '市中区' }, geometry: sq(117.2, 35.9, 0.3) },
      { type: 'Feature', properties: { kind: 'district', code: '370104', name: '槐荫区' }, geometry: sq(117.5, 35.9, 0.3) },
    ],
  }));
  await upsertBatch(db, { id: 'b-2026-09', epoch: '2026-09', params: {}, plan: { args: { zones: [districts] } } });
  await replaceBatchPolygons(db, 'b-2026-09', [samplePolygon({ code: '370103-202609-0001', epoch: '2026-09', geometry: sq(117.3, 36.0) })]);
  // One tile, detected, over every district (the quarterly report's 零报告 needs a look at the district).
  await upsertBatch(db, { id: 'b-2026-10', epoch: '2026-10', params: {}, plan: { args: { zones: [districts] }, tiles: [{ tile: { id: 't-all', footprint: sq(116, 35, 3) } }] } });
  await db.query("INSERT INTO tiles (batch_id, tile_id, status) VALUES ('b-2026-10', 't-all', 'done')");
  await replaceBatchPolygons(db, 'b-2026-10', [
    // In 生态保护红线 (1000 m² = 1.5 亩) and 永久基本农田 (2000 m² = 3 亩).
    samplePolygon({ code: '370102-202610-0001', geometry: sq(117.0, 36.0), areaM2: 3000, leadBureau: 'natural_resources', overlaps: { ecological_redline: { m2: 1000, share: 1 / 3 }, permanent_basic_farmland: { m2: 2000, share: 2 / 3 } } }),
    samplePolygon({ code: '370102-202610-0002', geometry: sq(117.01, 36.0), areaM2: 1500, leadBureau: 'forestry' }),
    samplePolygon({ code: '370103-202610-0001', geometry: sq(117.3, 36.0), areaM2: 900, districtCode: '370103', districtName: '市中区', townshipCode: '370103002', townshipName: '大观园街道', villageCode: null, villageName: null, previousCode: '370103-202609-0001' }),
    // Outside every township of its batch's layer (or no layer): 乡镇/街道 blank.
    samplePolygon({ code: '370103-202610-0002', geometry: sq(117.31, 36.0), areaM2: 600, districtCode: '370103', districtName: '市中区', townshipCode: null, townshipName: null, villageCode: null, villageName: null, leadBureau: 'natural_resources' }),
  ]);
  await setBatchStatus(db, 'b-2026-10', 'done');
  await db.query("UPDATE batches SET finished_at = '2026-11-02T08:00:00Z' WHERE id = 'b-2026-10'");
  for (const stmt of WORKFLOW_TABLES.split(';')) await db.query(stmt);
  const kase = (code: string, status: string, verdict: string | null, details: unknown, rect: unknown, due: string) =>
    db.query(
      `INSERT INTO cases (code, epoch, status, lead_bureau, co_bureaus, district_code, verdict, verdict_details, rectification, issued_on, due_date, geom_hash)
       VALUES ($1, '2026-10', $2, coalesce((SELECT lead_bureau FROM polygons WHERE code = $1 LIMIT 1), 'natural_resources'), '[]', left($1, 6), $3, $4::jsonb, $5::jsonb, '2026-11-02', $6, 'h')`,
      [code, status, verdict, details === null ? null : JSON.stringify(details), rect === null ? null : JSON.stringify(rect), due],
    );
  // Illegal, split in two parcels, rectifying past its deadline, escalated.
  // (The server sets a split polygon's verdict once every parcel has one: illegal if any is.)
  await kase('370102-202610-0001', 'rectifying', 'illegal', { violation_type: 'illegal_occupation', violation_subtype: 'built_before_approval', party: '某建材公司' },
    { method: 'combined', progress: 40, case_filed: true, penalty_decided_on: '2026-11-10', case_filed_on: '2026-11-04', fine_amount_yuan: 56000.5, restored_area_m2: 1000, court_enforcement: true,
      retroactive_doc_no: '济自然资补〔2026〕3号', retroactive_area_m2: 1500, retroactive_farmland_m2: 1200 }, '2026-11-20');
  await db.query(`UPDATE cases SET due_rule = 'rectification' WHERE code = '370102-202610-0001'`);
  await db.query(`INSERT INTO parcels (code, idx, geom, area_m2, area_mu, verdict, verdict_details) VALUES
    ('370102-202610-0001', 1, ST_GeomFromText('POLYGON((117 36,117.0005 36,117.0005 36.001,117 36.001,117 36))', 4326), 2000, 3, 'illegal', '{"violation_type":"illegal_occupation","violation_nature":"organisation"}'),
    ('370102-202610-0001', 2, ST_GeomFromText('POLYGON((117.0005 36,117.001 36,117.001 36.001,117.0005 36.001,117.0005 36))', 4326), 1000, 1.5, 'legal', '{"approval_doc_no":"济自然资批〔2026〕12号"}')`);
  await db.query(`INSERT INTO escalations (code, kind, rule, level, due_date, reason, created_by) VALUES ('370102-202610-0001', 'overdue', 'handover', 1, '2026-11-20', '逾期未整改', 'system')`);
  await db.query(`INSERT INTO handovers (code, recipient, handed_on, reference, note, created_by) VALUES ('370102-202610-0001', 'discipline', '2026-12-01', '济自然资移〔2026〕3号', '逾期未整改，移送问题线索', 'lead1')`);
  // Legal, closed and reviewed.
  await kase('370102-202610-0002', 'reviewed', 'legal', { approval_doc_no: '济自然资批〔2026〕7号', actual_use: '厂房' },
    { closure: { reason: '手续齐全', closed_on: '2026-11-25' } }, '2026-12-01');
  await db.query(`INSERT INTO audit_log (actor, action, code) VALUES ('lead1', 'close', '370102-202610-0002')`);
  // The lead bureau's review approved the closure on 28 November (10:00 in China): 销号 takes effect then.
  await db.query(`INSERT INTO audit_log (actor, action, code, at, after) VALUES ('chief', 'review', '370102-202610-0002', '2026-11-28T02:00:00Z', '{"status":"reviewed","approve":true}')`);
  // 370103-202610-0002 has no case at all: 未核查. The continuing 370103-202610-0001 joined its site's
  // open case (merged: that case's progression, no row of its own).
  await kase('370103-202610-0001', 'accepted', null, null, null, '2026-12-01');
  await db.query(`UPDATE cases SET status = 'merged', merged_into = '370103-202609-0001', due_date = NULL WHERE code = '370103-202610-0001'`);
  // A clue from a patrol (a point) judged 其他, and one from the hotline (an outline), not yet opened.
  await db.query(`INSERT INTO clues (code, epoch, source, geom, area_m2, district_code, district_name, lead_bureau, description, reported_by, reported_on) VALUES
    ('370103-202610-X001', '2026-10', 'patrol', ST_SetSRID(ST_MakePoint(117.35, 36.05), 4326), 0, '370103', '市中区', 'natural_resources', '巡查发现堆土', 'd1', '2026-10-12'),
    ('370102-202610-X002', '2026-10', 'hotline', ST_GeomFromText('POLYGON((117.1 36.1,117.101 36.1,117.101 36.101,117.1 36.101,117.1 36.1))', 4326), 9000, '370102', '历下区', 'urban_management', '12345 举报 私搭乱建', 'd2', '2026-10-20')`);
  await kase('370103-202610-X001', 'closed', 'other', { situation: 'seasonal', reason: '农户晾晒秸秆' }, null, '2026-11-01');
  data = await loadLedger(db, '2026-10', { asOf: '2026-12-10' });
}, 120_000);

afterAll(async () => {
  await db?.close();
});

describe('the month ledger from the database', () => {
  it('lists the new sites and the clues, each with its one disposition from the workflow', () => {
    expect(data.rows.map((r) => r.图斑编号)).toEqual(['370102-202610-0001', '370102-202610-0002', '370102-202610-X002', '370103-202610-0002', '370103-202610-X001']);
    expect(data.rows.map((r) => r.序号)).toEqual([1, 2, 3, 4, 5]);
    // 乡镇/街道 as the batch stored it; blank outside every township and for clues.
    expect(data.rows.map((r) => r['乡镇/街道'])).toEqual(['解放路街道', '解放路街道', '', '', '']);
    // 村 likewise: blank outside every village, and for clues.
    expect(data.rows.map((r) => r.村)).toEqual(['文化东路社区', '文化东路社区', '', '', '']);
    const byCode = Object.fromEntries(data.rows.map((r) => [r.图斑编号, r]));
    const a = byCode['370102-202610-0001'];
    expect([a.判定类型, a.违法类型, a.当事人, a.整改方式, a.是否整改到位, a.销号状态, a.是否逾期, a.是否移送纪委监委, a.办理期限]).toEqual([
      '违法', '非法占用土地（未批先建）', '某建材公司', '拆补组合', '否', '县级已填报违法', '是', '是', '2026-11-20',
    ]);
    expect(a.备注).toContain('370102-202610-0001-2 合法 1.50亩');
    expect(a.备注).toContain('移送纪委监委 2026-12-01（济自然资移〔2026〕3号）');
    // Filed (立案), its penalty not yet said to be carried out, handed to the commission, not the police.
    expect([a.是否立案, a.是否处罚到位, a.是否移送公安]).toEqual(['是', '', '否']);
    expect([a.巡查首次发现时间, a.是否发现不及时]).toEqual(['', '是']);
    // Rectifying (not closed: no 结案时间), on its rectification clock, penalty decided, handed over.
    expect([a.处罚决定时间, a.整改期限, a.结案时间, a.移送纪委监委时间, a.移送纪委监委理由]).toEqual(['2026-11-10', '2026-11-20', '', '2026-12-01', '逾期未整改，移送问题线索']);
    // The filed case's day, fine and court enforcement; the area restored, in 亩 and m² as 监测面积.
    expect([a.立案时间, a['罚没金额(元)'], a['拆除复耕面积(亩)'], a['拆除复耕面积(平方米)'], a.是否申请法院强制执行]).toEqual(['2026-11-04', 56000.5, 1.5, 1000, '是']);
    // 拆补组合: the retroactive approval's number and area (亩 and m²), its cultivated land (亩); 违法性质 from its illegal parcel.
    expect([a.违法性质, a.补办手续文号, a['补办手续面积(亩)'], a['补办手续面积(平方米)'], a['补办手续其中耕地面积(亩)']]).toEqual(['单位违法', '济自然资补〔2026〕3号', 2.25, 1500, 1.8]);
    const b = byCode['370102-202610-0002'];
    // Legal: none of a violation's case facts.
    expect([b.立案时间, b['罚没金额(元)'], b['拆除复耕面积(亩)'], b.是否申请法院强制执行]).toEqual(['', null, null, '']);
    expect([b.违法性质, b.补办手续文号, b['补办手续面积(亩)'], b['补办手续面积(平方米)'], b['补办手续其中耕地面积(亩)']]).toEqual(['', '', null, null, null]);
    // 销号时间: the day the review approved it, not the day the bureau closed it (2026-11-25).
    expect([b.判定类型, b.批准文号, b.实际用途, b.销号状态, b.销号时间, b.办理状态]).toEqual(['合法', '济自然资批〔2026〕7号', '厂房', '已销号', '2026-11-28', '审核通过']);
    // No case yet (no server opened the month): the default clock its row shows, past by 2026-12-10.
    expect([byCode['370103-202610-0002'].判定类型, byCode['370103-202610-0002'].销号状态, byCode['370103-202610-0002'].办理期限, byCode['370103-202610-0002'].是否逾期]).toEqual(['未核查', '未销号', '2026-11-30', '是']);
    const patrol = byCode['370103-202610-X001'];
    // Closed, its review not yet done: not 销号 yet, and no 销号时间.
    expect([patrol.发现方式, patrol.判定类型, patrol.其他情形, patrol.销号状态, patrol.销号时间, patrol.办理状态]).toEqual(['巡查发现', '其他', '季节性/农业生产：农户晾晒秸秆', '未销号', '', '已销号待审核']);
    expect([byCode['370102-202610-X002'].发现方式, byCode['370102-202610-X002'].判定类型, byCode['370102-202610-X002']['监测面积(亩)']]).toEqual(['热线(12336/12345)', '未核查', 13.5]);
  });

  it('gives every polygon of the month, continuing sites too, exactly one disposition', async () => {
    const codes = data.polygons.map((p) => p.code);
    const wf = await loadWorkflowLedger(db, '2026-10', codes, '2026-12-10');
    const every = oneDispositionEach([...codes, ...wf.clues.map((c) => c.code)], wf.dispositions);
    expect(every).toHaveLength(6);
    expect(new Set(every.map((d) => d.code)).size).toBe(6);
    expect(every.find((d) => d.code === '370103-202610-0001')!.status).toBe('merged');
  });

  it('lists every row 未核查 on a database without workflow tables (the seam)', async () => {
    const bare = await loadLedger(db, '2026-10', { asOf: '2026-12-10', source: async () => ({ dispositions: [], clues: [], workflow: false }) });
    expect(bare.rows).toHaveLength(3);
    expect(bare.rows.every((r) => r.判定类型 === '未核查' && r.销号状态 === '未销号')).toBe(true);
    expect(bare.workflow).toBe(false);
  });

  it('refuses an unknown format and a malformed epoch with a code', async () => {
    await expect(exportLedger(db, '2026-10', 'kml' as never)).rejects.toMatchObject({ code: 'LEDGER.BAD_REQUEST' });
    await expect(exportLedger(db, '2026-13', 'csv')).rejects.toMatchObject({ code: 'LEDGER.BAD_REQUEST' });
  });
});

describe('ledger exports read back', () => {
  const files: Partial<Record<(typeof LEDGER_FORMATS)[number], string>> = {};
  beforeAll(async () => {
    for (const f of LEDGER_FORMATS) {
      const e = await encodeLedger(data, f);
      expect(e.filename).toBe(`ledger-2026-10.${f}`);
      files[f] = join(dir, e.filename);
      await writeFile(files[f]!, e.bytes);
    }
  });

  it('csv: BOM, header and one line per row', async () => {
    const text = readFileSync(files.csv!, 'utf8');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const lines = text.slice(1).split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(1 + data.rows.length);
    expect(lines[0].split(',')).toEqual([...LEDGER_COLUMNS]);
    const illegal = csvRows(text).find((r) => r.图斑编号 === '370102-202610-0001')!;
    expect(illegal['乡镇/街道']).toBe('解放路街道');
    expect(illegal.村).toBe('文化东路社区');
    expect(csvRows(text).find((r) => r.图斑编号 === '370103-202610-0002')!.村).toBe('');
    expect([illegal.立案时间, illegal['罚没金额(元)'], illegal['拆除复耕面积(亩)'], illegal['拆除复耕面积(平方米)'], illegal.是否申请法院强制执行]).toEqual(['2026-11-04', '56000.5', '1.5', '1000', '是']);
    expect([illegal['永久基本农田面积(亩)'], illegal['生态保护红线面积(亩)'], illegal.是否涉及永久基本农田, illegal.是否涉及生态保护红线]).toEqual(['3', '1.5', '是', '是']);
    const legal = csvRows(text).find((r) => r.图斑编号 === '370102-202610-0002')!;
    expect([legal['生态保护红线面积(亩)'], legal.是否涉及永久基本农田, legal.是否涉及生态保护红线]).toEqual(['0', '否', '否']);
    expect([illegal.违法性质, illegal.补办手续文号, illegal['补办手续面积(亩)'], illegal['补办手续面积(平方米)'], illegal['补办手续其中耕地面积(亩)']]).toEqual(['单位违法', '济自然资补〔2026〕3号', '2.25', '1500', '1.8']);
    expect(legal['补办手续其中耕地面积(亩)']).toBe('');
  });

  it('xlsx: re-read with exceljs, verdicts in place', async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(files.xlsx!);
    const ws = wb.worksheets[0];
    expect(ws.rowCount).toBe(2 + data.rows.length);
    const col = LEDGER_COLUMNS.indexOf('判定类型') + 1;
    expect([3, 4, 5, 6, 7].map((r) => ws.getRow(r).getCell(col).value)).toEqual(['违法', '合法', '未核查', '未核查', '其他']);
    // Amounts and areas as numbers (yuan to the fen, 亩 to 2 decimals), the day and 是/否 as text.
    const at = (c: string) => ws.getRow(3).getCell(LEDGER_COLUMNS.indexOf(c as never) + 1);
    expect(at('乡镇/街道').value).toBe('解放路街道');
    expect(at('村').value).toBe('文化东路社区');
    expect(['立案时间', '罚没金额(元)', '拆除复耕面积(亩)', '拆除复耕面积(平方米)', '是否申请法院强制执行'].map((c) => at(c).value)).toEqual(['2026-11-04', 56000.5, 1.5, 1000, '是']);
    expect([at('罚没金额(元)').numFmt, at('拆除复耕面积(亩)').numFmt, at('拆除复耕面积(平方米)').numFmt]).toEqual(['0.00', '0.00', '0.0']);
    expect(['生态保护红线面积(亩)', '是否涉及永久基本农田', '是否涉及生态保护红线'].map((c) => at(c).value)).toEqual([1.5, '是', '是']);
    expect(at('生态保护红线面积(亩)').numFmt).toBe('0.00');
    expect(ws.getRow(4).getCell(LEDGER_COLUMNS.indexOf('是否涉及生态保护红线') + 1).value).toBe('否');
    expect(['违法性质', '补办手续文号', '补办手续面积(亩)', '补办手续面积(平方米)', '补办手续其中耕地面积(亩)'].map((c) => at(c).value)).toEqual(['单位违法', '济自然资补〔2026〕3号', 2.25, 1500, 1.8]);
    expect([at('补办手续面积(亩)').numFmt, at('补办手续面积(平方米)').numFmt, at('补办手续其中耕地面积(亩)').numFmt]).toEqual(['0.00', '0.0', '0.00']);
  });

  const gdal = it.skipIf(missing !== null && !CI);
  if (missing !== null && !CI) it.skip(`GDAL read-back skipped: ${missing}`, () => {});

  gdal('gpkg: ogrinfo reads 5 features in EPSG:4326 with Chinese names and values', () => {
    expect(missing, 'CI=true needs ogrinfo (apt-get install gdal-bin)').toBeNull();
    const summary = ogrinfo('-so', files.gpkg!, 'ledger');
    expect(summary).toMatch(/Feature Count: 5\b/);
    expect(summary).toMatch(/ID\["EPSG",4326\]/);
    // Typed by the ledger's schema, not by this month's values (all 0 here: it was Integer64, Real in
    // another month, and months would not append in ArcGIS or QGIS).
    for (const c of ['耕地面积(亩)', '永久基本农田面积(亩)', '监测面积(亩)', '中心点经度']) expect(summary).toContain(`${c}: Real`);
    expect(summary).toMatch(/序号: Integer/);
    const full = ogrinfo('-q', files.gpkg!, 'ledger', '-where', `"图斑编号" = '370102-202610-0001'`);
    expect(full).toContain('违法类型 (String) = 非法占用土地（未批先建）');
    expect(full).toContain('区县 (String) = 历下区');
    expect(full).toContain('乡镇/街道 (String) = 解放路街道');
    expect(full).toContain('村 (String) = 文化东路社区');
    expect(summary).toContain('村: String');
    for (const c of ['处罚决定时间', '整改期限', '结案时间', '移送纪委监委时间', '移送纪委监委理由']) expect(summary).toContain(`${c}: String`);
    expect(full).toContain('整改期限 (String) = 2026-11-20');
    expect(full).toContain('移送纪委监委理由 (String) = 逾期未整改，移送问题线索');
    for (const c of ['罚没金额(元)', '拆除复耕面积(亩)', '拆除复耕面积(平方米)']) expect(summary).toContain(`${c}: Real`);
    for (const c of ['立案时间', '是否申请法院强制执行']) expect(summary).toContain(`${c}: String`);
    expect(full).toContain('立案时间 (String) = 2026-11-04');
    expect(full).toMatch(/罚没金额\(元\) \(Real\) = 56000\.5\b/);
    expect(full).toMatch(/拆除复耕面积\(亩\) \(Real\) = 1\.5\b/);
    expect(full).toMatch(/拆除复耕面积\(平方米\) \(Real\) = 1000\b/);
    expect(full).toContain('是否申请法院强制执行 (String) = 是');
    expect(summary).toContain('生态保护红线面积(亩): Real');
    for (const c of ['是否涉及永久基本农田', '是否涉及生态保护红线']) expect(summary).toContain(`${c}: String`);
    expect(full).toMatch(/生态保护红线面积\(亩\) \(Real\) = 1\.5\b/);
    expect(full).toContain('是否涉及永久基本农田 (String) = 是');
    expect(full).toContain('是否涉及生态保护红线 (String) = 是');
    for (const c of ['补办手续面积(亩)', '补办手续面积(平方米)', '补办手续其中耕地面积(亩)']) expect(summary).toContain(`${c}: Real`);
    for (const c of ['违法性质', '补办手续文号']) expect(summary).toContain(`${c}: String`);
    expect(full).toContain('违法性质 (String) = 单位违法');
    expect(full).toContain('补办手续文号 (String) = 济自然资补〔2026〕3号');
    expect(full).toMatch(/补办手续面积\(亩\) \(Real\) = 2\.25\b/);
    expect(full).toMatch(/补办手续面积\(平方米\) \(Real\) = 1500\b/);
    expect(full).toMatch(/补办手续其中耕地面积\(亩\) \(Real\) = 1\.8\b/);
  });

  gdal('shp.zip: ogrinfo via /vsizip/ reads the polygon and point layers, WGS 84, UTF-8 values', () => {
    expect(missing, 'CI=true needs ogrinfo (apt-get install gdal-bin)').toBeNull();
    const listing = zipNames(readFileSync(files['shp.zip']!));
    expect(listing).toEqual(['ledger', 'ledger_point'].flatMap((l) => ['shp', 'shx', 'dbf', 'prj', 'cpg'].map((e) => `${l}.${e}`)));
    const poly = ogrinfo('-so', `/vsizip/${files['shp.zip']!}`, 'ledger');
    expect(poly).toMatch(/Feature Count: 4\b/);
    expect(poly).toMatch(/Geometry: Polygon/);
    expect(poly).toMatch(/GEOGCRS\["WGS 84"|ID\["EPSG",4326\]/);
    expect(poly).toMatch(/TBBH: String \(64\.0\)|TBBH: String \(\d+\.0\)/);
    const pt = ogrinfo('-so', `/vsizip/${files['shp.zip']!}`, 'ledger_point');
    expect(pt).toMatch(/Feature Count: 1\b/);
    expect(pt).toMatch(/Geometry: Point/);
    const full = ogrinfo('-q', `/vsizip/${files['shp.zip']!}`, 'ledger', '-where', `TBBH = '370102-202610-0001'`);
    expect(full).toContain('QXMC (String) = 历下区');
    expect(full).toContain('XZJD (String) = 解放路街道');
    expect(full).toContain('CJ (String) = 文化东路社区');
    expect(poly).toMatch(/\nCJ: String \(\d+\.0\)/);
    expect(full).toContain('PDLX (String) = 违法');
    expect(full).toMatch(/JCMJ \(Real\) = 4\.50/);
    expect(full).toContain('CFJDSJ (String) = 2026-11-10');
    expect(full).toContain('ZGQX (String) = 2026-11-20');
    expect(full).toContain('YSJWSJ (String) = 2026-12-01');
    expect(full).toContain('YSJWLY (String) = 逾期未整改，移送问题线索');
    expect(poly).toMatch(/FMJE: Real \(16\.2\)/);
    expect(poly).toMatch(/CCFGMJ: Real \(16\.2\)/);
    expect(poly).toMatch(/CCFGMJPFM: Real \(18\.1\)/);
    expect(full).toContain('LASJ (String) = 2026-11-04');
    expect(full).toMatch(/FMJE \(Real\) = 56000\.50\b/);
    expect(full).toMatch(/CCFGMJ \(Real\) = 1\.50\b/);
    expect(full).toMatch(/CCFGMJPFM \(Real\) = 1000\.0\b/);
    expect(full).toContain('SFSQFYQZZX (String) = 是');
    expect(poly).toMatch(/STBHHXMJ: Real \(16\.2\)/);
    expect(full).toMatch(/STBHHXMJ \(Real\) = 1\.50\b/);
    expect(full).toMatch(/JBNTMJ \(Real\) = 3\.00\b/);
    expect(full).toContain('SFYN (String) = 是');
    expect(full).toContain('SFHX (String) = 是');
    const legal = ogrinfo('-q', `/vsizip/${files['shp.zip']!}`, 'ledger', '-where', `TBBH = '370102-202610-0002'`);
    expect(legal).toContain('SFHX (String) = 否');
    expect(poly).toMatch(/BBSXPZMJ: Real \(16\.2\)/);
    expect(poly).toMatch(/BBSXMJPFM: Real \(18\.1\)/);
    expect(full).toContain('WFXZ (String) = 单位违法');
    expect(full).toContain('BBSXPZWH (String) = 济自然资补〔2026〕3号');
    expect(full).toMatch(/BBSXPZMJ \(Real\) = 2\.25\b/);
    expect(full).toMatch(/BBSXMJPFM \(Real\) = 1500\.0\b/);
    expect(poly).toMatch(/BBSXGDMJ: Real \(16\.2\)/);
    expect(full).toMatch(/BBSXGDMJ \(Real\) = 1\.80\b/);
  });

  gdal('geojson: ogrinfo reads 5 features in EPSG:4326 with Chinese values', () => {
    expect(missing, 'CI=true needs ogrinfo (apt-get install gdal-bin)').toBeNull();
    const summary = ogrinfo('-so', '-al', files.geojson!);
    expect(summary).toMatch(/Feature Count: 5\b/);
    expect(summary).toMatch(/ID\["EPSG",4326\]/);
    const full = ogrinfo('-q', '-al', files.geojson!);
    expect(full).toContain('发现方式 (String) = 巡查发现');
    expect(full).toContain('乡镇/街道 (String) = 解放路街道');
    expect(full).toContain('村 (String) = 文化东路社区');
    expect(full).toContain('销号状态 (String) = 县级已填报违法');
    expect(full).toContain('处罚决定时间 (String) = 2026-11-10');
    expect(full).toContain('立案时间 (String) = 2026-11-04');
    expect(full).toMatch(/罚没金额\(元\) \(Real\) = 56000\.5\b/);
    expect(full).toMatch(/拆除复耕面积\(亩\) \(Real\) = 1\.5\b/);
    expect(full).toMatch(/拆除复耕面积\(平方米\) \(Integer\) = 1000\b|拆除复耕面积\(平方米\) \(Real\) = 1000\b/);
    expect(full).toContain('是否申请法院强制执行 (String) = 是');
    expect(full).toMatch(/生态保护红线面积\(亩\) \(Real\) = 1\.5\b/);
    expect(full).toContain('是否涉及生态保护红线 (String) = 是');
    expect(full).toContain('是否涉及生态保护红线 (String) = 否');
    expect(full).toContain('违法性质 (String) = 单位违法');
    expect(full).toContain('补办手续文号 (String) = 济自然资补〔2026〕3号');
    expect(full).toMatch(/补办手续面积\(亩\) \(Real\) = 2\.25\b/);
    expect(full).toMatch(/补办手续面积\(平方米\) \(Integer\) = 1500\b|补办手续面积\(平方米\) \(Real\) = 1500\b/);
    expect(full).toMatch(/补办手续其中耕地面积\(亩\) \(Real\) = 1\.8\b/);
  });
});

describe('the day that decides what is overdue', () => {
  it('defaults to today in China: at 01:00 CST on 1 December an item due 30 November is overdue, wherever the machine is', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2026-11-30T17:00:00Z'));
      const d = await loadLedger(db, '2026-10');
      expect(d.rows.find((r) => r.图斑编号 === '370103-202610-0002')!.是否逾期).toBe('是');
      expect((await quarterReport(db, '2026Q4')).asOf).toBe('2026-12-01');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('quarterly report', () => {
  it('counts by district and bureau, with a 零报告 line for the district with nothing found', async () => {
    const r = await quarterReport(db, '2026Q4', { asOf: '2026-12-10' });
    expect(r.epochs).toEqual(['2026-10', '2026-11', '2026-12']);
    expect(r.byDistrict.map((l) => [l.key, l.name, l.items, l.note])).toEqual([
      ['370102', '历下区', 3, ''],
      ['370103', '市中区', 2, ''],
      ['370104', '槐荫区', 0, '零报告'],
    ]);
    const lixia = r.byDistrict[0];
    // Overdue: the rectification past 2026-11-20, and the hotline clue no case holds, past its 2026-10-31.
    expect([lixia.legal, lixia.illegal, lixia.other, lixia.unverified, lixia.clues, lixia.overdue, lixia.escalated, lixia.closed]).toEqual([1, 1, 0, 1, 1, 2, 1, 1]);
    expect(lixia.areaM2).toBe(3000 + 1500 + 9000);
    expect(lixia.areaMu).toBe(20.25);
    expect(lixia.illegalAreaMu).toBe(3); // the illegal parcel's 2000 m², not the polygon's 3000
    // The violation the imagery found with no 巡查首次发现时间: found by the satellite first (发现不及时).
    expect([lixia.foundLate, r.total.foundLate]).toEqual([1, 1]);
    expect(lixia.rectificationRate).toBe(0);
    expect(r.byDistrict[1].continuing).toBe(1);
    expect(r.total.items).toBe(5);
    expect(r.byBureau.map((l) => [l.name, l.items])).toEqual([['城市管理局', 1], ['园林和林业绿化局', 1], ['自然资源和规划局', 3]].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
    const csv = reportCsvBytes(r).toString('utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(csv).toContain('区县,370104,槐荫区,0,');
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(1 + 3 + r.byBureau.length + 1);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await reportXlsxBytes(r));
    expect(wb.worksheets.map((w) => w.name)).toEqual(['按区县', '按主办单位', '说明']);
    const note = (wb.worksheets[0].getRow(2).values as unknown[]).indexOf('备注');
    expect(wb.worksheets[0].getRow(5).getCell(note).value).toBe('零报告');
  });

  it('reads each zone file with the CRS its batch used (--zones file@EPSG:4527), so its districts get their 零报告 line', async () => {
    // Gauss–Krüger metres (CGCS2000 zone 39) and no crs member: unreadable without the batch's per-file CRS.
    const gk = join(dir, 'districts-gk.geojson');
    const [x, y] = [39_571_900, 3_985_000];
    await writeFile(gk, JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { kind: 'district', code: '370105', name: '天桥区' }, geometry: { type: 'Polygon', coordinates: [[[x, y], [x + 5000, y], [x + 5000, y + 5000], [x, y + 5000], [x, y]]] } }],
    }));
    await upsertBatch(db, { id: 'b-2026-11', epoch: '2026-11', params: {}, plan: { args: { zones: [gk], zonesCrsByPath: { [gk]: 'EPSG:4527' } } } });
    try {
      const r = await quarterReport(db, '2026Q4', { asOf: '2026-12-10' });
      expect(r.byDistrict.map((l) => [l.key, l.name, l.items, l.note])).toContainEqual(['370105', '天桥区', 0, '零报告']);
    } finally {
      await db.query("DELETE FROM batches WHERE id = 'b-2026-11'");
    }
  });

  it('reads a DataV-looking file a batch was given without a suffix as that batch did (before such files were refused), so its districts keep their 零报告 line', async () => {
    const datav = join(dir, 'districts-datav.geojson');
    await writeFile(datav, JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { adcode: 370112, name: '历城区', level: 'district', centroid: [117.3, 36.0] }, geometry: sq(117.2, 36.0, 0.2) }],
    }));
    await upsertBatch(db, { id: 'b-2026-11', epoch: '2026-11', params: {}, plan: { args: { zones: [datav] } } });
    try {
      const r = await quarterReport(db, '2026Q4', { asOf: '2026-12-10' });
      expect(r.byDistrict.map((l) => [l.key, l.name, l.items, l.note])).toContainEqual(['370112', '历城区', 0, '零报告']);
      expect(r.warnings).toEqual([]);
    } finally {
      await db.query("DELETE FROM batches WHERE id = 'b-2026-11'");
    }
  });

  it('says 无影像覆盖, not 零报告, for a district no detected tile looked at', async () => {
    await db.query("UPDATE tiles SET status = 'rejected' WHERE batch_id = 'b-2026-10'");
    try {
      const r = await quarterReport(db, '2026Q4', { asOf: '2026-12-10' });
      expect(r.byDistrict.map((l) => [l.key, l.items, l.note])).toEqual([
        ['370102', 3, ''],
        ['370103', 2, ''],
        ['370104', 0, '无影像覆盖'],
      ]);
    } finally {
      await db.query("UPDATE tiles SET status = 'done' WHERE batch_id = 'b-2026-10'");
    }
  });

  it('refuses a malformed quarter', async () => {
    await expect(quarterReport(db, '2026Q5')).rejects.toMatchObject({ code: 'LEDGER.BAD_REQUEST' });
  });
});
