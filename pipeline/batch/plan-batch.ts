/**
 * Plan a batch before running anything (after odc-stats): catalogue both epochs, pair each
 * current tile with the prior tiles whose footprints it overlaps, decide the bands, and
 * reject — by name, with a reason — every input that cannot be used. The plan is stored
 * with the batch, so tile jobs on any machine need only the batch id.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { booleanIntersects } from '@turf/boolean-intersects';
import type { BandName } from '../../geo/raster.js';
import { catalogueTiles } from '../catalogue.js';
import { TubanError } from '../../schemas/errors.js';
import type { RejectedInput } from '../model.js';
import type { TileInfo } from '../../geo/tile-reader.js';
import type { Database } from '../store/queryable.js';
import type { RejectedFootprint } from '../store/repository.js';
import type { Polygon } from 'geojson';
import { areaM2 } from '../../geo/area.js';
import { pixelSizeM } from '../detect/detect-tile.js';
import { batchIdFor, type BatchArgs } from './batch-args.js';
import { checkDistricts } from './check-districts.js';
import type { ZoneLoader } from '../zones.js';

/** Bands every detector path needs; swir1/swir2 are used when both epochs have them. */
export const REQUIRED_BANDS: readonly BandName[] = ['blue', 'green', 'red', 'nir'];
const OPTIONAL_BANDS: readonly BandName[] = ['swir1', 'swir2'];

export interface TilePlan {
  tile: TileInfo;
  priorIds: string[];
  bands: BandName[];
}

export interface BatchPlan {
  batchId: string;
  /** When this run planned the batch (ISO); not part of the batch id. */
  plannedAt: string;
  args: BatchArgs;
  tiles: TilePlan[];
  prior: TileInfo[];
  rejected: RejectedInput[];
  /**
   * The footprints of the current tiles rejected while planning (those whose header was read):
   * stored as not-observed ground with the error code, so "no polygon there" never reads as
   * "no change there". Absent in older plans.
   */
  rejectedFootprints?: RejectedFootprint[];
  /**
   * The footprints of the prior tiles rejected while planning (those whose header was read): where
   * they alone would have served a current tile, their ground is stored as not observed with the
   * error code and the prior file (`writeRejectedPriorGround`). Absent in older plans.
   */
  rejectedPriorFootprints?: RejectedFootprint[];
  /** Notes from cataloguing (tiles dated by the epoch, STAC assets skipped); absent in older plans. */
  warnings?: string[];
}

/**
 * @param loadZones reads the zone files for the district check; the embedded runner passes one
 * that keeps them for finalising (`onceEachZoneFile`).
 */
