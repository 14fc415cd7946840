/**
 * One function per workflow action. Each states its rule (which verdicts, which checks) and hands
 * its change to `runAction`, which locks the case, checks actor and state, restarts the deadline
 * clock and writes the audit row in the same transaction.
 */
import type { Database, Queryable } from '../../pipeline/store/queryable.js';
import { can, type User } from '../access/roles.js';
import type { z } from 'zod';
import { FILED_CASE_FACTS, MAX_ESCALATION_LEVEL, RETROACTIVE_FACTS, RETROACTIVE_METHODS, type Clue, type Close, type ConfirmGeometry, type Escalate, type HandOver, type Note, type Reassign, type RecheckDate, type Rectification, type RequestReassignment, type Review, type Separate, type Split, type Urge, type VerdictBody, type Withdraw } from '../../schemas/api.js';
import { applyRule, recheckWindow, type Deadlines } from '../deadlines/rules.js';
import { ApiError } from '../errors.js';
import { addDays } from '../../pipeline/iso-date.js';
import type { CodeMismatch } from '../../pipeline/route/unit-codes.js';
import type { StoredEvidence } from '../evidence/evidence-store.js';
import { checkClueDistrict } from './clue-district.js';
import { checkClueTownship, clueTownship } from './clue-township.js';
import { clueUnit, clueUnitWarnings } from './clue-units.js';
import { issuedOn, lockCarrier, reissueSightings, runAction, type ActionContext, type CaseRow } from './case-store.js';
import { checkRecheckOn, latestWhy, recheckLatest } from './recheck-date.js';

const SQM_PER_MU = 10000 / 15;
/** A clue is one site: even a 百亩大图斑 is 0.07 km²; an outline of a district or a province is a mistake. */
const MAX_CLUE_KM2 = 10;
/**
 * Nor more than this across, east-west or north-south, m: its box, widened by 2 km, opens the imagery
 * to its district (access/imagery-scope.ts), and 10 km² bounds no length (a 30 m wide arm 30 km long
 * is 0.9 km²). A 10 km² site twice as long as wide (4.5 × 2.2 km) fits.
 */
export const MAX_CLUE_SPAN_M = 5000;
/**
 * An outline (a parcel, a clue's) is drawn on the plane (lon/lat) and measured on the globe, where an
 * edge is a great circle: the two agree on a site, not on a ring across the world (its edges bow toward
 * the pole, past its hole: PostGIS `lwgeom_area_spher returned area < 0.0`; an edge 180° long has no
 * one great circle). One spanning this many degrees or more, of longitude or latitude, is not one site
 * (1° is 111 km north-south; a clue is at most 5 km across) and is refused before it is measured.
 */
const MAX_SITE_SPAN_DEG = 1;
const spanOf = (dlon: number, dlat: number) => `spans ${+dlon.toFixed(3)}° of longitude and ${+dlat.toFixed(3)}° of latitude`;

type Verdict = 'legal' | 'illegal' | 'other';

async function parcelsOf(tx: Queryable, code: string): Promise<{ idx: number; verdict: Verdict | null; monitored: boolean }[]> {
  return (
    await tx.query<{ idx: number; verdict: Verdict | null; monitored: boolean }>(
      `SELECT idx, verdict, coalesce(verdict_details->>'situation' = 'continuous_monitoring', false) AS monitored FROM parcels WHERE code = $1 ORDER BY idx`,
      [code],
    )
  ).rows;
}

/**
 * A split polygon's verdict once every parcel has one: illegal if any part is; else, with a part
 * under 持续监测, other (the site stays open: the polygon is monitored, its legal parts wait with
 * it); else legal if any is, else other.
 */
function aggregate(vs: { verdict: Verdict | null; monitored: boolean }[]): Verdict | null {
  if (vs.some((v) => v.verdict === null)) return null;
  if (vs.some((v) => v.verdict === 'illegal')) return 'illegal';
  if (vs.some((v) => v.monitored)) return 'other';
  if (vs.some((v) => v.verdict === 'legal')) return 'legal';
  return 'other';
}

/** 其他 · 持续监测: not judgeable yet (推堆土, 在建而用途不明), so the case is monitored, not closeable. */
const monitors = (body: VerdictBody) => body.verdict === 'other' && body.situation === 'continuous_monitoring';

export const accept = (ctx: ActionContext, user: User, code: string) => runAction(ctx, user, code, 'accept', async () => ({ set: { status: 'accepted' } }));

/**
 * 签收 of each of `codes` in turn, each its own action (one transaction, one audit row), so one
 * refused (not this bureau's, already accepted, unknown) leaves the others accepted.
 */
export async function acceptMany(ctx: ActionContext, user: User, codes: readonly string[]): Promise<{ accepted: string[]; refused: { code: string; error: string; message: string }[] }> {
  const accepted: string[] = [];
  const refused: { code: string; error: string; message: string }[] = [];
  for (const code of codes) {
    try {
      await accept(ctx, user, code);
      accepted.push(code);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      refused.push({ code, error: err.code, message: err.message });
    }
  }
  return { accepted, refused };
}

/**
 * 巡查首次发现时间 is not before the 前时相 (before_date) of the site's first polygon (this one, or the
 * earliest of the 往期图斑编号 chain it continues): the earlier image in which the site showed no change
 * (RESEARCH.md §3.1), or the earliest earlier image its tile was compared with where it had several. A patrol cannot have found the site before it was there; a day before is a
 * mistyped year, which lowered the floor 立案时间, 移送 and 处罚决定日期 are held to (siteKnownSince) and
 * made the ledger's 是否发现不及时 否. A clue has no image and no such floor.
 */
