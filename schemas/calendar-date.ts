/** Whether a month or day written on a command line or in a request is one the calendar has. */

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
