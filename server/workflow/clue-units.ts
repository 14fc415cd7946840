/**
 * A clue's place among the administrative units below the district that batches stored (`townships`,
 * migration 16; `villages`, migration 19: the outlines the newest batch placed polygons with), as a
 * polygon's: the unit holding most of it — a point's, the one it lies in; none outside every stored
 * unit or before any is stored (no snapping: the layers are the 三调 boundaries, as route/overlay.ts
 * takes them). A code not under the unit above it is kept as the layer says, with the batch's warning.
 */
import type { AdminUnitTable } from '../../pipeline/store/districts.js';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { codeMismatchWarning, codeMismatches, type CodeMismatch } from '../../pipeline/route/unit-codes.js';
import { CLIP_MARGIN_DEG, clueSql, shareIn } from './clue-district.js';

export interface ClueUnit {
  /** Null where the layer names the unit without a code. */
  code: string | null;
  name: string;
}

/** The stored township or village holding most of the clue `geometry` (GeoJSON text), or null. */
export async function clueUnit(tx: Queryable, table: AdminUnitTable, geometry: string): Promise<ClueUnit | null> {
  // Outlines clipped to the clue's box first (as the district check): a township is thousands of
  // vertices, the clue's neighbourhood a few, and inside the box the two are the same. Of outlines
  // holding as much of it, the newest month's: a unit whose key changed (renamed, 村改社区, or keyed
  // by another unit above) leaves its old row beside the new one.
  const r = await tx.query<ClueUnit>(
    `WITH ${clueSql('$1', '$2')}
     SELECT o.code, o.name FROM (
       SELECT t.key, t.code, t.name, t.epoch, ${shareIn('ST_CollectionExtract(ST_MakeValid(ST_ClipByBox2D(t.geom, c.box)), 3)')} AS share
       FROM c, ${table} t WHERE t.geom && c.g
     ) o WHERE o.share > 0 ORDER BY o.share DESC, o.epoch DESC, o.key LIMIT 1`,
    [geometry, CLIP_MARGIN_DEG],
  );
  return r.rows[0] ?? null;
}

/**
 * The batch's warnings for a township code not under the clue's district, and a village code not
 * under its township (or, with no township code, its district): the clue `code` keeps both. Each
 * also as its units (`mismatches`, one a warning), for the page to say in Chinese.
 */
export function clueUnitWarnings(code: string, district: { code: string; name: string }, township: ClueUnit | null, village: ClueUnit | null): { warnings: string[]; mismatches: CodeMismatch[] } {
  const placed = { districtCode: district.code, districtName: district.name, townshipCode: township?.code ?? null, townshipName: township?.name ?? null, villageCode: village?.code ?? null, villageName: village?.name ?? null };
  const mismatches = codeMismatches(placed);
  return { warnings: mismatches.map((m) => codeMismatchWarning(m, `clue ${code} lies in`)), mismatches };
}
