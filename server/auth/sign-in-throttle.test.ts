import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../pipeline/store/queryable.js';
import { openTestDatabase } from '../testing/fixtures.js';
import { SignInThrottle, throttleClient } from './sign-in-throttle.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 3, 2);

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase();
}, 120_000);
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await db.query('DELETE FROM sign_in_failures');
});

async function failTimes(th: SignInThrottle, client: string, name: string, n: number, at = T0): Promise<void> {
  for (let i = 0; i < n; i++) await th.attempt(client, name, at);
}

describe('SignInThrottle', () => {
  it('locks a name out from the address that failed, not from others, until the window passes', async () => {
    const th = new SignInThrottle(db);
    await failTimes(th, '203.0.113.9', 'chief', 10);
    expect(await th.retryAfterMs('203.0.113.9', 'chief', T0 + MIN)).toBe(14 * MIN);
    expect(await th.retryAfterMs('10.1.2.3', 'chief', T0 + MIN)).toBe(0);
    expect(await th.retryAfterMs('203.0.113.9', 'other', T0 + MIN)).toBe(0);
    expect(await th.retryAfterMs('203.0.113.9', 'chief', T0 + 15 * MIN)).toBe(0);
  });

  it('counts only the newest failures: nine old ones and one new do not lock', async () => {
    const th = new SignInThrottle(db);
    await failTimes(th, 'a', 'x', 9, T0);
    await failTimes(th, 'a', 'x', 1, T0 + 16 * MIN);
    expect(await th.retryAfterMs('a', 'x', T0 + 16 * MIN)).toBe(0);
    await failTimes(th, 'a', 'x', 9, T0 + 17 * MIN);
    expect(await th.retryAfterMs('a', 'x', T0 + 17 * MIN)).toBe(14 * MIN);
  });

  it('refuses an address that sprays failures over many names', async () => {
    const th = new SignInThrottle(db);
    for (let i = 0; i < 50; i++) await th.attempt('203.0.113.9', `user${i}`, T0);
    expect(await th.retryAfterMs('203.0.113.9', 'never-tried', T0)).toBe(15 * MIN);
    expect(await th.retryAfterMs('10.1.2.3', 'never-tried', T0)).toBe(0);
  });

  it('a right password clears the name for that address but not the address count', async () => {
    const th = new SignInThrottle(db, { perName: 3, perClient: 5 });
    await failTimes(th, 'a', 'x', 3);
    await th.recordSuccess('a', 'x');
    expect(await th.retryAfterMs('a', 'x', T0)).toBe(0);
    await failTimes(th, 'a', 'y', 2);
    expect(await th.retryAfterMs('a', 'z', T0)).toBeGreaterThan(0);
  });

  it('lets through no more of a burst of attempts at once than the limit, and keeps no refused one', async () => {
    const th = new SignInThrottle(db);
    const waits = (await Promise.all(Array.from({ length: 30 }, () => th.attempt('203.0.113.9', 'chief', T0)))).map((a) => a.retryAfterMs);
    // Each counts the others already in: how many pass depends on the interleaving, never more than 10.
    const passed = waits.filter((w) => w === 0).length;
    expect(passed).toBeLessThanOrEqual(10);
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sign_in_failures');
    expect(n.rows[0].n).toBe(passed);
    // One after another, the budget is the same ten.
    await db.query('DELETE FROM sign_in_failures');
    const serial: number[] = [];
    for (let i = 0; i < 12; i++) serial.push((await th.attempt('203.0.113.9', 'chief', T0)).retryAfterMs);
    expect(serial.filter((w) => w === 0)).toHaveLength(10);
  });

  it('takes back the attempt of a right password: it counts against neither the name nor the address', async () => {
    const th = new SignInThrottle(db, { perName: 3, perClient: 5 });
    for (let i = 0; i < 8; i++) {
      const { retryAfterMs, attempt } = await th.attempt('a', 'x', T0);
      expect(retryAfterMs).toBe(0);
      await th.takeBack(attempt);
    }
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sign_in_failures');
    expect(n.rows[0].n).toBe(0);
  });

  it("takes back a right password's attempt although another right one of the name cleared its name meanwhile (an office signing in at once)", async () => {
    // Two sign-ins of one name at once, both right: the first's recordSuccess moves the second's row
    // (name cleared). Taken back by its physical row it stayed, a failure of the address, and an
    // office behind one address added up to a lock-out (the concurrency test's users got 429).
    const th = new SignInThrottle(db, { perName: 3, perClient: 5 });
    for (let i = 0; i < 8; i++) {
      const [a, b] = await Promise.all([th.attempt('office', 'chief', T0), th.attempt('office', 'chief', T0)]);
      expect([a.retryAfterMs, b.retryAfterMs]).toEqual([0, 0]);
      await th.takeBack(a.attempt);
      await th.recordSuccess('office', 'chief');
      await th.takeBack(b.attempt);
      await th.recordSuccess('office', 'chief');
    }
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sign_in_failures');
    expect(n.rows[0].n).toBe(0);
  });

  it("forgets an address's failures when an admin clears it, that address only, and audits it", async () => {
    const th = new SignInThrottle(db, { perName: 3, perClient: 5 });
    await failTimes(th, 'office', 'wang', 3);
    await failTimes(th, 'office', 'li', 2);
    await failTimes(th, 'elsewhere', 'wang', 3);
    expect(await th.retryAfterMs('office', 'zhao', T0)).toBeGreaterThan(0); // the address is locked out
    expect(await th.clear('office', 'admin1')).toBe(5);
    expect(await th.retryAfterMs('office', 'wang', T0)).toBe(0);
    expect(await th.retryAfterMs('elsewhere', 'wang', T0)).toBeGreaterThan(0);
    const audit = await db.query<{ actor: string; after: unknown }>("SELECT actor, after FROM audit_log WHERE action = 'user.unthrottle' ORDER BY id DESC LIMIT 1");
    expect(audit.rows).toEqual([{ actor: 'admin1', after: { client: 'office', cleared: 5 } }]);
    expect(await th.clear('office')).toBe(0);
  });

  it('is shared by every server on the database and outlives a restart (a new throttle over it)', async () => {
    await failTimes(new SignInThrottle(db), '203.0.113.9', 'chief', 10);
    expect(await new SignInThrottle(db).retryAfterMs('203.0.113.9', 'chief', T0 + MIN)).toBe(14 * MIN);
  });

  it('holds one window of failures: older rows go as new ones come', async () => {
    const th = new SignInThrottle(db);
    await failTimes(th, '198.51.100.1', 'early', 10, T0);
    await failTimes(th, '203.0.113.9', 'chief', 2, T0 + 15 * MIN + 1);
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sign_in_failures');
    expect(n.rows[0].n).toBe(2);
  });
});

