/** Calendar arithmetic on yyyy-mm-dd dates, for ledger deadlines and the triage server's working-day clocks. */

/**
 * The last day of the month of a yyyy-mm-dd date: the default verification clock (月清: a polygon
 * issued in a month is verified within it), which the batch's ledger and the triage server share.
 */
export function endOfMonth(isoDate: string): string {
  const m = /^(\d{4})-(\d{2})-\d{2}$/.exec(isoDate);
  if (!m) throw new Error(`expected a yyyy-mm-dd date, got '${isoDate}'`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).toISOString().slice(0, 10);
}

/** yyyy-mm-dd plus `days` calendar days (UTC, so no DST shifts). */
export function addDays(isoDate: string, days: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) throw new Error(`expected a yyyy-mm-dd date, got '${isoDate}'`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * Why `value` is not a month `YYYY-MM` (`form` 'month'), a day `YYYY-MM-DD` ('day') or either
 * ('month-or-day'), in words, or null when it is one. A month 13 or a 30 February is out of range,
 * which is what the message says, not that the value is badly formed.
 */
export function calendarProblem(value: string, form: 'month' | 'day' | 'month-or-day'): string | null {
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(value);
  const shape = { month: 'YYYY-MM (e.g. 2026-10)', day: 'YYYY-MM-DD (e.g. 2026-10-05)', 'month-or-day': 'YYYY-MM or YYYY-MM-DD (e.g. 2026-10 or 2026-10-05)' }[form];
  if (!m || (form === 'month' && m[3] !== undefined) || (form === 'day' && m[3] === undefined)) return `'${value}' is not ${shape}`;
  const [, year, month, day] = m;
  if (Number(month) < 1 || Number(month) > 12) return `'${value}' has month ${month}; months run 01–12`;
  if (day !== undefined) {
    const last = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
    if (Number(day) < 1 || Number(day) > last) return `'${value}' has day ${day}; ${year}-${month} has days 01–${last}`;
  }
  return null;
}
