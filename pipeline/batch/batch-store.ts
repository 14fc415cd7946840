/**
 * Batch-level persistence over the repository: the plan, each tile's outcome and the final
 * report. Every write that must be all-or-nothing runs in one transaction.
 */
import type { FeatureCollection, MultiPolygon } from 'geojson';
import { TubanError } from '../../schemas/errors.js';
import type { Detection, RejectedInput } from '../model.js';
import type { Database, Queryable } from '../store/queryable.js';
import * as repo from '../store/repository.js';
import { asJsonb } from '../store/as-jsonb.js';
import type { BatchReport, TileOutcome } from './batch-report.js';
import { detectorParamsFor } from './batch-args.js';
import { flatParams } from '../detect/detector-params.js';
import { planTile, rejectedFootprint, type BatchPlan } from './plan-batch.js';

export async function storePlan(db: Database, plan: BatchPlan): Promise<void> {
  await db.transaction(async (tx) => {
    await checkReplaced(tx, plan);
    await repo.upsertBatch(tx, { id: plan.batchId, epoch: plan.args.epoch, params: { args: plan.args, detector: flatParams(detectorParamsFor(plan.args)) }, plan, status: 'planned' });
    await repo.upsertTiles(tx, plan.batchId, plan.tiles.map((t) => ({ tileId: t.tile.id, role: 'current' as const, info: { tile: t.tile } })));
    await repo.recordRejected(tx, plan.batchId, plan.rejected);
    await repo.writeRejectedFootprints(tx, plan.batchId, plan.rejectedFootprints ?? []);
    await repo.writeRejectedPriorGround(tx, plan.batchId, plan.rejectedPriorFootprints ?? [], servedGround(plan));
  });
}

/**
 * Each current tile's ground with the priors that could serve it (the plan's rule: a tile planned
 * has them as its priors; one rejected while planning names them too, except in older plans, where
 * every accepted prior over it stands in).
 */
function servedGround(plan: BatchPlan): repo.ServedGround[] {
  const footprints = new Map(plan.prior.map((p) => [p.id, p.footprint]));
  const cover = (ids: readonly string[]) => ids.map((id) => footprints.get(id)).filter((g) => g !== undefined);
  return [
    ...plan.tiles.map((t) => ({ footprint: t.tile.footprint, cover: cover(t.priorIds) })),
    ...(plan.rejectedFootprints ?? []).map((r) => ({ footprint: r.footprint, cover: r.priorIds ? cover(r.priorIds) : plan.prior.map((p) => p.footprint) })),
  ];
}

/** Priors that did not decode when a tile read them: their files and footprints, with why. */
export interface UndecodedPriors {
  rejected: RejectedInput[];
  /** The priors' ids, in the order of `rejected` (a keep asks whether the earlier read compared with them). */
  priorIds: string[];
  /** Their ground over the tile, and the footprints of the priors the tile fell back to. */
  footprints: Pick<repo.RejectedFootprint, 'file' | 'reason' | 'footprint'>[];
  tile: repo.ServedGround;
}

/**
 * `--replaces` may name only a finished batch of the same month, other than this one, that no other
 * batch replaced: a running batch would store its polygons after this one took its place, another
 * month's codes are not this month's to take over, and a replaced batch's sites are another's now.
 */
async function checkReplaced(tx: Queryable, plan: BatchPlan): Promise<void> {
  const ids = plan.args.replaces ?? [];
  if (ids.length === 0) return;
  const r = await tx.query<{ id: string; epoch: string; status: string; replaced_by: string | null }>('SELECT id, epoch, status, replaced_by FROM batches WHERE id = ANY($1::text[])', [ids]);
  const found = new Map(r.rows.map((b) => [b.id, b]));
  const problems = ids.map((id) => {
    const b = found.get(id);
    if (!b) return `${id} is no batch of this database`;
    if (b.epoch !== plan.args.epoch) return `${id} is a batch of ${b.epoch}, not ${plan.args.epoch}`;
    if (b.status !== 'done') return `${id} has not finished (${b.status}): let it finish, then replace it`;
    // Its polygons went to the batch that replaced it: this one would take nothing, and the month hold both.
    if (b.replaced_by !== null && b.replaced_by !== plan.batchId) return `${id} was replaced by batch ${b.replaced_by}: replace that one`;
    return null;
  });
  const said = problems.filter((p): p is string => p !== null);
  if (said.length) throw new TubanError('BATCH.CANNOT_REPLACE', `--replaces: ${said.join('; ')}`);
}