describe('throttleClient', () => {
  it('keeps an IPv4 address, maps an IPv4-mapped one back, and counts IPv6 by its /64', () => {
    expect(
      ['127.0.0.1', '::ffff:198.51.100.7', '::1', '2001:db8::1', '2001:0DB8:0000:0007:1:2:3:4', 'fe80::1%eth0', '64:ff9b::198.51.100.7', '2001:db8:1:2:3::198.51.100.7', 'not an address'].map(throttleClient),
    ).toEqual(['127.0.0.1', '198.51.100.7', '0:0:0:0::/64', '2001:db8:0:0::/64', '2001:db8:0:7::/64', 'fe80:0:0:0::/64', '64:ff9b:0:0::/64', '2001:db8:1:2::/64', 'not an address']);
  });

  it("strips the port and brackets a proxy's X-Forwarded-For may carry: each source port is not a fresh budget", () => {
    expect(['198.51.100.7:5123', '198.51.100.7:443', '[2001:db8:40:7::9]:5123', '[2001:db8:40:7::a]', ' 198.51.100.7 ', '[::ffff:198.51.100.7]:80'].map(throttleClient)).toEqual([
      '198.51.100.7',
      '198.51.100.7',
      '2001:db8:40:7::/64',
      '2001:db8:40:7::/64',
      '198.51.100.7',
      '198.51.100.7',
    ]);
  });

  it('maps an IPv4-mapped address back to its IPv4 address in any spelling: IPv4 clients never share one /64 bucket', () => {
    const spellings = ['0:0:0:0:0:ffff:198.51.100.7', '0:0:0:0:0:FFFF:c633:6407', '::ffff:c633:6407', '::0:ffff:198.51.100.7', '0000:0000:0000:0000:0000:ffff:198.51.100.7', '[0:0:0:0:0:ffff:198.51.100.7]:8080'];
    expect(spellings.map(throttleClient)).toEqual(spellings.map(() => '198.51.100.7'));
    expect(throttleClient('0:0:0:0:0:ffff:203.0.113.9')).toBe('203.0.113.9');
  });

  it('keeps what is no address as it is, and does not take an IPv6 address for an address and a port', () => {
    expect(['not an address', '198.51.100.7:99999:1', '[garbage]:80', '2001:db8::80'].map(throttleClient)).toEqual(['not an address', '198.51.100.7:99999:1', '[garbage]:80', '2001:db8:0:0::/64']);
  });
});
