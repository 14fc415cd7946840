/**
 * Tuban's settings from the environment, declared, validated (zod) and read in one place, once per
 * process. README's "Settings" table documents each. An empty or blank (spaces only) variable counts as
 * unset. Command-line
 * flags still win where a command has one (`--db`, `--log-level`).
 */
import { isIP } from 'node:net';
import { homedir, totalmem } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { z } from 'zod';
import { inflateWorkersFrom } from '../geo/tiff/inflate-pool.js';
import { TubanError } from '../schemas/errors.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Unset, '' or blank → undefined, so every default is written once, below. Blank too: `Number(' ')` is
 * 0, so TUBAN_SCORE_WORKERS=' ' meant no workers and PORT=' ' a random port, with no word.
 */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const envSchema = z.object({
  DATABASE_URL: optional(z.string()),
  REDIS_URL: optional(z.string()),
  TUBAN_LOG_LEVEL: optional(z.enum(LOG_LEVELS)),
  TUBAN_QUEUE_NAME: optional(z.string()),
  TUBAN_QUEUE_PREFIX: optional(z.string()),
  TUBAN_MAX_TILE_BYTES: optional(z.string()),
  TUBAN_SCORE_WORKERS: optional(z.string()),
  TUBAN_INFLATE_WORKERS: optional(z.string()),
  TUBAN_IMAGERY_WORKERS: optional(z.string()),
  TUBAN_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
  TUBAN_DATA: optional(z.string()),
  PORT: optional(z.coerce.number().int().min(0).max(65535)),
  TUBAN_CACHE_DIR: optional(z.string()),
  TUBAN_DB_TEMPLATE: optional(z.enum(['on', 'off'])),
  TUBAN_TRUST_PROXY: optional(z.string()),
});

export type SettingName = keyof typeof envSchema.shape;

const DATABASE_COMMANDS = ['batch', 'migrate', 'worker', 'status', 'serve', 'user', 'ledger', 'report', 'backup', 'restore'] as const;
const QUEUE_COMMANDS = ['batch', 'worker', 'status'] as const; // batch: with --queue
const TILE_COMMANDS = ['batch', 'worker'] as const;

/**
 * The `tuban` commands that read each setting (cli/settings-used.test.ts derives it from their code):
 * a bad value stops those before they make anything, and is only a warning to the others, so a
 * worker-only tuning variable mistyped in the EnvironmentFile that `tuban serve`, `tuban worker` and
 * the backup cron share stops the workers, not the server and the backups. The embedded database's
 * template settings go with every command that opens a database (`--db` may name a directory).
 */
export const SETTING_USERS = {
  DATABASE_URL: DATABASE_COMMANDS,
  REDIS_URL: QUEUE_COMMANDS,
  // Not batch: its level is --log-level's, and --queue enqueues without loading the worker's code.
  TUBAN_LOG_LEVEL: ['worker'],
  TUBAN_QUEUE_NAME: QUEUE_COMMANDS,
  TUBAN_QUEUE_PREFIX: QUEUE_COMMANDS,
  TUBAN_MAX_TILE_BYTES: TILE_COMMANDS,
  TUBAN_SCORE_WORKERS: TILE_COMMANDS,
  // serve decodes the imagery it cuts with the same pool.
  TUBAN_INFLATE_WORKERS: [...TILE_COMMANDS, 'serve'],
  TUBAN_IMAGERY_WORKERS: ['serve'],
  TUBAN_SECRET: ['serve'],
  TUBAN_DATA: ['serve', 'backup', 'restore'],
  PORT: ['serve'],
  TUBAN_CACHE_DIR: DATABASE_COMMANDS,
  TUBAN_DB_TEMPLATE: DATABASE_COMMANDS,
  TUBAN_TRUST_PROXY: ['serve'],
} as const satisfies Record<SettingName, readonly string[]>;

export const SETTING_NAMES = Object.keys(envSchema.shape) as SettingName[];

/** The Config field each setting gives (the test that derives SETTING_USERS maps the code's reads back). */
export const SETTING_FIELDS = {
  DATABASE_URL: 'databaseUrl',
  REDIS_URL: 'redisUrl',
  TUBAN_LOG_LEVEL: 'logLevel',
  TUBAN_QUEUE_NAME: 'queueName',
  TUBAN_QUEUE_PREFIX: 'queuePrefix',
  TUBAN_MAX_TILE_BYTES: 'maxTileBytes',
  TUBAN_SCORE_WORKERS: 'scoreWorkers',
  TUBAN_INFLATE_WORKERS: 'inflateWorkers',
  TUBAN_IMAGERY_WORKERS: 'imageryWorkers',
  TUBAN_SECRET: 'secret',
  TUBAN_DATA: 'dataDir',
  PORT: 'port',
  TUBAN_CACHE_DIR: 'cacheDir',
  TUBAN_DB_TEMPLATE: 'dbTemplate',
  TUBAN_TRUST_PROXY: 'trustProxy',
} as const satisfies Record<SettingName, keyof Config>;