export async function planBatch(args: BatchArgs, loadZones?: ZoneLoader): Promise<BatchPlan> {
  const plannedAt = new Date().toISOString();
  const [cur, pri] = await Promise.all([
    // Only current tiles fall back to the epoch: a prior tile's month is not known from the batch.
    catalogueTiles(args.tiles, { bands: args.bands, date: args.tilesDate, fallbackDate: args.epoch, fingerprint: true }),
    catalogueTiles(args.prior, { bands: args.bands, date: args.priorDate }),
    // Stop before detecting anything when no zone file gives a district.
    checkDistricts(args, loadZones),
  ]);
  stopWhenNothingFound('--tiles', args.tiles, cur, args.epoch);
  stopWhenNothingFound('--prior', args.prior, pri, args.epoch);
  // A current tile rejected by the catalogue has no date: dated by the epoch, as a current tile with none is.
  const epochDated = { date: `${args.epoch}-01`, datePrecision: 'month' as const };
  const rejectedFootprints: RejectedFootprint[] = cur.rejected
    .filter((r) => r.footprint)
    .map((r) => ({ ...rejectedFootprint(r.subject, r.subject, r.error.code, r.footprint!), priorIds: idsOf(servingPriors({ ...epochDated, footprint: r.footprint! }, pri.tiles)) }));
  // A prior tile's footprint is not the month's ground: only where it alone would have served a current tile (stored with the plan).
  const rejectedPriorFootprints: RejectedFootprint[] = pri.rejected.filter((r) => r.footprint).map((r) => rejectedFootprint(r.subject, r.subject, r.error.code, r.footprint!));
  const rejected: RejectedInput[] = [...cur.rejected, ...pri.rejected].map(({ footprint: _, ...r }) => r);
  const warnings = [...cur.warnings, ...pri.warnings];
  const tiles: TilePlan[] = [];
  // Tiles read without swir because their priors are multiband files lacking it: one warning for all.
  const [stackTiles, stackPriors, stackDropped]: [string[], string[], BandName[]] = [[], [], []];
  for (const tile of cur.tiles) {
    const reject = (err: TubanError) => {
      rejected.push({ subject: tile.files[0], error: err.toJSON() });
      rejectedFootprints.push({ ...rejectedFootprint(tile.id, tile.files[0], err.code, tile.footprint), priorIds: idsOf(servingPriors(tile, pri.tiles)) });
    };
    // Imagery from after the month it is filed under would put its polygons in the wrong ledger.
    if (tile.date.slice(0, 7) > args.epoch) {
      reject(new TubanError('TILE.DATE_MISMATCH', `dated ${tile.date}, after the batch's month ${args.epoch}: wrong --epoch?`, tile.files[0]));
      continue;
    }
    const monthsBefore = monthsBetween(tile.date.slice(0, 7), args.epoch);
    if (monthsBefore > STALE_MONTHS) warnings.push(`${tile.files[0]}: dated ${tile.date}, ${monthsBefore} months before the batch's month ${args.epoch}`);
    const overlapping = pri.tiles.filter((p) => booleanIntersects(p.footprint, tile.footprint));
    if (overlapping.length === 0) {
      // "No prior imagery here" and "the prior file here is broken" call for different fixes.
      const broken = rejectedPriorFootprints.filter((p) => booleanIntersects(p.footprint, tile.footprint)).map((p) => `${p.file} (${p.reason})`);
      const why = broken.length > 0 ? `: the prior tile(s) over it were rejected, ${broken.join(', ')}` : '';
      reject(new TubanError('TILE.NO_OVERLAP', `no prior-epoch tile overlaps this tile${why}`, tile.files[0]));
      continue;
    }
    const priors = servingPriors(tile, overlapping);
    if (priors.length === 0) {
      const dates = [...new Set(overlapping.map((p) => p.date))].sort().join(', ');
      reject(new TubanError('TILE.PRIOR_NOT_EARLIER', `the prior tiles over it are dated ${dates}, not before this tile's ${tile.date}: are --tiles and --prior swapped, or one folder given as both?`, tile.files[0]));
      continue;
    }
    // Every change since the prior is filed as new this month: a prior years old (whatever older
    // imagery was at hand) makes the month's ledger hold years of change, so say so.
    const latestPrior = priors.map((p) => p.date).sort().at(-1)!;
    const span = monthsBetween(latestPrior.slice(0, 7), tile.date.slice(0, 7));
    if (span > PRIOR_SPAN_MONTHS) {
      warnings.push(`${tile.files[0]}: its prior imagery is dated ${latestPrior}, ${span} months before it: every change over those months is filed as new in ${args.epoch}`);
    }
    warnings.push(...coarserPriorWarnings(tile, priors));
    const has = (t: TileInfo, b: BandName) => t.bands[b] !== undefined;
    const missing = REQUIRED_BANDS.filter((b) => !has(tile, b) || priors.some((p) => !has(p, b)));
    if (missing.length > 0) {
      reject(new TubanError('TILE.BAND_MISMATCH', `bands missing in this tile or its prior tiles: ${missing.join(', ')}`, tile.files[0]));
      continue;
    }
    // `--bands` given: only the bands named (the catalogue read no others); else every optional band both epochs have.
    const allowed = (b: BandName) => args.bands === undefined || args.bands.includes(b);
    const bands = [...REQUIRED_BANDS, ...OPTIONAL_BANDS.filter((b) => allowed(b) && has(tile, b) && priors.every((p) => has(p, b)))];
    // A band one epoch has and the other lacks (B11 not delivered this month) is left out: the tile
    // is then no longer scored by the 6-band model, which went unsaid with exit 0.
    const dropped = OPTIONAL_BANDS.filter((b) => allowed(b) && !bands.includes(b) && (has(tile, b) || priors.some((p) => has(p, b))));
    // Under a multiband prior lacking them (a 4-band stack), no band file can be delivered: said once
    // per batch below (per tile, ~100 warnings in a province, each saying "deliver the missing band file").
    const stackLacks = (p: TileInfo) => new Set(Object.values(p.bands).map((s) => s.file)).size === 1 && dropped.some((b) => !has(p, b));
    if (dropped.length > 0 && dropped.every((b) => has(tile, b)) && priors.filter((p) => dropped.some((b) => !has(p, b))).every(stackLacks)) {
      for (const p of priors.filter(stackLacks)) if (!stackPriors.includes(p.files[0])) stackPriors.push(p.files[0]);
      for (const b of dropped) if (!stackDropped.includes(b)) stackDropped.push(b);
      stackTiles.push(tile.files[0]);
    } else if (dropped.length > 0) {
      const where = dropped.map((b) => (has(tile, b) ? `${b} is missing in a prior tile over it (this tile has it)` : `${b} is missing in this tile (its prior tiles have it)`));
      warnings.push(
        `${tile.files[0]}: ${where.join('; ')}: read without ${dropped.join(' and ')}, the tile is not scored by the 6-band model, which needs swir1 and swir2 in both epochs; ` +
          `deliver the missing band file to use it (or pass --bands ${REQUIRED_BANDS.join(',')} to read four bands without this warning)`,
      );
    }
    tiles.push({ tile, priorIds: idsOf(priors), bands });
  }
  if (stackTiles.length > 0) {
    const list = (xs: string[]) => (xs.length <= 3 ? xs.join(', ') : `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more`);
    const lacking = OPTIONAL_BANDS.filter((b) => stackDropped.includes(b));
    warnings.push(
      `${stackTiles.length} tile${stackTiles.length === 1 ? '' : 's'} (${list(stackTiles)}) have ${lacking.join(' and ')} but their prior ` +
        `${stackPriors.length === 1 ? 'file' : 'files'} (${list(stackPriors)}) ${stackPriors.length === 1 ? 'is a multiband file' : 'are multiband files'} without them: ` +
        `read with the bands both epochs have, these tiles are not scored by the 6-band model, which needs swir1 and swir2 in both epochs. ` +
        `To use it, give a prior with ${[...REQUIRED_BANDS, ...OPTIONAL_BANDS].join(', ')} (a 6-band stack, its bands in that order or described, or Sentinel-2 band files); ` +
        `else pass --bands ${REQUIRED_BANDS.join(',')} to read four bands without this warning`,
    );
  }
  tiles.sort((a, b) => (a.tile.id < b.tile.id ? -1 : 1));
  const batchId = batchIdFor(
    args,
    tiles.map((t) => t.tile.id),
    pri.tiles.map((t) => t.id),
    await digestFiles([...args.zones, ...(args.landuse ? [args.landuse] : []), ...(args.rules ? [args.rules] : [])]),
  );
  return { batchId, plannedAt, args, tiles, prior: pri.tiles, rejected, rejectedFootprints, rejectedPriorFootprints, warnings };
}

