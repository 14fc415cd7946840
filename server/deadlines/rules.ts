/**
 * Deadline rules, one per clock the seeds name, and which one runs in each workflow state.
 * Values are configuration (DOMAIN.md: "where a fact is marked verify, make it configuration").
 */
import type { WorkCalendar } from './calendar.js';
import { addDays, endOfMonth } from '../../pipeline/iso-date.js';

export type DeadlineKind = 'calendar_days' | 'working_days' | 'end_of_month' | 'day_of_next_month';

export interface DeadlineRule {
  kind: DeadlineKind;
  /** For calendar_days / working_days. */
  days?: number;
  /** For day_of_next_month. */
  day?: number;
  /** For end_of_month: the end of the month this many months after the start's (default 0, its own). */
  months?: number;
  /**
   * For `monitoring` only: how far past the rule's date a bureau may set a case's re-check, in months
   * (recheckWindow). Policy names no monitoring period, so it is a setting (default 2).
   */
  recheck_max_months?: number;
  label: string;
  source: string;
}

export type DeadlineRuleId = 'verification' | 'rectification' | 'handover' | 'penalty_files' | 'monthly_report' | 'monitoring';

export const DEFAULT_DEADLINES: Record<DeadlineRuleId, DeadlineRule> = {
  verification: { kind: 'end_of_month', label: '月清: 当月完成核查填报', source: 'DOMAIN.md monthly clearance; RESEARCH.md §5' },
  rectification: { kind: 'working_days', days: 15, label: '发现之日起15个工作日内处置完成 (海口)', source: 'seeds/004 第七条' },
  handover: { kind: 'calendar_days', days: 15, label: '15日内移交纪委监委 (济南)', source: 'seeds/000, DOMAIN.md' },
  penalty_files: { kind: 'calendar_days', days: 30, label: '处罚决定后30日内移送案卷 (济南)', source: 'seeds/000, DOMAIN.md' },
  // The lead bureau's clock, not the bureau's: a closure is the bureau's report (反馈); the review of
  // it is due by the 5th of the next month, when the month's results are reported (长治: 每月5日前…反馈).
  monthly_report: { kind: 'day_of_next_month', day: 5, label: '牵头局次月5日前复核销号 (长治: 每月5日前反馈)', source: 'seeds/001 (长治上党区), DOMAIN.md Changzhi' },
  // 持续监测: re-checked against the next month's imagery (the next batch, which re-detects a site still
  // changing: state_machine.yaml CONTINUOUS_MONITORING → ISSUED via 往期图斑编号), counted from the
  // day the bureau records it; each re-check that still cannot judge sets the next.
  monitoring: { kind: 'end_of_month', months: 1, recheck_max_months: 2, label: '持续监测: 次月底前对照下期影像复查', source: 'RESEARCH.md §3.7, domain/state_machine.yaml CONTINUOUS_MONITORING' },
};

/** A rule's name, as the card and the escalation table say it. */
export const DEADLINE_RULE_ZH: Record<DeadlineRuleId, string> = {
  verification: '核查',
  rectification: '整改',
  handover: '移交纪委监委',
  penalty_files: '处罚后移交',
  monthly_report: '牵头局复核',
  monitoring: '持续监测复查',
};

/** The clock a rule runs, in a card's words: 15 个工作日, 月清, 次月底, 次月 5 日. */
export function clockText(rule: Pick<DeadlineRule, 'kind' | 'days' | 'day' | 'months'>): string {
  switch (rule.kind) {
    case 'working_days':
      return `${rule.days} 个工作日`;
    case 'calendar_days':
      return `${rule.days} 日`;
    case 'end_of_month':
      return !rule.months ? '月清' : rule.months === 1 ? '次月底' : `${rule.months} 个月后月底`;
    case 'day_of_next_month':
      return `次月 ${rule.day} 日`;
  }
}

/** 整改（15 个工作日）: the rule's name and the clock the server runs (GET /api/deadlines `text`), so a city's `--deadlines` shows on the page. */
export const ruleText = (id: DeadlineRuleId, rule: Pick<DeadlineRule, 'kind' | 'days' | 'day' | 'months'>): string => `${DEADLINE_RULE_ZH[id]}（${clockText(rule)}）`;