async function checkPatrolFloor(tx: Queryable, code: string, patrol: string): Promise<void> {
  const r = await tx.query<{ code: string; before: string }>(
    `WITH RECURSIVE site(code, previous_code, before_date, depth) AS (
       SELECT code, previous_code, before_date, 0 FROM work_items WHERE code = $1 AND before_date IS NOT NULL
       UNION
       SELECT p.code, p.previous_code, p.before_date, s.depth + 1 FROM site s JOIN polygons p ON p.code = s.previous_code WHERE s.depth < 240
     ), first AS (SELECT code, before_date FROM site ORDER BY before_date, depth DESC LIMIT 1)
     -- The earliest earlier image its tile was compared with, where it had several (the plan's priors its
     -- outcome's comparedWith names; all the batch's where the outcome does not say): the site's pixels
     -- may be an older one's where the latest (before_date) saw nothing there (a cloud, a swath's edge).
     SELECT f.code, least(f.before_date, (
         SELECT min((pr->>'date')::date)
         FROM polygons q JOIN batches b ON b.id = q.batch_id
         LEFT JOIN tiles t ON t.batch_id = q.batch_id AND t.tile_id = q.tile_id
         CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(b.plan->'prior') = 'array' THEN b.plan->'prior' ELSE '[]'::jsonb END) pr
         WHERE q.code = f.code AND pr->>'date' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
           AND (jsonb_typeof(t.info->'outcome'->'comparedWith') IS DISTINCT FROM 'array' OR t.info->'outcome'->'comparedWith' ? (pr->>'id'))
       ))::text AS before
     FROM first f`,
    [code],
  );
  const first = r.rows[0];
  if (first && patrol < first.before) {
    throw new ApiError(
      'VALIDATION',
      `patrol_found_on ${patrol} is before 前时相 ${first.before} of ${first.code}, the earlier image of the site, which showed no change there: a patrol cannot have found the site before it was there (巡查首次发现时间不得早于前时相)`,
      { field: 'patrol_found_on', earliest: first.before },
    );
  }
}

export function recordVerdict(ctx: ActionContext, user: User, code: string, body: VerdictBody) {
  return runAction(ctx, user, code, 'verdict', async (tx, c) => {
    // A patrol's find is a fact already past: a later day is a slip (the page's date field says the same).
    if (body.verdict === 'illegal' && body.patrol_found_on && body.patrol_found_on > ctx.today()) {
      throw new ApiError('VALIDATION', `patrol_found_on ${body.patrol_found_on} is after today (${ctx.today()})`);
    }
    if (body.verdict === 'illegal' && body.patrol_found_on) await checkPatrolFloor(tx, code, body.patrol_found_on);
    // The re-check date is the case's due date, not a verdict detail: moving it later changes no verdict.
    const { verdict, parcel, recheck_on, ...details } = body;
    // 持续监测's re-check: the rule's date, or the bureau's within the window of today (recheck-date.ts).
    const window = recheckWindow(ctx.deadlines, ctx.today());
    if (recheck_on !== undefined) checkRecheckOn(recheck_on, ctx.today(), window.latest, latestWhy(ctx.deadlines, window.default));
    // The day a definitive verdict ended 持续监测: the verification clock of the closure counts from it (case-store.ts resumedDue).
    const left = (status: string) => (c.status === 'monitoring' && status !== 'monitoring' ? { left_monitoring_on: ctx.today() } : {});
    // A verdict that (re)starts the re-check records the bound a later move is held to.
    const recheck = (status: string) =>
      status === 'monitoring' && (monitors(body) || c.status !== 'monitoring') ? { recheck_latest: window.latest, ...(recheck_on ? { recheck_on } : {}) } : {};
    const parcels = await parcelsOf(tx, code);
    if (parcels.length === 0) {
      if (parcel !== undefined) throw new ApiError('PARCEL.NOT_FOUND', `${code} is not split`);
      const status = monitors(body) ? 'monitoring' : 'verified';
      return { set: { status, verdict, verdict_details: details }, detail: { verdict, ...details, ...left(status), ...recheck(status) }, restartClock: monitors(body), dueDate: recheck_on };
    }
    if (parcel === undefined) throw new ApiError('CASE.SPLIT', `${code} has ${parcels.length} parcels; send "parcel": n`);
    if (!parcels.some((p) => p.idx === parcel)) throw new ApiError('PARCEL.NOT_FOUND', `${code} parcel ${parcel}`);
    await tx.query('UPDATE parcels SET verdict = $3, verdict_details = $4::jsonb WHERE code = $1 AND idx = $2', [code, parcel, verdict, JSON.stringify(details)]);
    const judged = parcels.map((p) => (p.idx === parcel ? { verdict, monitored: monitors(body) } : p));
    const all = aggregate(judged);
    // The re-check is the polygon's: set by the verdict that puts it under 持续监测, not kept unused on a parcel.
    if (recheck_on !== undefined && !all) {
      const open = parcels.filter((p) => p.idx !== parcel && p.verdict === null).map((p) => p.idx);
      throw new ApiError('VALIDATION', `recheck_on is the polygon's re-check: give it with the verdict that puts ${code} under 持续监测 (parcel ${open.join(', ')} not judged yet), or move it then`, { field: 'recheck_on' });
    }
    // Until every parcel is judged the polygon stays under verification.
    if (!all) return { set: { status: c.status }, detail: { parcel, verdict, ...details } };
    const status = all !== 'illegal' && judged.some((p) => p.monitored) ? 'monitoring' : 'verified';
    // A parcel judged illegal makes the polygon illegal, not monitored: a date given now would be dropped unsaid.
    if (recheck_on !== undefined && status !== 'monitoring') {
      const illegal = judged.flatMap((p, i) => (p.verdict === 'illegal' ? [parcels[i].idx] : []));
      throw new ApiError('VALIDATION', `recheck_on is the polygon's re-check, and this verdict does not put ${code} under 持续监测: parcel ${illegal.join(', ')} is judged illegal, so the polygon is`, { field: 'recheck_on' });
    }
    return {
      set: { status, verdict: all, verdict_details: { parcels: true } },
      detail: { parcel, verdict, ...details, ...left(status), ...recheck(status) },
      restartClock: status === 'monitoring' && monitors(body),
      dueDate: status === 'monitoring' ? recheck_on : undefined,
    };
  });
}

