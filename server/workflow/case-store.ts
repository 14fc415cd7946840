/**
 * Cases: the workflow state of each polygon or clue, keyed by its code. All SQL of the workflow
 * lives here. Every read is limited by the user's scope predicate; every change runs in one
 * transaction with its audit row, after locking the case row (so two clicks cannot both pass a
 * state check).
 */
import { chinaDateSql } from '../../pipeline/iso-date.js';
import type { Database, Queryable } from '../../pipeline/store/queryable.js';
import { can, scopePredicate, type User } from '../access/roles.js';
import type { DeadlineRuleId, Deadlines } from '../deadlines/rules.js';
import { applyRule, dueFor } from '../deadlines/rules.js';
import { MAX_ESCALATION_LEVEL } from '../../schemas/api.js';
import { ApiError } from '../errors.js';
import { retriedTransaction } from './retried-transaction.js';
import { ACTIONS, allowedFrom, NOT_LATE_SQL, type ActionName } from './state-machine.js';

export interface CaseRow {
  code: string;
  epoch: string;
  source: string;
  status: string;
  lead_bureau: string;
  co_bureaus: string[];
  district_code: string;
  verdict: 'legal' | 'illegal' | 'other' | null;
  verdict_details: Record<string, unknown> | null;
  rectification: Record<string, unknown> | null;
  issued_on: string;
  due_date: string | null;
  due_rule: string | null;
  geom_hash: string;
  geometry_changed: boolean;
  escalation_level: number;
  /** The open case that carries this polygon's site (status merged), else null. */
  merged_into: string | null;
  version: number;
  updated_at: string;
}

/** A case row as `loadCase` returns it (also the card's `case`, server/workflow/polygon-queries.ts). */
export const CASE_COLUMNS = `c.code, c.epoch, c.source, c.status, c.lead_bureau, c.co_bureaus, c.district_code, c.verdict, c.verdict_details,
  c.rectification, c.issued_on::text AS issued_on, c.due_date::text AS due_date, c.due_rule, c.geom_hash, c.geometry_changed,
  c.escalation_level, c.merged_into, c.version, c.updated_at::text AS updated_at`;

/** Issue date of a work item: its batch's finish (or creation) date in China (not the session's time zone: a batch done at 01:00 CST on the 1st is that month's); a clue's report date. */
const ISSUED_ON = `coalesce(w.reported_on, (SELECT ${chinaDateSql('coalesce(b.finished_at, b.created_at)')} FROM batches b WHERE b.id = w.batch_id))`;

/**
 * The open case that carries the site a polygon continues (往期图斑), or NULL: the earlier polygon's
 * case, or the case that one was merged into, while the site is still being verified or its
 * violation rectified (issued, accepted, asked to be reassigned; judged illegal, rectifying) and its
 * bureau (lead bureau and district) is the polygon's own. Construction going on at such a site is
 * that case's progression (DOMAIN.md: "growth of a known site is recorded as progression"), not a
 * second verification of one place every month. A site already judged legal or other, or whose case
 * is closed (awaiting review), reviewed or withdrawn, is issued again: changing once more after the
 * judgement is news, a new violation or work beyond an approval, which no one would otherwise verify
 * (a closure reviewed after the sighting merged would settle it unseen). So is one at a site under
 * 持续监测 (monitoring): it is the re-detection the monitored case waits for (state_machine.yaml
 * CONTINUOUS_MONITORING → ISSUED via 往期图斑编号), verified on its own, and each card names the other
 * (polygon-queries.ts previous_case, later_cases). So is a polygon routed to
 * another bureau or district, say one grown into a forest: its own bureau has not seen it yet. A
 * polygon the batch routes as it routed the earlier one joins the case even where the lead bureau
 * reassigned that case since (the site is the new bureau's: the merged case takes its lead bureau),
 * instead of going back, every month, to the bureau it was taken from.
 */
// The carrying case is looked up by its key alone, and judged in the select list: with the tests in
// the WHERE clause the planner, which has no statistics yet on a new month's cases, walked every open
// case of the polygon's district for each polygon (162 s instead of 5 for 100 000 polygons).
const CARRIER_SQL = `(SELECT CASE WHEN (r.status IN ('issued', 'accepted', 'reassignment_requested', 'rectifying') OR r.status = 'verified' AND r.verdict = 'illegal')
         AND r.district_code = w.district_code
         AND (r.lead_bureau = w.lead_bureau OR EXISTS (SELECT 1 FROM polygons pp WHERE pp.code = w.previous_code AND pp.lead_bureau = w.lead_bureau))
       THEN r.code END
  FROM cases r WHERE r.code = (SELECT coalesce(p.merged_into, p.code) FROM cases p WHERE p.code = w.previous_code))`;

