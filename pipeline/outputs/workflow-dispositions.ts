/**
 * The seam between the bureau workflow and the ledger: one function reads, for a month, the clues and
 * every item's disposition from the workflow's tables (issue 13's `cases`, `parcels`, `escalations`,
 * `audit_log`, `clues`, written by server/). Where the workflow tables do not exist yet (a database
 * that only ever ran batches), every item is 未核查 and there are no clues — the ledger still lists
 * every polygon with exactly one disposition.
 *
 * The JSON columns are read with the keys of the server's request bodies (schemas/api.ts):
 * verdict_details {approval_doc_no | violation_type, violation_subtype, party, violation_nature | situation, reason, watch;
 * actual_use, note} (on a split polygon, on each parcel), rectification {method, progress, case_filed, not_filed_reason, penalty_decided_on, case_filed_on,
 * fine_amount_yuan, restored_area_m2, court_enforcement, retroactive_doc_no, retroactive_area_m2, retroactive_farmland_m2, note,
 * closure: {reason, rectified, penalty_done, closed_on}}. Ids become Chinese labels here, from the
 * one vocabulary in schemas/workflow.ts. A split
 * polygon's verdict is the case's, which the server sets once every parcel is judged.
 */
import { chinaDateSql } from '../iso-date.js';
import type { MultiPolygon, Point, Polygon } from 'geojson';
import { TubanError } from '../../schemas/errors.js';
import type { BureauId } from '../../schemas/vocabulary.js';
import {
  OTHER_SITUATION_ZH, RECTIFICATION_METHOD_ZH, VIOLATION_NATURE_ZH, VIOLATION_SUBTYPE_ZH, VIOLATION_TYPE_ZH,
  type ClueSource, type HandoverRecipient, type Verdict, type WorkflowStatus,
} from '../../schemas/workflow.js';
import type { Queryable } from '../store/queryable.js';
import type { LedgerClue } from './ledger.js';
import type { ClosureStatus, LedgerDisposition, ParcelDisposition, RectificationLabel } from './ledger-disposition.js';

export interface WorkflowLedger {
  dispositions: LedgerDisposition[];
  clues: LedgerClue[];
  /** Which workflow tables were found (the ledger says so when none were). */
  workflow: boolean;
  /**
   * Polygons continuing an earlier month's code (往期图斑) that the workflow issued to be verified on
   * their own, so ledger rows (with their 往期图斑编号): a site changed again after its case was
   * judged or closed, one routed to another bureau or district, one the lead bureau separated from
   * the case it had joined, one whose site was withdrawn (图形灭失). Only a polygon merged into its
   * site's open case is that case's progression, in no row. Absent: none.
   */
  newSites?: string[];
}

type Json = Record<string, unknown> | null;
const str = (j: Json, k: string): string | null => (j && typeof j[k] === 'string' && (j[k] as string).trim() !== '' ? (j[k] as string).trim() : null);
const num = (j: Json, k: string): number | null => (j && typeof j[k] === 'number' && Number.isFinite(j[k]) ? (j[k] as number) : null);
/** An id's label; an id the table lacks (a newer server's) is shown as it is rather than dropped. */
const label = (table: Readonly<Record<string, string>>, id: string | null) => (id === null ? null : (table[id] ?? id));

async function tablesPresent(db: Queryable, names: readonly string[]): Promise<Set<string>> {
  const r = await db.query<{ name: string; ok: boolean }>(
    `SELECT n AS name, to_regclass(n) IS NOT NULL AS ok FROM unnest($1::text[]) AS n`,
    [[...names]],
  );
  return new Set(r.rows.filter((x) => x.ok).map((x) => x.name));
}

