/**
 * Reading the routing rule table: a YAML or JSON file validated against `schemas/rule-table.ts`,
 * or the built-in Jinan table when no file is given.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TubanError } from '../../schemas/errors.js';
import { parseRuleTable, type RuleTable } from '../../schemas/rule-table.js';
import { DEFAULT_RULES } from './default-rules.js';

/**
 * Load a rule table from a YAML (.yaml/.yml) or JSON (.json) file, validated; without a path, the
 * built-in Jinan table. Every failure — unreadable file, bad syntax, schema violation — is
 * TubanError('RULES.INVALID') naming the file, since a batch must not route with a broken table.
 */
export async function loadRuleTable(path?: string): Promise<RuleTable> {
  if (path === undefined) return parseRuleTable(DEFAULT_RULES, 'default rules');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TubanError('RULES.INVALID', `cannot read rule table: ${(err as Error).message}`, path, { cause: err });
  }
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new TubanError('RULES.INVALID', `cannot parse rule table: ${(err as Error).message}`, path, { cause: err });
  }
  return parseRuleTable(raw, path);
}
