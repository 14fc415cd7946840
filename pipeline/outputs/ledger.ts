/**
 * The monthly new-violation ledger (新增违法违规问题台账): one row per monitoring polygon (and per
 * clue from another source), with the columns of RESEARCH.md §3.8 that Tuban fills at detection
 * time, followed by the verification columns from each item's one disposition (ledger-disposition.ts:
 * 未核查 until the workflow records a verdict). Areas in 亩 (1 亩 = 10000/15 m²) unless a header says 平方米; coordinates are
 * lon/lat degrees (CGCS2000/WGS84). Written as CSV (UTF-8 with BOM, RFC 4180) here and as XLSX by ledger-xlsx.ts.
 */
import { rename, unlink, writeFile } from 'node:fs/promises';
import { atPath } from '../place-error.js';
import type { MultiPolygon, Point, Polygon } from 'geojson';
import type { BureauId, ZoneKind } from '../../schemas/vocabulary.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { CHANGE_TYPE_ZH, SQM_PER_MU } from '../../schemas/vocabulary.js';
import { CLUE_SOURCE_ZH, type ClueSource } from '../../schemas/workflow.js';
import { dispositionCells, oneDispositionEach, type LedgerDisposition } from './ledger-disposition.js';
import { endOfMonth } from '../iso-date.js';
import { csvCell } from './csv-cell.js';
import { reasonInChinese } from './reason-text.js';

/** Columns Tuban fills, in ledger order. */
export const LEDGER_FILLED_COLUMNS = [
  '序号',
  '年度',
  '月份/批次',
  '下发时间',
  '图斑编号',
  '往期图斑编号',
  '市',
  '区县代码',
  '区县',
  // 属地: blank without a township (乡镇/街道) zone layer, and outside it (a clue: outside every stored township).
  '乡镇/街道',
  // The 村/社区 below it: blank without a village zone layer, and outside it (a clue: outside every stored village).
  '村',
  '中心点经度',
  '中心点纬度',
  '前时相',
  '后时相',
  '前时相地类',
  '图斑类型',
  '变化类型',
  '监测面积(亩)',
  '监测面积(平方米)',
  '耕地面积(亩)',
  '永久基本农田面积(亩)',
  '生态保护红线面积(亩)',
  '占城镇开发边界面积(亩)',
  // RESEARCH.md §3.1 SFYN/SFHX quick flags: 是 when the area beside it is (0.01 亩 or more), else 否.
  '是否涉及永久基本农田',
  '是否涉及生态保护红线',
  '置信度',
  // What the detection rests on (the detector's reasons; a clue's description). Not 判定依据说明, which
  // is the verifier's basis for 合法/违法/其他 (RESEARCH.md §3.2) and no machine writes.
  '发现依据说明',
  '主办单位',
  '协办单位',
  '分派依据',
  '办理期限',
  '优先级',
  '优先级说明',
  '发现方式',
  '检测模型',
] as const;

/**
 * Columns people fill through the workflow (the software proposes, people decide: 2023 rules), in
 * ledger order: the keys of `DispositionCells`, and 是否发现不及时 (`foundLate`: it needs the item's dates).
 */
export const LEDGER_VERIFICATION_COLUMNS = [
  '判定类型', '违法类型', '违法性质', '批准文号', '其他情形', '实际用途', '当事人', '巡查首次发现时间', '是否发现不及时', '是否立案', '不予立案说明', '立案时间', '处罚决定时间', '罚没金额(元)',
  '整改方式', '整改期限', '拆除复耕面积(亩)', '拆除复耕面积(平方米)', '补办手续文号', '补办手续面积(亩)', '补办手续面积(平方米)', '补办手续其中耕地面积(亩)', '是否整改到位', '是否处罚到位', '是否申请法院强制执行', '结案时间',
  '销号状态', '销号时间', '办理状态', '是否逾期', '是否移送纪委监委', '移送纪委监委时间', '移送纪委监委理由', '是否移送公安', '备注',
] as const;

export const LEDGER_COLUMNS = [...LEDGER_FILLED_COLUMNS, ...LEDGER_VERIFICATION_COLUMNS] as const;
export type LedgerColumn = (typeof LEDGER_COLUMNS)[number];
export type LedgerRow = Record<LedgerColumn, string | number | null>;

export interface LedgerContext {
  bureauName(id: BureauId): string;
  /**
   * Date the batch's polygons were issued to districts and bureaus, yyyy-mm-dd: the 下发时间 of a
   * polygon whose disposition gives none (no case holds it yet).
   */
  issuedOn: string;
  /** 市 column, e.g. '济南市'. */
  city?: string;
}

/** 图斑类型 names for the codes `CHANGE_CLASS` emits (domain/tblx_change_types.csv). */
const CHANGE_CLASS_ZH: Record<string, string> = { JZ: '不明用途建/构筑物', DT: '动土', TP: '推平', TD: '推堆土', KT: '坑塘', '20': '建/构筑物', YH: '硬化' };

