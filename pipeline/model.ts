/**
 * Tuban's domain values, declared once. Geometries are GeoJSON in lon/lat
 * (EPSG:4326; CGCS2000/EPSG:4490 coincides with it at the metre level) unless a name says otherwise.
 */
import type { MultiPolygon, Polygon } from 'geojson';
import type { BandName, Grid } from '../geo/raster.js';
import type { TubanErrorJSON } from './errors.js';

export const ZONE_KINDS = [
  'permanent_basic_farmland',
  'farmland',
  'forest',
  'nature_reserve',
  'forest_park',
  'wetland_park',
  'scenic_area',
  'geopark',
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
] as const;
export type ZoneKind = (typeof ZONE_KINDS)[number];

export function isZoneKind(s: string): s is ZoneKind {
  return (ZONE_KINDS as readonly string[]).includes(s);
}

/** One zone polygon, reprojected to lon/lat on load. `code`/`name` are set for districts (区县 code, e.g. 370102). */
export interface Zone {
  id: string;
  kind: ZoneKind;
  geometry: Polygon | MultiPolygon;
  code?: string;
  name?: string;
  /** File it came from (reports name it). */
  source: string;
}

/** Optional 三调 land-use baseline polygon. */
export interface LandUseParcel {
  dlbm: string;
  geometry: Polygon | MultiPolygon;
}

/** Change classes the detector emits; `CHANGE_CLASS` maps them to 图斑类型 codes (domain/tblx_change_types.csv). */
export type ChangeType = 'construction' | 'bare_soil' | 'vegetation_loss' | 'water_fill' | 'new_water';
export const CHANGE_CLASS: Record<ChangeType, string> = {
  construction: 'JZ', // 建/构筑物(不明用途)
  bare_soil: 'DT', // 动土
  vegetation_loss: 'TP', // 推平 (vegetation cleared)
  water_fill: 'TD', // 推堆土 into water
  new_water: 'KT', // 坑塘 dug
};

export type BureauId =
  | 'natural_resources'
  | 'urban_management'
  | 'forestry'
  | 'agriculture'
  | 'water'
  | 'ecology_environment'
  | 'transport'
  | 'township'
  | 'emergency_management';

/** A tile as catalogued: one multiband file, or one file per Sentinel-2 band. */
export interface TileInfo {
  /** Deterministic: hash of sorted file paths' basenames + sizes + grid. */
  id: string;
  files: string[];
  /** Which file and which sample holds each band. */
  bands: Partial<Record<BandName, { file: string; sample: number }>>;
  grid: Grid;
  /** Acquisition date, ISO yyyy-mm-dd (the 1st for a month-precision date). */
  date: string;
  /** 'month' when only the month is known (`after-2026-10.tif`); outputs then show `2026-10`. Absent in older plans: day. */
  datePrecision?: 'day' | 'month';
  /** The STAC item the tile came from, and its `eo:cloud_cover` (percent) when the item gives one. */
  stacItem?: string;
  cloudCover?: number;
  /** Footprint in lon/lat. */
  footprint: Polygon;
  dtype: 'uint8' | 'uint16' | 'int16' | 'float32' | 'float64';
  nodata: number | null;
}

export interface RejectedInput {
  subject: string;
  error: TubanErrorJSON;
}

/** A change polygon straight out of one tile, before routing. */
export interface Detection {
  tileId: string;
  /** Serial within the tile in scan order; with tileId it identifies the detection. */
  index: number;
  geometry: Polygon;
  areaM2: number;
  changeType: ChangeType;
  /** In [0, 1]. */
  confidence: number;
  reasons: string[];
  beforeDate: string;
  afterDate: string;
  pixelCount: number;
}

export type Priority = 'high' | 'normal';

export interface Overlap {
  m2: number;
  /** Share of the polygon's area inside the zone kind, in [0, 1]. */
  share: number;
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
  beforeDate: string;
  afterDate: string;
  landClassBefore: string | null;
  overlaps: Partial<Record<ZoneKind, Overlap>>;
  districtCode: string;
  districtName: string;
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

/** Which detector produced a polygon, so a ledger entry traces back to it. */
export interface DetectorStamp {
  name: string;
  version: string;
  /** Short hash of the parameters. */
  paramsHash: string;
}

export const SQM_PER_MU = 10000 / 15;
