import { describe, expect, it } from 'vitest';
import { WorkCalendar, loadCalendar } from './calendar.js';
import { DEFAULT_DEADLINES, applyRule, calendarGapWarning, holidaysUnknownFor } from './rules.js';

describe('working-day calendar (2026, shipped)', () => {
  it('knows holidays, make-up working weekends and ordinary weekends', async () => {
    const cal = await loadCalendar();
    expect(cal.isWorkingDay('2026-10-01')).toBe(false); // 国庆
    expect(cal.isWorkingDay('2026-10-10')).toBe(true); // Saturday, 调休上班
    expect(cal.isWorkingDay('2026-09-20')).toBe(true); // Sunday, 调休上班
    expect(cal.isWorkingDay('2026-10-17')).toBe(false); // plain Saturday
    expect(cal.isWorkingDay('2026-02-14')).toBe(true); // Saturday before 春节
    expect(cal.isWorkingDay('2026-02-16')).toBe(false); // 春节, a Monday
  });

  it('counts 15 working days across 中秋 and 国庆 with the make-up Saturday', async () => {
    const cal = await loadCalendar();
    // 9-24 Thu → 9-25..27 off; 9-28, 9-29, 9-30; 10-1..7 off; 10-8, 10-9, 10-10 (Sat, worked); 10-12..16; 10-19..22.
    expect(cal.addWorkingDays('2026-09-24', 15)).toBe('2026-10-22');
    // Without the calendar the same count would end a week earlier: the holidays matter.
    expect(new WorkCalendar().addWorkingDays('2026-09-24', 15)).toBe('2026-10-15');
    // The make-up Sunday 9-20 counts: 9-18 Fri → 9-20 (1) … 10-15 (15).
    expect(cal.addWorkingDays('2026-09-18', 15)).toBe('2026-10-15');
  });

  it('applies the seeds\' rules: month end, the 5th of next month, calendar days', async () => {
    const cal = await loadCalendar();
    const d = { rules: DEFAULT_DEADLINES, calendar: cal };
    expect(applyRule(d.rules.verification, '2026-11-02', cal)).toBe('2026-11-30');
    expect(applyRule(d.rules.monthly_report, '2026-11-20', cal)).toBe('2026-12-05');
    expect(applyRule(d.rules.monthly_report, '2026-12-20', cal)).toBe('2027-01-05');
    expect(applyRule(d.rules.handover, '2026-11-20', cal)).toBe('2026-12-05');
    expect(applyRule(d.rules.penalty_files, '2026-11-20', cal)).toBe('2026-12-20');
  });

  it("adds a city's files to the shipped calendar: next year's holidays, its own make-up day", async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(await mkdtemp(join(tmpdir(), 'tuban-cal-')), 'holidays-2027.yaml');
    await writeFile(file, 'name: 城市补充 2027\nholidays:\n  - 2027-01-01\nworkdays:\n  - 2026-10-17\n');
    const cal = await loadCalendar([file]);
    expect(cal.isWorkingDay('2027-01-01')).toBe(false); // the file's
    expect(cal.isWorkingDay('2026-10-01')).toBe(false); // still the shipped 国庆
    expect(cal.isWorkingDay('2026-10-17')).toBe(true); // a Saturday the city works
  });

  it('rejects a malformed calendar by name', () => {
    expect(() => new WorkCalendar().add({ holidays: ['2026-13-01'] }, 'my.yaml')).toThrow(/my\.yaml: holidays\.0: '2026-13-01'/);
    expect(() => new WorkCalendar().add({ holidays: ['2026-10-07..2026-10-01'] }, 'x.yaml')).toThrow(/x\.yaml/);
  });

  it("knows which years it has the holidays of, and says when a working-day deadline needed one it lacks", async () => {
    const cal = await loadCalendar();
    const d = { rules: DEFAULT_DEADLINES, calendar: cal };
    expect(cal.covers('2026-12-31')).toBe(true);
    expect(cal.covers('2027-01-04')).toBe(false);
    // 15 working days from 2026-12-20 end in 2027, counted without 2027's 元旦 or 春节.
    const due = applyRule(d.rules.rectification, '2026-12-20', cal);
    expect(due.startsWith('2027-')).toBe(true);
    expect(holidaysUnknownFor(d, 'rectification', due)).toBe(2027);
    expect(holidaysUnknownFor(d, 'rectification', '2026-12-10')).toBeNull();
    // Calendar-day and month-end clocks need no holidays.
    expect(holidaysUnknownFor(d, 'handover', '2027-01-04')).toBeNull();
    expect(holidaysUnknownFor(d, 'verification', '2027-01-31')).toBeNull();
    expect(holidaysUnknownFor(d, null, null)).toBeNull();

    // The server's start: in December the next year is near; in June it is not.
    expect(calendarGapWarning(d, '2026-12-06')).toMatch(/^no holiday calendar for 2027 is loaded: .*rectification: .*--calendar FILE/);
    expect(calendarGapWarning(d, '2026-06-01')).toBeNull();
    // A city's longer working-day clock (120 working days, about half a year) set in September ends in
    // 2027, past the 60 days looked ahead: a case issued that day is due on a day counted without 春节.
    const long = { rules: { ...DEFAULT_DEADLINES, rectification: { ...DEFAULT_DEADLINES.rectification, days: 120 } }, calendar: cal };
    expect(applyRule(long.rules.rectification, '2026-09-01', cal) > '2027-').toBe(true);
    expect(calendarGapWarning(long, '2026-09-01')).toMatch(/^no holiday calendar for 2027 is loaded/);
    expect(calendarGapWarning({ rules: { ...DEFAULT_DEADLINES, rectification: { ...DEFAULT_DEADLINES.rectification, kind: 'calendar_days' } }, calendar: cal }, '2026-12-06')).toBeNull();

    // A file for 2027 (its `year`, or the years of its dates) closes the gap.
    const next = new WorkCalendar().add({ name: '2027', year: 2027, holidays: ['2027-01-01'] });
    expect(next.covers('2027-06-01')).toBe(true);
    expect(new WorkCalendar().add({ holidays: ['2027-01-01..2027-01-03'] }).covers('2027-12-31')).toBe(true);
    cal.add({ year: 2027, holidays: ['2027-01-01'] });
    expect(calendarGapWarning(d, '2026-12-06')).toBeNull();
    expect(holidaysUnknownFor(d, 'rectification', due)).toBeNull();
  });
});