export function split(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Split>) {
  return runAction(ctx, user, code, 'split', async (tx) => {
    const parts = JSON.stringify(body.parcels);
    // Tolerance: half a square metre, or a millionth of the polygon, for rounding of drawn vertices.
    const r = await tx.query<{ ord: number; valid: boolean; dlon: number; dlat: number; outside_m2: number; area_m2: number; tol: number; overlap: number | null }>(
      `WITH poly AS (SELECT geom FROM work_items WHERE code = $1),
       drawn AS (
         SELECT t.ord::int AS ord, ST_SetSRID(ST_GeomFromGeoJSON(t.g), 4326) AS geom
         FROM jsonb_array_elements_text(
           (SELECT jsonb_agg(x::text) FROM jsonb_array_elements($2::jsonb) AS x)
         ) WITH ORDINALITY AS t(g, ord)
       ),
       -- Measured on the globe only when valid and one site across (MAX_SITE_SPAN_DEG): else an area
       -- may be an error (a hole outside its shell, on the plane or on the globe).
       parts AS (
         SELECT d.*, v.valid, v.dlon, v.dlat, v.valid AND v.dlon < $3 AND v.dlat < $3 AS ok
         FROM drawn d, LATERAL (SELECT ST_IsValid(d.geom) AS valid, (ST_XMax(d.geom) - ST_XMin(d.geom))::float8 AS dlon, (ST_YMax(d.geom) - ST_YMin(d.geom))::float8 AS dlat) v
       )
       SELECT p.ord, p.valid, p.dlon, p.dlat,
              CASE WHEN p.ok THEN coalesce(ST_Area(ST_Difference(p.geom, poly.geom)::geography), 0) ELSE 0 END AS outside_m2,
              CASE WHEN p.ok THEN ST_Area(p.geom::geography) ELSE 0 END AS area_m2,
              greatest(0.5, ST_Area(poly.geom::geography) * 1e-6) AS tol,
              (SELECT max(ST_Area(ST_Intersection(p.geom, q.geom)::geography)) FROM parts q
                WHERE q.ord > p.ord AND q.ok AND p.ok AND ST_Intersects(p.geom, q.geom)) AS overlap
       FROM parts p, poly ORDER BY p.ord`,
      [code, parts, MAX_SITE_SPAN_DEG],
    );
    if (r.rows.length === 0) throw new ApiError('SPLIT.INVALID_GEOMETRY', `${code} has no polygon to split`);
    for (const p of r.rows) {
      if (!p.valid) throw new ApiError('SPLIT.INVALID_GEOMETRY', `parcel ${p.ord}`);
      if (p.dlon >= MAX_SITE_SPAN_DEG || p.dlat >= MAX_SITE_SPAN_DEG) throw new ApiError('SPLIT.INVALID_GEOMETRY', `parcel ${p.ord} ${spanOf(p.dlon, p.dlat)}: a parcel is part of ${code}, draw it on it`);
      if (p.area_m2 <= 0) throw new ApiError('SPLIT.INVALID_GEOMETRY', `parcel ${p.ord} has no area`);
      if (p.outside_m2 > p.tol) throw new ApiError('SPLIT.OUTSIDE', `parcel ${p.ord}: ${p.outside_m2.toFixed(1)} m² outside ${code}`, { parcel: p.ord, outside_m2: p.outside_m2 });
      if ((p.overlap ?? 0) > p.tol) throw new ApiError('SPLIT.OVERLAP', `parcel ${p.ord} overlaps a later parcel by ${p.overlap!.toFixed(1)} m²`);
    }
    await tx.query('DELETE FROM parcels WHERE code = $1', [code]);
    const ins = await tx.query<{ idx: number; area_m2: number; area_mu: number }>(
      `INSERT INTO parcels (code, idx, geom, area_m2, area_mu)
       SELECT $1, t.ord::int, g, ST_Area(g::geography), ST_Area(g::geography) / $3
       FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(x, ord), LATERAL (SELECT ST_SetSRID(ST_GeomFromGeoJSON(t.x::text), 4326) AS g) s
       RETURNING idx, area_m2, area_mu`,
      [code, parts, SQM_PER_MU],
    );
    const parcels = ins.rows.sort((a, b) => a.idx - b.idx).map((p) => ({ idx: p.idx, area_m2: Math.round(p.area_m2 * 100) / 100, area_mu: Math.round(p.area_mu * 1e4) / 1e4 }));
    return { detail: { parcels }, result: parcels };
  });
}

/**
 * 拆除复耕面积 (and 补办手续面积) may exceed the monitored area (the outline is traced on 10 m pixels, the ground is
 * measured), not by half again: more is a figure in the wrong unit, with a digit too many, or of
 * another site. The site is the case's polygon and the later polygons merged into it (it grew).
 */
const RESTORED_AREA_MAX_SHARE = 1.5;

/** The monitored area of a case's site in m², or null where there is no outline to measure (a clue reported as a point). */
async function siteAreaM2(tx: Queryable, code: string): Promise<number | null> {
  const r = await tx.query<{ m2: number | null }>(
    `SELECT sum(area_m2)::float8 AS m2 FROM (
       SELECT area_m2 FROM work_items WHERE code = $1 OR code IN (SELECT code FROM cases WHERE merged_into = $1)
       UNION ALL
       SELECT area_m2 FROM polygons_gone WHERE code = $1 AND NOT EXISTS (SELECT 1 FROM work_items WHERE code = $1)
     ) s`,
    [code],
  );
  const m2 = r.rows[0]?.m2 ?? null;
  return m2 !== null && m2 > 0 ? m2 : null;
}

/**
 * The first day anything was known of a case's site, and what made it known: the earliest of the day
 * the polygon was issued, the local patrol first found it (巡查首次发现时间: a patrol's find may be filed,
 * or handed over, before the imagery's polygon arrives) and a clue was reported (a call of the 30th
 * registered on the 2nd). A case filed or handed over, or a penalty decided, before then is a mistyped year.
 */
