/**
 * Verification vocabulary (RESEARCH.md §4.4): verdict types, violation types (level 1 after the
 * 土地管理法 offences, level 2 the sub-types seen in practice), "other" situations, rectification
 * methods and clue sources (发现方式). Ids are ASCII for the API; the Chinese label is what the
 * ledger and the page show.
 */
export const VERDICTS = { legal: '合法', illegal: '违法', other: '其他' } as const;

export const VIOLATION_TYPES = {
  illegal_occupation: '非法占用土地',
  rural_housing: '农村村民非法占地建住宅',
  illegal_approval: '非法批准征收、使用土地',
  illegal_transfer: '非法转让、买卖土地',
  farmland_damage: '破坏耕地、种植条件',
  refuse_reclaim: '拒不交还土地、拒不履行复垦义务',
  illegal_mining: '非法采矿、越界开采',
} as const;

export const VIOLATION_SUBTYPES = {
  built_before_approval: '未批先建',
  occupied_beyond_approval: '批少占多',
  used_before_supply: '未供即用',
  lease_for_requisition: '以租代征',
  use_changed: '擅自改变用途',
  beyond_boundary: '越界',
} as const;

export const OTHER_SITUATIONS = {
  false_change: '伪变化',
  seasonal: '季节性/农业生产',
  already_handled: '已处理/往期已查处',
  temporary_use: '临时用地',
  facility_agriculture: '设施农用地',
  other: '其他',
} as const;

export const RECTIFICATION_METHODS = {
  demolish_restore: '拆除复耕',
  retroactive_approval: '补办手续',
  combined: '拆补组合',
  confiscation: '没收',
  fine: '罚款',
  court_enforcement: '申请法院强制执行',
} as const;

export const CLUE_SOURCES = { patrol: '巡查发现', public_report: '群众举报', hotline: '热线 (12336/12345)' } as const;

export const BUREAUS = [
  'natural_resources',
  'urban_management',
  'forestry',
  'agriculture',
  'water',
  'ecology_environment',
  'transport',
  'township',
  'emergency_management',
] as const;

export const keysOf = <T extends Record<string, string>>(o: T) => Object.keys(o) as [keyof T & string, ...(keyof T & string)[]];
