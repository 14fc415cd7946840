import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECTOR_PARAMS, flatParams } from '../detect/detector-params.js';
import { samplePolygon } from '../../fixtures/sample-polygon.js';
import { summarise, type TileOutcome } from './batch-report.js';

const tile = (id: string, coregistration: TileOutcome['coregistration']): TileOutcome => ({
  tileId: id, files: [`/data/${id}.tif`], date: '2026-10-03', status: 'done', pixels: 100, detections: 0,
  observedM2: 1e4, notObservedM2: 0, threshold: 0.9, coregistration, timings: { score: 1 }, peakRssBytes: 0,
});

describe('batch report', () => {
  it('warns by file name about each tile whose prior had to be moved back, and only those', () => {
    const report = summarise(
      {
        batchId: 'b', epoch: '2026-10', mode: 'embedded', database: 'pglite', startedAt: new Date().toISOString(),
        detector: { name: 'd', version: 'v', paramsHash: 'h', params: flatParams(DEFAULT_DETECTOR_PARAMS) }, warnings: ['zone z: empty'],
        seamDuplicates: 0, seasonal: { polygons: 0, areaM2: 0 }, extraTimings: {},
      },
      [
        tile('a', { dx: -2.04, dy: 0.98, peak: 0.61, atZero: 0.2, applied: true }),
        tile('b', { dx: 0.21, dy: -0.1, peak: 0.7, atZero: 0.69, applied: false }),
        tile('c', null),
      ],
      [],
      [],
    );
    expect(report.warnings).toEqual(['zone z: empty', '/data/a.tif: prior epoch misregistered by (-2.04, 0.98) px; moved back before differencing']);
    expect(report.tiles[1].coregistration?.dx).toBe(0.21);
  });

  it('counts the polygons outside every township when the zone files hold a township layer, and not without one', () => {
    const base = {
      batchId: 'b', epoch: '2026-10', mode: 'embedded' as const, database: 'pglite' as const, startedAt: new Date().toISOString(),
      detector: { name: 'd', version: 'v', paramsHash: 'h', params: flatParams(DEFAULT_DETECTOR_PARAMS) }, warnings: [],
      seamDuplicates: 0, seasonal: { polygons: 0, areaM2: 0 }, extraTimings: {},
    };
    const polygons = [
      samplePolygon({ code: '370102-202610-0001', areaM2: 5000 }),
      samplePolygon({ code: '370102-202610-0002', areaM2: 15000, townshipCode: null, townshipName: null }),
    ];
    const withLayer = summarise({ ...base, townshipLayer: true }, [], [], polygons);
    expect(withLayer.counts.outsideTownships).toEqual({ polygons: 1, areaM2: 15000, codes: ['370102-202610-0002'] });
    expect(withLayer.warnings).toEqual([
      '1 polygon(s) (1.50 ha) lie outside every township (乡镇/街道) of the zone files; their 乡镇/街道 is blank: 370102-202610-0002. Check that the township layer covers the tiles (or its CRS)',
    ]);
    const without = summarise(base, [], [], polygons.map((p) => ({ ...p, townshipCode: null, townshipName: null })));
    expect(without.counts.outsideTownships).toBeUndefined();
    expect(without.warnings).toEqual([]);
  });

  it('counts the polygons outside every village as those outside every township, apart from them', () => {
    const base = {
      batchId: 'b', epoch: '2026-10', mode: 'embedded' as const, database: 'pglite' as const, startedAt: new Date().toISOString(),
      detector: { name: 'd', version: 'v', paramsHash: 'h', params: flatParams(DEFAULT_DETECTOR_PARAMS) }, warnings: [],
      seamDuplicates: 0, seasonal: { polygons: 0, areaM2: 0 }, extraTimings: {},
    };
    const polygons = [
      samplePolygon({ code: '370102-202610-0001', areaM2: 5000, villageCode: null, villageName: null }),
      samplePolygon({ code: '370102-202610-0002', areaM2: 15000, townshipCode: null, townshipName: null }),
      samplePolygon({ code: '370102-202610-0003', areaM2: 2500, villageCode: null, villageName: null }),
    ];
    const both = summarise({ ...base, townshipLayer: true, villageLayer: true }, [], [], polygons);
    expect(both.counts.outsideVillages).toEqual({ polygons: 2, areaM2: 7500, codes: ['370102-202610-0001', '370102-202610-0003'] });
    expect(both.counts.outsideTownships).toEqual({ polygons: 1, areaM2: 15000, codes: ['370102-202610-0002'] });
    expect(both.warnings[1]).toBe(
      '2 polygon(s) (0.75 ha) lie outside every village (村/社区) of the zone files; their 村 is blank: 370102-202610-0001, 370102-202610-0003. Check that the village layer covers the tiles (or its CRS)',
    );
    // A village layer without a township layer: only villages counted.
    const villagesOnly = summarise({ ...base, villageLayer: true }, [], [], polygons);
    expect([villagesOnly.counts.outsideTownships, villagesOnly.counts.outsideVillages?.polygons, villagesOnly.warnings.length]).toEqual([undefined, 2, 1]);
    expect(summarise(base, [], [], polygons).counts.outsideVillages).toBeUndefined();
  });

  it('says the ground not observed is unknown when no tile could be placed (no footprint read), not 0 m²', () => {
    const base = {
      batchId: 'b', epoch: '2026-10', mode: 'embedded' as const, database: 'pglite' as const, startedAt: new Date().toISOString(),
      detector: { name: 'd', version: 'v', paramsHash: 'h', params: flatParams(DEFAULT_DETECTOR_PARAMS) }, warnings: [],
      seamDuplicates: 0, seasonal: { polygons: 0, areaM2: 0 }, extraTimings: {},
    };
    const unreadable = { code: 'TILE.UNREADABLE' as const, message: 'not a TIFF', file: '/data/x.tif' };
    const none = summarise(base, [], [{ subject: '/data/x.tif', error: unreadable }], []);
    expect([none.notObservedM2, none.notObservedShare, none.notObservedUnknown]).toEqual([0, 1, true]);
    // A rejected tile whose footprint was read: its ground is known, not observed.
    const placed = summarise({ ...base, rejectedGroundM2: 1e8 }, [], [{ subject: '/data/x.tif', error: unreadable }], []);
    expect([placed.notObservedM2, placed.notObservedShare, placed.notObservedUnknown]).toEqual([1e8, 1, false]);
    expect(summarise(base, [tile('a', null)], [], []).notObservedUnknown).toBe(false);
  });
});
