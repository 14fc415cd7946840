// Chinese labels for the API's ASCII ids (the server's server/vocabulary.ts and the batch's ids).
export const STATUS = {
  issued: '待签收',
  accepted: '已签收',
  verified: '已判定',
  rectifying: '整改中',
  closed: '已销号',
  reviewed: '已复核',
  reassignment_requested: '申请改派',
};
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
export const VERDICTS = { legal: '合法', illegal: '违法', other: '其他' };
export const VIOLATION_TYPES = {
  illegal_occupation: '非法占用土地',
  rural_housing: '农村村民非法占地建住宅',
  illegal_approval: '非法批准征收、使用土地',
  illegal_transfer: '非法转让、买卖土地',
  farmland_damage: '破坏耕地、种植条件',
  refuse_reclaim: '拒不交还土地、拒不履行复垦义务',
  illegal_mining: '非法采矿、越界开采',
};
export const OTHER_SITUATIONS = {
  false_change: '伪变化',
  seasonal: '季节性/农业生产',
  already_handled: '已处理/往期已查处',
  temporary_use: '临时用地',
  facility_agriculture: '设施农用地',
  other: '其他',
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
export const ZONE_KINDS = {
  permanent_basic_farmland: '永久基本农田',
  farmland: '耕地',
  forest: '林地',
  nature_reserve: '自然保护区',
  forest_park: '森林公园',
  wetland_park: '湿地公园',
  scenic_area: '风景名胜区',
  geopark: '地质公园',
  drinking_water_source: '饮用水水源保护区',
  river_management: '河道管理范围',
  lake_reservoir: '湖泊水库',
  spring_recharge: '泉水补给区',
  urban_construction: '城镇开发边界',
  village_planning: '村庄规划',
  transport_project: '交通项目',
  mining: '矿区',
  approved_construction: '已批建设用地',
  key_patrol_area: '重点巡查区',
  district: '区县',
};
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
// The default rule table's bureau names (schemas/default-rules.ts); a custom table may rename them.
export const BUREAUS = {
  natural_resources: '自然资源和规划局',
  urban_management: '城市管理局',
  forestry: '园林和林业绿化局',
  agriculture: '农业农村局',
  water: '城乡水务局',
  ecology_environment: '生态环境局',
  transport: '城乡交通运输局',
  township: '乡镇街道',
  emergency_management: '应急管理局',
};
export const RECTIFICATION_METHODS = {
  demolish_restore: '拆除复耕',
  retroactive_approval: '补办手续',
  combined: '拆补组合',
  confiscation: '没收',
  fine: '罚款',
  court_enforcement: '申请法院强制执行',
};