/**
 * Give every polygon and clue without a case its case — status issued, the verification clock from
 * its issue date; or merged into the open case that carries its site (CARRIER_SQL), with a
 * `site.seen_again` row in that case's history — and flag cases whose polygon geometry changed
 * under a batch re-run: flagged for review, never reset (verdicts and history stay). Idempotent.
 *
 * `since` (a database timestamp from an earlier run's `watermark`) limits the work to rows loaded
 * since then — a batch re-run reinserts its polygons, so their load time moves — instead of hashing
 * every geometry on every run. `today` (the China civil date) is the issue day of a merged polygon
 * issued on its own because the case it joined was withdrawn (reissueSightings).
 */
export async function syncCases(db: Database, deadlines: Deadlines, since: string | null, today: string): Promise<{ created: number; merged: number; flagged: number; watermark: string }> {
  return retriedTransaction(db, async (tx) => {
    const watermark = (await tx.query<{ t: string }>(`SELECT to_json(now()) #>> '{}' AS t`)).rows[0].t;
    const recent = since ? `w.loaded_at >= $SINCE::timestamptz` : 'TRUE';
    const bind = (sql: string, params: unknown[]) => {
      if (!since) return { sql, params };
      params.push(since);
      return { sql: sql.replaceAll('$SINCE', `$${params.length}`), params };
    };
    const d = bind(
      `SELECT ${ISSUED_ON}::text AS d, w.epoch FROM work_items w WHERE ${recent} AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.code = w.code) GROUP BY 1, 2`,
      [],
    );
    const pending = await tx.query<{ d: string; epoch: string }>(d.sql, d.params);
    let created = 0;
    let merged = 0;
    if (pending.rows.length > 0) {
      const due = Object.fromEntries(pending.rows.map((r) => [r.d, applyRule(deadlines.rules.verification, r.d, deadlines.calendar)]));
      // Month by month, so a site seen in two new months joins the case the first of them opened.
      for (const epoch of [...new Set(pending.rows.map((r) => r.epoch))].sort()) {
        const q = bind(
          `WITH fresh AS (
             SELECT w.code, w.epoch, w.source, w.lead_bureau, w.co_bureaus, w.district_code, w.township_code, w.area_m2, ${ISSUED_ON} AS issued_on,
                    md5(ST_AsBinary(w.geom)) AS geom_hash, ${CARRIER_SQL} AS carrier
             FROM work_items w WHERE w.epoch = $2 AND ${recent} AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.code = w.code)
           ), ins AS (
             INSERT INTO cases (code, epoch, source, lead_bureau, co_bureaus, district_code, township_code, issued_on, due_rule, due_date, geom_hash, status, merged_into)
             SELECT code, epoch, source, coalesce((SELECT r.lead_bureau FROM cases r WHERE r.code = fresh.carrier), lead_bureau), co_bureaus, district_code, township_code, issued_on,
                    CASE WHEN carrier IS NULL THEN 'verification' END,
                    CASE WHEN carrier IS NULL THEN ($1::jsonb ->> issued_on::text)::date END,
                    geom_hash, CASE WHEN carrier IS NULL THEN 'issued' ELSE 'merged' END, carrier
             FROM fresh
             ON CONFLICT (code) DO NOTHING
             RETURNING code, merged_into, lead_bureau
           ), carried AS (
             UPDATE cases c SET version = c.version + 1, updated_at = now()
             FROM (SELECT DISTINCT merged_into FROM ins WHERE merged_into IS NOT NULL) m WHERE c.code = m.merged_into
             RETURNING c.code
           ), audit AS (
             INSERT INTO audit_log (actor, action, code, before, after)
             SELECT 'system', 'merge', i.code, NULL::jsonb,
                    jsonb_build_object('merged_into', i.merged_into)
                    || CASE WHEN i.lead_bureau <> f.lead_bureau THEN jsonb_build_object('lead_bureau', i.lead_bureau, 'routed_to', f.lead_bureau) ELSE '{}'::jsonb END
             FROM ins i JOIN fresh f ON f.code = i.code WHERE i.merged_into IS NOT NULL
             UNION ALL
             SELECT 'system', 'site.seen_again', i.merged_into, NULL, jsonb_build_object('code', i.code, 'epoch', f.epoch, 'area_m2', round(f.area_m2::numeric))
             FROM ins i JOIN fresh f ON f.code = i.code WHERE i.merged_into IS NOT NULL
           ) SELECT count(*)::int AS n, count(merged_into)::int AS merged FROM ins`,
          [JSON.stringify(due), epoch],
        );
        const r = (await tx.query<{ n: number; merged: number }>(q.sql, q.params)).rows[0];
        created += r.n;
        merged += r.merged;
      }
      // The embedded database has no autovacuum to refresh the planner's statistics: after a batch's
      // cases arrive, it would still count the table as near empty and sort a whole month for each
      // inbox page instead of walking its index (100 000 cases: 120 ms a page against under 1).
      if (created >= 1000) await tx.query('ANALYZE cases');
    }
    const f = bind(
      // A merged polygon has no verdict of its own to confirm again: its outline is taken as it comes.
      `WITH old AS (
         SELECT c.code, c.geom_hash AS old_hash, md5(ST_AsBinary(w.geom)) AS new_hash, c.status = 'merged' AS taken
         FROM cases c JOIN work_items w ON w.code = c.code
         WHERE ${recent} AND NOT c.geometry_changed AND md5(ST_AsBinary(w.geom)) <> c.geom_hash
       ), changed AS (
         UPDATE cases c SET geometry_changed = NOT old.taken, geom_hash = CASE WHEN old.taken THEN old.new_hash ELSE c.geom_hash END,
                version = c.version + 1, updated_at = now()
         -- Rechecked on the row as it is once locked (PostgreSQL re-reads a row another session changed
         -- meanwhile): another pass that flagged it first, or a separate, is not done twice or undone.
         FROM old WHERE c.code = old.code AND NOT c.geometry_changed AND c.geom_hash = old.old_hash AND (c.status = 'merged') = old.taken
         RETURNING c.code, old.old_hash, old.new_hash, old.taken
       ), audit AS (
         INSERT INTO audit_log (actor, action, code, before, after)
         SELECT 'system', 'geometry.changed', code, jsonb_build_object('geom_hash', old_hash), jsonb_build_object('geom_hash', new_hash, 'geometry_changed', NOT taken)
         FROM changed
       ) SELECT count(*) FILTER (WHERE NOT taken)::int AS n FROM changed`,
      [],
    );
    let flagged = (await tx.query<{ n: number }>(f.sql, f.params)).rows[0].n;
    // The township is the place's, not the workflow's: a re-run that places the polygon in another
    // township (a township layer given to the month's batch only now) moves the case to that
    // township's account without touching its version, state or history. A clue keeps the township
    // it was registered in (workflow/clue-township.ts).
    const t = bind(
      `UPDATE cases c SET township_code = w.township_code FROM work_items w
       WHERE w.code = c.code AND w.source = 'satellite' AND ${recent} AND c.township_code IS DISTINCT FROM w.township_code`,
      [],
    );
    await tx.query(t.sql, t.params);
    if (!since) {
      // A re-run that no longer finds a polygon leaves its case without geometry. Nobody had touched
      // it (still issued, no one's note, evidence or action): withdrawn at once (图形灭失), so no
      // bureau is asked to verify a polygon that is gone. Otherwise flagged, so the lead bureau sees
      // it and withdraws it or confirms again (`withdraw`); its verdict and history stay.
      // Locked first, in code order, and judged untouched after (the next statement's snapshot): a
      // note or evidence is added under the case's lock (runAction), and a separation's row under its
      // carrier's (lockCarrier), so one committed while this pass waited is seen, and none can be
      // committed between the judgement and the withdrawal.
      const lost = `NOT c.geometry_changed AND c.status <> 'vanished' AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.code = c.code)`;
      const locked = (await tx.query<{ code: string }>(`SELECT c.code FROM cases c WHERE ${lost} ORDER BY c.code FOR UPDATE OF c`)).rows.map((r) => r.code);
      const g = await tx.query<{ n: number }>(
        `WITH lost AS (
           SELECT c.code, c.geom_hash, c.status,
                  c.status = 'merged'
                  OR c.status = 'issued' AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.code = c.code AND a.actor <> 'system')
                                         AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.code = c.code) AS untouched
           FROM cases c
           WHERE c.code = ANY($1::text[]) AND ${lost} -- again: a batch re-run may have brought its polygon back
         ), gone AS (
           UPDATE cases c SET geometry_changed = NOT l.untouched,
                  status = CASE WHEN l.untouched THEN 'vanished' ELSE c.status END,
                  merged_into = CASE WHEN l.untouched THEN NULL ELSE c.merged_into END,
                  due_rule = CASE WHEN l.untouched THEN NULL ELSE c.due_rule END,
                  due_date = CASE WHEN l.untouched THEN NULL ELSE c.due_date END,
                  version = c.version + 1, updated_at = now()
           FROM lost l WHERE c.code = l.code
           RETURNING c.code, l.geom_hash, l.untouched
         ), audit AS (
           INSERT INTO audit_log (actor, action, code, before, after)
           SELECT 'system', 'polygon.vanished', code, jsonb_build_object('geom_hash', geom_hash),
                  CASE WHEN untouched THEN jsonb_build_object('status', 'vanished') ELSE jsonb_build_object('geometry_changed', true) END
           FROM gone
         ) SELECT count(*)::int AS n FROM gone`,
        [locked],
      );
      flagged += g.rows[0].n;
      await reissueSightings(tx, deadlines, null, today);
    }
    return { created, merged, flagged, watermark };
  });
}

