/**
 * batch-report.json: what a GIS analyst checks after the monthly run — which tiles were used
 * or rejected and why, how much ground could not be observed, where the polygons went, and
 * how long each stage took at how many megapixels per second.
 */
import type { DetectorStamp, MonitoringPolygon } from '../../schemas/polygon.js';
import type { RejectedInput } from '../model.js';
import type { FlatDetectorParams } from '../detect/detector-params.js';
import type { Coregistration, ModelRecord } from '../detect/detect-tile.js';
import { UNASSIGNED_DISTRICT } from './finalise-batch.js';

/** What one tile job leaves behind (stored with the tile row). */
export interface TileOutcome {
  tileId: string;
  files: string[];
  date: string;
  /** 'month' when the tile was dated by month only (outputs show `2026-10`); absent in older reports. */
  datePrecision?: 'day' | 'month';
  /** Precision of the prior date used as 前时相 (the latest overlapping prior tile's). */
  priorDatePrecision?: 'day' | 'month';
  /** Bands the detector read for this tile (the report records what `--bands` chose). */
  bands?: string[];
  /** The STAC item and its `eo:cloud_cover` (percent), when the tile came from one. */
  stacItem?: string;
  cloudCover?: number;
  status: 'done' | 'rejected';
  error?: RejectedInput['error'];
  /**
   * Prior tiles that did not decode when this tile read them (by file, with why): the tile was
   * compared with the priors the plan would have chosen without them. Absent when none.
   */
  rejectedPriors?: RejectedInput[];
  /**
   * The ids of the prior tiles the tile was compared with (the plan's, less those that did not
   * decode): a re-run that cannot read one of these keeps this result (`keptFromEarlierRun`), one
   * that cannot read another falls back past it. Absent on a rejected tile and on results stored before.
   */
  comparedWith?: string[];
  /**
   * Set when this run could not read, find or fit the tile's file or a prior the earlier run compared
   * it with (`file`, why: `error`: damaged since, moved, over this machine's memory cap) and this
   * batch's earlier run had read the tile, its result
   * still the month's on the tile: that result (detections, not-observed outline, the numbers here but
   * timings and peak memory, this run's: none) is kept, stored at `storedAt` (ISO), and the tile
   * counts as compared; `rejectedPriors`: other priors that did not decode this time. Absent otherwise.
   */
  keptFromEarlierRun?: { file: string; error: RejectedInput['error']; storedAt: string; rejectedPriors?: RejectedInput[] };
  /**
   * A tile rejected at finalising though its tile job kept its earlier result: batch `takenOverBy` of
   * the month compared the tile and stored its result meanwhile, so its polygons there (or none) are the month's. Absent otherwise.
   */
  takenOverBy?: string;
  pixels: number;
  detections: number;
  observedM2: number;
  notObservedM2: number;
  threshold: number | null;
  /** The epochs' measured misregistration, pixels, and whether the prior was moved back (absent: not measured). */
  coregistration?: Coregistration | null;
  /** Seconds per stage. */
  timings: Record<string, number>;
  /** Peak resident memory of the process that ran the tile, bytes. */
  peakRssBytes: number;
}

