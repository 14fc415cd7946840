/**
 * Current imagery an earlier month already filed: the same tile (same files, same grid: its id) with
 * the same acquisition date as a current tile of a batch of an earlier month. Its changes were
 * issued in that month, so this month's polygons over it repeat them (new codes, new cases; the ones
 * that month's re-run dropped even as "new" in this month's ledger). Usually `--tiles` names last
 * month's folder. Said as a warning, naming the month and the batch.
 */
import type { Queryable } from '../store/queryable.js';
import type { BatchPlan } from './plan-batch.js';

export async function refiledImageryWarnings(db: Queryable, plan: Pick<BatchPlan, 'batchId' | 'args' | 'tiles'>): Promise<string[]> {
  if (plan.tiles.length === 0) return [];
  const r = await db.query<{ tile_id: string; date: string; epoch: string; batch_id: string }>(
    `SELECT DISTINCT ON (t.tile_id, t.info->'tile'->>'date') t.tile_id, t.info->'tile'->>'date' AS date, b.epoch, b.id AS batch_id
     FROM tiles t JOIN batches b ON b.id = t.batch_id
     WHERE t.role = 'current' AND t.status <> 'rejected' AND b.epoch < $1 AND t.tile_id = ANY($2::text[])
     ORDER BY t.tile_id, t.info->'tile'->>'date', b.epoch DESC, b.id`,
    [plan.args.epoch, plan.tiles.map((t) => t.tile.id)],
  );
  const filed = new Map(r.rows.map((row) => [`${row.tile_id}\0${row.date}`, row]));
  const out: string[] = [];
  for (const t of plan.tiles) {
    const f = filed.get(`${t.tile.id}\0${t.tile.date}`);
    if (!f) continue;
    out.push(
      `${t.tile.files[0]}: this acquisition (${t.tile.date}) was already the current imagery of ${f.epoch} (batch ${f.batch_id}); ` +
        `its changes were issued in ${f.epoch}, and ${plan.args.epoch}'s polygons over it repeat them as new cases: is --tiles last month's folder?`,
    );
  }
  return out;
}
