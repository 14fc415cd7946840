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
 * date. It is known by its imagery's fingerprint (geo/tiff/imagery-fingerprint.ts) too, whatever
 * the files' names (another tile id): last month's folder renamed, or delivered again under new names.
 * Never by the id alone: a provider's new delivery keeps the names, and uncompressed the sizes. Nor
 * by a blank tile's fingerprint (all nodata, or one value), which every such tile shares: it has none.
 */
import type { TileInfo } from '../../geo/tile-reader.js';
import { TubanError } from '../../schemas/errors.js';
import type { Queryable } from '../store/queryable.js';

export interface EarlierFiling {
  epoch: string;
  batchId: string;
  /** The tile's date in that batch, its id and its (first) file there. */
  date: string;
  tileId: string;
  file: string;
}

/**
 * The latest earlier month whose batch compared this acquisition of the tile as its current imagery
 * (the tile done in a finished batch: one that month rejected, or a batch that never finished or
 * was replaced, issued nothing of it), or null. The same tile (its id) with the same date, or the
 * same bytes under any name: last month's folder renamed, or delivered again under new names.
 */
export async function filedInEarlierMonth(db: Queryable, epoch: string, tile: Pick<TileInfo, 'id' | 'date' | 'fingerprint'>): Promise<EarlierFiling | null> {
  // Rows stored before fingerprints were kept have none, and a blank tile (all nodata) none that
  // tells its acquisition: they match by tile and date only. The same tile first where both match.
  const r = await db.query<{ epoch: string; batch_id: string; date: string; tile_id: string; file: string }>(
    `SELECT b.epoch, b.id AS batch_id, t.info->'tile'->>'date' AS date, t.tile_id, t.info->'tile'->'files'->>0 AS file
     FROM tiles t JOIN batches b ON b.id = t.batch_id
     WHERE t.role = 'current' AND t.status = 'done' AND b.status = 'done' AND b.replaced_by IS NULL
       AND b.epoch < $1
       AND ((t.tile_id = $2 AND t.info->'tile'->>'date' = $3) OR t.info->'tile'->>'fingerprint' = $4::text)
     ORDER BY b.epoch DESC, (t.tile_id = $2) DESC, b.id, t.tile_id LIMIT 1`,
    [epoch, tile.id, tile.date, tile.fingerprint ?? null],
  );
  const row = r.rows[0];
  return row ? { epoch: row.epoch, batchId: row.batch_id, date: row.date, tileId: row.tile_id, file: row.file } : null;
}

export function alreadyFiledError(tile: Pick<TileInfo, 'id' | 'date' | 'files'>, epoch: string, earlier: EarlierFiling): TubanError {
  // Dated otherwise there: the same bytes (an undated tile takes each batch's --epoch as its date);
  // another tile id: the same bytes under other names, named by the file that month read.
  const sameTile = earlier.tileId === tile.id;
  const dated = earlier.date === tile.date ? '' : `, dated ${earlier.date} there and ${tile.date} here`;
  const what = sameTile && !dated
    ? `this acquisition (${tile.date})`
    : `this imagery (the same bytes${sameTile ? '' : ` as ${earlier.file}`}${dated})`;
  return new TubanError(
    'TILE.ALREADY_FILED',
    `${what} was already the current imagery of ${earlier.epoch} (batch ${earlier.batchId}), whose changes were issued then; ` +
      `it shows nothing of ${epoch}, so its ground is not observed this month: is --tiles last month's folder${sameTile ? '' : ', renamed'}?`,
    tile.files[0],
  );
}