async function siteKnownSince(tx: Queryable, c: CaseRow): Promise<[string, string]> {
  const patrol = c.verdict_details?.patrol_found_on;
  const reported = (await tx.query<{ d: string }>('SELECT reported_on::text AS d FROM clues WHERE code = $1', [c.code])).rows[0]?.d;
  const floors: [string, string][] = [[c.issued_on, 'the case was issued'], [typeof patrol === 'string' ? patrol : '', 'the patrol first found the site'], [reported ?? '', 'the clue was reported']];
  return floors.filter(([d]) => d !== '').reduce((a, b) => (b[0] < a[0] ? b : a));
}

/** The case facts a rectification records, checked against the calendar, the case and the site (the body's schema checks their form). */
async function checkCaseFacts(tx: Queryable, ctx: ActionContext, c: CaseRow, body: z.infer<typeof Rectification>, rect: Record<string, unknown>): Promise<void> {
  if (body.case_filed_on != null) {
    if (body.case_filed_on > ctx.today()) throw new ApiError('VALIDATION', `case_filed_on ${body.case_filed_on} is after today (${ctx.today()}): record the filing once it is done`);
    const [earliest, what] = await siteKnownSince(tx, c);
    if (body.case_filed_on < earliest) {
      throw new ApiError('VALIDATION', `case_filed_on ${body.case_filed_on} is before ${what} (${earliest})`);
    }
  }
  // A penalty decided on a day to come starts its 30-day 纪委 case-file clock late (or never): recorded once made.
  if (body.penalty_decided_on != null && body.penalty_decided_on > ctx.today()) {
    throw new ApiError('VALIDATION', `penalty_decided_on ${body.penalty_decided_on} is after today (${ctx.today()}): record the penalty decision once it is made`, { field: 'penalty_decided_on' });
  }
  // Nor before anything was known of the site, where no 立案时间 bounds it below (checked after it
  // below): a mistyped year started the 纪委 clock overdue.
  if (body.penalty_decided_on != null && typeof rect.case_filed_on !== 'string') {
    const [earliest, what] = await siteKnownSince(tx, c);
    if (body.penalty_decided_on < earliest) {
      throw new ApiError('VALIDATION', `penalty_decided_on ${body.penalty_decided_on} is before ${what} (${earliest})`, { field: 'penalty_decided_on' });
    }
  }
  // 立案 → 调查 → 处罚决定: a decision before the filing is a slip in one of the two days.
  if ((body.case_filed_on != null || body.penalty_decided_on != null) && typeof rect.case_filed_on === 'string' && typeof rect.penalty_decided_on === 'string' && rect.penalty_decided_on < rect.case_filed_on) {
    throw new ApiError('VALIDATION', `penalty_decided_on ${rect.penalty_decided_on} is before case_filed_on ${rect.case_filed_on}: a penalty is decided on a filed case`);
  }
  // 其中耕地 is a part of the approved area: checked against the area recorded with it (this body's or an earlier one's).
  if (body.retroactive_farmland_m2 != null || body.retroactive_area_m2 != null) {
    const farmland = rect.retroactive_farmland_m2, approved = rect.retroactive_area_m2;
    if (typeof farmland === 'number' && typeof approved === 'number' && farmland > approved) {
      throw new ApiError('VALIDATION', `retroactive_farmland_m2 ${farmland} m² is more than retroactive_area_m2 ${approved} m²: the cultivated land (其中耕地) is part of the approved area`, { field: 'retroactive_farmland_m2' });
    }
  }
  // The site's area, measured once for the bounds below.
  let measured: number | null | undefined;
  const siteM2 = async () => (measured === undefined ? (measured = await siteAreaM2(tx, c.code)) : measured);
  for (const key of ['restored_area_m2', 'retroactive_area_m2', 'retroactive_farmland_m2'] as const) {
    const m2 = body[key];
    if (m2 == null) continue;
    const site = await siteM2();
    if (site !== null && m2 > site * RESTORED_AREA_MAX_SHARE) {
      throw new ApiError(
        'VALIDATION',
        `${key} ${m2} m² is more than ${RESTORED_AREA_MAX_SHARE} × the site's ${Math.round(site)} m² (${(site / SQM_PER_MU).toFixed(2)} 亩): give the area in m² (1 亩 = 666.67 m²)`,
        { field: key, max_m2: Math.floor(site * RESTORED_AREA_MAX_SHARE * 100) / 100 },
      );
    }
  }
  // 拆补组合: part of the site demolished, part approved after the fact; the two parts are of one site,
  // so together they have the bound each has alone. Checked against the figures as recorded (this
  // body's or an earlier one's), when either is given or the method becomes 拆补组合.
  const restored = rect.restored_area_m2, approved = rect.retroactive_area_m2;
  const touched = body.restored_area_m2 != null || body.retroactive_area_m2 != null || c.rectification?.method !== 'combined';
  if (body.method === 'combined' && touched && typeof restored === 'number' && typeof approved === 'number') {
    const site = await siteM2();
    const sum = restored + approved;
    if (site !== null && sum > site * RESTORED_AREA_MAX_SHARE) {
      throw new ApiError(
        'VALIDATION',
        `restored_area_m2 ${restored} m² + retroactive_area_m2 ${approved} m² = ${Math.round(sum * 100) / 100} m² is more than ${RESTORED_AREA_MAX_SHARE} × the site's ${Math.round(site)} m² (${(site / SQM_PER_MU).toFixed(2)} 亩): under 拆补组合 the demolished and the approved parts are parts of one site`,
        { fields: ['restored_area_m2', 'retroactive_area_m2'], max_m2: Math.floor(site * RESTORED_AREA_MAX_SHARE * 100) / 100 },
      );
    }
  }
}

/** A handover of the case to the discipline commission dated on or after its recorded penalty decision (what meets the penalty_files clock). */
export async function filesHandedOver(tx: Queryable, c: CaseRow): Promise<boolean> {
  const r = await tx.query(`SELECT 1 FROM handovers WHERE code = $1 AND recipient = 'discipline' AND handed_on >= $2::date LIMIT 1`, [c.code, c.rectification?.penalty_decided_on ?? null]);
  return r.rows.length > 0;
}

