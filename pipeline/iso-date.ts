/** Calendar arithmetic on yyyy-mm-dd dates, for ledger deadlines and the triage server's working-day clocks. */

/**
 * The last day of the month of a yyyy-mm-dd date, or of the month `monthsAfter` later: the default
 * verification clock (月清: a polygon issued in a month is verified within it), which the batch's
 * ledger and the triage server share; a city whose rule is "within the month after issue" sets 1.
 */
export function endOfMonth(isoDate: string, monthsAfter = 0): string {
  const m = /^(\d{4})-(\d{2})-\d{2}$/.exec(isoDate);
  if (!m) throw new Error(`expected a yyyy-mm-dd date, got '${isoDate}'`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) + monthsAfter, 0)).toISOString().slice(0, 10);
}

/** yyyy-mm-dd plus `days` calendar days (UTC, so no DST shifts). */
export function addDays(isoDate: string, days: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) throw new Error(`expected a yyyy-mm-dd date, got '${isoDate}'`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * The civil date in China Standard Time (UTC+8, no DST): the users' calendar, so "today" for what is
 * overdue is the same for the server and the CLI whatever time zone the machine is set to.
 */
export function chinaDate(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}

/** SQL for the civil date in China of the timestamptz expression `ts`, whatever the session's time zone (`chinaDate` in SQL). */
export const chinaDateSql = (ts: string): string => `(${ts} AT TIME ZONE 'Asia/Shanghai')::date`;
