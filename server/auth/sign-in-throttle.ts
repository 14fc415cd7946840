/**
 * Failed sign-ins, counted in the database (`sign_in_failures`) per client address and name, and per
 * client address across names. Keyed by address, so a stranger guessing a name locks only his own
 * address out of it, never its owner elsewhere; the per-address count stops one address from
 * spraying a password over many names.
 *
 * In the database, not in memory, so a restart does not hand a guesser a fresh budget and every
 * `tuban serve` process on one PostgreSQL counts the same failures (several behind a balancer would
 * each have granted the full budget). Rows older than the window are deleted as failures come in,
 * so the table holds at most one window of failures; a refused attempt adds none.
 *
 * An attempt is counted as a failure before its password is checked (`attempt`) and taken back
 * when the password was right (`takeBack`): checked first and counted after, every one of a burst
 * of concurrent guesses passed the check while the others were still being verified (30 at once
 * were 30 guesses, not 10).
 */
import { randomUUID } from 'node:crypto';
import { isIP, isIPv4 } from 'node:net';
import type { Queryable } from '../../pipeline/store/queryable.js';

/**
 * The client failures are counted against, of a request's address: an IPv4 address as it is (an
 * IPv4-mapped IPv6 one, `::ffff:198.51.100.7` in any spelling, as its IPv4 address: read as IPv6,
 * every IPv4 client fell into the one bucket `0:0:0:0::/64`); an IPv6 address by its /64,
 * `2001:db8:40:7::/64`, the least a site or a phone network hands one host, which may use any of
 * its 2^64 addresses: counted one by one, each was a fresh budget of guesses. A port and brackets
 * (`198.51.100.7:5123`, `[2001:db8::1]:443`, as some proxies write X-Forwarded-For) are dropped:
 * kept, each source port was a fresh budget. What is no address is kept as it is.
 */
export function throttleClient(ip: string): string {
  return clientOfAddress(ip) ?? ip;
}