const mu = (m2: number) => Math.round((m2 / SQM_PER_MU) * 100) / 100;
const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
const yesNo = (b: boolean) => (b ? '是' : '否');

/** A clue added by a bureau or district (a point or an outline); a ledger item like a polygon. */
export interface LedgerClue {
  code: string;
  /** 'YYYY-MM' of the ledger it belongs to. */
  epoch: string;
  source: ClueSource;
  /** lon/lat. */
  geometry: Point | Polygon | MultiPolygon;
  /** m² (0 for a point). */
  areaM2: number;
  districtCode: string;
  districtName: string;
  /** The 乡镇/街道 it lies in, by the outlines stored when it was registered; null outside every one, or none stored. */
  townshipName?: string | null;
  /** The 村/社区 likewise, by the stored village outlines. */
  villageName?: string | null;
  leadBureau: BureauId;
  coBureaus: BureauId[];
  description: string;
  /** yyyy-mm-dd. */
  reportedOn: string;
  /** lon/lat of the point, or a point on the outline's surface. */
  centroid: [number, number];
}

const byCode = (a: { 图斑编号: unknown }, b: { 图斑编号: unknown }) => (String(a.图斑编号) < String(b.图斑编号) ? -1 : String(a.图斑编号) > String(b.图斑编号) ? 1 : 0);

/**
 * Ledger rows, ordered by code (district code first, so a district's rows sit together), each with
 * its one disposition (`dispositions` may leave codes out: they are 未核查; a disposition for a code
 * that is neither a polygon nor a clue here is an error).
 */
/**
 * 是否发现不及时 of a violation (RESEARCH.md §3.8 item 8; routing_rules.yaml's 纪行衔接 trigger
 * 问题发现不及时: 卫片先于巡查发现): 是 when it was found elsewhere first (`foundElsewhereOn`: the
 * imagery's 后时相, or the day a hotline call or public report came in) and the local patrol had not
 * found it by then, or never did; 否 when the patrol had (its 巡查首次发现时间, or a clue the patrol
 * itself reported: `patrolReported`). Blank for anything not judged illegal.
 */
function foundLate(d: LedgerDisposition, patrolReported: string | null, foundElsewhereOn: string): string {
  if (d.verdict !== 'illegal') return '';
  const patrol = [d.patrolFoundOn, patrolReported].filter((v): v is string => v !== null).sort()[0];
  return patrol !== undefined && patrol <= foundElsewhereOn ? '否' : '是';
}