export async function loadPlan(db: Database, batchId: string): Promise<BatchPlan> {
  const row = await repo.loadBatch(db, batchId);
  if (!row?.plan) throw new TubanError('INTERNAL', `batch ${batchId} has no stored plan`);
  return row.plan as BatchPlan;
}

/** A tile's detections and not-observed outline (atomically replaced), then its outcome for the report. */
export async function saveTileResult(
  db: Database,
  batchId: string,
  tileId: string,
  detections: Detection[],
  outcome: TileOutcome,
  notObserved: MultiPolygon | null,
  undecoded?: UndecodedPriors,
): Promise<void> {
  // One transaction (one commit, one round trip fewer): the detections and the outcome the report
  // reads are stored together or not at all.
  await db.transaction(async (tx) => {
    await repo.writeTileDetections(tx, batchId, tileId, detections, { areaM2: outcome.notObservedM2, geometry: notObserved });
    // The tile's rows of priors that did not decode replace its earlier run's (none: they go).
    await repo.writeTilePriorGround(tx, batchId, tileId, undecoded?.footprints ?? [], undecoded?.tile ?? null);
    if (undecoded) await repo.recordRejected(tx, batchId, undecoded.rejected);
    await setOutcome(tx, batchId, tileId, outcome);
  });
}

/**
 * A tile that is bad input: no detections of it remain, it is marked skipped and reported by name;
 * its footprint becomes not-observed ground, marked with the error code. Returns the outcome stored.
 *
 * Except a file this run cannot read, find or fit on this machine of a tile this batch's earlier run
 * had read (`keepEarlierResult`): that run's result stays, and finalising uses it as a tile read now.
 */
export async function rejectTile(
  db: Database, batchId: string, tileId: string, outcome: TileOutcome, rejected: RejectedInput, footprint: repo.RejectedFootprint, undecoded?: UndecodedPriors, priorId?: string,
): Promise<TileOutcome> {
  const kept = await db.transaction(async (tx) => {
    const keptOutcome = await keepIn(tx, batchId, tileId, rejected, undecoded, priorId);
    if (keptOutcome) return keptOutcome;
    await rejectRows(tx, batchId, tileId, rejected.error, footprint, undecoded);
    await repo.recordRejected(tx, batchId, rejectedNow(rejected, undecoded));
    return null;
  });
  if (kept) return kept;
  await setOutcome(db, batchId, tileId, outcome);
  return outcome;
}

/**
 * This batch's earlier result of the tile, kept in place of reading it now, or null (nothing stored).
 * Kept when `rejected` is a file this run cannot read, find or fit on this machine (`KEPT_WHEN_UNREAD`:
 * nothing said of the imagery's content), the tile's own or one of prior `priorId`'s, a prior the
 * earlier read compared the tile with (its `comparedWith`, by id: whichever of a prior's band files
 * failed), and that run's result is still the month's on the tile (`earlierReadOf`): its rows (detections,
 * not-observed outline, outcome) stay, marked `keptFromEarlierRun`. Nobody looked at that ground
 * again, and falling back to the priors left (less ground, an older month) would replace the
 * polygons found against that prior: its polygons, codes and cases stay the month's as they were.
 * A prior that read did not compare the tile with (it could not read it either) is not kept for:
 * falling back past it comes to what that read did. A result stored before reads said which priors
 * they compared has the plan's priors of the tile less those it dropped (`comparedWithOf`).
 * Not kept where a prior this job dropped (`undecoded`) for its content (not imagery) is one that read
 * compared the tile with: it says something of the ground compared. (One it did not compare with, not
 * imagery then too, has no bearing on it.)
 */
export async function keepEarlierResult(db: Database, batchId: string, tileId: string, rejected: RejectedInput, undecoded?: UndecodedPriors, priorId?: string): Promise<TileOutcome | null> {
  return db.transaction((tx) => keepIn(tx, batchId, tileId, rejected, undecoded, priorId));
}

