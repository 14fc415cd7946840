/**
 * Open Tuban's PostGIS database: embedded PGlite persisted in a directory (the default, no server),
 * or a PostgreSQL + PostGIS server through a `pg` Pool when given a postgres:// URL. Both satisfy
 * `Database`, so every query is written once.
 */
import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { redactUrl, urlDatabase } from '../redact-url.js';
import { UNREACHABLE_CODES } from '../socket-errors.js';
import { TubanError } from '../../schemas/errors.js';
import {
  copyTemplateData,
  discard,
  ensureTemplate,
  findTemplate,
  isFreshDirectory,
  settleUnfinishedCopy,
  templateCacheRoot,
  templateMigrationVersion,
  type TemplateEntry,
  type TemplateLog,
} from './database-template.js';
import { acquireDirectoryLock, ServerShares, type DirectoryLock, type LockOptions } from './directory-lock.js';
import { followLinks } from './follow-links.js';
import { migrate } from './migrations.js';
import { makeDirectory } from '../make-directory.js';
import { openPgliteThread } from './pglite-thread.js';
import { connectSharedDatabase, socketPathFor } from './shared-database.js';
import { postgisExtension } from './postgis-bundle.js';
import type { Database, Queryable, QueryResult } from './queryable.js';

export interface OpenOptions {
  /**
   * Schema to create (if missing) and put first on the search_path, so tests sharing one server
   * stay isolated. PostGIS itself stays where it is installed (normally `public`).
   */
  schema?: string;
  /**
   * An embedded directory is held by one process at a time (`directory-lock.ts`). Pass a lock
   * already taken on it (the batch takes it before planning, to fail or wait up front), or the
   * options to take it here. Either way closing the database releases it.
   */
  lock?: DirectoryLock | LockOptions;
  /**
   * Whether an embedded directory held by a running `tuban serve` is used through the socket it
   * shares it on (`shared-database.ts`) instead of failing with DB.LOCKED. Default true; false for
   * the server itself, which must hold the directory. Never with `schema` (the session is the server's).
   */
  viaServer?: boolean;
  /**
   * Messages about the embedded database template (`database-template.ts`): building it (info),
   * a broken one rebuilt or bypassed (warn). Default: warnings to stderr, info dropped.
   */
  log?: TemplateLog;
  /**
   * Cache directory of the embedded database template; null: never use one (initdb every fresh
   * directory). Default `templateCacheRoot()` (`TUBAN_CACHE_DIR`, `$XDG_CACHE_HOME/tuban`, …).
   */
  templateCache?: string | null;
  /**
   * Embedded only: run PGlite on a worker thread of its own (`pglite-thread.ts`). PGlite is
   * WebAssembly on the thread that calls it, so opening it (1.2-3.3 s from the template) and every
   * query otherwise take turns with the caller's own work; the batch opens it this way so the
   * first tiles are detected while the database starts, on the other core. Same queries, same
   * results, same errors (code and message). Default false.
   */
  thread?: boolean;
}

const defaultLog: TemplateLog = (level, message) => {
  if (level === 'warn') process.stderr.write(`tuban: ${message}\n`);
};

/** SQLSTATEs that a retry can cure: connection loss, serialisation failure, deadlock, shutdown, too many connections. */
const TRANSIENT_SQLSTATE = /^(08...|40001|40P01|57P0[123]|53300)$/;
/**
 * A protocol violation (08P01, in the connection class) that is a bug's, not a connection's: a
 * statement given the wrong number of parameters, retried and answered 503 "try again", was hidden.
 * PgBouncer's refusals (no more connections, cannot reach the server) come as 08P01 too, and stay transient.
 */
const BUG_08P01 = /^bind message|prepared statement|invalid message format|insufficient data left in message/i;

