/**
 * `tuban backup` and `tuban restore` (the built CLI) over an embedded database holding a worked
 * month: cases with verdicts, evidence photos, a handover, the append-only audit log. The restored
 * database holds every table's rows exactly, the evidence files come back, ids continue after the
 * restored ones, and a database that is not empty is refused untouched. The same backup also
 * restores into PostgreSQL where the test servers run (a city moving off the embedded default).
 * Needs `npm run build` first (npm test does it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_FORMAT, dumpDatabase, restoreDatabase, type BackupManifest } from '../pipeline/store/backup.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, jpegWithExif, polygon, square, testApp, writeBatch } from '../server/testing/fixtures.js';
import { CLI, runCli } from './testing/run-cli.js';

let dir: string;
let dataDir: string;
let sha256 = '';
const A = '370102-202610-0001';
const B = '370102-202610-0002';

/** Every row of every table the backup names, as sorted JSON text (geometries as EWKB hex). */
async function contents(db: Database, tables: readonly string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    const geom = (await db.query<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND format_type(atttypid, atttypmod) LIKE 'geometry%'`, [t])).rows.map((r) => r.name);
    const row = geom.length ? `to_jsonb(t) || jsonb_build_object(${geom.map((g) => `'${g}', encode(ST_AsEWKB(t.${g}), 'hex')`).join(', ')})` : 'to_jsonb(t)';
    out[t] = (await db.query<{ r: string }>(`SELECT (${row})::text AS r FROM ${t} t`)).rows.map((x) => x.r).sort();
  }
  return out;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-backup-'));
  const db = await openDatabase(join(dir, 'db'));
  try {
    await migrate(db);
    await writeBatch(db, 'b1', '2026-10', [polygon(A, '2026-10', square(117, 36.6)), polygon(B, '2026-10', square(117.01, 36.6))], '2026-11-02');
    await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['chief', 'lead']]);
    const t = await testApp(db);
    dataDir = t.dataDir;
    const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
    const post = async (u: string, url: string, payload: unknown) => {
      const r = await t.app.inject({ method: 'POST', url, headers: await auth(u), payload: payload as object });
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.body}`);
      return r.json();
    };
    await post('nr', `/api/polygons/${A}/accept`, {});
    await post('nr', `/api/polygons/${A}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    await post('chief', `/api/polygons/${A}/escalate`, { reason: '涉公职人员' });
    await post('chief', `/api/polygons/${A}/hand-over`, { to: 'discipline', reference: '移〔2026〕1号' });
    const photo = await t.app.inject({
      method: 'POST',
      url: `/api/polygons/${A}/evidence?name=${encodeURIComponent('现场.jpg')}`,
      headers: { ...(await auth('nr')), 'content-type': 'image/jpeg' },
      payload: jpegWithExif({ taken: '2026:11:05 09:12:30', lat: 36.6005, lon: 117.0005, azimuth: 90 }),
    });
    expect(photo.statusCode, photo.body).toBe(200);
    sha256 = photo.json().result.sha256;
    await t.app.close();
  } finally {
    await db.close();
  }
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tuban backup and tuban restore', () => {
  it('restore gives back every row and evidence file; ids go on after the restored ones; a database not empty is refused', async () => {
    const bk = join(dir, 'bk');
    const b = await runCli(['backup', '--db', join(dir, 'db'), '--data', dataDir, '--out', bk]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^backup .*bk: schema version \d+, \d+ tables, \d+ rows, 1 evidence files\n$/);
    const manifest = JSON.parse(await readFile(join(bk, 'manifest.json'), 'utf8')) as BackupManifest;
    expect(manifest.format).toBe(BACKUP_FORMAT);
    const names = manifest.tables.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['batches', 'polygons', 'cases', 'audit_log', 'evidence', 'handovers', 'users']));
    expect(names.indexOf('cases')).toBeLessThan(names.indexOf('handovers')); // parents first
    expect(names).not.toContain('spatial_ref_sys');
    // A second backup to the same folder is refused; nothing half-written is left beside it.
    expect((await runCli(['backup', '--db', join(dir, 'db'), '--out', bk])).code).toBe(64);

    const r = await runCli(['restore', '--from', bk, '--db', join(dir, 'db2'), '--data', join(dir, 'data2')]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(dir, 'data2', 'evidence', sha256.slice(0, 2), sha256))).toEqual(await readFile(join(dataDir, 'evidence', sha256.slice(0, 2), sha256)));
    // Password hashes, cases and photos: the backup, the new database and the new --data are the owner's only.
    for (const p of [bk, join(dir, 'db2'), join(dir, 'data2')]) expect([p, (await stat(p)).mode & 0o777]).toEqual([p, 0o700]);

    const again = await runCli(['restore', '--from', bk, '--db', join(dir, 'db2'), '--data', join(dir, 'data2')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('BACKUP.INVALID');
    expect(again.stderr).toContain('is not empty');

    const source = await openDatabase(join(dir, 'db'));
    const before = await contents(source, names).finally(() => source.close());
    const restored = await openDatabase(join(dir, 'db2'));
    try {
      expect(await contents(restored, names)).toEqual(before);
      // The restored server works on: a new action's audit row takes the next id.
      const t = await testApp(restored);
      const max = (await restored.query<{ n: number }>('SELECT max(id)::int AS n FROM audit_log')).rows[0].n;
      const r2 = await t.app.inject({ method: 'POST', url: `/api/polygons/${B}/accept`, headers: { authorization: `Bearer ${await t.token('nr')}` } });
      expect(r2.statusCode, r2.body).toBe(200);
      expect((await restored.query<{ id: number }>(`SELECT id::int AS id FROM audit_log WHERE code = $1 AND action = 'accept'`, [B])).rows[0].id).toBe(max + 1);
      await t.app.close();
    } finally {
      await restored.close();
    }
  }, 300_000);

  it('refuses a backup whose evidence file does not match its hash, restoring nothing', async () => {
    const bk = join(dir, 'bk-damaged');
    expect((await runCli(['backup', '--db', join(dir, 'db'), '--data', dataDir, '--out', bk])).code).toBe(0);
    const photo = join(bk, 'evidence', sha256.slice(0, 2), sha256);
    const bytes = await readFile(photo);
    bytes[bytes.length - 3] ^= 0xff;
    await writeFile(photo, bytes);
    const r = await runCli(['restore', '--from', bk, '--db', join(dir, 'db3'), '--data', join(dir, 'data3')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^tuban: BACKUP.INVALID: .*bk-damaged: evidence/${sha256.slice(0, 2)}/${sha256}: its content does not match its hash; the backup is damaged\n$`));
    expect(existsSync(join(dir, 'db3'))).toBe(false);
    expect(existsSync(join(dir, 'data3'))).toBe(false);
  }, 300_000);

  it('replaces an evidence file already in --data whose content does not match its hash (restoring after a disk failure)', async () => {
    const bk = join(dir, 'bk');
    const data = join(dir, 'data-damaged');
    const photo = join(data, 'evidence', sha256.slice(0, 2), sha256);
    await mkdir(join(data, 'evidence', sha256.slice(0, 2)), { recursive: true });
    await writeFile(photo, 'not the photo');
    const r = await runCli(['restore', '--from', bk, '--db', join(dir, 'db-damaged-data'), '--data', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 evidence files into');
    expect(await readFile(photo)).toEqual(await readFile(join(dataDir, 'evidence', sha256.slice(0, 2), sha256)));
  }, 300_000);

  it('refuses a backup cut short or damaged (a table file truncated, missing or not NDJSON, manifest.json cut, an evidence file lost) in one line naming the file, creating nothing', async () => {
    const bk = join(dir, 'bk-cut');
    expect((await runCli(['backup', '--db', join(dir, 'db'), '--data', dataDir, '--out', bk])).code).toBe(0);
    const photo = join('evidence', sha256.slice(0, 2), sha256);
    const damages: [string, (copy: string) => Promise<void>, RegExp][] = [
      ['truncated', async (c) => { const f = join(c, 'tables', 'polygons.ndjson.gz'); const b = await readFile(f); await writeFile(f, b.subarray(0, b.length >> 1)); }, /tables\/polygons\.ndjson\.gz: .*the backup is damaged or cut short/],
      ['missing', (c) => rm(join(c, 'tables', 'users.ndjson.gz')), /tables\/users\.ndjson\.gz is missing: the backup is damaged or cut short/],
      ['not-json', async (c) => { const { gzipSync } = await import('node:zlib'); await writeFile(join(c, 'tables', 'users.ndjson.gz'), gzipSync('{"id": 1, "name": "chi\n')); }, /tables\/users\.ndjson\.gz: line 1 is not a JSON object: the backup is damaged/],
      ['manifest', async (c) => { const f = join(c, 'manifest.json'); const t = await readFile(f, 'utf8'); await writeFile(f, t.slice(0, 300)); }, /manifest\.json is not valid JSON .*: the backup is damaged or cut short/],
      ['evidence', (c) => rm(join(c, photo)), new RegExp(`${photo.replace(/\//g, '\\/')} is missing.*: the backup is damaged or cut short`)],
    ];
    for (const [name, damage, message] of damages) {
      const copy = join(dir, `bk-cut-${name}`);
      await cp(bk, copy, { recursive: true });
      await damage(copy);
      const target = join(dir, `db-cut-${name}`);
      const r = await runCli(['restore', '--from', copy, '--db', target, '--data', join(dir, `data-cut-${name}`)]);
      expect([name, r.code]).toEqual([name, 1]);
      expect(r.stderr, name).toMatch(/^tuban: BACKUP\.INVALID: [^\n]*\n$/);
      expect(r.stderr, name).toMatch(message);
      expect([name, existsSync(target), existsSync(join(dir, `data-cut-${name}`))]).toEqual([name, false, false]);
    }
  }, 300_000);

  it('a backup onto a full disk (a small tmpfs, where the test may mount one) names the folder in one line and leaves nothing', async (ctx) => {
    const small = join(dir, 'small');
    await mkdir(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', small], { stdio: 'pipe' });
    } catch (err) {
      ctx.skip(`cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    try {
      const bk = join(small, 'bk');
      const r = await runCli(['backup', '--db', join(dir, 'db'), '--data', dataDir, '--out', bk]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^tuban: ${bk.replace(/[/.-]/g, '\\$&')}: ENOSPC: no space left on device, write; nothing was written \\(the partial backup is removed\\)\n$`));
      expect(await readdir(small)).toEqual([]);
    } finally {
      execFileSync('umount', ['-l', small], { stdio: 'pipe' });
    }
  }, 300_000);

  it("refuses a --data that holds none of the evidence the database names (the default .tuban/data beside tuban serve's own: exit 0, a backup without a photo); one that lacks some writes the backup and exits 1, naming them", async () => {
    // The worked month's database with a second evidence row whose file is lost from --data.
    const lostDb = join(dir, 'db-lost');
    await cp(join(dir, 'db'), lostDb, { recursive: true });
    const lost = 'ab'.repeat(32);
    const db = await openDatabase(lostDb);
    try {
      await db.query(`INSERT INTO evidence (code, sha256, file_name, mime, size_bytes, uploaded_by) VALUES ($1, $2, 'lost.jpg', 'image/jpeg', 10, 'nr')`, [A, lost]);
    } finally {
      await db.close();
    }
    const emptyData = join(dir, 'data-elsewhere');
    await mkdir(emptyData);
    const wrong = await runCli(['backup', '--db', lostDb, '--data', emptyData, '--out', join(dir, 'bk-wrong-data')]);
    expect(wrong.code, wrong.stderr).toBe(64);
    expect(wrong.stderr).toContain(`--data ${emptyData} holds none of the 2 evidence files the database names`);
    expect(existsSync(join(dir, 'bk-wrong-data'))).toBe(false);
    expect((await readdir(dir)).filter((f) => f.startsWith('bk-wrong-data'))).toEqual([]);

    const bk = join(dir, 'bk-lost');
    const partial = await runCli(['backup', '--db', lostDb, '--data', dataDir, '--out', bk]);
    expect(partial.code, partial.stderr).toBe(1);
    expect(partial.stdout).toContain('1 evidence files');
    expect(partial.stderr).toContain(`1 evidence file(s) named in the database are not in ${dataDir}: ${lost}`);
    const manifest = JSON.parse(await readFile(join(bk, 'manifest.json'), 'utf8')) as BackupManifest & { evidence: { files: number; missing: string[] } };
    expect(manifest.evidence).toEqual({ files: 1, missing: [lost] });

    // The database alone, asked for by name (a host without a copy of --data, the evidence disk lost): written, exit 0, said so.
    const dbOnly = join(dir, 'bk-db-only');
    const alone = await runCli(['backup', '--db', lostDb, '--data', emptyData, '--no-evidence', '--out', dbOnly]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toContain('database only (--no-evidence): the 2 evidence files it names were not copied');
    expect(existsSync(join(dbOnly, 'evidence'))).toBe(false);
    expect((JSON.parse(await readFile(join(dbOnly, 'manifest.json'), 'utf8')) as { evidence: unknown }).evidence).toEqual({ files: 0, missing: [], notCopied: 2 });
    // Restored, it says the files are not in it.
    const back = await runCli(['restore', '--from', dbOnly, '--db', join(dir, 'db-from-alone'), '--data', join(dir, 'data-from-alone')]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('the backup was made --no-evidence: the 2 evidence files its rows name are not in it');
  }, 300_000);

  it.runIf(process.env.TUBAN_TEST_DATABASE_URL)('restores the embedded backup into PostgreSQL', async () => {
    const bk = join(dir, 'bk');
    const manifest = JSON.parse(await readFile(join(bk, 'manifest.json'), 'utf8')) as BackupManifest;
    const pg = await openDatabase(process.env.TUBAN_TEST_DATABASE_URL!, { schema: `tuban_restore_${process.pid}` });
    const source = await openDatabase(join(dir, 'db'));
    const names = manifest.tables.map((t) => t.name);
    const before = await contents(source, names).finally(() => source.close());
    try {
      await restoreDatabase(pg, bk, manifest);
      expect(await contents(pg, names)).toEqual(before);
      // And a backup of PostgreSQL (one REPEATABLE READ snapshot) holds the same rows.
      const again = join(dir, 'bk-pg');
      await mkdir(join(again, 'tables'), { recursive: true });
      const fromPg = await dumpDatabase(pg, again);
      expect(fromPg.tables.map((t) => [t.name, t.rows])).toEqual(manifest.tables.map((t) => [t.name, t.rows]));
    } finally {
      await pg.close();
    }
  }, 300_000);
});
