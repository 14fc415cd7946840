/**
 * Write a finished batch's files from its rows: read back from the database (a queue run, finalised
 * on another machine) or as finalise stored them (the embedded run: `asStoredPolygons`,
 * `asStoredReport`), so both produce the same outputs from the same rows.
 */
import { rename, stat, unlink, writeFile } from 'node:fs/promises';
import type { FeatureCollection, MultiPolygon } from 'geojson';
import { join } from 'node:path';
import type { RuleTable } from '../../schemas/rule-table.js';
import type { BureauId } from '../../schemas/vocabulary.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { writePolygonsGeoJson } from '../outputs/polygons-geojson.js';
import { startPolygonsGpkgThread, type GpkgThread } from '../outputs/polygons-gpkg-thread.js';
import { ledgerRows, writeLedgerCsv } from '../outputs/ledger.js';
import { writeLedgerXlsx } from '../outputs/ledger-xlsx.js';
import type { BatchReport } from './batch-report.js';
import { showDate } from '../name-date.js';
import { chinaDate } from '../iso-date.js';
import { TubanError } from '../../schemas/errors.js';
import { makeDirectory } from '../make-directory.js';

/**
 * Polygons with 前/后时相 as precise as the tiles' dates: a month-precision tile's date is stored as
 * the 1st of its month (the database keeps a date) and shown as `2026-10`, never as a made-up day.
 */
export function withDatePrecision(polygons: MonitoringPolygon[], tiles: BatchReport['tiles']): MonitoringPolygon[] {
  const byTile = new Map(tiles.map((t) => [t.tileId, t]));
  return polygons.map((p) => {
    const t = byTile.get(p.tileId);
    if (!t || (t.datePrecision !== 'month' && t.priorDatePrecision !== 'month')) return p;
    return { ...p, afterDate: showDate(p.afterDate, t.datePrecision), beforeDate: showDate(p.beforeDate, t.priorDatePrecision) };
  });
}

export const OUTPUT_FILES = ['polygons.geojson', 'polygons.gpkg', 'ledger.csv', 'ledger.xlsx', 'not-observed.geojson', 'batch-report.json'] as const;

export async function writeOutputs(
  outDir: string,
  polygons: MonitoringPolygon[],
  report: BatchReport,
  rules: RuleTable,
  notObserved: FeatureCollection<MultiPolygon>,
  /** The GeoPackage's encoding thread, started early by a caller that had the polygons still to read; one is started here otherwise. */
  gpkgThread: GpkgThread = startPolygonsGpkgThread(),
): Promise<string[]> {
  const t0 = performance.now();
  polygons = withDatePrecision(polygons, report.tiles);
  await makeDirectory(outDir);
  const bureauName = (id: BureauId) => rules.bureaus[id]?.name_zh ?? id;
  // Every file is written beside its final name first and all are renamed at the end: a crash or a
  // failed write (disk full, a name taken by a directory) leaves the previous outputs as they were,
  // never a mix of this batch's files and an earlier run's.
  const staged: string[] = [];
  const atomic = async (name: string, write: (tmp: string) => Promise<void>) => {
    const tmp = join(outDir, `.${name}.tmp`);
    staged.push(name);
    await write(tmp);
  };
  try {
    await stageAll();
    // A rename cannot replace a directory: find that before the first file is swapped in.
    for (const name of staged) {
      const s = await stat(join(outDir, name)).catch(() => null);
      if (s?.isDirectory()) throw new Error(`${join(outDir, name)} is a directory`);
    }
  } catch (e) {
    await Promise.all(staged.map((name) => unlink(join(outDir, `.${name}.tmp`)).catch(() => {})));
    const why = e instanceof Error ? e.message : String(e);
    throw new TubanError('OUTPUT.WRITE_FAILED', `${outDir}: ${why}; no output file was replaced (the batch is stored: run it again, or \`tuban ledger\`, to write them)`, outDir, { cause: e });
  }
  for (const name of staged) await rename(join(outDir, `.${name}.tmp`), join(outDir, name));
  return OUTPUT_FILES.map((f) => join(outDir, f));

  async function stageAll(): Promise<void> {
    // The GeoPackage is encoded on the other core while this thread writes the GeoJSON and the ledger.
    const gpkg = gpkgThread.encode(polygons, rules.bureaus);
    gpkg.catch(() => undefined); // awaited below; a failure before then must not be unhandled
    await atomic('polygons.geojson', (tmp) => writePolygonsGeoJson(tmp, polygons, bureauName));
    // The ledger lists only new sites; a polygon continuing an earlier site is progression.
    const fresh = polygons.filter((p) => p.previousCode === null);
    // Issued on the batch's day in China, as the triage server's cases and `tuban ledger` date it (a
    // batch finishing before 08:00 there is still the day before in UTC).
    const rows = ledgerRows(fresh, { bureauName, issuedOn: chinaDate(new Date(report.finishedAt)) });
    await atomic('ledger.csv', (tmp) => writeLedgerCsv(tmp, rows));
    await atomic('ledger.xlsx', (tmp) => writeLedgerXlsx(tmp, rows, { title: `${report.epoch} 新增违法违规问题台账`, epoch: report.epoch }));
    const gpkgBytes = await gpkg;
    await atomic('polygons.gpkg', (tmp) => writeFile(tmp, gpkgBytes));
    // "No change" must not be read where nobody could look: cloud, shadow, nodata outlines.
    await atomic('not-observed.geojson', (tmp) => writeFile(tmp, JSON.stringify(notObserved) + '\n'));
    // The report goes last so it can say how long the other files took.
    report.timings.outputs = Math.round(performance.now() - t0) / 1000;
    report.peakRssBytes = Math.max(report.peakRssBytes, process.resourceUsage().maxRSS * 1024);
    await atomic('batch-report.json', (tmp) => writeFile(tmp, JSON.stringify(report, null, 2) + '\n'));
  }
}
