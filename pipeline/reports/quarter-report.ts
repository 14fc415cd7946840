/**
 * The quarterly summary for the joint meeting (季核, 联席会议): for each district and each lead bureau,
 * the quarter's ledger items (new sites and clues of its three months) — counts, areas (m² and 亩),
 * verdict shares, rectification rate, overdue and escalated counts, the lead bureau's 督办 (urges) of the
 * quarter — and a 零报告 (zero report) line
 * for every district where nothing was found, so "nothing found" is on record and differs from
 * "not reported" (Wanzhou's zero-reporting rule).
 *
 * Districts are those of the zone layers the quarter's batches ran with (the `district` features of
 * the files in each batch plan; the database stores no district list of its own), plus any district
 * that holds an item. A zone file that can no longer be read is named in `warnings`. A district with
 * nothing found is 零报告 only where a tile of the quarter was detected over it; where none was (no
 * imagery, every tile over it rejected), the line says so (无影像覆盖), because "nobody looked" is
 * not "nothing found".
 */
import ExcelJS from 'exceljs';
import { TubanError } from '../../schemas/errors.js';
import { SQM_PER_MU } from '../../schemas/vocabulary.js';
import { loadLedger, type LoadLedgerOptions } from '../outputs/ledger-exports.js';
import { dispositionLabel, type LedgerDisposition } from '../outputs/ledger-disposition.js';
import type { Queryable } from '../store/queryable.js';
import { booleanIntersects } from '@turf/boolean-intersects';
import type { Polygon } from 'geojson';
import { loadZones, ZONE_FILE_REJECTED } from '../zones.js';
import type { Zone } from '../model.js';
import type { BatchArgs } from '../batch/batch-args.js';
import { csvCell } from '../outputs/csv-cell.js';
import { chinaDate } from '../iso-date.js';

export interface ReportLine {
  /** '区县' | '主办单位' | '合计'. */
  group: '区县' | '主办单位' | '合计';
  /** District code or bureau name. */
  key: string;
  name: string;
  items: number;
  /** Of which new satellite sites / clues from other sources. */
  satellite: number;
  clues: number;
  /** Polygons continuing an earlier site (progression, not ledger rows). */
  continuing: number;
  areaM2: number;
  areaMu: number;
  legal: number;
  illegal: number;
  other: number;
  /**
   * Of `other`: items under 持续监测 (销号状态 持续监测: judged 其他 as not judgeable yet, open and
   * re-checked against later imagery). Verified, so not 未核查; not closed, so not 已销号.
   */
  monitoring: number;
  unverified: number;
  illegalAreaMu: number;
  /** Illegal items rectified / illegal items (null when none is illegal). */
  rectificationRate: number | null;
  rectified: number;
  closed: number;
  overdue: number;
  /** 移送/升级: items escalated or handed over (移送). */
  escalated: number;
  /** Violations found elsewhere before the local patrol (是否发现不及时 是): the 纪行衔接 trigger. */
  foundLate: number;
  /** 督办: the lead bureau's urges dated in the quarter (up to its as-of day), of any month's case. */
  urges: number;
  /** Distinct cases those urges were of. */
  urgedCases: number;
  /** '零报告' for a district with nothing found. */
  note: string;
}

export interface QuarterReport {
  quarter: string;
  epochs: string[];
  asOf: string;
  byDistrict: ReportLine[];
  byBureau: ReportLine[];
  total: ReportLine;
  /** False where no workflow tables exist: every item counts as 未核查. */
  workflow: boolean;
  warnings: string[];
}

/** '2026Q4' → ['2026-10', '2026-11', '2026-12']. */
export function quarterEpochs(quarter: string): string[] {
  const m = /^(\d{4})Q([1-4])$/.exec(quarter);
  if (!m) throw new TubanError('LEDGER.BAD_REQUEST', `quarter must be YYYYQn (e.g. 2026Q4), got '${quarter}'`, quarter);
  const first = (Number(m[2]) - 1) * 3 + 1;
  return [0, 1, 2].map((i) => `${m[1]}-${String(first + i).padStart(2, '0')}`);
}

