import { describe, expect, it } from 'vitest';
import { WorkCalendar } from './calendar.js';
import { parseDeadlines } from './load-deadlines.js';
import { DEFAULT_DEADLINES, applyRule, recheckWindow } from './rules.js';

describe('deadline rules from a file', () => {
  it('overrides only the rules it names', () => {
    const r = parseDeadlines({ rectification: { kind: 'working_days', days: 10 }, monthly_report: { kind: 'day_of_next_month', day: 10 } }, 'city.yaml');
    expect(r.rectification).toMatchObject({ kind: 'working_days', days: 10, source: 'city.yaml' });
    expect(r.verification).toEqual(DEFAULT_DEADLINES.verification);
    expect(applyRule(r.monthly_report, '2026-11-20', new WorkCalendar())).toBe('2026-12-10');
  });

  it('sets verification to the end of the month after issue where a city counts 月清 so', () => {
    const r = parseDeadlines({ verification: { kind: 'end_of_month', months: 1 } }, 'city.yaml');
    const cal = new WorkCalendar();
    // Issued on the 28th: the default gives the 2 days left of November, this rule all of December.
    expect(applyRule(DEFAULT_DEADLINES.verification, '2026-11-28', cal)).toBe('2026-11-30');
    expect(applyRule(r.verification, '2026-11-28', cal)).toBe('2026-12-31');
    expect(applyRule(r.verification, '2026-12-02', cal)).toBe('2027-01-31');
    expect(applyRule(r.verification, '2027-01-30', cal)).toBe('2027-02-28');
    expect(() => parseDeadlines({ handover: { kind: 'calendar_days', days: 15, months: 1 } }, 'city.yaml')).toThrow(/months goes with end_of_month only/);
  });

  it('labels a changed clock by the clock it now runs, not the default it replaced', () => {
    // The label is what the start-up warning and GET /api/deadlines say: a city's 10 working days
    // must not be announced as Haikou's 15.
    const r = parseDeadlines({
      rectification: { kind: 'working_days', days: 10 },
      verification: { kind: 'end_of_month', months: 1 },
      monthly_report: { kind: 'day_of_next_month', day: 10 },
      handover: { kind: 'calendar_days', days: 15 },
      penalty_files: { kind: 'calendar_days', days: 20, label: '处罚决定后20日内移送案卷' },
    }, 'city.yaml');
    expect(r.rectification.label).toBe('整改（10 个工作日）');
    expect(r.verification.label).toBe('核查（次月底）');
    expect(r.monthly_report.label).toBe('牵头局复核（次月 10 日）');
    // The same clock as the default keeps the default's words; a label given in the file wins.
    expect(r.handover.label).toBe(DEFAULT_DEADLINES.handover.label);
    expect(r.penalty_files.label).toBe('处罚决定后20日内移送案卷');
  });

  it('bounds a 持续监测 re-check a bureau chooses by recheck_max_months past the rule\'s date (default 2), on the monitoring rule only', () => {
    const cal = new WorkCalendar();
    expect(recheckWindow({ rules: DEFAULT_DEADLINES, calendar: cal }, '2026-11-03')).toEqual({ default: '2026-12-31', latest: '2027-02-28' });
    const shorter = parseDeadlines({ monitoring: { kind: 'end_of_month', months: 1, recheck_max_months: 0 } }, 'city.yaml');
    expect(recheckWindow({ rules: shorter, calendar: cal }, '2026-11-03')).toEqual({ default: '2026-12-31', latest: '2026-12-31' });
    // A city's rule that leaves it out keeps the default's 2 months, past its own date.
    const days = parseDeadlines({ monitoring: { kind: 'calendar_days', days: 30 } }, 'city.yaml');
    expect(recheckWindow({ rules: days, calendar: cal }, '2026-11-03')).toEqual({ default: '2026-12-03', latest: '2027-02-28' });
    expect(() => parseDeadlines({ rectification: { kind: 'working_days', days: 10, recheck_max_months: 1 } }, 'city.yaml')).toThrow(/city\.yaml: rectification\.recheck_max_months: recheck_max_months goes with the monitoring rule only/);
    expect(() => parseDeadlines({ monitoring: { kind: 'end_of_month', months: 1, recheck_max_months: 13 } }, 'city.yaml')).toThrow(/monitoring\.recheck_max_months/);
  });

  it('names the file and the rule when a rule is wrong or unknown', () => {
    expect(() => parseDeadlines({ rectification: { kind: 'working_days' } }, 'city.yaml')).toThrow(/city\.yaml: rectification: .*need days/);
    expect(() => parseDeadlines({ lunch: { kind: 'calendar_days', days: 1 } }, 'city.yaml')).toThrow(/city\.yaml.*lunch/);
  });
});
