/**
 * The embedded default: plan, run every tile job and then the finalise job in this process
 * (one tile at a time, so memory stays at one tile's peak; each tile decodes on worker threads),
 * then write the outputs. The production path enqueues the same jobs on BullMQ instead.
 */
import type { FeatureCollection, MultiPolygon } from 'geojson';
import type { Logger } from 'pino';
import { loadRuleTable } from '../route/load-rule-table.js';
import type { JobContext } from '../../schemas/jobs.js';
import type { RuleTable } from '../../schemas/rule-table.js';
import type { Database } from '../store/queryable.js';
import * as repo from '../store/repository.js';
import { asStoredReport, loadNotObserved, loadReport, storePlan } from './batch-store.js';
import type { BatchArgs } from './batch-args.js';
import { TubanError } from '../../schemas/errors.js';
import type { BatchReport, TileOutcome } from './batch-report.js';
import { createHandlers, type FinalisedBatch } from './handlers.js';
import { startPolygonsGpkgThread, type GpkgThread } from '../outputs/polygons-gpkg-thread.js';
import { writeOutputs } from './write-outputs.js';
import { FinaliseAhead } from './finalise-ahead.js';
import { onceEachZoneFile } from '../zones.js';
import { startZoneFileThread, type ZoneFileThread } from '../zone-file-thread.js';
import { planBatch, type BatchPlan } from './plan-batch.js';

export interface RunOptions {
  db: Database;
  log: Logger;
  out: string;
  onProgress?: (fraction: number, label: string) => void;
  signal?: AbortSignal;
  /** The batch planned already (`planForRun`): the CLI plans before it opens the database. */
  planned?: PlannedBatch;
}

/** A plan, with the zone files planning read (kept for finalising: `onceEachZoneFile`). */
export interface PlannedBatch {
  plan: BatchPlan;
  loadZones: ReturnType<typeof onceEachZoneFile>;
}

export interface RunResult {
  plan: BatchPlan;
  report: BatchReport;
  files: string[];
}

/** Plan the batch and store the plan (idempotent: the same inputs give the same batch id and rows). */
export async function planAndStore(db: Database, args: BatchArgs, log: Logger, planned?: BatchPlan): Promise<BatchPlan> {
  const plan = planned ?? (await planBatch(args));
  await storePlan(db, plan);
  logPlan(plan, log);
  return plan;
}

function logPlan(plan: BatchPlan, log: Logger): void {
  for (const r of plan.rejected) log.warn({ subject: r.subject, code: r.error.code }, r.error.message);
  log.info({ batchId: plan.batchId, tiles: plan.tiles.length, prior: plan.prior.length, rejected: plan.rejected.length }, 'batch planned');
}

/** Plan for the embedded run: the zone files read to check for districts are kept for finalising. */
export async function planForRun(args: BatchArgs): Promise<PlannedBatch> {
  // Zone files read once: planning checks them for districts, finalising overlays with them.
  const loadZones = onceEachZoneFile();
  return { plan: await planBatch(args, loadZones), loadZones };
}

