/**
 * The job handlers: the same two functions run in-process (embedded default) and on BullMQ
 * workers (production). Each reads what it needs from the database by batch id and writes its
 * result in one transaction, so a retried or duplicated job replaces its own rows.
 */
import type { Logger } from 'pino';
import { openMosaic, openTile, type TileInfo } from '../../geo/tile-reader.js';
import type { JobHandlers } from '../../schemas/jobs.js';
import type { RuleTable } from '../../schemas/rule-table.js';
import { loadRuleTable } from '../route/load-rule-table.js';
import { BYTES_PER_PIXEL, NothingToCompare, detectTile, detectorStamp, modelRecord, modelsFor } from '../detect/detect-tile.js';
import { rejectedPriorsOf } from '../detect/not-imagery.js';
import { collectGarbage } from '../collect-garbage.js';
import { defaultScoreWorkers } from '../detect/score-pool.js';
import { TubanError, asTubanError } from '../../schemas/errors.js';
import { config } from '../config.js';
import type { Database, Queryable } from '../store/queryable.js';
import * as repo from '../store/repository.js';
import { storeDistricts, storeTownships, storeVillages } from '../store/districts.js';
import * as store from './batch-store.js';
import { detectorParamsFor } from './batch-args.js';
import { flatParams } from '../detect/detector-params.js';
import { finaliseDetections, type FinaliseHeadStart } from './finalise-batch.js';
import type { Detection, RejectedInput } from '../model.js';
import { planTile, rejectedFootprint, type BatchPlan } from './plan-batch.js';
import type { BatchReport, TileOutcome } from './batch-report.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { summarise, whyNotRead } from './batch-report.js';
import { alreadyFiledError, filedInEarlierMonth } from './refiled-imagery.js';
import { rerunFacts } from './rerun-facts.js';

/**
 * A tile whose full-size rasters (BYTES_PER_PIXEL a pixel) reach this is followed by a full GC
 * (collect-garbage.ts): 27-56 ms against hundreds of MB back (1.1 GiB on a 10980² tile). Small
 * tiles (bench:scale's 256², an OSCD city's 1 Mpx) leave too little to be worth a collection each.
 */
const COLLECT_AFTER_BYTES = 64 * 2 ** 20;

export interface HandlerDeps {
  db: Database;
  log: Logger;
  mode: 'embedded' | 'queue';
  /** Plans already in hand (the embedded runner's), so a tile can start before the database answers. */
  plans?: BatchPlan[];
  /** Tiles this process detects at once (a queue worker's concurrency): they share the cores for score workers. */
  tilesAtOnce?: number;
  /** The rule table of a batch's `--rules` path; the embedded runner passes one that reads the file once per batch. */
  loadRules?: (path?: string) => Promise<RuleTable>;
  /**
   * The embedded runner's head start on finalising (`finalise-ahead.ts`): told each tile's
   * detections just before they are stored, asked for what it prepared when the batch finalises.
   */
  ahead?: { detected(detections: readonly Detection[]): void; headStart(): FinaliseHeadStart };
  /**
   * The embedded runner stores the plan while the first tile is detected: a tile's rows (which
   * reference the batch row) wait for it. On PGlite they queued behind it anyway, on its one
   * connection; on PostgreSQL they come on another of the pool's, and a tile quicker than the plan's
   * transaction (a small tile, a rejected prior's ground to overlay) found no batch row.
   */
  planStored?: Promise<unknown>;
  /**
   * Told the polygons and the report a finalise job stored, once they are: the embedded runner
   * writes the outputs from them instead of reading them back (`exportFinalised`).
   */
  finalised?: (stored: FinalisedBatch) => void;
}

/** What finalising stored of a batch: its polygons as `storeBatchPolygons` returned them, and its report. */
export interface FinalisedBatch {
  polygons: MonitoringPolygon[];
  report: BatchReport;
}

