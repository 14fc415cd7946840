/**
 * The rule tables the database's batches routed with (each batch's plan names its `--rules` file),
 * for the Chinese names of bureaus and zone kinds: the ledger and the triage page must call a bureau
 * what the city's table calls it, not what the built-in Jinan table does.
 */
import type { Queryable } from '../store/queryable.js';
import type { RuleTable } from '../../schemas/rule-table.js';
import type { BureauId, ZoneKind } from '../../schemas/vocabulary.js';
import { loadRuleTable } from './load-rule-table.js';

/** The tables of the files named (each loaded once, in order), then the built-in default last. */
export async function ruleTablesOfPaths(paths: readonly string[]): Promise<RuleTable[]> {
  const tables: RuleTable[] = [];
  for (const path of new Set(paths)) {
    try {
      tables.push(await loadRuleTable(path));
    } catch {
      // The file moved since the batch ran: names fall back to the default table's.
    }
  }
  tables.push(await loadRuleTable());
  return tables;
}

/** The tables batch plans name (`plan.args.rules`), then the default. */
export function ruleTablesOfPlans(plans: unknown[]): Promise<RuleTable[]> {
  const paths = plans.map((plan) => (plan as { args?: { rules?: string } } | null)?.args?.rules).filter((p): p is string => typeof p === 'string');
  return ruleTablesOfPaths(paths);
}

/** The rule files the database's batches routed with, newest batch first (a batch without one used the default). */
export async function batchRulePaths(db: Queryable): Promise<string[]> {
  // Only the file name is read from each plan (a plan lists every tile and can be large).
  const r = await db.query<{ rules: string }>(
    `SELECT plan->'args'->>'rules' AS rules FROM batches WHERE plan->'args'->>'rules' IS NOT NULL
     ORDER BY COALESCE(finished_at, created_at) DESC, id`,
  );
  return r.rows.map((row) => row.rules);
}

export interface RuleNames {
  bureaus: Record<string, string>;
  zones: Record<string, string>;
}

/** Bureau and zone names merged over the tables, the first table naming an id winning. */
export function ruleNames(tables: RuleTable[]): RuleNames {
  const bureaus: Record<string, string> = {};
  const zones: Record<string, string> = {};
  for (const t of [...tables].reverse()) {
    for (const [id, b] of Object.entries(t.bureaus) as [BureauId, { name_zh: string }][]) bureaus[id] = b.name_zh;
    for (const [k, n] of Object.entries(t.zone_names_zh) as [ZoneKind, string][]) zones[k] = n;
  }
  return { bureaus, zones };
}
