/**
 * A tile whose valid pixels all hold one value in every band is not imagery: a failed export, a tile
 * filled with a constant, a saturated or zero-scaled product whose value is not declared nodata.
 * Compared, a constant current tile came out observed with no change (its violations missed for the
 * month), and a constant prior made change of the current tile's texture. Told by the readers from the
 * pixels the detection reads anyway (geo/one-value-watch.ts), once both epochs are read in full, and
 * rejected by name as TILE.NOT_OBSERVABLE: a current tile as the tile, a prior as a prior (its subject is
 * the prior's file, so the tile falls back past it, handlers.ts).
 */
import type { BandName } from '../../geo/raster.js';
import type { AlignedSource, TileReader } from '../../geo/tile-reader.js';
import { TubanError } from '../../schemas/errors.js';

/**
 * Valid pixels a file must have shown before one value counts as not imagery: 1 km² at 10 m. Real
 * ground is never one value in every band over so many (water and snow vary by a few counts), while a
 * prior read only for a sliver of a tile's holes may hold a few equal pixels.
 */
export const MIN_ONE_VALUE_PIXELS = 10_000;

const WHY = 'not imagery (a failed export, a tile filled with a constant, a saturated or zero-scaled product?)';
const WHAT_TO_DO = 'export or download it again (gdalinfo -stats shows each band\'s minimum equal to its maximum), or, where that value marks no data, declare it the file\'s nodata';

/** The current tile's rejection, or else the first prior's read for it, where one is not imagery; null where all are. */
export function notImageryError(current: TileReader, prior: AlignedSource): TubanError | null {
  const file = current.info.files[0];
  const mine = current.oneValueBands(MIN_ONE_VALUE_PIXELS);
  if (mine) return new TubanError('TILE.NOT_OBSERVABLE', `${oneValueText(mine)}: ${WHY}; its ground is reported not observed this month: ${WHAT_TO_DO}`, file);
  const [constant] = prior.oneValueTiles?.(MIN_ONE_VALUE_PIXELS) ?? [];
  if (!constant) return null;
  return new TubanError(
    'TILE.NOT_OBSERVABLE',
    `as the prior of ${file}, ${oneValueText(constant.values)} there: ${WHY}; that ground is compared with the next prior over it, or reported not observed: ${WHAT_TO_DO}`,
    constant.info.files[0],
  );
}

/** "every valid pixel has the value 1000 in every band", or each band's value where they differ. */
function oneValueText(values: Partial<Record<BandName, number>>): string {
  const each = Object.entries(values) as [BandName, number][];
  if (each.every(([, v]) => v === each[0][1])) return `every valid pixel has the value ${each[0][1]} in every band`;
  return `every valid pixel has one value in each band (${each.map(([b, v]) => `${b} ${v}`).join(', ')})`;
}
