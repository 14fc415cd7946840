/**
 * Which satellite tiles show a month: read from the batch plans stored in the database (the
 * plan records every current tile and the prior tiles paired with it, paths and grids
 * included), so the imagery service needs no file listing of its own.
 */
import type { Queryable } from '../../pipeline/store/queryable.js';
import type { TileInfo } from '../../geo/tile-reader.js';
import type { BatchPlan } from '../../pipeline/batch/plan-batch.js';

export type Side = 'after' | 'before';

export interface EpochScene {
  readonly epoch: string;
  /** This month's tiles (newest batch first, each tile once). */
  readonly after: readonly TileInfo[];
  /** The earlier epoch's tiles the batches paired with them. */
  readonly before: readonly TileInfo[];
  /** For a current tile id: the tile itself and its paired prior tiles; null when no plan has it. */
  forTile(tileId: string): { tile: TileInfo; priors: TileInfo[] } | null;
  /** lon/lat bounds [w, s, e, n] of everything shown (both sides), null when empty. */
  readonly bounds: [number, number, number, number] | null;
}

/**
 * The scene of `epoch` from every batch of that month that has a plan, did not fail and was not
 * replaced (`--replaces`), newest first (a re-run's tiles win). Null when no such batch exists.
 */
export async function loadEpochScene(db: Queryable, epoch: string): Promise<EpochScene | null> {
  const r = await db.query<{ plan: BatchPlan }>(
    `SELECT plan FROM batches WHERE epoch = $1 AND plan IS NOT NULL AND status <> 'failed' AND replaced_by IS NULL ORDER BY created_at DESC, id`,
    [epoch],
  );
  if (r.rows.length === 0) return null;
  const after = new Map<string, TileInfo>();
  const before = new Map<string, TileInfo>();
  const pairs = new Map<string, string[]>();
  for (const { plan } of r.rows) {
    for (const p of plan.prior ?? []) if (!before.has(p.id)) before.set(p.id, p);
    for (const t of plan.tiles ?? []) {
      if (after.has(t.tile.id)) continue;
      after.set(t.tile.id, t.tile);
      pairs.set(t.tile.id, t.priorIds);
    }
  }
  const all = [...after.values(), ...before.values()];
  return {
    epoch,
    after: [...after.values()],
    before: [...before.values()],
    bounds: all.length === 0 ? null : footprintBounds(all),
    forTile(tileId) {
      const tile = after.get(tileId);
      if (!tile) return null;
      return { tile, priors: (pairs.get(tileId) ?? []).map((id) => before.get(id)).filter((p): p is TileInfo => p !== undefined) };
    },
  };
}

/** lon/lat bounds of tiles' footprints. */
export function footprintBounds(tiles: readonly TileInfo[]): [number, number, number, number] {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  for (const t of tiles) {
    for (const ring of t.footprint.coordinates) {
      for (const [x, y] of ring) {
        if (x < w) w = x;
        if (x > e) e = x;
        if (y < s) s = y;
        if (y > n) n = y;
      }
    }
  }
  return [w, s, e, n];
}
