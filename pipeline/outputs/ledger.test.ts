import { mkdtemp, readdir, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../iso-date.js';
import { atomicWrite, LEDGER_COLUMNS, LEDGER_VERIFICATION_COLUMNS, ledgerRows, writeLedgerCsv, type LedgerClue } from './ledger.js';
import { undetermined, type LedgerDisposition } from './ledger-disposition.js';
import { columnName, ledgerXlsxBytes, writeLedgerXlsx } from './ledger-xlsx.js';
import { sampleBureauName, samplePolygon } from '../../fixtures/sample-polygon.js';

const ctx = { bureauName: sampleBureauName, issuedOn: '2026-10-20', city: '济南市' };
const polys = [
  samplePolygon({ code: '370103-202610-0002', districtCode: '370103', districtName: '市中区', townshipCode: null, townshipName: null, villageCode: null, villageName: null, reasons: ['亮度上升, "明显"', '第二行\n说明'], priority: 'normal', coBureaus: [] }),
  samplePolygon({ overlaps: { permanent_basic_farmland: { m2: 2000, share: 0.2 }, urban_construction: { m2: 500, share: 0.05 } }, previousCode: '370102-202609-0003' }),
];

/** Minimal RFC 4180 parser, independent of the writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else cell += ch;
  }
  return rows;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-ledger-'));
});

describe('ledgerRows', () => {
  it('fills one row per polygon, ordered by code, with areas in 亩 and a deadline', () => {
    const rows = ledgerRows(polys, ctx);
    expect(rows.map((r) => r.图斑编号)).toEqual(['370102-202610-0007', '370103-202610-0002']);
    const [a, b] = rows;
    expect(a.序号).toBe(1);
    expect(a.年度).toBe(2026);
    expect(a['月份/批次']).toBe('2026-10');
    expect(a.下发时间).toBe('2026-10-20');
    expect(a.办理期限).toBe('2026-10-31'); // 月清: the end of the month of issue, the server's verification clock
    expect(a.市).toBe('济南市');
    expect(a.区县代码).toBe('370102');
    // 乡镇/街道 (属地) right after 区县; blank for a polygon outside every township.
    expect(LEDGER_COLUMNS.slice(LEDGER_COLUMNS.indexOf('区县'), LEDGER_COLUMNS.indexOf('区县') + 3)).toEqual(['区县', '乡镇/街道', '村']);
    expect([a['乡镇/街道'], b['乡镇/街道']]).toEqual(['解放路街道', '']);
    // 村 (the 村/社区 below it) likewise, blank outside every village.
    expect([a.村, b.村]).toEqual(['文化东路社区', '']);
    expect(a.往期图斑编号).toBe('370102-202609-0003');
    expect(a['监测面积(亩)']).toBe(13.46);
    expect(a['监测面积(平方米)']).toBe(8974.1);
    expect(a['永久基本农田面积(亩)']).toBe(3); // 2000 m² = 3 亩
    expect(a['耕地面积(亩)']).toBe(3); // PBF counts as 耕地 when no farmland layer overlaps
    expect(a['占城镇开发边界面积(亩)']).toBe(0.75);
    expect(a.图斑类型).toBe('JZ 不明用途建/构筑物');
    expect(a.前时相地类).toBe('0103');
    expect(a.主办单位).toBe('园林和林业绿化局');
    expect(a.协办单位).toBe('自然资源和规划局');
    expect(a.优先级).toBe('重点');
    expect(a.发现方式).toBe('卫片');
    expect(a.判定类型).toBe('未核查'); // every polygon has one disposition: nobody has verified it yet
    expect(a.销号状态).toBe('未销号');
    expect(b['耕地面积(亩)']).toBe(4.5); // 3000.456 m²
    expect(b.优先级).toBe('一般');
    expect(b.协办单位).toBe('');
    expect(b.发现依据说明).toBe('亮度上升, "明显"；第二行\n说明');
    // 判定依据说明 is the verifier's basis for 合法/违法/其他 (RESEARCH.md §3.2 hfpdyjsm/wfpdyjsm/qtpdyjsm):
    // the detector's reasons (or a clue's description) must not stand under that header.
    expect(LEDGER_COLUMNS).not.toContain('判定依据说明');
    // The verification columns, pinned (RESEARCH.md §3.8 items 5–12, those the triage record holds).
    expect(LEDGER_VERIFICATION_COLUMNS).toEqual([
      '判定类型', '违法类型', '违法性质', '批准文号', '其他情形', '实际用途', '当事人', '巡查首次发现时间', '是否发现不及时', '是否立案', '不予立案说明', '立案时间', '处罚决定时间', '罚没金额(元)',
      '整改方式', '整改期限', '拆除复耕面积(亩)', '拆除复耕面积(平方米)', '补办手续文号', '补办手续面积(亩)', '补办手续面积(平方米)', '补办手续其中耕地面积(亩)', '是否整改到位', '是否处罚到位', '是否申请法院强制执行', '结案时间', '销号状态', '销号时间', '办理状态', '是否逾期',
      '是否移送纪委监委', '移送纪委监委时间', '移送纪委监委理由', '是否移送公安', '备注',
    ]);
  });

  it('says 是否发现不及时 of a violation: 是 when found elsewhere (imagery 后时相 2026-10-05, a report) before the patrol found it, or the patrol never did', () => {
    const code = (p: { code: string }) => p.code;
    const [a, b] = polys.map(code).sort();
    const clue = (c: string, source: 'patrol' | 'hotline', reportedOn: string): LedgerClue => ({
      code: c, epoch: '2026-10', source, geometry: { type: 'Point', coordinates: [117, 36.6] }, areaM2: 0, districtCode: '370102', districtName: '历下区',
      leadBureau: 'natural_resources', coBureaus: [], description: '线索', reportedOn, centroid: [117, 36.6],
    });
    const illegal = (c: string, patrolFoundOn: string | null): LedgerDisposition => ({ ...undetermined(c), verdict: 'illegal', status: 'verified', patrolFoundOn });
    const rows = ledgerRows(polys, ctx, [illegal(a, '2026-10-03'), illegal(b, '2026-10-09'), illegal('370102-202610-X001', null), illegal('370102-202610-X002', null), illegal('370102-202610-X003', '2026-10-01')], [
      clue('370102-202610-X001', 'patrol', '2026-10-12'),
      clue('370102-202610-X002', 'hotline', '2026-10-12'),
      clue('370102-202610-X003', 'hotline', '2026-10-12'),
    ]);
    const late = Object.fromEntries(rows.map((r) => [r.图斑编号, [r.巡查首次发现时间, r.是否发现不及时]]));
    expect(late).toEqual({
      [a]: ['2026-10-03', '否'], // the patrol was there two days before the imagery
      [b]: ['2026-10-09', '是'], // the imagery first
      '370102-202610-X001': ['', '否'], // the patrol's own clue
      '370102-202610-X002': ['', '是'], // a hotline call the patrol never matched
      '370102-202610-X003': ['2026-10-01', '否'], // called in after the patrol had found it
    });
    // Only violations.
    expect(ledgerRows(polys, ctx).every((r) => r.是否发现不及时 === '')).toBe(true);
  });

  it('fills 生态保护红线面积(亩) from the red-line overlap, and the SFYN/SFHX flags 是/否 (blank for a clue), among the 三区三线 areas', () => {
    // RESEARCH.md §3.8 item 4 order: 耕地, 永久基本农田, 生态保护红线, 占城镇开发边界; then the two flags.
    const at = LEDGER_COLUMNS.indexOf('耕地面积(亩)');
    expect(LEDGER_COLUMNS.slice(at, at + 6)).toEqual(['耕地面积(亩)', '永久基本农田面积(亩)', '生态保护红线面积(亩)', '占城镇开发边界面积(亩)', '是否涉及永久基本农田', '是否涉及生态保护红线']);
    const red = samplePolygon({ code: '370102-202610-0011', overlaps: { ecological_redline: { m2: 1000, share: 0.11 }, forest: { m2: 10, share: 0.0011 } } });
    // 3 m² of PBF is 0.0045 亩: shown as 0 亩, so not 涉及 (the flag agrees with the area beside it).
    const sliver = samplePolygon({ code: '370102-202610-0012', overlaps: { permanent_basic_farmland: { m2: 3, share: 0.0003 }, ecological_redline: { m2: 4, share: 0.0004 } } });
    const clue: LedgerClue = {
      code: '370102-202610-X001', epoch: '2026-10', source: 'hotline', geometry: { type: 'Point', coordinates: [117, 36.6] }, areaM2: 0, districtCode: '370102', districtName: '历下区',
      leadBureau: 'natural_resources', coBureaus: [], description: '线索', reportedOn: '2026-10-12', centroid: [117, 36.6],
    };
    const rows = Object.fromEntries(ledgerRows([...polys, red, sliver], ctx, [], [clue]).map((r) => [r.图斑编号, r]));
    const cells = (code: string) => ['永久基本农田面积(亩)', '生态保护红线面积(亩)', '占城镇开发边界面积(亩)', '是否涉及永久基本农田', '是否涉及生态保护红线'].map((c) => rows[code][c as never]);
    expect(cells('370102-202610-0007')).toEqual([3, 0, 0.75, '是', '否']);
    expect(cells('370102-202610-0011')).toEqual([0, 1.5, 0, '否', '是']); // 1000 m² = 1.5 亩
    expect(cells('370102-202610-0012')).toEqual([0, 0.01, 0, '否', '是']); // 4 m² = 0.006 亩, shown 0.01
    expect(cells('370103-202610-0002')).toEqual([0, 0, 0, '否', '否']);
    expect(cells('370102-202610-X001')).toEqual([null, null, null, '', '']);
  });

  it('counts days across month and year ends', () => {
    expect(addDays('2026-12-20', 15)).toBe('2027-01-04');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
  });
});

describe('ledger writers', () => {
  it('writes a CSV with BOM and RFC 4180 quoting that reads back', async () => {
    const path = join(dir, 'ledger.csv');
    const rows = ledgerRows(polys, ctx);
    await writeLedgerCsv(path, rows);
    const bytes = await readFile(path);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const table = parseCsv(bytes.toString('utf8').slice(1));
    expect(table[0]).toEqual([...LEDGER_COLUMNS]);
    expect(table).toHaveLength(3);
    const col = (name: string) => table[0].indexOf(name);
    expect(table[2][col('发现依据说明')]).toBe('亮度上升, "明显"；第二行\n说明');
    expect(table[1][col('监测面积(亩)')]).toBe('13.46');
    expect(table[1][col('区县')]).toBe('历下区');
    expect([table[1][col('乡镇/街道')], table[2][col('乡镇/街道')]]).toEqual(['解放路街道', '']);
    expect([table[1][col('村')], table[2][col('村')]]).toEqual(['文化东路社区', '']);
    expect(table[1][col('备注')]).toBe('');
    expect(table.every((r) => r.length === LEDGER_COLUMNS.length)).toBe(true);
  });

  it('writes an XLSX with title, bold frozen header and numeric cells', async () => {
    const path = join(dir, 'ledger.xlsx');
    await writeLedgerXlsx(path, ledgerRows(polys, ctx), { title: '济南市2026年10月新增违法违规问题台账', epoch: '2026-10' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(path);
    const ws = wb.worksheets[0];
    expect(ws.name).toBe('台账 2026-10');
    expect(ws.getCell('A1').value).toBe('济南市2026年10月新增违法违规问题台账');
    const header = (ws.getRow(2).values as unknown[]).slice(1);
    expect(header).toEqual([...LEDGER_COLUMNS]);
    expect(ws.getRow(2).getCell(1).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 2 });
    const c = (row: number, name: string) => ws.getRow(row).getCell(LEDGER_COLUMNS.indexOf(name as never) + 1);
    expect(c(3, '图斑编号').value).toBe('370102-202610-0007');
    expect(c(3, '监测面积(亩)').value).toBe(13.46);
    expect(c(3, '乡镇/街道').value).toBe('解放路街道');
    expect([c(3, '村').value, c(4, '村').value]).toEqual(['文化东路社区', null]);
    expect(typeof c(3, '中心点经度').value).toBe('number');
    expect(c(3, '序号').value).toBe(1);
    expect(c(4, '发现依据说明').value).toBe('亮度上升, "明显"；第二行\n说明');
    expect(ws.rowCount).toBe(4);
    expect(ws.getColumn(LEDGER_COLUMNS.indexOf('发现依据说明') + 1).width).toBeGreaterThan(10);
  });

  it('writes the XLSX the same bytes for the same rows, with formats, filter, merged title and wrapped long text', async () => {
    const rows = ledgerRows(polys, ctx);
    const meta = { title: '济南市2026年10月新增违法违规问题台账', epoch: '2026-10' };
    const bytes = ledgerXlsxBytes(rows, meta);
    expect(ledgerXlsxBytes(rows, meta).equals(bytes)).toBe(true);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(bytes as never);
    const ws = wb.worksheets[0];
    const col = (name: string) => LEDGER_COLUMNS.indexOf(name as never) + 1;
    expect(ws.getCell('A1').isMerged).toBe(true);
    expect(ws.getCell(`${columnName(LEDGER_COLUMNS.length)}1`).isMerged).toBe(true);
    expect(ws.getCell('A1').font?.size).toBe(14);
    expect(ws.getRow(2).getCell(1).fill).toMatchObject({ type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFDDEBF7' } });
    expect(ws.getRow(2).getCell(1).border?.bottom?.style).toBe('thin');
    expect(ws.autoFilter).toBe(`A2:${columnName(LEDGER_COLUMNS.length)}2`);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', xSplit: 5, ySplit: 2 });
    expect(ws.getRow(3).getCell(col('监测面积(亩)')).numFmt).toBe('0.00');
    expect(ws.getRow(3).getCell(col('中心点经度')).numFmt).toBe('0.000000');
    // Null and empty text stay empty cells, not the text "null".
    const empty = LEDGER_COLUMNS.filter((c) => rows[0][c] === null || rows[0][c] === '');
    expect(empty.length).toBeGreaterThan(0);
    for (const c of empty) expect(ws.getRow(3).getCell(col(c)).value).toBeNull();
    // A column whose text is wider than 40 characters wraps it.
    const long = ledgerXlsxBytes(ledgerRows([samplePolygon({ reasons: ['很长的说明'.repeat(12)] })], ctx), meta);
    const wbLong = new ExcelJS.Workbook();
    await wbLong.xlsx.load(long as never);
    expect(wbLong.worksheets[0].getRow(3).getCell(col('发现依据说明')).alignment).toMatchObject({ wrapText: true, vertical: 'top' });
    expect(ws.getRow(3).getCell(col('发现依据说明')).alignment?.wrapText).toBeUndefined();
  });

  it('escapes markup and drops the characters XML cannot carry, so one odd reason cannot spoil the file', async () => {
    const odd = samplePolygon({ code: '370103-202610-0009', reasons: ['<b>a & b</b> "q"\u0007 \ud800x', '第二行\t制表'] });
    const bytes = ledgerXlsxBytes(ledgerRows([odd], ctx), { title: 'T <&>', epoch: '2026-10' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(bytes as never);
    const ws = wb.worksheets[0];
    expect(ws.getCell('A1').value).toBe('T <&>');
    expect(ws.getRow(3).getCell(LEDGER_COLUMNS.indexOf('发现依据说明') + 1).value).toBe('<b>a & b</b> "q" x；第二行\t制表');
    expect(columnName(1) + columnName(26) + columnName(27) + columnName(52) + columnName(703)).toBe('AZAAAZAAA');
  });
});

describe('atomicWrite on a full disk', () => {
  it('names the file it could not write (tuban ledger printed a bare ENOSPC with a stack) and leaves no partial file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-ledger-full-'));
    const path = join(dir, 'ledger-2026-10.csv');
    // The staged file lands on a device that is full: each write is ENOSPC.
    await symlink('/dev/full', `${path}.${process.pid}.tmp`);
    const err = (await atomicWrite(path, 'x'.repeat(1000)).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err).toBeInstanceOf(Error);
    expect([err.code, err.path]).toEqual(['ENOSPC', path]);
    expect(err.message).toBe(`${path}: ENOSPC: no space left on device, write; ${path} was not replaced`);
    expect(await readdir(dir)).toEqual([]);
  });
});
