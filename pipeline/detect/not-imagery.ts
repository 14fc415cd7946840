/**
 * A tile whose valid pixels all hold one value in every band is not imagery: a failed export, a tile
 * filled with a constant, a saturated or zero-scaled product whose value is not declared nodata.
 * Compared, a constant current tile came out observed with no change (its violations missed for the
 * month), and a constant prior made change of the current tile's texture. Told by the readers from the
 * pixels the detection reads anyway (geo/one-value-watch.ts): from the epoch fit's sample where it
 * already shows enough (before the weather gates, which take a saturated or zero-scaled file for cloud
 * or shadow), else once both epochs are read in full; and rejected by name as TILE.NOT_OBSERVABLE: a
 * current tile as the tile, the priors as priors (each its file's, so the tile falls back past them
 * all at once, handlers.ts).
 */
import type { BandName } from '../../geo/raster.js';
import type { AlignedSource, TileReader } from '../../geo/tile-reader.js';
import { TubanError } from '../../schemas/errors.js';

/**
 * Valid pixels a file must have shown before one value counts as not imagery: 1 km² at 10 m, each
 * pixel counted once however often it was read (the fit's sample again by the strips, a strip's halo,
 * a realigned sample: one-value-watch.ts). Real
 * ground is never one value in every band over so many (water and snow vary by a few counts), while a
 * prior read only for a sliver of a tile's holes may hold a few equal pixels.
 */
export const MIN_ONE_VALUE_PIXELS = 10_000;

const WHY = 'not imagery (a failed export, a tile filled with a constant, a saturated or zero-scaled product?)';
const WHAT_TO_DO = 'export or download it again (gdalinfo -stats shows each band\'s minimum equal to its maximum), or, where that value marks no data, declare it the file\'s nodata';

/**
 * The rejection of priors of a tile that are not imagery, all of them at once (the tile falls back
 * past them in one step, not one detection each): thrown as the first one's (its subject that file),
 * each prior's own rejection in `priors`.
 */
export class PriorsNotImagery extends TubanError {
  readonly priors: readonly TubanError[];

  constructor(priors: readonly TubanError[]) {
    super(priors[0].code, priors[0].message.slice(priors[0].subject!.length + 2), priors[0].subject);
    this.priors = priors;
  }
}

/** The rejections an error makes of input files: each prior found not imagery (PriorsNotImagery), else the error itself. */
export function rejectedPriorsOf(e: TubanError): readonly TubanError[] {
  return e instanceof PriorsNotImagery ? e.priors : [e];
}

/**
 * The current tile's rejection, or else every prior's read for it, where one is not imagery; null
 * where none is. Asked once the epoch fit has read its sample (what it already shows), and again once
 * the strips have read both epochs in full (what the sample could not tell).
 */
export function notImageryError(current: TileReader, prior: AlignedSource): TubanError | null {
  const file = current.info.files[0];
  const mine = current.oneValueBands(MIN_ONE_VALUE_PIXELS);
  if (mine) return new TubanError('TILE.NOT_OBSERVABLE', `${oneValueText(mine)}: ${WHY}; its ground is reported not observed this month: ${WHAT_TO_DO}`, file);
  const constant = prior.oneValueTiles?.(MIN_ONE_VALUE_PIXELS) ?? [];
  if (constant.length === 0) return null;
  return new PriorsNotImagery(
    constant.map(
      (c) =>
        new TubanError(
          'TILE.NOT_OBSERVABLE',
          `${oneValueText(c.values, file)}: ${WHY}; as the prior of ${file}, that ground is compared with the next prior over it, or reported not observed: ${WHAT_TO_DO}`,
          c.info.files[0],
        ),
    ),
  );
}

/**
 * "every valid pixel has the value 1000 in every band", or each band's value where they differ; of a
 * prior, "every valid pixel read over <tile>" (only the part over the tile was read).
 */
function oneValueText(values: Partial<Record<BandName, number>>, over?: string): string {
  const each = Object.entries(values) as [BandName, number][];
  const pixels = over ? `every valid pixel read over ${over}` : 'every valid pixel';
  if (each.every(([, v]) => v === each[0][1])) return `${pixels} has the value ${each[0][1]} in every band`;
  return `${pixels} has one value in each band (${each.map(([b, v]) => `${b} ${v}`).join(', ')})`;
}
