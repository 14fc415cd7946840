/**
 * The one disposition each ledger item (a monitoring polygon or a clue) ends the month with: what the
 * people who verified it decided (判定类型 合法/违法/其他, or 未核查 while nobody has), the details of
 * that verdict, the rectification and the closure (销号状态). The workflow (server/, its `cases`,
 * `parcels` and `escalations` tables) feeds it; the ledger, its exports and the quarterly report read
 * only this type, so they do not depend on how the workflow stores its state.
 *
 * Vocabulary after ../shared/domain/RESEARCH.md §3.6–3.8 and §4.4.
 */
import { TubanError } from '../../schemas/errors.js';
import { SQM_PER_MU, type BureauId } from '../../schemas/vocabulary.js';
import { HANDOVER_RECIPIENT_ZH, RECTIFICATION_METHOD_ZH, VERDICT_ZH, WORKFLOW_STATUS_ZH, type HandoverRecipient, type Verdict, type WorkflowStatus } from '../../schemas/workflow.js';

/** 销号状态 values (RESEARCH.md §3.7). */
export const CLOSURE_STATUSES = ['未销号', '持续监测', '县级已填报违法', '已销号', '图形灭失'] as const;
export type ClosureStatus = (typeof CLOSURE_STATUSES)[number];

/** 整改方式 column values: a method's label (schemas/workflow.ts), or 未整改. */
export type RectificationLabel = (typeof RECTIFICATION_METHOD_ZH)[keyof typeof RECTIFICATION_METHOD_ZH] | '未整改';

/** 判定类型 column values: the verdict in Chinese, or 未核查 while there is none. */
export type DispositionLabel = '未核查' | (typeof VERDICT_ZH)[Verdict];

/** A part of a split polygon (地块) with a verdict of its own; area in m². */
export interface ParcelDisposition {
  /** 1-based index within the polygon: the 地块编号 is `<code>-<idx>`. */
  idx: number;
  areaM2: number;
  verdict: Verdict | null;
  violationType: string | null;
  approvalDocNo: string | null;
  otherReason: string | null;
}

export interface LedgerDisposition {
  /** Polygon code or clue code. */
  code: string;
  /** Workflow state; null when the workflow has no row for the code (nobody has opened it). */
  status: WorkflowStatus | null;
  /** The polygon's verdict; a split polygon's once every parcel has one (illegal if any is, else legal if any is, else other). */
  verdict: Verdict | null;
  /** 合法: the approval document number (批准文号). */
  approvalDocNo: string | null;
  /** 违法: the violation type (违法占地 / 违法批地 / 违法转让 / 其他, or a finer level). */
  violationType: string | null;
  /** 其他: why (no real change, seasonal, already handled…). */
  otherReason: string | null;
  /** 违法性质 (主体分类: 个人违法 / 单位违法 / 政府及部门违法) of a violation, as recorded (absent: not said). */
  violationNature?: string | null;
  /** 巡查首次发现时间 (yyyy-mm-dd), as the verifier of a violation recorded it: null when the patrol had not found it. */
  patrolFoundOn: string | null;
  /** 实际用途 and 当事人, as recorded by the verifier. */
  actualUse: string | null;
  party: string | null;
  rectificationMethod: RectificationLabel | null;
  /** 是否整改到位: null until a rectification is recorded. */
  rectified: boolean | null;
  /** 是否立案 and 是否处罚到位, as the rectification and the closure record them (null: not said). */
  caseFiled: boolean | null;
  /** 不予立案说明: why no case was filed, when the rectification says so. */
  notFiledReason: string | null;
  /** 处罚决定时间 (yyyy-mm-dd): the day of the penalty decision, as the rectification records it. */
  penaltyDecidedOn: string | null;
  /** 立案时间 (yyyy-mm-dd): the day the case was filed, as the rectification records it (absent: not said). */
  caseFiledOn?: string | null;
  /** 罚没金额 in yuan: the fines and confiscations of the penalty decision (absent: not said). */
  fineAmountYuan?: number | null;
  /** 拆除复耕面积 in m²: the area demolished and restored (absent: not said). */
  restoredAreaM2?: number | null;
  /** 是否申请法院强制执行 (absent: not said). */
  courtEnforcement?: boolean | null;
  /** 补办手续批准文号 and 面积 (m²) of a retroactive approval (补办手续 / 拆补组合), as the rectification records them (absent: not said). */
  retroactiveDocNo?: string | null;
  retroactiveAreaM2?: number | null;
  /** 补办手续其中耕地面积 (m²): the cultivated land (耕地) within the approved area (absent: not said). */
  retroactiveFarmlandM2?: number | null;
  penaltyDone: boolean | null;
  /**
   * 整改期限 (yyyy-mm-dd): the due date of the rectification clock, set when the item was first judged
   * illegal and kept after the clock stops (办理期限 is the clock running now). Null: it never ran.
   */
  rectificationDue: string | null;
  /** The day the bureau closed the item (its closure record; 销号时间 is the day the review approved it). Null: no closure stands. */
  closureReportedOn: string | null;
  closure: ClosureStatus;
  /** 销号时间, yyyy-mm-dd. */
  closedOn: string | null;
  /**
   * 下发时间, yyyy-mm-dd: the day the item was issued (a polygon's batch's day, XFSJ being batch
   * metadata; a clue's its case's `issued_on`, the day it was registered). Null: the ledger's default.
   */
  issuedOn: string | null;
  /** 办理期限 from the workflow's deadline rule, yyyy-mm-dd (null: the ledger's default applies). */
  dueDate: string | null;
  /** Past `dueDate` without being closed, as of the day the ledger was compiled. */
  overdue: boolean;
  /** Escalations recorded (overdue, construction stage, manual: a hand-over decided and due). */
  escalations: number;
  /** Handovers done (移送), earliest first: 是否移送纪委监委 is 是 only with one to the discipline commission. */
  handovers: { to: HandoverRecipient; on: string; reference: string | null; note?: string | null }[];
  parcels: ParcelDisposition[];
  note: string | null;
  /** 销号退回: the lead bureau's review refused the closure (day, comment); absent once the bureau answered it. */
  sentBack?: { on: string; comment: string | null } | null;
  /**
   * Who handles the item now (主办/协办单位): the case's bureaus, which a reassignment (改派) changes;
   * absent where there is no case (the bureaus the batch routed it to stand).
   */
  leadBureau?: BureauId;
  coBureaus?: BureauId[];
}

