/**
 * `tuban batch`: parse flags, plan, open the database (embedded PGlite directory by default),
 * run the batch embedded or through the queue, print a summary table and where the files are.
 */
import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { BAND_NAMES, type BandName } from '../geo/raster.js';
import { BatchArgsSchema, type BatchArgs } from '../pipeline/batch/batch-args.js';
import { parseDetectorParams } from '../pipeline/detect/detector-params.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { UNASSIGNED_DISTRICT } from '../pipeline/batch/finalise-batch.js';
import type { RejectedInput } from '../pipeline/model.js';
import { planForRun, runBatch, type PlannedBatch } from '../pipeline/batch/run-batch.js';
import { createLogger } from '../pipeline/log.js';
import { makeDirectory } from '../pipeline/make-directory.js';
import { migrate } from '../pipeline/store/migrations.js';
import { lockOrServer, openDatabase } from '../pipeline/store/open-database.js';
import { redactUrl } from '../pipeline/redact-url.js';
import { connectSharedDatabase, socketPathFor } from '../pipeline/store/shared-database.js';
import { tierUpWasmForOneBatch } from '../pipeline/store/wasm-tiering.js';
import { deferredDatabase } from '../pipeline/store/deferred-database.js';
import { UsageError, bool, loadConfigFile, logLevel, many, one, paths, type Flags } from './args.js';
import { loadRuleTable } from '../pipeline/route/load-rule-table.js';
import { createProgress } from './progress.js';
import { parseZoneSpec, parseZonesCrs } from './zone-specs.js';
import { dbTarget } from './db-target.js';
import { checkQueueTarget } from './queue-settings.js';
import { type DirectoryLock, type LockOptions } from '../pipeline/store/directory-lock.js';
import type { Database } from '../pipeline/store/queryable.js';
import { isEmbeddedTarget, lockOptionsFromFlags } from './db-lock.js';
import { ZONE_FILE_REJECTED } from '../pipeline/zones.js';

/**
 * The flag each BatchArgs field comes from, so a validation message names what the user typed:
 * the fields whose name is not the flag's; the others are the flag in camelCase (tilesDate).
 */
const FLAG_OF: Readonly<Record<string, string>> = { zonesCrsByPath: 'zones', mmuM2: 'mmu' };
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function batchArgsFromFlags(flags: Flags): BatchArgs {
  const bands = many(flags, 'bands');
  for (const b of bands) if (!(BAND_NAMES as readonly string[]).includes(b)) throw new UsageError(`--bands: unknown band '${b}' (use ${BAND_NAMES.join(', ')})`, 'batch');
  const mmu = one(flags, 'mmu');
  const mmuM2 = mmu === undefined ? undefined : Number(mmu);
  if (mmuM2 !== undefined && !(Number.isFinite(mmuM2) && mmuM2 > 0)) throw new UsageError(`--mmu: '${mmu}' is not an area; give square metres, e.g. --mmu 300`, 'batch');
  const detector = detectorOverrides(flags);
  if (one(flags, 'epoch') === undefined) throw new UsageError("--epoch is required: the month the batch is filed under, e.g. --epoch 2026-10 (its ledger's month)", 'batch');
  const zones = paths(flags, 'zones').map(parseZoneSpec);
  if (zones.length === 0) {
    throw new UsageError('--zones is required: give the zone layers, at least one holding the districts (kind district, or a DataV file), e.g. --zones districts.geojson farmland.gpkg', 'batch');
  }
  // A layer path that names nothing is a slip of the keyboard, not bad data: a batch routed without
  // its farmland or protected-area layer would issue every polygon with those overlaps missing.
  for (const [flag, path] of [...zones.map((z) => ['zones', z.path] as const), ['landuse', one(flags, 'landuse')] as const]) {
    if (path !== undefined && !existsSync(resolve(path))) throw new UsageError(`--${flag} ${resolve(path)}: no such file (a layer the batch would route without)`, 'batch');
  }
  const crsByPath = Object.fromEntries(zones.filter((z) => z.crs).map((z) => [resolve(z.path), z.crs!]));
  const zonesCrs = one(flags, 'zones-crs');
  const parsed = BatchArgsSchema.safeParse({
    epoch: one(flags, 'epoch'),
    tiles: paths(flags, 'tiles').map((p) => resolve(p)),
    prior: paths(flags, 'prior').map((p) => resolve(p)),
    zones: zones.map((z) => resolve(z.path)),
    landuse: one(flags, 'landuse') && resolve(one(flags, 'landuse')!),
    rules: one(flags, 'rules') && resolve(one(flags, 'rules')!),
    bands: bands.length ? (bands as BandName[]) : undefined,
    zonesCrs: zonesCrs === undefined ? undefined : parseZonesCrs(zonesCrs),
    zonesCrsByPath: Object.keys(crsByPath).length ? crsByPath : undefined,
    mmuM2,
    detector,
    tilesDate: one(flags, 'tiles-date'),
    priorDate: one(flags, 'prior-date'),
    replaces: flags.has('replaces') ? many(flags, 'replaces') : undefined,
  });
  if (!parsed.success) {
    const flag = (field: unknown) => FLAG_OF[String(field)] ?? kebab(String(field ?? ''));
    throw new UsageError(parsed.error.issues.map((i) => `--${flag(i.path[0])}: ${i.message}`).join('; '), 'batch');
  }
  return parsed.data;
}

