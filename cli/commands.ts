/**
 * What each subcommand accepts, in one table: its usage text and its flags. An unknown flag is a
 * usage error (not silently ignored: `--zone f.geojson` once ran a whole batch with no districts),
 * naming the nearest known flag when the user plainly meant it.
 */
import { BUREAU_IDS } from '../schemas/vocabulary.js';
import { UsageError, type Flags } from './args.js';

export type CommandName = 'batch' | 'migrate' | 'worker' | 'status' | 'serve' | 'user' | 'ledger' | 'report' | 'backup' | 'restore';

interface CommandSpec {
  usage: string;
  flags: readonly string[];
  /** What its exit codes mean, printed under its usage (each command's own: a user add has no batch to complete). */
  exits: string;
}

const LOCKED = '75 the embedded database is in use by another tuban process (DB.LOCKED; --wait-db waits for it)';
/** Each command refuses only the settings it uses (settings-check.ts); a bad one of the others is a warning. */
const SETTING = 'a TUBAN_* setting it uses out of range: CONFIG.INVALID';

export const COMMANDS: Record<CommandName, CommandSpec> = {
  batch: {
    usage: `tuban batch --epoch YYYY-MM --tiles <dir|glob|file>... --prior <dir|glob|file>... --zones <file>[@crs]...
              [--landuse <file>] [--rules <file>] [--bands blue,green,red,nir[,swir1,swir2]]
              [--zones-crs gcj02|wgs84|cgcs2000|EPSG:n] [--mmu <m²>] [--out <dir>] [--db <dir|postgres-url>]
              [--log-level info] [--queue] [--wait-db <seconds>] [--tiles-date YYYY-MM[-DD]] [--prior-date YYYY-MM[-DD]]
              [--detector auto|learned|unsupervised] [--detector-params <json|file.json>] [--replaces <batch-id>]...
              (tiles: GeoTIFF/COG files, Sentinel-2 band files or STAC item / ItemCollection .json)
    --zones     zone layers; at least one must hold the districts (kind 'district' or a DataV file).
                A suffix gives one file's CRS: --zones districts.json@gcj02 farmland.gpkg
                (a DataV file needs one: @gcj02 as downloaded, @wgs84 once converted)
    --zones-crs the CRS of every zone file without a suffix (overrides what the file declares)
    --wait-db   seconds to wait for another tuban process holding the embedded database (default 0: exit 75)
    --detector  auto (default): the 6-band learned model on tiles with swir1/swir2, the 4-band one on
                blue/green/red/nir; learned: a model on every tile; unsupervised: the spectral score
    --detector-params  detector parameters over the defaults (README, "Detector parameters")
    --replaces  an earlier batch of the month this one replaces (its imagery prepared again from other
                files): its polygons go, the sites found again keep their codes`,
    flags: ['epoch', 'tiles', 'prior', 'zones', 'landuse', 'rules', 'bands', 'zones-crs', 'mmu', 'out', 'db', 'log-level', 'queue', 'wait-db', 'tiles-date', 'prior-date', 'detector', 'detector-params', 'replaces'],
    exits: `0 batch completed with every tile input and zone file used (repaired or dropped zone features are listed in batch-report.json),
  3 batch completed, but some tile inputs or whole zone files were rejected: the month is incomplete (listed in
    batch-report.json, the tiles' footprints in not-observed.geojson),
  2 nothing usable could be processed (no tile found, no usable tile, no district layer),
  64 usage error (or a --rules file that cannot be read or is invalid, ${SETTING},
    or DB.SETUP: PostgreSQL refuses the database as set up), 1 failure,
  ${LOCKED}`,
  },
  migrate: {
    usage: 'tuban migrate [--db <dir|postgres-url>] [--wait-db <seconds>]   create or upgrade the database (PostGIS + tables)',
    flags: ['db', 'wait-db'],
    exits: `0 up to date, 64 usage error (or ${SETTING}, or DB.SETUP: PostgreSQL refuses the database as set up), 1 failure,\n  ${LOCKED}`,
  },
  worker: {
    usage: 'tuban worker [--concurrency N] [--db <postgres-url>] [--log-level info]   (needs DATABASE_URL and REDIS_URL)',
    flags: ['concurrency', 'db', 'log-level'],
    exits: `0 stopped cleanly by SIGTERM/SIGINT/SIGHUP, 64 usage error (or DATABASE_URL/REDIS_URL not set, ${SETTING}, or DB.SETUP), 1 failure,
  or a stop that did not complete (Redis or PostgreSQL not answering, a job still running after 60 s: an error line says which)`,
  },
  status: {
    usage: 'tuban status <batch-id> [--db <postgres-url>]   (needs DATABASE_URL and REDIS_URL)',
    flags: ['db'],
    exits: `0 status printed, 2 the batch is not on the queue, 64 usage error (or DATABASE_URL/REDIS_URL not set, ${SETTING}), 1 failure`,
  },
  serve: {
    usage: `tuban serve [--port 8080] [--host 127.0.0.1] [--db <dir|postgres-url>] [--data <dir>] [--calendar <yaml>...]
              [--deadlines <yaml>] [--log-level info] [--wait-db <seconds>]   the bureau triage server and its page
    --wait-db   seconds to wait for another tuban process holding the embedded database; serve then holds it until it stops`,
    flags: ['port', 'host', 'db', 'data', 'calendar', 'deadlines', 'log-level', 'wait-db'],
    exits: `0 stopped by SIGTERM/SIGINT/SIGHUP (the requests in flight finished, the database closed), 64 usage error (or a
  --deadlines/--calendar file that cannot be read or is invalid, a --port/--host it cannot listen on,
  ${SETTING} such as a short TUBAN_SECRET, or DB.SETUP), 1 failure,
  143/130/129 a second SIGTERM/SIGINT/SIGHUP while stopping (exited at once), ${LOCKED}`,
  },
  user: {
    usage: `tuban user add <name> --role analyst|bureau|district|lead|admin [--bureau <id>] [--district <code>] [--township <code>] [--db …] [--wait-db <seconds>]
  tuban user password <name>   [--db …] [--wait-db <seconds>]   (the password on standard input, or asked twice on a terminal)
  tuban user list | tuban user disable <name> | tuban user enable <name>   [--db …] [--wait-db <seconds>]
  tuban user unthrottle <address>   [--db …] [--wait-db <seconds>]   (forget the failed sign-ins counted against an address: an office locked out)
    --bureau    ${BUREAU_IDS.join(', ')}
    --district  the six-digit district code (区划代码) the batch routes polygons to, e.g. 370102
    --township  with --bureau township: the one 乡镇/街道 (its code in the batch's township layer, nine digits,
                e.g. 370102001, or twelve ending in 000) whose polygons the account sees; without it, all of them`,
    flags: ['role', 'bureau', 'district', 'township', 'db', 'wait-db'],
    exits: `0 done, 64 usage error (an unknown role or bureau, a district code not of six digits, a township code not of
  9 or 12 digits, --township without --bureau township, no password on
  standard input, ${SETTING}), 65 refused (two typed passwords differ, USER.PASSWORD_TOO_SHORT, USER.EXISTS, USER.NOT_FOUND, USER.INVALID), 1 failure,
  ${LOCKED}`,
  },
  ledger: {
    usage: `tuban ledger --epoch YYYY-MM [--out <dir>] [--db <dir|postgres-url>] [--format xlsx,csv,gpkg,shp.zip,geojson]
              [--as-of YYYY-MM-DD] [--wait-db <seconds>]
              the month's ledger with each item's one disposition from the workflow, in every format or those named
    --as-of     the day that decides what is overdue (default today)`,
    flags: ['epoch', 'out', 'db', 'format', 'as-of', 'wait-db'],
    exits: `0 written, 64 usage error (or an embedded --db that holds no database, ${SETTING}), 1 failure,\n  ${LOCKED}`,
  },
  report: {
    usage: `tuban report --quarter YYYYQn [--out <dir>] [--db <dir|postgres-url>] [--as-of YYYY-MM-DD] [--wait-db <seconds>]
              the quarterly summary by district and lead bureau, with 零报告 lines (printed, and as xlsx and csv)`,
    flags: ['quarter', 'out', 'db', 'as-of', 'wait-db'],
    exits: `0 written, 64 usage error (or an embedded --db that holds no database, ${SETTING}), 1 failure,\n  ${LOCKED}`,
  },
  backup: {
    usage: `tuban backup [--out <dir>] [--db <dir|postgres-url>] [--data <dir>] [--no-evidence] [--wait-db <seconds>]
              every table of the database, as one snapshot (also while tuban serve runs), and the evidence
              files it names, into a new folder (default backups/<date>-<time>); --no-evidence: the database alone`,
    flags: ['out', 'db', 'data', 'no-evidence', 'wait-db'],
    exits: `0 written, 64 usage error (an --out that exists, an embedded --db that holds no database, a --data that holds
  none of the evidence files the database names: nothing written; ${SETTING}), 1 failure (also: written, but evidence files
  named in the database are missing from --data; manifest.json lists them),\n  ${LOCKED}`,
  },
  restore: {
    usage: `tuban restore --from <dir> [--db <dir|postgres-url>] [--data <dir>] [--wait-db <seconds>]
              a backup into an empty database (a new embedded directory or a PostgreSQL server), evidence into --data`,
    flags: ['from', 'db', 'data', 'wait-db'],
    exits: `0 restored, 64 usage error (no --from, not a backup folder, ${SETTING}), 1 failure (BACKUP.INVALID: a database not
  empty, a backup damaged or newer than this Tuban; nothing is restored),\n  ${LOCKED}`,
  },
};

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** One command's usage and exit codes; with none, every command's usage and the codes they share. */
export function usage(command?: CommandName): string {
  if (command) return `Usage:\n  ${COMMANDS[command].usage}\n\nExit codes: ${COMMANDS[command].exits}`;
  return (
    `Usage:\n${Object.values(COMMANDS).map((s) => `  ${s.usage}`).join('\n')}\n\n` +
    `Exit codes: 0 done, 64 usage error (or a TUBAN_* setting the command uses out of range, or DB.SETUP: PostgreSQL refuses the database as set up), 1 failure, ${LOCKED};\n  each command's own (batch 2, user 65, …): tuban <command> --help`
  );
}