/** `throttleClient` of an address; null for what is no IP address (an admin's typo in `tuban user unthrottle`). */
export function clientOfAddress(ip: string): string | null {
  const address = withoutPort(ip.trim()).replace(/%.*$/, ''); // a zone (fe80::1%eth0) names the interface, not the host
  if (isIPv4(address)) return address;
  if (isIP(address) !== 6) return null;
  const groups = ipv6Groups(address);
  // ::ffff:0:0/96 is an IPv4 address (a dual-stack socket's IPv4 client).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.');
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** `[v6]:port`, `[v6]` and `v4:port` without the port and brackets; anything else as it is. */
function withoutPort(s: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(s);
  if (bracketed) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(s);
  return v4 ? v4[1] : s;
}

/** The 8 16-bit groups of a valid IPv6 address (`isIP` said so): `::` expanded, an embedded IPv4 tail as its two groups. */
function ipv6Groups(address: string): number[] {
  const parse = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head, tail] = address.split('::');
  if (tail === undefined) return parse(head);
  const [h, t] = [parse(head), parse(tail)];
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

export interface ThrottleLimits {
  /** Failures for one name from one address before that pair is refused. */
  perName: number;
  /** Failures from one address, any names, before the address is refused. */
  perClient: number;
  /** The window the failures are counted over, ms. */
  windowMs: number;
}

/** An attempt `attempt` counted: its row's own id, by which a right password takes it back. */
export interface SignInAttempt {
  id: string;
}

export const DEFAULT_LIMITS: ThrottleLimits = { perName: 10, perClient: 50, windowMs: 15 * 60_000 };

/** Milliseconds since the epoch as the timestamptz a row holds (the caller's clock, so tests can move it). */
const AT = (n: number) => `to_timestamp($${n}::float8 / 1000)`;

export class SignInThrottle {
  readonly limits: ThrottleLimits;
  private readonly db: Queryable;

  constructor(db: Queryable, limits: Partial<ThrottleLimits> = {}) {
    this.db = db;
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /**
   * Milliseconds until `client` may try `name` again; 0 when it may now. `own`: how many of the rows
   * are the caller's own attempt, counted already (`attempt`), which the limits do not include.
   */
  async retryAfterMs(client: string, name: string, nowMs: number, own = 0): Promise<number> {
    // The oldest of the newest `limit` failures in the window: refused until it leaves the window.
    const r = await this.db.query<{ pair: number | null; any: number | null }>(
      `SELECT
         (SELECT extract(epoch FROM at) * 1000 FROM sign_in_failures WHERE client = $1 AND name = $2 AND at > ${AT(3)} ORDER BY at DESC OFFSET $4 LIMIT 1) AS pair,
         (SELECT extract(epoch FROM at) * 1000 FROM sign_in_failures WHERE client = $1 AND at > ${AT(3)} ORDER BY at DESC OFFSET $5 LIMIT 1) AS any`,
      [client, name, nowMs - this.limits.windowMs, this.limits.perName - 1 + own, this.limits.perClient - 1 + own],
    );
    const oldest = Math.max(Number(r.rows[0].pair ?? -Infinity), Number(r.rows[0].any ?? -Infinity));
    return oldest === -Infinity ? 0 : Math.max(0, Math.round(oldest + this.limits.windowMs - nowMs));
  }

  /**
   * A sign-in of `name` from `client` at `nowMs`, counted as a failure before its password is
   * checked: how long until it may be tried (0: check the password now), and the attempt, which a
   * right password takes back (`takeBack`). A refused attempt is taken back at once. Each attempt's
   * own row is in place before it counts, so of any attempts at once only as many as the limits pass.
   */
  async attempt(client: string, name: string, nowMs: number): Promise<{ retryAfterMs: number; attempt: SignInAttempt }> {
    const attempt = { id: randomUUID() };
    await this.db.query(`INSERT INTO sign_in_failures (client, name, at, attempt) VALUES ($1, $2, ${AT(3)}, $4)`, [client, name, nowMs, attempt.id]);
    await this.db.query(`DELETE FROM sign_in_failures WHERE at <= ${AT(1)}`, [nowMs - this.limits.windowMs]);
    const retryAfterMs = await this.retryAfterMs(client, name, nowMs, 1);
    if (retryAfterMs > 0) await this.takeBack(attempt);
    return { retryAfterMs, attempt };
  }

  /**
   * Removes the row `attempt` counted. By its own id, not a row alike: attempts at once share their
   * millisecond, and each taking back "one of them" took back the same one; nor by its physical row,
   * which a right password of the same name at the same moment moves (`recordSuccess`).
   */
  async takeBack(attempt: SignInAttempt): Promise<void> {
    await this.db.query('DELETE FROM sign_in_failures WHERE attempt = $1', [attempt.id]);
  }

  /**
   * Forgets every failure counted against `client` (an admin's `tuban user unthrottle`: an office
   * behind one address locked out by a colleague's slips waits no window), audited as `actor`'s.
   * How many were forgotten.
   */
  async clear(client: string, actor = 'cli'): Promise<number> {
    const r = await this.db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM sign_in_failures WHERE client = $1 RETURNING 1),
            audit AS (INSERT INTO audit_log (actor, action, code, before, after)
                      SELECT $2, 'user.unthrottle', NULL, NULL, jsonb_build_object('client', $1::text, 'cleared', (SELECT count(*) FROM gone)))
       SELECT (SELECT count(*) FROM gone)::int AS n`,
      [client, actor],
    );
    return r.rows[0].n;
  }

  /**
   * A right password clears that address's count for the name only: the per-address count stays,
   * or one valid account would let its holder reset his own spraying budget.
   */
  async recordSuccess(client: string, name: string): Promise<void> {
    await this.db.query('UPDATE sign_in_failures SET name = NULL WHERE client = $1 AND name = $2', [client, name]);
  }
}
