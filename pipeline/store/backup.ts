/**
 * A logical backup of Tuban's database, and its restore: every table of the schema as gzipped
 * NDJSON (one row per line, geometries as hex EWKB) read in one transaction, so the copy is one
 * snapshot even while `tuban serve` works (through its socket, `shared-database.ts`). Logical, not a
 * copy of PGlite's files, so it restores into either database: the embedded directory a backup came
 * from, a fresh one, or a PostgreSQL server when a city outgrows the embedded default.
 *
 * The restore migrates an empty database to the backup's schema version, then in one transaction
 * inserts the rows table by table (parents before children, each table's own columns only, so a
 * later migration's defaults fill what an older backup lacks) and moves the id sequences past the
 * restored ids, and then migrates to the current version: a failed restore leaves no rows.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { TubanError } from '../../schemas/errors.js';
import { MIGRATIONS, migrate, reapplyDataFixes } from './migrations.js';
import type { Database, Queryable } from './queryable.js';

export const BACKUP_FORMAT = 'tuban-backup';

export interface BackupTable {
  name: string;
  columns: string[];
  rows: number;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  formatVersion: 1;
  /** The highest migration applied to the database the backup was read from. */
  schemaVersion: number;
  createdAt: string;
  database: 'pglite' | 'postgres';
  /** In restore order: a table after the tables its foreign keys point to. */
  tables: BackupTable[];
}

/**
 * Not backed up: the migrations' own record (the restore migrates), the sign-in throttle's
 * failures (a window of minutes, nothing to keep) and the database's id (database-identity.ts: the
 * database restored into keeps its own, which its migrations wrote).
 */
const SKIPPED = new Set(['schema_migrations', 'sign_in_failures', 'database_identity']);

const ROWS_PER_FETCH = 2000;
const ROWS_PER_INSERT = 1000;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The schema's own tables (not an extension's, such as PostGIS's spatial_ref_sys), parents first. */
async function tablesInOrder(q: Queryable): Promise<string[]> {
  const tables = (
    await q.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relkind = 'r'
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
       ORDER BY c.relname`,
    )
  ).rows.map((r) => r.name);
  const parents = await q.query<{ child: string; parent: string }>(
    `SELECT a.relname AS child, b.relname AS parent FROM pg_constraint k
     JOIN pg_class a ON a.oid = k.conrelid JOIN pg_class b ON b.oid = k.confrelid JOIN pg_namespace n ON n.oid = a.relnamespace
     WHERE k.contype = 'f' AND n.nspname = current_schema()`,
  );
  const ordered: string[] = [];
  const placed = new Set<string>();
  const visit = (t: string, path: Set<string>) => {
    if (placed.has(t) || path.has(t)) return;
    path.add(t);
    for (const p of parents.rows) if (p.child === t && p.parent !== t) visit(p.parent, path);
    placed.add(t);
    ordered.push(t);
  };
  for (const t of tables) visit(t, new Set());
  return ordered.filter((t) => !SKIPPED.has(t));
}

async function columnsOf(q: Queryable, table: string): Promise<{ name: string; geometry: boolean }[]> {
  const r = await q.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table],
  );
  return r.rows.map((c) => ({ name: c.name, geometry: c.type.startsWith('geometry') }));
}

async function schemaVersion(q: Queryable): Promise<number> {
  const r = await q.query<{ v: number | null }>('SELECT max(version)::int AS v FROM schema_migrations');
  return r.rows[0].v ?? 0;
}

/** Writes every table of `db` under `dir/tables/` (which must exist) and returns the manifest. */
export async function dumpDatabase(db: Database, dir: string): Promise<BackupManifest> {
  return db.transaction(async (tx) => {
    // One snapshot for every table (PostgreSQL's default READ COMMITTED would give each statement its own).
    if (db.kind === 'postgres') await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const version = await schemaVersion(tx);
    const tables: BackupTable[] = [];
    for (const name of await tablesInOrder(tx)) {
      const cols = await columnsOf(tx, name);
      // Geometries as hex EWKB, which geometry's input reads back exactly (SRID included).
      const geometry = cols.filter((c) => c.geometry);
      const row = geometry.length
        ? `to_jsonb(t) || jsonb_build_object(${geometry.map((c) => `'${c.name}', encode(ST_AsEWKB(t.${ident(c.name)}), 'hex')`).join(', ')})`
        : 'to_jsonb(t)';
      await tx.query(`DECLARE tuban_backup NO SCROLL CURSOR FOR SELECT (${row})::text AS line FROM ${ident(name)} t`);
      let rows = 0;
      async function* lines() {
        for (;;) {
          const part = await tx.query<{ line: string }>(`FETCH ${ROWS_PER_FETCH} FROM tuban_backup`);
          if (part.rows.length === 0) return;
          rows += part.rows.length;
          yield part.rows.map((r) => `${r.line}\n`).join('');
        }
      }
      await pipeline(Readable.from(lines()), createGzip(), createWriteStream(join(dir, 'tables', `${name}.ndjson.gz`)));
      await tx.query('CLOSE tuban_backup');
      tables.push({ name, columns: cols.map((c) => c.name), rows });
    }
    return { format: BACKUP_FORMAT, formatVersion: 1, schemaVersion: version, createdAt: new Date().toISOString(), database: db.kind, tables };
  });
}

/** The tables of the manifest that hold rows in `db` already (a restore goes into an empty database only). */
async function occupied(q: Queryable, tables: readonly BackupTable[]): Promise<string[]> {
  const out: string[] = [];
  for (const t of tables) {
    const r = await q.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${ident(t.name)}) AS any`).catch(() => null);
    if (r?.rows[0].any) out.push(t.name);
  }
  return out;
}

