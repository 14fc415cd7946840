/**
 * A clue's 乡镇/街道 (属地), as a polygon's: the stored township (`townships`, migration 16) holding
 * most of it (clue-units.ts). The ledger's 乡镇/街道 column and a township's own account read it, so a
 * township's account registers clues in its own township only.
 */
import type { Queryable } from '../../pipeline/store/queryable.js';
import { townshipKey, type User } from '../access/roles.js';
import { ApiError } from '../errors.js';
import { clueUnit, type ClueUnit } from './clue-units.js';

export type ClueTownship = ClueUnit;

/** The stored township holding most of the clue `geometry` (GeoJSON text), or null. */
export const clueTownship = (tx: Queryable, geometry: string): Promise<ClueTownship | null> => clueUnit(tx, 'townships', geometry);

/**
 * A township's own account registers a clue only where a batch stored its township's outline
 * (403 AUTH.FORBIDDEN before: its clue could not be placed, so it would not see it) and only in its
 * own township (400 CLUE.OUTSIDE_TOWNSHIP, naming the township and where the place lies). Others
 * are not checked: a district or bureau registers clues anywhere in its district.
 */
export async function checkClueTownship(tx: Queryable, user: User, placed: ClueTownship | null): Promise<void> {
  if (!user.township) return;
  const key = townshipKey(user.township);
  const own = await tx.query<{ stored: boolean; name: string | null }>(
    `SELECT EXISTS (SELECT 1 FROM townships) AS stored, (SELECT name FROM townships WHERE left(code, 9) = $1 ORDER BY epoch DESC, key LIMIT 1) AS name`,
    [key],
  );
  const { stored, name } = own.rows[0];
  if (!stored) {
    throw new ApiError('AUTH.FORBIDDEN', `township ${user.township}'s account registers clues once a batch with the 乡镇/街道 (township) zone layer has run: no township outline is stored to place a clue in, so its clue would not be its own; its district registers it meanwhile`);
  }
  if (placed?.code && townshipKey(placed.code) === key) return;
  const township = `${user.township} ${name ?? ''}`.trim();
  const where = placed ? `it lies in township ${`${placed.code ?? ''} ${placed.name}`.trim()}` : 'it lies in no township of the stored layer';
  throw new ApiError('CLUE.OUTSIDE_TOWNSHIP', `${where}. A township's account registers clues in its own township, ${township}${name === null ? ' (no stored outline has its code)' : ''}`, {
    township: { code: user.township, name },
    lies_in: placed && { code: placed.code, name: placed.name },
  });
}
