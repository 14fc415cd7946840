/**
 * What must not depend on how a batch ran: read back from the files `exportBatch` wrote, so an
 * embedded run and a queue run (or a run that survived a crash) can be compared with toEqual.
 * Only the report's run-specific fields (mode, times, memory, stage timings) are left out.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Feature } from 'geojson';
import type { BatchReport } from '../../pipeline/batch/batch-report.js';

export interface ComparableOutputs {
  /** polygons.geojson features: code, geometry and every property, in file order. */
  polygons: Feature[];
  /** ledger.csv rows, header first. */
  ledger: string[];
  /** batch-report.json without what only says how and when it ran. */
  report: Record<string, unknown>;
  /** not-observed.geojson's properties (tile, area, and a rejected input's reason, file and epoch), in file order. */
  notObserved: Record<string, unknown>[];
}

export async function comparableOutputs(outDir: string): Promise<ComparableOutputs> {
  const [geojson, csv, reportJson, hidden] = await Promise.all(
    ['polygons.geojson', 'ledger.csv', 'batch-report.json', 'not-observed.geojson'].map((f) => readFile(join(outDir, f), 'utf8')),
  );
  const report = JSON.parse(reportJson) as BatchReport;
  const { mode: _m, database: _d, startedAt: _s, finishedAt: _f, timings: _t, megapixelsPerSecond: _mp, totalSeconds: _ts, peakRssBytes: _p, ...rest } = report;
  return {
    polygons: (JSON.parse(geojson) as { features: Feature[] }).features,
    ledger: csv.replace(/^\uFEFF/, '').trim().split(/\r?\n/),
    report: {
      ...rest,
      tiles: report.tiles.map(({ timings: _tt, peakRssBytes: _tp, ...t }) => t),
    },
    notObserved: (JSON.parse(hidden) as { features: Feature[] }).features.map((f) => f.properties ?? {}),
  };
}
