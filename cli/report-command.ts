/**
 * `tuban report --quarter 2026Q4 [--out DIR] [--db …] [--as-of YYYY-MM-DD]`: the quarterly summary
 * by district and lead bureau, printed as a table and written as `<out>/report-<quarter>.xlsx|.csv`.
 */
import { join, resolve } from 'node:path';
import { quarterReport, reportCsvBytes, reportText, reportXlsxBytes } from '../pipeline/reports/quarter-report.js';
import { atomicWrite } from '../pipeline/outputs/ledger.js';
import { calendarProblem } from '../schemas/calendar-date.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { makeDirectory } from '../pipeline/make-directory.js';
import { one, UsageError, type Flags } from './args.js';
import { existingDbTarget } from './db-target.js';
import { lockOptionsFromFlags } from './db-lock.js';

export async function reportCommand(flags: Flags): Promise<number> {
  const quarter = one(flags, 'quarter');
  if (!quarter) throw new UsageError('--quarter YYYYQn is required (e.g. --quarter 2026Q4)', 'report');
  const q = /^\d{4}Q(\d)$/.exec(quarter);
  if (!q) throw new UsageError(`--quarter: '${quarter}' is not YYYYQn (e.g. 2026Q4)`, 'report');
  if (q[1] < '1' || q[1] > '4') throw new UsageError(`--quarter: '${quarter}' has quarter ${q[1]}; quarters run Q1–Q4`, 'report');
  const asOf = one(flags, 'as-of');
  const asOfProblem = asOf === undefined ? null : calendarProblem(asOf, 'day');
  if (asOfProblem) throw new UsageError(`--as-of: ${asOfProblem}`, 'report');
  const out = resolve(one(flags, 'out') ?? join('out', quarter));
  const db = await openDatabase(existingDbTarget(flags, 'report'), { lock: lockOptionsFromFlags(flags) });
  try {
    await migrate(db);
    const report = await quarterReport(db, quarter, { asOf });
    // Both files in place before a line is printed: a reader that stops early (`| head`) cannot
    // cut the work short, and what is printed names only files that exist whole.
    await makeDirectory(out);
    const written: string[] = [];
    for (const [name, bytes] of [
      [`report-${quarter}.xlsx`, await reportXlsxBytes(report)],
      [`report-${quarter}.csv`, reportCsvBytes(report)],
    ] as const) {
      await atomicWrite(join(out, name), bytes);
      written.push(join(out, name));
    }
    process.stdout.write(reportText(report) + written.map((p) => `  ${p}\n`).join(''));
    return 0;
  } finally {
    await db.close();
  }
}
