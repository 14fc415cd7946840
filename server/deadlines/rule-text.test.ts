/**
 * The card names the clock its due date was counted by (办理期限 … 整改（15 个工作日）) from the rules
 * the server runs (GET /api/deadlines `text`), so a city's `tuban serve --deadlines` shows on the page.
 */
import { describe, expect, it } from 'vitest';
import { parseDeadlines } from './load-deadlines.js';
import { DEFAULT_DEADLINES, ruleText, type DeadlineRuleId } from './rules.js';
import { loadCalendar } from './calendar.js';
import { addUsers, openTestDatabase, testApp } from '../testing/fixtures.js';

describe('the deadline rule a card names', () => {
  it('says the default clocks as the page always did', () => {
    const text = (id: DeadlineRuleId) => ruleText(id, DEFAULT_DEADLINES[id]);
    expect(text('verification')).toBe('核查（月清）');
    expect(text('rectification')).toBe('整改（15 个工作日）');
    expect(text('monthly_report')).toBe('牵头局复核（次月 5 日）');
    expect(text('handover')).toBe('移交纪委监委（15 日）');
    expect(text('penalty_files')).toBe('处罚后移交（30 日）');
    expect(text('monitoring')).toBe('持续监测复查（次月底）');
  });

  it('sets the 持续监测 re-check like any other clock', () => {
    const r = parseDeadlines({ monitoring: { kind: 'calendar_days', days: 20 } }, 'city.yaml');
    expect(ruleText('monitoring', r.monitoring)).toBe('持续监测复查（20 日）');
    expect(r.monitoring).toMatchObject({ kind: 'calendar_days', days: 20, source: 'city.yaml' });
  });

  it("says a city's own clocks from its --deadlines file", () => {
    const r = parseDeadlines({ rectification: { kind: 'working_days', days: 10 }, verification: { kind: 'end_of_month', months: 1 }, monthly_report: { kind: 'day_of_next_month', day: 10 } }, 'city.yaml');
    expect(ruleText('rectification', r.rectification)).toBe('整改（10 个工作日）');
    expect(ruleText('verification', r.verification)).toBe('核查（次月底）');
    expect(ruleText('monthly_report', r.monthly_report)).toBe('牵头局复核（次月 10 日）');
  });

  it('is what GET /api/deadlines sends the page for each rule the server runs', async () => {
    const db = await openTestDatabase();
    try {
      await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
      const rules = parseDeadlines({ rectification: { kind: 'working_days', days: 10 } }, 'city.yaml');
      const t = await testApp(db, { deadlines: { rules, calendar: await loadCalendar() } });
      try {
        const r = await t.request('nr', '/api/deadlines');
        expect(r.statusCode, r.body).toBe(200);
        const sent = r.json().rules as Record<string, { text: string; days?: number }>;
        expect(sent.rectification).toMatchObject({ days: 10, text: '整改（10 个工作日）' });
        expect(sent.verification.text).toBe('核查（月清）');
      } finally {
        await t.app.close();
      }
    } finally {
      await db.close();
    }
  }, 120_000);
});

