import { describe, expect, it } from 'vitest';
import { COMMANDS, nearest } from './commands.js';

describe('nearest flag', () => {
  const batch = COMMANDS.batch.flags;
  it('suggests the flag the user plainly meant, preferring the closer one among prefixes', () => {
    expect(nearest('zone', batch)).toBe('zones');
    expect(nearest('tiles-dat', batch)).toBe('tiles-date');
    expect(nearest('prior-dates', batch)).toBe('prior-date');
    expect(nearest('wait', batch)).toBe('wait-db');
    expect(nearest('wait-d', COMMANDS.migrate.flags)).toBe('wait-db');
  });
  it('suggests nothing for an unrelated name', () => {
    expect(nearest('concurrency', batch)).toBeNull();
  });
});

describe('exit codes in the usage', () => {
  it("name, for every command that exits 64, a bad setting it uses (CONFIG.INVALID): each refuses its own (settings-check.ts)", () => {
    for (const [command, spec] of Object.entries(COMMANDS)) {
      expect(spec.exits, command).toMatch(/\b64\b/);
      expect(spec.exits, command).toContain('a TUBAN_* setting it uses out of range');
      expect(spec.exits, command).toContain('CONFIG.INVALID');
    }
  });
});