const DETECTOR_MODELS = ['auto', 'learned', 'unsupervised'];

/**
 * `--detector auto|learned|unsupervised` and `--detector-params '{"learned":{"rescueSigma":6}}'`
 * (inline JSON or a .json file), checked here so a typo is a usage error before anything is read.
 */
function detectorOverrides(flags: Flags): Record<string, unknown> | undefined {
  const model = one(flags, 'detector');
  const raw = one(flags, 'detector-params');
  if (model !== undefined && !DETECTOR_MODELS.includes(model)) throw new UsageError(`--detector: '${model}' is not one of ${DETECTOR_MODELS.join(', ')}`, 'batch');
  let params: Record<string, unknown> = {};
  if (raw !== undefined) {
    const [text, source] = raw.trimStart().startsWith('{') ? [raw, '--detector-params'] : [readJson(raw), `--detector-params ${raw}`];
    try {
      params = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new UsageError(`${source}: not JSON (${(e as Error).message})`, 'batch');
    }
    try {
      parseDetectorParams(params, source);
    } catch (e) {
      throw new UsageError((e as Error).message, 'batch');
    }
  }
  if (model !== undefined) params = { ...params, model };
  return Object.keys(params).length ? params : undefined;
}

function readJson(path: string): string {
  try {
    return readFileSync(resolve(path), 'utf8');
  } catch (e) {
    throw new UsageError(`--detector-params: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a .json file or inline JSON`, 'batch');
  }
}

/**
 * `--out` names a directory: an existing file there is a usage error now, before anything waits
 * or runs. The directory itself is made once the database is ours (`makeOutDir`), so a run
 * refused with DB.LOCKED leaves nothing behind.
 */
async function outDir(flags: Flags, epoch: string): Promise<string> {
  const out = resolve(one(flags, 'out') ?? join('out', epoch));
  const st = await stat(out).catch(() => null);
  if (st && !st.isDirectory()) throw new UsageError(`--out ${out} is an existing file; give a directory (it is created when missing)`, 'batch');
  return out;
}

/** Made here when missing, before the log file goes in it: a place no directory can be made is a usage error, not a stack trace later. */
async function makeOutDir(out: string): Promise<void> {
  try {
    await makeDirectory(out);
  } catch (e) {
    throw new UsageError(`--out ${out}: cannot create this directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a directory you can write`, 'batch');
  }
}

