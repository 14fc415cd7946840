/**
 * After every tile: merge seam duplicates, overlay each detection with the zones, set aside what
 * is farming rather than land taken, route the rest, give each its code and store the batch's
 * polygons in one transaction. Pure decisions live in pipeline/route and pipeline/codes; this file
 * only sequences them.
 */
import { basename } from 'node:path';
import { booleanIntersects } from '@turf/boolean-intersects';
import { centroid as turfCentroid } from '@turf/centroid';
import Flatbush from 'flatbush';
import type { MultiPolygon, Polygon } from 'geojson';
import { featureCollection, polygon as turfPolygon } from '@turf/helpers';
import { intersect } from '@turf/intersect';
import type { RuleTable } from '../../schemas/rule-table.js';
import { assignCodes } from '../codes.js';
import { CHANGE_CLASS, SQM_PER_MU } from '../../schemas/vocabulary.js';
import type { Detection, LandUseParcel, RejectedInput, Zone } from '../model.js';
import type { DetectorStamp, MonitoringPolygon } from '../../schemas/polygon.js';
import { overlayPolygon, type OverlayResult } from '../route/overlay.js';
import { routePolygon, seasonalBasis } from '../route/route.js';
import { ZoneIndex, bboxOf } from '../route/zone-index.js';
import { parentZone } from '../route/unit-parent.js';
import { codeMismatchWarning, codeMismatches, unitLabel, type CodeMismatch } from '../route/unit-codes.js';
import { loadLandUse, loadZones, type ZoneLoader } from '../zones.js';
import type { BatchArgs } from './batch-args.js';
import type { BatchPlan } from './plan-batch.js';
import { adminUnitKeys, type AdminUnitOutline, type DistrictOutline } from '../store/districts.js';

export interface FinaliseResult {
  polygons: MonitoringPolygon[];
  rejected: RejectedInput[];
  /** Zone features with invalid geometry that were repaired and kept. */
  repaired: RejectedInput[];
  warnings: string[];
  /** Detections dropped as duplicates of a more confident one from an overlapping tile. */
  seamDuplicates: number;
  /** Detections not issued as farming rather than land taken (the rule table's `seasonal`). */
  seasonal: { polygons: number; areaM2: number };
  /** The district outlines the polygons were routed with, for the server's clue check (`storeDistricts`). */
  districts: DistrictOutline[];
  /** The township outlines the polygons were placed with, for the clues' 乡镇/街道 (`storeTownships`). */
  townships: AdminUnitOutline[];
  /** The village outlines, likewise for the clues' 村/社区 (`storeVillages`). */
  villages: AdminUnitOutline[];
  /** Whether the zone files hold a 乡镇/街道 layer (so a polygon without a township lies outside it). */
  townshipLayer: boolean;
  /** Whether they hold a 村/社区 layer (so a polygon without a village lies outside it). */
  villageLayer: boolean;
}

/** Unknown district: polygons outside every district polygon still get routed and coded. */
export const UNASSIGNED_DISTRICT = { code: '000000', name: '未划定区县' };

/** A batch's zone layers (and 三调 parcels) loaded and indexed for the overlay, with what loading them reported. */
export interface BatchZones {
  zones: ZoneIndex<Zone>;
  landUse?: ZoneIndex<LandUseParcel>;
  /** The zone files' rejected inputs, then the land-use file's. */
  rejected: RejectedInput[];
  repaired: RejectedInput[];
  warnings: string[];
}

export async function loadBatchZones(args: BatchArgs, load: ZoneLoader = loadZones): Promise<BatchZones> {
  const zonesLoaded = await load(args.zones, { zonesCrs: args.zonesCrs, crsByPath: args.zonesCrsByPath });
  const rejected = [...zonesLoaded.rejected];
  let landUse: ZoneIndex<LandUseParcel> | undefined;
  if (args.landuse) {
    const lu = await loadLandUse(args.landuse);
    rejected.push(...lu.rejected);
    landUse = new ZoneIndex(lu.parcels);
  }
  const warnings = [...zonesLoaded.warnings, ...districtCodeCollisions(zonesLoaded.zones)];
  return { zones: new ZoneIndex(zonesLoaded.zones), landUse, rejected, repaired: zonesLoaded.repaired, warnings };
}