/**
 * The sightings merged into a case that was withdrawn (图形灭失: the re-run of its month dropped its
 * polygon, so nobody judged the site), or into `carrier` as it is being withdrawn, each issued as
 * its own case on the verification clock from `today` (issuedOn: a merged polygon asked nothing of
 * anyone, so its month's clock, long past after a month's end, would make it overdue the day it is
 * issued). Returns how many.
 */
export async function reissueSightings(tx: Queryable, deadlines: Deadlines, carrier: string | null, today: string): Promise<number> {
  const params: unknown[] = [];
  const which = carrier === null ? `c.merged_into IN (SELECT code FROM cases WHERE status = 'vanished')` : `c.merged_into = $${params.push(carrier)}`;
  const rows = (await tx.query<{ code: string; issued_on: string }>(`SELECT c.code, c.issued_on::text AS issued_on FROM cases c WHERE c.status = 'merged' AND ${which}`, params)).rows;
  if (rows.length === 0) return 0;
  const issued = Object.fromEntries(rows.map((r) => [r.code, issuedOn(r.issued_on, today)]));
  const due = Object.fromEntries(Object.values(issued).map((d) => [d, applyRule(deadlines.rules.verification, d, deadlines.calendar)]));
  const r = await tx.query<{ n: number }>(
    `WITH old AS (SELECT code, merged_into, issued_on FROM cases WHERE code = ANY($2::text[])
     ), upd AS (
       UPDATE cases c SET status = 'issued', merged_into = NULL, issued_on = ($3::jsonb ->> c.code)::date, due_rule = 'verification',
              due_date = ($1::jsonb ->> ($3::jsonb ->> c.code))::date, version = c.version + 1, updated_at = now()
       -- Rechecked once the row is locked: a sighting the lead bureau separated meanwhile is issued already.
       FROM old WHERE c.code = old.code AND c.status = 'merged' AND c.merged_into = old.merged_into
       RETURNING c.code, old.merged_into, old.issued_on AS old_issued_on, c.issued_on, c.due_date
     ), audit AS (
       INSERT INTO audit_log (actor, action, code, before, after)
       SELECT 'system', 'reissue', code, jsonb_build_object('status', 'merged', 'merged_into', merged_into, 'issued_on', old_issued_on),
              jsonb_build_object('status', 'issued', 'issued_on', issued_on, 'due_rule', 'verification', 'due_date', due_date)
       FROM upd
     ) SELECT count(*)::int AS n FROM upd`,
    [JSON.stringify(due), rows.map((r) => r.code), JSON.stringify(issued)],
  );
  return r.rows[0].n;
}

