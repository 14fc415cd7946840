/**
 * `tuban backup [--out DIR]` and `tuban restore --from DIR`: the database as one logical snapshot
 * (`pipeline/store/backup.ts`) with the evidence files its rows name, and back. A backup is written
 * beside its final name and renamed when whole, so a folder that exists is a whole backup.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { config } from '../pipeline/config.js';
import { makeDirectory } from '../pipeline/make-directory.js';
import { atPath } from '../pipeline/place-error.js';
import { BACKUP_FORMAT, backupLines, dumpDatabase, restoreDatabase, verifyBackup, type BackupManifest } from '../pipeline/store/backup.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { TubanError } from '../schemas/errors.js';
import { bool, one, UsageError, type Flags } from './args.js';
import { lockOptionsFromFlags } from './db-lock.js';
import { dbTarget, existingDbTarget } from './db-target.js';

/** `<data>/evidence/<aa>/<sha256>`, as the evidence store keeps them. */
const evidenceFile = (root: string, sha256: string) => join(root, 'evidence', sha256.slice(0, 2), sha256);

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export async function backupCommand(flags: Flags): Promise<number> {
  const out = resolve(one(flags, 'out') ?? join('backups', stamp(new Date())));
  if (existsSync(out)) throw new UsageError(`--out ${out} exists: a backup goes into a new folder`, 'backup');
  const dataDir = resolve(one(flags, 'data', config().dataDir)!);
  const partial = `${out}.partial-${process.pid}`;
  const db = await openDatabase(existingDbTarget(flags, 'backup'), { lock: lockOptionsFromFlags(flags) });
  try {
    // Owner only: the backup holds the users' password hashes and every case, like the database.
    await makeDirectory(partial, 0o700);
    await makeDirectory(join(partial, 'tables'));
    const manifest = await dumpDatabase(db, partial);
    // The evidence rows of the snapshot name their files; each is copied and checked against its hash.
    const evidence = manifest.tables.find((t) => t.name === 'evidence');
    const hashes = evidence ? await evidenceHashes(partial) : [];
    // --no-evidence: the database alone, asked for by name (a host without a copy of --data, the
    // evidence disk lost): said in the manifest and the summary, so no one takes it for a whole backup.
    if (bool(flags, 'no-evidence')) {
      await writeFile(join(partial, 'manifest.json'), JSON.stringify({ ...manifest, evidence: { files: 0, missing: [], notCopied: hashes.length } }, null, 1) + '\n');
      await rename(partial, out);
      process.stdout.write(`backup ${out}: schema version ${manifest.schemaVersion}, ${manifest.tables.length} tables, ${rowCount(manifest)} rows; database only (--no-evidence): the ${hashes.length} evidence files it names were not copied\n`);
      return 0;
    }
    const missing: string[] = [];
    for (const sha of hashes) {
      const from = evidenceFile(dataDir, sha);
      if (!existsSync(from)) {
        missing.push(sha);
        continue;
      }
      const to = evidenceFile(partial, sha);
      await makeDirectory(dirname(to));
      await copyFile(from, to);
      if (createHash('sha256').update(await readFile(to)).digest('hex') !== sha) throw new Error(`${from}: its content no longer matches its hash ${sha}`);
    }
    // Not one of them there: the wrong folder (the default .tuban/data, not tuban serve's --data),
    // and a backup without a single photo that said so in a warning and exited 0 (cron saw success).
    if (hashes.length > 0 && missing.length === hashes.length) {
      throw new UsageError(
        `--data ${dataDir} holds none of the ${hashes.length} evidence files the database names (such as evidence/${hashes[0].slice(0, 2)}/${hashes[0]}): give tuban serve's --data (TUBAN_DATA), or --no-evidence for the database alone; nothing was written`,
        'backup',
      );
    }
    await writeFile(join(partial, 'manifest.json'), JSON.stringify({ ...manifest, evidence: { files: hashes.length - missing.length, missing } }, null, 1) + '\n');
    await rename(partial, out);
    process.stdout.write(
      `backup ${out}: schema version ${manifest.schemaVersion}, ${manifest.tables.length} tables, ${rowCount(manifest)} rows, ${hashes.length - missing.length} evidence files\n`,
    );
    if (missing.length === 0) return 0;
    // Written (the database is whole), but a restore of it lacks these files: not a success to a script.
    process.stderr.write(
      `tuban backup: ${missing.length} evidence file(s) named in the database are not in ${dataDir}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''} ` +
        `(all in ${join(out, 'manifest.json')}, evidence.missing); the backup lacks them\n`,
    );
    return 1;
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw atPath(err, out, '; nothing was written (the partial backup is removed)');
  } finally {
    await db.close();
  }
}

const rowCount = (m: BackupManifest) => m.tables.reduce((a, t) => a + t.rows, 0);

