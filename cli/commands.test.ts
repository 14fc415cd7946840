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
