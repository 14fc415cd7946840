import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '../model.js';
import { loadRuleTable } from '../route/load-rule-table.js';
import { onceEachZoneFile } from '../zones.js';
import { BatchArgsSchema } from './batch-args.js';
import { FinaliseAhead } from './finalise-ahead.js';
import { finaliseDetections, loadBatchZones, overlayDetection } from './finalise-batch.js';
import type { BatchPlan } from './plan-batch.js';

function square(x: number, y: number, s = 0.002): Polygon {
  return { type: 'Polygon', coordinates: [[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]] };
}

function det(tileId: string, index: number, geometry: Polygon, confidence = 0.8): Detection {
  return { tileId, index, geometry, confidence, areaM2: 40_000, changeType: 'construction', reasons: ['bsi_rise'], beforeDate: '2026-09-06', afterDate: '2026-10-08', pixelCount: 400 };
}

const stamp = { name: 'spectral', version: '1.0.0', paramsHash: 'abc123' };
const noPrevious = async (geoms: Polygon[]) => geoms.map(() => null);

let dir: string;
let plan: BatchPlan;
let detections: Detection[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-finalise-ahead-'));
  const zones = join(dir, 'zones.geojson');
  const districts = join(dir, 'districts.geojson');
  // Farmland whose edge runs through the middle of the detections, so some pairs reach turf.
  const farm = { type: 'Polygon', coordinates: [[[117, 36], [117.0105, 36], [117.0105, 36.02], [117, 36.02], [117, 36]]] };
  await writeFile(zones, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', id: 'farm', properties: { kind: 'farmland' }, geometry: farm }] }));
  await writeFile(districts, JSON.stringify({
    type: 'FeatureCollection',
    features: [{ type: 'Feature', id: 'd', properties: { kind: 'district', code: '370102', name: '历下区' }, geometry: square(116.9, 35.9, 0.3) }],
  }));
  const args = BatchArgsSchema.parse({ epoch: '2026-10', tiles: [join(dir, 'a.tif')], prior: [join(dir, 'b.tif')], zones: [zones, districts] });
  plan = { batchId: 'b1', plannedAt: '2026-10-09T00:00:00Z', args, tiles: [], prior: [], rejected: [] };
  detections = [];
  for (let i = 0; i < 12; i++) detections.push(det('tileA', i, square(117.0005 + i * 0.0011, 36.001 + (i % 3) * 0.004)));
  // From the overlapping tile: one a seam duplicate of tileA#3, one on its own.
  detections.push(det('tileB', 0, square(117.0005 + 3 * 0.0011 + 0.0002, 36.001), 0.9), det('tileB', 1, square(117.05, 36.05)));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FinaliseAhead', () => {
  it('gives finalising the polygons it computes without a head start', async () => {
    const rules = await loadRuleTable();
    const plain = await finaliseDetections(plan, rules, detections, stamp, noPrevious);
    expect(plain.polygons.length).toBeGreaterThan(5);
    expect(plain.polygons.some((p) => p.overlaps.farmland && p.overlaps.farmland.share < 1)).toBe(true);

    const ahead = new FinaliseAhead(plan.args, onceEachZoneFile());
    ahead.detected(detections.filter((d) => d.tileId === 'tileA'));
    ahead.detected(detections.filter((d) => d.tileId === 'tileB'));
    // Finalising gets its detections back from the database: equal values, other objects.
    const stored = structuredClone(detections);
    const early = await finaliseDetections(plan, rules, stored, stamp, noPrevious, {}, ahead.headStart());
    expect(early).toEqual(plain);
  });

  it('offers an overlay only for the same tile, index and coordinates', async () => {
    const ahead = new FinaliseAhead(plan.args, onceEachZoneFile());
    const [a, b, c] = detections;
    ahead.detected([a, b, c]);
    const earlier = await ahead.headStart().overlays!();
    const zones = await loadBatchZones(plan.args);
    expect(earlier(structuredClone(a))).toEqual(overlayDetection(a, zones));
    // Given once: not held on to after finalising has it.
    expect(earlier(structuredClone(a))).toBeUndefined();
    // The same place stored for another detection, or this detection re-traced: computed again.
    expect(earlier({ ...a, index: 99 })).toBeUndefined();
    const moved = structuredClone(b);
    moved.geometry.coordinates[0][2][0] += 1e-12;
    expect(earlier(moved)).toBeUndefined();
    const withHole = { ...c, geometry: { ...c.geometry, coordinates: [...c.geometry.coordinates, c.geometry.coordinates[0]] } };
    expect(earlier(withHole)).toBeUndefined();
  });

  it('leaves a zone file that cannot be read to finalising, which reports it as without a head start', async () => {
    const args = { ...plan.args, zones: [...plan.args.zones, join(dir, 'missing.geojson')] };
    const broken = { ...plan, args };
    const rules = await loadRuleTable();
    const ahead = new FinaliseAhead(args, onceEachZoneFile());
    ahead.detected(detections);
    const early = await finaliseDetections(broken, rules, detections, stamp, noPrevious, {}, ahead.headStart());
    expect(early.rejected.map((r) => r.error.code)).toContain('ZONES.UNREADABLE');
    expect(early).toEqual(await finaliseDetections(broken, rules, detections, stamp, noPrevious));
  });
});
