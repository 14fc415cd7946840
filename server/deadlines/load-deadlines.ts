/**
 * Deadline rules from a YAML file (`tuban serve --deadlines FILE`), over the defaults: each city sets
 * its own clocks. Only the rules named in the file change; an unknown rule id or kind fails by name.
 *
 *   rectification: {kind: working_days, days: 10, label: 十个工作日}
 *   monthly_report: {kind: day_of_next_month, day: 10}
 *   verification: {kind: end_of_month, months: 1, label: 下发次月底前核查填报}
 *   monitoring: {kind: end_of_month, months: 1, recheck_max_months: 3}
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_DEADLINES, ruleText, type DeadlineRule, type DeadlineRuleId } from './rules.js';

const Rule = z
  .object({
    kind: z.enum(['calendar_days', 'working_days', 'end_of_month', 'day_of_next_month']),
    days: z.number().int().min(1).max(366).optional(),
    day: z.number().int().min(1).max(28).optional(),
    months: z.number().int().min(0).max(12).optional(),
    recheck_max_months: z.number().int().min(0).max(12).optional(),
    label: z.string().optional(),
    source: z.string().optional(),
  })
  .strict()
  .refine((r) => !['calendar_days', 'working_days'].includes(r.kind) || r.days !== undefined, { message: 'calendar_days and working_days need days' })
  .refine((r) => r.kind !== 'day_of_next_month' || r.day !== undefined, { message: 'day_of_next_month needs day' })
  .refine((r) => r.months === undefined || r.kind === 'end_of_month', { message: 'months goes with end_of_month only' });

const File = z
  .object(Object.fromEntries(Object.keys(DEFAULT_DEADLINES).map((k) => [k, Rule.optional()])) as Record<DeadlineRuleId, z.ZodOptional<typeof Rule>>)
  .strict()
  .superRefine((file, ctx) => {
    // How far a bureau may move a 持续监测 re-check: no other clock is chosen per case.
    for (const [id, rule] of Object.entries(file)) {
      if (id !== 'monitoring' && rule?.recheck_max_months !== undefined) ctx.addIssue({ code: 'custom', message: 'recheck_max_months goes with the monitoring rule only', path: [id, 'recheck_max_months'] });
    }
  });

export function parseDeadlines(input: unknown, subject = 'deadlines'): Record<DeadlineRuleId, DeadlineRule> {
  const r = File.safeParse(input ?? {});
  if (!r.success) throw new Error(`${subject}: ${r.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
  const out = { ...DEFAULT_DEADLINES };
  for (const [id, rule] of Object.entries(r.data) as [DeadlineRuleId, z.infer<typeof Rule> | undefined][]) {
    if (rule) out[id] = { ...rule, label: rule.label ?? labelFor(id, rule), source: rule.source ?? subject };
  }
  return out;
}

/**
 * A rule the file changed without a label of its own: the default's words only where the clock is the
 * default's, else the clock it now runs (整改（10 个工作日）), never Haikou's 15 days for a city's 10.
 */
function labelFor(id: DeadlineRuleId, rule: Omit<DeadlineRule, 'label' | 'source'>): string {
  const d = DEFAULT_DEADLINES[id];
  if (rule.kind === d.kind && rule.days === d.days && rule.day === d.day && (rule.months ?? 0) === (d.months ?? 0)) return d.label;
  return ruleText(id, rule);
}

export async function loadDeadlines(path: string | undefined): Promise<Record<DeadlineRuleId, DeadlineRule>> {
  return path ? parseDeadlines(parseYaml(await readFile(path, 'utf8')), path) : DEFAULT_DEADLINES;
}
