/**
 * What a split drawn on the map would make, before anything is written: the polygon cut by lines
 * (ST_Split), or parcels drawn roughly by hand clipped to the polygon (each minus those drawn before
 * it) plus the rest of the polygon as one more parcel. Hand-drawn vertices never lie exactly on the
 * outline, so the page sends its drawing here and `split` then gets parcels that fit it exactly.
 */
import type { Polygon } from 'geojson';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { SQM_PER_MU } from '../../schemas/vocabulary.js';
import { ApiError } from '../errors.js';

export interface PreviewParcel {
  geometry: Polygon;
  area_m2: number;
  area_mu: number;
}

/** Pieces under this many m² are slivers of drawing, not parcels. */
const MIN_PARCEL_M2 = 1;
/** The `split` route's own limit. */
const MAX_PARCELS = 50;

const POLY = `poly AS (SELECT ST_Force2D(geom) AS geom FROM work_items WHERE code = $1 AND GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON'))`;

/** The polygon cut along every line ($2: a MultiLineString); a line that does not cross it cuts nothing. */
const BY_LINES = `WITH ${POLY},
  pieces AS (SELECT 0 AS ord, ST_Split(poly.geom, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)) AS g FROM poly)`;

/** Drawn parcels ($2: a JSON array of Polygons) clipped to the polygon, each minus the earlier ones, then the rest. */
const BY_PARCELS = `WITH ${POLY},
  drawn AS (
    SELECT t.ord::int AS ord, ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(t.x::text), 4326)) AS g
    FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(x, ord)),
  pieces AS (
    SELECT d.ord, ST_Difference(ST_Intersection(poly.geom, d.g),
             coalesce((SELECT ST_Union(e.g) FROM drawn e WHERE e.ord < d.ord), ST_SetSRID('POLYGON EMPTY'::geometry, 4326))) AS g
    FROM poly, drawn d
    UNION ALL
    SELECT 1000000, ST_Difference(poly.geom, (SELECT ST_Union(g) FROM drawn)) FROM poly)`;

const PARTS = `
  SELECT ST_AsGeoJSON(d.geom, 9)::json AS geometry, ST_Area(d.geom::geography) AS area_m2
  FROM pieces p, LATERAL ST_Dump(ST_CollectionExtract(p.g, 3)) d
  ORDER BY p.ord, d.path`;

export async function splitPreview(q: Queryable, code: string, drawn: { lines?: { coordinates: unknown }[]; parcels?: Polygon[] }): Promise<PreviewParcel[]> {
  const r = drawn.lines
    ? await q.query<{ geometry: Polygon; area_m2: number }>(BY_LINES + PARTS, [code, JSON.stringify({ type: 'MultiLineString', coordinates: drawn.lines.map((l) => l.coordinates) })])
    : await q.query<{ geometry: Polygon; area_m2: number }>(BY_PARCELS + PARTS, [code, JSON.stringify(drawn.parcels ?? [])]);
  const parcels = r.rows
    .filter((p) => p.area_m2 >= MIN_PARCEL_M2)
    .map((p) => ({ geometry: p.geometry, area_m2: Math.round(p.area_m2 * 100) / 100, area_mu: Math.round((p.area_m2 / SQM_PER_MU) * 1e4) / 1e4 }));
  if (parcels.length > MAX_PARCELS) throw new ApiError('VALIDATION', `the drawing makes ${parcels.length} parcels; at most ${MAX_PARCELS}`);
  return parcels;
}