/** The settings `command` reads (SETTING_USERS). */
export function settingsUsedBy(command: string): Set<SettingName> {
  return new Set(SETTING_NAMES.filter((n) => (SETTING_USERS[n] as readonly string[]).includes(command)));
}

/** A bad value of a setting the command does not use: its message, for a warning. */
export interface IgnoredSetting {
  name: SettingName;
  problem: string;
}

export interface Config {
  /** PostgreSQL URL or embedded database directory; `--db` wins. Unset: `.tuban/db` for batch/migrate, required for worker/status. */
  databaseUrl: string | undefined;
  /** Redis URL for `--queue`, `tuban worker`, `tuban status`. */
  redisUrl: string | undefined;
  /** Log level of `tuban worker` and of queue workers started without a logger. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** BullMQ queue name and Redis key prefix (explicit options in code win). */
  queueName: string;
  queuePrefix: string;
  /** Cap on one tile's full-tile working rasters, bytes: over it a tile is rejected as RASTER.TOO_LARGE. */
  maxTileBytes: number;
  /** Score worker threads per tile when set (≥ 0); undefined: chosen from the cores (`defaultScoreWorkers`). */
  scoreWorkers: number | undefined;
  /** TIFF decode threads (the process-wide pool reads TUBAN_INFLATE_WORKERS itself: geo/ sits below this module); checked here with the rest. */
  inflateWorkers: number;
  /** Worker threads of `tuban serve` that cut imagery tiles and chips when set (0–16; 0: its main thread); undefined: from the cores. */
  imageryWorkers: number | undefined;
  /** Token-signing secret of `tuban serve`; unset: generated once into `<data>/secret` (0600). */
  secret: string | undefined;
  /** `tuban serve`'s data directory (secret, evidence files); `--data` wins. */
  dataDir: string;
  /** `tuban serve`'s port; `--port` wins. */
  port: number;
  /** Tuban's cache directory (the embedded database template); default `$XDG_CACHE_HOME/tuban` or `~/.cache/tuban`. */
  cacheDir: string;
  /** Whether a fresh embedded database directory is made from the cached template (`database-template.ts`). */
  dbTemplate: boolean;
  /**
   * Addresses of the reverse proxies in front of `tuban serve` (IPs, CIDR ranges, or `loopback`,
   * `linklocal`, `uniquelocal`; comma-separated): requests from them have their X-Forwarded-For,
   * -Proto and -Host honoured (client address, https, host). Unset: the socket is the client.
   */
  trustProxy: string | undefined;
}

