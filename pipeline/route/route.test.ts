import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from './default-rules.js';
import type { BureauId, ChangeType, ZoneKind } from '../../schemas/vocabulary.js';
import type { Overlap } from '../../schemas/polygon.js';
import type { Zone } from '../model.js';
import { overlayPolygon } from './overlay.js';
import { routePolygon, seasonalBasis } from './route.js';
import type { RouteInput } from './route.js';
import { rect } from './testing/test-geometry.js';
import { ZoneIndex } from './zone-index.js';

function input(overlaps: Partial<Record<ZoneKind, number>>, changeType: ChangeType = 'construction', extra: Partial<RouteInput> = {}): RouteInput {
  const o: Partial<Record<ZoneKind, Overlap>> = {};
  for (const [k, share] of Object.entries(overlaps)) o[k as ZoneKind] = { m2: share * 300, share };
  return { overlaps: o, changeType, landClassBefore: null, areaM2: 300, ...extra };
}

describe('routePolygon with the Jinan default table', () => {
  const cases: [ZoneKind, ChangeType, BureauId, string][] = [
    ['drinking_water_source', 'construction', 'ecology_environment', 'drinking_water_source'],
    ['nature_reserve', 'construction', 'forestry', 'protected_areas'],
    ['forest_park', 'bare_soil', 'forestry', 'protected_areas'],
    ['wetland_park', 'water_fill', 'forestry', 'protected_areas'],
    ['scenic_area', 'construction', 'forestry', 'protected_areas'],
    ['geopark', 'construction', 'forestry', 'protected_areas'],
    ['forest', 'vegetation_loss', 'forestry', 'forest_land'],
    ['river_management', 'water_fill', 'water', 'water_management'],
    ['lake_reservoir', 'construction', 'water', 'water_management'],
    ['spring_recharge', 'construction', 'water', 'water_management'],
    ['transport_project', 'construction', 'transport', 'transport_project'],
    ['village_planning', 'construction', 'agriculture', 'village_homes'],
    ['farmland', 'new_water', 'agriculture', 'farmland_non_grain'],
    ['permanent_basic_farmland', 'vegetation_loss', 'agriculture', 'farmland_non_grain'],
    ['urban_construction', 'construction', 'urban_management', 'urban_construction'],
    ['mining', 'bare_soil', 'natural_resources', 'mining'],
  ];
  it.each(cases)('%s + %s → %s (%s)', (kind, change, lead, ruleId) => {
    const d = routePolygon(input({ [kind]: 0.8 }, change), DEFAULT_RULES);
    expect(d.lead).toBe(lead);
    expect(d.ruleId).toBe(ruleId);
    expect(d.co).toContain('township');
    expect(d.co).not.toContain(lead);
    expect(d.reason).toContain('占 80%');
  });

  it('sends everything else to natural resources under the default rule', () => {
    for (const d of [
      routePolygon(input({}), DEFAULT_RULES),
      routePolygon(input({ farmland: 0.9 }, 'construction'), DEFAULT_RULES), // building on farmland is illegal land use, not non-grain
      routePolygon(input({ village_planning: 0.9 }, 'bare_soil'), DEFAULT_RULES), // not a home
    ]) {
      expect(d.lead).toBe('natural_resources');
      expect(d.ruleId).toBe('default_land_use');
      expect(d.co).toEqual(['township']);
      expect(d.reason).toBe('其他疑似违法用地由自然资源和规划局牵头审核');
    }
  });

  it('names the township in the reason when it is co-responsible (属地), keeping the bureau id', () => {
    const d = routePolygon(input({ forest: 0.8 }, 'vegetation_loss', { township: '王家镇' }), DEFAULT_RULES);
    expect(d.co).toEqual(['natural_resources', 'township']);
    expect(d.reason).toBe('林地 占 80%；涉及林地的图斑由园林和林业绿化局牵头审核；属地: 王家镇');
    // Without a township (no layer, or outside it), the reason is as it was.
    expect(routePolygon(input({}), DEFAULT_RULES).reason).toBe('其他疑似违法用地由自然资源和规划局牵头审核');
    // A table without the township among the co-bureaus does not name one.
    expect(routePolygon(input({}, 'construction', { township: '王家镇' }), { ...DEFAULT_RULES, always_co: [] }).reason).toBe('其他疑似违法用地由自然资源和规划局牵头审核');
  });

  it('ignores shares below min_share', () => {
    const d = routePolygon(input({ drinking_water_source: 0.05, urban_construction: 0.95 }), DEFAULT_RULES);
    expect(d.lead).toBe('urban_management');
    expect(d.co).not.toContain('ecology_environment');
  });

  it('lets the lowest priority number lead and makes the other matches co-bureaus', () => {
    const d = routePolygon(input({ urban_construction: 0.37, drinking_water_source: 0.63 }), DEFAULT_RULES);
    expect(d.lead).toBe('ecology_environment');
    expect(d.ruleId).toBe('drinking_water_source');
    expect(d.reason.startsWith('饮用水水源保护区 占 63%')).toBe(true);
    expect(d.co).toEqual(['natural_resources', 'water', 'urban_management', 'township']);
    expect(d.matchedRuleIds).toEqual(['drinking_water_source', 'urban_construction']);
    // Priority decides, not share: the zone with the smaller share still leads.
    const e = routePolygon(input({ urban_construction: 0.85, forest_park: 0.15 }), DEFAULT_RULES);
    expect(e.lead).toBe('forestry');
    expect(e.co).toEqual(['natural_resources', 'urban_management', 'township']);
  });

  it('routes forest land by the 三调 class before the change even without a forest layer', () => {
    const d = routePolygon(input({}, 'vegetation_loss', { landClassBefore: '0301' }), DEFAULT_RULES);
    expect(d.lead).toBe('forestry');
    expect(d.ruleId).toBe('forest_land');
    expect(d.reason).toContain('前时相地类 0301');
    expect(routePolygon(input({}, 'new_water', { landClassBefore: '0103' }), DEFAULT_RULES).lead).toBe('agriculture');
    expect(routePolygon(input({}, 'construction', { landClassBefore: '0701' }), DEFAULT_RULES).lead).toBe('natural_resources');
  });

  it('marks high priority in key patrol areas, permanent basic farmland, or 500 m² and more', () => {
    expect(routePolygon(input({}), DEFAULT_RULES)).toMatchObject({ priority: 'normal', priorityReasons: [] });
    const kp = routePolygon(input({ key_patrol_area: 0.5, permanent_basic_farmland: 0.2 }), DEFAULT_RULES);
    expect(kp.priority).toBe('high');
    expect(kp.priorityReasons).toEqual(['位于重点巡查区域 (占 50%)', '位于永久基本农田 (占 20%)']);
    const big = routePolygon(input({}, 'construction', { areaM2: 812.4 }), DEFAULT_RULES);
    expect(big.priority).toBe('high');
    expect(big.priorityReasons).toEqual(['面积 812 m² 达 500 m² 以上']);
    expect(routePolygon(input({ key_patrol_area: 0.05 }), DEFAULT_RULES).priority).toBe('normal');
    // Haikou (seeds/004 第四条(九)): 单宗占地面积500平方米以上; 以上 includes the number itself (民法典 第1259条).
    expect(routePolygon(input({}, 'construction', { areaM2: 500 }), DEFAULT_RULES).priorityReasons).toEqual(['面积 500 m² 达 500 m² 以上']);
    expect(routePolygon(input({}, 'construction', { areaM2: 499.9 }), DEFAULT_RULES).priority).toBe('normal');
  });

  it('flags a permit on file: still routed, reason says so, size alone no longer makes it high', () => {
    const d = routePolygon(input({ approved_construction: 0.9, urban_construction: 1 }, 'construction', { areaM2: 2000 }), DEFAULT_RULES);
    expect(d.lead).toBe('urban_management');
    expect(d.permitOnFile).toBe(true);
    expect(d.reason).toContain('已有批准建设用地手续 (已批建设用地 占 90%)');
    expect(d.priority).toBe('normal');
    const inFarmland = routePolygon(input({ approved_construction: 0.9, permanent_basic_farmland: 0.5 }), DEFAULT_RULES);
    expect(inFarmland.priority).toBe('high');
    expect(routePolygon(input({ approved_construction: 0.3 }), DEFAULT_RULES).permitOnFile).toBe(false);
  });
});

