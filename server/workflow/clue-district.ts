/**
 * A clue lies in the district it names (登记线索): the district's ledger lists it there, and its
 * place widens the district's imagery scope (access/imagery-scope.ts), so a clue put elsewhere
 * would show a district another's imagery. Checked against the outlines the newest batch routed
 * with (`districts`, pipeline/store/districts.ts), exact.
 *
 * In the district is where the batch would route a polygon there (route/overlay.ts: the district
 * holding most of it, else the nearest within DISTRICT_SNAP_M), give or take TOLERANCE_M for the
 * named one: a point within TOLERANCE_M of its outline; an outline of which it, widened by
 * TOLERANCE_M, holds some and no less than any other district; a clue that no district holds any
 * of (past the layer's outer edge) when the named one is the nearest within DISTRICT_SNAP_M.
 */
import { DISTRICT_SNAP_M } from '../../pipeline/route/overlay.js';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { ApiError } from '../errors.js';

/**
 * How far outside its district's outline a clue may lie, m. A phone's GPS errs by 5-10 m (30 m
 * under trees or between buildings), a point clicked on 10 m imagery by a pixel or two, and a district
 * boundary digitised at 1:10 000 (区划 layers, 三调) by ~5-10 m; 50 m covers them together and stays
 * far under any district's size, so it cannot carry a clue into the middle of a neighbour.
 */
export const TOLERANCE_M = 50;

/**
 * Margin of the box the outline is clipped to before it is widened, degrees: at least TOLERANCE_M
 * east-west up to China's northern tip (53.6°N: 0.0015° ≈ 99 m), so the clipped outline widened by
 * TOLERANCE_M equals the whole outline widened, inside the clue's box.
 */
export const CLIP_MARGIN_DEG = 0.0015;

interface Placement {
  name: string;
  point: boolean;
  /** Share of the clue in the named district widened by TOLERANCE_M (a point: 1 or 0). */
  share_inside: number;
  /** The other district holding most of the clue, and its share. */
  lies_in: { code: string; name: string; share: number } | null;
}

/** The clue's point (an outline's point on its surface) against the whole layer: asked only of a clue the named district does not hold. */
interface Distance {
  /** From the named district, m. */
  outside_m: number;
  /** The district nearest it within DISTRICT_SNAP_M. */
  nearest: string | null;
}

/** The clue `c` (geometry `g`, its point `p`, whether a point, its box widened by CLIP_MARGIN_DEG), from GeoJSON text `geometry` (a bind parameter) and the margin `margin`. */
export const clueSql = (geometry: string, margin: string) => `c AS (SELECT g, ST_PointOnSurface(g) AS p, GeometryType(g) = 'POINT' AS point, ST_Expand(g, ${margin}) AS box
                       FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(${geometry}), 4326) AS g) s)`;
const CLUE_SQL = clueSql('$1', '$3');

/**
 * Refuses (`400 CLUE.OUTSIDE_DISTRICT`, nothing written) a clue `geometry` (GeoJSON text) outside
 * district `code`, naming the district, how far outside and the district it lies in. A district no
 * batch has stored an outline for (a district user's, before its first batch) is not checked.
 */