export function rectify(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Rectification>) {
  return runAction(ctx, user, code, 'rectification', async (tx, c) => {
    if (c.verdict !== 'illegal') throw new ApiError('CASE.VERDICT_MISMATCH', `${code} is judged ${c.verdict ?? 'not yet'}; only illegal findings are rectified`);
    const { violation_nature, files_clock_correction: correction, ...report } = body;
    const rect: Record<string, unknown> = { ...(c.rectification ?? {}), ...report, updated_on: ctx.today() };
    // A field sent as null is cleared (the page sends it when the user empties a figure it showed): left
    // out, it is kept, and the report said 已提交 with the mistaken fine or area still on the case.
    for (const [key, value] of Object.entries(rect)) if (value === null) delete rect[key];
    // Progress reported after a refused closure (销号退回) is the bureau's answer to it.
    delete rect.sent_back;
    // A case filed after all (立案) no longer carries the reason it was not; one not filed after all
    // (不予立案) no longer carries a filed case's day, penalty amount or court enforcement.
    if (body.case_filed === true) delete rect.not_filed_reason;
    if (body.case_filed === false) for (const key of FILED_CASE_FACTS) delete rect[key];
    // A method without 补办手续 (the bureau turned to demolition) no longer carries an approval's number or areas.
    if (!RETROACTIVE_METHODS.includes(body.method)) for (const key of RETROACTIVE_FACTS) delete rect[key];
    await checkCaseFacts(tx, ctx, c, body, rect);
    // Jinan (seeds/000 item 9): when the parties include a party member or public official, the case
    // files go to the discipline commission within 30 days of the penalty decision; the sweep
    // escalates the case once that day passes with no handover to the commission recorded.
    if (rect.party_official === true && typeof rect.penalty_decided_on === 'string') {
      rect.files_due = applyRule(ctx.deadlines.rules.penalty_files, rect.penalty_decided_on, ctx.deadlines.calendar);
    } else delete rect.files_due;
    // The case files' day passed with no handover to the commission: the sweep escalates it, and a report
    // that drops the clock (the decision's day cleared, 党员/公职人员 unticked) would end it silently. Handed
    // over, the handover is recorded first (POST …/hand-over); ticked or dated by mistake, the report says
    // why (files_clock_correction), kept in the history with the day it dropped. The sweep's escalation
    // already recorded stays: the history is not rewritten.
    const due = c.rectification?.files_due;
    // Re-dating the decision moves the day as surely as clearing it drops it: either ends the passed clock
    // (the decision's day compared, not the due day, which a rule or calendar changed since may move).
    const moved = rect.files_due === undefined || rect.penalty_decided_on !== c.rectification?.penalty_decided_on;
    const dropsPassedClock = typeof due === 'string' && due < ctx.today() && moved && !(await filesHandedOver(tx, c));
    if (dropsPassedClock && correction === undefined) {
      throw new ApiError(
        'CASE.BAD_STATE',
        `${code}: the case files of the penalty decided on ${String(c.rectification?.penalty_decided_on)} were due at the discipline commission on ${due}; before clearing penalty_decided_on or party_official: if the files were handed over, record the handover (移交纪委) first; if party_official or penalty_decided_on was a mistake, give the reason in files_clock_correction`,
        { field: 'penalty_decided_on', files_due: due },
      );
    }
    if (!dropsPassedClock && correction !== undefined) {
      throw new ApiError('VALIDATION', `files_clock_correction goes with a report that drops a case-file clock (files_due) already passed with no handover to the discipline commission; ${code}'s report drops none`, { field: 'files_clock_correction' });
    }
    const detail = dropsPassedClock ? { ...body, files_due_dropped: due } : body;
    // 违法性质 is found while the case is handled (立案调查): kept with the verdict it qualifies, where the
    // verdict would have put it (a split polygon's case's own value stands over its parcels').
    if (violation_nature === undefined) return { set: { status: 'rectifying', rectification: rect }, detail };
    const { violation_nature: _was, ...details } = c.verdict_details ?? {};
    return { set: { status: 'rectifying', rectification: rect, verdict_details: violation_nature === null ? details : { ...details, violation_nature } }, detail };
  });
}

export function close(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Close>) {
  return runAction(ctx, user, code, 'close', async (_tx, c) => {
    if (c.status === 'verified' && c.verdict === 'illegal') throw new ApiError('CASE.VERDICT_MISMATCH', `${code} is illegal: report rectification first`);
    if (c.status === 'rectifying' && Number((c.rectification ?? {}).progress ?? 0) < 100) {
      throw new ApiError('CASE.BAD_STATE', `${code}: rectification at ${Number((c.rectification ?? {}).progress ?? 0)}%, close needs 100%`);
    }
    // 销号 of a violation needs 是否整改落实到位=是 and, once a case is filed (立案), 是否处罚到位=是
    // (shared/domain/state_machine.yaml, RECTIFIED → CLOSED_CANCELLED): a closure that says otherwise is refused.
    if (c.verdict === 'illegal' && body.rectified === false) throw new ApiError('CASE.BAD_STATE', `${code}: the closure says the rectification is not complete (是否整改落实到位=否)`);
    if (c.verdict === 'illegal' && body.penalty_done === false && (c.rectification ?? {}).case_filed === true) {
      throw new ApiError('CASE.BAD_STATE', `${code}: a filed case (立案) is closed once the penalty is carried out (是否处罚到位=否)`);
    }
    const { sent_back: _answered, ...rect } = c.rectification ?? {};
    return { set: { status: 'closed', rectification: { ...rect, closure: { ...body, closed_on: ctx.today() } } }, detail: body };
  });
}

/**
 * 持续监测: the bureau handling the case moves its re-check (recorded with the old and new dates), from
 * today to the bound recorded when the case was put under monitoring. Not once it is late: the
 * re-check is then recorded (持续监测 again sets the next), not put off after the fact.
 */