/**
 * The day a merged polygon is issued on its own (separated, or its case withdrawn): today, the
 * start of its verification clock; never before its batch's own issue date.
 */
export function issuedOn(batchIssuedOn: string, today: string): string {
  return today > batchIssuedOn ? today : batchIssuedOn;
}

/** A case visible to `user`, or POLYGON.NOT_FOUND (missing and forbidden look the same). */
export async function loadCase(q: Queryable, user: User, code: string, forUpdate = false): Promise<CaseRow> {
  const params: unknown[] = [code];
  const scope = scopePredicate(user, params);
  const r = await q.query<CaseRow>(`SELECT ${CASE_COLUMNS} FROM cases c WHERE c.code = $1 AND ${scope}${forUpdate ? ' FOR UPDATE' : ''}`, params);
  if (r.rows.length === 0) throw new ApiError('POLYGON.NOT_FOUND', code);
  return r.rows[0];
}

/** Whether `user` may run `action` on a case it can see (visibility is already settled by the scope). */
/** 409 CASE.BAD_STATE unless `action` may run in the case's state (state-machine.ts). */
export function assertAllowed(action: ActionName, c: CaseRow): void {
  if (!allowedFrom(action, c.status)) {
    throw new ApiError('CASE.BAD_STATE', `${c.code} is ${c.status}; ${action} needs ${ACTIONS[action].from.join(' or ')}`, { status: c.status, action });
  }
}

export function assertActor(user: User, action: ActionName, c: CaseRow): void {
  const actor = ACTIONS[action].actor;
  if (actor === 'oversee') {
    if (!can(user, 'case.oversee')) throw new ApiError('AUTH.FORBIDDEN', `${action} is for the lead bureau (role lead)`);
  } else if (actor === 'lead_bureau') {
    if (!can(user, 'case.handle')) throw new ApiError('AUTH.FORBIDDEN', `${action} is for the bureau handling the polygon`);
    if (user.bureau !== c.lead_bureau) throw new ApiError('CASE.NOT_LEAD', `${c.code} is led by ${c.lead_bureau}; co-handlers add notes and evidence`);
  } else {
    const handles = can(user, 'case.contribute') && (user.role === 'lead' || user.bureau === c.lead_bureau || c.co_bureaus.includes(user.bureau ?? ''));
    if (!handles) throw new ApiError('AUTH.FORBIDDEN', `${action} is for the lead or co-handling bureaus`);
  }
}

export interface ActionContext {
  db: Database;
  deadlines: Deadlines;
  today: () => string;
  /**
   * The case version the caller's card showed (the request's If-Match): set, the action runs only on
   * that version, so a page loaded before a colleague's verdict cannot silently overwrite it.
   */
  expectedVersion?: number;
}

/**
 * 409 CASE.STALE unless the case is still at the version the caller saw, naming the last change's
 * author and action (notes and evidence add to the case without changing its version) among the
 * rows the card's history shows `user`: a sighting merged into the case, or separated from it, is
 * named only where the caller may see that polygon (polygon-queries.ts `polygonCard`), so a
 * co-handling bureau is not told here what its card leaves out.
 */