/**
 * Parse an environment (process.env by default); throws TubanError('CONFIG.INVALID') naming each bad
 * variable among `uses` (every setting by default). A bad one not among them is pushed onto
 * `ignored`, and its field throws that CONFIG.INVALID when read: were a command to read a setting
 * SETTING_USERS does not give it, it would stop there, not run on a default nobody chose.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, uses: ReadonlySet<SettingName> = new Set(SETTING_NAMES), ignored: IgnoredSetting[] = []): Config {
  const problems = new Map<SettingName, string>();
  const e: Partial<Record<SettingName, unknown>> = {};
  for (const name of SETTING_NAMES) {
    const res = envSchema.shape[name].safeParse(env[name]);
    if (res.success) e[name] = res.data;
    else problems.set(name, `${name}: ${res.error.issues.map((i) => i.message).join('; ')}`);
  }
  const v = e as z.infer<typeof envSchema>;
  /** `from(v)`, or `fallback` with the problem noted, when it refuses the value. */
  const checked = <T>(name: SettingName, from: () => T, fallback: T): T => {
    if (problems.has(name)) return fallback;
    try {
      return from();
    } catch (err) {
      if (!(err instanceof TubanError) || err.code !== 'CONFIG.INVALID') throw err;
      problems.set(name, err.subject ? err.message.slice(err.subject.length + 2) : err.message);
      return fallback;
    }
  };
  const config: Config = {
    databaseUrl: v.DATABASE_URL,
    redisUrl: v.REDIS_URL,
    logLevel: v.TUBAN_LOG_LEVEL ?? 'info',
    queueName: v.TUBAN_QUEUE_NAME ?? 'tuban',
    queuePrefix: v.TUBAN_QUEUE_PREFIX ?? 'tuban',
    // Half of this machine's memory by default: the rest is for strips, decoded blocks and the database.
    maxTileBytes: checked('TUBAN_MAX_TILE_BYTES', () => maxTileBytesFrom(v.TUBAN_MAX_TILE_BYTES), undefined) ?? Math.floor(totalmem() / 2),
    scoreWorkers: checked('TUBAN_SCORE_WORKERS', () => scoreWorkersFrom(v.TUBAN_SCORE_WORKERS), undefined),
    inflateWorkers: checked('TUBAN_INFLATE_WORKERS', () => inflateWorkersFrom(v.TUBAN_INFLATE_WORKERS), 0),
    imageryWorkers: checked('TUBAN_IMAGERY_WORKERS', () => imageryWorkersFrom(v.TUBAN_IMAGERY_WORKERS), undefined),
    secret: v.TUBAN_SECRET,
    dataDir: v.TUBAN_DATA ?? '.tuban/data',
    port: v.PORT ?? 8080,
    cacheDir: v.TUBAN_CACHE_DIR ?? join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tuban'),
    dbTemplate: v.TUBAN_DB_TEMPLATE !== 'off',
    trustProxy: checked('TUBAN_TRUST_PROXY', () => trustProxyFrom(v.TUBAN_TRUST_PROXY), undefined),
  };
  const refused = [...problems].filter(([name]) => uses.has(name));
  if (refused.length > 0) throw new TubanError('CONFIG.INVALID', refused.map(([, msg]) => msg).join('; '), 'environment');
  for (const [name, problem] of problems) {
    ignored.push({ name, problem });
    Object.defineProperty(config, SETTING_FIELDS[name], {
      enumerable: true,
      get: () => {
        throw new TubanError('CONFIG.INVALID', problem, 'environment');
      },
    });
  }
  return config;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [ip, bits, ...rest] = entry.split('/');
  const family = isIP(ip);
  if (!family || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/**
 * Proxy addresses, not a hop count or "trust all": Fastify 5 trusts nobody for a count, and trusting
 * every hop takes the client's address from the left of X-Forwarded-For, which the client writes,
 * so anyone could dodge the per-address sign-in throttle by sending a new one each time.
 */
function trustProxyFrom(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const entries = v.split(',').map((x) => x.trim());
  const bad = entries.filter((x) => !isProxyAddress(x));
  if (bad.length > 0) throw new TubanError('CONFIG.INVALID', `TUBAN_TRUST_PROXY must list the proxies' addresses (IP, CIDR, loopback, linklocal or uniquelocal, comma-separated), got '${bad.join("', '")}'`, 'environment');
  return entries.join(',');
}

/** zod's own words for '6G' were "expected number, received NaN": say what it takes, and what it got. */
function maxTileBytesFrom(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new TubanError('CONFIG.INVALID', `TUBAN_MAX_TILE_BYTES must be a whole number of bytes above 0 (no unit: 6 GiB is 6442450944), got '${v}'`, 'environment');
  return n;
}

function scoreWorkersFrom(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TubanError('CONFIG.INVALID', `TUBAN_SCORE_WORKERS must be a whole number ≥ 0, got '${v}'`, 'environment');
  return n;
}

function imageryWorkersFrom(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 16) throw new TubanError('CONFIG.INVALID', `TUBAN_IMAGERY_WORKERS must be a whole number from 0 to 16, got '${v}'`, 'environment');
  return n;
}

let cached: Config | undefined;

/**
 * This process's settings, read from process.env on first use (every setting checked, unless
 * configureFor came first). The main thread's only: a worker thread has a module state of its own,
 * where configureFor never ran, so its config() would check every setting again and stop on a bad
 * value the command goes on past; the thread's starter passes what it needs in workerData.
 */
export function config(): Config {
  if (!isMainThread) throw new TubanError('INTERNAL', "config() in a worker thread: read the setting on the main thread and pass its value in the thread's workerData", 'config');
  cached ??= loadConfig();
  return cached;
}

/**
 * Reads this process's settings for a command that uses `uses` (settingsUsedBy): throws
 * CONFIG.INVALID for a bad one of them; returns the bad ones it ignores, for the command to warn of.
 */
export function configureFor(uses: ReadonlySet<SettingName>): IgnoredSetting[] {
  const ignored: IgnoredSetting[] = [];
  cached = loadConfig(process.env, uses, ignored);
  return ignored;
}