/** Whether a retry can cure `err` (a connection lost or refused, a deadlock, a server shutting down). */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '08P01' && err instanceof Error && BUG_08P01.test(err.message)) return false;
  // Node's codes for a server not there: the pg client passes them as the error's `code`, beside
  // SQLSTATEs. Once not transient, a PostgreSQL stopped for a few seconds failed a batch's tiles for good.
  if (typeof code === 'string') return TRANSIENT_SQLSTATE.test(code) || UNREACHABLE_CODES.has(code);
  const msg = err instanceof Error ? err.message : '';
  return /ECONNRESET|ECONNREFUSED|EPIPE|Connection terminated|not queryable|timeout exceeded when trying to connect/i.test(msg);
}

/** Transient failures become DB.TRANSIENT (retried by the batch); others pass through unchanged. */
function mapError(err: unknown): unknown {
  if (err instanceof TubanError || !isTransient(err)) return err;
  return new TubanError('DB.TRANSIENT', errorText(err), undefined, { cause: err });
}

/**
 * An error's message; for the one Node gives when every address of a host refused (`localhost` as
 * ::1 and 127.0.0.1: an AggregateError with an empty message), its addresses' messages.
 */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message) return err.message;
  const inner = (err as { errors?: unknown }).errors;
  const parts = Array.isArray(inner) ? inner.map((e) => (e instanceof Error ? e.message : String(e))).filter(Boolean) : [];
  return parts.length ? parts.join('; ') : ((err as { code?: unknown }).code as string | undefined) ?? err.name;
}

function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new TubanError('INTERNAL', `invalid schema name '${name}'`);
  return `"${name}"`;
}

/**
 * @param target a directory (PGlite data persisted there, created if missing), 'memory://' (PGlite in
 *   memory, for tests), or a 'postgres://' / 'postgresql://' URL (a server with PostGIS available).
 */
