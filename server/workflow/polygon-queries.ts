/**
 * Reads for the inbox, the map and the card. Every query is `cases` joined to `work_items`
 * (batch polygons and clues) with the user's scope predicate ANDed in SQL; pages are keyset on code.
 */
import type { Feature, FeatureCollection, Geometry } from 'geojson';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { scopePredicate, type User } from '../access/roles.js';
import { ApiError } from '../errors.js';

export interface PolygonFilter {
  epoch?: string;
  status?: string;
  priority?: string;
  overdue?: 'true' | 'false';
  district?: string;
  bbox?: string;
  limit: number;
  cursor?: string;
}

/** The batch output's snake_case properties (pipeline/outputs/polygons-geojson.ts) plus the workflow's. */
const PROPERTY_SQL = `c.code, c.epoch, c.source, w.district_code, w.district_name, c.lead_bureau, c.co_bureaus, w.routing_reason, w.rule_id,
  w.priority, w.priority_reasons, round(w.area_m2::numeric, 2)::float8 AS area_m2, round(w.area_mu::numeric, 4)::float8 AS area_mu,
  round(ST_X(w.centroid)::numeric, 7)::float8 AS centroid_lon, round(ST_Y(w.centroid)::numeric, 7)::float8 AS centroid_lat,
  w.change_type, w.change_class, round(w.confidence::numeric, 4)::float8 AS confidence, w.reasons,
  w.before_date::text AS before_date, w.after_date::text AS after_date, w.land_class_before, w.zone_overlaps AS overlaps, w.previous_code,
  w.detector->>'name' AS detector_name, w.detector->>'version' AS detector_version, w.detector->>'paramsHash' AS detector_params_hash, w.tile_id,
  w.description, c.status, c.verdict, c.due_date::text AS due_date, c.due_rule,
  (c.due_date IS NOT NULL AND c.due_date < $1::date AND c.status <> 'reviewed') AS overdue,
  c.geometry_changed, c.escalation_level, c.issued_on::text AS issued_on`;

function encodeCursor(code: string): string {
  return Buffer.from(code, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const code = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[A-Za-z0-9-]{1,64}$/.test(code)) throw new ApiError('CURSOR.INVALID');
  return code;
}

type Row = Record<string, unknown> & { code: string; geometry: string | null };

export function toFeature(row: Row, bureauName: (id: string) => string): Feature<Geometry> {
  const { geometry, ...props } = row;
  return {
    type: 'Feature',
    id: row.code,
    // null when a batch re-run dropped the polygon (the case and its history remain).
    geometry: geometry === null ? (null as unknown as Geometry) : (JSON.parse(geometry) as Geometry),
    properties: { ...props, lead_bureau_name: bureauName(String(props.lead_bureau)) },
  };
}

export async function listPolygons(
  q: Queryable,
  user: User,
  f: PolygonFilter,
  today: string,
  bureauName: (id: string) => string,
): Promise<FeatureCollection & { next_cursor: string | null; count: number }> {
  const params: unknown[] = [today];
  // A case whose polygon a batch re-run dropped keeps its history but has nothing to draw: it is
  // left out here (and must be, before the LIMIT, or a short page would end the paging early).
  const where = [scopePredicate(user, params)];
  const add = (sql: (n: number) => string, v: unknown) => {
    params.push(v);
    where.push(sql(params.length));
  };
  if (f.epoch) add((n) => `c.epoch = $${n}`, f.epoch);
  if (f.status) add((n) => `c.status = $${n}`, f.status);
  // Conditions on the polygon itself are asked of the view by code (pushed into both branches as
  // index lookups); the page is cut from `cases` in code order first, so a page costs its own rows.
  if (f.priority) {
    add((n) => `(EXISTS (SELECT 1 FROM polygons x WHERE x.code = c.code AND x.priority = $${n}) OR ($${n} = 'normal' AND EXISTS (SELECT 1 FROM clues x WHERE x.code = c.code)))`, f.priority);
  }
  if (f.district) add((n) => `c.district_code = $${n}`, f.district);
  if (f.overdue === 'true') where.push(`c.due_date < $1::date AND c.status <> 'reviewed'`);
  if (f.overdue === 'false') where.push(`NOT (c.due_date IS NOT NULL AND c.due_date < $1::date AND c.status <> 'reviewed')`);
  if (f.bbox) {
    const [w, s, e, n] = f.bbox.split(',').map(Number);
    if (![w, s, e, n].every(Number.isFinite) || w >= e || s >= n) throw new ApiError('VALIDATION', 'bbox must be west,south,east,north with west < east and south < north');
    params.push(w, s, e, n);
    const k = params.length;
    // The box is searched once on the GiST indexes; the codes found are then looked up in cases.
    where.push(
      `c.code = ANY(ARRAY(SELECT x.code FROM polygons x WHERE x.geom && ST_MakeEnvelope($${k - 3}, $${k - 2}, $${k - 1}, $${k}, 4326)
                         UNION ALL SELECT x.code FROM clues x WHERE x.geom && ST_MakeEnvelope($${k - 3}, $${k - 2}, $${k - 1}, $${k}, 4326)))`,
    );
  }
  if (f.cursor) add((n) => `c.code > $${n}`, decodeCursor(f.cursor));
  params.push(f.limit + 1);
  const r = await q.query<Row>(
    `WITH page AS MATERIALIZED (
       SELECT c.* FROM cases c WHERE ${where.join(' AND ')} ORDER BY c.code LIMIT $${params.length}
     )
     SELECT ${PROPERTY_SQL}, ST_AsGeoJSON(w.geom, 7) AS geometry
     FROM page c LEFT JOIN LATERAL (SELECT * FROM work_items w WHERE w.code = c.code LIMIT 1) w ON true
     ORDER BY c.code`,
    params,
  );
  // Paging follows the cases; a case whose polygon a batch re-run dropped (no geometry: its card
  // still opens) is left out of the features but still moves the cursor, so no page ends early.
  const more = r.rows.length > f.limit;
  const page = more ? r.rows.slice(0, f.limit) : r.rows;
  const rows = page.filter((row) => row.geometry !== null);
  return {
    type: 'FeatureCollection',
    features: rows.map((row) => toFeature(row, bureauName)),
    count: rows.length,
    next_cursor: more ? encodeCursor(page[page.length - 1].code) : null,
  };
}