export function applyRule(rule: DeadlineRule, start: string, cal: WorkCalendar): string {
  switch (rule.kind) {
    case 'calendar_days':
      return addDays(start, rule.days ?? 0);
    case 'working_days':
      return cal.addWorkingDays(start, rule.days ?? 0);
    case 'end_of_month':
      return endOfMonth(start, rule.months ?? 0);
    case 'day_of_next_month': {
      const [y, m] = start.split('-').map(Number);
      return new Date(Date.UTC(y, m, rule.day ?? 5)).toISOString().slice(0, 10);
    }
  }
}

/**
 * The year whose holidays a working-day deadline due on `due` needed and no loaded calendar gives
 * (it then counted weekends only); null when it needed none or has them.
 */
export function holidaysUnknownFor(d: Deadlines, rule: string | null, due: string | null): number | null {
  if (!rule || !due || d.rules[rule as DeadlineRuleId]?.kind !== 'working_days' || d.calendar.covers(due)) return null;
  return Number(due.slice(0, 4));
}

/**
 * What the server says at start when a working-day clock will soon run into a year no calendar
 * gives the holidays of (within `aheadDays` of `today`: a 15-working-day deadline set in December
 * ends in January; or where a clock set today ends); null when none will.
 */
export function calendarGapWarning(d: Deadlines, today: string, aheadDays = 60): string | null {
  const working = (Object.keys(d.rules) as DeadlineRuleId[]).filter((id) => d.rules[id].kind === 'working_days');
  if (working.length === 0) return null;
  // Also where each clock set today ends: a rule longer than `aheadDays` (a city's 120 working days) reaches further.
  const days = [today, addDays(today, aheadDays), ...working.map((id) => applyRule(d.rules[id], today, d.calendar))].sort();
  const years = [...new Set(days.filter((day) => !d.calendar.covers(day)).map((day) => day.slice(0, 4)))];
  if (years.length === 0) return null;
  return (
    `no holiday calendar for ${years.join(', ')} is loaded: working-day deadlines (${working.map((id) => `${id}: ${d.rules[id].label}`).join('; ')}) ` +
    `falling in ${years.join(', ')} count Monday to Friday only and may end on a holiday; add that year's holidays and make-up working days ` +
    `(the State Council's notice) with --calendar FILE, in the format of server/deadlines/holidays-cn-2026.yaml`
  );
}

/** recheck_max_months where a city's `monitoring` rule leaves it out. */
export const DEFAULT_RECHECK_MAX_MONTHS = 2;

/**
 * 持续监测's re-check dates for a case put under monitoring on `since`: the rule's (`default`, what
 * runs when the bureau chooses none) and the latest the bureau may choose, the end of the month
 * `recheck_max_months` after the rule's date (a soil heap is re-checked sooner, a poured foundation
 * may need the imagery of a later month; not indefinitely later: the site stays open meanwhile).
 */
export function recheckWindow(d: Deadlines, since: string): { default: string; latest: string } {
  const rule = d.rules.monitoring;
  const def = applyRule(rule, since, d.calendar);
  return { default: def, latest: endOfMonth(def, rule.recheck_max_months ?? DEFAULT_RECHECK_MAX_MONTHS) };
}

/** Which clock runs in a state (null: none). Illegal verdicts run the rectification clock. */
export function ruleForState(status: string, verdict: string | null): DeadlineRuleId | null {
  switch (status) {
    case 'issued':
    case 'accepted':
    case 'reassignment_requested':
      return 'verification';
    case 'verified':
      return verdict === 'illegal' ? 'rectification' : 'verification';
    case 'rectifying':
      return 'rectification';
    case 'monitoring':
      return 'monitoring';
    case 'closed':
      return 'monthly_report';
    default:
      return null;
  }
}

export interface Deadlines {
  rules: Record<DeadlineRuleId, DeadlineRule>;
  calendar: WorkCalendar;
}

/** The due date of a state entered on `start` (YYYY-MM-DD), with the rule that set it. */
export function dueFor(d: Deadlines, status: string, verdict: string | null, start: string): { rule: DeadlineRuleId; due: string } | null {
  const id = ruleForState(status, verdict);
  return id ? { rule: id, due: applyRule(d.rules[id], start, d.calendar) } : null;
}
