/**
 * The two epochs a detection compares, as the detector's stages read them: one epoch on the grid
 * that is scored (`fixed`) and the other warped onto it (`moving`, the one co-registration may
 * shift). The product scores the current tile against the prior mosaic; the accuracy harness
 * scores the first date's grid (where its labels lie) against the second date. Only which epoch
 * is which differs: `fixedEpoch` says so, and `asEpochs` is the one place it is read.
 */
import type { BandName, Grid, Raster, Window } from '../../geo/raster.js';
import type { AlignedSource, TileReader } from '../../geo/tile-reader.js';
import type { TubanError } from '../../schemas/errors.js';
import { notImageryError } from './not-imagery.js';

export interface EpochPair {
  /** Tile id (detections, shutdown errors) and the file named by errors about the tile. */
  id: string;
  file: string;
  /** Acquisition date of the after epoch, copied onto each detection. */
  afterDate: string;
  /** The scored grid: the fixed epoch's own. */
  grid: Grid;
  fixed: { readWindow(win: Window, bands: BandName[], reuse?: Raster): Promise<Raster> };
  moving: AlignedSource;
  /** Which epoch `fixed` holds: 'after' in the product, 'before' in the accuracy harness. */
  fixedEpoch: 'after' | 'before';
  /** The rejection of an epoch's file that is not imagery (not-imagery.ts), or null: asked after the fit's sample and again once both epochs are read in full. */
  notImagery?: () => TubanError | null;
}

/** The product's pair: the current tile, with the prior mosaic warped onto it. */
export function tilePair(current: TileReader, prior: AlignedSource): EpochPair {
  return { id: current.info.id, file: current.info.files[0], afterDate: current.info.date, grid: current.info.grid, fixed: current, moving: prior, fixedEpoch: 'after', notImagery: () => notImageryError(current, prior) };
}

/** The fixed and moving rasters of one window, as before/after. */
export function asEpochs(pair: Pick<EpochPair, 'fixedEpoch'>, fixed: Raster, moving: Raster): { before: Raster; after: Raster } {
  return pair.fixedEpoch === 'after' ? { before: moving, after: fixed } : { before: fixed, after: moving };
}

/** The fixed and moving rasters of a before/after pair (inverse of asEpochs). */
export function asFixedMoving(pair: Pick<EpochPair, 'fixedEpoch'>, e: { before: Raster; after: Raster }): { fixed: Raster; moving: Raster } {
  return pair.fixedEpoch === 'after' ? { fixed: e.after, moving: e.before } : { fixed: e.before, moving: e.after };
}
