import { describe, expect, it } from 'vitest';
import { calendarProblem } from '../schemas/calendar-date.js';

describe('calendarProblem', () => {
  it('accepts months and days that exist', () => {
    expect(calendarProblem('2026-10', 'month')).toBeNull();
    expect(calendarProblem('2026-12', 'month-or-day')).toBeNull();
    expect(calendarProblem('2028-02-29', 'day')).toBeNull();
    expect(calendarProblem('2026-10-31', 'month-or-day')).toBeNull();
  });

  it('says a month or day is out of range rather than that the value is malformed', () => {
    expect(calendarProblem('2026-13', 'month')).toBe("'2026-13' has month 13; months run 01–12");
    expect(calendarProblem('2026-00', 'month-or-day')).toContain('months run 01–12');
    expect(calendarProblem('2026-13-01', 'day')).toContain('month 13');
    expect(calendarProblem('2026-02-29', 'day')).toBe("'2026-02-29' has day 29; 2026-02 has days 01–28");
    expect(calendarProblem('2026-04-31', 'month-or-day')).toContain('2026-04 has days 01–30');
  });

  it('says what shape it wants when the value has another', () => {
    expect(calendarProblem('26-10', 'month')).toBe("'26-10' is not YYYY-MM (e.g. 2026-10)");
    expect(calendarProblem('2026-10-05', 'month')).toContain('is not YYYY-MM');
    expect(calendarProblem('2026-10', 'day')).toContain('is not YYYY-MM-DD');
    expect(calendarProblem('2026/10', 'month-or-day')).toContain('YYYY-MM or YYYY-MM-DD');
  });
});
