/**
 * Route one overlaid polygon to its lead bureau and co-bureaus under a rule table, and decide its
 * priority. Pure: the same overlaps and table always give the same decision.
 */
import type { Rule, RuleTable } from '../../schemas/rule-table.js';
import { zoneNameZh } from '../../schemas/rule-table.js';
import type { BureauId, ChangeType, Priority, ZoneKind } from '../../schemas/vocabulary.js';
import type { Overlap } from '../../schemas/polygon.js';

export interface RouteInput {
  overlaps: Partial<Record<ZoneKind, Overlap>>;
  changeType: ChangeType;
  /** 三调 dlbm of the land before the change, e.g. '0301'. */
  landClassBefore: string | null;
  /** Polygon area, m². */
  areaM2: number;
  /** Name of the 乡镇/街道 the polygon lies in, named in the reason when the township is co-responsible (属地). */
  township?: string | null;
}

export interface RouteDecision {
  lead: BureauId;
  /** Deduplicated, lead excluded, in order: lead rule's co, other matches by priority, always_co. */
  co: BureauId[];
  ruleId: string;
  /** Chinese: what decided (zone and share, or land class) and the rule's reason, e.g. '饮用水水源保护区 占 63%；…'. */
  reason: string;
  priority: Priority;
  /** Why 'high' (empty when normal), Chinese. */
  priorityReasons: string[];
  /** Mostly inside approved construction land: routed as usual, flagged in the reason. */
  permitOnFile: boolean;
  /** Every matching rule id, lead's first (for audit). */
  matchedRuleIds: string[];
}

export function formatShare(share: number): string {
  const pct = share * 100;
  if (pct > 0 && pct < 1) return '<1%';
  return `${Math.round(pct)}%`;
}

interface Match {
  rule: Rule;
  order: number;
  /** What made it match, Chinese. */
  basis: string;
}

/**
 * The kind among `kinds` the polygon overlaps most, when that share is at least `min` (and > 0, so
 * a min of 0 still means "touches the zone"); null otherwise.
 */
function widestOverlap(overlaps: RouteInput['overlaps'], kinds: readonly ZoneKind[], min: number): { kind: ZoneKind; share: number } | null {
  let best: { kind: ZoneKind; share: number } | null = null;
  for (const kind of kinds) {
    const o = overlaps[kind];
    if (o && o.share > 0 && o.share >= min && (!best || o.share > best.share)) best = { kind, share: o.share };
  }
  return best;
}

/** What places the polygon in a zone set or land class ('耕地 占 87%', '前时相地类 0103'), or null. */
function placement(input: RouteInput, kinds: readonly ZoneKind[], min: number, prefixes: readonly string[] | undefined, table: RuleTable): string | null {
  const best = widestOverlap(input.overlaps, kinds, min);
  if (best) return `${zoneNameZh(table, best.kind)} 占 ${formatShare(best.share)}`;
  const lc = input.landClassBefore;
  if (lc && prefixes?.some((p) => lc.startsWith(p))) return `前时相地类 ${lc}`;
  return null;
}

function matchRule(rule: Rule, order: number, input: RouteInput, table: RuleTable): Match | null {
  if (rule.change_types && !rule.change_types.includes(input.changeType)) return null;
  const basis = placement(input, rule.zone_kinds, rule.min_share ?? table.min_share, rule.land_class_prefixes, table);
  return basis === null ? null : { rule, order, basis };
}

/**
 * Lead = the matching rule with the lowest priority number (ties: table order). A rule matches when the
 * change type is allowed and some zone kind of it has share ≥ its min_share, or the land class before
 * starts with one of its prefixes. Every other match contributes its lead and co as co-bureaus; the
 * table's always_co (township) are always added. No match: the default rule.
 */
export function routePolygon(input: RouteInput, rules: RuleTable): RouteDecision {
  const matches: Match[] = [];
  rules.rules.forEach((rule, i) => {
    const m = matchRule(rule, i, input, rules);
    if (m) matches.push(m);
  });
  matches.sort((a, b) => a.rule.priority - b.rule.priority || a.order - b.order);

  const first = matches[0];
  const lead = first ? first.rule.lead : rules.default_rule.lead;
  const coList: BureauId[] = [...(first ? first.rule.co : rules.default_rule.co)];
  for (const m of matches.slice(1)) coList.push(m.rule.lead, ...m.rule.co);
  coList.push(...rules.always_co);
  const co = [...new Set(coList)].filter((b) => b !== lead);

  const permit = permitShare(input, rules);
  const permitOnFile = permit !== null;
  const parts = first ? [first.basis, first.rule.reason_zh] : [rules.default_rule.reason_zh];
  if (permit) parts.push(`${rules.permit.reason_zh} (${permit})`);
  // The bureau id stays 'township' (one for every 乡镇): the reason says which one it is.
  if (input.township && (lead === 'township' || co.includes('township'))) parts.push(`属地: ${input.township}`);

  const priorityReasons: string[] = [];
  for (const kind of rules.priority.kinds) {
    const o = input.overlaps[kind];
    if (o && o.share > 0 && o.share >= rules.priority.min_share) {
      priorityReasons.push(`位于${zoneNameZh(rules, kind)} (占 ${formatShare(o.share)})`);
    }
  }
  // A permit on file explains the size; only the zone triggers still apply.
  // Haikou: 单宗占地面积500平方米以上 is aggravating; in Chinese legal texts 以上 includes the number (民法典 第1259条).
  if (!permitOnFile && input.areaM2 >= rules.priority.min_area_m2) {
    priorityReasons.push(`面积 ${Math.round(input.areaM2)} m² 达 ${rules.priority.min_area_m2} m² 以上`);
  }

  return {
    lead,
    co,
    ruleId: first ? first.rule.id : rules.default_rule.id,
    reason: parts.join('；'),
    priority: priorityReasons.length > 0 ? 'high' : 'normal',
    priorityReasons,
    permitOnFile,
    matchedRuleIds: matches.map((m) => m.rule.id),
  };
}

/** '已批建设用地 占 80%' when the polygon is mostly inside permitted land, else null. */
function permitShare(input: RouteInput, rules: RuleTable): string | null {
  return placement(input, rules.permit.kinds, rules.permit.min_share, undefined, rules);
}

/**
 * Why a polygon is farming rather than land taken under the table's `seasonal` section ('耕地 占
 * 87%' or '前时相地类 0103'), or null when it is to be issued. Pure, like routePolygon.
 */
export function seasonalBasis(input: RouteInput, rules: RuleTable): string | null {
  const s = rules.seasonal;
  if (!s || !s.change_types.includes(input.changeType)) return null;
  if (widestOverlap(input.overlaps, s.unless_zone_kinds, 0)) return null;
  return placement(input, s.zone_kinds, s.min_share, s.land_class_prefixes, rules);
}
