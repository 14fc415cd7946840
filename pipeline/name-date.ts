/**
 * Acquisition dates read from tile file names, and dates given on the command line.
 *
 * Rules for a file name (the base name without its extension), in this order:
 * 1. A day date: `YYYY-MM-DD`, `YYYYMMDD` or `YYYY-MMDD`-like runs of exactly 8 digits (with optional
 *    hyphens), not touching other digits. The first one wins: Sentinel-2 and Landsat names put the
 *    sensing date before the processing date (`S2A_MSIL2A_20260915T023551_…_20260915T060254`).
 * 2. Else a month: `YYYY-MM` or `YYYY_MM` (not followed by another `-`/`_` and digit, so a day date
 *    with an impossible day is not read as a month), or a run of exactly 6 digits `YYYYMM` bounded
 *    on both sides by the start/end of the name or by `_`, `-`, `.`, space — never by a letter or
 *    digit, so tile ids (`T50SNA`), orbit numbers (`R089`), Landsat path/rows (`122035`, year 1220
 *    is out of range anyway) and parts of longer digit runs are not months.
 * 3. Years must lie in 1970–2100 and months in 01–12, days in 01–31; anything else is not a date.
 * 4. Month candidates that disagree (`after-2026-10_ref-202609`) make the name ambiguous: no date.
 */
import { parseIsoDate } from '../geo/tiff/open-geotiff.js';

export type DatePrecision = 'day' | 'month';

export interface TileDate {
  /** ISO yyyy-mm-dd; a month-precision date is the first day of its month. */
  date: string;
  precision: DatePrecision;
}

const DAY = /(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)/;
const MONTH_SEP = /(?<!\d)(\d{4})[-_](\d{2})(?![-_]?\d)/g;
const MONTH_RUN = /(?<![A-Za-z0-9])(\d{4})(\d{2})(?![A-Za-z0-9])/g;

function validMonth(y: string, m: string): boolean {
  const [yy, mm] = [Number(y), Number(m)];
  return yy >= 1970 && yy <= 2100 && mm >= 1 && mm <= 12;
}

/** The date a file name carries, with its precision; null when it has none (or an ambiguous one). */
export function dateFromName(fileName: string): TileDate | null {
  const stem = fileName.replace(/\.[A-Za-z0-9]+$/, '');
  const day = DAY.exec(stem);
  const d = day ? parseIsoDate(`${day[1]}-${day[2]}-${day[3]}`) : null;
  if (d) return { date: d, precision: 'day' };
  const months = new Set<string>();
  for (const re of [MONTH_SEP, MONTH_RUN]) {
    for (const m of stem.matchAll(re)) if (validMonth(m[1], m[2])) months.add(`${m[1]}-${m[2]}`);
  }
  if (months.size !== 1) return null;
  return { date: `${[...months][0]}-01`, precision: 'month' };
}

/** A date given by the user (`--tiles-date`, `--prior-date`, `--epoch`): `YYYY-MM-DD` or `YYYY-MM`; null if neither. */
export function parseUserDate(text: string): TileDate | null {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
    const d = parseIsoDate(t);
    return d ? { date: d, precision: 'day' } : null;
  }
  const m = /^(\d{4})-(\d{2})$/.exec(t);
  return m && validMonth(m[1], m[2]) ? { date: `${m[1]}-${m[2]}-01`, precision: 'month' } : null;
}

/** How a date is shown in outputs: `2026-10` for a month-precision date, else the full date. */
export function showDate(date: string, precision: DatePrecision | undefined): string {
  return precision === 'month' ? date.slice(0, 7) : date;
}