/**
 * The batch's plan and its database, in that order. Planned before the database is touched
 * (ARCHITECTURE.md, "1. Plan"): a mistyped --tiles, or zone files without a district, is said in
 * about a second and creates nothing, no database folder (made from the template, or built cold,
 * while the user waits) and no output folder. Planning takes ~0.1 s on the demo; the database still
 * opens while the first tile is detected. The embedded directory open in a running `tuban serve` is
 * used through the server; else it is taken now (`lockOptions`: how long to wait for another
 * holder), so a second run fails (or waits) before detecting its first tile and never writes beside
 * another process.
 *
 * A wait (`--wait-db`) can last long enough for the inputs to change under it: a scene re-delivered,
 * a sidecar written. The plan made before it, its tile ids read then, would run the new files under
 * the old ids (the batch id, the stored rows, the report). So after a wait the batch is simply
 * planned again (`plannedBeforeWait` says what it was): the plan it runs is made from the files as
 * they are, and the one before the wait only did the fast failure. Planning again is cheaper than
 * comparing: a folder given as --tiles can gain or lose files, a sidecar can appear, and a second
 * plan reads them all the way the first did; it costs one more planning (~0.1 s on the demo) only
 * on a run that waited anyway. A run that did not wait plans once.
 */
export async function planAndTakeDatabase(
  args: BatchArgs,
  target: string,
  lockOptions: LockOptions,
): Promise<{ planned: PlannedBatch; lock?: DirectoryLock; viaServer: Database | null; plannedBeforeWait?: PlannedBatch }> {
  const first = await planForRun(args);
  const embedded = isEmbeddedTarget(target);
  const shared = embedded ? await connectSharedDatabase(target) : null;
  // A server still starting when this began (its lock taken, its socket not yet made): --wait-db
  // waits for its socket too, and the batch then goes through it (it waited: planned again).
  const taken = embedded && !shared ? await lockOrServer(target, lockOptions) : undefined;
  const lock = taken && !('kind' in taken) ? taken : undefined;
  const viaServer = shared ?? (taken && 'kind' in taken ? taken : null);
  if (!lock?.waited && !(taken && 'kind' in taken)) return { planned: first, lock, viaServer };
  try {
    return { planned: await planForRun(args), lock, viaServer, plannedBeforeWait: first };
  } catch (e) {
    // Inputs gone during the wait: the same refusal as before one, and the directory left to others.
    await Promise.all([lock?.release(), viaServer?.close()]);
    throw e;
  }
}

export async function batchCommand(flags: Flags): Promise<number> {
  const args = batchArgsFromFlags(flags);
  const level = logLevel(flags, 'batch', 'info');
  const out = await outDir(flags, args.epoch);
  // The rule table is read when finalising, after every tile is detected: a typo in it is found now
  // (exit 64, one line naming the file), not after the batch's work.
  const rulesFile = one(flags, 'rules');
  if (rulesFile !== undefined) await loadConfigFile('rules', rulesFile, () => loadRuleTable(args.rules));
  const target = dbTarget(flags);
  if (bool(flags, 'queue')) checkQueueTarget(target);
  // What the wait says goes to stderr at once and into batch.log once there is one.
  const waited: string[] = [];
  const { planned, lock, viaServer, plannedBeforeWait } = await planAndTakeDatabase(args, target, lockOptionsFromFlags(flags, (m) => waited.push(m)));
  try {
    await makeOutDir(out);
  } catch (e) {
    await Promise.all([lock?.release(), viaServer?.close()]);
    throw e;
  }
  const tty = process.stderr.isTTY === true;
  const log = createLogger({ level, file: join(out, 'batch.log'), stderrLevel: tty ? 'warn' : level });
  for (const m of waited) log.warn(m);
  if (plannedBeforeWait && plannedBeforeWait.plan.batchId !== planned.plan.batchId) {
    log.warn(`the inputs changed while this waited for the database: planned again from the files as they are now, batch ${planned.plan.batchId} (before the wait ${plannedBeforeWait.plan.batchId})`);
  } else if (plannedBeforeWait) log.info('planned again after waiting for the database: the batch id is unchanged');
  if (viaServer) log.info(`${target} is open in a running tuban serve; storing through ${socketPathFor(target)}`);
  const progress = createProgress();
  // Before PGlite compiles Postgres: a one-shot batch gains nothing from optimising most of it.
  if (lock) tierUpWasmForOneBatch();
  // Open (and migrate) in the background: planning and the first tile's detection need no database.
  const db = deferredDatabase(
    (viaServer ? Promise.resolve(viaServer) : openDatabase(target, { lock, thread: true, log: (level, m) => log[level](m) })).then(async (d) => {
      await migrate(d);
      return d;
    }),
    /^postgres/.test(target) ? 'postgres' : 'pglite',
  );
  try {
    const result = bool(flags, 'queue')
      ? // Loaded only for --queue: BullMQ and its Redis client are ~0.3 s of start-up an embedded run never uses.
        await (await import('./queue-commands.js')).runQueuedBatch(args, { db, log, out, onProgress: progress.update, planned, databaseUrl: redactUrl(target) })
      : await runBatch(args, { db, log, out, onProgress: progress.update, planned });
    progress.done(`batch ${result.report.batchId} finished`);
    logFindings(result.report, log);
    process.stdout.write(summaryTable(result.report) + `\nOutputs in ${out}:\n${result.files.map((f) => `  ${f}`).join('\n')}\n`);
    return batchExitCode(result.report);
  } finally {
    await db.close();
  }
}

