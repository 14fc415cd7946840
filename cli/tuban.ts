#!/usr/bin/env node
/**
 * tuban — the monthly satellite enforcement batch.
 *   tuban batch --epoch 2026-10 --tiles DIR --prior DIR --zones FILE... [--queue]
 *   tuban worker [--concurrency N]        (production: BullMQ on Redis, PostGIS server)
 *   tuban status BATCH_ID
 *   tuban ledger --epoch 2026-10 [--out DIR]   (the month ledger with the workflow's dispositions)
 *   tuban report --quarter 2026Q4             (quarterly summary, 零报告 lines)
 */
import { TubanError } from '../schemas/errors.js';
import { UsageError, parseFlags } from './args.js';
import { EXIT_DB_LOCKED } from './db-lock.js';
import { batchCommand } from './batch-command.js';
import { workerCommand, statusCommand } from './queue-commands.js';
import { migrateCommand } from './migrate-command.js';
import { ledgerCommand } from './ledger-command.js';
import { reportCommand } from './report-command.js';

const USAGE = `Usage:
  tuban batch --epoch YYYY-MM --tiles <dir|glob|file>... --prior <dir|glob|file>... --zones <file>...
              [--landuse <file>] [--rules <file>] [--bands blue,green,red,nir[,swir1,swir2]]
              [--zones-crs gcj02|EPSG:n] [--mmu <m²>] [--out <dir>] [--db <dir|postgres-url>]
              [--log-level info] [--queue] [--wait-db <seconds>] [--tiles-date YYYY-MM[-DD]] [--prior-date YYYY-MM[-DD]]
              (tiles: GeoTIFF/COG files, Sentinel-2 band files or STAC item / ItemCollection .json)
  tuban migrate [--db <dir|postgres-url>] [--wait-db <seconds>]   create or upgrade the database (PostGIS + tables)
  tuban ledger --epoch YYYY-MM [--out <dir>] [--db …] [--format xlsx,csv,gpkg,shp.zip,geojson] [--as-of YYYY-MM-DD]
               [--wait-db <seconds>]   the month's ledger with the workflow's dispositions, in every format
  tuban report --quarter YYYYQn [--out <dir>] [--db …] [--as-of YYYY-MM-DD] [--wait-db <seconds>]
                                     quarterly summary by district and bureau, with 零报告 lines
  tuban worker [--concurrency N]     (needs DATABASE_URL and REDIS_URL)
  tuban status <batch-id>            (needs DATABASE_URL and REDIS_URL)

Exit codes: 0 batch completed (rejected inputs are listed in batch-report.json),
            2 nothing usable could be processed, 64 usage error, 1 failure,
            75 the embedded database is in use by another tuban process (DB.LOCKED; --wait-db waits for it).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { flags, positional } = parseFlags(rest);
  if (!command || command === 'help' || flags.has('help')) {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 64;
  }
  switch (command) {
    case 'batch':
      return batchCommand(flags);
    case 'worker':
      return workerCommand(flags);
    case 'migrate':
      return migrateCommand(flags);
    case 'ledger':
      return ledgerCommand(flags);
    case 'report':
      return reportCommand(flags);
    case 'status':
      return statusCommand(flags, positional);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`tuban: ${err.message}\n\n${USAGE}\n`);
      process.exitCode = 64;
    } else if (err instanceof TubanError && err.code === 'DB.LOCKED') {
      process.stderr.write(`tuban: DB.LOCKED ${err.message}\n`);
      process.exitCode = EXIT_DB_LOCKED;
    } else {
      process.stderr.write(`tuban: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
