/**
 * Current imagery an earlier month already filed: the same tile (same files, same grid: its id) with
 * the same acquisition date as a current tile of a batch of an earlier month. Its changes were
 * issued in that month, and it shows nothing of this one: compared again, it made every site over
 * it "continuing" and the month's ledger read "no new violation" over ground nobody had looked at
 * this month (last month's folder given as `--tiles`, exit 0). The tile job rejects such a tile
 * (`TILE.ALREADY_FILED`): its ground is not observed this month, the batch exits 3 (2 when no tile
 * is left). A tile dated after an earlier batch's month never got into it (`TILE.DATE_MISMATCH`),
 * so the earlier month rightly filed it.
 *
 * The same bytes are the same acquisition whatever the date says: a tile with no date in its tags or
 * names is dated by each batch's `--epoch`, so last month's undated folder came with this month's
 * date. It is known by its imagery's fingerprint (geo/tiff/imagery-fingerprint.ts) too. Never by
 * the id alone: a provider's new delivery keeps the names, and uncompressed the sizes.
 */
import type { TileInfo } from '../../geo/tile-reader.js';
import { TubanError } from '../../schemas/errors.js';
import type { Queryable } from '../store/queryable.js';

export interface EarlierFiling {
  epoch: string;
  batchId: string;
  /** The tile's date in that batch. */
  date: string;
}

/**
 * The latest earlier month whose batch compared this acquisition of the tile as its current imagery
 * (the tile done in a finished batch: one that month rejected, or a batch that never finished or
 * was replaced, issued nothing of it), or null.
 */
export async function filedInEarlierMonth(db: Queryable, epoch: string, tile: Pick<TileInfo, 'id' | 'date' | 'fingerprint'>): Promise<EarlierFiling | null> {
  // Rows stored before fingerprints were kept have none: they match by date only.
  const r = await db.query<{ epoch: string; batch_id: string; date: string }>(
    `SELECT b.epoch, b.id AS batch_id, t.info->'tile'->>'date' AS date
     FROM tiles t JOIN batches b ON b.id = t.batch_id
     WHERE t.role = 'current' AND t.status = 'done' AND b.status = 'done' AND b.replaced_by IS NULL
       AND b.epoch < $1 AND t.tile_id = $2
       AND (t.info->'tile'->>'date' = $3 OR t.info->'tile'->>'fingerprint' = $4::text)
     ORDER BY b.epoch DESC, b.id LIMIT 1`,
    [epoch, tile.id, tile.date, tile.fingerprint ?? null],
  );
  const row = r.rows[0];
  return row ? { epoch: row.epoch, batchId: row.batch_id, date: row.date } : null;
}

export function alreadyFiledError(tile: Pick<TileInfo, 'date' | 'files'>, epoch: string, earlier: EarlierFiling): TubanError {
  // Dated otherwise there: the same bytes (an undated tile takes each batch's --epoch as its date).
  const what = earlier.date === tile.date ? `this acquisition (${tile.date})` : `this imagery (the same bytes, dated ${earlier.date} there and ${tile.date} here)`;
  return new TubanError(
    'TILE.ALREADY_FILED',
    `${what} was already the current imagery of ${earlier.epoch} (batch ${earlier.batchId}), whose changes were issued then; ` +
      `it shows nothing of ${epoch}, so its ground is not observed this month: is --tiles last month's folder?`,
    tile.files[0],
  );
}
