/**
 * Tuban's settings from the environment, declared, validated (zod) and read in one place, once per
 * process. README's "Settings" table documents each. An empty or blank (spaces only) variable counts as
 * unset. Command-line
 * flags still win where a command has one (`--db`, `--log-level`).
 */
import { isIP } from 'node:net';
import { homedir, totalmem } from 'node:os';
import { join } from 'node:path';
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

/** Parse an environment (process.env by default); throws TubanError('CONFIG.INVALID') naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const res = envSchema.safeParse(env);
  if (!res.success) {
    const msg = res.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ');
    throw new TubanError('CONFIG.INVALID', msg, 'environment');
  }
  const e = res.data;
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    logLevel: e.TUBAN_LOG_LEVEL ?? 'info',
    queueName: e.TUBAN_QUEUE_NAME ?? 'tuban',
    queuePrefix: e.TUBAN_QUEUE_PREFIX ?? 'tuban',
    // Half of this machine's memory by default: the rest is for strips, decoded blocks and the database.
    maxTileBytes: maxTileBytesFrom(e.TUBAN_MAX_TILE_BYTES) ?? Math.floor(totalmem() / 2),
    scoreWorkers: scoreWorkersFrom(e.TUBAN_SCORE_WORKERS),
    inflateWorkers: inflateWorkersFrom(e.TUBAN_INFLATE_WORKERS),
    imageryWorkers: imageryWorkersFrom(e.TUBAN_IMAGERY_WORKERS),
    secret: e.TUBAN_SECRET,
    dataDir: e.TUBAN_DATA ?? '.tuban/data',
    port: e.PORT ?? 8080,
    cacheDir: e.TUBAN_CACHE_DIR ?? join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tuban'),
    dbTemplate: e.TUBAN_DB_TEMPLATE !== 'off',
    trustProxy: trustProxyFrom(e.TUBAN_TRUST_PROXY),
  };
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

/** This process's settings, read from process.env on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