describe('overlay then route', () => {
  it('routes a polygon straddling a water source zone and town construction land', () => {
    const zones: Zone[] = [
      { id: 'ws', kind: 'drinking_water_source', geometry: rect(-500, -500, 30, 500), source: 't' },
      { id: 'uc', kind: 'urban_construction', geometry: rect(30, -500, 500, 500), source: 't' },
      { id: 'kp', kind: 'key_patrol_area', geometry: rect(-2000, -2000, 2000, 2000), source: 't' },
    ];
    const ov = overlayPolygon(rect(0, 0, 100, 40), new ZoneIndex(zones));
    expect(ov.overlaps.drinking_water_source!.share).toBeCloseTo(0.3, 3);
    expect(ov.overlaps.urban_construction!.share).toBeCloseTo(0.7, 3);
    const d = routePolygon({ overlaps: ov.overlaps, changeType: 'construction', landClassBefore: null, areaM2: ov.areaM2 }, DEFAULT_RULES);
    expect(d.lead).toBe('ecology_environment');
    expect(d.co).toContain('urban_management');
    expect(d.reason.startsWith('饮用水水源保护区 占 30%')).toBe(true);
    expect(d.priority).toBe('high');
    expect(d.priorityReasons).toEqual(['位于重点巡查区域 (占 100%)', `面积 ${Math.round(ov.areaM2)} m² 达 500 m² 以上`]);
  });
});

