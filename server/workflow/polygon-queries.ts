/**
 * Reads for the inbox, the map and the card. Every query is `cases` joined to `work_items`
 * (batch polygons and clues) with the user's scope predicate ANDed in SQL; pages are keyset on code,
 * or on (confidence, code) for the inbox sorted by confidence.
 */
import type { Feature, FeatureCollection, Geometry } from 'geojson';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { scopePredicate, type User } from '../access/roles.js';
import { ApiError } from '../errors.js';
import { CASE_COLUMNS, type CaseRow } from './case-store.js';
import { DEFAULT_DEADLINES, type DeadlineRuleId, type Deadlines } from '../deadlines/rules.js';
import { WorkCalendar } from '../deadlines/calendar.js';
import { NOT_LATE_SQL, REVIEW_LATE_SQL, SETTLED_SQL } from './state-machine.js';
import { chinaDateSql } from '../../pipeline/iso-date.js';
import { calendarProblem } from '../../schemas/calendar-date.js';

export interface PolygonFilter {
  epoch?: string;
  status?: string;
  priority?: string;
  overdue?: 'true' | 'false';
  district?: string;
  lead_bureau?: string;
  bbox?: string;
  limit: number;
  cursor?: string;
  sort?: 'code' | 'confidence' | 'due';
  /** `list`: `listPropertySql` and no geometry (the inbox); `full` (default): every property and the outline. */
  view?: 'full' | 'list';
}

/** Whether and how late a case is (the list and the full view alike). */
const lateSql = (daysOverdue: string) => `(c.due_date IS NOT NULL AND c.due_date < $1::date AND c.status NOT IN ${NOT_LATE_SQL}) AS overdue,
  ${daysOverdue} AS days_overdue, coalesce(${REVIEW_LATE_SQL}, false) AS review_overdue`;

/** The site's later sightings and the case's 督办 (URGED_SQL), the list and the full view alike. */
const sightingAndUrgedSql = (seen: (alias: string) => string) =>
  `(SELECT max(m.epoch) FROM cases m WHERE m.merged_into = c.code AND ${seen('m')}) AS last_sighting, u.urged, u.last_urged_on`;

/**
 * The batch output's snake_case properties (pipeline/outputs/polygons-geojson.ts) plus the workflow's;
 * `last_sighting`: the month the site was last seen changing again, of the polygons merged into
 * this case (null: none), so an inbox shows that a site being verified or rectified is still at work.
 * `seen(alias)` is the caller's scope predicate on `cases <alias>` (its values bound by the caller):
 * a sighting outside it is not dated here, as its card answers 404 (a co-handling bureau of a case
 * is not one of its sightings' bureaus). `previous_code` is the batch's own property, named to
 * every caller of the polygon (continuing-site.test.ts); where that case stands is `previous_case`.
 */
const propertySql = (seen: (alias: string) => string, daysOverdue: string) => `c.code, c.epoch, c.source, w.district_code, w.district_name, w.township_code, w.township_name, w.village_code, w.village_name, c.lead_bureau, c.co_bureaus, w.routing_reason, w.rule_id,
  w.priority, w.priority_reasons, round(w.area_m2::numeric, 2)::float8 AS area_m2, round(w.area_mu::numeric, 4)::float8 AS area_mu,
  round(ST_X(w.centroid)::numeric, 7)::float8 AS centroid_lon, round(ST_Y(w.centroid)::numeric, 7)::float8 AS centroid_lat,
  w.change_type, w.change_class, round(w.confidence::numeric, 4)::float8 AS confidence, w.reasons,
  w.before_date::text AS before_date, w.after_date::text AS after_date, w.land_class_before, w.zone_overlaps AS overlaps, w.previous_code,
  w.detector->>'name' AS detector_name, w.detector->>'version' AS detector_version, w.detector->>'paramsHash' AS detector_params_hash, w.tile_id,
  w.description, c.status, c.verdict, c.due_date::text AS due_date, c.due_rule,
  ${lateSql(daysOverdue)},
  c.geometry_changed, c.escalation_level, c.issued_on::text AS issued_on,
  ${sightingAndUrgedSql(seen)}`;

/**
 * 督办 of a case: how many times and the last day (the audit log's \`urge\` rows, by its (code, id)
 * index), since its last reassignment (改派): those before pressed the bureau that had it then, and
 * the one handling it now has not been urged.
 */
