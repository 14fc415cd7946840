// Chinese labels for the API's ASCII ids. The workflow vocabulary (states, verdicts, violation types,
// situations, rectification methods, 发现方式) and the rule table's bureau and zone names come from the
// server, generated from schemas/workflow.ts (server/workflow-labels.ts): one copy, nothing to keep in step.
// What follows them is the page's own: colours, change types, priority, roles, action names, ledger links.
import * as W from './workflow-labels.js';

export const { STATUS, VERDICTS, VIOLATION_TYPES, VIOLATION_SUBTYPES, OTHER_SITUATIONS, RECTIFICATION_METHODS, CLUE_SOURCES, BUREAUS } = W;
// Overlaps may also name the district layer.
export const ZONE_KINDS = { ...W.ZONE_KINDS, district: '区县' };
// Colours by status: warm = needs action, cool = in hand, grey = done.
export const STATUS_COLOR = {
  issued: '#e8590c',
  accepted: '#f59f00',
  verified: '#1c7ed6',
  rectifying: '#ae3ec9',
  closed: '#2f9e44',
  reviewed: '#868e96',
  reassignment_requested: '#e03131',
};
export const CHANGE_TYPES = {
  construction: '新增建筑',
  bare_soil: '动土',
  vegetation_loss: '植被清除',
  water_fill: '填埋水域',
  new_water: '新增坑塘',
  clue: '线索',
};
export const PRIORITY = { high: '高', normal: '一般' };
export const ROLES = { analyst: '分析员', bureau: '部门', district: '区县', lead: '牵头局', admin: '管理员' };
export const ACTIONS = {
  accept: '签收',
  verdict: '判定',
  split: '分割',
  evidence: '上传证据',
  rectification: '整改进度',
  close: '销号',
  'request-reassignment': '申请改派',
  reassign: '改派',
  review: '复核',
  escalate: '移交/升级',
  notes: '备注',
  'confirm-geometry': '确认图形变更',
  issue: '下发',
  create: '下发',
};
export const LEDGER_FORMATS = [
  ['xlsx', 'Excel 台账 (.xlsx)'],
  ['csv', 'CSV (.csv, UTF-8)'],
  ['gpkg', 'GeoPackage (.gpkg)'],
  ['shp.zip', 'Shapefile (.shp.zip)'],
  ['geojson', 'GeoJSON (.geojson)'],
];