/** Exit code of a batch that completed with some tile inputs or whole zone files rejected: the month is incomplete. */
export const EXIT_INCOMPLETE = 3;


/**
 * The rejected inputs that leave the month incomplete. A tile of either epoch, or a tile link that
 * leads nowhere, leaves ground unlooked at, so "no polygon there" is not "no change there"; a zone
 * file rejected whole routes every polygon without its layer (a farmland file that could not be read:
 * no 基本农田 overlap, no priority from it). A cron script that sees only the exit code must not read
 * that month as done. Zone features repaired or dropped one by one are listed and leave the layer
 * in use: 0.
 */
export function incompleteInputs(r: BatchReport): RejectedInput[] {
  return r.rejected.filter((x) => /^(TILE|RASTER|INPUT)\./.test(x.error.code) || ZONE_FILE_REJECTED.has(x.error.code));
}

/** 2 when no tile was used, 3 when a tile input or a whole zone file was rejected, else 0: the same for the embedded and the queue run. */
export function batchExitCode(r: BatchReport): number {
  if (!r.tiles.some((t) => t.status === 'done')) return 2;
  return incompleteInputs(r).length > 0 ? EXIT_INCOMPLETE : 0;
}

export function summaryTable(r: BatchReport): string {
  const lines: string[] = [];
  const used = r.tiles.filter((t) => t.status === 'done').length;
  lines.push(`Batch ${r.batchId}  epoch ${r.epoch}  (${r.mode}, ${r.database})`);
  const ofRejected = r.rejectedNotObservedM2 ? `, of which rejected tiles ${(r.rejectedNotObservedM2 / 1e6).toFixed(2)} km²` : '';
  // No tile placed: the ground not observed is unknown, not the 0 km² the sum of no footprints gives.
  const notObservable = r.notObservedUnknown
    ? 'not observable: every tile (no footprint known: no tile could be placed)'
    : `not observable ${(r.notObservedShare * 100).toFixed(1)} % (${(r.notObservedM2 / 1e6).toFixed(2)} km²${ofRejected})`;
  lines.push(`Tiles used ${used}, rejected inputs ${r.rejected.length}; ${notObservable}`);
  for (const rej of r.rejected) lines.push(`  rejected  ${rej.error.code.padEnd(22)} ${rejectionText(rej)}`);
  if (r.repaired?.length) lines.push(`Repaired inputs ${r.repaired.length} (kept and used)`);
  for (const rep of r.repaired ?? []) lines.push(`  repaired  ${rep.error.code.padEnd(22)} ${rejectionText(rep)}`);
  for (const w of r.warnings) lines.push(`  warning   ${w}`);
  for (const b of r.replaced ?? []) lines.push(`Replaced batch ${b.batchId}: ${b.kept} of its ${b.polygons} polygons found again, under their codes; the others left the month (Workflow)`);
  lines.push(`Polygons ${r.counts.polygons} (new ${r.counts.newSites}, continuing ${r.counts.continuingSites}, high priority ${r.counts.highPriority})`);
  if (r.rerun) lines.push(rerunLine(r.batchId, r.counts.polygons, r.rerun));
  // Reports of batches finished before the seasonal rule have no such count.
  const farming = r.counts.seasonal;
  if (farming?.polygons) lines.push(`Not issued: ${farming.polygons} farming changes (harvest, mowing; ${(farming.areaM2 / 1e4).toFixed(1)} ha), set aside by the rule table's seasonal section (--rules)`);
  const outside = r.counts.outsideDistricts;
  if (outside?.polygons) lines.push(`Outside every district: ${outside.polygons} polygon(s) coded ${UNASSIGNED_DISTRICT.code}, need a district before notices go out: ${outside.codes.slice(0, 10).join(', ')}${outside.codes.length > 10 ? ' …' : ''}`);
  const noTownship = r.counts.outsideTownships;
  if (noTownship?.polygons) lines.push(`Outside every township: ${noTownship.polygons} polygon(s) with a blank 乡镇/街道: ${noTownship.codes.slice(0, 10).join(', ')}${noTownship.codes.length > 10 ? ' …' : ''}`);
  const noVillage = r.counts.outsideVillages;
  if (noVillage?.polygons) lines.push(`Outside every village: ${noVillage.polygons} polygon(s) with a blank 村: ${noVillage.codes.slice(0, 10).join(', ')}${noVillage.codes.length > 10 ? ' …' : ''}`);
  lines.push('');
  lines.push(`${'district'.padEnd(24)}${'polygons'.padStart(9)}${'area m²'.padStart(14)}`);
  for (const [code, d] of Object.entries(r.counts.byDistrict).sort()) lines.push(`${`${code} ${d.name}`.padEnd(24)}${String(d.polygons).padStart(9)}${d.areaM2.toFixed(0).padStart(14)}`);
  lines.push('');
  lines.push(`${'lead bureau'.padEnd(24)}${'polygons'.padStart(9)}`);
  for (const [b, n] of Object.entries(r.counts.byLeadBureau).sort()) lines.push(`${b.padEnd(24)}${String(n).padStart(9)}`);
  lines.push('');
  lines.push(`Stages: ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`);
  lines.push(`Total ${r.totalSeconds.toFixed(1)} s, peak memory ${(r.peakRssBytes / 1024 ** 3).toFixed(2)} GiB`);
  const incomplete = incompleteMonthLine(r, used);
  if (incomplete) lines.push(incomplete);
  return lines.join('\n');
}