describe('seasonalBasis with the Jinan default table', () => {
  it('sets aside vegetation loss mostly on farmland (harvest, mowing)', () => {
    expect(seasonalBasis(input({ farmland: 0.8 }, 'vegetation_loss'), DEFAULT_RULES)).toBe('耕地 占 80%');
    expect(seasonalBasis(input({ farmland: 0.3, permanent_basic_farmland: 0.6 }, 'vegetation_loss'), DEFAULT_RULES)).toBe('永久基本农田 占 60%');
  });

  it('issues it when it touches forest or a protected area: that is clearing', () => {
    expect(seasonalBasis(input({ farmland: 0.9, forest: 0.05 }, 'vegetation_loss'), DEFAULT_RULES)).toBeNull();
    expect(seasonalBasis(input({ farmland: 0.9, nature_reserve: 0.01 }, 'vegetation_loss'), DEFAULT_RULES)).toBeNull();
  });

  it('issues bare soil, building and water on farmland, and vegetation loss off it', () => {
    for (const t of ['bare_soil', 'construction', 'new_water'] as ChangeType[]) expect(seasonalBasis(input({ farmland: 1 }, t), DEFAULT_RULES)).toBeNull();
    expect(seasonalBasis(input({ farmland: 0.3 }, 'vegetation_loss'), DEFAULT_RULES)).toBeNull();
    expect(seasonalBasis(input({}, 'vegetation_loss'), DEFAULT_RULES)).toBeNull();
  });

  it('reads cropland from the land class before when no zone says so', () => {
    expect(seasonalBasis(input({}, 'vegetation_loss', { landClassBefore: '0103' }), DEFAULT_RULES)).toBe('前时相地类 0103');
    expect(seasonalBasis(input({}, 'vegetation_loss', { landClassBefore: '0301' }), DEFAULT_RULES)).toBeNull();
  });

  it('issues everything under a table without a seasonal section', () => {
    const { seasonal: _omitted, ...table } = DEFAULT_RULES;
    expect(seasonalBasis(input({ farmland: 1 }, 'vegetation_loss'), table)).toBeNull();
  });
});
