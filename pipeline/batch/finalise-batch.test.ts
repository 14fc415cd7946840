import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import type { Detection } from '../model.js';
import { loadRuleTable } from '../route/load-rule-table.js';
import { BatchArgsSchema } from './batch-args.js';
import { dropSeamDuplicates, finaliseDetections } from './finalise-batch.js';
import type { BatchPlan } from './plan-batch.js';

function square(x: number, y: number, s = 0.001): Polygon {
  return { type: 'Polygon', coordinates: [[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]] };
}

function det(tileId: string, index: number, geometry: Polygon, confidence: number): Detection {
  return { tileId, index, geometry, confidence, areaM2: 100, changeType: 'construction', reasons: [], beforeDate: '2026-09-06', afterDate: '2026-10-08', pixelCount: 1 };
}

describe('dropSeamDuplicates', () => {
  const a = det('tileA', 0, square(117, 36.5), 0.7);
  const b = det('tileB', 3, square(117.0005, 36.5), 0.9); // the same change seen from the overlapping tile
  const c = det('tileA', 1, square(117.01, 36.5), 0.5); // elsewhere
  const d = det('tileA', 2, square(117.0102, 36.5002), 0.4); // overlaps c, but from the same tile

  it('keeps the most confident of overlapping detections from different tiles', () => {
    const kept = dropSeamDuplicates([a, b, c, d]);
    expect(kept.map((k) => `${k.tileId}#${k.index}`)).toEqual(['tileA#1', 'tileA#2', 'tileB#3']);
  });

  it('does not depend on the order tiles finished', () => {
    const one = dropSeamDuplicates([a, b, c, d]);
    const two = dropSeamDuplicates([d, c, b, a]);
    expect(two).toEqual(one);
  });

  it('keeps a change one tile saw whole over the part of it a neighbour saw at its edge, however confident that part', () => {
    // Found on Landsat Taizhou cut in two overlapping tiles: tile E saw a 3.3 km² change reaching
    // into the overlap strip, tile W the 5 ha of it inside its own edge; the 5 ha was more confident,
    // and the 3.3 km² (labelled change in the reference) went, exit 0.
    const whole = det('tileE', 0, { type: 'Polygon', coordinates: [[[117, 36.5], [117.02, 36.5], [117.02, 36.51], [117, 36.51], [117, 36.5]]] }, 0.6);
    const part = det('tileW', 0, square(117, 36.5, 0.002), 0.9);
    const elsewhere = det('tileW', 1, square(116.9, 36.5), 0.5);
    expect(dropSeamDuplicates([part, whole, elsewhere]).map((k) => `${k.tileId}#${k.index}`)).toEqual(['tileE#0', 'tileW#1']);
    expect(dropSeamDuplicates([elsewhere, whole, part]).map((k) => `${k.tileId}#${k.index}`)).toEqual(['tileE#0', 'tileW#1']);
  });

  it('keeps the whole whatever share of it the neighbour saw, and a part straddling two changes removes neither', () => {
    const rect = (x0: number, y0: number, x1: number, y1: number): Polygon => ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });
    const codes = (ds: Detection[]) => dropSeamDuplicates(ds).map((k) => `${k.tileId}#${k.index}`);
    // The neighbour saw 40 % of it, more confidently: the whole stays, not the 40 %.
    const whole = det('tileE', 0, rect(117, 36.5, 117.02, 36.51), 0.6);
    const left = det('tileW', 0, rect(117, 36.5, 117.008, 36.51), 0.9);
    expect(codes([whole, left])).toEqual(['tileE#0']);
    // Tile E saw two changes, Z and X; tile W one outline across both, mostly in Z: Z and X stay, X's ground is not lost.
    const z = det('tileE', 1, rect(117, 36.6, 117.02, 36.61), 0.6);
    const x = det('tileE', 2, rect(117.0205, 36.6, 117.026, 36.604), 0.5);
    const y = det('tileW', 1, rect(117.015, 36.6, 117.024, 36.604), 0.9);
    expect(codes([z, x, y])).toEqual(['tileE#1', 'tileE#2']);
    expect(codes([y, x, z])).toEqual(['tileE#1', 'tileE#2']);
    // Both tiles saw it whole (areas within a few per cent): the more confident, as before.
    const again = det('tileW', 2, rect(117, 36.5, 117.0201, 36.5101), 0.7);
    expect(codes([whole, again])).toEqual(['tileW#2']);
  });

  it('keeps both of two that only touch or overlap by a sliver, and a part whose whole lost to another detection', () => {
    const rect = (x0: number, y0: number, x1: number, y1: number): Polygon => ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });
    const codes = (ds: Detection[]) => dropSeamDuplicates(ds).map((k) => `${k.tileId}#${k.index}`);
    // Neighbouring changes, one in each tile: sharing an edge, or 5 % of each.
    expect(codes([det('tileE', 0, rect(117, 36.5, 117.01, 36.51), 0.6), det('tileW', 0, rect(117.01, 36.5, 117.02, 36.51), 0.9)])).toEqual(['tileE#0', 'tileW#0']);
    expect(codes([det('tileE', 0, rect(117, 36.5, 117.01, 36.51), 0.6), det('tileW', 0, rect(117.0095, 36.5, 117.0195, 36.51), 0.9)])).toEqual(['tileE#0', 'tileW#0']);
    // j (t1) saw a change whole, i (t2) a part of it; k (t2), more confident, overlaps j elsewhere and wins
    // over it: i is t2's view of that ground and stays.
    const j = det('t1', 0, rect(117, 36.6, 117.01, 36.61), 0.6);
    const i = det('t2', 0, rect(117, 36.6, 117.002, 36.61), 0.7);
    const k = det('t2', 1, rect(117.003, 36.6, 117.012, 36.61), 0.9);
    expect(codes([j, i, k])).toEqual(['t2#0', 't2#1']);
    expect(codes([k, j, i])).toEqual(['t2#0', 't2#1']);
  });

  it('breaks confidence ties by tile id', () => {
    const x = det('tileB', 0, square(118, 36), 0.8);
    const y = det('tileA', 5, square(118, 36), 0.8);
    expect(dropSeamDuplicates([x, y]).map((k) => k.tileId)).toEqual(['tileA']);
  });
});