export function moveRecheck(ctx: ActionContext, user: User, code: string, body: z.infer<typeof RecheckDate>) {
  return runAction(ctx, user, code, 'recheck_date', async (tx, c) => {
    if (c.due_date !== null && c.due_date < ctx.today()) {
      throw new ApiError('CASE.BAD_STATE', `${code}'s re-check was due ${c.due_date}: record the re-check (a verdict; 持续监测 again sets the next), a late one is not moved`, { status: c.status, due_date: c.due_date });
    }
    const latest = (await recheckLatest(tx, ctx.deadlines, c)) ?? body.recheck_on;
    checkRecheckOn(body.recheck_on, ctx.today(), latest, 'recorded when the case was put under 持续监测: the monitoring rule\'s date plus recheck_max_months');
    return { detail: { recheck_from: c.due_date, recheck_on: body.recheck_on, reason: body.reason, recheck_latest: latest }, dueDate: body.recheck_on, result: { recheck_from: c.due_date, recheck_on: body.recheck_on } };
  });
}

/**
 * The day a case left 持续监测 other than by a verdict (asked to be reassigned, reassigned): its
 * verification clock counts from that day, as after a definitive verdict (case-store.ts resumedDue).
 */
const leftMonitoring = (ctx: ActionContext, c: CaseRow) => (c.status === 'monitoring' ? { left_monitoring_on: ctx.today() } : {});

/** From monitoring the 持续监测 verdict stays while the lead bureau decides: it shows what the bureau judged. */
export const requestReassignment = (ctx: ActionContext, user: User, code: string, body: z.infer<typeof RequestReassignment>) =>
  runAction(ctx, user, code, 'request_reassignment', async (_tx, c) => ({ set: { status: 'reassignment_requested' }, detail: { ...body, ...leftMonitoring(ctx, c) } }));

/**
 * Issued to the new bureau as a case not judged yet, as an accepted case is: the old bureau's verdict
 * (a 持续监测 one, from monitoring) and its parcels' verdicts are cleared (the history keeps them), so
 * the new bureau's own verdict decides the site and no parcel is counted judged by a bureau that was
 * not the site's. The clock is verification: from the issue day, or from the day the case left
 * 持续监测 (not months late at once).
 */
export function reassign(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Reassign>) {
  return runAction(ctx, user, code, 'reassign', async (tx, c) => {
    const co = (body.co_bureaus ?? c.co_bureaus).filter((b) => b !== body.lead_bureau);
    await tx.query('UPDATE parcels SET verdict = NULL, verdict_details = NULL WHERE code = $1 AND (verdict IS NOT NULL OR verdict_details IS NOT NULL)', [code]);
    // The site's later polygons merged into this case move with it: the new bureau handles the site.
    await tx.query(
      `WITH old AS (SELECT code, lead_bureau FROM cases WHERE merged_into = $1 AND lead_bureau <> $2
       ), moved AS (
         UPDATE cases m SET lead_bureau = $2, version = m.version + 1, updated_at = now() FROM old WHERE m.code = old.code RETURNING m.code, old.lead_bureau
       ) INSERT INTO audit_log (actor, action, code, before, after)
         SELECT $3, 'reassign', code, jsonb_build_object('lead_bureau', lead_bureau), jsonb_build_object('lead_bureau', $2::text, 'with', $1::text) FROM moved`,
      [code, body.lead_bureau, user.name],
    );
    return {
      set: { status: 'issued', lead_bureau: body.lead_bureau, co_bureaus: [...new Set(co)], verdict: null, verdict_details: null },
      detail: { reason: body.reason, ...leftMonitoring(ctx, c) },
    };
  });
}

export function review(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Review>) {
  return runAction(ctx, user, code, 'review', async (_tx, c) => {
    // A refused closure goes back to where it came from: rectification for illegal findings, else the verdict.
    if (body.approve) return { set: { status: 'reviewed' }, detail: body };
    // The refused closure no longer stands (its 是否整改到位/是否处罚到位 are what the lead bureau just
    // refused; the close row of the history keeps it): the ledger says 否 and why until the bureau answers.
    const { closure: _refused, ...rect } = c.rectification ?? {};
    const status = c.verdict === 'illegal' ? 'rectifying' : 'verified';
    return { set: { status, rectification: { ...rect, sent_back: { on: ctx.today(), comment: body.comment ?? null } } }, detail: body };
  });
}

export function escalate(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Escalate>) {
  return runAction(ctx, user, code, 'escalate', async (tx, c) => {
    // One above the case's, at most the top (the form's 1–5): a case at 5 escalated again stays at 5, recorded.
    const level = body.level ?? Math.min(MAX_ESCALATION_LEVEL, c.escalation_level + 1);
    const handover = applyRule(ctx.deadlines.rules.handover, ctx.today(), ctx.deadlines.calendar);
    const r = await tx.query<{ id: number }>(
      `INSERT INTO escalations (code, kind, rule, level, due_date, reason, created_by) VALUES ($1, 'manual', 'handover', $2, $3::date, $4, $5) RETURNING id::int AS id`,
      [code, level, handover, body.reason, user.name],
    );
    return { set: { escalation_level: Math.max(level, c.escalation_level) }, detail: { ...body, level, handover_due: handover, escalation_id: r.rows[0].id }, result: { id: r.rows[0].id, level, handover_due: handover } };
  });
}

/** 移送: the case went to the discipline commission or the police, on a day from its issue to today. */
export function handOver(ctx: ActionContext, user: User, code: string, body: z.infer<typeof HandOver>) {
  return runAction(ctx, user, code, 'hand_over', async (tx, c) => {
    const on = body.handed_on ?? ctx.today();
    if (on > ctx.today()) throw new ApiError('VALIDATION', `handed_on ${on} is after today (${ctx.today()}): record a handover once it is done`);
    // A mistyped year (2025 for 2026) is no handover of this case: it was not there to hand over. It was
    // there from the first day it was known (a patrol's find, a clue's report may precede the issue).
    const [earliest, what] = await siteKnownSince(tx, c);
    if (on < earliest) throw new ApiError('VALIDATION', `handed_on ${on} is before ${what} (${earliest})`);
    const r = await tx.query<{ id: number }>(
      'INSERT INTO handovers (code, recipient, handed_on, reference, note, created_by) VALUES ($1, $2, $3::date, $4, $5, $6) RETURNING id::int AS id',
      [code, body.to, on, body.reference ?? null, body.note ?? null, user.name],
    );
    return { detail: { ...body, handed_on: on, handover_id: r.rows[0].id }, result: { id: r.rows[0].id, to: body.to, handed_on: on } };
  });
}