/**
 * One code given to districts of different names (a code typed twice, two files that disagree):
 * the polygons of both take that code, its serials and its bureau, each named by its own feature,
 * and the district table shows one name. Said, as no polygon is wrong on its own.
 */
function districtCodeCollisions(zones: readonly Zone[]): string[] {
  const byCode = new Map<string, Map<string, Set<string>>>();
  for (const z of zones) {
    const name = z.name?.trim();
    if (z.kind !== 'district' || !z.code || !name) continue;
    const names = byCode.get(z.code) ?? new Map<string, Set<string>>();
    byCode.set(z.code, names);
    const files = names.get(name) ?? new Set<string>();
    names.set(name, files);
    files.add(basename(z.source));
  }
  const out: string[] = [];
  for (const [code, names] of byCode) {
    if (names.size < 2) continue;
    const files = new Set([...names.values()].flatMap((f) => [...f]));
    const where = files.size === 1
      ? `${[...names.keys()].join(', ')} in ${[...files][0]}`
      : [...names].map(([name, f]) => `${name} in ${[...f].join(', ')}`).join('; ');
    out.push(`district code ${code} names ${names.size} districts (${where}): their polygons share the code, its serials and its bureau; correct the code of the wrong one and re-run the batch`);
  }
  return out;
}

/** The overlay of one detection with the batch's zones (`overlayPolygon`). */
export function overlayDetection(d: Detection, zones: BatchZones): OverlayResult {
  return overlayPolygon(d.geometry, zones.zones, zones.landUse);
}

/** Work done before finalising, by a runner that had the time (`finalise-ahead.ts`); each part is optional and must equal what finalising would compute. */
export interface FinaliseHeadStart {
  /** The batch's zones, already loading or loaded. */
  zones?: Promise<BatchZones>;
  /** A detection's overlay computed earlier from the same geometry, or undefined; asked once per detection. */
  overlays?: () => Promise<(d: Detection) => OverlayResult | undefined>;
}