/**
 * What an incomplete month (exit 3) lacks, in one line: rejected tiles whose ground was not observed,
 * tiles whose earlier result was kept, copies left out, zone files rejected; null when complete.
 */
function incompleteMonthLine(r: BatchReport, used: number): string | null {
  const left = incompleteInputs(r);
  if (left.length === 0 || used === 0) return null;
  const zoneFiles = left.filter((x) => ZONE_FILE_REJECTED.has(x.error.code)).length;
  // A file not read now (damaged, moved, too large here) that this batch's earlier run read: that
  // run's result of its tile was kept (warnings). Its other priors not read now wrote no
  // ground either, unless a tile read now fell back past them or was rejected over them.
  const keptFiles = new Set(r.tiles.flatMap((t) => (t.keptFromEarlierRun ? [t.keptFromEarlierRun.file] : [])));
  const markedNow = new Set(r.tiles.filter((t) => !t.keptFromEarlierRun).flatMap((t) => [...(t.status === 'rejected' ? (t.files ?? []).slice(0, 1) : []), ...(t.rejectedPriors ?? []).map((p) => p.subject)]));
  const keptPriors = new Set(r.tiles.flatMap((t) => (t.keptFromEarlierRun?.rejectedPriors ?? []).map((p) => p.subject)).filter((f) => !keptFiles.has(f) && !markedNow.has(f)));
  const kept = left.filter((x) => keptFiles.has(x.subject)).length;
  // Of those, the priors of the tiles kept (the tiles' own files are read and healthy).
  const priorFiles = new Set(r.tiles.flatMap((t) => (t.keptFromEarlierRun && t.files && !t.files.includes(t.keptFromEarlierRun.file) ? [t.keptFromEarlierRun.file] : [])));
  const keptPriorFiles = left.filter((x) => priorFiles.has(x.subject)).length;
  const alsoUnread = left.filter((x) => keptPriors.has(x.subject)).length;
  // A second copy of a tile used (the same imagery under other names, or the same names with other
  // pixels): its ground is observed; a tile of that name may be missing, or the other delivery wanted.
  const twice = left.filter((x) => x.error.code === 'TILE.DUPLICATE').length;
  const tileInputs = left.length - zoneFiles - kept - alsoUnread - twice;
  const parts = [
    ...(tileInputs > 0 ? [`${tileInputs} tile input(s) rejected: their ground was not observed, not "no change" (not-observed.geojson has the footprint of each whose header could be read)`] : []),
    ...(kept > keptPriorFiles ? [`${kept - keptPriorFiles} tile file(s) cannot be read now: their tiles' results are kept from this batch's earlier run`] : []),
    ...(keptPriorFiles > 0 ? [`${keptPriorFiles} prior file(s) cannot be read now: the results of the tiles compared with them are kept from this batch's earlier run`] : []),
    ...(alsoUnread > 0 ? [`${alsoUnread} prior file(s) of those tiles could not be read now either: no ground is marked for them, the kept results stand`] : []),
    ...(twice > 0 ? [`${twice} tile file(s) left out, another copy of their tile used: remove them (is a tile missing, or another delivery wanted?)`] : []),
    ...(zoneFiles > 0 ? [`${zoneFiles} zone file(s) rejected: no polygon has their layer's overlaps or routing`] : []),
  ];
  return `Incomplete month: ${parts.join('; ')} (above; exit ${EXIT_INCOMPLETE})`;
}

