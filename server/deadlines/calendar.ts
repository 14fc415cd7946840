/**
 * Working days from a holiday calendar (YAML): public holidays off, make-up working weekends
 * (调休) on, other weekends off. Dates are civil dates `YYYY-MM-DD` (China Standard Time is the
 * users' clock; no time zone arithmetic is needed on whole days).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { addDays } from '../../pipeline/iso-date.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const entry = z.union([z.string(), z.date()]).transform((v, ctx) => {
  // YAML parses a bare 2026-01-04 as a Date; keep it as the civil date it names.
  const s = v instanceof Date ? v.toISOString().slice(0, 10) : v.trim();
  const [a, b = a] = s.split('..').map((x) => x.trim());
  if (!DAY.test(a) || !DAY.test(b) || a > b || Number.isNaN(Date.parse(a)) || Number.isNaN(Date.parse(b))) {
    ctx.addIssue({ code: 'custom', message: `'${s}' is not a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD` });
    return z.NEVER;
  }
  return [a, b] as const;
});
const CalendarFile = z.object({
  name: z.string().optional(),
  year: z.number().int().optional(),
  holidays: z.array(entry).default([]),
  workdays: z.array(entry).default([]),
});

/** The shipped calendar: beside this module in the source tree; tsc does not copy YAML, so from dist/ look in the source. */
export const DEFAULT_CALENDAR_FILE = [
  fileURLToPath(new URL('./holidays-cn-2026.yaml', import.meta.url)),
  fileURLToPath(new URL('../../../server/deadlines/holidays-cn-2026.yaml', import.meta.url)),
].find((p) => existsSync(p)) ?? fileURLToPath(new URL('./holidays-cn-2026.yaml', import.meta.url));

function expand([a, b]: readonly [string, string]): string[] {
  const out: string[] = [];
  for (let d = a; d <= b; d = addDays(d, 1)) out.push(d);
  return out;
}

export class WorkCalendar {
  private readonly off = new Set<string>();
  private readonly on = new Set<string>();
  /** Years some file gave the holidays of (its `year`, else the years of its dates). */
  private readonly years = new Set<number>();

  add(file: z.input<typeof CalendarFile>, subject = 'calendar'): this {
    const parsed = CalendarFile.safeParse(file);
    if (!parsed.success) throw new Error(`${subject}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    for (const r of parsed.data.holidays) for (const d of expand(r)) this.off.add(d);
    for (const r of parsed.data.workdays) for (const d of expand(r)) this.on.add(d);
    if (parsed.data.year !== undefined) this.years.add(parsed.data.year);
    else for (const r of [...parsed.data.holidays, ...parsed.data.workdays]) for (const d of r) this.years.add(Number(d.slice(0, 4)));
    return this;
  }

  /**
   * Whether a file gave `day`'s year. Past those years a working day is any weekday: the holidays
   * and make-up days of a year the State Council has not yet announced, or nobody loaded, are
   * unknown, and a working-day deadline there may fall on a holiday.
   */
  covers(day: string): boolean {
    return this.years.has(Number(day.slice(0, 4)));
  }

  /** The years some file gave the holidays of, ascending. */
  get coveredYears(): number[] {
    return [...this.years].sort((a, b) => a - b);
  }

  /** Weekdays off (holidays no file makes a working day) and weekends on (调休), ascending: for SQL that counts working days. */
  exceptions(): { off: string[]; on: string[] } {
    return { off: [...this.off].filter((d) => !this.on.has(d)).sort(), on: [...this.on].sort() };
  }

  isWorkingDay(day: string): boolean {
    if (this.on.has(day)) return true;
    if (this.off.has(day)) return false;
    const wd = new Date(`${day}T00:00:00Z`).getUTCDay();
    return wd !== 0 && wd !== 6;
  }

  /** The `n`-th working day after `day` (the day itself does not count: "within 15 working days of discovery"). */
  addWorkingDays(day: string, n: number): string {
    let d = day;
    for (let left = n; left > 0; ) {
      d = addDays(d, 1);
      if (this.isWorkingDay(d)) left--;
    }
    return d;
  }
}

/**
 * The shipped calendar plus the files given (`tuban serve --calendar`): a city adds next year's
 * notice or its own make-up days without losing this year's holidays; a day listed as a workday
 * in any file is a working day.
 */
export async function loadCalendar(paths: readonly string[] = []): Promise<WorkCalendar> {
  const cal = new WorkCalendar();
  for (const p of new Set([DEFAULT_CALENDAR_FILE, ...paths])) await addCalendarFile(cal, p);
  return cal;
}

/** Read one calendar file into `cal` (merged with what it holds). */
export async function addCalendarFile(cal: WorkCalendar, path: string): Promise<WorkCalendar> {
  return cal.add(parseYaml(await readFile(path, 'utf8')) as z.input<typeof CalendarFile>, path);
}
