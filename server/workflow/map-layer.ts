/**
 * The map's polygon layer, built in the database and handed to HTTP as bytes: Mapbox vector tiles
 * from PostGIS `ST_AsMVT` where PostGIS has protobuf-c (a PostgreSQL server), else GeoJSON by
 * bounding box as one text value (the embedded PGlite build of PostGIS has no protobuf-c:
 * "ST_AsMVTGeom: Compiled without protobuf-c support"). Either way no row reaches JavaScript as an
 * object: the server neither parses geometry nor stringifies features (issue 13's profile: those
 * and the socket writes of ~1 kB of properties per feature were most of a tile's cost).
 *
 * A map feature carries only what the map draws and clicks on (`MAP_PROPERTIES`); the card has the
 * rest. Every query is the inbox's: `cases` within the user's scope predicate, joined by code to
 * the polygons and clues found on their GiST indexes.
 */
import type { Queryable } from '../../pipeline/store/queryable.js';
import { scopePredicate, type User } from '../access/roles.js';
import { ApiError } from '../errors.js';
import { NOT_LATE_SQL } from './state-machine.js';

/** Properties of a map feature: the code (click → card), status (colour), overdue, priority. */
export const MAP_PROPERTIES = ['code', 'status', 'overdue', 'priority'] as const;

/**
 * Below this zoom the layer carries no outlines (a 5 000 m² polygon is 2 px at z12), only centroids:
 * a vector tile's `centroids` layer, the GeoJSON layer's points.
 */
export const OUTLINE_MINZOOM = 12;
/** Centroid dots are drawn below z13 (the page's `poly-dot` layer), so tiles carry them up to z12. */
export const MVT_CENTROID_MAXZOOM = 12;
/** At most this many features per layer of one tile or one bounding box (as the GeoJSON map had). */
export const MAP_FEATURE_LIMIT = 10_000;

export interface MapFilter {
  epoch?: string;
}

/** The scope and filter predicate on `cases c`, its values appended to `params` ($1 is today). */
function casePredicate(user: User, f: MapFilter, params: unknown[]): string {
  const where = [scopePredicate(user, params)];
  if (f.epoch) {
    params.push(f.epoch);
    where.push(`c.epoch = $${params.length}`);
  }
  return where.join(' AND ');
}

const OVERDUE_SQL = `(c.due_date IS NOT NULL AND c.due_date < $1::date AND c.status NOT IN ${NOT_LATE_SQL})`;

/** Polygons and clues whose box meets `box` (an SQL expression in EPSG:4326), with their centroid and priority. */
function itemsIn(box: string): string {
  return `SELECT x.code, x.epoch, x.geom, x.centroid, x.priority FROM polygons x WHERE x.geom && ${box}
          UNION ALL
          SELECT x.code, x.epoch, x.geom, ST_PointOnSurface(x.geom), 'normal' FROM clues x WHERE x.geom && ${box}`;
}

/**
 * Whether this database's PostGIS can write vector tiles (protobuf-c compiled in). Asked once per
 * database: PGlite's PostGIS raises an error, a server's answers.
 */
export async function supportsMvt(q: Queryable): Promise<boolean> {
  try {
    await q.query(`SELECT ST_AsMVT(t, 'probe') FROM (SELECT 1 AS a, ST_AsMVTGeom(ST_MakeEnvelope(0, 0, 1, 1, 3857), ST_MakeEnvelope(0, 0, 10, 10, 3857)) AS geom) t`);
    return true;
  } catch {
    return false;
  }
}

export function checkTile(z: number, x: number, y: number): void {
  if (!(Number.isInteger(z) && z >= 0 && z <= 22)) throw new ApiError('VALIDATION', `tile zoom ${z} must be 0..22`);
  const n = 2 ** z;
  if (!(Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < n && y < n)) throw new ApiError('VALIDATION', `tile ${z}/${x}/${y} is outside the zoom's 0..${n - 1} grid`);
}

/**
 * The polygon layer of tile z/x/y as a Mapbox vector tile: layer `polygons` (outlines clipped with a
 * 64-unit buffer, from z12) and layer `centroids` (points, below z13), each feature with
 * `MAP_PROPERTIES` and its code as the feature's `code` property, at most `limit` (the cap) a layer
 * in code order. An empty tile is an empty buffer. `ST_AsMVTGeom` snaps to the 4096-unit grid and
 * drops what collapses, which is the per-zoom simplification (no vertex finer than 1/16 px at 256 px
 * tiles leaves the database).
 *
 * A tile whose view holds more than it sends also has a layer `truncated`: one point at the tile's
 * centre with `polygons` and `centroids` (which layer was cut) and `limit`. It is in the tile rather
 * than a header because MapLibre fetches tiles in its worker and shows the page none of their
 * headers, while a tile's layers the page can read (`querySourceFeatures`), and tells the user.
 */
