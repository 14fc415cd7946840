/**
 * One CSV cell for the ledger and the quarterly report, which the lead bureau opens in Excel or
 * WPS. Quoted where RFC 4180 needs it. Text that a spreadsheet would run as a formula (a leading
 * `=`, `+`, `-`, `@`, tab or carriage return: a party name or a clue description typed by a user,
 * CWE-1236) gets a leading `'`, so it shows as the text it is; numbers, and text that is only a
 * number ("-12.5"), are left alone.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?%?$/i;

export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && s.length > 1 && FORMULA_START.test(s) && !NUMBER.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