export async function finaliseDetections(
  plan: BatchPlan,
  rules: RuleTable,
  detections: Detection[],
  stamp: DetectorStamp,
  previousCodes: (geoms: Polygon[]) => Promise<(string | null)[]>,
  /** Serials per district already used this month by other batches (codes continue after them). */
  startAfter: Readonly<Record<string, number>> = {},
  ahead: FinaliseHeadStart = {},
): Promise<FinaliseResult> {
  const { args } = plan;
  const batchZones = await (ahead.zones ?? loadBatchZones(args));
  const rejected = [...batchZones.rejected];
  const warnings = [...batchZones.warnings];
  const earlier = ahead.overlays ? await ahead.overlays() : () => undefined;
  const kept = dropSeamDuplicates(detections);
  const priorDate = latestDate(plan.prior.map((p) => p.date));

  const seasonal = { polygons: 0, areaM2: 0 };
  const routed = kept.flatMap((d) => {
    const ov = earlier(d) ?? overlayDetection(d, batchZones);
    for (const id of ov.failedZoneIds) warnings.push(`zone ${id}: intersection failed, skipped for ${d.tileId}#${d.index}`);
    const input = { overlaps: ov.overlaps, changeType: d.changeType, landClassBefore: ov.landClassBefore, areaM2: d.areaM2, township: ov.township?.name };
    // Before codes are given, so serials stay dense over the polygons issued.
    if (seasonalBasis(input, rules) !== null) {
      seasonal.polygons++;
      seasonal.areaM2 += d.areaM2;
      return [];
    }
    const decision = routePolygon(input, rules);
    const c = turfCentroid(d.geometry).geometry.coordinates as [number, number];
    return [{ d, ov, decision, district: ov.district ?? UNASSIGNED_DISTRICT, centroid: [round7(c[0]), round7(c[1])] as [number, number] }];
  });
  seasonal.areaM2 = round2(seasonal.areaM2);
  const codes = assignCodes(
    routed.map((r) => ({ districtCode: r.district.code, centroid: r.centroid, tileId: r.d.tileId, index: r.d.index })),
    args.epoch,
    startAfter,
  );
  const previous = await previousCodes(routed.map((r) => r.d.geometry));
  const polygons: MonitoringPolygon[] = routed.map((r, i) => ({
    code: codes[i],
    epoch: args.epoch,
    geometry: r.d.geometry,
    centroid: r.centroid,
    areaM2: round2(r.d.areaM2),
    areaMu: round2(r.d.areaM2 / SQM_PER_MU),
    changeType: r.d.changeType,
    changeClass: CHANGE_CLASS[r.d.changeType],
    confidence: r.d.confidence,
    reasons: r.d.reasons,
    beforeDate: r.d.beforeDate || priorDate,
    afterDate: r.d.afterDate,
    landClassBefore: r.ov.landClassBefore,
    overlaps: r.ov.overlaps,
    districtCode: r.district.code,
    districtName: r.district.name,
    townshipCode: r.ov.township?.code ?? null,
    townshipName: r.ov.township?.name ?? null,
    villageCode: r.ov.village?.code ?? null,
    villageName: r.ov.village?.name ?? null,
    leadBureau: r.decision.lead,
    coBureaus: r.decision.co,
    routingReason: r.decision.reason,
    ruleId: r.decision.ruleId,
    priority: r.decision.priority,
    priorityReasons: r.decision.priorityReasons,
    previousCode: previous[i],
    detector: stamp,
    tileId: r.d.tileId,
  }));
  polygons.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  warnings.push(...unitCodeWarnings(polygons));
  const townshipLayer = batchZones.zones.items.some((z) => z.kind === 'township');
  const villageLayer = batchZones.zones.items.some((z) => z.kind === 'village');
  return { polygons, rejected, repaired: batchZones.repaired, warnings, seamDuplicates: detections.length - kept.length, seasonal, districts: districtOutlines(batchZones), townships: adminUnitOutlines(batchZones, 'township'), villages: adminUnitOutlines(batchZones, 'village'), townshipLayer, villageLayer };
}

/**
 * A township or village whose code does not begin with the code of the unit above it (`codeMismatches`)
 * names the wrong layer. The polygon keeps both as the layers say; the report says so once per unit
 * and parent, the townships' first.
 */
function unitCodeWarnings(polygons: readonly MonitoringPolygon[]): string[] {
  const odd = new Map<string, { mismatch: CodeMismatch; codes: string[] }>();
  for (const p of polygons) {
    for (const m of codeMismatches({ ...p, districtCode: p.districtCode === UNASSIGNED_DISTRICT.code ? null : p.districtCode })) {
      const key = `${unitLabel(m.unit)}\0${unitLabel(m.parent)}`;
      const entry = odd.get(key) ?? { mismatch: m, codes: [] };
      entry.codes.push(p.code);
      odd.set(key, entry);
    }
  }
  return [...odd.values()]
    .sort((x, y) => (x.mismatch.unit.kind === y.mismatch.unit.kind ? 0 : x.mismatch.unit.kind === 'township' ? -1 : 1))
    .map(({ mismatch, codes }) => codeMismatchWarning(mismatch, `its ${codes.length} polygon(s) lie in (${codes.slice(0, 5).join(', ')}${codes.length > 5 ? ' …' : ''})`));
}

/** The batch's district zones, coded as the overlay codes them (`overlayPolygon`). */
export function districtOutlines(zones: BatchZones): DistrictOutline[] {
  return zones.zones.items.filter((z) => z.kind === 'district').map((z) => ({ code: z.code ?? z.id, name: z.name ?? '', geometry: z.geometry }));
}