async function assertVersion(tx: Queryable, user: User, c: CaseRow, expected: number | undefined): Promise<void> {
  if (expected === undefined || c.version === expected) return;
  const params: unknown[] = [c.code];
  const sightingSeen = scopePredicate(user, params, 's');
  const last = await tx.query<{ actor: string; action: string }>(
    `SELECT actor, action FROM audit_log a WHERE a.code = $1 AND (a.before IS NULL OR a.before <> '{}'::jsonb)
       AND (a.action NOT IN ('site.seen_again', 'site.separated') OR EXISTS (SELECT 1 FROM cases s WHERE s.code = a.after->>'code' AND ${sightingSeen}))
     ORDER BY a.id DESC LIMIT 1`,
    params,
  );
  const by = last.rows[0];
  throw new ApiError('CASE.STALE', `${c.code} is at version ${c.version}, not ${expected}${by ? ` (last changed by ${by.actor}: ${by.action})` : ''}`, {
    version: c.version,
    changed_by: by?.actor ?? null,
    changed_action: by?.action ?? null,
  });
}

export interface ActionOutcome {
  /** Columns to set on the case (status included); empty: the state does not change. */
  set?: Partial<Pick<CaseRow, 'status' | 'issued_on' | 'lead_bureau' | 'co_bureaus' | 'verdict' | 'verdict_details' | 'rectification' | 'geometry_changed' | 'geom_hash' | 'escalation_level' | 'merged_into'>>;
  /** What the audit row records beyond the changed columns (the action's input, ids of new rows). */
  detail?: Record<string, unknown>;
  result?: unknown;
  /** The state's clock starts again today though its rule is the same: a 持续监测 re-check that still cannot judge sets the next re-check. */
  restartClock?: boolean;
  /** The due date of the state's clock, chosen instead of its rule's: a 持续监测 re-check the bureau set (recheck-date.ts). */
  dueDate?: string;
}

const SETTABLE = ['status', 'issued_on', 'lead_bureau', 'co_bureaus', 'verdict', 'verdict_details', 'rectification', 'geometry_changed', 'geom_hash', 'escalation_level', 'merged_into', 'due_date', 'due_rule'] as const;
const JSON_COLUMNS = new Set(['co_bureaus', 'verdict_details', 'rectification']);

/**
 * The due date of a clock the case (re)enters. A clock keeps the origin it had the first time: the
 * verification clock counts from the day the case was issued, and any other from the day the case
 * first entered it (its first due date, in the audit log). So a verdict flipped away and back
 * (illegal → other → illegal) does not restart the 15 working days of rectification or clear an
 * overdue case, and leaving the rectification clock does not reopen a month already past.
 */
async function resumedDue(tx: Queryable, d: Deadlines, c: CaseRow, next: { rule: DeadlineRuleId; due: string }): Promise<string> {
  // 持续监测: each time the bureau records that it still cannot judge, the re-check is the next one.
  if (next.rule === 'monitoring') return next.due;
  if (next.rule === 'verification') {
    // Judged out of monitoring (合法/其他: to be closed): the month's clearance counts from that day,
    // not from an issue day months back, which would make the case overdue the day it is judged. So
    // does a refused closure of such a case (the last day it left monitoring).
    if (c.status === 'monitoring') return next.due;
    // Left by a definitive verdict, or by a request for reassignment or a reassignment (actions.ts).
    const left = await tx.query<{ day: string | null }>(
      `SELECT max(after->>'left_monitoring_on') AS day FROM audit_log WHERE code = $1 AND action IN ('verdict', 'request_reassignment', 'reassign')`,
      [c.code],
    );
    const from = left.rows[0]?.day ?? null;
    return applyRule(d.rules.verification, from !== null && from > c.issued_on ? from : c.issued_on, d.calendar);
  }
  const first = await tx.query<{ due: string }>(
    `SELECT after->>'due_date' AS due FROM audit_log WHERE code = $1 AND after->>'due_rule' = $2 AND after->>'due_date' IS NOT NULL ORDER BY id LIMIT 1`,
    [c.code, next.rule],
  );
  return first.rows[0]?.due ?? next.due;
}

/**
 * Lock the case the sighting `code` is merged into (if any) before the sighting itself: the carrier
 * first, as every transaction takes the two (retried-transaction.ts). An action that writes to the
 * carrier's history (a separation) so holds it, and the withdrawal pass, which locks the carrier
 * before judging it untouched, sees that row or withdraws the carrier first. Read unlocked: a
 * sighting's carrier never changes, only goes (reissued or separated: the sighting is then issued,
 * and the action's state check refuses it).
 */
export async function lockCarrier(tx: Queryable, code: string): Promise<void> {
  await tx.query(`SELECT r.code FROM cases r WHERE r.code = (SELECT s.merged_into FROM cases s WHERE s.code = $1) FOR UPDATE OF r`, [code]);
}

