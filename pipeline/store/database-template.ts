/**
 * A ready embedded database, built once and copied into every fresh directory.
 *
 * Starting PGlite on an empty directory runs initdb, and `CREATE EXTENSION postgis` then executes
 * 7 MB of SQL: together 13-20 s on the 2-core machine (initdb + start 9.6-11.6 s, PostGIS 7.9-9.1 s,
 * migrations 0.2 s). A data directory holding all of that is 63 MB in ~1000 files; copying it takes
 * 0.06-0.5 s, and PGlite starts on the copy like on any existing directory. (Loading a
 * `dumpDataDir()` tarball through `loadDataDir` was measured too: ~1 s slower than the copy.)
 *
 * The template lives in a cache directory (`templateCacheRoot`), one entry per key: the PGlite and
 * pglite-postgis versions and the migrations' full text, so a dependency upgrade or a new migration
 * simply builds a new entry. An entry is built under a temporary name and renamed into place when
 * complete, so no one ever sees half of one; the build runs under `<entry>.lock` (the directory
 * lock), so two processes starting at once build it once. An entry that is there but does not
 * check out (files missing, wrong key) is removed and rebuilt, with a warning.
 *
 * Layout of an entry `<root>/db-template/<key>/`: `data/` (the PGlite data directory: PostGIS
 * created, migrations applied, checkpointed), `postgis.tar.gz` (the trimmed extension bundle,
 * `postgis-bundle.ts`), `template.json` (key and provenance, written last).
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { copyFile, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { config } from '../config.js';
import { makeDirectory } from '../make-directory.js';
import { packageVersionFrom } from '../package-version.js';
import { acquireDirectoryLock } from './directory-lock.js';
import { MIGRATIONS } from './migrations.js';
import { writeTrimmedPostgisBundle } from './postgis-bundle.js';

/** Bump when the entry layout or the way it is built changes. */
const FORMAT = 1;

export type TemplateLog = (level: 'info' | 'warn', message: string) => void;

export interface TemplateEntry {
  /** The entry directory. */
  dir: string;
  /** The PGlite data directory to copy. */
  data: string;
  /** The trimmed PostGIS bundle to start PGlite with. */
  bundle: string;
}

/** Builds the data directory of a new entry, starting PGlite with `bundle`. */
export type BuildData = (dataDir: string, bundle: string) => Promise<void>;

/**
 * Where templates are cached: `TUBAN_CACHE_DIR`, else `$XDG_CACHE_HOME/tuban`, else
 * `~/.cache/tuban`; null when `TUBAN_DB_TEMPLATE=off` (every fresh directory then runs initdb).
 */
export function templateCacheRoot(): string | null {
  const c = config();
  return c.dbTemplate ? c.cacheDir : null;
}

/** The key of the current template: what a data directory built now depends on. */
export function templateKey(): string {
  if (currentKey) return currentKey;
  const h = createHash('sha256');
  h.update(JSON.stringify({ format: FORMAT, pglite: packageVersion('@electric-sql/pglite'), postgis: packageVersion('@electric-sql/pglite-postgis'), migrations: MIGRATIONS }));
  currentKey = h.digest('hex').slice(0, 16);
  return currentKey;
}
let currentKey: string | undefined;

/** The latest migration version: what a database made from the template is at. */
export function templateMigrationVersion(): number {
  return Math.max(0, ...MIGRATIONS.map((m) => m.version));
}

/** An installed package's version: its entry resolved, then up to its package.json (its `exports` may not list it). */
const packageVersion = (name: string): string => packageVersionFrom(dirname(createRequire(import.meta.url).resolve(name)), name, 5);

function entryDir(root: string, key: string): string {
  return join(root, 'db-template', key);
}

/** The current entry if it exists and checks out; null otherwise (nothing is built or removed). */
export async function findTemplate(root: string, key = templateKey()): Promise<TemplateEntry | null> {
  const dir = entryDir(root, key);
  return (await checkEntry(dir, key)) === 'ok' ? entry(dir) : null;
}

function entry(dir: string): TemplateEntry {
  return { dir, data: join(dir, 'data'), bundle: join(dir, 'postgis.tar.gz') };
}

async function checkEntry(dir: string, key: string): Promise<'ok' | 'missing' | string> {
  if (!existsSync(dir)) return 'missing';
  try {
    const meta = JSON.parse(await readFile(join(dir, 'template.json'), 'utf8')) as { key?: string };
    if (meta.key !== key) return `its template.json names key ${meta.key}, not ${key}`;
    for (const f of ['data/PG_VERSION', 'data/global/pg_control', 'postgis.tar.gz']) {
      if (!(await stat(join(dir, f)).catch(() => null))?.size) return `${f} is missing or empty`;
    }
    return 'ok';
  } catch (err) {
    return `template.json is unreadable (${(err as Error).message})`;
  }
}

/**
 * The current entry, built first if it is missing or broken. Returns null (after a warning) when
 * it cannot be had: the cache directory not writable, the build failing; the caller then falls
 * back to initdb in the target directory.
 */
