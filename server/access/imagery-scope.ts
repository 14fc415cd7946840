/**
 * Which part of a month's imagery a user may see: where their own work is. A county gets the
 * imagery of its own area with its 图斑 (分发: 表格+影像), not the neighbours'. The lead bureau and
 * analysts see all.
 *
 * "Where their work is" is, for each of the month's polygons and clues in their scope
 * (`scopePredicate`, the cases' own routing, else the batch's for a polygon not yet opened), its
 * bounding box widened by MARGIN_M, so a polygon has its surroundings. A box per polygon, not one
 * around them all: a bureau with work at both ends of the city does not see the city between. A map
 * tile that meets no box is not served; one partly inside is served with the rest transparent
 * (`tileView`). A user with nothing in a month sees none of its imagery.
 */
import Flatbush from 'flatbush';
import type { Queryable } from '../../pipeline/store/queryable.js';
import type { PixelRect } from '../imagery/tile-mask.js';
import { lonLatToMercator, tileBounds } from '../imagery/web-mercator.js';
import { scopeKey, scopePredicate, type User } from './roles.js';

/** How far around each of their polygons a user sees the imagery, m. */
export const MARGIN_M = 2000;

/** Lon/lat box [west, south, east, north]. */
export type LonLatBox = [number, number, number, number];

export interface ScopedImagery {
  /** Lon/lat box around all of it: where the page fits its map. */
  readonly bounds: LonLatBox;
  /** Web-mercator boxes, 4 numbers each [minX, minY, maxX, maxY], one per polygon or clue. */
  readonly boxes: Float64Array;
  readonly index: Flatbush;
}

/** 'all' (no limit), null (nothing), or the boxes the user may see. */
export type ImageryScope = 'all' | null | ScopedImagery;

const TILE_PX = 256;
const M_PER_DEG_LAT = 111_320;

export async function imageryScope(db: Queryable, user: User, epoch: string, marginM = MARGIN_M): Promise<ImageryScope> {
  const params: unknown[] = [epoch];
  const scope = scopePredicate(user, params, 's');
  if (scope === 'TRUE') return 'all';
  const r = await db.query<{ w: number; s: number; e: number; n: number }>(
    `SELECT ST_XMin(s.geom) AS w, ST_YMin(s.geom) AS s, ST_XMax(s.geom) AS e, ST_YMax(s.geom) AS n
     FROM (SELECT w.geom, coalesce(c.lead_bureau, w.lead_bureau) AS lead_bureau, coalesce(c.co_bureaus, w.co_bureaus) AS co_bureaus,
                  coalesce(c.district_code, w.district_code) AS district_code, CASE WHEN c.code IS NULL THEN w.township_code ELSE c.township_code END AS township_code
           FROM work_items w LEFT JOIN cases c ON c.code = w.code WHERE w.epoch = $1) s
     WHERE ${scope} AND s.geom IS NOT NULL`,
    params,
  );
  return scopeOfBoxes(r.rows.map((b) => [b.w, b.s, b.e, b.n]), marginM);
}

/** The scope of lon/lat boxes, each widened by `marginM` on the ground (null for none). */
export function scopeOfBoxes(lonLat: readonly LonLatBox[], marginM: number): ScopedImagery | null {
  if (lonLat.length === 0) return null;
  const boxes = new Float64Array(lonLat.length * 4);
  const index = new Flatbush(lonLat.length);
  const bounds: LonLatBox = [Infinity, Infinity, -Infinity, -Infinity];
  lonLat.forEach(([w, s, e, n], i) => {
    // Mercator stretches distance by 1 / cos(latitude): widen by the ground margin at the box's latitude.
    const grow = marginM / Math.max(0.05, Math.cos((((s + n) / 2) * Math.PI) / 180));
    const [x0, y0] = lonLatToMercator(w, s);
    const [x1, y1] = lonLatToMercator(e, n);
    boxes.set([x0 - grow, y0 - grow, x1 + grow, y1 + grow], i * 4);
    index.add(x0 - grow, y0 - grow, x1 + grow, y1 + grow);
    const dLat = marginM / M_PER_DEG_LAT;
    const dLon = grow / M_PER_DEG_LAT; // at the box's latitude, as above
    bounds[0] = Math.min(bounds[0], w - dLon);
    bounds[1] = Math.min(bounds[1], s - dLat);
    bounds[2] = Math.max(bounds[2], e + dLon);
    bounds[3] = Math.max(bounds[3], n + dLat);
  });
  index.finish();
  return { bounds, boxes, index };
}

/**
 * What of map tile z/x/y the scope shows: 'none', 'whole', or the pixel rectangles to keep (the rest
 * is made transparent). A pixel any box touches is kept.
 */
export function tileView(scope: ImageryScope, z: number, x: number, y: number): 'none' | 'whole' | PixelRect[] {
  if (scope === 'all') return 'whole';
  if (scope === null) return 'none';
  const [tx0, ty0, tx1, ty1] = tileBounds(z, x, y);
  const hits = scope.index.search(tx0, ty0, tx1, ty1);
  if (hits.length === 0) return 'none';
  const res = (tx1 - tx0) / TILE_PX;
  const rects: PixelRect[] = [];
  for (const i of hits) {
    const [bx0, by0, bx1, by1] = scope.boxes.subarray(i * 4, i * 4 + 4);
    if (bx0 <= tx0 && by0 <= ty0 && bx1 >= tx1 && by1 >= ty1) return 'whole';
    // Rows count from the north (ty1) down.
    const clamp = (v: number) => Math.max(0, Math.min(TILE_PX, v));
    const [x0, y0, x1, y1] = [Math.floor((bx0 - tx0) / res), Math.floor((ty1 - by1) / res), Math.ceil((bx1 - tx0) / res), Math.ceil((ty1 - by0) / res)].map(clamp);
    if (x0 < x1 && y0 < y1) rects.push([x0, y0, x1, y1]);
  }
  return rects.length > 0 ? rects : 'none';
}

/**
 * `imageryScope` remembered per scope and month for `ttlMs`: a map view asks for dozens of tiles at
 * once, and the boxes change only when a batch, a clue or a reassignment does (seen after `ttlMs`).
 */
export function cachedImageryScope(db: Queryable, ttlMs = 30_000): (user: User, epoch: string) => Promise<ImageryScope> {
  const cache = new Map<string, { at: number; scope: Promise<ImageryScope> }>();
  return (user, epoch) => {
    const key = `${scopeKey(user)}\0${epoch}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < ttlMs) return hit.scope;
    if (cache.size > 1000) cache.clear();
    const scope = imageryScope(db, user, epoch);
    // A failed query is not remembered.
    scope.catch(() => cache.delete(key));
    cache.set(key, { at: now, scope });
    return scope;
  };
}