export async function runBatch(args: BatchArgs, opts: RunOptions): Promise<RunResult> {
  const { db, log } = opts;
  const progress = opts.onProgress ?? (() => {});
  const signal = opts.signal ?? new AbortController().signal;
  const { plan, loadZones } = opts.planned ?? (await planForRun(args));
  logPlan(plan, log);
  // The files planning did not need (it stops at the first with a district, smallest first) are
  // read on a thread of their own while the first tile is detected.
  let zoneThread: ZoneFileThread | undefined;
  loadZones.prefetch(args.zones, { zonesCrs: args.zonesCrs, crsByPath: args.zonesCrsByPath }, (path, crs) => (zoneThread ??= startZoneFileThread()).load(path, crs));
  zoneThread?.close();
  // Stored while the first tile is detected; the tile's own write waits for it (`planStored`).
  const stored = storePlan(db, plan);
  stored.catch(() => undefined);
  // Storing checks the batches it replaces: a wrong id ends the batch before a tile is read.
  if (args.replaces) await stored;
  // Then, still long before the first tile's detections are stored, PostGIS is loaded on PGlite's thread.
  if (db.kind === 'pglite') void stored.then(() => repo.warmUpGeometry(db)).catch(() => undefined); // a warm-up only: a real fault shows in the real statements
  // Read once for the whole batch (finalise routes with it, the outputs name the bureaus), on first use.
  let rules: Promise<RuleTable> | undefined;
  const loadRules = () => (rules ??= loadRuleTable(args.rules));
  let finalised: FinalisedBatch | undefined;
  const handlers = createHandlers({
    db, log, mode: 'embedded', plans: [plan], loadRules, ahead: new FinaliseAhead(plan.args, loadZones), planStored: stored, finalised: (f) => (finalised = f),
  });
  const steps = plan.tiles.length + 1;
  const ctx = (step: number, label: string): JobContext => ({ progress: (f) => progress((step + f) / steps, label), signal });
  let keptTiles = false;
  for (const [i, t] of plan.tiles.entries()) {
    const label = `tile ${i + 1}/${plan.tiles.length} ${t.tile.files[0].split('/').at(-1)}`;
    progress(i / steps, label);
    const outcome = (await handlers['tile.detect']({ batchId: plan.batchId, tileId: t.tile.id }, ctx(i, label))) as TileOutcome;
    keptTiles ||= outcome.keptFromEarlierRun !== undefined;
  }
  await stored;
  // The not-observed outline is the one output finalise does not hold. Its rows are final once the
  // tiles are stored, unless finalise rejects a kept tile another batch took over (`unkeepTakenOver`):
  // so it is read now, or after finalise. (On PostgreSQL it runs beside finalise's work; on PGlite,
  // one connection, it goes before finalise's first queries: the read-back's time, no longer after.)
  const readNotObserved = () => loadNotObserved(db, plan.batchId);
  let notObserved = keptTiles ? undefined : readNotObserved();
  notObserved?.catch(() => undefined); // awaited below; finalise failing first must not leave it unhandled
  progress(plan.tiles.length / steps, 'routing and ledger');
  // The GeoPackage's thread starts while finalise runs: encoding the GeoPackage is the export's
  // longest part, and its start-up (~0.3–0.45 s loaded) overlapped the read-back this replaces.
  const gpkgThread = startPolygonsGpkgThread();
  try {
    await handlers['batch.finalise']({ batchId: plan.batchId }, ctx(plan.tiles.length, 'routing and ledger'));
    notObserved ??= readNotObserved();
    if (!finalised) throw new TubanError('INTERNAL', `batch ${plan.batchId}: finalising told nothing it stored`);
    return { plan, ...(await exportFinalised(finalised, notObserved, opts.out, await loadRules(), gpkgThread)) };
  } finally {
    gpkgThread.close();
  }
}

/** Write the outputs of a finalised batch from the database (the queue path: another process finalised it). */
export async function exportBatch(db: Database, batchId: string, out: string, rules: RuleTable): Promise<{ report: BatchReport; files: string[] }> {
  // The GeoPackage's thread starts while the polygons are read (the database's work, not this thread's).
  const gpkgThread = startPolygonsGpkgThread();
  try {
    const [polygons, report, notObserved] = await Promise.all([repo.loadPolygons(db, batchId), loadReport(db, batchId), loadNotObserved(db, batchId)]);
    const files = await writeOutputs(out, polygons, report, rules, notObserved, gpkgThread);
    return { report, files };
  } finally {
    gpkgThread.close();
  }
}

/**
 * Write the outputs of the batch this process just finalised from what finalising stored, as the
 * database gives it back (`asStoredPolygons`, `asStoredReport`): the same files `exportBatch` writes,
 * without reading 5 330 polygons back (~0.5–0.7 s of PGlite at a full tile, the main thread idle).
 */
async function exportFinalised(
  finalised: FinalisedBatch, notObserved: Promise<FeatureCollection<MultiPolygon>>, out: string, rules: RuleTable, gpkgThread: GpkgThread,
): Promise<{ report: BatchReport; files: string[] }> {
  const report = asStoredReport(finalised.report);
  const files = await writeOutputs(out, repo.asStoredPolygons(finalised.polygons), report, rules, await notObserved, gpkgThread);
  return { report, files };
}