async function keepIn(tx: Queryable, batchId: string, tileId: string, rejected: RejectedInput, undecoded?: UndecodedPriors, priorId?: string): Promise<TileOutcome | null> {
  if (!KEPT_WHEN_UNREAD.has(rejected.error.code)) return null;
  const earlier = await earlierReadOf(tx, batchId, tileId);
  if (!earlier) return null;
  // (A kept result carries the comparedWith of the read it keeps: kept again, the same result.)
  const compared = await comparedWithOf(tx, batchId, tileId, earlier.outcome);
  if (priorId !== undefined && !compared?.includes(priorId)) return null;
  // A prior dropped for what it holds (not imagery) that the earlier read compared the tile with says
  // something of the ground that read compared (unknown which it compared: it may have).
  const others = undecoded?.rejected ?? [];
  const forContent = others.flatMap((r, i) => (KEPT_WHEN_UNREAD.has(r.error.code) ? [] : [undecoded!.priorIds[i]]));
  if (forContent.length > 0 && (!compared || forContent.some((id) => compared.includes(id)))) return null;
  // This run's figures are this run's: it spent no time on the tile, and the priors that did not
  // decode in the earlier run are that run's (their ground stays in the kept outline).
  const { rejectedPriors: _earlierRun, ...result } = earlier.outcome;
  const keptOutcome: TileOutcome = {
    ...result,
    // The priors that read compared with, derived for a result stored before reads said: kept again
    // (a third run), the same keep.
    ...(result.comparedWith || !compared ? {} : { comparedWith: [...compared] }),
    timings: {},
    peakRssBytes: 0,
    // A third run that still cannot read it keeps the same result: stored when it was read.
    keptFromEarlierRun: { file: rejected.subject, error: rejected.error, storedAt: earlier.outcome.keptFromEarlierRun?.storedAt ?? earlier.storedAt, ...(others.length ? { rejectedPriors: others } : {}) },
  };
  await repo.recordRejected(tx, batchId, rejectedNow(rejected, undecoded));
  await setOutcome(tx, batchId, tileId, keptOutcome);
  return keptOutcome;
}

/**
 * The prior ids a stored successful read compared the tile with: its `comparedWith`, or for one stored
 * before reads said (no `comparedWith`), the plan's priors of the tile less any with a file among its
 * `rejectedPriors` (which then held every prior the read dropped). Unknown (undefined) for such a kept
 * result: its `rejectedPriors` were the keeping run's, not the read's.
 */
async function comparedWithOf(tx: Queryable, batchId: string, tileId: string, outcome: TileOutcome): Promise<readonly string[] | undefined> {
  if (outcome.comparedWith) return outcome.comparedWith;
  if (outcome.keptFromEarlierRun) return undefined;
  const row = await repo.loadBatch(tx, batchId);
  if (!row?.plan) return undefined;
  const dropped = new Set((outcome.rejectedPriors ?? []).map((r) => r.subject));
  return planTile(row.plan as BatchPlan, tileId).priors.filter((p) => !p.files.some((f) => dropped.has(f))).map((p) => p.id);
}

/**
 * Every input rejected by this tile job, in one statement, its rows in key order: two tiles rejecting
 * two shared priors in opposite orders would otherwise lock their rows in opposite orders (a deadlock
 * between two queue workers).
 */
const rejectedNow = (rejected: RejectedInput, undecoded?: UndecodedPriors): RejectedInput[] => [...(undecoded?.rejected ?? []), rejected];

/** A rejected tile's rows: none of its detections, its footprint not observed (with the reason), marked skipped. */
async function rejectRows(tx: Queryable, batchId: string, tileId: string, error: RejectedInput['error'], footprint: repo.RejectedFootprint, undecoded?: UndecodedPriors): Promise<void> {
  await tx.query('DELETE FROM detections WHERE batch_id = $1 AND tile_id = $2', [batchId, tileId]);
  await repo.writeRejectedFootprints(tx, batchId, [footprint]);
  await repo.writeTilePriorGround(tx, batchId, tileId, undecoded?.footprints ?? [], undecoded?.tile ?? null);
  await repo.setTileStatus(tx, batchId, tileId, 'skipped', error);
}

/**
 * Kept tiles (`keptFromEarlierRun`) of the batch whose kept result is no longer the month's: another
 * batch of the month compared the tile and stored its result after the keep was decided (a tile job decides
 * hours before finalising on a queue). Each is rejected now as `rejectTile` would have (its rows
 * go, its footprint is not observed), its outcome naming the batch that took it over (`takenOverBy`).
 * Run in finalise's storing transaction (and once before, so its detections are not routed), it
 * returns the outcomes changed: those tiles supersede nothing.
 */
