/** A fully populated MonitoringPolygon near Jinan (lon/lat), for tests and demos of the output writers. */
import type { BureauId } from '../../../schemas/vocabulary.js';
import type { MonitoringPolygon } from '../../../schemas/polygon.js';

const NAMES: Partial<Record<BureauId, string>> = { natural_resources: '自然资源和规划局', forestry: '园林和林业绿化局', water: '城乡水务局' };

/** Chinese bureau names for the bureaus the sample uses; other ids fall back to the id. */
export function sampleBureauName(id: BureauId): string {
  return NAMES[id] ?? id;
}

export function samplePolygon(over: Partial<MonitoringPolygon> = {}): MonitoringPolygon {
  return {
    code: '370102-202610-0007',
    epoch: '2026-10',
    // Clockwise outer ring with more than 7 decimals, and a counter-clockwise hole: both must flip.
    geometry: {
      type: 'Polygon',
      coordinates: [
        [[117.000000012, 36.0], [117.0, 36.001], [117.001, 36.001], [117.001, 36.0], [117.000000012, 36.0]],
        [[117.0002, 36.0002], [117.0004, 36.0002], [117.0004, 36.0004], [117.0002, 36.0002]],
      ],
    },
    centroid: [117.00051234567, 36.0005],
    areaM2: 8974.123,
    areaMu: 8974.123 / (10000 / 15),
    changeType: 'construction',
    changeClass: 'JZ',
    confidence: 0.87654,
    reasons: ['NDVI 下降 0.42', '亮度上升'],
    beforeDate: '2026-09-03',
    afterDate: '2026-10-05',
    landClassBefore: '0103',
    overlaps: { farmland: { m2: 3000.456, share: 0.33434 }, forest: { m2: 10, share: 0.0011 } },
    districtCode: '370102',
    districtName: '历下区',
    leadBureau: 'forestry',
    coBureaus: ['natural_resources'],
    routingReason: 'overlaps forest 0.1%',
    ruleId: 'forest-v1',
    priority: 'high',
    priorityReasons: ['> 500 m²'],
    previousCode: null,
    detector: { name: 'cva-otsu', version: '1.2.0', paramsHash: 'abc123' },
    tileId: 'tile-1',
    ...over,
  };
}