/** 督办: recorded in the case's history (action `urge`: comment, respond_by); the case itself does not change. */
export function urge(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Urge>) {
  return runAction(ctx, user, code, 'urge', async () => {
    if (body.respond_by && body.respond_by < ctx.today()) throw new ApiError('VALIDATION', `respond_by ${body.respond_by} is before today (${ctx.today()})`);
    return { detail: { comment: body.comment, respond_by: body.respond_by ?? null, urged_on: ctx.today() }, result: { urged_on: ctx.today(), respond_by: body.respond_by ?? null } };
  });
}

export const addNote = (ctx: ActionContext, user: User, code: string, body: z.infer<typeof Note>) => runAction(ctx, user, code, 'note', async () => ({ detail: body }));

export function confirmGeometry(ctx: ActionContext, user: User, code: string, body: z.infer<typeof ConfirmGeometry>) {
  return runAction(ctx, user, code, 'confirm_geometry', async (tx, c) => {
    if (!c.geometry_changed) throw new ApiError('CASE.GEOMETRY_UNCHANGED', `${code}'s outline has not changed since it was last confirmed`);
    const h = await tx.query<{ h: string }>('SELECT md5(ST_AsBinary(geom)) AS h FROM work_items WHERE code = $1', [code]);
    if (h.rows.length === 0) throw new ApiError('CASE.BAD_STATE', `${code} is in no batch any more; nothing to confirm`);
    return { set: { geometry_changed: false, geom_hash: h.rows[0].h }, detail: body };
  });
}

/** 图形灭失: the lead bureau withdraws a case whose polygon no batch holds any more (a re-run dropped it). */
export function withdraw(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Withdraw>) {
  return runAction(ctx, user, code, 'withdraw', async (tx) => {
    const held = await tx.query<{ batch_id: string | null }>('SELECT batch_id FROM work_items WHERE code = $1 LIMIT 1', [code]);
    if (held.rows.length > 0) throw new ApiError('CASE.BAD_STATE', `${code} is still a polygon of batch ${held.rows[0].batch_id ?? '(clue)'}; only a case whose polygon vanished is withdrawn`);
    // Nobody judged the site the polygons merged into this case continue: each is issued on its own.
    const reissued = await reissueSightings(tx, ctx.deadlines, code, ctx.today());
    return { set: { status: 'vanished', geometry_changed: false }, detail: reissued > 0 ? { ...body, reissued } : body };
  });
}

/**
 * A polygon merged into an earlier site's case that is another site after all (a neighbour's new
 * building beside it, say): issued as its own case that day, its verification clock starting then
 * (issuedOn); the case it had joined records that it left. That row is the lead bureau's work on
 * the carrier (a touch: the withdrawal pass keeps it and flags it), so the carrier is locked too,
 * before the sighting (lockCarrier): a pass judging it meanwhile waits for the row.
 */
export function separate(ctx: ActionContext, user: User, code: string, body: z.infer<typeof Separate>) {
  return runAction(
    ctx,
    user,
    code,
    'separate',
    async (tx, c) => {
      await tx.query(`INSERT INTO audit_log (actor, action, code, before, after) VALUES ($1, 'site.separated', $2, NULL, $3::jsonb)`, [
        user.name,
        c.merged_into,
        JSON.stringify({ code, reason: body.reason }),
      ]);
      return { set: { status: 'issued', merged_into: null, issued_on: issuedOn(c.issued_on, ctx.today()) }, detail: body };
    },
    lockCarrier,
  );
}

export function attachEvidence(ctx: ActionContext, user: User, code: string, file: StoredEvidence, name: string, note: string | undefined) {
  return runAction(ctx, user, code, 'evidence', async (tx) => {
    const r = await tx.query<{ id: number }>(
      `INSERT INTO evidence (code, sha256, file_name, mime, size_bytes, exif, note, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) RETURNING id::int AS id`,
      [code, file.sha256, name, file.mime, file.size, file.exif ? JSON.stringify(file.exif) : null, note ?? null, user.name],
    );
    const row = { id: r.rows[0].id, file_name: name, mime: file.mime, size_bytes: file.size, sha256: file.sha256, exif: file.exif };
    return { detail: { evidence: row }, result: row };
  });
}

/**
 * A clue from patrol, a public report or the hotline: a point or polygon that enters the same
 * workflow as a satellite polygon (a case, issued, on the verification clock). Code:
 * `<district>-<YYYYMM>-X<serial>`, so it never collides with a batch serial. `warnings`: its township's
 * or village's code not under the unit above it (clue-units.ts), as a batch's report says for a polygon;
 * `mismatches`: the same, one each, as the units.
 */
