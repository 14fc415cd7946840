/**
 * Transactions run again when PostgreSQL ended them to break a deadlock (40P01) or could not
 * serialise them (40001): such a transaction was rolled back whole and nothing of it was seen, so
 * run again it meets the other one committed, instead of answering its user 500.
 *
 * Lock order: a carrier before the sightings merged into it. An action locks its case first
 * (runAction), then the sightings merged into it (reassign, withdraw); a separation, acting on a
 * sighting, locks its carrier before it (case-store.ts lockCarrier). A carrier's code sorts before
 * its sightings' (an earlier month, same district), so this is code order; the sweep and the
 * withdrawal pass lock each set they change in code order, and the pass reissues the sightings of
 * the carriers it withdrew after locking them. But a pass runs several statements, each locking a
 * set of its own (the sync moves cases to their township before it locks the lost ones; the sweep
 * locks the late cases before the late hand-overs), and some single statements lock rows in no
 * order of ours (the sync's geometry flags, the sweep's construction-stage escalations: a sighting
 * may be locked before its carrier there), so two passes of two server processes, or a pass
 * and an action, can still wait for each other: PostgreSQL fails one of them after
 * `deadlock_timeout` (1 s), and it runs again here.
 */
import { TubanError } from '../../schemas/errors.js';
import type { Database, Queryable } from '../../pipeline/store/queryable.js';

const ATTEMPTS = 4;

/** The SQLSTATE of a deadlock victim or a serialisation failure, under its DB.TRANSIENT wrapper. */
function isLockConflict(err: unknown): boolean {
  const cause = err instanceof TubanError && err.code === 'DB.TRANSIENT' ? err.cause : err;
  const code = (cause as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

export async function retriedTransaction<T>(db: Database, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      if (attempt >= ATTEMPTS || !isLockConflict(err)) throw err;
    }
  }
}