/**
 * Run one workflow action: lock the case (scoped), check the actor and the state, let `apply` decide
 * the change (and write its own rows in `tx`), move the deadline to the state's clock when its rule
 * changes (resumedDue), update the case, append the audit row. All or nothing; run again, checks
 * and all, when the database fails it to end a deadlock (retried-transaction.ts). `lockFirst` takes
 * a lock the lock order puts before the case's (lockCarrier).
 */
export async function runAction(
  ctx: ActionContext,
  user: User,
  code: string,
  action: ActionName,
  apply: (tx: Queryable, c: CaseRow) => Promise<ActionOutcome>,
  lockFirst?: (tx: Queryable, code: string) => Promise<void>,
): Promise<{ case: CaseRow; result?: unknown }> {
  return retriedTransaction(ctx.db, async (tx) => {
    if (lockFirst) {
      // Who may act is settled before waiting on another case's lock: a user outside the case's
      // scope gets its 404 at once, and neither holds nor learns from (by the wait) a lock there.
      assertActor(user, action, await loadCase(tx, user, code, false));
      await lockFirst(tx, code);
    }
    const before = await loadCase(tx, user, code, true);
    assertActor(user, action, before);
    await assertVersion(tx, user, before, ctx.expectedVersion);
    assertAllowed(action, before);
    const out = await apply(tx, before);
    const set: Record<string, unknown> = { ...(out.set ?? {}) };
    const status = (set.status as string | undefined) ?? before.status;
    const verdict = set.verdict !== undefined ? (set.verdict as string | null) : before.verdict;
    const next = dueFor(ctx.deadlines, status, verdict, ctx.today());
    if ((next?.rule ?? null) !== before.due_rule || out.restartClock || (next && out.dueDate !== undefined)) {
      set.due_rule = next?.rule ?? null;
      // A case issued anew (a merged polygon separated) counts its verification from that day.
      set.due_date = !next ? null : (out.dueDate ?? (await resumedDue(tx, ctx.deadlines, { ...before, issued_on: (set.issued_on as string | undefined) ?? before.issued_on }, next)));
    }
    const changedBefore: Record<string, unknown> = {};
    const changedAfter: Record<string, unknown> = {};
    const params: unknown[] = [code];
    const assignments: string[] = [];
    for (const k of SETTABLE) {
      if (!(k in set)) continue;
      const v = set[k];
      const old = (before as unknown as Record<string, unknown>)[k];
      if (JSON.stringify(v) === JSON.stringify(old)) continue;
      changedBefore[k] = old;
      changedAfter[k] = v;
      params.push(JSON_COLUMNS.has(k) && v !== null ? JSON.stringify(v) : v);
      assignments.push(`${k} = $${params.length}${JSON_COLUMNS.has(k) ? '::jsonb' : k === 'due_date' || k === 'issued_on' ? '::date' : ''}`);
    }
    let after = before;
    if (assignments.length > 0) {
      const r = await tx.query<CaseRow>(
        `UPDATE cases c SET ${assignments.join(', ')}, version = c.version + 1, updated_at = now() WHERE c.code = $1 RETURNING ${CASE_COLUMNS}`,
        params,
      );
      after = r.rows[0];
    }
    await tx.query(`INSERT INTO audit_log (actor, action, code, before, after) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)`, [
      user.name,
      action,
      code,
      JSON.stringify(changedBefore),
      JSON.stringify({ ...changedAfter, ...(out.detail ?? {}) }),
    ]);
    return { case: after, result: out.result };
  });
}

/**
 * One `overdue` escalation per row of `due` (code, due_rule, due_date, escalation_level; `params` its
 * parameters) not escalated yet, each one level above the last: a case late on two counts in one pass
 * climbs two, as it would in two passes. Raises the case's level and audits each step. The level stops
 * at the top (MAX_ESCALATION_LEVEL, the manual form's 5): a case late again there gets its escalation
 * at the top all the same, its reason saying 已达最高级别…仍逾期 and its history row `at_top_level`, so
 * each deadline it misses is still on record (and the hand-over to the commission still falls due).
 *
 * The cases are locked first, in code order, and read after (the next statement's snapshot): the
 * steps start from the level as committed, so an escalation by hand committed while the sweep waited
 * for the case is climbed from, and each history row says from where to where (a step computed from
 * a level read before the lock said 0 → 1 of a case left at 3).
 */
