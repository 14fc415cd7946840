/**
 * Which part of a month's imagery a user may see: where their own work is. A county gets the
 * imagery of its own area with its 图斑 (分发: 表格+影像), not the neighbours'. One box, not a buffer
 * per polygon: a bureau with work at both ends of the city sees most of it. The lead bureau and
 * analysts see all.
 *
 * "Their area" is the bounding box of the month's polygons and clues in their scope
 * (`scopePredicate`, the cases' own routing, else the batch's for a polygon not yet opened),
 * widened by MARGIN_M so a polygon near the edge has its surroundings. A user with nothing in a
 * month sees none of its imagery. Tiles are whole: one that touches the box is served entire.
 */
import type { Queryable } from '../../pipeline/store/queryable.js';
import { scopePredicate, type User } from './roles.js';

/** How far around their polygons a user sees the imagery, m. */
export const MARGIN_M = 2000;

/** Lon/lat box [west, south, east, north], or 'all' (no limit), or null (nothing). */
export type ImageryExtent = [number, number, number, number] | 'all' | null;

const M_PER_DEG_LAT = 111_320;

export async function imageryExtent(db: Queryable, user: User, epoch: string, marginM = MARGIN_M): Promise<ImageryExtent> {
  const params: unknown[] = [epoch];
  const scope = scopePredicate(user, params, 's');
  if (scope === 'TRUE') return 'all';
  const r = await db.query<{ w: number | null; s: number | null; e: number | null; n: number | null }>(
    `SELECT ST_XMin(x) AS w, ST_YMin(x) AS s, ST_XMax(x) AS e, ST_YMax(x) AS n
     FROM (SELECT ST_Extent(s.geom)::geometry AS x
           FROM (SELECT w.geom, coalesce(c.lead_bureau, w.lead_bureau) AS lead_bureau, coalesce(c.co_bureaus, w.co_bureaus) AS co_bureaus,
                        coalesce(c.district_code, w.district_code) AS district_code
                 FROM work_items w LEFT JOIN cases c ON c.code = w.code WHERE w.epoch = $1) s
           WHERE ${scope}) b`,
    params,
  );
  const { w, s, e, n } = r.rows[0] ?? {};
  if (w == null || s == null || e == null || n == null) return null;
  const dLat = marginM / M_PER_DEG_LAT;
  const dLon = marginM / (M_PER_DEG_LAT * Math.max(0.05, Math.cos((((s + n) / 2) * Math.PI) / 180)));
  return [w - dLon, s - dLat, e + dLon, n + dLat];
}

/**
 * `imageryExtent` remembered per scope and month for `ttlMs`: a map view asks for dozens of tiles at
 * once, and the box changes only when a batch, a clue or a reassignment does (seen after `ttlMs`).
 */
export function cachedImageryExtent(db: Queryable, ttlMs = 30_000): (user: User, epoch: string) => Promise<ImageryExtent> {
  const cache = new Map<string, { at: number; extent: Promise<ImageryExtent> }>();
  return (user, epoch) => {
    const key = `${user.role}\0${user.bureau ?? ''}\0${user.district ?? ''}\0${epoch}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < ttlMs) return hit.extent;
    if (cache.size > 1000) cache.clear();
    const extent = imageryExtent(db, user, epoch);
    // A failed query is not remembered.
    extent.catch(() => cache.delete(key));
    cache.set(key, { at: now, extent });
    return extent;
  };
}