const URGED_SQL = `LEFT JOIN LATERAL (SELECT count(*)::int AS urged, max(a.after->>'urged_on') AS last_urged_on FROM audit_log a WHERE a.code = c.code AND a.action = 'urge'
  AND a.id > coalesce((SELECT max(r.id) FROM audit_log r WHERE r.code = c.code AND r.action = 'reassign'), 0)) u ON true`;

/** Scripts and tests that pass no deadlines: the default rules, weekends off and no holidays. */
const WEEKDAYS_ONLY: Deadlines = { rules: DEFAULT_DEADLINES, calendar: new WorkCalendar() };

/**
 * How late an overdue case is (null when it is not), counted as its deadline was: working days for a
 * working-day rule (the days after the due date up to today that the holiday calendar works, so a
 * Friday deadline is 1 working day late on Monday), calendar days for any other. Evaluated for the
 * page's rows only (propertySql runs after the page is cut), a few dozen days each. Binds the
 * working-day rules and the calendar's exceptions in `params`; $1 is today.
 */
function daysOverdueSql(d: Deadlines, params: unknown[]): string {
  const working = (Object.keys(d.rules) as DeadlineRuleId[]).filter((id) => d.rules[id].kind === 'working_days');
  const { off, on } = d.calendar.exceptions();
  params.push(working, off, on);
  const [w, o, n] = [params.length - 2, params.length - 1, params.length];
  return `CASE WHEN c.due_date IS NULL OR c.due_date >= $1::date OR c.status IN ${NOT_LATE_SQL} THEN NULL
    WHEN c.due_rule = ANY($${w}::text[]) THEN
      (SELECT count(*) FROM generate_series(c.due_date + 1, $1::date, interval '1 day') g(t)
       WHERE t::date = ANY($${n}::date[]) OR (extract(isodow FROM t) < 6 AND NOT t::date = ANY($${o}::date[])))::int
    ELSE ($1::date - c.due_date) END`;
}

/**
 * What an inbox item shows (web/inbox.js) and the lead bureau's month summary counts (web/summary.js):
 * a city month's list of thousands need not carry each polygon's outline, overlaps, reasons and
 * detector (~1.2 kB a square, several kB a traced parcel), which the card and the map read on their
 * own. Values as `propertySql`'s.
 */
const listPropertySql = (seen: (alias: string) => string, daysOverdue: string) => `c.code, c.epoch, c.source, w.district_code, w.district_name, w.township_code, w.township_name, w.village_code, w.village_name, c.lead_bureau, w.priority,
  round(w.area_m2::numeric, 2)::float8 AS area_m2, round(w.area_mu::numeric, 4)::float8 AS area_mu, w.change_type, round(w.confidence::numeric, 4)::float8 AS confidence,
  c.status, c.verdict, c.due_date::text AS due_date, c.due_rule,
  ${lateSql(daysOverdue)},
  c.geometry_changed,
  ${sightingAndUrgedSql(seen)}`;

/** A page's last key as the client carries it: the code, or `confidence|code` when sorted by confidence. */
function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

const CODE = /^[A-Za-z0-9-]{1,64}$/;

function decodeCursor(cursor: string): string {
  const code = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!CODE.test(code)) throw new ApiError('CURSOR.INVALID');
  return code;
}

