/**
 * The arguments of one monthly batch, as the CLI and the queue pass them. Stored with the
 * batch so any worker can rebuild what it needs from the batch id alone.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BAND_NAMES, type BandName } from '../../geo/raster.js';
import { calendarProblem } from '../../schemas/calendar-date.js';
import { DEFAULT_DETECTOR_PARAMS, paramsHash, parseDetectorParams, type DetectorParams } from '../detect/detector-params.js';

/** A month or day, refused with what is wrong with it (a month 13 is out of range, not malformed). */
function calendarString(form: 'month' | 'month-or-day') {
  return z.string().superRefine((value, ctx) => {
    const problem = calendarProblem(value, form);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

export const BatchArgsSchema = z.object({
  /** Month monitored, 'YYYY-MM'. */
  epoch: calendarString('month'),
  tiles: z.array(z.string()).min(1),
  prior: z.array(z.string()).min(1),
  zones: z.array(z.string()).default([]),
  landuse: z.string().optional(),
  rules: z.string().optional(),
  /**
   * Sample order of multiband files (default blue, green, red, nir). When given (`--bands`) it also
   * restricts the bands read from per-band files and STAC items, so `--bands blue,green,red,nir`
   * picks the 4-band detector on Sentinel-2 data that has B11/B12.
   */
  bands: z.array(z.enum(BAND_NAMES as [BandName, ...BandName[]])).optional(),
  /** Date for every current / prior tile, `YYYY-MM-DD` or `YYYY-MM`, overriding tags and names. */
  tilesDate: calendarString('month-or-day').optional(),
  priorDate: calendarString('month-or-day').optional(),
  /** 'gcj02' or an EPSG string overriding the zone files' own CRS. */
  zonesCrs: z.string().optional(),
  /** Per zone file (by the path in `zones`), from `--zones file@crs`: wins over `zonesCrs`. */
  zonesCrsByPath: z.record(z.string(), z.string()).optional(),
  /** Minimum mapping unit, m². */
  mmuM2: z.number().positive().optional(),
  /**
   * Detector parameters over the defaults (`--detector`, `--detector-params`): the grouped or flat
   * form parseDetectorParams reads, validated when the batch is planned.
   */
  detector: z.record(z.string(), z.unknown()).optional(),
  /**
   * Earlier batches of the same month this one replaces (`--replaces`): the same ground from other
   * tile files, say imagery prepared again. Their polygons are superseded as a re-run over the same
   * files supersedes its own, so the sites found again keep their codes and cases.
   */
  replaces: z.array(z.string().regex(/^\d{6}-[0-9a-f]{12}$/, 'a batch id looks like 202610-3f2a9c81d0e4 (batch-report.json, `batchId`)')).min(1).optional(),
});
export type BatchArgs = z.infer<typeof BatchArgsSchema>;

/** Band order of multiband files when `--bands` is not given. */
export const DEFAULT_MULTIBAND_ORDER: BandName[] = ['blue', 'green', 'red', 'nir'];

/** The detector parameters of a batch: the defaults, its overrides (`--detector-params`), then `--mmu`. */
export function detectorParamsFor(args: Pick<BatchArgs, 'mmuM2' | 'detector'>): DetectorParams {
  const base = args.detector ? parseDetectorParams(args.detector, '--detector-params') : DEFAULT_DETECTOR_PARAMS;
  return args.mmuM2 ? { ...base, components: { ...base.components, mmuM2: args.mmuM2 } } : base;
}

/**
 * Deterministic batch id: epoch + the catalogued tiles (ids hash path, size and grid) +
 * zone/rule inputs + detector parameters. The same inputs give the same id, so a re-run
 * replaces its own rows instead of adding new ones.
 */
export function batchIdFor(args: BatchArgs, currentTileIds: string[], priorTileIds: string[], inputDigest: string): string {
  const h = createHash('sha256')
    .update(
      JSON.stringify([
        args.epoch, [...currentTileIds].sort(), [...priorTileIds].sort(), inputDigest, paramsHash(detectorParamsFor(args)), args.bands ?? DEFAULT_MULTIBAND_ORDER, args.zonesCrs ?? null,
        // Appended only when set, so batches planned before these options keep their ids.
        ...(args.bands || args.tilesDate || args.priorDate ? [{ bandsGiven: args.bands !== undefined, tilesDate: args.tilesDate ?? null, priorDate: args.priorDate ?? null }] : []),
        ...crsByPathKey(args),
        // Which batches it replaces decides what it stores, so a batch that replaces is a batch of its own.
        ...(args.replaces ? [{ replaces: [...args.replaces].sort() }] : []),
      ]),
    )
    .digest('hex')
    .slice(0, 12);
  return `${args.epoch.replace('-', '')}-${h}`;
}

/** Absent when no file has a suffix, so batches planned before per-file CRSs keep their ids. */
function crsByPathKey(args: BatchArgs): [string, string][][] {
  const entries = Object.entries(args.zonesCrsByPath ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? [entries] : [];
}