interface Item {
  districtCode: string;
  districtName: string;
  bureau: string;
  areaM2: number;
  clue: boolean;
  /** The row's 是否发现不及时 is 是 (found elsewhere before the local patrol: ledger.ts foundLate). */
  foundLate: boolean;
  d: LedgerDisposition;
}

/** One 督办 of the quarter: the case, its district and the bureau urged (the lead bureau it had that day). */
interface Urge {
  code: string;
  districtCode: string;
  bureau: string;
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

/** `covered`: whether a detected tile of the quarter looked at the district (a district line's note when nothing was found). */
function line(group: ReportLine['group'], key: string, name: string, items: Item[], continuing: number, urges: Urge[], covered = true): ReportLine {
  const count = (l: string) => items.filter((i) => dispositionLabel(i.d) === l).length;
  const illegal = items.filter((i) => i.d.verdict === 'illegal');
  const rectified = illegal.filter((i) => i.d.rectified === true).length;
  const areaM2 = items.reduce((s, i) => s + i.areaM2, 0);
  // A split polygon's illegal area is its illegal parcels', not the whole polygon's.
  const illegalM2 = illegal.reduce((s, i) => s + (i.d.parcels.length ? i.d.parcels.filter((p) => p.verdict === 'illegal').reduce((a, p) => a + p.areaM2, 0) : i.areaM2), 0);
  return {
    group, key, name,
    items: items.length,
    satellite: items.filter((i) => !i.clue).length,
    clues: items.filter((i) => i.clue).length,
    continuing,
    areaM2: round(areaM2, 1),
    areaMu: round(areaM2 / SQM_PER_MU, 2),
    legal: count('合法'),
    illegal: illegal.length,
    other: count('其他'),
    monitoring: items.filter((i) => i.d.closure === '持续监测').length,
    unverified: count('未核查'),
    illegalAreaMu: round(illegalM2 / SQM_PER_MU, 2),
    rectificationRate: illegal.length ? round(rectified / illegal.length, 4) : null,
    rectified,
    closed: items.filter((i) => i.d.closure === '已销号' || i.d.closure === '图形灭失').length,
    overdue: items.filter((i) => i.d.overdue).length,
    escalated: items.filter((i) => i.d.escalations > 0 || i.d.handovers.length > 0).length,
    foundLate: items.filter((i) => i.foundLate).length,
    urges: urges.length,
    urgedCases: new Set(urges.map((u) => u.code)).size,
    note: group === '区县' && items.length === 0 ? (covered ? '零报告' : NOT_COVERED) : '',
  };
}

/** The note of a district with nothing found where no tile of the quarter was detected. */
export const NOT_COVERED = '无影像覆盖';

/** Footprints (lon/lat) of the tiles the quarter's batches detected: what was looked at. */
function detectedFootprints(rows: { plan: unknown; done: string[] | null }[]): Polygon[] {
  const out: Polygon[] = [];
  for (const r of rows) {
    const tiles = (r.plan as { tiles?: { tile?: { id?: string; footprint?: Polygon } }[] } | null)?.tiles ?? [];
    const done = new Set(r.done ?? []);
    for (const t of tiles) if (t.tile?.id && t.tile.footprint && done.has(t.tile.id)) out.push(t.tile.footprint);
  }
  return out;
}

/** Districts of the zone layers the batches ran with: code → name and outline. */
async function zoneDistricts(plans: unknown[], warnings: string[]): Promise<Map<string, Zone>> {
  const out = new Map<string, Zone>();
  const seen = new Set<string>();
  for (const plan of plans) {
    const args = (plan as { args?: Pick<BatchArgs, 'zones' | 'zonesCrs' | 'zonesCrsByPath'> } | null)?.args;
    for (const path of args?.zones ?? []) {
      // The CRS the batch read the file with (`--zones file@gcj02` wins over --zones-crs): a file that
      // declares none would otherwise be rejected now and its districts lose their 零报告 lines.
      const crs = args?.zonesCrsByPath?.[path] ?? args?.zonesCrs;
      const key = `${path}\u0000${crs ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // As the batch read it: a DataV-looking file without a suffix was read as it declares before such files were refused.
      const loaded = await loadZones([path], { zonesCrs: crs, unstatedDataVAsDeclared: true });
      for (const r of loaded.rejected) {
        if (ZONE_FILE_REJECTED.has(r.error.code) || r.error.code === 'INPUT.NOT_FOUND') warnings.push(`${path}: zone file unreadable now (${r.error.message}); a district only it knew gets no 零报告 line`);
      }
      for (const z of loaded.zones) if (z.kind === 'district' && z.code && !out.has(z.code)) out.set(z.code, z);
    }
  }
  return out;
}

export async function quarterReport(db: Queryable, quarter: string, opts: Pick<LoadLedgerOptions, 'asOf' | 'source'> = {}): Promise<QuarterReport> {
  const epochs = quarterEpochs(quarter);
  const asOf = opts.asOf ?? chinaDate(new Date());
  const warnings: string[] = [];
  const items: Item[] = [];
  const continuing: { districtCode: string; bureau: string }[] = [];
  let workflow = true;
  const names = new Map<string, string>();
  let bureauName = (id: string) => id;
  for (const epoch of epochs) {
    const data = await loadLedger(db, epoch, { ...opts, asOf });
    bureauName = data.bureauName as (id: string) => string;
    workflow &&= data.workflow;
    const clueCodes = new Set(data.clues.map((c) => c.code));
    data.rows.forEach((r, i) => {
      const clue = clueCodes.has(String(r.图斑编号));
      items.push({ districtCode: String(r.区县代码), districtName: String(r.区县), bureau: String(r.主办单位), areaM2: Number(r['监测面积(平方米)'] ?? 0), clue, foundLate: r.是否发现不及时 === '是', d: data.dispositions[i] });
      names.set(String(r.区县代码), String(r.区县));
    });
    const rowCodes = new Set(data.rows.map((r) => String(r.图斑编号)));
    for (const p of data.polygons) if (p.previousCode !== null && !rowCodes.has(p.code)) continuing.push({ districtCode: p.districtCode, bureau: data.bureauName(p.leadBureau) });
  }
  const urges = workflow ? await quarterUrges(db, epochs, asOf, bureauName) : [];
  const plans = await db.query<{ plan: unknown; done: string[] | null }>(
    `SELECT b.plan, array_agg(t.tile_id) FILTER (WHERE t.status = 'done') AS done
     FROM batches b LEFT JOIN tiles t ON t.batch_id = b.id WHERE b.epoch = ANY($1::text[]) GROUP BY b.id, b.plan ORDER BY b.id`,
    [epochs],
  );
  if (plans.rows.length === 0) warnings.push(`no batch ran for ${epochs.join(', ')}: no district is known from zone layers`);
  const districts = await zoneDistricts(plans.rows.map((r) => r.plan), warnings);
  for (const [code, z] of districts) if (!names.has(code)) names.set(code, z.name ?? code);
  const looked = detectedFootprints(plans.rows);
  const covered = (code: string) => {
    const z = districts.get(code);
    return z === undefined || looked.some((f) => booleanIntersects(f, z.geometry));
  };

  const byDistrict = [...names]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([code, name]) => line('区县', code, name, items.filter((i) => i.districtCode === code), continuing.filter((c) => c.districtCode === code).length, urges.filter((u) => u.districtCode === code), covered(code)));
  // A bureau urged only about an earlier quarter's case still has its line.
  const bureaus = [...new Set([...items.map((i) => i.bureau), ...continuing.map((c) => c.bureau), ...urges.map((u) => u.bureau)])].sort();
  const byBureau = bureaus.map((b) => line('主办单位', b, b, items.filter((i) => i.bureau === b), continuing.filter((c) => c.bureau === b).length, urges.filter((u) => u.bureau === b)));
  return { quarter, epochs, asOf, byDistrict, byBureau, total: line('合计', '', '合计', items, continuing.length, urges), workflow, warnings };
}

/**
 * The lead bureau's 督办 dated in the quarter and not after `asOf` (the audit log's `urge` rows, by
 * their `urged_on`), of a case of any month: a case found in spring and urged in autumn is autumn's
 * 督办. Each is counted for the bureau that led the case that day: the one a later 改派 gave it to was
 * not the one urged (the history's reassign rows say who had it before and after).
 */
async function quarterUrges(db: Queryable, epochs: string[], asOf: string, bureauName: (id: string) => string): Promise<Urge[]> {
  const first = `${epochs[0]}-01`;
  const [y, m] = epochs[2].split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
  const r = await db.query<{ code: string; district_code: string; bureau: string }>(
    `SELECT a.code, c.district_code, coalesce(
       (SELECT r.after->>'lead_bureau' FROM audit_log r WHERE r.code = a.code AND r.action = 'reassign' AND r.id < a.id AND r.after ? 'lead_bureau' ORDER BY r.id DESC LIMIT 1),
       (SELECT r.before->>'lead_bureau' FROM audit_log r WHERE r.code = a.code AND r.action = 'reassign' AND r.id > a.id AND r.before ? 'lead_bureau' ORDER BY r.id LIMIT 1),
       c.lead_bureau) AS bureau
     FROM audit_log a JOIN cases c ON c.code = a.code
     WHERE a.action = 'urge' AND a.after->>'urged_on' >= $1 AND a.after->>'urged_on' <= least($2, $3)`,
    [first, last, asOf],
  );
  return r.rows.map((u) => ({ code: u.code, districtCode: u.district_code, bureau: bureauName(u.bureau) }));
}

/** Report columns: Chinese header and the value of a line. */
export const REPORT_COLUMNS: readonly [string, (l: ReportLine) => string | number | null][] = [
  ['分组', (l) => l.group],
  ['代码', (l) => l.key],
  ['名称', (l) => l.name],
  ['新增问题数', (l) => l.items],
  ['卫片图斑', (l) => l.satellite],
  ['其他来源线索', (l) => l.clues],
  ['延续图斑', (l) => l.continuing],
  ['面积(平方米)', (l) => l.areaM2],
  ['面积(亩)', (l) => l.areaMu],
  ['合法', (l) => l.legal],
  ['违法', (l) => l.illegal],
  ['其他', (l) => l.other],
  ['其中持续监测', (l) => l.monitoring],
  ['未核查', (l) => l.unverified],
  ['合法占比', (l) => (l.items ? round(l.legal / l.items, 4) : null)],
  ['违法占比', (l) => (l.items ? round(l.illegal / l.items, 4) : null)],
  ['其他占比', (l) => (l.items ? round(l.other / l.items, 4) : null)],
  ['违法面积(亩)', (l) => l.illegalAreaMu],
  ['整改到位', (l) => l.rectified],
  ['整改率', (l) => l.rectificationRate],
  ['已销号', (l) => l.closed],
  ['逾期', (l) => l.overdue],
  ['移送/升级', (l) => l.escalated],
  ['发现不及时', (l) => l.foundLate],
  ['督办次数', (l) => l.urges],
  ['督办案件数', (l) => l.urgedCases],
  ['备注', (l) => l.note],
];

export function reportLines(r: QuarterReport): ReportLine[] {
  return [...r.byDistrict, ...r.byBureau, r.total];
}

/** One table, UTF-8 with BOM (Excel), CRLF; the 分组 column tells district, bureau and total lines apart. */
export function reportCsvBytes(r: QuarterReport): Buffer {
  const lines = [REPORT_COLUMNS.map(([h]) => h).join(',')];
  for (const l of reportLines(r)) lines.push(REPORT_COLUMNS.map(([, f]) => csvCell(f(l))).join(','));
  return Buffer.from('\uFEFF' + lines.join('\r\n') + '\r\n', 'utf8');
}

const PERCENT = new Set(['合法占比', '违法占比', '其他占比', '整改率']);

/** Two sheets (按区县 with the total, 按主办单位) plus a 说明 sheet with the warnings and the seam. */
export async function reportXlsxBytes(r: QuarterReport): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Tuban';
  wb.created = new Date(0);
  const sheet = (name: string, lines: ReportLine[]) => {
    const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 2 }] });
    ws.mergeCells(1, 1, 1, REPORT_COLUMNS.length);
    ws.getCell(1, 1).value = `${r.quarter} 卫片执法季度汇总（${r.epochs.join('、')}，统计至 ${r.asOf}）`;
    ws.getCell(1, 1).font = { bold: true, size: 14 };
    const header = ws.getRow(2);
    REPORT_COLUMNS.forEach(([h], i) => (header.getCell(i + 1).value = h));
    header.font = { bold: true };
    for (const l of lines) ws.addRow(REPORT_COLUMNS.map(([, f]) => f(l)));
    REPORT_COLUMNS.forEach(([h], i) => {
      const col = ws.getColumn(i + 1);
      col.width = Math.max(8, h.length * 2 + 2);
      if (PERCENT.has(h)) col.numFmt = '0.0%';
    });
  };
  sheet('按区县', [...r.byDistrict, r.total]);
  sheet('按主办单位', [...r.byBureau, r.total]);
  const notes = wb.addWorksheet('说明');
  notes.addRow(['区县来源', '本季度批次所用区划图层中的区县，加上有问题的区县；无问题者记“零报告”，本季度无已检测影像覆盖者记“无影像覆盖”']);
  notes.addRow(['督办', '督办次数：牵头单位本季度（至统计日）督办的次数，含以往各月下发的案件，计入督办当日的主办单位；督办案件数：其中被督办的案件数（同一案件多次督办计一件）']);
  notes.addRow(['其中持续监测', '“其他”中尚不能判定、持续监测的件数（推堆土、在建而用途不明；台账销号状态“持续监测”）：已核查，不计入“未核查”；未销号，不计入“已销号”']);
  notes.addRow(['发现不及时', '违法问题先由卫片（后时相）或举报发现、本地巡查此前未发现的件数（台账“是否发现不及时”为“是”；巡查首次发现时间由核查单位随判定录入）']);
  if (!r.workflow) notes.addRow(['核查数据', '数据库中没有核查流程数据：全部按“未核查”统计']);
  for (const w of r.warnings) notes.addRow(['警告', w]);
  notes.getColumn(1).width = 12;
  notes.getColumn(2).width = 100;
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** Display width: CJK characters take two columns. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\uFFFF]/.test(ch) ? 2 : 1;
  return w;
}

/** A plain-text table for the terminal (the main columns). */
export function reportText(r: QuarterReport): string {
  const cols: [string, (l: ReportLine) => string][] = [
    ['区县/单位', (l) => (l.group === '区县' ? `${l.name} ${l.key}` : l.name)],
    ['问题数', (l) => String(l.items)],
    ['面积(亩)', (l) => l.areaMu.toFixed(2)],
    ['合法', (l) => String(l.legal)],
    ['违法', (l) => String(l.illegal)],
    ['其他', (l) => String(l.other)],
    ['持续监测', (l) => String(l.monitoring)],
    ['未核查', (l) => String(l.unverified)],
    ['整改率', (l) => (l.rectificationRate === null ? '-' : `${(l.rectificationRate * 100).toFixed(1)}%`)],
    ['逾期', (l) => String(l.overdue)],
    ['移送/升级', (l) => String(l.escalated)],
    ['督办(次/件)', (l) => `${l.urges}/${l.urgedCases}`],
    ['备注', (l) => l.note],
  ];
  const table = (title: string, lines: ReportLine[]) => {
    const cells = [cols.map(([h]) => h), ...lines.map((l) => cols.map(([, f]) => f(l)))];
    const w = cols.map((_, i) => Math.max(...cells.map((row) => width(row[i]))));
    return [title, ...cells.map((row) => row.map((c, i) => (i === 0 ? c + ' '.repeat(w[i] - width(c)) : ' '.repeat(w[i] - width(c)) + c)).join('  ').trimEnd())].join('\n');
  };
  const parts = [
    `${r.quarter} (${r.epochs.join(', ')}), as of ${r.asOf}${r.workflow ? '' : ' — no workflow data: every item 未核查'}`,
    table('按区县', [...r.byDistrict, r.total]),
    table('按主办单位', [...r.byBureau, r.total]),
    ...r.warnings.map((w) => `warning: ${w}`),
  ];
  return parts.join('\n\n') + '\n';
}