export function createHandlers({ db, log, mode, plans: known = [], tilesAtOnce = 1, loadRules = loadRuleTable, ahead, planStored, finalised }: HandlerDeps): JobHandlers {
  const plans = new Map<string, BatchPlan>(known.map((p) => [p.batchId, p]));
  // Once the plan is stored the database is open, and a question to it costs milliseconds.
  let databaseOpen = planStored === undefined;
  planStored?.then(() => (databaseOpen = true), () => {});
  const planOf = async (batchId: string): Promise<BatchPlan> => {
    const cached = plans.get(batchId);
    if (cached) return cached;
    const plan = await store.loadPlan(db, batchId);
    plans.set(batchId, plan);
    return plan;
  };

  return {
    'tile.detect': async ({ batchId, tileId }, ctx) => {
      const plan = await planOf(batchId);
      const { tile, priors: planned } = planTile(plan, tileId);
      const tlog = log.child({ batchId, tileId, file: tile.tile.files[0] });
      const params = detectorParamsFor(plan.args);
      const t = tile.tile;
      // Priors that did not decode when this tile read them (a chunk whose checksum fails): the tile
      // falls back to the priors the plan would have chosen without them, and only the ground none
      // of those covers is not observed, named by the broken file. Each run of the job reads them
      // again, so a re-run (a crash, a retry, another worker) comes to the same.
      const undecoded: { prior: TileInfo; error: TubanError }[] = [];
      let priors = planned;
      // Last month's acquisition is not this month's observation. Answered before the detection once
      // the database is open; the first tile of an embedded run, detected while it opens, is asked
      // beside it and answered before anything of the tile is kept.
      const filedEarlier = filedInEarlierMonth(db, plan.args.epoch, t);
      filedEarlier.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
      const refuseIfFiled = async () => {
        const earlier = await filedEarlier;
        if (earlier) throw alreadyFiledError(t, plan.args.epoch, earlier);
      };
      const keptEarlier = (kept: TileOutcome, e: TubanError): TileOutcome => {
        tlog.warn({ code: e.code, ...(t.files.includes(e.subject ?? '') ? {} : { prior: e.subject }), err: e.message, storedAt: kept.keptFromEarlierRun?.storedAt }, "file not read now (damaged, not found or too large here); the tile's result of this batch's earlier run is kept");
        return kept;
      };
      const undecodedRows = (left: readonly TileInfo[], named: typeof undecoded): store.UndecodedPriors | undefined =>
        named.length === 0
          ? undefined
          : {
              rejected: named.map((u) => ({ subject: u.error.subject!, error: u.error.toJSON() })),
              priorIds: named.map((u) => u.prior.id),
              footprints: named.map((u) => ({ file: u.error.subject!, reason: u.error.code, footprint: u.prior.footprint })),
              tile: { footprint: t.footprint, cover: left.map((p) => p.footprint) },
            };
      for (;;) {
        const latestPrior = [...priors].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0)).at(-1);
        const base = {
          tileId, files: t.files, date: t.date, datePrecision: t.datePrecision ?? 'day', priorDatePrecision: latestPrior?.datePrecision ?? 'day', bands: tile.bands,
          ...(t.stacItem ? { stacItem: t.stacItem } : {}), ...(t.cloudCover !== undefined ? { cloudCover: t.cloudCover } : {}),
        } as const;
        try {
          if (databaseOpen) await refuseIfFiled();
          const current = await openTile(tile.tile);
          const prior = await openMosaic(priors);
          try {
            const r = await detectTile(current, prior, { params, bands: tile.bands, progress: ctx.progress, signal: ctx.signal, maxTileBytes: config().maxTileBytes, scoreWorkers: defaultScoreWorkers(tilesAtOnce) });
            await refuseIfFiled();
            // The tile's rasters are garbage from here: give them back before its rows are stored and
            // the batch goes on (the next tile, finalising, the output files).
            if (r.pixels * BYTES_PER_PIXEL >= COLLECT_AFTER_BYTES) collectGarbage();
            const beforeDate = latestPrior?.date ?? '';
            const detections = r.detections.map((d) => ({ ...d, beforeDate }));
            const undecodedHere = undecodedRows(priors, undecoded);
            const outcome: TileOutcome = {
              ...base,
              ...(undecodedHere ? { rejectedPriors: undecodedHere.rejected } : {}),
              comparedWith: priors.map((p) => p.id),
              status: 'done',
              pixels: r.pixels,
              detections: detections.length,
              observedM2: r.observedM2,
              notObservedM2: r.notObservedM2,
              threshold: r.threshold,
              coregistration: r.coregistration,
              timings: r.timings,
              peakRssBytes: process.resourceUsage().maxRSS * 1024,
            };
            ahead?.detected(detections);
            await planStored;
            await store.saveTileResult(db, batchId, tileId, detections, outcome, r.notObserved, undecodedHere);
            tlog.info({ detections: detections.length, threshold: r.threshold, coregistration: r.coregistration, timings: r.timings }, 'tile done');
            return outcome;
          } finally {
            await Promise.allSettled([current.close(), prior.close()]);
          }
        } catch (err) {
          let thrown = asTubanError(err, tile.tile.files[0]);
          if (thrown.disposition !== 'skip') throw thrown;
          // A kept result stands for this month's imagery: a tile that started before the database
          // opened asks now whether an earlier month has filed it since.
          if (store.KEPT_WHEN_UNREAD.has(thrown.code)) {
            const earlier = await filedEarlier;
            if (earlier) thrown = alreadyFiledError(t, plan.args.epoch, earlier);
          }
          // Prior tiles that would not read are the files to download again, not this tile: every one
          // the error names (all the priors found not imagery at once: rejectedPriorsOf).
          const badPriors = rejectedPriorsOf(thrown).flatMap((error) => {
            const prior = error.subject !== undefined && !t.files.includes(error.subject) ? priors.find((p) => p.files.includes(error.subject!)) : undefined;
            return prior ? [{ prior, error }] : [];
          });
          const lastBad = badPriors.at(-1);
          const badPrior = lastBad !== undefined;
          if (badPrior) {
            undecoded.push(...badPriors);
            const e = lastBad.error;
            // The plan's own priors for the tile, narrowed (not chosen again: a plan stored by another
            // version falls back only to priors it chose, whose bands are the tile's), in its order.
            const left = planned.filter((p) => !undecoded.some((u) => u.prior.id === p.id));
            if (left.length > 0) {
              // Not read here now (damaged, not found, too large) though this batch's earlier run
              // compared the tile with it: falling back would replace that run's polygons with an
              // older comparison's, so its result is kept as for the tile's own file (keepEarlierResult;
              // not where a prior dropped before was rejected for what it holds).
              if (store.KEPT_WHEN_UNREAD.has(e.code)) {
                await planStored;
                const kept = await store.keepEarlierResult(db, batchId, tileId, { subject: e.subject!, error: e.toJSON() }, undecodedRows([], undecoded.slice(0, -1)), lastBad.prior.id);
                if (kept) return keptEarlier(kept, e);
              }
              for (const { error } of badPriors) {
                tlog.warn({ code: error.code, prior: error.subject, err: error.message, next: left.map((p) => p.files[0]) }, `prior tile ${whyNotRead(error.code)} (${error.code}); the tile falls back to the next prior over it`);
              }
              priors = left;
              continue;
            }
          }
          // The priors left after some were dropped cover too little of the tile to fit (with overlapping
          // tiles, the neighbours' slivers over the overlap strip): the last prior dropped is the file
          // at fault, not this tile. Only where the tile itself showed enough: one under cloud or
          // nodata has nothing to compare whatever its priors, and is rejected as itself.
          const dropped = !badPrior && thrown instanceof NothingToCompare && thrown.currentPixels >= thrown.minimum ? undecoded.at(-1) : undefined;
          const e = badPrior
            ? lastBad.error
            : dropped
              ? new TubanError(
                  'TILE.NOT_OBSERVABLE',
                  `after prior ${dropped.error.subject} was rejected (${whyNotRead(dropped.error.code)}), the priors left cover too little of the tile ${t.files[0]} to compare (${thrown.message})`,
                  dropped.error.subject,
                )
              : thrown;
          const blamesPrior = badPrior || dropped !== undefined;
          // (Named by a prior, the tile's footprint is that prior's not-observed ground: the prior is not
          // named on its ground of the tile again.)
          const named = undecodedRows(blamesPrior ? [] : priors, blamesPrior ? undecoded.slice(0, -1) : undecoded);
          // The ground a dropped prior left uncompared is named by that prior's own reason (TILE.UNREADABLE:
          // a file to download again), as its ground over the tiles compared is.
          const ground = rejectedFootprint(tileId, blamesPrior ? e.subject! : t.files[0], dropped ? dropped.error.code : e.code, t.footprint);
          const rejectedPriors = undecoded.map((u) => ({ subject: u.error.subject!, error: u.error.toJSON() }));
          const outcome: TileOutcome = {
            ...base, ...(rejectedPriors.length ? { rejectedPriors } : {}),
            status: 'rejected', error: e.toJSON(), pixels: 0, detections: 0, observedM2: 0, notObservedM2: ground.areaM2, threshold: null, timings: {}, peakRssBytes: 0,
          };
          await planStored;
          const stored = await store.rejectTile(db, batchId, tileId, outcome, { subject: e.subject ?? tile.tile.files[0], error: e.toJSON() }, ground, named, lastBad?.prior.id);
          if (stored.keptFromEarlierRun) return keptEarlier(stored, e);
          tlog.warn({ code: e.code, err: e.message }, 'tile rejected');
          return stored;
        }
      }
    },

    'batch.finalise': async ({ batchId }, ctx) => {
      const t0 = performance.now();
      const plan = await planOf(batchId);
      const params = detectorParamsFor(plan.args);
      // Names the model(s) the batch's tiles were scored with: 6-band, 4-band or both.
      const models = modelsFor(params, plan.tiles.map((t) => t.bands));
      const stamp = detectorStamp(params, models);
      // A kept tile (keptFromEarlierRun) whose result another batch of the month took over since its
      // tile job decided (it read the tile and stored its result meanwhile: hours on a queue) is rejected now,
      // before its detections are routed; the storing transaction checks again.
      let tiles = await store.loadTileOutcomes(db, batchId);
      const untaken = async (q: Queryable) => {
        const changed = await store.unkeepTakenOver(q, plan, tiles);
        tiles = tiles.map((t) => changed.find((c) => c.tileId === t.tileId) ?? t);
        return changed.map((c) => c.tileId);
      };
      if (tiles.some((t) => t.keptFromEarlierRun)) await db.transaction(untaken);
      const detections = await repo.loadDetections(db, batchId);
      ctx.progress(0.2);
      const planWarnings = [...(plan.warnings ?? [])];
      // The ground this batch speaks for: the tiles it compared. A tile rejected (last month's
      // imagery, a broken chunk, not observable) says nothing of the month, so other batches'
      // polygons there stay, their cases open; and a batch none of whose tiles was compared (exit 2)
      // replaces no other (--replaces). A tile whose file cannot be read now but that this batch read
      // before is done (keptFromEarlierRun): its earlier detections stand for it, as stored then.
      const tileIds = tiles.filter((t) => t.status === 'done').map((t) => t.tileId);
      const replaces = tileIds.length > 0 ? plan.args.replaces : undefined;
      if (plan.args.replaces?.length && !replaces) {
        planWarnings.push(`--replaces ${plan.args.replaces.join(', ')} not applied: no tile of this batch was compared, so it keeps its polygons`);
      }
      // Serials from 1 per district here; the storing transaction moves them past other batches'
      // under a per-district lock, so batches finalising at once never read the same highest serial.
      const rules = await loadRules(plan.args.rules);
      const result = await finaliseDetections(plan, rules, detections, stamp, (geoms) => repo.findPreviousSites(db, plan.args.epoch, geoms), {}, ahead?.headStart());
      ctx.progress(0.8);
      const replacedCodes = await repo.codesOfBatches(db, plan.args.epoch, replaces ?? []);
      // Read before this run is marked done: whether an earlier run of the batch finished.
      const runs = await repo.batchRuns(db, batchId);
      let held: repo.HeldPolygon[] = [];
      // Under the transaction that supersedes: a batch finishing over a kept tile while this one routed.
      const leaveOut = tiles.some((t) => t.keptFromEarlierRun) ? untaken : undefined;
      result.polygons = await repo.storeBatchPolygons(db, batchId, result.polygons, { epoch: plan.args.epoch, tileIds, replaces }, (h) => (held = h), leaveOut);
      const rerun = rerunFacts(batchId, runs, held, result.polygons);
      // The outlines the server checks a clue's place against and places a clue in a township and village by; the newest month's layer wins.
      await storeDistricts(db, { batchId, epoch: plan.args.epoch }, result.districts);
      await storeTownships(db, { batchId, epoch: plan.args.epoch }, result.townships);
      await storeVillages(db, { batchId, epoch: plan.args.epoch }, result.villages);
      const kept = new Set(result.polygons.map((p) => p.code));
      const replaced = [...replacedCodes].map(([id, codes]) => ({ batchId: id, polygons: codes.length, kept: codes.filter((c) => kept.has(c)).length }));
      result.warnings.push(...sameGroundWarnings(await repo.sitesHeldByOtherBatches(db, batchId, plan.args.epoch), plan.args.epoch));
      // A prior that did not decode for several tiles is one rejected input.
      const undecoded = onceEach(tiles.flatMap((t) => t.rejectedPriors ?? []));
      // A tile whose earlier result was kept (its file cannot be read now) names the file too: the imagery is damaged.
      const unreadNow = tiles.flatMap((t) => (t.keptFromEarlierRun ? [{ subject: t.keptFromEarlierRun.file, error: t.keptFromEarlierRun.error }, ...(t.keptFromEarlierRun.rejectedPriors ?? [])] : []));
      // A tile rejected over a prior (its last one, or a kept one taken over) names that prior among
      // its rejectedPriors: its own files are healthy, not rejected inputs.
      const overPrior = (t: TileOutcome) => t.rejectedPriors?.some((p) => p.subject === t.error?.subject && !t.files.includes(p.subject));
      const rejected = [...plan.rejected, ...tiles.filter((t) => t.status === 'rejected' && !overPrior(t)).map((t) => ({ subject: t.files[0], error: t.error! })), ...onceEach([...undecoded, ...unreadNow]), ...result.rejected];
      // Rejected tiles' footprints (planning's and the tile jobs'): ground given and not looked at;
      // and rejected prior tiles' ground over the tiles used (nodata of theirs, counted there already).
      const rejectedGround = await repo.loadRejectedGround(db, batchId);
      const report = summarise(
        {
          batchId,
          epoch: plan.args.epoch,
          mode,
          database: db.kind,
          startedAt: plan.plannedAt,
          detector: { ...stamp, params: flatParams(params), models: models.map(modelRecord) },
          warnings: [...planWarnings, ...result.warnings],
          replaced,
          rerun,
          repaired: result.repaired,
          seamDuplicates: result.seamDuplicates,
          seasonal: result.seasonal,
          townshipLayer: result.townshipLayer,
          villageLayer: result.villageLayer,
          extraTimings: { finalise: (performance.now() - t0) / 1000 },
          rejectedGroundM2: rejectedGround.footprintsM2,
          rejectedPriorGroundM2: rejectedGround.priorOverUsedM2,
        },
        tiles,
        rejected,
        result.polygons,
      );
      await store.finishBatch(db, batchId, report, result.rejected);
      finalised?.({ polygons: result.polygons, report });
      log.info({ batchId, polygons: result.polygons.length, rejected: rejected.length }, 'batch finalised');
      return { polygons: result.polygons.length };
    },
  } satisfies JobHandlers;
}

/** The month's ledger lists a site twice when another batch of the month holds it from other tile files: say so. */
function sameGroundWarnings(others: readonly { batchId: string; polygons: number; file: string | null }[], epoch: string): string[] {
  return others.map(
    (o) =>
      `${o.polygons} polygon(s) lie on sites batch ${o.batchId}${o.file ? ` (tiles such as ${o.file})` : ''} already holds for ${epoch}, from other tile files over the same ground: ` +
      `the month's ledger lists both; if this run re-prepared that imagery, the sites are there twice under two codes: run it again with --replaces ${o.batchId}`,
  );
}

/** Each (file, code) once, first kept. */
function onceEach(inputs: readonly RejectedInput[]): RejectedInput[] {
  const seen = new Set<string>();
  return inputs.filter((r) => {
    const key = `${r.subject}\n${r.error.code}`;
    return !seen.has(key) && seen.add(key);
  });
}
