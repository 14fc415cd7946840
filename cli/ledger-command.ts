/**
 * `tuban ledger --epoch 2026-10 [--out DIR] [--db …] [--format xlsx,csv,…] [--as-of YYYY-MM-DD]`:
 * the month's ledger from the database with each item's disposition from the workflow, in every
 * format (default) or the ones named, written atomically as `<out>/ledger-<epoch>.<format>`.
 */
import { join, resolve } from 'node:path';
import { TubanError } from '../schemas/errors.js';
import { LEDGER_FORMATS } from '../schemas/api.js';
import { encodeLedger, loadLedger, parseLedgerFormat } from '../pipeline/outputs/ledger-exports.js';
import { dispositionLabel } from '../pipeline/outputs/ledger-disposition.js';
import { atomicWrite } from '../pipeline/outputs/ledger.js';
import { calendarProblem } from '../schemas/calendar-date.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { makeDirectory } from '../pipeline/make-directory.js';
import { many, one, UsageError, type Flags } from './args.js';
import { existingDbTarget } from './db-target.js';
import { lockOptionsFromFlags } from './db-lock.js';

export async function ledgerCommand(flags: Flags): Promise<number> {
  const epoch = one(flags, 'epoch');
  if (!epoch) throw new UsageError('--epoch YYYY-MM is required (e.g. --epoch 2026-10)', 'ledger');
  const epochProblem = calendarProblem(epoch, 'month');
  if (epochProblem) throw new UsageError(`--epoch: ${epochProblem}`, 'ledger');
  const asOf = one(flags, 'as-of');
  const asOfProblem = asOf === undefined ? null : calendarProblem(asOf, 'day');
  if (asOfProblem) throw new UsageError(`--as-of: ${asOfProblem}`, 'ledger');
  let formats;
  try {
    formats = flags.has('format') ? many(flags, 'format').map(parseLedgerFormat) : [...LEDGER_FORMATS];
  } catch (err) {
    if (err instanceof TubanError) throw new UsageError(err.message, 'ledger');
    throw err;
  }
  const out = resolve(one(flags, 'out') ?? join('out', epoch));
  const db = await openDatabase(existingDbTarget(flags, 'ledger'), { lock: lockOptionsFromFlags(flags) });
  try {
    await migrate(db);
    const data = await loadLedger(db, epoch, { asOf });
    // Every file in place before a line is printed (see report-command.ts).
    await makeDirectory(out);
    const written: string[] = [];
    for (const f of formats) {
      const e = await encodeLedger(data, f);
      await atomicWrite(join(out, e.filename), e.bytes);
      written.push(`  ${join(out, e.filename)} (${e.bytes.length} bytes)\n`);
    }
    const counts = new Map<string, number>();
    for (const d of data.dispositions) counts.set(dispositionLabel(d), (counts.get(dispositionLabel(d)) ?? 0) + 1);
    process.stdout.write(
      `ledger ${epoch}: ${data.rows.length} rows (${data.rows.length - data.clues.length} new sites, ${data.clues.length} clues)` +
        (data.rows.length ? `: ${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}` : '') +
        (data.workflow ? '' : ' — no workflow tables in this database: every row 未核查') +
        '\n' +
        written.join(''),
    );
    // An empty ledger is a month without findings, or a mistyped --epoch or --db: say which it may be.
    if (data.rows.length === 0) {
      const ran = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM batches WHERE epoch = $1 AND status = 'done'", [epoch]);
      if (ran.rows[0].n === 0) process.stderr.write(`tuban: warning: no batch has run for ${epoch} in this database and no clue was filed for it: the ledger is empty (check --epoch and --db)\n`);
    }
    return 0;
  } finally {
    await db.close();
  }
}