export async function addClue(db: Database, deadlines: Deadlines, user: User, body: z.infer<typeof Clue>, today: string): Promise<{ code: CaseRow['code']; warnings: string[]; mismatches: CodeMismatch[] }> {
  if (!can(user, 'clue.add')) throw new ApiError('AUTH.FORBIDDEN', 'clues are added by bureau and district users');
  if (user.role === 'district' && body.district_code !== user.district) throw new ApiError('CLUE.OUT_OF_SCOPE', `${body.district_code} is not ${user.district}`);
  const lead = user.role === 'bureau' ? user.bureau! : (body.lead_bureau ?? 'natural_resources');
  const reported = body.reported_on ?? today;
  // The month a clue enters is the ledger it lands in: last month's is still being compiled (it is
  // due on the 5th), older ones have been reported, and a future day is a typo or a forgery.
  const earliest = `${addDays(`${today.slice(0, 7)}-01`, -1).slice(0, 7)}-01`;
  if (reported > today || reported < earliest) throw new ApiError('CLUE.BAD_DATE', `reported_on ${reported} is outside ${earliest} … ${today}`);
  const epoch = reported.slice(0, 7);
  const due = applyRule(deadlines.rules.verification, today, deadlines.calendar);
  return db.transaction(async (tx) => {
    const geom = JSON.stringify(body.geometry);
    // Across: the box's width along its middle latitude, its height along its middle meridian, on the spheroid.
    // Measured on the globe only when valid and one site across (MAX_SITE_SPAN_DEG): else the area may be an error.
    const v = await tx.query<{ valid: boolean; dlon: number; dlat: number; km2: number; east_west_m: number; north_south_m: number }>(
      `SELECT valid, dlon, dlat,
              CASE WHEN GeometryType(g) = 'POLYGON' AND valid AND dlon < $2 AND dlat < $2 THEN ST_Area(g::geography) / 1e6 ELSE 0 END AS km2,
              ST_Distance(ST_MakePoint(ST_XMin(g), (ST_YMin(g) + ST_YMax(g)) / 2)::geography, ST_MakePoint(ST_XMax(g), (ST_YMin(g) + ST_YMax(g)) / 2)::geography)::float8 AS east_west_m,
              ST_Distance(ST_MakePoint((ST_XMin(g) + ST_XMax(g)) / 2, ST_YMin(g))::geography, ST_MakePoint((ST_XMin(g) + ST_XMax(g)) / 2, ST_YMax(g))::geography)::float8 AS north_south_m
       FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g) s,
            LATERAL (SELECT ST_IsValid(g) AS valid, (ST_XMax(g) - ST_XMin(g))::float8 AS dlon, (ST_YMax(g) - ST_YMin(g))::float8 AS dlat) d`,
      [geom, MAX_SITE_SPAN_DEG],
    );
    const { valid, dlon, dlat, km2, east_west_m, north_south_m } = v.rows[0];
    if (!valid) throw new ApiError('VALIDATION', 'the clue geometry is not valid');
    if (dlon >= MAX_SITE_SPAN_DEG || dlat >= MAX_SITE_SPAN_DEG) throw new ApiError('CLUE.TOO_LARGE', `the outline ${spanOf(dlon, dlat)}: one site is at most ${MAX_CLUE_SPAN_M / 1000} km across`);
    if (km2 > MAX_CLUE_KM2) throw new ApiError('CLUE.TOO_LARGE', `the outline covers ${km2.toPrecision(3)} km²`);
    const across = east_west_m >= north_south_m ? { m: east_west_m, way: 'east-west' } : { m: north_south_m, way: 'north-south' };
    if (across.m > MAX_CLUE_SPAN_M) {
      throw new ApiError('CLUE.TOO_LARGE', `the outline is ${(across.m / 1000).toFixed(1)} km ${across.way}, more than ${MAX_CLUE_SPAN_M / 1000} km across`);
    }
    // A district is one of the district layer a batch stored or routed polygons to (with its name from
    // that layer) or a district user's own; the name is the layer's, so a clue cannot rename a district
    // in the ledger.
    const known = await tx.query<{ name: string | null; user_district: boolean }>(
      `SELECT coalesce((SELECT nullif(name, '') FROM districts WHERE code = $1), (SELECT district_name FROM polygons WHERE district_code = $1 LIMIT 1)) AS name,
              EXISTS (SELECT 1 FROM users WHERE district = $1) AS user_district`,
      [body.district_code],
    );
    const layerName = known.rows[0].name;
    if (layerName === null && !known.rows[0].user_district) throw new ApiError('CLUE.UNKNOWN_DISTRICT', `district ${body.district_code}`);
    if (layerName !== null && body.district_name !== undefined && body.district_name !== layerName) {
      throw new ApiError('VALIDATION', `district ${body.district_code} is ${layerName}, not ${body.district_name}`);
    }
    // Its 乡镇/街道, as a polygon's: a township's own account registers clues in its township only.
    const township = await clueTownship(tx, geom);
    await checkClueTownship(tx, user, township);
    // And its 村/社区 likewise (no account is scoped by it).
    const village = await clueUnit(tx, 'villages', geom);
    // Where the district's outline is stored, the clue lies in it: its ledger and imagery follow the place.
    await checkClueDistrict(tx, geom, body.district_code);
    // Serialise clue numbering per district and month.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`clue:${body.district_code}:${epoch}`]);
    const prefix = `${body.district_code}-${epoch.replace('-', '')}-X`;
    const s = await tx.query<{ n: number }>(`SELECT coalesce(max(substr(code, length($1) + 1)::int), 0)::int AS n FROM clues WHERE code LIKE $1 || '%'`, [prefix]);
    const code = `${prefix}${String(s.rows[0].n + 1).padStart(4, '0')}`;
    const districtName = layerName ?? body.district_name ?? body.district_code;
    await tx.query(
      `INSERT INTO clues (code, epoch, source, geom, area_m2, district_code, district_name, lead_bureau, description, reported_by, reported_on, township_code, township_name, village_code, village_name)
       SELECT $1, $2, $3, g, CASE WHEN GeometryType(g) = 'POLYGON' THEN ST_Area(g::geography) ELSE 0 END, $5, $6, $7, $8, $9, $10::date, $11, $12, $13, $14
       FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($4), 4326) AS g) s`,
      [code, epoch, body.source, geom, body.district_code, districtName, lead, body.description, user.name, reported, township?.code ?? null, township?.name ?? null, village?.code ?? null, village?.name ?? null],
    );
    await tx.query(
      `INSERT INTO cases (code, epoch, source, lead_bureau, co_bureaus, district_code, township_code, issued_on, due_rule, due_date, geom_hash)
       SELECT code, epoch, source, lead_bureau, co_bureaus, district_code, township_code, $2::date, 'verification', $3::date, md5(ST_AsBinary(geom)) FROM clues WHERE code = $1`,
      [code, today, due],
    );
    await tx.query(`INSERT INTO audit_log (actor, action, code, before, after) VALUES ($1, 'clue.add', $2, NULL, $3::jsonb)`, [
      user.name,
      code,
      JSON.stringify({ ...body, lead_bureau: lead, township_code: township?.code ?? null, village_code: village?.code ?? null, status: 'issued', due_date: due }),
    ]);
    return { code, ...clueUnitWarnings(code, { code: body.district_code, name: districtName }, township, village) };
  });
}