/** The disposition of an item nobody has verified yet: 未核查, 未销号. */
export function undetermined(code: string): LedgerDisposition {
  return {
    code, status: null, verdict: null, approvalDocNo: null, violationType: null, otherReason: null, actualUse: null, party: null, patrolFoundOn: null,
    rectificationMethod: null, rectified: null, caseFiled: null, notFiledReason: null, penaltyDecidedOn: null, penaltyDone: null, rectificationDue: null, closureReportedOn: null, closure: '未销号', closedOn: null, issuedOn: null, dueDate: null, overdue: false, escalations: 0, handovers: [], parcels: [], note: null,
  };
}

export function dispositionLabel(d: LedgerDisposition): DispositionLabel {
  return d.verdict ? VERDICT_ZH[d.verdict] : '未核查';
}

/**
 * Exactly one disposition per code, in `codes` order: a code without one gets `undetermined`; a
 * disposition for a code that is not an item of this ledger, or two for one code, is an error
 * (it would mean the workflow and the batch disagree about what was issued).
 */
export function oneDispositionEach(codes: readonly string[], dispositions: readonly LedgerDisposition[]): LedgerDisposition[] {
  const wanted = new Set(codes);
  if (wanted.size !== codes.length) throw new TubanError('LEDGER.DUPLICATE_CODE', 'the ledger lists a code twice', [...codes].find((c, i) => codes.indexOf(c) !== i));
  const byCode = new Map<string, LedgerDisposition>();
  for (const d of dispositions) {
    if (!wanted.has(d.code)) throw new TubanError('LEDGER.UNKNOWN_CODE', 'a disposition names a code that is not in this ledger', d.code);
    if (byCode.has(d.code)) throw new TubanError('LEDGER.DUPLICATE_DISPOSITION', 'two dispositions for one code', d.code);
    byCode.set(d.code, d);
  }
  return codes.map((c) => byCode.get(c) ?? undetermined(c));
}

/** The verification columns of one ledger row. */
export interface DispositionCells {
  判定类型: DispositionLabel;
  违法类型: string;
  违法性质: string;
  批准文号: string;
  其他情形: string;
  实际用途: string;
  当事人: string;
  巡查首次发现时间: string;
  是否立案: string;
  不予立案说明: string;
  立案时间: string;
  处罚决定时间: string;
  '罚没金额(元)': number | null;
  整改方式: string;
  整改期限: string;
  '拆除复耕面积(亩)': number | null;
  '拆除复耕面积(平方米)': number | null;
  补办手续文号: string;
  '补办手续面积(亩)': number | null;
  '补办手续面积(平方米)': number | null;
  '补办手续其中耕地面积(亩)': number | null;
  是否整改到位: string;
  是否处罚到位: string;
  是否申请法院强制执行: string;
  结案时间: string;
  销号状态: ClosureStatus;
  销号时间: string;
  办理状态: string;
  是否逾期: string;
  是否移送纪委监委: string;
  移送纪委监委时间: string;
  移送纪委监委理由: string;
  是否移送公安: string;
  备注: string;
}

const yesNo = (b: boolean | null) => (b === null ? '' : b ? '是' : '否');

/** `移送纪委监委 2026-11-20（济自然资移〔2026〕3号）；移送公安机关 …`. */
function handovers(d: LedgerDisposition): string {
  return d.handovers.map((h) => `移送${HANDOVER_RECIPIENT_ZH[h.to]} ${h.on}${h.reference ? `（${h.reference}）` : ''}`).join('；');
}