/** The verdict's detail columns from a verdict_details object. */
function verdictDetails(verdict: Verdict | null, j: Json): Pick<LedgerDisposition, 'approvalDocNo' | 'violationType' | 'otherReason' | 'actualUse' | 'party' | 'patrolFoundOn' | 'note'> & { violationNature: string | null } {
  const type = label(VIOLATION_TYPE_ZH, str(j, 'violation_type'));
  const sub = label(VIOLATION_SUBTYPE_ZH, str(j, 'violation_subtype'));
  const situation = label(OTHER_SITUATION_ZH, str(j, 'situation'));
  const reason = str(j, 'reason');
  // 持续监测: what the re-check looks for goes with the situation and its reason (no column of its own).
  const watch = str(j, 'watch');
  return {
    approvalDocNo: verdict === 'legal' ? str(j, 'approval_doc_no') : null,
    violationType: verdict === 'illegal' ? ([type, sub].filter(Boolean).join('（') + (sub ? '）' : '') || null) : null,
    otherReason: verdict === 'other' ? ([[situation, reason].filter(Boolean).join('：'), watch && `关注：${watch}`].filter(Boolean).join('；') || null) : null,
    actualUse: str(j, 'actual_use'),
    party: str(j, 'party'),
    violationNature: verdict === 'illegal' ? label(VIOLATION_NATURE_ZH, str(j, 'violation_nature')) : null,
    patrolFoundOn: verdict === 'illegal' ? str(j, 'patrol_found_on') : null,
    note: str(j, 'note'),
  };
}

type Details = ReturnType<typeof verdictDetails>;

/**
 * A split polygon's detail columns (its case holds none of its own): those of the parcels that carry
 * its verdict, distinct, in parcel order — the illegal parcels' violation types and parties for 违法.
 */
function splitDetails(verdict: Verdict | null, parcels: { verdict: Verdict | null; details: Details }[]): Details {
  const carrying = parcels.filter((p) => p.verdict === verdict).map((p) => p.details);
  const join = (k: keyof Details) => [...new Set(carrying.map((d) => d[k]).filter((v): v is string => v !== null))].join('；') || null;
  // The site was found by the patrol when its first parcel was.
  const found = carrying.map((d) => d.patrolFoundOn).filter((v): v is string => v !== null).sort()[0] ?? null;
  return { approvalDocNo: join('approvalDocNo'), violationType: join('violationType'), otherReason: join('otherReason'), actualUse: join('actualUse'), party: join('party'), violationNature: join('violationNature'), patrolFoundOn: found, note: join('note') };
}

/** The case's own details, each filled from its parcels' where the case has none (the server keeps a split polygon's on its parcels). */
function withSplit(own: Details, split: Details | null): Details {
  if (!split) return own;
  return Object.fromEntries(Object.entries(own).map(([k, v]) => [k, v ?? split[k as keyof Details]])) as Details;
}

/** 销号状态 from the workflow state and verdict (RESEARCH.md §3.7). */
export function closureOf(status: WorkflowStatus | null, verdict: Verdict | null): ClosureStatus {
  if (status === 'vanished') return '图形灭失';
  // 销号 takes effect once the lead bureau's review approves it (state_machine.yaml: RECTIFIED →
  // CLOSED_CANCELLED by 审核; 办理状态 says 已销号待审核 while it waits): until then the item stands as before.
  if (status === 'reviewed') return '已销号';
  if (verdict === 'illegal') return '县级已填报违法';
  // 其他 · 持续监测: open, re-checked against later imagery (a split polygon with a monitored part too).
  if (status === 'monitoring') return '持续监测';
  return '未销号';
}

/**
 * Dispositions for `codes` (the month's polygons and clues; codes the workflow has no row for are
 * left out, i.e. 未核查) and the month's clues. `asOf` (yyyy-mm-dd) decides what is overdue.
 */