export async function unkeepTakenOver(tx: Queryable, plan: BatchPlan, tiles: readonly TileOutcome[]): Promise<TileOutcome[]> {
  const kept = tiles.filter((t) => t.keptFromEarlierRun);
  if (kept.length === 0) return [];
  // Locks the rows in key order, as `rejectTile` does: a late duplicate tile job waits for this decision.
  const r = await tx.query<{ tile_id: string; by: string | null }>(
    `SELECT t.tile_id, ${TAKEN_OVER_BY} AS by FROM tiles t JOIN batches b ON b.id = t.batch_id
     WHERE t.batch_id = $1 AND t.tile_id = ANY($2::text[]) ORDER BY t.tile_id FOR UPDATE OF t`,
    [plan.batchId, kept.map((t) => t.tileId)],
  );
  const by = new Map(r.rows.map((row) => [row.tile_id, row.by]));
  const changed: TileOutcome[] = [];
  for (const t of kept) {
    const taker = by.get(t.tileId);
    if (!taker) continue;
    const k = t.keptFromEarlierRun!;
    const { tile } = planTile(plan, t.tileId);
    const ground = rejectedFootprint(t.tileId, k.file, k.error.code, tile.tile.footprint);
    const { keptFromEarlierRun: _kept, rejectedPriors: _earlierRun, coregistration: _c, comparedWith: _read, ...base } = t;
    // A prior not read names itself among the rejected priors, as the tile job's last prior does:
    // the tile's own files are healthy.
    const priors = [...(k.rejectedPriors ?? []), ...(t.files.includes(k.file) ? [] : [{ subject: k.file, error: k.error }])];
    const outcome: TileOutcome = {
      ...base, ...(priors.length ? { rejectedPriors: priors } : {}),
      status: 'rejected', error: k.error, takenOverBy: taker, pixels: 0, detections: 0, observedM2: 0, notObservedM2: ground.areaM2, threshold: null, timings: {}, peakRssBytes: 0,
    };
    await rejectRows(tx, plan.batchId, t.tileId, k.error, ground);
    await setOutcome(tx, plan.batchId, t.tileId, outcome);
    changed.push(outcome);
  }
  return changed;
}

/**
 * Rejections that say nothing of the imagery's content, only that this machine cannot read the file
 * now: damaged since (a bad copy, same name and size), not found (moved; a queue worker that cannot
 * see the path), too large for this machine's memory cap (TUBAN_MAX_TILE_BYTES is not part of the
 * batch id). A statement about the imagery (TILE.ALREADY_FILED, TILE.NOT_OBSERVABLE) is a finding.
 */
export const KEPT_WHEN_UNREAD: ReadonlySet<string> = new Set(['TILE.UNREADABLE', 'INPUT.NOT_FOUND', 'RASTER.TOO_LARGE']);

/**
 * The tile's result as a run of this batch stored it from a successful read (its detections and
 * not-observed rows are stored with it: `saveTileResult`), with when; null when no run read it, or
 * when that result is no longer what the month holds on the tile (`TAKEN_OVER_BY`: a normal
 * rejection leaves the polygons of the batch that took it over). Finalising checks it again.
 * Locks the tile's row: a duplicate job of the tile waits for this one's decision.
 */
async function earlierReadOf(tx: Queryable, batchId: string, tileId: string): Promise<{ outcome: TileOutcome; storedAt: string } | null> {
  const r = await tx.query<{ outcome: TileOutcome; updated_at: Date | string; held: boolean }>(
    `SELECT t.info->'outcome' AS outcome, t.updated_at, ${TAKEN_OVER_BY} IS NULL AS held
     FROM tiles t JOIN batches b ON b.id = t.batch_id
     WHERE t.batch_id = $1 AND t.tile_id = $2 AND t.status = 'done' AND t.info->'outcome'->>'status' = 'done' FOR UPDATE OF t`,
    [batchId, tileId],
  );
  const row = r.rows[0];
  return row?.held ? { outcome: row.outcome, storedAt: new Date(row.updated_at).toISOString() } : null;
}

/**
 * Of a tile row `t` of batch `b`: the batch that took the tile's result over since it was stored, or
 * NULL while it is still what the month holds on the tile. Taken over: the batch was replaced, or
 * another batch of the month that compared the tile stored its result of it (its polygons there, or
 * none: `stored_at`, stamped by its storing transaction; a batch that stored before stamps were kept:
 * when it finished) after this batch last stored its result of the tile, or read it (`t.updated_at`:
 * a read after the other's store is the later comparison, which this batch's store puts over it),
 * or another batch's polygons hold the tile now. Stores, not finishes: two batches finalising at once
 * over a district store in the order of the district lock and finish in either order. A batch that has read the tile and not yet
 * stored is not counted: its store will replace the month's polygons there (codes inherited), while
 * dropping this batch's result first would leave the ground bare, cases withdrawn, should it never
 * finish. The one notion for keeping a tile's earlier result (`earlierReadOf`) and for checking the
 * keep again when finalising (`unkeepTakenOver`).
 */