export function dispositionCells(d: LedgerDisposition): DispositionCells {
  // Rectification, penalty and case closure are a violation's (a verdict judged again, 其他 after all,
  // leaves its old rectification record behind: not this row's).
  const illegal = d.verdict === 'illegal';
  const filed = illegal && d.caseFiled === true;
  const restored = d.restoredAreaM2 ?? null;
  // 补办手续's number and area are an approval's: shown with a method that seeks one (the server drops them otherwise).
  const retroactive = illegal && (d.rectificationMethod === '补办手续' || d.rectificationMethod === '拆补组合');
  const approvedM2 = retroactive ? (d.retroactiveAreaM2 ?? null) : null;
  const farmlandM2 = retroactive ? (d.retroactiveFarmlandM2 ?? null) : null;
  const discipline = d.handovers.filter((h) => h.to === 'discipline');
  const parcels = d.parcels.length
    ? `拆分为${d.parcels.length}个地块：` +
      d.parcels
        .map((p) => `${d.code}-${p.idx} ${p.verdict ? VERDICT_ZH[p.verdict] : '未核查'}${p.violationType ? ` ${p.violationType}` : ''} ${(p.areaM2 / (10000 / 15)).toFixed(2)}亩`)
        .join('；')
    : '';
  return {
    判定类型: dispositionLabel(d),
    违法类型: d.violationType ?? '',
    违法性质: illegal ? (d.violationNature ?? '') : '',
    批准文号: d.approvalDocNo ?? '',
    其他情形: d.otherReason ?? '',
    实际用途: d.actualUse ?? '',
    当事人: d.party ?? '',
    巡查首次发现时间: d.patrolFoundOn ?? '',
    是否立案: yesNo(d.caseFiled),
    不予立案说明: d.caseFiled === false ? (d.notFiledReason ?? '') : '',
    // A filed case's facts (立案时间, 罚没金额, 申请法院强制执行): the server drops them with 不予立案.
    立案时间: filed ? (d.caseFiledOn ?? '') : '',
    处罚决定时间: illegal ? (d.penaltyDecidedOn ?? '') : '',
    '罚没金额(元)': filed ? (d.fineAmountYuan ?? null) : null,
    整改方式: d.rectificationMethod ?? (d.verdict === 'illegal' ? '未整改' : ''),
    整改期限: illegal ? (d.rectificationDue ?? '') : '',
    // In 亩 and m² as 监测面积 (2 and 1 decimals): demolition and restoration is a violation's, filed or not.
    '拆除复耕面积(亩)': illegal && restored !== null ? Math.round((restored / SQM_PER_MU) * 100) / 100 : null,
    '拆除复耕面积(平方米)': illegal && restored !== null ? Math.round(restored * 10) / 10 : null,
    补办手续文号: retroactive ? (d.retroactiveDocNo ?? '') : '',
    '补办手续面积(亩)': approvedM2 !== null ? Math.round((approvedM2 / SQM_PER_MU) * 100) / 100 : null,
    '补办手续面积(平方米)': approvedM2 !== null ? Math.round(approvedM2 * 10) / 10 : null,
    '补办手续其中耕地面积(亩)': farmlandM2 !== null ? Math.round((farmlandM2 / SQM_PER_MU) * 100) / 100 : null,
    是否整改到位: yesNo(d.rectified),
    是否处罚到位: yesNo(d.penaltyDone),
    是否申请法院强制执行: filed ? yesNo(d.courtEnforcement ?? null) : '',
    // 结案 closes a filed case (立案; state_machine.yaml RECTIFIED: 整改到位 + 处罚到位 (+ 结案)): the day the
    // bureau closed it. No case was filed (不予立案, or not said): nothing to 结案.
    结案时间: illegal && d.caseFiled === true ? (d.closureReportedOn ?? '') : '',
    销号状态: d.closure,
    销号时间: d.closedOn ?? '',
    // No case yet: the batch issued it and nobody has opened it, i.e. 已下发.
    办理状态: d.status ? WORKFLOW_STATUS_ZH[d.status] : WORKFLOW_STATUS_ZH.issued,
    是否逾期: d.overdue ? '是' : '否',
    // Done, not due: an escalation decides a hand-over, the handover record says it happened.
    是否移送纪委监委: discipline.length > 0 ? '是' : '否',
    // RESEARCH.md §3.8 item 11: 是否移送纪委监委 (时间, 理由): the first hand-over's day, every one's note.
    移送纪委监委时间: discipline[0]?.on ?? '',
    移送纪委监委理由: [...new Set(discipline.map((h) => h.note?.trim() ?? '').filter(Boolean))].join('；'),
    是否移送公安: d.handovers.some((h) => h.to === 'police') ? '是' : '否',
    备注: [d.note ?? '', d.sentBack ? `销号退回 ${d.sentBack.on}${d.sentBack.comment ? `：${d.sentBack.comment}` : ''}` : '', handovers(d), parcels].filter(Boolean).join('；'),
  };
}