export async function polygonFeatureByCode(q: Queryable, user: User, code: string, today: string, bureauName: (id: string) => string): Promise<Feature<Geometry>> {
  const params: unknown[] = [today, code];
  const scope = scopePredicate(user, params);
  const r = await q.query<Row>(
    `SELECT ${PROPERTY_SQL}, ST_AsGeoJSON(w.geom, 7) AS geometry
     FROM cases c LEFT JOIN LATERAL (SELECT * FROM work_items w WHERE w.code = c.code LIMIT 1) w ON true
     WHERE c.code = $2 AND ${scope}`,
    params,
  );
  if (r.rows.length === 0) throw new ApiError('POLYGON.NOT_FOUND', code);
  return toFeature(r.rows[0], bureauName);
}

/** Inbox counts within the user's scope: by status, and how many are overdue. */
export async function inboxCounts(q: Queryable, user: User, today: string, epoch?: string): Promise<{ by_status: Record<string, number>; overdue: number; total: number; geometry_changed: number }> {
  const params: unknown[] = [today];
  const where = [scopePredicate(user, params)];
  if (epoch) {
    params.push(epoch);
    where.push(`c.epoch = $${params.length}`);
  }
  const r = await q.query<{ status: string; n: number; overdue: number; changed: number }>(
    `SELECT c.status, count(*)::int AS n,
            count(*) FILTER (WHERE c.due_date < $1::date AND c.status <> 'reviewed')::int AS overdue,
            count(*) FILTER (WHERE c.geometry_changed)::int AS changed
     FROM cases c WHERE ${where.join(' AND ')} GROUP BY c.status`,
    params,
  );
  const by_status = Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
  return {
    by_status,
    total: r.rows.reduce((a, x) => a + x.n, 0),
    overdue: r.rows.reduce((a, x) => a + x.overdue, 0),
    geometry_changed: r.rows.reduce((a, x) => a + x.changed, 0),
  };
}

/** The card's extra sections (the caller has already checked visibility through the scope). */
export async function cardDetails(q: Queryable, code: string) {
  const [history, evidence, parcels, escalations] = await Promise.all([
    q.query(`SELECT id::int AS id, at::text AS at, actor, action, before, after FROM audit_log WHERE code = $1 ORDER BY id`, [code]),
    q.query(
      `SELECT id::int AS id, file_name, mime, size_bytes, exif, note, uploaded_by, uploaded_at::text AS uploaded_at, sha256 FROM evidence WHERE code = $1 ORDER BY id`,
      [code],
    ),
    q.query(
      `SELECT idx, area_m2, area_mu, verdict, verdict_details, ST_AsGeoJSON(geom, 7)::json AS geometry FROM parcels WHERE code = $1 ORDER BY idx`,
      [code],
    ),
    q.query(`SELECT id::int AS id, kind, rule, level, due_date::text AS due_date, reason, created_by, created_at::text AS created_at FROM escalations WHERE code = $1 ORDER BY id`, [code]),
  ]);
  return { history: history.rows, evidence: evidence.rows, parcels: parcels.rows, escalations: escalations.rows };
}