export async function loadWorkflowLedger(db: Queryable, epoch: string, codes: readonly string[], asOf: string): Promise<WorkflowLedger> {
  const have = await tablesPresent(db, ['cases', 'parcels', 'escalations', 'audit_log', 'clues', 'handovers', 'polygons_gone']);
  const clues: LedgerClue[] = [];
  if (have.has('clues')) {
    const r = await db.query<{
      code: string; epoch: string; source: ClueSource; geom: string; area_m2: number; district_code: string; district_name: string; township_name: string | null; village_name: string | null;
      lead_bureau: BureauId; co_bureaus: BureauId[]; description: string; reported_on: string; lon: number; lat: number;
    }>(
      `SELECT code, epoch, source, ST_AsGeoJSON(geom, 9) AS geom, area_m2, district_code, district_name, township_name, village_name, lead_bureau, co_bureaus,
              description, reported_on::text AS reported_on, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat
       FROM clues WHERE epoch = $1 ORDER BY code`,
      [epoch],
    );
    for (const c of r.rows) {
      const geometry = JSON.parse(c.geom) as Point | Polygon | MultiPolygon;
      if (!['Point', 'Polygon', 'MultiPolygon'].includes(geometry.type)) {
        throw new TubanError('LEDGER.BAD_GEOMETRY', `clue geometry is a ${geometry.type}; the ledger takes a point or a polygon`, c.code);
      }
      clues.push({
        code: c.code, epoch: c.epoch, source: c.source, geometry, areaM2: c.area_m2, districtCode: c.district_code, districtName: c.district_name, townshipName: c.township_name, villageName: c.village_name,
        leadBureau: c.lead_bureau, coBureaus: c.co_bureaus, description: c.description, reportedOn: c.reported_on, centroid: [c.lon, c.lat],
      });
    }
  }
  if (!have.has('cases')) return { dispositions: [], clues, workflow: false };

  const all = [...codes, ...clues.map((c) => c.code)];
  const parcels = new Map<string, ParcelDisposition[]>();
  const parcelDetails = new Map<string, { verdict: Verdict | null; details: Details }[]>();
  if (have.has('parcels')) {
    const r = await db.query<{ code: string; idx: number; area_m2: number; verdict: Verdict | null; verdict_details: Json }>(
      'SELECT code, idx, area_m2, verdict, verdict_details FROM parcels WHERE code = ANY($1::text[]) ORDER BY code, idx',
      [all],
    );
    for (const p of r.rows) {
      const v = verdictDetails(p.verdict, p.verdict_details);
      const list = parcels.get(p.code) ?? [];
      list.push({ idx: p.idx, areaM2: p.area_m2, verdict: p.verdict, violationType: v.violationType, approvalDocNo: v.approvalDocNo, otherReason: v.otherReason });
      parcels.set(p.code, list);
      parcelDetails.set(p.code, [...(parcelDetails.get(p.code) ?? []), { verdict: p.verdict, details: v }]);
    }
  }
  const handovers = new Map<string, LedgerDisposition['handovers']>();
  if (have.has('handovers')) {
    const r = await db.query<{ code: string; recipient: HandoverRecipient; handed_on: string; reference: string | null; note: string | null }>(
      'SELECT code, recipient, handed_on::text AS handed_on, reference, note FROM handovers WHERE code = ANY($1::text[]) ORDER BY code, handed_on, id',
      [all],
    );
    for (const h of r.rows) handovers.set(h.code, [...(handovers.get(h.code) ?? []), { to: h.recipient, on: h.handed_on, reference: h.reference, note: h.note }]);
  }
  const escalationCount = have.has('escalations') ? '(SELECT count(*) FROM escalations e WHERE e.code = c.code)::int' : '0';
  // 销号时间: the day the review approved the closure (its audit row), else the closure's own day, else
  // the case's last change.
  const closedOn = have.has('audit_log')
    ? `COALESCE((SELECT ${chinaDateSql('max(a.at)')}::text FROM audit_log a WHERE a.code = c.code AND a.action = 'review' AND a.after->>'status' = 'reviewed'),
                c.rectification->'closure'->>'closed_on',
                (SELECT ${chinaDateSql('max(a.at)')}::text FROM audit_log a WHERE a.code = c.code AND a.action IN ('close', 'closed')),
                ${chinaDateSql('c.updated_at')}::text)`
    : `COALESCE(c.rectification->'closure'->>'closed_on', ${chinaDateSql('c.updated_at')}::text)`;
  // 整改期限: the rectification clock's due date while it runs, else the one it had (a clock keeps the
  // due date it was first given, server/workflow/case-store.ts resumedDue: the first audit row that set it).
  const rectificationDue = have.has('audit_log')
    ? `COALESCE(CASE WHEN c.due_rule = 'rectification' THEN c.due_date::text END,
                (SELECT a.after->>'due_date' FROM audit_log a WHERE a.code = c.code AND a.after->>'due_rule' = 'rectification' AND a.after->>'due_date' IS NOT NULL ORDER BY a.id LIMIT 1))`
    : `CASE WHEN c.due_rule = 'rectification' THEN c.due_date::text END`;
  const r = await db.query<{
    code: string; status: WorkflowStatus; verdict: Verdict | null; verdict_details: Json; rectification: Json; issued_on: string; due_date: string | null;
    escalation_level: number; escalations: number; closed_on: string; lead_bureau: BureauId; co_bureaus: BureauId[]; rectification_due: string | null;
  }>(
    `SELECT c.code, c.status, c.lead_bureau, c.co_bureaus, c.verdict, c.verdict_details, c.rectification, c.issued_on::text AS issued_on, c.due_date::text AS due_date, c.escalation_level,
            ${escalationCount} AS escalations, ${closedOn} AS closed_on, ${rectificationDue} AS rectification_due
     FROM cases c WHERE c.code = ANY($1::text[]) ORDER BY c.code`,
    [all],
  );
  const dispositions = r.rows.map((c): LedgerDisposition => {
    const ps = parcels.get(c.code) ?? [];
    const verdict = c.verdict;
    const rect = c.rectification;
    const closure = rect && typeof rect.closure === 'object' ? (rect.closure as Json) : null;
    const progress = rect && typeof rect.progress === 'number' ? rect.progress : null;
    // 是否整改到位: what the closure says, else 否 while the lead bureau's refusal of one stands (销号退回:
    // the progress it rested on was found wanting), else whether the reported progress reached 100 %.
    const sent = rect && typeof rect.sent_back === 'object' && rect.sent_back !== null ? (rect.sent_back as Json) : null;
    const rectified = closure && typeof closure.rectified === 'boolean' ? closure.rectified : sent ? false : progress !== null ? progress >= 100 : null;
    const closed = c.status === 'closed' || c.status === 'reviewed';
    return {
      code: c.code,
      status: c.status,
      verdict,
      ...withSplit(verdictDetails(c.verdict, c.verdict_details), ps.length ? splitDetails(verdict, parcelDetails.get(c.code)!) : null),
      rectificationMethod: label(RECTIFICATION_METHOD_ZH, str(rect, 'method')) as RectificationLabel | null,
      rectified,
      caseFiled: rect && typeof rect.case_filed === 'boolean' ? rect.case_filed : null,
      notFiledReason: str(rect, 'not_filed_reason'),
      penaltyDecidedOn: str(rect, 'penalty_decided_on'),
      caseFiledOn: str(rect, 'case_filed_on'),
      fineAmountYuan: num(rect, 'fine_amount_yuan'),
      restoredAreaM2: num(rect, 'restored_area_m2'),
      courtEnforcement: rect && typeof rect.court_enforcement === 'boolean' ? rect.court_enforcement : null,
      retroactiveDocNo: str(rect, 'retroactive_doc_no'),
      retroactiveAreaM2: num(rect, 'retroactive_area_m2'),
      retroactiveFarmlandM2: num(rect, 'retroactive_farmland_m2'),
      penaltyDone: closure && typeof closure.penalty_done === 'boolean' ? closure.penalty_done : null,
      rectificationDue: c.rectification_due,
      // The closure standing (a review's refusal removes it): the day the bureau closed the item.
      closureReportedOn: str(closure, 'closed_on'),
      closure: closureOf(c.status, verdict),
      closedOn: c.status === 'reviewed' ? c.closed_on : null,
      issuedOn: c.issued_on,
      dueDate: c.due_date,
      overdue: !closed && c.due_date !== null && c.due_date < asOf,
      escalations: Math.max(c.escalations, c.escalation_level > 0 ? 1 : 0),
      handovers: handovers.get(c.code) ?? [],
      parcels: ps,
      sentBack: sent ? { on: str(sent, 'on') ?? '', comment: str(sent, 'comment') } : null,
      leadBureau: c.lead_bureau,
      coBureaus: c.co_bureaus,
    };
  });
  // Every continuing polygon the workflow issued on its own (not merged into its site's open case);
  // among those a re-run dropped (polygons_gone), one that was merged when it vanished (its last
  // merge/reissue/separate is the merge) never was issued on its own: not a row.
  const gone = have.has('polygons_gone')
    ? `UNION
       SELECT c.code FROM cases c JOIN polygons_gone g ON g.code = c.code
       WHERE c.code = ANY($1::text[]) AND g.previous_code IS NOT NULL AND c.status <> 'merged'
         ${have.has('audit_log') ? `AND (c.status <> 'vanished' OR (SELECT a.action FROM audit_log a WHERE a.code = c.code AND a.action IN ('merge', 'reissue', 'separate') ORDER BY a.id DESC LIMIT 1) IS DISTINCT FROM 'merge')` : ''}`
    : '';
  const own = await db.query<{ code: string }>(
    `SELECT c.code FROM cases c JOIN work_items w ON w.code = c.code
     WHERE c.code = ANY($1::text[]) AND w.previous_code IS NOT NULL AND c.status <> 'merged'
     ${gone}
     ORDER BY code`,
    [codes],
  );
  return { dispositions, clues, workflow: true, newSites: own.rows.map((x) => x.code) };
}