async function escalateOverdue(tx: Queryable, due: string, params: unknown[]): Promise<number> {
  // Only those not escalated yet: locking every overdue case on every pass would write each row.
  const pending = `SELECT d.* FROM (${due}) d
    WHERE NOT EXISTS (SELECT 1 FROM escalations e WHERE e.code = d.code AND e.kind = 'overdue' AND e.rule = d.due_rule AND e.due_date = d.due_date)`;
  const locked = await tx.query<{ code: string }>(`SELECT c.code FROM cases c WHERE c.code IN (SELECT p.code FROM (${pending}) p) ORDER BY c.code FOR UPDATE OF c`, params);
  if (locked.rows.length === 0) return 0;
  const codes = `$${params.length + 1}::text[]`;
  const r = await tx.query<{ n: number }>(
    `WITH due AS (
       SELECT p.code, p.due_rule, p.due_date, p.escalation_level, p.escalation_level + row_number() OVER (PARTITION BY p.code ORDER BY p.due_rule, p.due_date) AS step
       FROM (${pending}) p WHERE p.code = ANY(${codes})
     ), capped AS (
       -- At the top already: recorded at it, saying the case is still late there.
       SELECT code, due_rule, due_date, least(step, ${MAX_ESCALATION_LEVEL}) AS level, step > ${MAX_ESCALATION_LEVEL} AS at_top,
              CASE WHEN step - 1 = escalation_level THEN escalation_level ELSE least(step - 1, ${MAX_ESCALATION_LEVEL}) END AS was
       FROM due
     ), ins AS (
       INSERT INTO escalations (code, kind, rule, level, due_date, reason, created_by)
       SELECT code, 'overdue', due_rule, level, due_date,
              '期限已过，截止 ' || due_date::text || CASE WHEN at_top THEN '；已达最高级别（${MAX_ESCALATION_LEVEL} 级），仍逾期' ELSE '' END, 'system' FROM capped
       ON CONFLICT DO NOTHING
       RETURNING code, level, rule, due_date
     ), upd AS (
       UPDATE cases c SET escalation_level = i.level, version = c.version + 1, updated_at = now()
       FROM (SELECT code, max(level) AS level FROM ins GROUP BY code) i WHERE c.code = i.code
       RETURNING c.code
     ), audit AS (
       INSERT INTO audit_log (actor, action, code, before, after)
       SELECT 'system', 'escalate.overdue', i.code, jsonb_build_object('escalation_level', x.was),
              jsonb_build_object('escalation_level', i.level, 'rule', i.rule, 'due_date', i.due_date) || CASE WHEN x.at_top THEN jsonb_build_object('at_top_level', true) ELSE '{}'::jsonb END
       FROM ins i JOIN capped x ON x.code = i.code AND x.due_rule = i.rule AND x.due_date = i.due_date ORDER BY i.code, i.level, i.rule, i.due_date
     ) SELECT count(*)::int AS n FROM ins`,
    [...params, locked.rows.map((x) => x.code)],
  );
  return r.rows[0].n;
}

/**
 * Jinan's 纪行衔接 (seeds/000 item 8: "未能按照要求落实整改的…15日内作为问题线索移交市纪委监委"): a
 * violation whose rectification clock ran out (its `overdue` rectification escalation) is due to the
 * discipline commission by the hand-over rule counted from that deadline; each one past that day with
 * no hand-over to the commission recorded, as (code, due) pairs. In any state but withdrawn or merged:
 * a rectification finished late was still not finished in time.
 */
async function rectificationHandoversDue(tx: Queryable, d: Deadlines, today: string): Promise<{ codes: string[]; dues: string[] }> {
  const r = await tx.query<{ code: string; due: string }>(
    `SELECT e.code, max(e.due_date)::text AS due FROM escalations e JOIN cases c ON c.code = e.code
     WHERE e.kind = 'overdue' AND e.rule = 'rectification' AND c.status NOT IN ('vanished', 'merged')
       AND NOT EXISTS (SELECT 1 FROM handovers h WHERE h.code = e.code AND h.recipient = 'discipline')
     GROUP BY e.code ORDER BY e.code`,
  );
  const out = { codes: [] as string[], dues: [] as string[] };
  for (const x of r.rows) {
    const due = applyRule(d.rules.handover, x.due, d.calendar);
    if (due < today) {
      out.codes.push(x.code);
      out.dues.push(due);
    }
  }
  return out;
}

/**
 * Deadline sweep: every open case past its due date, every hand-over decided (escalate) and not
 * recorded as done (hand-over) by its due date, and every violation not rectified in time and not
 * handed to the discipline commission within the hand-over rule's days after (rectificationHandoversDue),
 * gets one `overdue` escalation per (rule, due date) and its escalation level raised; a site seen
 * again, grown, in a later batch climbs Haikou's construction-stage ladder. Idempotent (unique
 * index), so it runs on read as well as on a timer.
 */
