import { describe, expect, it } from 'vitest';
import { SignInThrottle } from './sign-in-throttle.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 3, 2);

function failTimes(th: SignInThrottle, client: string, name: string, n: number, at = T0): void {
  for (let i = 0; i < n; i++) th.recordFailure(client, name, at);
}

describe('SignInThrottle', () => {
  it('locks a name out from the address that failed, not from others, until the window passes', () => {
    const th = new SignInThrottle();
    failTimes(th, '203.0.113.9', 'chief', 10);
    expect(th.retryAfterMs('203.0.113.9', 'chief', T0 + MIN)).toBe(14 * MIN);
    expect(th.retryAfterMs('10.1.2.3', 'chief', T0 + MIN)).toBe(0);
    expect(th.retryAfterMs('203.0.113.9', 'other', T0 + MIN)).toBe(0);
    expect(th.retryAfterMs('203.0.113.9', 'chief', T0 + 15 * MIN)).toBe(0);
  });

  it('refuses an address that sprays failures over many names', () => {
    const th = new SignInThrottle();
    for (let i = 0; i < 50; i++) th.recordFailure('203.0.113.9', `user${i}`, T0);
    expect(th.retryAfterMs('203.0.113.9', 'never-tried', T0)).toBe(15 * MIN);
    expect(th.retryAfterMs('10.1.2.3', 'never-tried', T0)).toBe(0);
  });

  it('a right password clears the name for that address but not the address count', () => {
    const th = new SignInThrottle({ perName: 3, perClient: 5 });
    failTimes(th, 'a', 'x', 3);
    th.recordSuccess('a', 'x');
    expect(th.retryAfterMs('a', 'x', T0)).toBe(0);
    failTimes(th, 'a', 'y', 2);
    expect(th.retryAfterMs('a', 'z', T0)).toBeGreaterThan(0);
  });

  it('drops the least recently failed entries past the bound, keeping recent lockouts', () => {
    const th = new SignInThrottle({ maxEntries: 4 });
    failTimes(th, '198.51.100.1', 'early', 10, T0 - 1);
    failTimes(th, '203.0.113.9', 'chief', 10, T0);
    for (let i = 0; i < 2; i++) th.recordFailure(`198.51.100.${10 + i}`, `n${i}`, T0 + 1 + i);
    expect(th.size).toEqual({ byName: 4, byClient: 4 });
    // The table used to be cleared wholesale when full; one more name now drops the oldest entry only.
    th.recordFailure('198.51.100.99', 'n99', T0 + 5);
    expect(th.size).toEqual({ byName: 4, byClient: 4 });
    expect(th.retryAfterMs('198.51.100.1', 'early', T0 + 10)).toBe(0);
    expect(th.retryAfterMs('203.0.113.9', 'chief', T0 + 10)).toBeGreaterThan(0);
  });
});
