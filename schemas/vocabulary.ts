/**
 * Tuban's vocabulary, declared once: the names every boundary uses (rule tables, job payloads,
 * polygon outputs, the database, bureaus' systems). Each is a list of string literals so that a zod
 * schema (`z.enum`) and a TypeScript union come from the same declaration.
 */

export const ZONE_KINDS = [
  'permanent_basic_farmland',
  'farmland',
  'forest',
  'nature_reserve',
  'forest_park',
  'wetland_park',
  'scenic_area',
  'geopark',
  // 生态保护红线 (三区三线): recorded, flagged and measured in the ledger; no built-in routing rule.
  'ecological_redline',
  'drinking_water_source',
  'river_management',
  'lake_reservoir',
  'spring_recharge',
  'urban_construction',
  'village_planning',
  'transport_project',
  'mining',
  'approved_construction',
  'key_patrol_area',
  'district',
  // 乡镇/街道: where a polygon lies below its district (属地), never a routing zone.
  'township',
  // 村/社区 (村级行政区): the level below the township, likewise only where a polygon lies.
  'village',
] as const;
export type ZoneKind = (typeof ZONE_KINDS)[number];

export function isZoneKind(s: string): s is ZoneKind {
  return (ZONE_KINDS as readonly string[]).includes(s);
}

/** Change classes the detector emits; `CHANGE_CLASS` maps them to 图斑类型 codes (domain/tblx_change_types.csv). */
export const CHANGE_TYPES = ['construction', 'bare_soil', 'vegetation_loss', 'water_fill', 'new_water'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];
export const CHANGE_CLASS: Record<ChangeType, string> = {
  construction: 'JZ', // 建/构筑物(不明用途)
  bare_soil: 'DT', // 动土
  vegetation_loss: 'TP', // 推平 (vegetation cleared)
  water_fill: 'TD', // 推堆土 into water
  new_water: 'KT', // 坑塘 dug
};

/** Chinese names of the change types (变化类型): the ledger's column, the page's labels — this one copy. */
export const CHANGE_TYPE_ZH: Record<ChangeType, string> = {
  construction: '新增建(构)筑物',
  bare_soil: '动土',
  vegetation_loss: '植被破坏/推平',
  water_fill: '填埋水面',
  new_water: '挖塘',
};

/** The bureaus a polygon is routed to (Chinese names live in the rule table). */
export const BUREAU_IDS = [
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
export type BureauId = (typeof BUREAU_IDS)[number];

export const PRIORITIES = ['high', 'normal'] as const;
export type Priority = (typeof PRIORITIES)[number];
/** Chinese names of the priorities (优先级). */
export const PRIORITY_ZH: Record<Priority, string> = { high: '高', normal: '一般' };

/** Square metres per 亩 (1 亩 = 10000/15 m²). */
export const SQM_PER_MU = 10000 / 15;
