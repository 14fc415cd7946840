/**
 * The map layer's query run once at server start, in the background, so the first user of the day
 * does not pay for its first run. On the embedded database the first map request after a start cost
 * 0.3-1.3 s against 10-40 ms later (stop 39): PGlite is PostgreSQL compiled to WebAssembly, and its
 * first run of a statement loads PostGIS, fills the catalog caches the planner reads and compiles the
 * WebAssembly of every function on the path (index scans, window and string aggregates, ST_Simplify,
 * ST_AsGeoJSON) on first call. All of that is per process, not per query: one run of the same query
 * over one polygon of the newest month, in the lead bureau's scope, leaves a bureau's first map view
 * at the warm cost. On a PostgreSQL server it warms one pooled session's caches, a vector tile's worth.
 */
import type { Queryable } from '../pipeline/store/queryable.js';
import type { User } from './access/roles.js';
import { OUTLINE_MINZOOM, polygonLayerGeoJson, polygonTileMvt, supportsMvt } from './workflow/map-layer.js';

/** The scope that sees every polygon (scopePredicate: TRUE); no account of that name is needed. */
const WARM_USER: User = { name: 'map-warm-up', role: 'lead', bureau: null, district: null };

/** One polygon of the newest month, one with a case if any (the map joins cases; without one no feature is built). */
interface PolygonPlace { epoch: string; w: number; s: number; e: number; n: number; lon: number; lat: number }

async function newestPolygon(q: Queryable): Promise<PolygonPlace | null> {
  const box = `p.epoch, ST_XMin(p.geom) AS w, ST_YMin(p.geom) AS s, ST_XMax(p.geom) AS e, ST_YMax(p.geom) AS n, ST_X(p.centroid) AS lon, ST_Y(p.centroid) AS lat`;
  const withCase = await q.query<PolygonPlace>(`SELECT ${box} FROM cases c JOIN polygons p ON p.code = c.code AND p.epoch = c.epoch ORDER BY c.epoch DESC LIMIT 1`);
  if (withCase.rows[0]) return withCase.rows[0];
  const any = await q.query<PolygonPlace>(`SELECT ${box} FROM polygons p ORDER BY p.epoch DESC LIMIT 1`);
  return any.rows[0] ?? null;
}

/** The web-mercator tile x/y holding lon/lat at zoom z. */
function tileOf(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  const x = Math.floor(((lon + 180) / 360) * n);
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return [Math.min(n - 1, Math.max(0, x)), Math.min(n - 1, Math.max(0, y))];
}

/**
 * Run the map layer's query as the page's first view asks it: outlines (z13) and centroids (z11),
 * as vector tiles where the database writes them, else GeoJSON over the polygon's box. Returns what
 * it warmed ('none' without polygons). Errors reach the caller (the server logs them: serve-app.ts).
 */
export async function warmMapLayer(q: Queryable, today: string): Promise<'mvt' | 'geojson' | 'none'> {
  const mvt = await supportsMvt(q);
  const p = await newestPolygon(q);
  if (!p) return 'none';
  for (const zoom of [OUTLINE_MINZOOM + 1, OUTLINE_MINZOOM - 1]) {
    if (mvt) {
      const [x, y] = tileOf(p.lon, p.lat, zoom);
      await polygonTileMvt(q, WARM_USER, zoom, x, y, { epoch: p.epoch }, today);
    } else {
      // A degenerate box (a point clue) is widened a little: the query refuses west >= east.
      const pad = 1e-5;
      await polygonLayerGeoJson(q, WARM_USER, [p.w - pad, p.s - pad, p.e + pad, p.n + pad], { zoom, epoch: p.epoch }, today);
    }
  }
  return mvt ? 'mvt' : 'geojson';
}