export async function checkClueDistrict(tx: Queryable, geometry: string, code: string): Promise<void> {
  // Outlines are clipped to the clue's box before they are intersected or widened: a district is
  // thousands of vertices, the clue's neighbourhood a few; where the clue is, the two are the same
  // (CLIP_MARGIN_DEG). A clipped outline may be invalid where it runs along the box: made valid
  // before it is intersected (widening it makes it valid).
  const r = await tx.query<Placement>(
    `WITH ${CLUE_SQL}
     SELECT d.name, c.point, ${shareIn('ST_Buffer(ST_ClipByBox2D(d.geom, c.box)::geography, $4)::geometry')} AS share_inside,
            (SELECT json_build_object('code', o.code, 'name', o.name, 'share', o.share) FROM (
               SELECT o.code, o.name, ${shareIn('ST_CollectionExtract(ST_MakeValid(ST_ClipByBox2D(o.geom, c.box)), 3)')} AS share FROM districts o WHERE o.code <> $2 AND o.geom && c.g
             ) o WHERE o.share > 0 ORDER BY o.share DESC, o.code LIMIT 1) AS lies_in
     FROM c, districts d WHERE d.code = $2`,
    [geometry, code, CLIP_MARGIN_DEG, TOLERANCE_M],
  );
  const at = r.rows[0];
  if (!at) return checkUnplaced(tx, geometry, code);
  if (at.share_inside > 0 && at.share_inside >= (at.lies_in?.share ?? 0)) return;
  // Measured against whole outlines (O(vertices) each), so only for a clue refused or past the edge.
  const far = (
    await tx.query<Distance>(
      `WITH ${CLUE_SQL}
       SELECT (SELECT ST_Distance(c.p::geography, d.geom::geography) FROM districts d WHERE d.code = $2)::float8 AS outside_m,
              (SELECT o.code FROM districts o WHERE o.geom && ST_Expand(c.p, $5) AND ST_DWithin(o.geom::geography, c.p::geography, $4)
                ORDER BY ST_Distance(o.geom::geography, c.p::geography), o.code LIMIT 1) AS nearest
       FROM c`,
      [geometry, code, CLIP_MARGIN_DEG, DISTRICT_SNAP_M, (DISTRICT_SNAP_M / 111_320) * 2],
    )
  ).rows[0];
  // In no district at all (past the layer's outer edge): the nearest within DISTRICT_SNAP_M, as the batch routes.
  if (at.share_inside === 0 && at.lies_in === null && far.nearest === code) return;
  const district = `${code} ${at.name}`.trim();
  const where = at.lies_in ? `it lies in district ${`${at.lies_in.code} ${at.lies_in.name}`.trim()}` : 'it lies in no district of the layer';
  const away = distanceText(far.outside_m);
  const what = at.point
    ? `the point lies ${away} outside district ${district}`
    : `${Math.round(at.share_inside * 100)} % of the outline lies in district ${district}${far.outside_m > 0 ? `, its centre ${away} outside it` : ''}`;
  throw new ApiError('CLUE.OUTSIDE_DISTRICT', `${what}; ${where}. A clue lies in the district it names (within ${TOLERANCE_M} m of its boundary)`, {
    district: { code, name: at.name },
    outside_m: Math.round(far.outside_m),
    ...(at.point ? {} : { share_inside: Math.round(at.share_inside * 100) / 100 }),
    lies_in: at.lies_in && { code: at.lies_in.code, name: at.lies_in.name },
  });
}

/**
 * A district the layer has no outline of (a district user's before its first batch, or a zone such
 * as a 高新区 the layer does not draw) is not placed against: its clue may lie where the layer has
 * no district. But no part of it may lie inside another district of the layer further than
 * TOLERANCE_M from its boundary: the clue's box would widen its district's imagery scope into that
 * district's (access/imagery-scope.ts) and put that district's place in its ledger. The whole clue,
 * not its point: an outline whose point lies where the layer has no district may run an arm deep
 * into a neighbour, and its box takes the arm in.
 */
async function checkUnplaced(tx: Queryable, geometry: string, code: string): Promise<void> {
  // The outline shrunk by TOLERANCE_M, of its part in the clue's box: the clue lies at least
  // CLIP_MARGIN_DEG (≥ 99 m) inside the box's edges, further than TOLERANCE_M, so the edges the clip
  // adds do not shrink it where the clue is.
  const r = await tx.query<{ code: string; name: string; inside_m: number | null }>(
    `WITH ${CLUE_SQL}
     SELECT o.code, o.name, CASE WHEN c.point THEN ST_Distance(c.g::geography, ST_Boundary(o.geom)::geography)::float8 END AS inside_m
     FROM c, districts o WHERE o.code <> $2 AND o.geom && c.g
       AND ST_Intersects(c.g, ST_Buffer(ST_CollectionExtract(ST_MakeValid(ST_ClipByBox2D(o.geom, c.box)), 3)::geography, -$4::float8)::geometry)
     ORDER BY o.code LIMIT 1`,
    [geometry, code, CLIP_MARGIN_DEG, TOLERANCE_M],
  );
  const lies = r.rows[0];
  if (!lies) return;
  const other = `${lies.code} ${lies.name}`.trim();
  const where = lies.inside_m === null ? `the outline reaches more than ${TOLERANCE_M} m into district ${other}` : `it lies in district ${other}, ${distanceText(lies.inside_m)} inside its boundary`;
  throw new ApiError(
    'CLUE.OUTSIDE_DISTRICT',
    `${where}; district ${code} has no stored outline, and a clue lies in the district it names, not in another of the layer`,
    { district: { code, name: null }, outside_m: null, lies_in: { code: lies.code, name: lies.name } },
  );
}

/** A distance in a message: metres under a kilometre, else kilometres to 0.1. */
function distanceText(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`;
}

/** SQL: the share of the clue (`c`) inside `area`: a point 1 or 0, an outline the part of its area. */
export function shareIn(area: string): string {
  return `(CASE WHEN c.point THEN (CASE WHEN ST_Intersects(c.g, ${area}) THEN 1 ELSE 0 END)
                ELSE coalesce(ST_Area(ST_Intersection(c.g, ${area})) / nullif(ST_Area(c.g), 0), 0) END)::float8`;
}
