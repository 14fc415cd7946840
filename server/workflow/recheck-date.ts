/**
 * 持续监测's re-check date per case: the monitoring rule's date unless the bureau handling the case
 * chooses another (a soil heap sooner, a poured foundation later), with the verdict or moved later;
 * from today to the bound set when the case was put under monitoring (rules.ts recheckWindow). The
 * chosen date is the case's due date, so the overdue lists, the sweep, the inbox order, the card and
 * the ledger read it as they read any clock.
 */
import type { Queryable } from '../../pipeline/store/queryable.js';
import { endOfMonth } from '../../pipeline/iso-date.js';
import { DEFAULT_RECHECK_MAX_MONTHS, recheckWindow, type Deadlines } from '../deadlines/rules.js';
import { ApiError } from '../errors.js';
import type { CaseRow } from './case-store.js';

/** The verdict's window for a case put under 持续监测 today, as the page's verdict form offers it. */
export function verdictRecheckWindow(d: Deadlines, today: string): { earliest: string; default: string; latest: string } {
  return { earliest: today, ...recheckWindow(d, today) };
}

/** 400 VALIDATION naming recheck_on and the bound it is outside (`latestWhy` says where the latest comes from). */
export function checkRecheckOn(day: string, today: string, latest: string, latestWhy: string): void {
  const extra = { field: 'recheck_on', earliest: today, latest };
  if (day < today) throw new ApiError('VALIDATION', `recheck_on ${day} is before today (${today}): a re-check is set for a day to come`, extra);
  if (day > latest) throw new ApiError('VALIDATION', `recheck_on ${day} is after ${latest}, the latest re-check (${latestWhy})`, extra);
}

/** Why the latest re-check is what it is, in an error's words. */
export function latestWhy(d: Deadlines, ruleDate: string): string {
  return `the monitoring rule's ${ruleDate} plus recheck_max_months ${d.rules.monitoring.recheck_max_months ?? DEFAULT_RECHECK_MAX_MONTHS} in --deadlines`;
}

/**
 * The latest re-check of a case under 持续监测: the bound recorded by the verdict that put it there
 * (`recheck_latest` in its history), so moving the date day after day does not move the bound; a case
 * put under monitoring before the bound was recorded had the rule's date as its due date, and its
 * first move records the bound worked out from that date (a move's `recheck_latest`), or each move
 * would reckon the bound from the date the one before set.
 */
export async function recheckLatest(q: Queryable, d: Deadlines, c: Pick<CaseRow, 'code' | 'due_date'>): Promise<string | null> {
  const r = await q.query<{ latest: string | null }>(
    `SELECT after->>'recheck_latest' AS latest FROM audit_log WHERE code = $1 AND action IN ('verdict', 'recheck_date') AND after->>'recheck_latest' IS NOT NULL ORDER BY id DESC LIMIT 1`,
    [c.code],
  );
  const latest = r.rows[0]?.latest ?? null;
  if (latest !== null) return latest;
  return c.due_date === null ? null : endOfMonth(c.due_date, d.rules.monitoring.recheck_max_months ?? DEFAULT_RECHECK_MAX_MONTHS);
}