export interface BatchReport {
  batchId: string;
  epoch: string;
  mode: 'embedded' | 'queue';
  database: 'pglite' | 'postgres';
  startedAt: string;
  finishedAt: string;
  /**
   * The parameters in their recorded (flat, hashed) form: flatParams; and the models that scored,
   * each with the scoring settings its file carries (in force where `params` left them at their
   * defaults). `models` is absent in older reports.
   */
  detector: DetectorStamp & { params: FlatDetectorParams; models?: ModelRecord[] };
  tiles: TileOutcome[];
  rejected: RejectedInput[];
  /** Inputs with a defect that was repaired, kept and used (e.g. a zone's stray hole); absent in older reports. */
  repaired?: RejectedInput[];
  warnings: string[];
  /**
   * The batches this one replaced (`--replaces`): how many polygons each held for the month, and
   * how many of their codes this batch found again and kept (the rest left the month: Workflow).
   * Absent when it replaced none.
   */
  replaced?: { batchId: string; polygons: number; kept: number }[];
  /**
   * Set when this batch replaced polygons the month held on its tiles: the same batch run again,
   * a run resumed after a crash, or a batch over tiles other batches held (`supersedes`). Codes
   * found again keep their cases. Absent on a first run (and in older reports).
   */
  rerun?: {
    /** 'finished': an earlier run of this batch id finished; 'interrupted': one stored its polygons and stopped; null: only other batches held the tiles. */
    earlier: 'finished' | 'interrupted' | null;
    /** When this batch id was first planned (ISO); null when it had not run before. */
    firstRunAt: string | null;
    /** Other batches of the month whose polygons on these tiles this one took over. */
    supersedes: string[];
    polygonsBefore: number;
    /** Of the polygons now, those under a code the month held before, and those under a new code. */
    codesKept: number;
    codesNew: number;
    /** Codes held before that this run no longer finds. */
    codesGone: number;
    /** Cases (the server's, by code) of codes kept; polygons with no case yet (opened at the server's next pass). */
    casesKept: number;
    casesNew: number;
    /** Cases whose polygon this run no longer finds: withdrawn (图形灭失) if untouched, else flagged for the lead bureau, at the server's next pass. */
    casesGone: number;
  };
  observedM2: number;
  /** Ground not compared: cloud, shadow and nodata of the tiles used, and the footprints of rejected tiles. */
  notObservedM2: number;
  /** Share of the current tiles' ground that could not be compared, [0, 1], rejected tiles' footprints included. */
  notObservedShare: number;
  /**
   * Of notObservedM2, the ground of rejected tiles (where their header was read): a current tile's
   * footprint, and a prior tile's where it alone would have served the current tiles (each piece of
   * ground once). Absent in older reports.
   */
  rejectedNotObservedM2?: number;
  /**
   * True when no tile could be placed (none compared, no rejected tile's footprint read): how much
   * ground went unobserved is unknown, and notObservedM2's 0 (notObservedShare 1) says nothing of it.
   * Absent in older reports.
   */
  notObservedUnknown?: boolean;
  counts: {
    polygons: number;
    newSites: number;
    continuingSites: number;
    seamDuplicates: number;
    /** Detections not issued: farming rather than land taken (the rule table's `seasonal`). */
    seasonal: { polygons: number; areaM2: number };
    highPriority: number;
    byLeadBureau: Record<string, number>;
    byDistrict: Record<string, { name: string; polygons: number; areaM2: number }>;
    byChangeType: Record<string, number>;
    /**
     * Polygons outside every district polygon of the zone files (coded 000000, 未划定区县): issued
     * so no change is lost, but their district and lead bureau need a person. Absent in reports of
     * batches finished before this count existed.
     */
    outsideDistricts?: { polygons: number; areaM2: number; codes: string[] };
    /**
     * With a 乡镇/街道 (township) zone layer, the polygons outside every township of it: their
     * 乡镇/街道 is blank. Absent without a township layer (every township is blank then).
     */
    outsideTownships?: { polygons: number; areaM2: number; codes: string[] };
    /** As `outsideTownships`, with a 村/社区 (village) zone layer: the polygons whose 村 is blank. */
    outsideVillages?: { polygons: number; areaM2: number; codes: string[] };
  };
  /** Seconds per stage, summed over tiles, plus plan/finalise/outputs. */
  timings: Record<string, number>;
  /** Megapixels of the current epoch per second of each raster stage. */
  megapixelsPerSecond: Record<string, number>;
  totalSeconds: number;
  peakRssBytes: number;
}

