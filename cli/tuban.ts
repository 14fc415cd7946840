#!/usr/bin/env node
/**
 * tuban — the monthly satellite enforcement batch.
 *   tuban batch --epoch 2026-10 --tiles DIR --prior DIR --zones FILE... [--queue]
 *   tuban worker [--concurrency N]        (production: BullMQ on Redis, PostGIS server)
 *   tuban status BATCH_ID
 */
import { TubanError } from '../schemas/errors.js';
import { UsageError, parseFlags } from './args.js';
import { EXIT_DB_LOCKED } from './db-lock.js';
import { batchCommand } from './batch-command.js';
import { workerCommand, statusCommand } from './queue-commands.js';
import { migrateCommand } from './migrate-command.js';
import { serveCommand } from './serve-command.js';
import { userCommand } from './user-command.js';

const USAGE = `Usage:
  tuban batch --epoch YYYY-MM --tiles <dir|glob|file>... --prior <dir|glob|file>... --zones <file>...
              [--landuse <file>] [--rules <file>] [--bands blue,green,red,nir[,swir1,swir2]]
              [--zones-crs gcj02|EPSG:n] [--mmu <m²>] [--out <dir>] [--db <dir|postgres-url>]
              [--log-level info] [--queue] [--wait-db <seconds>] [--tiles-date YYYY-MM[-DD]] [--prior-date YYYY-MM[-DD]]
              (tiles: GeoTIFF/COG files, Sentinel-2 band files or STAC item / ItemCollection .json)
  tuban migrate [--db <dir|postgres-url>] [--wait-db <seconds>]   create or upgrade the database (PostGIS + tables)
  tuban worker [--concurrency N]     (needs DATABASE_URL and REDIS_URL)
  tuban status <batch-id>            (needs DATABASE_URL and REDIS_URL)
  tuban serve [--port 8080] [--host 127.0.0.1] [--db <dir|postgres-url>] [--data <dir>] [--calendar <yaml>...]
              [--deadlines <yaml>]
  tuban user add <name> --role analyst|bureau|district|lead|admin [--bureau <id>] [--district <code>] [--db …]
                                     (password on standard input)
  tuban user list | tuban user disable <name>   [--db …]

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
    case 'status':
      return statusCommand(flags, positional);
    case 'serve':
      return serveCommand(flags);
    case 'user':
      return userCommand(flags, positional);
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
