// Chinese labels for the API's ASCII ids. The vocabulary (workflow states, verdicts, violation types,
// situations, rectification methods, 发现方式, 移送 recipients, change types, priorities) and the bureau and zone names
// of the rule tables the database's batches used come from the server, generated from schemas/
// (server/workflow-labels.ts): one copy with the ledger, nothing to keep in step.
// What follows them is the page's own: colours, role and action names, ledger links.
import * as W from './workflow-labels.js';

export const { STATUS, VERDICTS, VIOLATION_TYPES, VIOLATION_SUBTYPES, VIOLATION_NATURES, OTHER_SITUATIONS, RECTIFICATION_METHODS, CLUE_SOURCES, HANDOVER_RECIPIENTS, BUREAUS, PRIORITY } = W;
// A clue has no detected change type; the page shows where it came from instead.
export const CHANGE_TYPES = { ...W.CHANGE_TYPES, clue: '线索' };
// Overlaps may also name the district layer.
export const ZONE_KINDS = { ...W.ZONE_KINDS, district: '区县' };
// Colours by status: warm = needs action, cool = in hand, grey = done.
export const STATUS_COLOR = {
  issued: '#e8590c',
  accepted: '#f59f00',
  verified: '#1c7ed6',
  monitoring: '#0c8599',
  rectifying: '#ae3ec9',
  closed: '#2f9e44',
  reviewed: '#868e96',
  reassignment_requested: '#e03131',
  vanished: '#adb5bd',
  merged: '#91a7ff',
};
/** States that ask nothing more of anyone (schemas/workflow.ts SETTLED_STATUSES): no actions but notes, no uploads. */
export const SETTLED = ['reviewed', 'vanished', 'merged'];
export const VERDICT_COLOR = { legal: '#2f9e44', illegal: '#e03131', other: '#868e96' };
export const ROLES = { analyst: '分析员', bureau: '部门', district: '区县', lead: '牵头局', admin: '管理员' };
/** The audit log's action names (server/workflow/state-machine.ts and the case sweeps). */
export const ACTIONS = {
  accept: '签收',
  verdict: '判定',
  recheck_date: '调整复查期限',
  split: '分割地块',
  evidence: '上传证据',
  rectification: '整改进度',
  close: '销号',
  request_reassignment: '申请改派',
  reassign: '改派',
  review: '复核',
  escalate: '移交/升级',
  hand_over: '移送',
  urge: '督办',
  note: '备注',
  confirm_geometry: '确认图形变更',
  withdraw: '图形灭失撤销',
  separate: '拆出单独下发',
  merge: '并入往期案件',
  reissue: '重新下发',
  'site.seen_again': '同一地块再次监测到变化',
  'site.separated': '拆出后续图斑',
  'clue.add': '登记线索',
  'geometry.changed': '复测图形变化',
  'polygon.vanished': '复测未再检出',
  'escalate.overdue': '逾期升级',
  'escalate.construction_stage': '建设阶段升级',
  issue: '下发',
  create: '下发',
};
export const ESCALATION_KINDS = { manual: '人工移交', overdue: '逾期', construction_stage: '建设阶段升级' };
export const DEADLINE_RULES = { verification: '核查（月清）', monitoring: '持续监测复查（次月底）', rectification: '整改（15 个工作日）', monthly_report: '牵头局复核（次月 5 日）', handover: '移交纪委监委（15 日）', penalty_files: '处罚后移交（30 日）', haikou_stage: '建设阶段' };
export const LEDGER_FORMATS = [
  ['xlsx', 'Excel 台账 (.xlsx)'],
  ['csv', 'CSV (.csv, UTF-8)'],
  ['gpkg', 'GeoPackage (.gpkg)'],
  ['shp.zip', 'Shapefile (.shp.zip)'],
  ['geojson', 'GeoJSON (.geojson)'],
];