export function summarise(
  base: Pick<BatchReport, 'batchId' | 'epoch' | 'mode' | 'database' | 'startedAt' | 'detector' | 'warnings' | 'repaired' | 'replaced' | 'rerun'> & { seamDuplicates: number; seasonal: { polygons: number; areaM2: number }; extraTimings: Record<string, number>; rejectedGroundM2?: number; rejectedPriorGroundM2?: number; townshipLayer?: boolean; villageLayer?: boolean },
  tiles: TileOutcome[],
  rejected: RejectedInput[],
  polygons: MonitoringPolygon[],
): BatchReport {
  const done = tiles.filter((t) => t.status === 'done');
  const observedM2 = sum(done.map((t) => t.observedM2));
  // Rejected current tiles' footprints are ground no used tile covers; a rejected prior's ground
  // outside them lies over the used tiles, nodata in their notObservedM2 already: it only says why.
  const rejectedGroundM2 = base.rejectedGroundM2 ?? 0;
  const notObservedM2 = sum(done.map((t) => t.notObservedM2)) + rejectedGroundM2;
  const rejectedNotObservedM2 = Math.min(notObservedM2, rejectedGroundM2 + (base.rejectedPriorGroundM2 ?? 0));
  const timings: Record<string, number> = {};
  for (const t of done) for (const [k, v] of Object.entries(t.timings)) timings[k] = (timings[k] ?? 0) + v;
  // A tile kept from the batch's earlier run was not read now: its pixels took none of these seconds.
  const pixels = sum(done.filter((t) => !t.keptFromEarlierRun).map((t) => t.pixels));
  const megapixelsPerSecond: Record<string, number> = {};
  for (const [k, v] of Object.entries(timings)) if (v > 0) megapixelsPerSecond[k] = round(pixels / 1e6 / v, 1);
  for (const [k, v] of Object.entries(base.extraTimings)) timings[k] = (timings[k] ?? 0) + v;
  const byLeadBureau: Record<string, number> = {};
  const byDistrict: BatchReport['counts']['byDistrict'] = {};
  const byChangeType: Record<string, number> = {};
  for (const p of polygons) {
    byLeadBureau[p.leadBureau] = (byLeadBureau[p.leadBureau] ?? 0) + 1;
    const d = (byDistrict[p.districtCode] ??= { name: p.districtName, polygons: 0, areaM2: 0 });
    d.polygons++;
    d.areaM2 = round(d.areaM2 + p.areaM2, 2);
    byChangeType[p.changeType] = (byChangeType[p.changeType] ?? 0) + 1;
  }
  const outsidePolygons = polygons.filter((p) => p.districtCode === UNASSIGNED_DISTRICT.code);
  const outside = { polygons: outsidePolygons.length, areaM2: round(sum(outsidePolygons.map((p) => p.areaM2)), 2), codes: outsidePolygons.map((p) => p.code) };
  const noTownship = base.townshipLayer ? polygons.filter((p) => p.townshipName === null) : null;
  const outsideTownships = noTownship && { polygons: noTownship.length, areaM2: round(sum(noTownship.map((p) => p.areaM2)), 2), codes: noTownship.map((p) => p.code) };
  const noVillage = base.villageLayer ? polygons.filter((p) => p.villageName === null) : null;
  const outsideVillages = noVillage && { polygons: noVillage.length, areaM2: round(sum(noVillage.map((p) => p.areaM2)), 2), codes: noVillage.map((p) => p.code) };
  const finishedAt = new Date().toISOString();
  const rssNow = process.resourceUsage().maxRSS * 1024;
  return {
    batchId: base.batchId,
    epoch: base.epoch,
    mode: base.mode,
    database: base.database,
    startedAt: base.startedAt,
    finishedAt,
    detector: base.detector,
    tiles,
    rejected,
    repaired: base.repaired ?? [],
    warnings: [...base.warnings, ...keptTileWarnings(done), ...takenOverWarnings(tiles), ...misregistrationWarnings(done), ...outsideWarnings(outside), ...outsideUnitWarnings('township', '乡镇/街道', outsideTownships), ...outsideUnitWarnings('village', '村', outsideVillages)],
    ...(base.replaced?.length ? { replaced: base.replaced } : {}),
    ...(base.rerun ? { rerun: base.rerun } : {}),
    observedM2: round(observedM2, 0),
    notObservedM2: round(notObservedM2, 0),
    notObservedShare: observedM2 + notObservedM2 > 0 ? round(notObservedM2 / (observedM2 + notObservedM2), 4) : 1,
    rejectedNotObservedM2: round(rejectedNotObservedM2, 0),
    notObservedUnknown: observedM2 + notObservedM2 === 0,
    counts: {
      polygons: polygons.length,
      newSites: polygons.filter((p) => p.previousCode === null).length,
      continuingSites: polygons.filter((p) => p.previousCode !== null).length,
      seamDuplicates: base.seamDuplicates,
      seasonal: base.seasonal,
      highPriority: polygons.filter((p) => p.priority === 'high').length,
      byLeadBureau,
      byDistrict,
      byChangeType,
      outsideDistricts: outside,
      ...(outsideTownships ? { outsideTownships } : {}),
      ...(outsideVillages ? { outsideVillages } : {}),
    },
    timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, round(v, 3)])),
    megapixelsPerSecond,
    totalSeconds: round((Date.parse(finishedAt) - Date.parse(base.startedAt)) / 1000, 2),
    peakRssBytes: Math.max(rssNow, ...tiles.map((t) => t.peakRssBytes)),
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * A tile kept from this batch's earlier run looks compared everywhere else in the report: say which
 * file cannot be read now and why, what to do, and that the tile's polygons are that run's, not this
 * one's; and name the other priors of the tile that did not decode this time either.
 */
function keptTileWarnings(done: TileOutcome[]): string[] {
  return done.flatMap((t) => {
    const k = t.keptFromEarlierRun;
    if (!k) return [];
    const others = (k.rejectedPriors ?? []).map((p) => `${p.subject} ${whyNotRead(p.error.code)} (${p.error.code})`);
    return [
      `${k.file}: ${unreadNow(k.file, k.error)}; tile ${t.tileId}'s result (${t.detections} detection(s)) is kept from this batch's earlier run of ${k.storedAt.slice(0, 16).replace('T', ' ')} UTC, ` +
        `its polygons, codes and cases as they were: that ground was not looked at again` +
        (others.length ? `; its other prior(s) not read now either: ${others.join(', ')}` : '') +
        `. ${WHAT_TO_DO[k.error.code] ?? 'Make the file readable here and run the batch again'}`,
    ];
  });
}