export async function polygonTileMvt(q: Queryable, user: User, z: number, x: number, y: number, f: MapFilter & { limit?: number }, today: string): Promise<{ tile: Buffer; version: string }> {
  checkTile(z, x, y);
  const params: unknown[] = [today, z, x, y];
  const where = casePredicate(user, f, params);
  params.push(Math.min(f.limit ?? MAP_FEATURE_LIMIT, MAP_FEATURE_LIMIT));
  const limit = `$${params.length}`;
  // One row past the cap says the tile holds more than it sends; a feature whose geometry falls
  // outside the tile (NULL) is dropped before the count, so it neither takes a place nor cuts a tile.
  const layer = (name: string, geom: string, buffer: number) =>
    `SELECT coalesce(ST_AsMVT(t, '${name}', 4096, 'geom') FILTER (WHERE t.rn <= ${limit}), ''::bytea) AS mvt, count(*) > ${limit} AS cut FROM (
        SELECT s.*, row_number() OVER (ORDER BY s.code) AS rn FROM (
          SELECT c.code, c.status, ${OVERDUE_SQL} AS overdue, i.priority, ST_AsMVTGeom(ST_Transform(${geom}, 3857), b.m, 4096, ${buffer}, true) AS geom
          FROM b, items i JOIN cases c ON c.code = i.code AND c.epoch = i.epoch
          WHERE ${where}) s
        WHERE s.geom IS NOT NULL ORDER BY s.code LIMIT ${limit} + 1) t`;
  const none = `SELECT ''::bytea AS mvt, false AS cut`;
  const r = await q.query<{ mvt: Uint8Array; v: string }>(
    `WITH b AS MATERIALIZED (SELECT ST_TileEnvelope($2::int, $3::int, $4::int) AS m, ST_Transform(ST_TileEnvelope($2::int, $3::int, $4::int), 4326) AS g),
          items AS MATERIALIZED (${itemsIn('(SELECT g FROM b)')}),
          p AS (${z >= OUTLINE_MINZOOM ? layer('polygons', 'i.geom', 64) : none}),
          d AS (${z <= MVT_CENTROID_MAXZOOM ? layer('centroids', 'i.centroid', 0) : none})
     SELECT p.mvt || d.mvt || CASE WHEN p.cut OR d.cut THEN (
              SELECT ST_AsMVT(m, 'truncated', 4096, 'geom') FROM (
                SELECT p.cut AS polygons, d.cut AS centroids, ${limit}::int AS "limit", ST_AsMVTGeom(ST_Centroid(b.m), b.m, 4096, 0, false) AS geom FROM b) m)
            ELSE ''::bytea END AS mvt, ${VERSION_SQL} AS v
     FROM p, d`,
    params,
  );
  const { mvt, v } = r.rows[0];
  return { tile: mvt ? Buffer.from(mvt.buffer, mvt.byteOffset, mvt.byteLength) : Buffer.alloc(0), version: v };
}

/** Coordinates' decimals and the simplification tolerance (half a 256-px pixel, in degrees) at a zoom. */
export function geojsonPrecision(zoom: number | undefined): { digits: number; tolerance: number } {
  if (zoom === undefined || zoom >= 17) return { digits: 7, tolerance: 0 };
  return { digits: 6, tolerance: 360 / (256 * 2 ** zoom) / 2 };
}

/**
 * The polygon layer in a lon/lat box as a GeoJSON FeatureCollection text, built by the database
 * (features in code order, at most `limit`). From `OUTLINE_MINZOOM` (or without `zoom`): the
 * outlines, `id` and properties `MAP_PROPERTIES` plus `centroid_lon`/`centroid_lat` (the page's dots
 * up to z13); with `zoom` simplified to half a pixel (ST_Simplify keeping collapsed rings, so a small
 * polygon stays a dot, not nothing) and written with 6 decimals (0.1 m). Below it (`"centroids":
 * true`): what the page draws there, each centroid as a point (5 decimals, 1 m: a twentieth of a
 * pixel at z11) with `MAP_PROPERTIES` only — a city view of 5 000 polygons was 1.7 MB of outlines
 * nobody saw. `truncated`: the box holds more than `limit` in scope.
 */
