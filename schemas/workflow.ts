/**
 * The verification workflow's vocabulary (RESEARCH.md §4.4), one copy for the server (which
 * validates request bodies with these enums) and pipeline/ (whose ledger turns the stored ids into
 * the Chinese labels): workflow states, verdicts, violation types (level 1 after the 土地管理法
 * offences, level 2 the sub-types seen in practice), 违法性质, "other" situations, rectification methods and
 * clue sources (发现方式). Ids are ASCII for the API and the database; each label table is what the
 * ledger and the page show, and each enum is built from its table's keys, so the two cannot drift.
 */
import { z } from 'zod';

/** A zod enum of a label table's ids (zod 4's z.enum on an object would check the labels instead). */
function idsOf<T extends Record<string, string>>(labels: T) {
  return z.enum(Object.keys(labels) as [keyof T & string, ...(keyof T & string)[]]);
}

/** Workflow states (after domain/state_machine.yaml, condensed), labelled as the page shows them. */
export const WORKFLOW_STATUS_ZH = {
  issued: '已下发',
  accepted: '核查中',
  verified: '已判定',
  monitoring: '持续监测',
  rectifying: '整改中',
  closed: '已销号待审核',
  reviewed: '审核通过',
  reassignment_requested: '申请改派',
  vanished: '图形灭失',
  merged: '已并入往期',
} as const;
export const workflowStatusSchema = idsOf(WORKFLOW_STATUS_ZH);
export type WorkflowStatus = z.infer<typeof workflowStatusSchema>;

/**
 * States in which a case asks nothing more of anyone: reviewed (审核通过); vanished (图形灭失:
 * a batch re-run no longer finds its polygon, and the lead bureau, or the system for a case nobody
 * had touched, withdrew it); and merged (已并入往期: the polygon continues a site whose earlier case
 * the same bureau still has open, so that case carries it, as progression, instead of a second
 * verification of one place). No deadline runs out in them.
 */
export const SETTLED_STATUSES = ['reviewed', 'vanished', 'merged'] as const satisfies readonly WorkflowStatus[];

/**
 * Who a case was handed over to (移送): the discipline commission (纪委监委: an official's part, or
 * rectification overdue, Jinan's 纪行衔接) or the police (涉嫌犯罪). The ledger's 是否移送纪委监委
 * says 是 only once such a handover is recorded, not when it is merely due.
 */
export const HANDOVER_RECIPIENT_ZH = { discipline: '纪委监委', police: '公安机关' } as const;
export const handoverRecipientSchema = idsOf(HANDOVER_RECIPIENT_ZH);
export type HandoverRecipient = z.infer<typeof handoverRecipientSchema>;

/** 判定类型. */
export const VERDICT_ZH = { legal: '合法', illegal: '违法', other: '其他' } as const;
export const verdictSchema = idsOf(VERDICT_ZH);
export type Verdict = z.infer<typeof verdictSchema>;

/** 违法类型, level 1. */
export const VIOLATION_TYPE_ZH = {
  illegal_occupation: '非法占用土地',
  rural_housing: '农村村民非法占地建住宅',
  illegal_approval: '非法批准征收、使用土地',
  illegal_transfer: '非法转让、买卖土地',
  farmland_damage: '破坏耕地、种植条件',
  refuse_reclaim: '拒不交还土地、拒不履行复垦义务',
  illegal_mining: '非法采矿、越界开采',
} as const;
export const violationTypeSchema = idsOf(VIOLATION_TYPE_ZH);
export type ViolationType = z.infer<typeof violationTypeSchema>;

/** 违法类型, level 2 (shown in brackets after level 1). */
export const VIOLATION_SUBTYPE_ZH = {
  built_before_approval: '未批先建',
  occupied_beyond_approval: '批少占多',
  used_before_supply: '未供即用',
  lease_for_requisition: '以租代征',
  use_changed: '擅自改变用途',
  beyond_boundary: '越界',
} as const;
export const violationSubtypeSchema = idsOf(VIOLATION_SUBTYPE_ZH);
export type ViolationSubtype = z.infer<typeof violationSubtypeSchema>;

/**
 * 违法性质 (主体分类, RESEARCH.md §3.5, §4.4): who violated. The provincial systems keep the values
 * server-side; these are the typical three.
 */
export const VIOLATION_NATURE_ZH = {
  individual: '个人违法',
  organisation: '单位违法',
  government: '政府及部门违法',
} as const;
export const violationNatureSchema = idsOf(VIOLATION_NATURE_ZH);
export type ViolationNature = z.infer<typeof violationNatureSchema>;

/** 其他情形: why a change is neither legal nor illegal. */
export const OTHER_SITUATION_ZH = {
  false_change: '伪变化',
  seasonal: '季节性/农业生产',
  already_handled: '已处理/往期已查处',
  temporary_use: '临时用地',
  facility_agriculture: '设施农用地',
  /** Not yet judgeable (推堆土, 推平, 在建而用途不明): the case stays open, state `monitoring`, re-checked against later imagery. */
  continuous_monitoring: '持续监测（推堆土/在建，用途待定）',
  other: '其他',
} as const;
export const otherSituationSchema = idsOf(OTHER_SITUATION_ZH);
export type OtherSituation = z.infer<typeof otherSituationSchema>;

/** 整改方式. (The ledger writes 未整改 for an illegal item without one; that is not a method.) */
export const RECTIFICATION_METHOD_ZH = {
  demolish_restore: '拆除复耕',
  retroactive_approval: '补办手续',
  combined: '拆补组合',
  confiscation: '没收',
  fine: '罚款',
  court_enforcement: '申请法院强制执行',
} as const;
export const rectificationMethodSchema = idsOf(RECTIFICATION_METHOD_ZH);
export type RectificationMethod = z.infer<typeof rectificationMethodSchema>;

/** 发现方式 of a clue from another source than the satellite batch (whose rows say 卫片). */
export const CLUE_SOURCE_ZH = { patrol: '巡查发现', public_report: '群众举报', hotline: '热线(12336/12345)' } as const;
export const clueSourceSchema = idsOf(CLUE_SOURCE_ZH);
export type ClueSource = z.infer<typeof clueSourceSchema>;