/**
 * A batch that replaced what the month held on its tiles (run again, resumed, over another batch's
 * tiles) says what became of the codes and cases: "new" above counts sites new since last month, and
 * a re-run's 68 read as 68 more cases in the inboxes.
 */
function rerunLine(batchId: string, polygons: number, rr: NonNullable<BatchReport['rerun']>): string {
  const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : 'earlier');
  const over = rr.supersedes.length ? `over the tiles of batch ${rr.supersedes.join(', ')}` : '';
  const head =
    rr.earlier === 'finished'
      ? `Re-run of batch ${batchId} (first run ${when(rr.firstRunAt)}${over ? `; ${over}` : ''})`
      : rr.earlier === 'interrupted'
        ? `Resumed batch ${batchId} (first started ${when(rr.firstRunAt)}; that run stopped before it finished${over ? `; ${over}` : ''})`
        : `Re-run ${over}`;
  const codes =
    rr.codesKept === polygons && rr.codesGone === 0
      ? 'the same codes'
      : `${rr.codesKept} under the codes they had, ${rr.codesNew} new, ${rr.codesGone} code${rr.codesGone === 1 ? '' : 's'} no longer found`;
  // Not "new cases": the server's pass joins a polygon at a site whose case is still open to that case (site merge).
  const newCases = `${rr.casesNew} awaiting a case${rr.casesNew ? " (the server's next pass opens one, or joins it to an open case at the same site)" : ''}`;
  const gone = `${rr.casesGone} whose polygon is gone${rr.casesGone ? ` (the server withdraws ${rr.casesGone === 1 ? 'it' : 'them'} as 图形灭失 if nobody touched ${rr.casesGone === 1 ? 'it' : 'them'}, else flags ${rr.casesGone === 1 ? 'it' : 'them'} for the lead bureau)` : ''}`;
  return `${head}: ${polygons} polygons, ${codes}; ${newCases}, ${rr.casesKept} cases kept, ${gone}`;
}

/**
 * `subject: message` naming the file once: a TubanError's message already starts with its own
 * subject, which is usually the same file.
 */
export function rejectionText(rej: RejectedInput): string {
  let message = rej.error.message;
  for (const prefix of [rej.error.subject, rej.subject]) if (prefix && message.startsWith(`${prefix}: `)) message = message.slice(prefix.length + 2);
  return `${rej.subject}: ${message}`;
}

/**
 * What the batch found after planning (zone files, outside-district polygons, co-registration)
 * goes to batch.log and stderr like the plan's rejections, not only into the report.
 */
function logFindings(r: BatchReport, log: Logger): void {
  for (const rej of r.rejected) if (rej.error.code.startsWith('ZONES.')) log.warn({ subject: rej.subject, code: rej.error.code }, rejectionText(rej));
  for (const w of r.warnings) log.warn(w);
}