export async function sweepDeadlines(db: Database, today: string, deadlines: Deadlines): Promise<{ overdue: number; stage: number }> {
  return retriedTransaction(db, async (tx) => {
    const overdue = await escalateOverdue(
      tx,
      `
         -- Not a closure awaiting review: its clock is the lead bureau's, not the bureau's to be escalated for.
         SELECT code, due_rule, due_date, escalation_level FROM cases
         WHERE due_date < $1::date AND status NOT IN ${NOT_LATE_SQL} AND due_rule IS NOT NULL
         UNION ALL
         -- A hand-over the lead bureau decided (escalate: due in 15 days) and nobody has recorded as
         -- done by then, in any state but withdrawn or merged (an official's part outlives the closure).
         SELECT e.code, 'handover', max(e.due_date), c.escalation_level
         FROM escalations e JOIN cases c ON c.code = e.code
         WHERE e.kind = 'manual' AND e.rule = 'handover' AND e.due_date < $1::date AND c.status NOT IN ('vanished', 'merged')
           AND NOT EXISTS (SELECT 1 FROM handovers h WHERE h.code = e.code AND h.recipient = 'discipline')
         GROUP BY e.code, c.escalation_level
         UNION ALL
         -- The case files of a penalty against a party member or official (rectification.files_due,
         -- 30 days after the decision: actions.ts rectify) not handed to the commission by then.
         SELECT c.code, 'penalty_files', (c.rectification->>'files_due')::date, c.escalation_level
         FROM cases c
         WHERE c.rectification->>'files_due' IS NOT NULL AND (c.rectification->>'files_due')::date < $1::date AND c.status NOT IN ('vanished', 'merged')
           AND NOT EXISTS (SELECT 1 FROM handovers h WHERE h.code = c.code AND h.recipient = 'discipline'
                             AND h.handed_on >= (c.rectification->>'penalty_decided_on')::date)`,
      [today],
    );
    // After the rectification escalations above, so a clock that ran out long ago (a server that was
    // down) gets its hand-over escalation in the same pass.
    const late = await rectificationHandoversDue(tx, deadlines, today);
    const handovers = await escalateOverdue(
      tx,
      `SELECT c.code, 'handover' AS due_rule, x.due AS due_date, c.escalation_level
         FROM unnest($1::text[], $2::date[]) AS x(code, due) JOIN cases c ON c.code = x.code`,
      [late.codes, late.dues],
    );
    // Construction stage (seeds/004): first seen = stage 1 (foundation below ±0); each later batch
    // in which the site reappears larger climbs one stage, up to 5 (above the second floor).
    // Epoch by epoch, so a chain's earlier link is escalated before the later one reads it.
    const epochs = await tx.query<{ epoch: string }>(
      `SELECT DISTINCT w.epoch FROM work_items w JOIN work_items p ON p.code = w.previous_code
       WHERE w.previous_code IS NOT NULL AND w.area_m2 > p.area_m2
         AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.code = w.code AND e.kind = 'construction_stage')
       ORDER BY w.epoch`,
    );
    let stage = 0;
    for (const { epoch } of epochs.rows) {
      const r = await tx.query<{ n: number }>(
        `WITH cand AS (
           SELECT w.code, w.previous_code, w.area_m2, p.area_m2 AS prev_m2,
                  least(${MAX_ESCALATION_LEVEL}, coalesce((SELECT max(e.level) FROM escalations e WHERE e.code = p.code AND e.kind = 'construction_stage'), 1) + 1) AS level
           FROM work_items w JOIN work_items p ON p.code = w.previous_code JOIN cases c ON c.code = w.code
           WHERE w.epoch = $1 AND w.area_m2 > p.area_m2
             AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.code = w.code AND e.kind = 'construction_stage')
         ), ins AS (
           INSERT INTO escalations (code, kind, rule, level, due_date, reason, created_by)
           SELECT code, 'construction_stage', 'haikou_stage', level, NULL,
                  '往期图斑 ' || previous_code || ' 再次出现并扩大 (' || round(prev_m2::numeric) || ' → ' || round(area_m2::numeric) || ' m²)', 'system'
           FROM cand ON CONFLICT DO NOTHING RETURNING code, level
         ), carried AS (
           -- A sighting merged into an open case: the stage is that case's, where its bureau works. The
           -- reason names no polygon: a co-handling bureau of the case may not be one of the
           -- sighting's; the history's site.seen_again row, shown where it may be, says which.
           INSERT INTO escalations (code, kind, rule, level, due_date, reason, created_by)
           SELECT c.merged_into, 'construction_stage', 'haikou_stage', ins.level, NULL,
                  '同一地块后续图斑再次出现并扩大', 'system'
           FROM ins JOIN cand ON cand.code = ins.code JOIN cases c ON c.code = ins.code WHERE c.merged_into IS NOT NULL
           ON CONFLICT DO NOTHING RETURNING code, level
         ), upd AS (
           UPDATE cases c SET escalation_level = greatest(c.escalation_level, e.level), version = c.version + 1, updated_at = now()
           FROM (SELECT code, max(level) AS level FROM (SELECT code, level FROM ins UNION ALL SELECT code, level FROM carried) x GROUP BY code) e
           WHERE c.code = e.code RETURNING c.code
         ), audit AS (
           INSERT INTO audit_log (actor, action, code, before, after)
           SELECT 'system', 'escalate.construction_stage', code, NULL::jsonb, jsonb_build_object('stage', level) FROM ins
           UNION ALL
           SELECT 'system', 'escalate.construction_stage', code, NULL, jsonb_build_object('stage', level) FROM carried
         ) SELECT count(*)::int AS n FROM ins`,
        [epoch],
      );
      stage += r.rows[0].n;
    }
    return { overdue: overdue + handovers, stage };
  });
}