/** `confidence|code` of a confidence-sorted page; the confidence is Postgres' exact text of the float8, so the next page starts right after it. */
function decodeConfidenceCursor(cursor: string): { confidence: number; code: string } {
  const [conf, code, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const confidence = Number(conf);
  if (rest.length || !code || !CODE.test(code) || !/^-?[\d.e+-]{1,32}$/i.test(conf ?? '') || !Number.isFinite(confidence)) throw new ApiError('CURSOR.INVALID');
  return { confidence, code };
}

/**
 * One page of cases by confidence (most confident first, ties by code) under `where`: the month's
 * polygons walked down their confidence index (polygons_epoch_confidence, or polygons_confidence
 * without a month) and its clues (reported by a person: confidence 1) by code, each branch cut at
 * `lim` + 1 before the two are merged. One walk over both (a UNION ALL under the ORDER BY) would
 * not use the index: the planner sorts every polygon in scope instead (~250 ms for 25 000 on
 * PGlite, against ~4 ms). A case whose polygon a batch re-run dropped has no place in this order
 * (it has no geometry to list either).
 */
function pageByConfidence(where: string, epoch: string | null, after: { conf: string; code: string } | null, lim: string): string {
  const branch = (table: string, confidence: string, order: string) => {
    const cond = [where, epoch ? `x.epoch = ${epoch}` : 'TRUE', after ? `${confidence} <= ${after.conf} AND (${confidence} < ${after.conf} OR x.code > ${after.code})` : 'TRUE'];
    return `(SELECT c.*, ${confidence} AS sort_confidence FROM ${table} x JOIN cases c ON c.code = x.code WHERE ${cond.join(' AND ')} ORDER BY ${order} LIMIT ${lim} + 1)`;
  };
  return `SELECT * FROM (${branch('polygons', 'x.confidence', 'x.confidence DESC, x.code')} UNION ALL ${branch('clues', '1.0::float8', 'x.code')}) c
          ORDER BY c.sort_confidence DESC, c.code LIMIT ${lim} + 1`;
}

/** `rank|due|code` of a deadline-sorted page (rank 0 overdue, 1 not; due a date or 9999-12-31). */
function decodeDueCursor(cursor: string): { rank: number; due: string; code: string } {
  const [rank, due, code, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  // A day the calendar has (a 30 February would reach the database's date cast as a 500); year 0 is none.
  if (rest.length || !/^[01]$/.test(rank ?? '') || calendarProblem(due ?? '', 'day') !== null || due.startsWith('0000') || !code || !CODE.test(code)) throw new ApiError('CURSOR.INVALID');
  return { rank: Number(rank), due, code };
}

/** Overdue on the day in $1: a deadline passed, and the case not settled. */
const OVERDUE = `(c.due_date < $1::date AND c.status NOT IN ${NOT_LATE_SQL})`;
const NOT_OVERDUE = `(c.due_date IS NULL OR c.due_date >= $1::date OR c.status IN ${NOT_LATE_SQL})`;
const DUE_DAY = `coalesce(c.due_date, DATE '9999-12-31')`;

/**
 * One page of cases in deadline order (`sort=due`): overdue first, then the nearest deadline (none
 * last), then code, over every page, so the top of a month of thousands is what is late, not what
 * its first page held. Two branches, each walked down its own index in order (migration 6: the
 * overdue by (epoch, due_date, code), the rest by (epoch, their due day, code)) and cut at `lim` + 1
 * before they are merged: one ORDER BY over a CASE would sort the caller's whole scope every page
 * (100 000 polygons: 25 ms of server CPU a page against 5 by code). `after`: the cursor's rank 0
 * (overdue) or 1, day and code.
 */
function pageByDue(where: string, after: { rank: number; due: string; code: string } | null, lim: string): string {
  const overdueAfter = !after ? 'TRUE' : after.rank === 1 ? 'FALSE' : `(c.due_date, c.code) > (${after.due}::date, ${after.code})`;
  const restAfter = after?.rank === 1 ? `(${DUE_DAY}, c.code) > (${after.due}::date, ${after.code})` : 'TRUE';
  return `SELECT * FROM (
            (SELECT c.*, 0 AS due_rank, c.due_date AS due_day FROM cases c WHERE ${where} AND ${OVERDUE} AND ${overdueAfter} ORDER BY c.due_date, c.code LIMIT ${lim} + 1)
            UNION ALL
            (SELECT c.*, 1 AS due_rank, ${DUE_DAY} AS due_day FROM cases c WHERE ${where} AND ${NOT_OVERDUE} AND ${restAfter} ORDER BY ${DUE_DAY}, c.code LIMIT ${lim} + 1)
          ) c ORDER BY c.due_rank, c.due_day, c.code LIMIT ${lim} + 1`;
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

/** Bureau id → Chinese name (the rule table's `name_zh`), for `lead_bureau_name`; an id not in it stands for itself. */
export type BureauNames = Record<string, string>;

/**
 * One page of polygons in the user's scope as the GeoJSON text the API sends, built by the
 * database: each feature is `{type, id, geometry, properties}` with `propertySql`'s columns (in
 * that order) plus `lead_bureau_name`, and the collection carries `count` and `next_cursor`. The
 * server passes the text through: no geometry is parsed and no feature stringified in JavaScript
 * (issue 13's profile: JSON.parse of the geometry and JSON.stringify were ~20 % of the server's CPU).
 */
export async function listPolygonsJson(q: Queryable, user: User, f: PolygonFilter, today: string, names: BureauNames, deadlines: Deadlines = WEEKDAYS_ONLY): Promise<string> {
  const params: unknown[] = [today];
  // A case whose polygon a batch re-run dropped keeps its history but has nothing to draw: it is
  // left out here (and must be, before the LIMIT, or a short page would end the paging early).
  const where = [scopePredicate(user, params)];
  const add = (sql: (n: number) => string, v: unknown) => {
    params.push(v);
    where.push(sql(params.length));
  };
  let epochParam: string | null = null;
  if (f.epoch) {
    add((n) => `c.epoch = $${n}`, f.epoch);
    epochParam = `$${params.length}`;
  }
  if (f.status) add((n) => `c.status = $${n}`, f.status);
  // Conditions on the polygon itself are asked of the view by code (pushed into both branches as
  // index lookups); the page is cut first (from `cases` in code order, or down the polygons'
  // confidence index: pageByConfidence), so a page costs about its own rows.
  if (f.priority) {
    add((n) => `(EXISTS (SELECT 1 FROM polygons x WHERE x.code = c.code AND x.priority = $${n}) OR ($${n} = 'normal' AND EXISTS (SELECT 1 FROM clues x WHERE x.code = c.code)))`, f.priority);
  }
  if (f.district) add((n) => `c.district_code = $${n}`, f.district);
  // ANDed with the scope: a bureau asking for another's polygons gets only those it co-handles.
  if (f.lead_bureau) add((n) => `c.lead_bureau = $${n}`, f.lead_bureau);
  if (f.overdue === 'true') where.push(OVERDUE);
  if (f.overdue === 'false') where.push(NOT_OVERDUE);
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
  const byConfidence = f.sort === 'confidence';
  const byDue = f.sort === 'due';
  let afterDue: { rank: number; due: string; code: string } | null = null;
  if (f.cursor && byDue) {
    const k = decodeDueCursor(f.cursor);
    params.push(k.due, k.code);
    afterDue = { rank: k.rank, due: `$${params.length - 1}`, code: `$${params.length}` };
  }
  if (f.cursor && !byConfidence && !byDue) add((n) => `c.code > $${n}`, decodeCursor(f.cursor));
  // By confidence, the page is walked from the work items in that order, after the cursor's
  // confidence and code (pageByConfidence).
  let after: { conf: string; code: string } | null = null;
  if (f.cursor && byConfidence) {
    const k = decodeConfidenceCursor(f.cursor);
    params.push(k.confidence, k.code);
    after = { conf: `$${params.length - 1}::float8`, code: `$${params.length}` };
  }
  params.push(f.limit);
  const lim = `$${params.length}`;
  params.push(JSON.stringify(names));
  const namesParam = `$${params.length}::jsonb`;
  const asList = f.view === 'list';
  const properties = (asList ? listPropertySql : propertySql)((alias) => scopePredicate(user, params, alias), daysOverdueSql(deadlines, params));
  const page = byConfidence
    ? pageByConfidence(where.join(' AND '), epochParam, after, lim)
    : byDue
      ? pageByDue(where.join(' AND '), afterDue, lim)
      : `SELECT c.* FROM cases c WHERE ${where.join(' AND ')} ORDER BY c.code LIMIT ${lim} + 1`;
  const order = byConfidence ? 'c.sort_confidence DESC, c.code' : byDue ? 'c.due_rank, c.due_day, c.code' : 'c.code';
  const key = byConfidence ? `c.sort_confidence::text || '|' || c.code` : byDue ? `c.due_rank::text || '|' || c.due_day::text || '|' || c.code` : 'c.code';
  // Paging follows the cases: one row past the page says whether there is more. A case whose
  // polygon a batch re-run dropped (no geometry: its card still opens) is left out of the features
  // but still moves the cursor, so no page ends early.
  const r = await q.query<{ features: string; n: number; last: string | null; total: number }>(
    `WITH page AS MATERIALIZED (
       ${page}
     ), rows AS (
       SELECT c.code, ${key} AS key, row_number() OVER (ORDER BY ${order}) AS rn, w.geom IS NOT NULL AS drawn,
              '{"type":"Feature","id":' || to_json(c.code)::text || ',"geometry":' || ${asList ? `'null'` : 'ST_AsGeoJSON(w.geom, 7)'} || ',"properties":'
              || (SELECT row_to_json(p) FROM (SELECT ${properties}, coalesce(${namesParam} ->> c.lead_bureau, c.lead_bureau) AS lead_bureau_name) p)::text
              || '}' AS f
       FROM page c LEFT JOIN LATERAL (SELECT * FROM work_items w WHERE w.code = c.code LIMIT 1) w ON true ${URGED_SQL}
     )
     SELECT coalesce(string_agg(f, ',' ORDER BY rn) FILTER (WHERE rn <= ${lim} AND drawn), '') AS features,
            (count(*) FILTER (WHERE rn <= ${lim} AND drawn))::int AS n,
            (array_agg(key ORDER BY rn DESC) FILTER (WHERE rn <= ${lim}))[1] AS last, count(*)::int AS total
     FROM rows`,
    params,
  );
  const { features, n, last, total } = r.rows[0];
  const next = total > f.limit && last ? JSON.stringify(encodeCursor(last)) : 'null';
  return `{"type":"FeatureCollection","features":[${features}],"count":${n},"next_cursor":${next}}`;
}

/** `listPolygonsJson` as an object (scripts and tests; the routes send the text as it is). */
export async function listPolygons(
  q: Queryable,
  user: User,
  f: PolygonFilter,
  today: string,
  names: BureauNames,
  deadlines?: Deadlines,
): Promise<FeatureCollection & { next_cursor: string | null; count: number }> {
  return JSON.parse(await listPolygonsJson(q, user, f, today, names, deadlines)) as FeatureCollection & { next_cursor: string | null; count: number };
}

export async function polygonFeatureByCode(q: Queryable, user: User, code: string, today: string, bureauName: (id: string) => string, deadlines: Deadlines = WEEKDAYS_ONLY): Promise<Feature<Geometry>> {
  const params: unknown[] = [today, code];
  const scope = scopePredicate(user, params);
  const properties = propertySql((alias) => scopePredicate(user, params, alias), daysOverdueSql(deadlines, params));
  const r = await q.query<Row>(
    `SELECT ${properties}, ST_AsGeoJSON(w.geom, 7) AS geometry
     FROM cases c LEFT JOIN LATERAL (SELECT * FROM work_items w WHERE w.code = c.code LIMIT 1) w ON true ${URGED_SQL}
     WHERE c.code = $2 AND ${scope}`,
    params,
  );
  if (r.rows.length === 0) throw new ApiError('POLYGON.NOT_FOUND', code);
  return toFeature(r.rows[0], bureauName);
}

/**
 * Inbox counts within the user's scope: by status, and how many are overdue; and the open cases whose
 * polygon a batch re-run no longer finds (`vanished`: no place in the list, which draws polygons; the
 * lead bureau withdraws them from their cards).
 */
export async function inboxCounts(
  q: Queryable,
  user: User,
  today: string,
  epoch?: string,
  leadBureau?: string,
): Promise<{ by_status: Record<string, number>; overdue: number; review_overdue: number; total: number; geometry_changed: number; vanished: string[] }> {
  const params: unknown[] = [today];
  const where = [scopePredicate(user, params)];
  if (epoch) {
    params.push(epoch);
    where.push(`c.epoch = $${params.length}`);
  }
  // The list's 主办 filter: a bureau's own cases apart from those it co-handles (whose lateness is not its own).
  if (leadBureau) {
    params.push(leadBureau);
    where.push(`c.lead_bureau = $${params.length}`);
  }
  // A case whose polygon a re-run dropped is flagged (geometry_changed) until it is withdrawn, so only
  // the flagged few are looked up in work_items, not every case in scope on every count.
  const r = await q.query<{ status: string; n: number; overdue: number; review_overdue: number; changed: number; vanished: string[] | null }>(
    `SELECT c.status, count(*)::int AS n,
            count(*) FILTER (WHERE ${OVERDUE})::int AS overdue,
            count(*) FILTER (WHERE ${REVIEW_LATE_SQL})::int AS review_overdue,
            count(*) FILTER (WHERE c.geometry_changed)::int AS changed,
            array_agg(c.code) FILTER (WHERE c.geometry_changed AND c.status NOT IN ${SETTLED_SQL}
                                        AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.code = c.code)) AS vanished
     FROM cases c WHERE ${where.join(' AND ')} GROUP BY c.status`,
    params,
  );
  return {
    by_status: Object.fromEntries(r.rows.map((x) => [x.status, x.n])),
    total: r.rows.reduce((a, x) => a + x.n, 0),
    overdue: r.rows.reduce((a, x) => a + x.overdue, 0),
    // Closures past the day the lead bureau should have reviewed them by: its own lateness, not the bureaus'.
    review_overdue: r.rows.reduce((a, x) => a + x.review_overdue, 0),
    geometry_changed: r.rows.reduce((a, x) => a + x.changed, 0),
    vanished: r.rows.flatMap((x) => x.vanished ?? []).sort().slice(0, 200),
  };
}

/**
 * The card's data in one statement (one snapshot, one round trip instead of six): the polygon as a
 * feature, its case (`CASE_COLUMNS`, as `loadCase` returns it), and its history, evidence, parcels,
 * escalations and handovers — or POLYGON.NOT_FOUND when it is missing or outside the user's scope.
 */
export async function polygonCard(q: Queryable, user: User, code: string, today: string, bureauName: (id: string) => string, deadlines: Deadlines = WEEKDAYS_ONLY) {
  const params: unknown[] = [today, code];
  const scope = scopePredicate(user, params);
  // A sighting's row in the history of the case it joined or left names that polygon: only where the
  // caller may see it (a co-handling bureau of the case may not).
  const sightingSeen = scopePredicate(user, params, 's');
  // A construction stage climbed from an earlier polygon (case-store.ts: '往期图斑 <code> 再次出现并扩大
  // (<its m²> → <this m²> m²)') names it, as the batch's 往期图斑编号 does, but gives its area only where
  // the caller may see it (its card): the later polygon may be another bureau's or district's.
  const earlierSeen = scopePredicate(user, params, 'p');
  const properties = propertySql((alias) => scopePredicate(user, params, alias), daysOverdueSql(deadlines, params));
  const r = await q.query<Row & { case: CaseRow; history: unknown[]; evidence: unknown[]; parcels: unknown[]; escalations: unknown[]; handovers: unknown[] }>(
    `SELECT ${properties}, ST_AsGeoJSON(w.geom, 7) AS geometry,
       (SELECT row_to_json(k) FROM (SELECT ${CASE_COLUMNS}) k) AS "case",
       (SELECT coalesce(json_agg(h ORDER BY h.id), '[]'::json) FROM (
          SELECT id::int AS id, at::text AS at, actor, action, before, after FROM audit_log a WHERE a.code = c.code
            AND (a.action NOT IN ('site.seen_again', 'site.separated') OR EXISTS (SELECT 1 FROM cases s WHERE s.code = a.after->>'code' AND ${sightingSeen}))) h) AS history,
       (SELECT coalesce(json_agg(e ORDER BY e.id), '[]'::json) FROM (
          SELECT id::int AS id, file_name, mime, size_bytes, exif, note, uploaded_by, uploaded_at::text AS uploaded_at, sha256 FROM evidence WHERE code = c.code) e) AS evidence,
       (SELECT coalesce(json_agg(x ORDER BY x.idx), '[]'::json) FROM (
          SELECT idx, area_m2, area_mu, verdict, verdict_details, ST_AsGeoJSON(geom, 7)::json AS geometry FROM parcels WHERE code = c.code) x) AS parcels,
       (SELECT coalesce(json_agg(x ORDER BY x.id), '[]'::json) FROM (
          SELECT e.id::int AS id, e.kind, e.rule, e.level, e.due_date::text AS due_date,
                 CASE WHEN e.kind = 'construction_stage' AND e.reason LIKE '往期图斑 %'
                        AND NOT EXISTS (SELECT 1 FROM cases p WHERE p.code = split_part(e.reason, ' ', 2) AND ${earlierSeen})
                      THEN regexp_replace(e.reason, ' \\([0-9]+ → [0-9]+ m²\\)$', '') ELSE e.reason END AS reason,
                 e.created_by, e.created_at::text AS created_at FROM escalations e WHERE e.code = c.code) x) AS escalations,
       (SELECT coalesce(json_agg(x ORDER BY x.id), '[]'::json) FROM (
          SELECT id::int AS id, recipient AS "to", handed_on::text AS handed_on, reference, note, created_by FROM handovers WHERE code = c.code) x) AS handovers
     FROM cases c LEFT JOIN LATERAL (SELECT * FROM work_items w WHERE w.code = c.code LIMIT 1) w ON true ${URGED_SQL}
     WHERE c.code = $2 AND ${scope}`,
    params,
  );
  if (r.rows.length === 0) throw new ApiError('POLYGON.NOT_FOUND', code);
  const { case: c, history, evidence, parcels, escalations, handovers, ...row } = r.rows[0];
  const previous = typeof row.previous_code === 'string' ? await previousCase(q, user, row.previous_code) : null;
  return {
    feature: toFeature(row as Row, bureauName),
    case: c,
    history,
    evidence,
    parcels,
    escalations,
    handovers,
    previous_case: previous,
    sightings: await sightings(q, user, code),
    later_cases: await laterCases(q, user, code),
  };
}

/**
 * The later polygons of this site issued as cases of their own (their 往期图斑编号 is this polygon or
 * one merged into its case; not merged themselves), oldest first, as far as the caller may see them:
 * for a case under 持续监测 (monitoring), the next batch's detection it is re-checked against.
 */
async function laterCases(q: Queryable, user: User, code: string): Promise<{ code: string; epoch: string; status: string; verdict: string | null }[]> {
  const params: unknown[] = [code];
  const scope = scopePredicate(user, params);
  const r = await q.query<{ code: string; epoch: string; status: string; verdict: string | null }>(
    `SELECT c.code, c.epoch, c.status, c.verdict FROM cases c JOIN work_items w ON w.code = c.code
     WHERE (w.previous_code = $1 OR w.previous_code IN (SELECT m.code FROM cases m WHERE m.merged_into = $1))
       AND c.status <> 'merged' AND ${scope}
     ORDER BY c.epoch, c.code`,
    params,
  );
  return r.rows;
}

/**
 * The later polygons of this case's site merged into it (已并入往期: the site seen changing again in
 * later months), oldest first, as far as the caller may see them.
 */
async function sightings(q: Queryable, user: User, code: string): Promise<{ code: string; epoch: string; area_m2: number | null }[]> {
  const params: unknown[] = [code];
  const scope = scopePredicate(user, params);
  const r = await q.query<{ code: string; epoch: string; area_m2: number | null }>(
    `SELECT c.code, c.epoch, (SELECT round(w.area_m2)::float8 FROM work_items w WHERE w.code = c.code LIMIT 1) AS area_m2
     FROM cases c WHERE c.merged_into = $1 AND ${scope} ORDER BY c.epoch, c.code`,
    params,
  );
  return r.rows;
}

/**
 * Where the earlier site of a continuing polygon stands (往期图斑: judged illegal and rectifying, say),
 * so whoever verifies it again knows; null when the caller may not see that case (another bureau's:
 * the same scope as any card) or it has none.
 */
async function previousCase(q: Queryable, user: User, code: string): Promise<PreviousCase | null> {
  const params: unknown[] = [code];
  const scope = scopePredicate(user, params);
  const r = await q.query<PreviousCase & { watch: string | null; recheck_by: string | null }>(
    `SELECT c.code, c.epoch, c.status, c.verdict, c.verdict_details->>'watch' AS watch, c.due_date::text AS recheck_by FROM cases c WHERE c.code = $1 AND ${scope}`,
    params,
  );
  const row = r.rows[0];
  if (!row) return null;
  const { watch, recheck_by, ...prev } = row;
  // Under 持续监测: what its bureau is watching for, and by when it re-checks (this polygon is that re-detection).
  return row.status === 'monitoring' ? { ...prev, monitoring: { watch, recheck_by } } : prev;
}

interface PreviousCase {
  code: string;
  epoch: string;
  status: string;
  verdict: string | null;
  monitoring?: { watch: string | null; recheck_by: string | null };
}