/** The distinct sha256 of the backup's evidence rows. */
async function evidenceHashes(dir: string): Promise<string[]> {
  const out = new Set<string>();
  for await (const line of backupLines(dir, 'tables/evidence.ndjson.gz')) out.add((JSON.parse(line) as { sha256: string }).sha256);
  return [...out].sort();
}

export async function restoreCommand(flags: Flags): Promise<number> {
  const fromFlag = one(flags, 'from');
  if (!fromFlag) throw new UsageError('--from <dir> is required: the folder tuban backup wrote', 'restore');
  const from = resolve(fromFlag);
  const manifest = await readManifest(from);
  const dataDir = resolve(one(flags, 'data', config().dataDir)!);
  // The whole backup is read before any database is opened (and a new one made): a table file cut
  // short, missing or not NDJSON is refused here, naming it.
  await verifyBackup(from, manifest);
  // Every evidence file is checked against its hash before anything is restored: a damaged photo is
  // a damaged backup, like a table whose row count is off. One the manifest counts as copied that is
  // not there is one too (a copy of the backup cut short); those it lists missing, or a --no-evidence
  // backup's, are not in it by design. (A backup older than the manifest's evidence entry: what is there.)
  const said = (manifest as { evidence?: { missing?: string[]; notCopied?: number } }).evidence;
  const named = manifest.tables.some((t) => t.name === 'evidence') ? await evidenceHashes(from) : [];
  if (said && !said.notCopied) {
    const notInIt = new Set(said.missing ?? []);
    const lost = named.filter((sha) => !notInIt.has(sha) && !existsSync(evidenceFile(from, sha)));
    if (lost.length) {
      throw new TubanError(
        'BACKUP.INVALID',
        `evidence/${lost[0].slice(0, 2)}/${lost[0]} is missing${lost.length > 1 ? ` (and ${lost.length - 1} more evidence files)` : ''}, though manifest.json counts it as copied: the backup is damaged or cut short`,
        from,
      );
    }
  }
  const hashes = named.filter((sha) => existsSync(evidenceFile(from, sha)));
  for (const sha of hashes) {
    if (createHash('sha256').update(await readFile(evidenceFile(from, sha))).digest('hex') !== sha) {
      throw new TubanError('BACKUP.INVALID', `evidence/${sha.slice(0, 2)}/${sha}: its content does not match its hash; the backup is damaged`, from);
    }
  }
  // Never through a running tuban serve (DB.LOCKED, naming it): rows restored under a live server's
  // feet would meet its cached users and sessions; a restore goes into a database nobody serves yet.
  const db = await openDatabase(dbTarget(flags), { lock: lockOptionsFromFlags(flags), viaServer: false });
  try {
    await restoreDatabase(db, from, manifest);
    let files = 0;
    for (const sha of hashes) {
      const to = evidenceFile(dataDir, sha);
      // One already there is kept only if it is the file (a --data whose disk failed holds damaged ones).
      if (existsSync(to) && createHash('sha256').update(await readFile(to)).digest('hex') === sha) continue;
      // A --data made here is owner only, as tuban serve makes it.
      await makeDirectory(dirname(to), 0o700);
      // Beside, then renamed: a copy cut short (a full disk) never sits under the file's hash.
      await copyFile(evidenceFile(from, sha), `${to}.partial-${process.pid}`);
      await rename(`${to}.partial-${process.pid}`, to);
      files++;
    }
    const rows = manifest.tables.reduce((a, t) => a + t.rows, 0);
    // A database-only backup (--no-evidence): its cases are served with their files missing, said here.
    const notCopied = (manifest as { evidence?: { notCopied?: number } }).evidence?.notCopied;
    const alone = notCopied ? `; the backup was made --no-evidence: the ${notCopied} evidence files its rows name are not in it` : '';
    process.stdout.write(`restored ${from}: ${manifest.tables.length} tables, ${rows} rows (schema version ${manifest.schemaVersion}, made ${manifest.createdAt}), ${files} evidence files into ${dataDir}${alone}\n`);
    return 0;
  } finally {
    await db.close();
  }
}

async function readManifest(dir: string): Promise<BackupManifest> {
  const path = join(dir, 'manifest.json');
  if (!(await stat(path).catch(() => null))?.isFile()) throw new UsageError(`--from ${dir}: no manifest.json there; give the folder tuban backup wrote`, 'restore');
  let m: BackupManifest;
  try {
    m = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new TubanError('BACKUP.INVALID', `manifest.json is not valid JSON (${(err as Error).message}): the backup is damaged or cut short`, dir);
  }
  if (!m || typeof m !== 'object') throw new UsageError(`--from ${dir}: manifest.json is not a Tuban backup's`, 'restore');
  if (m.format !== BACKUP_FORMAT || m.formatVersion !== 1 || !Array.isArray(m.tables)) throw new UsageError(`--from ${dir}: manifest.json is not a Tuban backup's (format ${String(m.format)})`, 'restore');
  return m;
}
