/**
 * The monitoring polygon (图斑), declared once in its two spellings: `MonitoringPolygon` (camelCase)
 * is what the pipeline computes and the database stores and returns; `PolygonProperties` (snake_case,
 * zod) is the output contract — the properties of each feature in `polygons.geojson`, the GeoPackage
 * columns, and what the triage server will serve. Geometries are GeoJSON in lon/lat (EPSG:4326).
 */
import type { Polygon } from 'geojson';
import { z } from 'zod';
import { BUREAU_IDS, CHANGE_TYPES, PRIORITIES, ZONE_KINDS, type BureauId, type ChangeType, type Priority, type ZoneKind } from './vocabulary.js';

export interface Overlap {
  m2: number;
  /** Share of the polygon's area inside the zone kind, in [0, 1]. */
  share: number;
}

/** Which detector produced a polygon, so a ledger entry traces back to it. */
export interface DetectorStamp {
  name: string;
  version: string;
  /** Short hash of the parameters. */
  paramsHash: string;
}

/** A routed monitoring polygon (图斑): what bureaus receive and the ledger lists. */
export interface MonitoringPolygon {
  /** District code + epoch + serial, e.g. '370102-202610-0007'. */
  code: string;
  epoch: string;
  geometry: Polygon;
  centroid: [number, number];
  areaM2: number;
  areaMu: number;
  changeType: ChangeType;
  changeClass: string;
  confidence: number;
  reasons: string[];
  /** 前/后时相: ISO `yyyy-mm-dd`, the 1st of the month for a tile dated by month only (stored as a date; outputs show `yyyy-mm`). */
  beforeDate: string;
  afterDate: string;
  landClassBefore: string | null;
  overlaps: Partial<Record<ZoneKind, Overlap>>;
  districtCode: string;
  districtName: string;
  /** 乡镇/街道 the polygon overlaps most (a `township` zone layer); null without one or outside it. Code null when the layer names only. */
  townshipCode: string | null;
  townshipName: string | null;
  /** 村/社区 the polygon overlaps most (a `village` zone layer); null without one or outside it. Code null when the layer names only. */
  villageCode: string | null;
  villageName: string | null;
  leadBureau: BureauId;
  coBureaus: BureauId[];
  routingReason: string;
  ruleId: string;
  priority: Priority;
  priorityReasons: string[];
  /** Code of an earlier-epoch polygon at the same site, if any (往期图斑编号). */
  previousCode: string | null;
  detector: DetectorStamp;
  tileId: string;
}

const overlapSchema = z.object({ m2: z.number(), share: z.number().min(0).max(1) });

/** The properties of one feature of `polygons.geojson` (README's table of outputs). */
export const polygonPropertiesSchema = z.object({
  code: z.string(),
  epoch: z.string(),
  district_code: z.string(),
  district_name: z.string(),
  /** 乡镇/街道 (属地): null without a township zone layer, or outside every township of it. */
  township_code: z.string().nullable(),
  township_name: z.string().nullable(),
  /** 村/社区: null without a village zone layer, or outside every village of it. */
  village_code: z.string().nullable(),
  village_name: z.string().nullable(),
  lead_bureau: z.enum(BUREAU_IDS),
  lead_bureau_name: z.string(),
  co_bureaus: z.array(z.enum(BUREAU_IDS)),
  routing_reason: z.string(),
  rule_id: z.string(),
  priority: z.enum(PRIORITIES),
  priority_reasons: z.array(z.string()),
  /** Square metres. */
  area_m2: z.number(),
  /** 亩 (1 亩 = 10000/15 m²). */
  area_mu: z.number(),
  centroid_lon: z.number(),
  centroid_lat: z.number(),
  change_type: z.enum(CHANGE_TYPES),
  change_class: z.string(),
  confidence: z.number().min(0).max(1),
  reasons: z.array(z.string()),
  /** `yyyy-mm-dd`, or `yyyy-mm` when the tile was dated by month only (`after-2026-10.tif`); after_date likewise. */
  before_date: z.string(),
  after_date: z.string(),
  land_class_before: z.string().nullable(),
  overlaps: z.partialRecord(z.enum(ZONE_KINDS), overlapSchema),
  previous_code: z.string().nullable(),
  detector_name: z.string(),
  detector_version: z.string(),
  detector_params_hash: z.string(),
  tile_id: z.string(),
});
export type PolygonProperties = z.infer<typeof polygonPropertiesSchema>;