export async function polygonLayerGeoJson(
  q: Queryable,
  user: User,
  bbox: [number, number, number, number],
  f: MapFilter & { zoom?: number; limit?: number },
  today: string,
): Promise<{ body: string; version: string }> {
  const [w, s, e, n] = bbox;
  if (![w, s, e, n].every(Number.isFinite) || w >= e || s >= n) throw new ApiError('VALIDATION', 'bbox must be west,south,east,north with west < east and south < north');
  const centroids = f.zoom !== undefined && f.zoom < OUTLINE_MINZOOM;
  const { digits, tolerance } = geojsonPrecision(f.zoom);
  const params: unknown[] = [today, w, s, e, n];
  const where = casePredicate(user, f, params);
  params.push(Math.min(f.limit ?? MAP_FEATURE_LIMIT, MAP_FEATURE_LIMIT));
  const limit = `$${params.length}`;
  // row_to_json writes no blanks (json_build_object writes `"code" : "…", `: 11 bytes a feature).
  const props = (more = '') => `row_to_json((SELECT p FROM (SELECT c.code, c.status, ${OVERDUE_SQL} AS overdue, i.priority${more}) p))::text`;
  const geom = tolerance > 0 ? `ST_Simplify(i.geom, ${tolerance}, true)` : 'i.geom';
  const feature = centroids
    ? `'{"type":"Feature","geometry":' || ST_AsGeoJSON(i.centroid, 5) || ',"properties":' || ${props()} || '}'`
    : `'{"type":"Feature","id":' || to_json(c.code)::text || ',"geometry":' || ST_AsGeoJSON(${geom}, ${digits})
       || ',"properties":' || ${props(', round(ST_X(i.centroid)::numeric, 6) AS centroid_lon, round(ST_Y(i.centroid)::numeric, 6) AS centroid_lat')} || '}'`;
  // The items are a materialised CTE as in the tile query: inline, PostgreSQL planned a parallel
  // append for ~400 polygons, and starting its two workers cost 40-130 ms a tile on the busy machine.
  // One row past the cap says the view holds more than is sent (`truncated`): at city zoom a lead
  // bureau's month can pass it, and the page says so rather than leave the last codes off unseen.
  const r = await q.query<{ features: string; truncated: boolean; v: string }>(
    `WITH items AS MATERIALIZED (${itemsIn('ST_MakeEnvelope($2, $3, $4, $5, 4326)')})
     SELECT coalesce(string_agg(t.f, ',' ORDER BY t.code) FILTER (WHERE t.rn <= ${limit}), '') AS features, count(*) > ${limit} AS truncated, ${VERSION_SQL} AS v FROM (
       SELECT c.code, row_number() OVER (ORDER BY c.code) AS rn, ${feature} AS f
       FROM items i JOIN cases c ON c.code = i.code AND c.epoch = i.epoch
       WHERE ${where}
       ORDER BY c.code LIMIT ${limit} + 1) t`,
    params,
  );
  const { features, truncated, v } = r.rows[0];
  return { body: `{"type":"FeatureCollection","features":[${features}],"truncated":${truncated ? 'true' : 'false'},"centroids":${centroids ? 'true' : 'false'}}`, version: v };
}

/**
 * The version of what a statement reads: its snapshot (`pg_current_snapshot()`: xmin, xmax and the
 * transactions in progress). Two statements with equal snapshots see exactly the same rows in every
 * table, so a tile tagged with the snapshot it was built in is still right while a later
 * statement's snapshot is equal; any committed write (a verdict, a new case, a batch written by
 * another process) changes it. Read-only traffic leaves it alone; a write anywhere in the cluster
 * changes it too, which only refills early, never serves stale. (The WAL position was tried first:
 * vacuum and page pruning move it under read-only load — 68 of 254 revalidations missed — and a
 * commit's WAL record precedes its visibility, so a tag could name data it does not hold.)
 */
const VERSION_SQL = 'pg_current_snapshot()::text';

/** The data version now (see `VERSION_SQL`): what a revalidation compares with the tag it holds. */
export async function dataVersion(q: Queryable): Promise<string> {
  return (await q.query<{ v: string }>(`SELECT ${VERSION_SQL} AS v`)).rows[0].v;
}