export function ledgerRows(polys: MonitoringPolygon[], ctx: LedgerContext, dispositions: readonly LedgerDisposition[] = [], clues: readonly LedgerClue[] = []): LedgerRow[] {
  // 下发时间 is the day the item was issued, which its verification clock runs from (the case's
  // issued_on); where the workflow set no due date (the batch's own ledger), 办理期限 is that clock's
  // default, the end of that month (月清).
  const codes = [...polys.map((p) => p.code), ...clues.map((c) => c.code)];
  const disp = new Map(oneDispositionEach(codes, dispositions).map((d) => [d.code, d]));
  const overlapMu = (p: MonitoringPolygon, k: ZoneKind) => mu(p.overlaps[k]?.m2 ?? 0);
  const epochCells = (epoch: string) => {
    const em = /^(\d{4})-?(\d{2})/.exec(epoch);
    return { 年度: em ? Number(em[1]) : null, '月份/批次': em ? `${em[1]}-${em[2]}` : epoch };
  };
  const clueRows = clues.map((c): LedgerRow => {
    const d = disp.get(c.code)!;
    // Registered in the server, a clue is issued that day (its case); the day the report came in is
    // its month (epoch) and what 是否发现不及时 compares. Without a case: issued as reported.
    const issued = d.issuedOn ?? c.reportedOn;
    return {
      序号: 0,
      ...epochCells(c.epoch),
      下发时间: issued,
      图斑编号: c.code,
      往期图斑编号: '',
      市: ctx.city ?? '',
      区县代码: c.districtCode,
      区县: c.districtName,
      '乡镇/街道': c.townshipName ?? '',
      村: c.villageName ?? '',
      中心点经度: round(c.centroid[0], 6),
      中心点纬度: round(c.centroid[1], 6),
      前时相: '',
      后时相: '',
      前时相地类: '',
      图斑类型: '',
      变化类型: '',
      '监测面积(亩)': mu(c.areaM2),
      '监测面积(平方米)': round(c.areaM2, 1),
      '耕地面积(亩)': null,
      '永久基本农田面积(亩)': null,
      '生态保护红线面积(亩)': null,
      '占城镇开发边界面积(亩)': null,
      是否涉及永久基本农田: '',
      是否涉及生态保护红线: '',
      置信度: null,
      发现依据说明: c.description,
      主办单位: ctx.bureauName(c.leadBureau),
      协办单位: c.coBureaus.map((b) => ctx.bureauName(b)).join('、'),
      分派依据: `线索（${CLUE_SOURCE_ZH[c.source]}）`,
      办理期限: d.dueDate ?? endOfMonth(issued),
      优先级: '一般',
      优先级说明: '',
      发现方式: CLUE_SOURCE_ZH[c.source],
      检测模型: '',
      ...dispositionCells(d),
      // A patrol's own clue was found by the patrol; a hotline call or public report was found by others first.
      是否发现不及时: c.source === 'patrol' ? foundLate(d, c.reportedOn, c.reportedOn) : foundLate(d, null, c.reportedOn),
    };
  });
  const polygonRows = [...polys]
    .map((p): LedgerRow => {
      const em = /^(\d{4})-?(\d{2})/.exec(p.epoch);
      const d = disp.get(p.code)!;
      const issued = d.issuedOn ?? ctx.issuedOn;
      const row: LedgerRow = {
        序号: 0,
        年度: em ? Number(em[1]) : null,
        '月份/批次': em ? `${em[1]}-${em[2]}` : p.epoch,
        下发时间: issued,
        图斑编号: p.code,
        往期图斑编号: p.previousCode ?? '',
        市: ctx.city ?? '',
        区县代码: p.districtCode,
        区县: p.districtName,
        '乡镇/街道': p.townshipName ?? '',
        村: p.villageName ?? '',
        中心点经度: round(p.centroid[0], 6),
        中心点纬度: round(p.centroid[1], 6),
        前时相: p.beforeDate,
        后时相: p.afterDate,
        前时相地类: p.landClassBefore ?? '',
        图斑类型: CHANGE_CLASS_ZH[p.changeClass] ? `${p.changeClass} ${CHANGE_CLASS_ZH[p.changeClass]}` : p.changeClass,
        变化类型: CHANGE_TYPE_ZH[p.changeType] ?? p.changeType,
        '监测面积(亩)': mu(p.areaM2),
        '监测面积(平方米)': round(p.areaM2, 1),
        // 永久基本农田 is 耕地 too; a PBF layer without a farmland layer would otherwise report 0 耕地.
        '耕地面积(亩)': Math.max(overlapMu(p, 'farmland'), overlapMu(p, 'permanent_basic_farmland')),
        '永久基本农田面积(亩)': overlapMu(p, 'permanent_basic_farmland'),
        '生态保护红线面积(亩)': overlapMu(p, 'ecological_redline'),
        '占城镇开发边界面积(亩)': overlapMu(p, 'urban_construction'),
        是否涉及永久基本农田: yesNo(overlapMu(p, 'permanent_basic_farmland') > 0),
        是否涉及生态保护红线: yesNo(overlapMu(p, 'ecological_redline') > 0),
        置信度: round(p.confidence, 2),
        发现依据说明: p.reasons.map(reasonInChinese).join('；'),
        主办单位: ctx.bureauName(p.leadBureau),
        协办单位: p.coBureaus.map((b) => ctx.bureauName(b)).join('、'),
        分派依据: p.ruleId ? `${p.routingReason}（规则 ${p.ruleId}）` : p.routingReason,
        办理期限: d.dueDate ?? endOfMonth(issued),
        优先级: p.priority === 'high' ? '重点' : '一般',
        优先级说明: p.priorityReasons.join('；'),
        发现方式: '卫片',
        检测模型: `${p.detector.name} ${p.detector.version} (${p.detector.paramsHash})`,
        ...dispositionCells(d),
        是否发现不及时: foundLate(d, null, p.afterDate),
      };
      return row;
    });
  const rows = [...polygonRows, ...clueRows].sort(byCode);
  rows.forEach((r, i) => (r.序号 = i + 1));
  return rows;
}

/**
 * Written beside `path` and renamed over it: a crash never leaves half a file. A write that fails
 * (a full disk) removes what it wrote, so no partial file is left taking the space.
 */
export async function atomicWrite(path: string, data: string | Buffer | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw atPath(err, path, `; ${path} was not replaced`);
  }
}

/** CSV with a UTF-8 BOM (Excel otherwise guesses GBK and garbles Chinese), CRLF line ends, RFC 4180 quoting. */
export function ledgerCsvBytes(rows: LedgerRow[]): Buffer {
  const lines = [LEDGER_COLUMNS.map(csvCell).join(',')];
  for (const r of rows) lines.push(LEDGER_COLUMNS.map((c) => csvCell(r[c])).join(','));
  return Buffer.from('\uFEFF' + lines.join('\r\n') + '\r\n', 'utf8');
}

export async function writeLedgerCsv(path: string, rows: LedgerRow[]): Promise<void> {
  await atomicWrite(path, ledgerCsvBytes(rows));
}