export async function ensureTemplate(root: string, build: BuildData, log: TemplateLog, key = templateKey()): Promise<TemplateEntry | null> {
  const dir = entryDir(root, key);
  if ((await checkEntry(dir, key)) === 'ok') return entry(dir);
  try {
    await makeDirectory(dirname(dir));
    // One builder at a time; the others wait and find it built. 10 minutes covers a build on a busy
    // machine; a builder that died is taken over by the lock itself.
    const lock = await acquireDirectoryLock(dir, {
      waitSeconds: 600,
      command: `tuban: building the database template ${key}`,
      onWait: () => log('info', `waiting for another process building the database template ${dir}`),
    });
    try {
      const state = await checkEntry(dir, key);
      if (state === 'ok') return entry(dir);
      if (state !== 'missing') {
        log('warn', `database template ${dir} is unusable (${state}); rebuilding it`);
        await discard(dir);
      }
      await removeLeftovers(dirname(dir), key);
      log('info', `building the embedded database template in ${dir} (once per PGlite/PostGIS/migration version, ~15 s)`);
      const t0 = performance.now();
      const tmp = `${dir}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
      try {
        await makeDirectory(tmp);
        const bundle = join(tmp, 'postgis.tar.gz');
        await writeTrimmedPostgisBundle(bundle);
        await build(join(tmp, 'data'), bundle);
        await writeFile(join(tmp, 'template.json'), JSON.stringify({ key, format: FORMAT, migration: templateMigrationVersion(), builtAt: new Date().toISOString() }, null, 2) + '\n');
        // Atomic: the entry appears complete or not at all.
        await rename(tmp, dir);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      log('info', `database template built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await removeOtherEntries(root, key);
      return entry(dir);
    } finally {
      await lock.release();
    }
  } catch (err) {
    log('warn', `no database template (${(err as Error).message}); initialising the database directly`);
    return null;
  }
}

/** Remove a broken entry: renamed aside first, so a reader never sees it half removed. */
export async function discard(dir: string): Promise<void> {
  const aside = `${dir}.stale-${process.pid}-${randomUUID().slice(0, 8)}`;
  await rename(dir, aside).catch(() => undefined);
  await rm(aside, { recursive: true, force: true });
}

/** Half-built or half-removed copies of this key: with its lock held, no live process owns them. */
async function removeLeftovers(parent: string, key: string): Promise<void> {
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (name.startsWith(`${key}.tmp-`) || name.startsWith(`${key}.stale-`)) await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Entries of older keys (a dependency upgrade, a new migration) are dead weight: 70 MB each. */
async function removeOtherEntries(root: string, key: string): Promise<void> {
  const parent = join(root, 'db-template');
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    // Only finished entries of other keys; temporary and lock files belong to live builders.
    if (name !== key && /^[0-9a-f]{16}$/.test(name)) await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Where a copy into an existing directory is staged, inside it: a directory holding it and no
 * PG_VERSION is a copy not finished (a crash), never a database (`settleUnfinishedCopy`).
 */
export const STAGING = '.tuban-template-copy';
/** Moved out of staging last: a directory that has it and no staging holds the whole copy. */
const LAST = 'PG_VERSION';

/**
 * Copy the template's data directory to `target` (which must not exist or be empty), so that a
 * crash mid-copy leaves no half database for the next start to trip on. A target that does not exist
 * is copied into a sibling first and renamed into place when complete. One that exists (an empty
 * directory the user made, perhaps a mount point) is never removed or replaced: the copy is staged
 * inside it and its entries moved up, `PG_VERSION` last, then the staging removed. Files are cloned
 * where the file system can (copy on write).
 */
export async function copyTemplateData(template: TemplateEntry, target: string): Promise<void> {
  if (await stat(target).then((st) => st.isDirectory(), () => false)) return copyInto(template, target);
  const tmp = `${target.replace(/[\\/]+$/, '')}.copying`;
  // The caller holds the target's directory lock: a leftover sibling is from a crashed copy.
  await rm(tmp, { recursive: true, force: true });
  try {
    // Owner only, as initdb makes a PostgreSQL data directory: it holds password hashes and every case.
    await makeDirectory(tmp, 0o700);
    await copyTree(template.data, tmp);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Copy into an existing directory, fresh (`isFreshDirectory`, after `settleUnfinishedCopy`). */
async function copyInto(template: TemplateEntry, target: string): Promise<void> {
  const staging = join(target, STAGING);
  await makeDirectory(staging, 0o700);
  await copyTree(template.data, staging);
  const names = (await readdir(staging)).sort((a, b) => Number(a === LAST) - Number(b === LAST));
  for (const name of names) await rename(join(staging, name), join(target, name));
  await rm(staging, { recursive: true, force: true });
}

async function copyTree(src: string, dst: string): Promise<void> {
  await makeDirectory(dst);
  const entries = await readdir(src, { withFileTypes: true });
  await Promise.all(
    entries.map((e) => (e.isDirectory() ? copyTree(join(src, e.name), join(dst, e.name)) : copyFile(join(src, e.name), join(dst, e.name), constants.COPYFILE_FICLONE))),
  );
}

/**
 * What a copy into `dir` killed half way left (`copyInto`), settled before anything looks at `dir`:
 * without PG_VERSION (moved up last) the copy never finished and the directory is emptied, the
 * staging folder last (so a crash meanwhile still leaves it marked); with it, the copy finished but
 * for removing the staging folder, which goes. A database opened without the template (initdb beside
 * a leftover staging folder) has PG_VERSION too: it is never emptied, the next start with the
 * template included.
 */
export async function settleUnfinishedCopy(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  if (!names.includes(STAGING)) return;
  if (!names.includes(LAST)) {
    for (const name of names.filter((n) => n !== STAGING)) await rm(join(dir, name), { recursive: true, force: true });
  }
  await rm(join(dir, STAGING), { recursive: true, force: true });
}

/**
 * True when `dir` does not exist or is an empty directory: a database would be initialised there. A
 * path that cannot be looked at (EIO on a flaky mount, EACCES, ENOTDIR) is not fresh: a failed start
 * there must not take back (remove) what it could not see.
 */
export async function isFreshDirectory(dir: string): Promise<boolean> {
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : 'unknown'));
  if (st === null) return true;
  if (st === 'unknown') return false;
  return st.isDirectory() && (await readdir(dir)).length === 0;
}