/** finaliseDetections on `detections` with these zone files (name → features) written as GeoJSON, no earlier months. */
async function finaliseWithZones(zoneFiles: Record<string, unknown[]>, detections: Detection[]) {
  const stamp = { name: 'spectral', version: '1.0.0', paramsHash: 'abc123' };
  const noPrevious = async (geoms: Polygon[]) => geoms.map(() => null);
  const dir = await mkdtemp(join(tmpdir(), 'tuban-finalise-zones-'));
  try {
    const zones = await Promise.all(Object.entries(zoneFiles).map(async ([name, features]) => {
      const path = join(dir, `${name}.geojson`);
      await writeFile(path, JSON.stringify({ type: 'FeatureCollection', features }));
      return path;
    }));
    const args = BatchArgsSchema.parse({ epoch: '2026-10', tiles: [join(dir, 'a.tif')], prior: [join(dir, 'b.tif')], zones });
    const plan: BatchPlan = { batchId: 'b1', plannedAt: '2026-10-09T00:00:00Z', args, tiles: [], prior: [], rejected: [] };
    return await finaliseDetections(plan, await loadRuleTable(), detections, stamp, noPrevious);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const feature = (properties: Record<string, unknown>, geometry: Polygon) => ({ type: 'Feature', properties, geometry });

describe('finaliseDetections with a 乡镇/街道 (township) layer', () => {
  const big = (x: number, y: number) => square(x, y, 0.1);
  const finalise = finaliseWithZones;
  const districts = [feature({ kind: 'district', code: '370112', name: '历城区' }, big(117, 36))];
  const detections = [
    det('t', 0, square(117.01, 36.01), 0.8), // in 王家镇
    det('t', 1, square(117.0599, 36.02, 0.002), 0.8), // straddles: 0.0001° in 王家镇, 0.0019° in 港沟街道
    det('t', 2, square(117.05, 36.095, 0.002), 0.8), // north of both townships: outside every one
  ];

  it('gives each polygon the township it overlaps most, blank outside them, named in the reason; warns on a code of another district', async () => {
    const r = await finalise({
      districts,
      townships: [
        feature({ kind: '乡镇', XZQDM: '370112001', XZQMC: '王家镇' }, square(117, 36, 0.06)),
        // A code of another district (370113): kept, and the report says so.
        feature({ kind: '街道', XZQDM: '370113002', XZQMC: '港沟街道' }, square(117.06, 36, 0.04)),
      ],
    }, detections);
    expect(r.townshipLayer).toBe(true);
    // The polygon of detection i, by its centre (codes are given north to south).
    const byIndex = (i: number) => {
      const [[x0, y0], , [x1, y1]] = detections[i].geometry.coordinates[0];
      return r.polygons.find((p) => Math.abs(p.centroid[0] - (x0 + x1) / 2) < 1e-6 && Math.abs(p.centroid[1] - (y0 + y1) / 2) < 1e-6)!;
    };
    expect(r.polygons.map((p) => [p.townshipCode, p.townshipName]).sort()).toEqual([['370112001', '王家镇'], ['370113002', '港沟街道'], [null, null]].sort());
    expect(byIndex(0)).toMatchObject({ districtCode: '370112', townshipCode: '370112001', townshipName: '王家镇' });
    expect(byIndex(1)).toMatchObject({ townshipCode: '370113002', townshipName: '港沟街道' });
    expect(byIndex(1).routingReason).toMatch(/；属地: 港沟街道$/);
    expect(byIndex(2)).toMatchObject({ townshipCode: null, townshipName: null });
    expect(byIndex(2).routingReason).not.toContain('属地');
    expect(r.warnings.filter((w) => w.includes('township'))).toEqual([
      `township 370113002 港沟街道 does not begin with the code of district 370112 历城区 its 1 polygon(s) lie in (${byIndex(1).code}): check the township and district layers`,
    ]);
  });

  it('without a township layer gives every polygon a blank township and says there is no layer', async () => {
    const r = await finalise({ districts }, detections);
    expect(r.townshipLayer).toBe(false);
    expect(r.polygons.every((p) => p.townshipCode === null && p.townshipName === null && !p.routingReason.includes('属地'))).toBe(true);
  });
});

describe('finaliseDetections with a 村/社区 (village) layer', () => {
  const finalise = finaliseWithZones;
  const districts = [feature({ kind: 'district', code: '370112', name: '历城区' }, square(117, 36, 0.1))];
  const townships = [feature({ kind: '乡镇', XZQDM: '370112001', XZQMC: '王家镇' }, square(117, 36, 0.1))];
  const detections = [
    det('t', 0, square(117.01, 36.01), 0.8), // in 东村
    det('t', 1, square(117.0599, 36.02, 0.002), 0.8), // straddles: 0.0001° in 东村, 0.0019° in 西村
    det('t', 2, square(117.05, 36.095, 0.002), 0.8), // north of both villages: outside every one
  ];
  const byCentre = (polygons: { centroid: [number, number] }[], i: number) => {
    const [[x0, y0], , [x1, y1]] = detections[i].geometry.coordinates[0];
    return polygons.find((p) => Math.abs(p.centroid[0] - (x0 + x1) / 2) < 1e-6 && Math.abs(p.centroid[1] - (y0 + y1) / 2) < 1e-6)!;
  };

  it('gives each polygon the village it overlaps most, blank outside them; warns on a village not of its township', async () => {
    const r = await finalise({
      districts,
      townships,
      villages: [
        feature({ kind: '村', CJDM: '370112001201', CJMC: '东村' }, square(117, 36, 0.06)),
        // Of another township (370112002): kept, and the report says so.
        feature({ kind: '村', CJDM: '370112002202', CJMC: '西村' }, square(117.06, 36, 0.04)),
      ],
    }, detections);
    expect([r.villageLayer, r.townshipLayer]).toEqual([true, true]);
    expect(byCentre(r.polygons, 0)).toMatchObject({ townshipName: '王家镇', villageCode: '370112001201', villageName: '东村' });
    expect(byCentre(r.polygons, 1)).toMatchObject({ villageCode: '370112002202', villageName: '西村' });
    expect(byCentre(r.polygons, 2)).toMatchObject({ townshipName: '王家镇', villageCode: null, villageName: null });
    // The outlines the server places clues by (storeVillages), coded and named as the polygons' villages.
    expect(r.villages.map((v) => [v.code, v.name, v.geometry.type])).toEqual([['370112001201', '东村', 'Polygon'], ['370112002202', '西村', 'Polygon']]);
    expect(r.warnings.filter((w) => w.includes('village'))).toEqual([
      `village 370112002202 西村 does not begin with the code of township 370112001 王家镇 its 1 polygon(s) lie in (${byCentre(r.polygons, 1).code}): check the village and township layers`,
    ]);
  });

  it('without a township layer checks a village against its district; without a village layer every 村 is blank', async () => {
    const r = await finalise({
      districts,
      villages: [
        feature({ kind: '村', CJDM: '370112001201', CJMC: '东村' }, square(117, 36, 0.06)),
        feature({ kind: '村', CJDM: '370113002202', CJMC: '外县村' }, square(117.06, 36, 0.04)),
      ],
    }, detections);
    expect([r.villageLayer, r.townshipLayer]).toEqual([true, false]);
    expect(r.polygons.map((p) => p.villageName).sort()).toEqual(['东村', '外县村', null].sort());
    expect(r.warnings.filter((w) => w.includes('village'))).toEqual([
      `village 370113002202 外县村 does not begin with the code of district 370112 历城区 its 1 polygon(s) lie in (${byCentre(r.polygons, 1).code}): check the village and district layers`,
    ]);
    const none = await finalise({ districts, townships }, detections);
    expect(none.villageLayer).toBe(false);
    expect(none.villages).toEqual([]);
    expect(none.polygons.every((p) => p.villageCode === null && p.villageName === null)).toBe(true);
  });
});

describe('finaliseDetections with district codes that collide', () => {
  const detections = [det('t', 0, square(117.01, 36.01), 0.8), det('t', 1, square(117.11, 36.01), 0.8)];

  it('warns where one code names two districts (a code typed twice): their polygons share one code, serials and bureau', async () => {
    const r = await finaliseWithZones({
      districts: [
        feature({ kind: 'district', code: '370112', name: '历城区' }, square(117, 36, 0.1)),
        feature({ kind: 'district', code: '370112', name: '章丘区' }, square(117.1, 36, 0.1)),
      ],
    }, detections);
    expect(r.polygons.map((p) => [p.districtCode, p.districtName]).sort()).toEqual([['370112', '历城区'], ['370112', '章丘区']]);
    expect(r.warnings.filter((w) => w.includes('370112'))).toEqual([
      'district code 370112 names 2 districts (历城区, 章丘区 in districts.geojson): their polygons share the code, its serials and its bureau; correct the code of the wrong one and re-run the batch',
    ]);
  });

  it('says nothing of one district in several features, or named in one of them only', async () => {
    const r = await finaliseWithZones({
      districts: [
        feature({ kind: 'district', code: '370112', name: '历城区' }, square(117, 36, 0.1)),
        feature({ kind: 'district', code: '370112', name: ' 历城区' }, square(117.1, 36, 0.1)),
        feature({ kind: 'district', code: '370112' }, square(117.2, 36, 0.1)),
      ],
    }, detections);
    expect(r.warnings.filter((w) => w.includes('370112'))).toEqual([]);
  });
});