/** Throws a UsageError for the first flag `command` does not know, suggesting the nearest known one. */
export function checkFlags(command: CommandName, flags: Flags): void {
  const known = COMMANDS[command].flags;
  for (const name of flags.keys()) {
    if (name === 'help' || known.includes(name)) continue;
    const near = nearest(name, known);
    throw new UsageError(`unknown flag --${name} for 'tuban ${command}'${near ? ` (did you mean --${near}?)` : ''}`, command);
  }
}

/**
 * Where one name is the other's start, the rest may be this long and still count as a slip (`--wait`
 * for --wait-db, TUBAN_DATA_DIR for TUBAN_DATA); longer, it is a word of its own that means something
 * else (TUBAN_DATABASE_URL is not TUBAN_DATA, TUBAN_SECRET_FILE not TUBAN_SECRET).
 */
const PREFIX_SLIP = 4;

/**
 * The known name within edit distance 2 (or that starts `name`, or starts with it, but for at most
 * PREFIX_SLIP characters), else null. Ties go to the smaller plain edit distance, so --tiles-dat
 * means --tiles-date, not --tiles.
 */
export function nearest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  let bestRaw = Infinity;
  for (const k of known) {
    const raw = editDistance(name, k);
    const prefix = (k.startsWith(name) || name.startsWith(k)) && Math.abs(k.length - name.length) <= PREFIX_SLIP;
    const d = prefix ? Math.min(1, raw) : raw;
    if (d < bestD || (d === bestD && raw < bestRaw)) [best, bestD, bestRaw] = [k, d, raw];
  }
  return bestD <= 2 ? best : null;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
