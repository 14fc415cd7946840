import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { LEDGER_COLUMNS } from './ledger.js';
import { LEDGER_SHP_FIELDS } from './ledger-shapefile-fields.js';

describe('ledger shapefile field names', () => {
  it('maps every ledger column, in order, to a unique ASCII name of at most 10 bytes', () => {
    expect(LEDGER_SHP_FIELDS.map((f) => f.column)).toEqual([...LEDGER_COLUMNS]);
    for (const f of LEDGER_SHP_FIELDS) expect(f.name).toMatch(/^[A-Z][A-Z0-9_]{0,9}$/);
    expect(new Set(LEDGER_SHP_FIELDS.map((f) => f.name)).size).toBe(LEDGER_SHP_FIELDS.length);
  });

  it('is the table the README documents', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    for (const f of LEDGER_SHP_FIELDS) expect(readme).toContain(`| ${f.column} | \`${f.name}\` |`);
  });
});
