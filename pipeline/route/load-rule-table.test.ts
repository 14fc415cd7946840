import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import { DEFAULT_RULES } from './default-rules.js';
import { loadRuleTable } from './load-rule-table.js';

const example = fileURLToPath(new URL('../../schemas/rules.example.yaml', import.meta.url));

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tuban-rules-'));
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function rejection(p: Promise<unknown>): Promise<TubanError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TubanError);
    return err as TubanError;
  }
  throw new Error('expected a rejection');
}

describe('loadRuleTable', () => {
  it('returns the validated built-in table without a path', async () => {
    const t = await loadRuleTable();
    expect(t).toEqual(DEFAULT_RULES);
    expect(t.bureaus.forestry.name_zh).toBe('园林和林业绿化局');
  });

  it('parses rules.example.yaml to exactly the built-in default', async () => {
    expect(await loadRuleTable(example)).toEqual(DEFAULT_RULES);
  });

  it('reads JSON too', async () => {
    const p = await tempFile('rules.json', JSON.stringify(DEFAULT_RULES));
    expect(await loadRuleTable(p)).toEqual(DEFAULT_RULES);
  });

  it('reports schema violations as RULES.INVALID with the path to the bad field', async () => {
    const bad = structuredClone(DEFAULT_RULES) as unknown as { rules: Record<string, unknown>[] };
    bad.rules[2].lead = 'police';
    bad.rules[4].zone_kinds = ['motorway'];
    const err = await rejection(loadRuleTable(await tempFile('bad.yaml', stringify(bad))));
    expect(err.code).toBe('RULES.INVALID');
    expect(err.disposition).toBe('fail');
    expect(err.message).toContain('rules.2.lead');
    expect(err.message).toContain('rules.4.zone_kinds.0');
    expect(err.subject).toMatch(/bad\.yaml$/);
  });

  it('rejects duplicate rule ids and a lead listed among its own co-bureaus', async () => {
    const bad = structuredClone(DEFAULT_RULES);
    bad.rules[1].id = bad.rules[0].id;
    bad.rules[3].co = ['forestry'];
    const err = await rejection(loadRuleTable(await tempFile('dup.json', JSON.stringify(bad))));
    expect(err.message).toContain("rules.1.id: duplicate rule id 'drinking_water_source'");
    expect(err.message).toContain('rules.3.co');
  });

  it('rejects a rule with neither zone kinds nor land classes', async () => {
    const bad = structuredClone(DEFAULT_RULES);
    bad.rules[0].zone_kinds = [];
    const err = await rejection(loadRuleTable(await tempFile('empty.json', JSON.stringify(bad))));
    expect(err.message).toContain('rules.0.zone_kinds: a rule needs zone_kinds or land_class_prefixes');
  });

  it('turns a missing file and broken YAML into RULES.INVALID', async () => {
    expect((await rejection(loadRuleTable('/nonexistent/rules.yaml'))).code).toBe('RULES.INVALID');
    const err = await rejection(loadRuleTable(await tempFile('broken.yaml', 'rules: [\n  - id: x\n  bad')));
    expect(err.code).toBe('RULES.INVALID');
    expect(err.message).toContain('cannot parse');
  });
});
