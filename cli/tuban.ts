#!/usr/bin/env node
/**
 * tuban — the monthly satellite enforcement batch.
 *   tuban batch --epoch 2026-10 --tiles DIR --prior DIR --zones FILE... [--queue]
 *   tuban worker [--concurrency N]        (production: BullMQ on Redis, PostGIS server)
 *   tuban status BATCH_ID
 *   tuban serve [--port 8080]              (the bureau triage server and its page)
 *   tuban user add|list|disable            (its accounts)
 *   tuban ledger --epoch 2026-10 [--out DIR]   (the month ledger with the workflow's dispositions)
 *   tuban report --quarter 2026Q4             (quarterly summary, 零报告 lines)
 *   tuban backup [--out DIR] | tuban restore --from DIR   (the database and its evidence files)
 */
import { TubanError } from '../schemas/errors.js';
import { ConfigError, UsageError, parseFlags } from './args.js';
import { checkFlags, isCommand, usage, type CommandName } from './commands.js';
import { EXIT_DB_LOCKED } from './db-lock.js';
import { tolerateClosedOutput } from './closed-output.js';
import { checkSettings, settingWarningLine } from './settings-check.js';

async function main(argv: string[]): Promise<number> {
  tolerateClosedOutput(process.stdout);
  tolerateClosedOutput(process.stderr);
  const [command, ...rest] = argv;
  const { flags, positional } = parseFlags(rest);
  if (command === undefined) {
    process.stderr.write(usage() + '\n');
    return 64;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    const about = positional[0] ?? [...flags.keys()][0];
    process.stdout.write(usage(about !== undefined && isCommand(about) ? about : undefined) + '\n');
    return 0;
  }
  if (!isCommand(command)) throw new UsageError(`unknown command '${command}'`);
  if (flags.has('help') || positional.includes('-h')) {
    process.stdout.write(usage(command) + '\n');
    return 0;
  }
  checkFlags(command, flags);
  // The environment's settings, checked before any input is read: those this command uses stop it
  // when bad (exit 64), the others are a warning (settings-check.ts): in the JSON log of serve and
  // worker, which start their logger first; a plain line from the others.
  const settingWarnings = checkSettings(command);
  if (command !== 'serve' && command !== 'worker') for (const w of settingWarnings) process.stderr.write(`${settingWarningLine(w)}\n`);
  // Loaded on demand: the pipeline's modules (detector, GeoTIFF, database) are not needed to print usage or refuse a flag.
  const run: Record<CommandName, () => Promise<number>> = {
    batch: async () => (await import('./batch-command.js')).batchCommand(flags),
    worker: async () => (await import('./worker-command.js')).workerCommand(flags, settingWarnings),
    migrate: async () => (await import('./migrate-command.js')).migrateCommand(flags),
    status: async () => (await import('./status-command.js')).statusCommand(flags, positional),
    serve: async () => (await import('./serve-command.js')).serveCommand(flags, {}, settingWarnings),
    user: async () => (await import('./user-command.js')).userCommand(flags, positional),
    ledger: async () => (await import('./ledger-command.js')).ledgerCommand(flags),
    report: async () => (await import('./report-command.js')).reportCommand(flags),
    backup: async () => (await import('./backup-command.js')).backupCommand(flags),
    restore: async () => (await import('./backup-command.js')).restoreCommand(flags),
  };
  return run[command]();
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A worker that closed without Redis may leave a socket or timer of its client behind; once
    // the command has finished (logs are written synchronously) nothing it holds is worth waiting for.
    if (process.argv[2] === 'worker') setTimeout(() => process.exit(code), 500).unref();
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      const command = err.command !== undefined && isCommand(err.command) ? err.command : undefined;
      process.stderr.write(`tuban: ${err.message}\n\n${usage(command)}\n`);
      process.exitCode = 64;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`tuban: ${err.message}\n`);
      process.exitCode = 64;
    } else if (err instanceof TubanError && (err.code === 'CONFIG.INVALID' || err.code === 'DB.SETUP')) {
      // A TUBAN_* variable out of its range, or PostgreSQL refusing the database as it is set up (no
      // such database, a role or password it refuses, no PostGIS): configuration, like a bad
      // --deadlines file. 64, so systemd does not restart it every 10 s while nobody has fixed it.
      process.stderr.write(`tuban: ${err.code}: ${err.message}\n`);
      process.exitCode = 64;
    } else if (err instanceof TubanError && err.code === 'DB.LOCKED') {
      process.stderr.write(`tuban: DB.LOCKED ${err.message}\n`);
      process.exitCode = EXIT_DB_LOCKED;
    } else if (err instanceof TubanError && err.code !== 'INTERNAL' && err.disposition !== 'retry') {
      // An input the batch cannot go on without (no district layer, an invalid rule table): a
      // sentence with its code is what the user needs, not a stack.
      process.stderr.write(`tuban: ${err.code}: ${err.message}\n`);
      process.exitCode = err.code.startsWith('ZONES.') || err.code.startsWith('TILE.') ? 2 : 1;
    } else if (err instanceof TubanError && (err.code === 'DB.TRANSIENT' || err.code === 'QUEUE.TRANSIENT')) {
      // A server that did not answer (PostgreSQL stopped or not up yet, Redis away): the address
      // in the message is what the operator checks; a stack says nothing more. Exit 1, so systemd's
      // Restart=on-failure tries again.
      process.stderr.write(`tuban: ${err.code}: ${err.message}\n`);
      process.exitCode = 1;
    } else if (isPlaceError(err)) {
      // A directory or file the machine refuses (no such place, no permission, read-only, full):
      // Node's message names the path and the reason, which is all the user can act on.
      process.stderr.write(`tuban: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`tuban: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);

const PLACE_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENOTDIR', 'EISDIR', 'EEXIST']);

function isPlaceError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  return err instanceof Error && typeof e.path === 'string' && PLACE_ERRORS.has(e.code ?? '');
}
