/**
 * Serials are handed out per (epoch, district) inside the transaction that stores a batch's
 * polygons, so two batches finalising at once on a server cannot both read the same "highest serial
 * in use" and give out the same codes. The lock is a transaction-scoped advisory lock per
 * (epoch, district): no table to migrate, released by COMMIT/ROLLBACK, and on a crashed connection.
 * A batch spanning several districts takes its locks in one global order (by key), so two batches
 * over overlapping district sets wait for each other instead of deadlocking.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './queryable.js';

/** Signed 64-bit advisory-lock key for one district's serials in one epoch (text, for `::bigint`). */
export function serialLockKey(epoch: string, districtCode: string): bigint {
  return createHash('sha256').update(`tuban.serials\0${epoch}\0${districtCode}`).digest().readBigInt64BE(0);
}

/** Lock the numbering of `districts` in `epoch` until the transaction ends, in ascending key order. */
export async function lockSerials(tx: Queryable, epoch: string, districts: Iterable<string>): Promise<void> {
  const keys = [...new Set([...districts].map((d) => serialLockKey(epoch, d)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [k.toString()]);
}

/**
 * Per district, the highest serial among `rows` (a query giving `district_code` and `s`, a code's
 * third part): clue serials (`X0001`) are not numbers and are not counted.
 */
export const maxSerialSql = (rows: string) =>
  `SELECT district_code, max(serial)::int AS serial FROM (${rows}) u
   CROSS JOIN LATERAL (SELECT CASE WHEN u.s ~ '^[0-9]+$' THEN u.s::int END AS serial) n
   WHERE serial IS NOT NULL GROUP BY district_code`;

/**
 * How far to move each district's serials (numbered from 1 in the batch), decided under
 * `lockSerials`: a batch that already holds exactly as many consecutive serials in a district as it
 * now issues keeps them (a re-run keeps its codes); otherwise it continues after the highest serial
 * held by other batches on other tiles (`others`), so concurrent batches get distinct, gap-free codes.
 * @param counts polygons this batch issues per district.
 * @param others highest serial per district held by other batches on other tiles.
 */
export async function serialOffsets(
  tx: Queryable,
  epoch: string,
  batchId: string,
  counts: ReadonlyMap<string, number>,
  others: Readonly<Record<string, number>>,
): Promise<Map<string, number>> {
  const own = await tx.query<{ district_code: string; n: number; lo: number; hi: number }>(
    `SELECT district_code, count(*)::int AS n, min(split_part(code, '-', 3)::int) AS lo, max(split_part(code, '-', 3)::int) AS hi
     FROM polygons WHERE epoch = $1 AND batch_id = $2 GROUP BY district_code`,
    [epoch, batchId],
  );
  const kept = new Map(own.rows.map((r) => [r.district_code, r]));
  const offsets = new Map<string, number>();
  for (const [district, n] of counts) {
    const k = kept.get(district);
    offsets.set(district, k && k.n === n && k.hi - k.lo + 1 === n ? k.lo - 1 : (others[district] ?? 0));
  }
  return offsets;
}
