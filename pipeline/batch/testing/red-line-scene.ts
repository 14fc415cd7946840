/**
 * A month's detections over zone files written to disk, finalised as the batch finalises them
 * (loadZones, overlay, routing with the Jinan default table) and turned into ledger rows: the same
 * polygons with and without a 生态保护红线 layer among the zone files. Imported by tests only.
 *
 * Squares of 0.001° (≈ 90 m × 111 m ≈ 1.0 ha, 15 亩) near 117.0°E 36.0°N, one per situation.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Polygon } from 'geojson';
import { areaM2 } from '../../../geo/area.js';
import type { ChangeType } from '../../../schemas/vocabulary.js';
import type { MonitoringPolygon } from '../../../schemas/polygon.js';
import type { Detection } from '../../model.js';
import { ledgerRows, type LedgerRow } from '../../outputs/ledger.js';
import { DEFAULT_RULES } from '../../route/default-rules.js';
import { BatchArgsSchema } from '../batch-args.js';
import { finaliseDetections } from '../finalise-batch.js';
import type { BatchPlan } from '../plan-batch.js';

export const rect = (x0: number, y0: number, x1: number, y1: number): Polygon => ({
  type: 'Polygon',
  coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
});
const square = (x: number, y: number, d = 0.001) => rect(x, y, x + d, y + d);
const feature = (properties: Record<string, unknown>, geometry: Polygon) => ({ type: 'Feature', properties, geometry });

const det = (index: number, geometry: Polygon, changeType: ChangeType = 'construction'): Detection => ({
  tileId: 't1', index, geometry, areaM2: areaM2(geometry), changeType, confidence: 0.8, reasons: ['亮度上升'], beforeDate: '2026-09-06', afterDate: '2026-10-08', pixelCount: 100,
});

/** The detections, by what they lie in (besides the district). */
export const SCENE_DETECTIONS = {
  /** All in 永久基本农田; its west half in the red line. */
  farmland: det(0, square(117.01, 36.01)),
  /** All in 城镇开发边界 and in the red line. */
  urban: det(1, square(117.02, 36.01)),
  /** All in 林地 and in the red line. */
  forest: det(2, square(117.03, 36.01)),
  /** ≈ 400 m² (under the 500 m² that alone makes a polygon high priority), in the red line only. */
  redOnly: det(3, square(117.04, 36.01, 0.0002)),
  /** In 饮用水水源保护区; its south half in the red line, its north quarter in 永久基本农田. */
  water: det(4, square(117.05, 36.01)),
  /** ≈ 400 m² in no zone but the district. */
  nothing: det(5, square(117.06, 36.01, 0.0002)),
};

/** Zone files by name: the layers every month has. */
export const BASE_ZONE_FILES: Record<string, unknown[]> = {
  districts: [feature({ kind: 'district', code: '370112', name: '历城区' }, square(117, 36, 0.1))],
  farmland: [feature({ kind: '永久基本农田' }, square(117.01, 36.01)), feature({ kind: '永久基本农田' }, rect(117.05, 36.01075, 117.051, 36.011))],
  urban: [feature({ kind: '城镇开发边界' }, square(117.0195, 36.0095, 0.002))],
  forest: [feature({ kind: 'forest' }, square(117.0295, 36.0095, 0.002))],
  water: [feature({ kind: '饮用水水源保护区' }, square(117.0495, 36.0095, 0.002))],
};

/** The 生态保护红线 layer, with two of the names a kind column gives it. */
export const RED_LINE_FILE: unknown[] = [
  feature({ KIND: 'STBHHX' }, rect(117.0095, 36.0095, 117.0105, 36.0115)),
  feature({ KIND: '生态保护红线' }, rect(117.0195, 36.0095, 117.0415, 36.0115)),
  feature({ KIND: '生态保护红线' }, rect(117.0495, 36.0095, 117.0515, 36.0105)),
];

/** The scene's detections finalised with these zone files (no earlier month: no 往期图斑). */
export async function finaliseScene(zoneFiles: Record<string, unknown[]>): Promise<MonitoringPolygon[]> {
  const dir = await mkdtemp(join(tmpdir(), 'tuban-red-line-'));
  try {
    const zones = await Promise.all(
      Object.entries(zoneFiles).map(async ([name, features]) => {
        const path = join(dir, `${name}.geojson`);
        await writeFile(path, JSON.stringify({ type: 'FeatureCollection', features }));
        return path;
      }),
    );
    const args = BatchArgsSchema.parse({ epoch: '2026-10', tiles: [join(dir, 'a.tif')], prior: [join(dir, 'b.tif')], zones });
    const plan: BatchPlan = { batchId: 'b1', plannedAt: '2026-10-09T00:00:00Z', args, tiles: [], prior: [], rejected: [] };
    const stamp = { name: 'spectral', version: '1.0.0', paramsHash: 'abc123' };
    const r = await finaliseDetections(plan, DEFAULT_RULES, Object.values(SCENE_DETECTIONS), stamp, async (g) => g.map(() => null));
    if (r.rejected.length > 0) throw new Error(`zone files rejected: ${JSON.stringify(r.rejected)}`);
    return r.polygons;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The batch's ledger rows for these polygons, bureaus named as the default table names them. */
export function sceneLedger(polygons: MonitoringPolygon[]): LedgerRow[] {
  return ledgerRows(polygons, { bureauName: (id) => DEFAULT_RULES.bureaus[id]?.name_zh ?? id, issuedOn: '2026-10-20', city: '济南市' });
}