/**
 * The batch's township or village zones, coded and named as the overlay gives them to polygons
 * (`overlayPolygon`); one without a code also with the unit above holding it (`AdminUnitOutline.parent`,
 * keyed as stored: a district as the overlay codes it, a township by `adminUnitKeys`), which keeps
 * units of one name apart.
 */
export function adminUnitOutlines(zones: BatchZones, kind: 'township' | 'village'): AdminUnitOutline[] {
  const units = zones.zones.items.filter((z) => z.kind === kind);
  const districtOf = (z: Zone) => {
    const d = parentZone(z, zones.zones, 'district');
    return d ? (d.code ?? d.id) : null;
  };
  let townshipKeys: Map<Zone, string> | undefined;
  const townshipOf = (z: Zone) => {
    if (!townshipKeys) {
      const townships = zones.zones.items.filter((t) => t.kind === 'township');
      const keys = adminUnitKeys(adminUnitOutlines(zones, 'township'));
      townshipKeys = new Map(townships.map((t, i) => [t, keys[i]]));
    }
    const t = parentZone(z, zones.zones, 'township');
    return t ? townshipKeys.get(t)! : null;
  };
  return units.map((z) => ({
    code: z.code ?? null,
    name: z.name ?? z.code ?? '',
    geometry: z.geometry,
    ...(z.code !== undefined ? {} : { parent: kind === 'township' ? districtOf(z) : (townshipOf(z) ?? districtOf(z)) }),
  }));
}

/**
 * Tiles of one epoch overlap (Sentinel-2 granules share ~10 km), so one change can be detected
 * twice. Two rules, each deciding over a set fixed before it runs, so the result does not depend on
 * the order tiles finished:
 * 1. A change reaching out of the overlap strip is seen whole by one tile only, its neighbour seeing
 *    the part inside its own edge: a detection lying mostly (half) in a clearly larger one
 *    (PART_OF_LARGER) from another tile is that part, and goes however confident (it used to win,
 *    and the whole change went: 3.3 km² on Landsat Taizhou). Decided largest first, against wholes
 *    that are not parts themselves: a part straddling two changes of its neighbour removes neither.
 * 2. Of the rest, overlapping detections from different tiles are one change seen twice: the most
 *    confident stays; ties go to the smaller tile id. Two that only touch, or overlap by a sliver, are
 *    both kept.
 * 3. A part whose wholes all lost in 2 is weighed as in 2 after all: its ground is no one else's.
 */
export function dropSeamDuplicates(detections: Detection[]): Detection[] {
  if (detections.length === 0) return [];
  const n = detections.length;
  const boxes = detections.map((d) => bboxOf(d.geometry));
  const areas = detections.map((d) => planarArea(d.geometry));
  const index = new Flatbush(n);
  for (const b of boxes) index.add(b[0], b[1], b[2], b[3]);
  index.finish();
  const neighbours = (i: number) => index.search(boxes[i][0], boxes[i][1], boxes[i][2], boxes[i][3]).filter((j) => detections[j].tileId !== detections[i].tileId);
  const within = shareWithin(detections, boxes, areas);
  const byTile = (a: number, b: number) => {
    const [da, db] = [detections[a], detections[b]];
    return da.tileId < db.tileId ? -1 : da.tileId > db.tileId ? 1 : da.index - db.index;
  };
  // 1. Parts of a change another tile saw whole, and those wholes. (A share that cannot be computed makes no part.)
  const wholesOf = new Map<number, number[]>();
  const bySize = detections.map((_, i) => i).sort((a, b) => areas[b] - areas[a] || byTile(a, b));
  for (const i of bySize) {
    const wholes = neighbours(i).filter((j) => !wholesOf.has(j) && areas[j] >= PART_OF_LARGER * areas[i] && within(i, j) >= 0.5);
    if (wholes.length > 0) wholesOf.set(i, wholes);
  }
  // 2. One change seen twice: the more confident. Not two that only touch or overlap by a sliver: their
  // boxes' overlap (an upper bound of the share, no intersection computed) under a quarter of the less
  // confident keeps both.
  const kept = new Uint8Array(n);
  const sameChange = (i: number, j: number) => !(shareBound(boxes, areas, i, j) < 0.25) && booleanIntersects(detections[j].geometry, detections[i].geometry);
  const byConfidence = detections.map((_, i) => i).sort((a, b) => detections[b].confidence - detections[a].confidence || byTile(a, b));
  const keep = (i: number) => {
    if (!neighbours(i).some((j) => kept[j] === 1 && sameChange(i, j))) kept[i] = 1;
  };
  for (const i of byConfidence) if (!wholesOf.has(i)) keep(i);
  // 3. A part whose wholes all lost to a more confident detection of theirs is its tile's only view of
  // that ground: it is weighed as in 2 against what is kept.
  for (const i of byConfidence) if (wholesOf.get(i)?.every((j) => kept[j] === 0)) keep(i);
  return detections
    .filter((_, i) => kept[i] === 1)
    .sort((a, b) => (a.tileId < b.tileId ? -1 : a.tileId > b.tileId ? 1 : a.index - b.index));
}

