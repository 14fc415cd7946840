/**
 * The routing rule table: which bureau leads a monitoring polygon (图斑), which co-handle it,
 * and what makes it high priority. It is data, versioned and validated, because every city has
 * its own; `pipeline/route/default-rules.ts` encodes Jinan's (济自然规划发〔2023〕56号) and
 * `pipeline/route/load-rule-table.ts` reads a table from a file.
 *
 * Shares are fractions in [0, 1] of the polygon's area inside a zone kind; areas are m².
 */
import { z } from 'zod';
import { TubanError } from './errors.js';
import { BUREAU_IDS, CHANGE_TYPES, ZONE_KINDS, type ZoneKind } from './vocabulary.js';

const bureauId = z.enum(BUREAU_IDS);
const zoneKind = z.enum(ZONE_KINDS);
const share = z.number().min(0).max(1);

const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'rule id: lower-case letters, digits and _'),
    /** Zone kinds whose overlap matches the rule (any one of them with share ≥ min_share). */
    zone_kinds: z.array(zoneKind),
    /**
     * 三调 land-class (dlbm) prefixes of the polygon's land before the change that also match,
     * whatever the zone layers say (e.g. '03' = 林地).
     */
    land_class_prefixes: z.array(z.string().regex(/^\d{2,4}$/)).optional(),
    lead: bureauId,
    co: z.array(bureauId),
    /** Lower wins when several rules match. */
    priority: z.number().int(),
    /** Minimum share of the polygon inside the zone kind; the table's `min_share` when absent. */
    min_share: share.optional(),
    /** Change types the rule applies to; all when absent. */
    change_types: z.array(z.enum(CHANGE_TYPES)).min(1).optional(),
    /** Why this bureau leads, in Chinese, for the routing reason shown to people. */
    reason_zh: z.string().min(1),
  })
  .refine((r) => r.zone_kinds.length > 0 || (r.land_class_prefixes?.length ?? 0) > 0, {
    message: 'a rule needs zone_kinds or land_class_prefixes',
    path: ['zone_kinds'],
  });

export const ruleTableSchema = z
  .object({
    version: z.string().min(1),
    bureaus: z.record(bureauId, z.object({ name_zh: z.string().min(1) })),
    /** Chinese names of zone kinds, used in reasons ('饮用水水源保护区 占 63%'); the kind id when absent. */
    zone_names_zh: z.partialRecord(zoneKind, z.string().min(1)),
    /** Default minimum share for rules without their own. */
    min_share: share,
    /** Co-responsible on every polygon, whatever matched (属地: 乡镇/街道). */
    always_co: z.array(bureauId),
    rules: z.array(ruleSchema).min(1),
    /** Lead when no rule matches (Jinan: 自然资源和规划局, who also compiles the ledger). */
    default_rule: z.object({
      id: z.string().regex(/^[a-z][a-z0-9_]*$/),
      lead: bureauId,
      co: z.array(bureauId),
      reason_zh: z.string().min(1),
    }),
    priority: z.object({
      /** A polygon with share ≥ min_share in any of these kinds is high priority. */
      kinds: z.array(zoneKind),
      min_share: share,
      /** A polygon of at least this area (m²) is high priority (Haikou: a single site of 500 m² or more, 500平方米以上). */
      min_area_m2: z.number().nonnegative(),
    }),
    /**
     * Polygons mostly inside approved construction land (permits on file) are still routed, but the
     * reason says so and their size alone no longer makes them high priority.
     */
    permit: z.object({
      kinds: z.array(zoneKind).min(1),
      min_share: share,
      reason_zh: z.string().min(1),
    }),
    /**
     * Farming, not land taken: a polygon of one of `change_types` lying on `zone_kinds` with share ≥
     * min_share (or on a land class before starting with one of `land_class_prefixes`), and
     * touching none of `unless_zone_kinds`, is not issued; the batch report counts it. Crops that
     * lost their cover without turning bare or built are harvested, mown or failed; the same
     * change in a forest is clearing. Absent: every polygon is issued.
     */
    seasonal: z
      .object({
        change_types: z.array(z.enum(CHANGE_TYPES)).min(1),
        zone_kinds: z.array(zoneKind),
        land_class_prefixes: z.array(z.string().regex(/^\d{2,4}$/)).optional(),
        min_share: share,
        unless_zone_kinds: z.array(zoneKind),
        reason_zh: z.string().min(1),
      })
      .optional(),
  })
  .superRefine((t, ctx) => {
    const seen = new Set<string>([t.default_rule.id]);
    t.rules.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', message: `duplicate rule id '${r.id}'`, path: ['rules', i, 'id'] });
      seen.add(r.id);
      if (r.co.includes(r.lead)) ctx.addIssue({ code: 'custom', message: `lead '${r.lead}' is also listed as co`, path: ['rules', i, 'co'] });
    });
  });

export type RuleTable = z.infer<typeof ruleTableSchema>;
export type Rule = RuleTable['rules'][number];

function formatIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Validate an already-parsed table (from YAML, JSON or code); throws TubanError('RULES.INVALID'). */
export function parseRuleTable(input: unknown, subject = 'rule table'): RuleTable {
  const res = ruleTableSchema.safeParse(input);
  if (!res.success) throw new TubanError('RULES.INVALID', formatIssues(res.error), subject);
  return res.data;
}

/** Chinese display name of a zone kind under a table. */
export function zoneNameZh(rules: RuleTable, kind: ZoneKind): string {
  return rules.zone_names_zh[kind] ?? kind;
}