const damaged = (dir: string, message: string) => new TubanError('BACKUP.INVALID', `${message}: the backup is damaged or cut short`, dir);

/**
 * The non-empty lines of one of the backup's gzipped NDJSON files (`tables/<name>.ndjson.gz`): a file
 * missing, cut short (a copy to another disk interrupted) or not gzip is BACKUP.INVALID naming it, not
 * a zlib error with a stack, or an unhandled stream error that ends the process.
 */
export async function* backupLines(dir: string, file: string): AsyncGenerator<string> {
  const gunzip = createGunzip();
  const input = createReadStream(join(dir, file));
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    for await (const line of createInterface({ input: gunzip, crlfDelay: Infinity })) if (line !== '') yield line;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw damaged(dir, `${file} is missing`);
    throw damaged(dir, `${file}: ${(err as Error).message}`);
  }
}

/**
 * Reads the whole backup before a restore touches any database: the manifest's shape, and each table
 * file whole, a JSON object per line, as many rows as the manifest says. A backup cut short is then
 * refused before a new embedded directory is made or a PostgreSQL database migrated.
 */
export async function verifyBackup(dir: string, manifest: BackupManifest): Promise<void> {
  const ok =
    Number.isInteger(manifest.schemaVersion) &&
    manifest.tables.every(
      (t) => t && typeof t.name === 'string' && /^[a-z_][a-z0-9_]*$/.test(t.name) && Array.isArray(t.columns) && t.columns.every((c) => typeof c === 'string') && Number.isInteger(t.rows) && t.rows >= 0,
    );
  if (!ok) throw new TubanError('BACKUP.INVALID', 'manifest.json does not describe its tables as tuban backup writes them (name, columns, rows): the backup is damaged', dir);
  for (const t of manifest.tables) {
    const file = `tables/${t.name}.ndjson.gz`;
    let rows = 0;
    for await (const line of backupLines(dir, file)) {
      rows++;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        row = null;
      }
      if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new TubanError('BACKUP.INVALID', `${file}: line ${rows} is not a JSON object: the backup is damaged`, dir);
    }
    if (rows !== t.rows) throw new TubanError('BACKUP.INVALID', `${file} holds ${rows} rows, the manifest says ${t.rows}: the backup is damaged`, dir);
  }
}

/** Restores the backup in `dir` (manifest already read) into `db`, which must hold no Tuban data. */
export async function restoreDatabase(db: Database, dir: string, manifest: BackupManifest): Promise<void> {
  const latest = Math.max(...MIGRATIONS.map((m) => m.version));
  if (manifest.schemaVersion > latest) {
    throw new TubanError('BACKUP.INVALID', `the backup is of schema version ${manifest.schemaVersion}, newer than this Tuban's ${latest}: restore it with the Tuban that made it, or a later one`, dir);
  }
  // A fresh embedded database is a copy of the current template (the latest version): the older
  // backup's rows then go in with their own columns, and a later migration's defaults fill the rest.
  await migrate(db, MIGRATIONS.filter((m) => m.version <= manifest.schemaVersion));
  const full = await occupied(db, manifest.tables);
  if (full.length) throw new TubanError('BACKUP.INVALID', `the database to restore into is not empty (${full.join(', ')} hold rows): give a new --db`, dir);
  await db.transaction(async (tx) => {
    for (const t of manifest.tables) {
      const present = new Set((await columnsOf(tx, t.name)).map((c) => c.name));
      const missing = t.columns.filter((c) => !present.has(c));
      if (missing.length) throw new TubanError('BACKUP.INVALID', `table ${t.name} has no column ${missing.join(', ')} here: restore with the Tuban that made the backup`, dir);
      const cols = t.columns.map(ident).join(', ');
      const insert = `INSERT INTO ${ident(t.name)} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${ident(t.name)}, $1::jsonb)`;
      let batch: string[] = [];
      let rows = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        await tx.query(insert, [`[${batch.join(',')}]`]);
        rows += batch.length;
        batch = [];
      };
      for await (const line of backupLines(dir, `tables/${t.name}.ndjson.gz`)) {
        batch.push(line);
        if (batch.length >= ROWS_PER_INSERT) await flush();
      }
      await flush();
      if (rows !== t.rows) throw new TubanError('BACKUP.INVALID', `tables/${t.name}.ndjson.gz holds ${rows} rows, the manifest says ${t.rows}: the backup is damaged`, dir);
      // Ids given by sequences (bigserial) continue after the restored ones.
      const serial = await tx.query<{ col: string; seq: string }>(
        `SELECT a.attname AS col, pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), a.attname) AS seq FROM pg_attribute a
         WHERE a.attrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
        [t.name],
      );
      for (const s of serial.rows) {
        if (s.seq) await tx.query(`SELECT setval($1::regclass, coalesce((SELECT max(${ident(s.col)}) FROM ${ident(t.name)}), 0) + 1, false)`, [s.seq]);
      }
    }
    // Rows of an older schema put into a database already past it: the later migrations' data steps
    // (tiles.info's storedAt into tiles.stored_at) had nothing to move when they ran.
    await reapplyDataFixes(tx, manifest.schemaVersion);
  });
  await migrate(db);
}