/**
 * How much larger a whole is than a part of it (rule 1): two tiles that both saw a change whole give
 * outlines within a few per cent of each other's area, and the more confident of those stays (rule 2).
 */
const PART_OF_LARGER = 1.25;

/**
 * The share of detection i's area inside detection j's (planar, in degrees²: a ratio over a few km),
 * remembered per pair; NaN where the intersection cannot be computed. Bounded first by the boxes'
 * overlap and j's area, and by whether they meet at all: turf's intersect costs ~100× booleanIntersects
 * (1000 seam pairs of 50-vertex outlines: 3.3 s where the bound and booleanIntersects take ~0.1 s).
 */
/** An upper bound of the share of i's area inside j's: their boxes' overlap, or j's area, over i's (NaN for an empty i). */
function shareBound(boxes: number[][], areas: number[], i: number, j: number): number {
  const [a, b] = [boxes[i], boxes[j]];
  const boxOverlap = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  return areas[i] > 0 ? Math.min(boxOverlap, areas[j]) / areas[i] : NaN;
}

function shareWithin(detections: Detection[], boxes: number[][], areas: number[]): (i: number, j: number) => number {
  const known = new Map<number, number>();
  const n = detections.length;
  return (i, j) => {
    const key = i * n + j;
    const seen = known.get(key);
    if (seen !== undefined) return seen;
    const share = exactShare(i, j);
    known.set(key, share);
    return share;
  };
  function exactShare(i: number, j: number): number {
    // An upper bound under a half answers rule 1's question.
    const bound = shareBound(boxes, areas, i, j);
    if (!(bound >= 0.5)) return bound;
    const [di, dj] = [detections[i].geometry, detections[j].geometry];
    try {
      if (!booleanIntersects(di, dj)) return 0;
      const x = intersect(featureCollection([turfPolygon(di.coordinates), turfPolygon(dj.coordinates)]));
      return x ? planarArea(x.geometry) / areas[i] : 0;
    } catch {
      return NaN;
    }
  }
}

/** Shoelace area of a polygon or multipolygon, holes subtracted, in its coordinates' units². */
function planarArea(g: Polygon | MultiPolygon): number {
  const ring = (r: number[][]) => {
    let a = 0;
    for (let k = 0, m = r.length - 1; k < r.length; m = k++) a += (r[m][0] + r[k][0]) * (r[m][1] - r[k][1]);
    return Math.abs(a) / 2;
  };
  const poly = (p: number[][][]) => p.reduce((sum, r, k) => sum + (k === 0 ? ring(r) : -ring(r)), 0);
  return g.type === 'Polygon' ? poly(g.coordinates) : g.coordinates.reduce((sum, p) => sum + poly(p), 0);
}

function latestDate(dates: string[]): string {
  return dates.filter(Boolean).sort().at(-1) ?? '';
}
const round7 = (x: number) => Math.round(x * 1e7) / 1e7;
const round2 = (x: number) => Math.round(x * 100) / 100;