/**
 * The plan's rule for a tile's prior: every prior tile over it (footprints overlapping) acquired
 * before it. The same acquisition, or a later one, would compare the tile with itself or run time
 * backwards (change types reversed). Its mosaic takes them in `priors`' order, the first with data
 * winning (`openMosaic`). The cover of a rejected prior's ground (batch-store.ts) applies it too.
 */
export function servingPriors(tile: Pick<TileInfo, 'footprint' | 'date' | 'datePrecision'>, priors: readonly TileInfo[]): TileInfo[] {
  return priors.filter((p) => booleanIntersects(p.footprint, tile.footprint) && earlier(p, tile));
}

const idsOf = (tiles: readonly TileInfo[]) => tiles.map((t) => t.id).sort();

/** A rejected tile's ground: its footprint, measured in a local equal-area projection like every area. */
export function rejectedFootprint(tileId: string, file: string, reason: string, footprint: Polygon): RejectedFootprint {
  return { tileId, file, reason, footprint, areaM2: areaM2(footprint) };
}

/** Months after which a tile is old enough for the batch to say so (imagery filed under a later month is normal: acquired late, issued the next month). */
const STALE_MONTHS = 3;
/** Months between a tile and its latest prior beyond which the batch says so (a year-on-year comparison is usual; more is not). */
const PRIOR_SPAN_MONTHS = 12;

/** How much coarser a prior's pixel may be than its tile's before the batch says so (a 10 m tile over a 20 m prior is 2×). */
const COARSER_PRIOR_RATIO = 1.5;