export async function openDatabase(target: string, opts: OpenOptions = {}): Promise<Database> {
  const db = /^postgres(ql)?:\/\//i.test(target) ? await openServer(target, opts) : await openEmbedded(target, opts);
  try {
    await ensurePostgis(db).catch((err: unknown) => {
      throw db.kind === 'postgres' ? setupError(target, err) : err;
    });
    if (opts.schema) {
      const s = quoteIdent(opts.schema);
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      // PGlite is a single session, so setting it once suffices; the pg Pool sets it per connection.
      if (db.kind === 'pglite') await db.query(`SET search_path TO ${s}, public`);
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/**
 * SQLSTATEs of a server that refuses the database as it is set up, not for a moment: no database of
 * that name, a role or password it does not take; and a host that does not exist. Each was a stack
 * trace from deep in the pg client.
 */
const SETUP_SQLSTATE: Record<string, (db: string) => string> = {
  '3D000': (db) => `create it as the postgres user: CREATE DATABASE ${db} OWNER <role>;`,
  '28P01': () => 'check the password in DATABASE_URL (or --db)',
  '28000': () => "check the role in DATABASE_URL (or --db), and pg_hba.conf's line for this host",
  // A host name that does not resolve (a typo; a resolver not up yet says EAI_AGAIN, which is retried).
  ENOTFOUND: () => 'check the host in DATABASE_URL (or --db): no such host',
};

/** The first query's failure on a server, as DB.SETUP naming the URL (its password hidden) and what to do. */
function setupError(url: string, err: unknown): unknown {
  const where = redactUrl(url);
  const dbName = urlDatabase(url) || '<database>';
  if (err instanceof TubanError && err.code === 'DB.SETUP') return new TubanError('DB.SETUP', `${where}: ${err.message}${POSTGIS_HINT(dbName)}`, undefined, { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  const hint = typeof code === 'string' ? SETUP_SQLSTATE[code] : undefined;
  if (!hint) return err;
  return new TubanError('DB.SETUP', `${where}: ${(err as Error).message} (${hint(dbName)})`, undefined, { cause: err });
}

const POSTGIS_HINT = (db: string) => ` (as the postgres user: CREATE EXTENSION postgis; in database ${db}; Debian's package is postgresql-15-postgis-3)`;

async function ensurePostgis(db: Database): Promise<void> {
  const has = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'postgis'`);
  if (has.rows[0].n > 0) return;
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS postgis');
  } catch (err) {
    // Another process may have created it concurrently; anything else (no privilege, not installed) is fatal.
    const again = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'postgis'`);
    if (again.rows[0].n === 0) {
      throw new TubanError('DB.SETUP', `PostGIS is not available and could not be created: ${(err as Error).message}`, undefined, { cause: err });
    }
  }
}

async function openEmbedded(given: string, opts: OpenOptions): Promise<Database> {
  const isMemory = given === 'memory://' || given.startsWith('memory://');
  const target = isMemory ? given : followLinks(given);
  const lockOrOptions = opts.lock ?? {};
  const log = opts.log ?? defaultLog;
  // A running `tuban serve` holds the directory and answers for it (`shared-database.ts`).
  if (!isMemory && !('release' in lockOrOptions) && opts.viaServer !== false && !opts.schema) {
    const shared = await connectSharedDatabase(target);
    if (shared) {
      log('info', `${target} is open in a running tuban serve; using its database through ${socketPathFor(target)}`);
      return shared;
    }
  }
  // Before anything touches the directory, initdb of a fresh one (or the template copy) included.
  const lock = isMemory ? null : 'release' in lockOrOptions ? lockOrOptions : await lockOrServer(target, lockOrOptions, opts);
  if (lock && 'kind' in lock) {
    log('info', `${target} is open in a running tuban serve; using its database through ${socketPathFor(target)}`);
    return lock;
  }
  if (opts.thread) {
    // PGlite starts and answers on its own thread; this one keeps the lock (released by close).
    const root = opts.templateCache === undefined ? templateCacheRoot() : opts.templateCache;
    return openPgliteThread({ target, templateCache: root, schema: opts.schema }, log, lock);
  }
  let lite: PGlite;
  try {
    lite = await startEmbedded(target, opts, log);
  } catch (err) {
    await lock?.release();
    throw err;
  }
  return pgliteDatabase(lite, lock);
}

/**
 * The directory's lock; or, for a command that may go through a server, the server's database once
 * a server that held the lock while it started shares it on its socket (--wait-db waited for a lock
 * a server never gives back, and failed DB.LOCKED though the server was up seconds later).
 */
export async function lockOrServer(target: string, lockOptions: LockOptions, opts: Pick<OpenOptions, 'viaServer' | 'schema'> = {}): Promise<DirectoryLock | Database> {
  if (opts.viaServer === false || opts.schema) return acquireDirectoryLock(target, lockOptions);
  const socket = socketPathFor(target);
  let options: LockOptions = { ...lockOptions, serverShares: () => existsSync(socket) };
  for (;;) {
    try {
      return await acquireDirectoryLock(target, options);
    } catch (err) {
      if (!(err instanceof ServerShares)) throw err;
      const shared = await connectSharedDatabase(target);
      if (shared) return shared;
      // A socket that does not answer: a server stopping, or the file a killed server left while its
      // successor starts (it replaces the file once it shares). Look again each poll for what is left.
      options = { ...options, waitSeconds: err.remainingMs / 1000 };
    }
  }
}

/** PGlite's module, loaded on first use: a process that opens it on its own thread never loads it itself. */
const pglite = () => import('@electric-sql/pglite');

/**
 * PGlite on `target` ('memory://…' or a directory, made from the template when fresh), no lock
 * taken: the caller holds it. Also what the database thread (`pglite-thread.ts`) runs.
 */
export async function startEmbedded(target: string, opts: Pick<OpenOptions, 'templateCache' | 'schema'>, log: TemplateLog): Promise<PGlite> {
  const isMemory = target === 'memory://' || target.startsWith('memory://');
  const { PGlite } = await pglite();
  return isMemory ? PGlite.create('memory://', { extensions: { postgis: postgisExtension() } }) : startDirectory(target, opts, log);
}

/**
 * Start PGlite on a directory. A fresh one (missing or empty) is made from the template when one
 * can be had, and checked: PostGIS there and migrations at the current version. A template copy
 * that does not start or check out is removed, the template discarded (rebuilt next time), and the
 * directory initialised as before. A per-schema open (`opts.schema`) never uses the template, whose
 * tables are in `public`.
 */
async function startDirectory(target: string, opts: Pick<OpenOptions, 'templateCache' | 'schema'>, log: TemplateLog): Promise<PGlite> {
  const root = opts.templateCache === undefined ? templateCacheRoot() : opts.templateCache;
  // Existing unless stat says there is nothing (existsSync is false on any error, EIO included).
  const existed = await stat(target).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT');
  if (existed) await settleUnfinishedCopy(target);
  const fresh = await isFreshDirectory(target);
  // A fresh directory that could not be made a database (a full disk) is taken back to what it was,
  // so the next start meets a fresh directory again, not half a PostgreSQL data directory. Only what
  // this start made goes: a directory that was there (empty) is emptied, never removed.
  const undo = async () => {
    if (!existed) await rm(target, { recursive: true, force: true });
    else for (const name of await readdir(target).catch(() => [] as string[])) await rm(join(target, name), { recursive: true, force: true });
  };
  if (root && !opts.schema && fresh) {
    const template = await ensureTemplate(root, buildTemplateData, log);
    if (template) {
      const lite = await startFromTemplate(template, target).catch((err: unknown) => ({ failed: placeError(err, target) }));
      if (!('failed' in lite)) return lite;
      // The target's disk (full, read-only, not ours), not the template: keep the template for the next.
      if (isPlace(lite.failed)) {
        await undo();
        throw lite.failed;
      }
      log('warn', `database template ${template.dir} did not give a working database (${(lite.failed as Error).message}); discarded, initialising ${target} directly`);
      await discard(template.dir);
      await undo();
    }
  }
  // Owner only (a directory that exists keeps its mode): it holds password hashes and every case.
  await makeDirectory(target, 0o700);
  // An existing directory starts with the trimmed PostGIS bundle when the template cache has it.
  const template = root ? await findTemplate(root) : null;
  const { PGlite } = await pglite();
  try {
    return await PGlite.create(target, { extensions: { postgis: postgisExtension(template?.bundle) } });
  } catch (err) {
    if (fresh) await undo();
    throw placeError(err, target);
  }
}

/**
 * WASI errno numbers of Emscripten's `FS.ErrnoError`, what PGlite throws (not an Error: the CLI
 * printed `tuban: [object Object]`) when the machine refuses a file of its directory.
 */
const WASI_ERRNO: Record<number, [code: string, text: string]> = {
  2: ['EACCES', 'permission denied'],
  19: ['EDQUOT', 'disk quota exceeded'],
  29: ['EIO', 'i/o error'],
  51: ['ENOSPC', 'no space left on device'],
  63: ['EPERM', 'operation not permitted'],
  69: ['EROFS', 'read-only file system'],
};
const PLACE_CODES = new Set(['EACCES', 'EDQUOT', 'EIO', 'ENOSPC', 'EPERM', 'EROFS']);
const isPlace = (err: unknown) => err instanceof Error && PLACE_CODES.has(String((err as NodeJS.ErrnoException).code));

/** PGlite's ErrnoError as a Node error naming the directory (code ENOSPC, …); anything else as it is. */
function placeError(err: unknown, target: string): unknown {
  if (err instanceof Error || err === null || typeof err !== 'object') return err;
  const errno = (err as { errno?: unknown }).errno;
  const known = typeof errno === 'number' ? WASI_ERRNO[errno] : undefined;
  const e = new Error(
    `${target}: ${known ? `${known[0]}: ${known[1]}` : `file system error ${String(errno)}`}: the embedded database could not be written there`,
  ) as NodeJS.ErrnoException;
  if (known) e.code = known[0];
  e.path = target;
  return e;
}

async function startFromTemplate(template: TemplateEntry, target: string): Promise<PGlite> {
  await copyTemplateData(template, target);
  const { PGlite } = await pglite();
  const lite = await PGlite.create(target, { extensions: { postgis: postgisExtension(template.bundle) } });
  try {
    const r = await lite.query<{ postgis: number; version: number | null }>(
      `SELECT (SELECT count(*)::int FROM pg_extension WHERE extname = 'postgis') AS postgis,
              (SELECT max(version) FROM public.schema_migrations) AS version`,
    );
    const { postgis, version } = r.rows[0];
    if (postgis !== 1 || version !== templateMigrationVersion()) {
      throw new Error(`the copy has PostGIS ${postgis ? 'present' : 'missing'} and migration version ${version}, expected ${templateMigrationVersion()}`);
    }
    return lite;
  } catch (err) {
    await lite.close().catch(() => undefined);
    throw err;
  }
}

/** Build a template's data directory: initdb, PostGIS, migrations, then a checkpoint so the copy starts without WAL replay. */
async function buildTemplateData(dataDir: string, bundle: string): Promise<void> {
  const { PGlite } = await pglite();
  const db = pgliteDatabase(await PGlite.create(dataDir, { extensions: { postgis: postgisExtension(bundle) } }), null);
  try {
    await ensurePostgis(db);
    await migrate(db);
    await db.query('CHECKPOINT');
  } finally {
    await db.close();
  }
}

export function pgliteDatabase(lite: PGlite, lock: DirectoryLock | null): Database {
  let closed = false;
  return {
    kind: 'pglite',
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const r = await lite.query<R>(text, params);
      return { rows: r.rows };
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return lite.transaction(async (tx) =>
        fn({
          async query<R>(text: string, params?: unknown[]) {
            const r = await tx.query<R>(text, params);
            return { rows: r.rows };
          },
        }),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await lite.close();
      } finally {
        await lock?.release();
      }
    },
  };
}

async function openServer(url: string, opts: OpenOptions): Promise<Database> {
  // The schema goes on the search_path as a startup option: the server applies it before the
  // first query of every connection, with no extra round trip racing the caller's query.
  const options = opts.schema ? `-c search_path=${quoteIdent(opts.schema)},public` : undefined;
  // Loaded here: an embedded run never needs the server client.
  const { default: pgModule } = await import('pg');
  const max = 8;
  const pool = new pgModule.Pool({ connectionString: url, max, ...(options ? { options } : {}) });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // The backends of this pool's connections: how the health check tells this process's sessions
  // from other applications' (and other tuban processes') in pg_stat_activity.
  const pids = new Set<number>();
  const pidOf = (client: pg.PoolClient) => (client as unknown as { processID: number | null }).processID;
  pool.on('connect', (client) => {
    const pid = pidOf(client);
    if (pid !== null) pids.add(pid);
  });
  pool.on('remove', (client) => {
    const pid = pidOf(client);
    if (pid !== null) pids.delete(pid);
  });
  let closed = false;
  const run = async <R>(q: Queryable | pg.Pool | pg.PoolClient, text: string, params?: unknown[]): Promise<QueryResult<R>> => {
    try {
      const r = await (q as pg.Pool).query(text, params as unknown[]);
      return { rows: r.rows as R[] };
    } catch (err) {
      throw mapError(err);
    }
  };
  return {
    kind: 'postgres',
    query: <R>(text: string, params?: unknown[]) => run<R>(pool, text, params),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw mapError(err);
      }
      // A checked-out client is not covered by the pool's 'error' listener: without its own, a
      // backend killed mid-transaction (pg_terminate_backend, failover) emits an unhandled 'error'
      // and takes the whole worker down. Remember it instead, and discard the client below.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken ??= err;
      };
      client.on('error', onError);
      try {
        await run(client, 'BEGIN');
        const out = await fn({ query: <R>(text: string, params?: unknown[]) => run<R>(client, text, params) });
        await run(client, 'COMMIT');
        return out;
      } catch (err) {
        // The connection's own error says why better than "client is not queryable".
        const mapped = mapError(broken ?? err);
        // A connection-level failure: discard the client instead of returning it to the pool.
        if (mapped instanceof TubanError && mapped.code === 'DB.TRANSIENT') broken ??= mapped;
        if (!broken) await client.query('ROLLBACK').catch(() => {});
        throw mapped;
      } finally {
        // A broken client keeps our listener: it may still emit while the pool destroys it.
        if (!broken) client.off('error', onError);
        client.release(broken ?? false);
      }
    },
    connections: () => ({ max, open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, pids: [...pids] }),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