/** A tile whose keep finalising undid (`takenOverBy`): the file, why it was not read, and whose polygons stand there. */
function takenOverWarnings(tiles: TileOutcome[]): string[] {
  return tiles.flatMap((t) =>
    t.takenOverBy && t.error
      ? [
          `${t.error.subject ?? t.files[0]}: ${unreadNow(t.error.subject ?? t.files[0], t.error)}; tile ${t.tileId}'s result of this batch's earlier run is not kept: batch ${t.takenOverBy} has compared tile ${t.tileId} since, ` +
            `its polygons there stay the month's and this batch supersedes nothing there (its ground is in not-observed.geojson)`,
        ]
      : [],
  );
}

/**
 * Why a file was not read, in the words of its code: this machine's reasons (not found here, too
 * large for its memory cap) say nothing of the imagery, a chunk that does not decode does.
 */
export function whyNotRead(code: string): string {
  return code === 'INPUT.NOT_FOUND' ? 'was not found here' : code === 'RASTER.TOO_LARGE' ? 'is too large for this machine' : code === 'TILE.UNREADABLE' ? 'did not decode' : code === 'TILE.NOT_OBSERVABLE' ? 'is not imagery (one value in every band)' : 'could not be read';
}

/** Why the file was not read now, in the words of its code. */
function unreadNow(file: string, error: RejectedInput['error']): string {
  const message = error.message.startsWith(`${file}: `) ? error.message.slice(file.length + 2) : error.message;
  const why = error.code === 'INPUT.NOT_FOUND' ? 'not found now' : error.code === 'RASTER.TOO_LARGE' ? 'too large for this machine now' : 'cannot be read now';
  return `${why} (${error.code}: ${message})`;
}

const WHAT_TO_DO: Record<string, string> = {
  'TILE.UNREADABLE': 'The imagery file is damaged: restore it (download it again, same file) and run the batch again',
  'INPUT.NOT_FOUND': 'Put the file back where the batch names it (on a queue, where every worker sees it) and run the batch again',
  'RASTER.TOO_LARGE': 'Run the batch again on a machine with more memory, or raise TUBAN_MAX_TILE_BYTES',
};

/** A misregistered prior is worth an analyst's look even when it was corrected: it says the epochs were processed differently. */
function misregistrationWarnings(done: TileOutcome[]): string[] {
  return done
    .filter((t) => t.coregistration?.applied)
    .map((t) => `${t.files[0]}: prior epoch misregistered by (${t.coregistration!.dx}, ${t.coregistration!.dy}) px; moved back before differencing`);
}

/** Not an input error (the batch goes on), but a person must give these polygons a district before notices go out. */
function outsideWarnings(o: { polygons: number; areaM2: number; codes: string[] }): string[] {
  if (o.polygons === 0) return [];
  const list = o.codes.length > 20 ? `${o.codes.slice(0, 20).join(', ')} … (${o.codes.length - 20} more)` : o.codes.join(', ');
  return [
    `${o.polygons} polygon(s) (${(o.areaM2 / 1e4).toFixed(2)} ha) lie outside every district of the zone files and were coded ${UNASSIGNED_DISTRICT.code} (${UNASSIGNED_DISTRICT.name}) with the default lead bureau: ${list}. Check that the district layer covers the tiles (or its CRS: --zones file@gcj02)`,
  ];
}

/**
 * Not an error either: the ledger's 乡镇/街道 (or 村) is blank for these until the township (village)
 * layer covers them. `unit` is the layer's kind, `column` the ledger column left blank.
 */
function outsideUnitWarnings(unit: 'township' | 'village', column: string, o: { polygons: number; areaM2: number; codes: string[] } | null): string[] {
  if (!o || o.polygons === 0) return [];
  const list = o.codes.length > 20 ? `${o.codes.slice(0, 20).join(', ')} … (${o.codes.length - 20} more)` : o.codes.join(', ');
  const named = unit === 'township' ? 'township (乡镇/街道)' : 'village (村/社区)';
  return [`${o.polygons} polygon(s) (${(o.areaM2 / 1e4).toFixed(2)} ha) lie outside every ${named} of the zone files; their ${column} is blank: ${list}. Check that the ${unit} layer covers the tiles (or its CRS)`];
}
