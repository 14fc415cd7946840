/**
 * The card names the clock its due date was counted by (办理期限 … 整改（15 个工作日）) from the rules
 * the server runs (GET /api/deadlines), so a city's `tuban serve --deadlines` shows on the page.
 */
import { describe, expect, it } from 'vitest';
import { deadlineRuleText } from './dom.js';
import { parseDeadlines } from '../server/deadlines/load-deadlines.js';
import { DEFAULT_DEADLINES } from '../server/deadlines/rules.js';

describe('the deadline rule a card names', () => {
  it('says the default clocks as the page always did', () => {
    const text = (id: string) => deadlineRuleText(id, DEFAULT_DEADLINES[id as keyof typeof DEFAULT_DEADLINES], '');
    expect(text('verification')).toBe('核查（月清）');
    expect(text('rectification')).toBe('整改（15 个工作日）');
    expect(text('monthly_report')).toBe('牵头局复核（次月 5 日）');
    expect(text('handover')).toBe('移交纪委监委（15 日）');
    expect(text('penalty_files')).toBe('处罚后移交（30 日）');
  });

  it("says a city's own clocks from its --deadlines file", () => {
    const r = parseDeadlines({ rectification: { kind: 'working_days', days: 10 }, verification: { kind: 'end_of_month', months: 1 }, monthly_report: { kind: 'day_of_next_month', day: 10 } }, 'city.yaml');
    expect(deadlineRuleText('rectification', r.rectification, '')).toBe('整改（10 个工作日）');
    expect(deadlineRuleText('verification', r.verification, '')).toBe('核查（次月底）');
    expect(deadlineRuleText('monthly_report', r.monthly_report, '')).toBe('牵头局复核（次月 10 日）');
  });

  it('falls back to the fixed name without the rules (GET /api/deadlines failed) or for a rule the server does not list', () => {
    expect(deadlineRuleText('rectification', undefined, '整改（15 个工作日）')).toBe('整改（15 个工作日）');
    expect(deadlineRuleText('haikou_stage', undefined, '建设阶段')).toBe('建设阶段');
  });
});