/**
 * A prior coarser than its tile is warped up onto the tile's grid, and its blurred field edges read
 * as change against the sharp ones (a 20 m prior under a 10 m tile gave about twice the polygons):
 * the detector is not changed for it, but the analyst is told which files and pixel sizes.
 */
function coarserPriorWarnings(tile: TileInfo, priors: readonly TileInfo[]): string[] {
  const own = pixelSizeM(tile.grid);
  return priors
    .filter((p) => pixelSizeM(p.grid) > COARSER_PRIOR_RATIO * own)
    .map((p) => {
      const theirs = pixelSizeM(p.grid);
      return (
        `${tile.files[0]}: its prior ${p.files[0]} has ${metres(theirs)} m pixels, ${(theirs / own).toFixed(1)}× coarser than the tile's ${metres(own)} m: ` +
        'its blurred edges read as change along field edges (expect extra polygons there); give a prior at the tile\'s pixel size'
      );
    });
}

const metres = (m: number) => (m >= 10 ? m.toFixed(0) : m.toFixed(1));

/** Whole months from `a` to `b` (YYYY-MM each). */
function monthsBetween(a: string, b: string): number {
  return (Number(b.slice(0, 4)) - Number(a.slice(0, 4))) * 12 + Number(b.slice(5, 7)) - Number(a.slice(5, 7));
}

/**
 * Whether prior tile `p` was acquired before tile `t`: by day where both dates are days; where
 * either is known to the month only, a later month is not earlier and the same month cannot be told.
 */
function earlier(p: TileInfo, t: Pick<TileInfo, 'date' | 'datePrecision'>): boolean {
  if ((p.datePrecision ?? 'day') === 'day' && (t.datePrecision ?? 'day') === 'day') return p.date < t.date;
  return p.date.slice(0, 7) <= t.date.slice(0, 7);
}

/**
 * `--tiles /data/s2/2026-10/` that does not exist, or holds no GeoTIFF or STAC item: the month cannot
 * be processed, so the batch stops before anything is stored or written (a ledger of a month nobody
 * looked at would read as "nothing found"). Tiles that were found but rejected are another matter:
 * the batch runs and its report lists them, as before.
 */
function stopWhenNothingFound(flag: string, inputs: readonly string[], side: { tiles: unknown[]; rejected: RejectedInput[] }, epoch: string): void {
  if (side.tiles.length > 0 || !side.rejected.every((r) => r.error.code === 'INPUT.NOT_FOUND' && inputs.includes(r.subject))) return;
  const said = new Set(side.rejected.map((r) => r.subject));
  const why = [...side.rejected.map((r) => r.error.message), ...inputs.filter((i) => !said.has(i)).map((i) => `${i}: holds no tile`)];
  throw new TubanError('TILE.NOT_FOUND', `${flag} found no tile to read (${why.join('; ')}); nothing was processed for ${epoch} and no output was written`);
}

/** Content digest of the vector/rule inputs, so editing a zone file makes a new batch id. */
async function digestFiles(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of [...paths].sort()) {
    h.update(p);
    try {
      h.update(await readFile(p));
    } catch {
      h.update('<unreadable>'); // reported when the zones are loaded
    }
  }
  return h.digest('hex');
}

export function planTile(plan: BatchPlan, tileId: string): { tile: TilePlan; priors: TileInfo[] } {
  const tile = plan.tiles.find((t) => t.tile.id === tileId);
  if (!tile) throw new TubanError('INTERNAL', `tile ${tileId} is not in batch ${plan.batchId}`);
  const priors = plan.prior.filter((p) => tile.priorIds.includes(p.id));
  return { tile, priors };
}

export type { Database };

/**
 * The plan's tile ids, most pixels first: the order to enqueue them in, so that N workers finish
 * together (the longest jobs start first and the short ones fill in at the end) instead of one
 * worker starting a big tile as the others run out of work.
 */
export function largestFirst(plan: Pick<BatchPlan, 'tiles'>): string[] {
  const px = (t: TilePlan) => t.tile.grid.width * t.tile.grid.height;
  // Stable: equal tiles keep the plan's order, so the enqueue order is deterministic.
  return [...plan.tiles].sort((a, b) => px(b) - px(a)).map((t) => t.tile.id);
}
