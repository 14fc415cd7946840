/**
 * The pipeline's own values (zones as loaded, detections before routing, rejected inputs); what
 * crosses a boundary (vocabulary, the routed polygon, errors, jobs) is declared in `schemas/`. Geometries are GeoJSON in lon/lat
 * (EPSG:4326; CGCS2000/EPSG:4490 coincides with it at the metre level) unless a name says otherwise.
 */
import type { MultiPolygon, Polygon } from 'geojson';
import type { TubanErrorJSON } from '../schemas/errors.js';
import type { ChangeType, ZoneKind } from '../schemas/vocabulary.js';

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

export interface RejectedInput {
  subject: string;
  error: TubanErrorJSON;
  /**
   * The lon/lat outline of a tile rejected after its header was read (catalogue only): planning
   * turns a current tile's into not-observed ground and drops it from the input.
   */
  footprint?: Polygon;
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
