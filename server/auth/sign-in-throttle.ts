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
 */
import type { Queryable } from '../../pipeline/store/queryable.js';

export interface ThrottleLimits {
  /** Failures for one name from one address before that pair is refused. */
  perName: number;
  /** Failures from one address, any names, before the address is refused. */
  perClient: number;
  /** The window the failures are counted over, ms. */
  windowMs: number;
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

  /** Milliseconds until `client` may try `name` again; 0 when it may now. */
  async retryAfterMs(client: string, name: string, nowMs: number): Promise<number> {
    // The oldest of the newest `limit` failures in the window: refused until it leaves the window.
    const r = await this.db.query<{ pair: number | null; any: number | null }>(
      `SELECT
         (SELECT extract(epoch FROM at) * 1000 FROM sign_in_failures WHERE client = $1 AND name = $2 AND at > ${AT(3)} ORDER BY at DESC OFFSET $4 LIMIT 1) AS pair,
         (SELECT extract(epoch FROM at) * 1000 FROM sign_in_failures WHERE client = $1 AND at > ${AT(3)} ORDER BY at DESC OFFSET $5 LIMIT 1) AS any`,
      [client, name, nowMs - this.limits.windowMs, this.limits.perName - 1, this.limits.perClient - 1],
    );
    const oldest = Math.max(Number(r.rows[0].pair ?? -Infinity), Number(r.rows[0].any ?? -Infinity));
    return oldest === -Infinity ? 0 : Math.max(0, Math.round(oldest + this.limits.windowMs - nowMs));
  }

  async recordFailure(client: string, name: string, nowMs: number): Promise<void> {
    await this.db.query(`INSERT INTO sign_in_failures (client, name, at) VALUES ($1, $2, ${AT(3)})`, [client, name, nowMs]);
    await this.db.query(`DELETE FROM sign_in_failures WHERE at <= ${AT(1)}`, [nowMs - this.limits.windowMs]);
  }

  /**
   * A right password clears that address's count for the name only: the per-address count stays,
   * or one valid account would let its holder reset his own spraying budget.
   */
  async recordSuccess(client: string, name: string): Promise<void> {
    await this.db.query('UPDATE sign_in_failures SET name = NULL WHERE client = $1 AND name = $2', [client, name]);
  }
}
