/**
 * Failed sign-ins, counted in memory (a restart forgets them, which is acceptable) per client
 * address and name, and per client address across names. Keyed by address, so a stranger guessing
 * a name locks only his own address out of it, never its owner elsewhere; the per-address count
 * stops one address from spraying a password over many names.
 *
 * Both tables are bounded: past `maxEntries` the least recently failed entries are dropped, so a
 * flood of names costs a few old, mostly expired entries instead of every lockout at once.
 */

export interface ThrottleLimits {
  /** Failures for one name from one address before that pair is refused. */
  perName: number;
  /** Failures from one address, any names, before the address is refused. */
  perClient: number;
  /** The window the failures are counted over, ms. */
  windowMs: number;
  /** Entries kept in each table before the least recently failed are dropped. */
  maxEntries: number;
}

export const DEFAULT_LIMITS: ThrottleLimits = { perName: 10, perClient: 50, windowMs: 15 * 60_000, maxEntries: 10_000 };

export class SignInThrottle {
  readonly limits: ThrottleLimits;
  /** Failure times (ms) per `address \n name`, oldest first; Map order = least recently failed first. */
  private readonly byName = new Map<string, number[]>();
  /** Failure times (ms) per address, oldest first. */
  private readonly byClient = new Map<string, number[]>();

  constructor(limits: Partial<ThrottleLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Milliseconds until `client` may try `name` again; 0 when it may now. */
  retryAfterMs(client: string, name: string, nowMs: number): number {
    return Math.max(this.wait(this.byName, pairKey(client, name), this.limits.perName, nowMs), this.wait(this.byClient, client, this.limits.perClient, nowMs));
  }

  recordFailure(client: string, name: string, nowMs: number): void {
    this.push(this.byName, pairKey(client, name), this.limits.perName, nowMs);
    this.push(this.byClient, client, this.limits.perClient, nowMs);
  }

  /**
   * A right password clears that address's count for the name only: the per-address count stays,
   * or one valid account would let its holder reset his own spraying budget.
   */
  recordSuccess(client: string, name: string): void {
    this.byName.delete(pairKey(client, name));
  }

  /** Entries held, per table (for tests and diagnostics). */
  get size(): { byName: number; byClient: number } {
    return { byName: this.byName.size, byClient: this.byClient.size };
  }

  private recent(times: number[] | undefined, nowMs: number): number[] {
    return (times ?? []).filter((t) => t > nowMs - this.limits.windowMs);
  }

  private wait(table: Map<string, number[]>, key: string, limit: number, nowMs: number): number {
    const recent = this.recent(table.get(key), nowMs);
    if (recent.length < limit) return 0;
    // Refused until the oldest counted failure leaves the window.
    return recent[recent.length - limit] + this.limits.windowMs - nowMs;
  }

  private push(table: Map<string, number[]>, key: string, limit: number, nowMs: number): void {
    // Only the newest `limit` times matter; deleting first moves the key to the end of the Map's order.
    const times = [...this.recent(table.get(key), nowMs), nowMs].slice(-limit);
    table.delete(key);
    table.set(key, times);
    for (const oldest of table.keys()) {
      if (table.size <= this.limits.maxEntries) break;
      table.delete(oldest);
    }
  }
}

function pairKey(client: string, name: string): string {
  return `${client}\n${name}`;
}
