/**
 * `tuban batch`: parse flags, open the database (embedded PGlite directory by default),
 * run the batch embedded or through the queue, print a summary table and where the files are.
 */
import { join, resolve } from 'node:path';
import type { Level } from 'pino';
import { BAND_NAMES, type BandName } from '../geo/raster.js';
import { BatchArgsSchema, type BatchArgs } from '../pipeline/batch/batch-args.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { runBatch } from '../pipeline/batch/run-batch.js';
import { createLogger } from '../pipeline/log.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { deferredDatabase } from '../pipeline/store/deferred-database.js';
import { UsageError, bool, many, one, paths, type Flags } from './args.js';
import { createProgress } from './progress.js';
import { runQueuedBatch } from './queue-commands.js';
import { dbTarget } from './db-target.js';
import { acquireDirectoryLock } from '../pipeline/store/directory-lock.js';
import { isEmbeddedTarget, lockOptionsFromFlags } from './db-lock.js';

export function batchArgsFromFlags(flags: Flags): BatchArgs {
  const bands = many(flags, 'bands');
  for (const b of bands) if (!(BAND_NAMES as readonly string[]).includes(b)) throw new UsageError(`--bands: unknown band '${b}' (use ${BAND_NAMES.join(', ')})`);
  const mmu = one(flags, 'mmu');
  const parsed = BatchArgsSchema.safeParse({
    epoch: one(flags, 'epoch'),
    tiles: paths(flags, 'tiles').map((p) => resolve(p)),
    prior: paths(flags, 'prior').map((p) => resolve(p)),
    zones: paths(flags, 'zones').map((p) => resolve(p)),
    landuse: one(flags, 'landuse') && resolve(one(flags, 'landuse')!),
    rules: one(flags, 'rules') && resolve(one(flags, 'rules')!),
    bands: bands.length ? (bands as BandName[]) : undefined,
    zonesCrs: one(flags, 'zones-crs'),
    mmuM2: mmu === undefined ? undefined : Number(mmu),
    tilesDate: one(flags, 'tiles-date'),
    priorDate: one(flags, 'prior-date'),
  });
  // Schema keys are camelCase; name the flag as the user typed it.
  const flag = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${flag(String(i.path[0] ?? ''))}: ${i.message}`).join('; '));
  return parsed.data;
}

export async function batchCommand(flags: Flags): Promise<number> {
  const args = batchArgsFromFlags(flags);
  const out = resolve(one(flags, 'out') ?? join('out', args.epoch));
  const level = (one(flags, 'log-level') ?? 'info') as Level;
  const tty = process.stderr.isTTY === true;
  const log = createLogger({ level, file: join(out, 'batch.log'), stderrLevel: tty ? 'warn' : level });
  const progress = createProgress();

  const target = dbTarget(flags);
  // The embedded directory is taken before anything else: a second run fails (or waits) now,
  // not after detecting its first tile, and never writes beside another process.
  const lock = isEmbeddedTarget(target) ? await acquireDirectoryLock(target, lockOptionsFromFlags(flags, (m) => log.warn(m))) : undefined;
  // Open (and migrate) in the background: planning and the first tile's detection need no database.
  const db = deferredDatabase(
    openDatabase(target, { lock }).then(async (d) => {
      await migrate(d);
      return d;
    }),
    /^postgres/.test(target) ? 'postgres' : 'pglite',
  );
  try {
    const result = bool(flags, 'queue')
      ? await runQueuedBatch(args, { db, log, out, onProgress: progress.update })
      : await runBatch(args, { db, log, out, onProgress: progress.update });
    progress.done(`batch ${result.report.batchId} finished`);
    process.stdout.write(summaryTable(result.report) + `\nOutputs in ${out}:\n${result.files.map((f) => `  ${f}`).join('\n')}\n`);
    const used = result.report.tiles.filter((t) => t.status === 'done').length;
    return used > 0 ? 0 : 2;
  } finally {
    await db.close();
  }
}

export function summaryTable(r: BatchReport): string {
  const lines: string[] = [];
  const used = r.tiles.filter((t) => t.status === 'done').length;
  lines.push(`Batch ${r.batchId}  epoch ${r.epoch}  (${r.mode}, ${r.database})`);
  lines.push(`Tiles used ${used}, rejected inputs ${r.rejected.length}; not observable ${(r.notObservedShare * 100).toFixed(1)} % (${(r.notObservedM2 / 1e6).toFixed(2)} km²)`);
  for (const rej of r.rejected) lines.push(`  rejected  ${rej.error.code.padEnd(22)} ${rej.subject}: ${rej.error.message}`);
  if (r.repaired?.length) lines.push(`Repaired inputs ${r.repaired.length} (kept and used)`);
  for (const rep of r.repaired ?? []) lines.push(`  repaired  ${rep.error.code.padEnd(22)} ${rep.subject}: ${rep.error.message}`);
  lines.push(`Polygons ${r.counts.polygons} (new ${r.counts.newSites}, continuing ${r.counts.continuingSites}, high priority ${r.counts.highPriority})`);
  // Reports of batches finished before the seasonal rule have no such count.
  const farming = r.counts.seasonal;
  if (farming?.polygons) lines.push(`Not issued: ${farming.polygons} farming changes (harvest, mowing; ${(farming.areaM2 / 1e4).toFixed(1)} ha), see the rule table's seasonal`);
  lines.push('');
  lines.push(`${'district'.padEnd(24)}${'polygons'.padStart(9)}${'area m²'.padStart(14)}`);
  for (const [code, d] of Object.entries(r.counts.byDistrict).sort()) lines.push(`${`${code} ${d.name}`.padEnd(24)}${String(d.polygons).padStart(9)}${d.areaM2.toFixed(0).padStart(14)}`);
  lines.push('');
  lines.push(`${'lead bureau'.padEnd(24)}${'polygons'.padStart(9)}`);
  for (const [b, n] of Object.entries(r.counts.byLeadBureau).sort()) lines.push(`${b.padEnd(24)}${String(n).padStart(9)}`);
  lines.push('');
  lines.push(`Stages: ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`);
  lines.push(`Total ${r.totalSeconds.toFixed(1)} s, peak memory ${(r.peakRssBytes / 1024 ** 3).toFixed(2)} GiB`);
  return lines.join('\n');
}