const TAKEN_OVER_BY = `COALESCE(b.replaced_by, (
  SELECT o.id FROM batches o JOIN tiles ot ON ot.batch_id = o.id
  WHERE o.epoch = b.epoch AND o.id <> b.id AND ot.tile_id = t.tile_id AND ot.role = 'current' AND ot.status = 'done'
    AND COALESCE(ot.stored_at, o.finished_at) > GREATEST(COALESCE(t.stored_at, b.finished_at), t.updated_at)
  ORDER BY COALESCE(ot.stored_at, o.finished_at) DESC, o.id LIMIT 1), (
  SELECT p.batch_id FROM polygons p WHERE p.epoch = b.epoch AND p.tile_id = t.tile_id AND p.batch_id <> b.id
  ORDER BY p.batch_id LIMIT 1))`;

async function setOutcome(db: Queryable, batchId: string, tileId: string, outcome: TileOutcome): Promise<void> {
  await db.query(`UPDATE tiles SET info = jsonb_set(COALESCE(info, '{}'::jsonb), '{outcome}', $3::jsonb) WHERE batch_id = $1 AND tile_id = $2`, [
    batchId,
    tileId,
    JSON.stringify(outcome),
  ]);
}

export async function loadTileOutcomes(db: Database, batchId: string): Promise<TileOutcome[]> {
  const r = await db.query<{ outcome: TileOutcome }>(
    `SELECT info->'outcome' AS outcome FROM tiles WHERE batch_id = $1 AND role = 'current' AND info ? 'outcome' ORDER BY tile_id`,
    [batchId],
  );
  return r.rows.map((row) => row.outcome);
}

export async function finishBatch(db: Database, batchId: string, report: BatchReport, rejected: RejectedInput[]): Promise<void> {
  await db.transaction(async (tx) => {
    await repo.recordRejected(tx, batchId, rejected);
    await repo.setBatchStatus(tx, batchId, 'done', report);
  });
}

export async function loadReport(db: Database, batchId: string): Promise<BatchReport> {
  const row = await repo.loadBatch(db, batchId);
  if (!row?.report) throw new TubanError('INTERNAL', `batch ${batchId} has not been finalised`);
  return row.report as BatchReport;
}

/** What `loadReport` reads back of a report `finishBatch` stored (a jsonb column), without the read. */
export function asStoredReport(report: BatchReport): BatchReport {
  return asJsonb(report);
}

/**
 * Every tile's not-observed outline, as lon/lat features with tile_id and area_m2; a rejected input's
 * ground also says why (`reason`, its error code), which file (`file`) and from which epoch (`epoch`:
 * 'current' for a `--tiles` file, 'prior' for a `--prior` one).
 */
export async function loadNotObserved(db: Database, batchId: string): Promise<FeatureCollection<MultiPolygon>> {
  // A tile's own row names another file only where one of its prior tiles failed to read (handlers.ts).
  const r = await db.query<{ tile_id: string; area_m2: number; geom: string; reason: string | null; file: string | null; prior: boolean }>(
    `SELECT n.tile_id, n.area_m2, ST_AsGeoJSON(n.geom, 7) AS geom, n.reason, n.file,
            ${repo.PRIOR_GROUND_ROW('n.tile_id')} OR coalesce(NOT (t.info->'tile'->'files' ? n.file), false) AS prior
     FROM not_observed n LEFT JOIN tiles t ON t.batch_id = n.batch_id AND t.tile_id = n.tile_id
     WHERE n.batch_id = $1 AND n.geom IS NOT NULL ORDER BY n.tile_id`,
    [batchId],
  );
  return {
    type: 'FeatureCollection',
    features: r.rows.map((row) => ({
      type: 'Feature',
      properties: {
        // A plan's prior row is named by its file; a tile job's by the tile that read the prior.
        tile_id: row.prior && row.tile_id.startsWith(repo.PRIOR_GROUND_KEY) ? row.tile_id.slice(repo.PRIOR_GROUND_KEY.length) : (repo.tileOfPriorGround(row.tile_id) ?? row.tile_id),
        area_m2: Math.round(row.area_m2),
        ...(row.reason ? { reason: row.reason, file: row.file, input: row.prior ? 'prior' : 'current' } : {}),
      },
      geometry: JSON.parse(row.geom) as MultiPolygon,
    })),
  };
}
