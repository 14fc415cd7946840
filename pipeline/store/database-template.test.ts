/**
 * The embedded database template, with real PGlite: a fresh directory made from it is a complete
 * database (PostGIS, current migrations, writes, the directory lock); a broken template is rebuilt
 * or bypassed with a warning; a template is never left half written, and two builders build once.
 * Each describe uses its own cache directory, so nothing here touches the user's cache.
 */
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { TubanError } from '../../schemas/errors.js';
import { ensureTemplate, findTemplate, isFreshDirectory, templateKey, templateMigrationVersion, type TemplateLog } from './database-template.js';
import { migrate, MIGRATIONS } from './migrations.js';
import { openDatabase } from './open-database.js';
import { postgisExtension } from './postgis-bundle.js';
import { loadDetections, replaceTileDetections, upsertBatch } from './repository.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-template-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a fresh directory', () => {
  it('is one that does not exist or is empty, never one that cannot be looked at (a failed start there removes nothing)', async () => {
    const base = await mkdtemp(join(dir, 'fresh-'));
    expect(await isFreshDirectory(join(base, 'missing'))).toBe(true);
    expect(await isFreshDirectory(base)).toBe(true);
    await writeFile(join(base, 'file'), 'x');
    expect(await isFreshDirectory(base)).toBe(false);
    // Below a file: ENOTDIR, as EIO on a flaky mount, is not "nothing there".
    expect(await isFreshDirectory(join(base, 'file', 'db'))).toBe(false);
  });
});

function recorder(): { log: TemplateLog; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, m) => lines.push(`${level}: ${m}`) };
}

async function lockedCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof TubanError ? err.code : String(err);
  }
  return undefined;
}

describe('a fresh directory opened from the template', () => {
  let cache: string;
  beforeAll(async () => {
    cache = join(dir, 'cache-fresh');
  });

  it('builds the template once, then every fresh directory has PostGIS, the current migrations and takes a batch write', async () => {
    const first = recorder();
    const a = await openDatabase(join(dir, 'a'), { templateCache: cache, log: first.log });
    await a.close();
    expect(first.lines.some((l) => l.startsWith('info: building the embedded database template'))).toBe(true);
    expect(await findTemplate(cache)).not.toBeNull();

    const second = recorder();
    const db = await openDatabase(join(dir, 'b'), { templateCache: cache, log: second.log });
    try {
      expect(second.lines).toEqual([]);
      const ext = await db.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'postgis'`);
      expect(ext.rows).toHaveLength(1);
      const ver = await db.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
      expect(ver.rows[0].v).toBe(Math.max(...MIGRATIONS.map((m) => m.version)));
      expect(await migrate(db)).toEqual([]);

      await upsertBatch(db, { id: 'b1', epoch: '2026-10' });
      const square = { type: 'Polygon' as const, coordinates: [[[117, 36.6], [117.001, 36.6], [117.001, 36.601], [117, 36.601], [117, 36.6]]] };
      await replaceTileDetections(db, 'b1', 't1', [{ tileId: 't1', index: 0, geometry: square, areaM2: 9000, changeType: 'construction', confidence: 0.8, reasons: ['ndvi_drop'], beforeDate: '2026-09-03', afterDate: '2026-10-05', pixelCount: 90 }], null);
      const got = await loadDetections(db, 'b1');
      expect(got.map((d) => d.index)).toEqual([0]);
      const area = await db.query<{ a: number }>(`SELECT ST_Area(geom::geography) AS a FROM detections`);
      expect(area.rows[0].a).toBeGreaterThan(8000);

      // The directory lock holds as before: a second open of the same directory is refused.
      expect(await lockedCode(openDatabase(join(dir, 'b'), { templateCache: cache }))).toBe('DB.LOCKED');
    } finally {
      await db.close();
    }
    // The write survives a restart, and no copy leftovers lie beside the directory.
    const again = await openDatabase(join(dir, 'b'), { templateCache: cache });
    try {
      expect((await loadDetections(again, 'b1')).length).toBe(1);
    } finally {
      await again.close();
    }
    expect(existsSync(join(dir, 'b.copying'))).toBe(false);
    expect(existsSync(join(dir, 'b', 'template.json'))).toBe(false);
    // The users' password hashes live there: no other local account may read the directory.
    expect((await stat(join(dir, 'b'))).mode & 0o777).toBe(0o700);
  });

  it('leaves raster and topology out of the trimmed PostGIS bundle, and PostGIS itself in', async () => {
    const entry = (await findTemplate(cache))!;
    const lite = await PGlite.create('memory://', { extensions: { postgis: postgisExtension(entry.bundle) } });
    try {
      const avail = await lite.query<{ name: string }>(`SELECT name FROM pg_available_extensions WHERE name LIKE 'postgis%' ORDER BY name`);
      expect(avail.rows.map((r) => r.name)).toContain('postgis');
      expect(avail.rows.map((r) => r.name)).not.toContain('postgis_raster');
      expect(avail.rows.map((r) => r.name)).not.toContain('postgis_topology');
    } finally {
      await lite.close();
    }
  });
});

describe('a broken template', () => {
  let cache: string;
  beforeAll(async () => {
    cache = join(dir, 'cache-broken');
    // Build it once through the real path.
    const db = await openDatabase(join(dir, 'seed'), { templateCache: cache });
    await db.close();
  });

  it('is rebuilt, with a warning, when its files do not check out', async () => {
    const entry = (await findTemplate(cache))!;
    await rm(join(entry.data, 'PG_VERSION'));
    const rec = recorder();
    const db = await openDatabase(join(dir, 'after-missing-file'), { templateCache: cache, log: rec.log });
    try {
      expect(rec.lines.find((l) => l.startsWith('warn:'))).toMatch(/database template .* is unusable \(data\/PG_VERSION is missing or empty\); rebuilding it/);
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'postgis'`)).rows[0].n).toBe(1);
    } finally {
      await db.close();
    }
    expect(await findTemplate(cache)).not.toBeNull();
  });

  it('is bypassed, with a warning, and discarded when the database it gives is not at the current version', async () => {
    const entry = (await findTemplate(cache))!;
    // A template that checks out on disk but holds an older schema (as if built by another version).
    const lite = await PGlite.create(entry.data, { extensions: { postgis: postgisExtension(entry.bundle) } });
    await lite.query('DELETE FROM schema_migrations');
    await lite.query('CHECKPOINT');
    await lite.close();

    const rec = recorder();
    const db = await openDatabase(join(dir, 'after-stale'), { templateCache: cache, log: rec.log });
    try {
      expect(rec.lines.find((l) => l.startsWith('warn:'))).toMatch(/did not give a working database \(.*migration version null, expected \d+\); discarded, initialising .* directly/);
      // Initialised directly: PostGIS created by openDatabase, migrations left to migrate() as always.
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'postgis'`)).rows[0].n).toBe(1);
      expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await db.close();
    }
    expect((await stat(join(dir, 'after-stale'))).mode & 0o777).toBe(0o700);
    expect(await findTemplate(cache)).toBeNull();
  });
});

describe('building the template', () => {
  /** A stand-in data directory: what the entry check looks at, made in no time. */
  async function fakeData(data: string): Promise<void> {
    await mkdir(join(data, 'global'), { recursive: true });
    await writeFile(join(data, 'PG_VERSION'), '17\n');
    await writeFile(join(data, 'global', 'pg_control'), 'x');
  }

  it('leaves nothing behind when the build fails half way', async () => {
    const cache = join(dir, 'cache-fail');
    const rec = recorder();
    const got = await ensureTemplate(cache, async (data) => {
      await fakeData(data);
      throw new Error('disk full');
    }, rec.log);
    expect(got).toBeNull();
    expect(rec.lines.at(-1)).toBe('warn: no database template (disk full); initialising the database directly');
    expect(await readdir(join(cache, 'db-template'))).toEqual([]);
  });

  it('is built once when two builders start together, and both get the complete entry', async () => {
    const cache = join(dir, 'cache-race');
    // What a builder killed half way leaves: removed by the next build.
    await mkdir(join(cache, 'db-template', `${templateKey()}.tmp-99999-dead`, 'data'), { recursive: true });
    let builds = 0;
    const build = async (data: string) => {
      builds++;
      await fakeData(data);
      await new Promise((r) => setTimeout(r, 300));
    };
    const [a, b] = await Promise.all([ensureTemplate(cache, build, () => {}), ensureTemplate(cache, build, () => {})]);
    expect(builds).toBe(1);
    expect(a?.dir).toBe(join(cache, 'db-template', templateKey()));
    expect(b?.dir).toBe(a?.dir);
    const meta = JSON.parse(await readFile(join(a!.dir, 'template.json'), 'utf8')) as { key: string; migration: number };
    expect(meta).toMatchObject({ key: templateKey(), migration: templateMigrationVersion() });
    expect((await readdir(join(cache, 'db-template'))).sort()).toEqual([templateKey()]);
  });
});

describe('an existing empty directory', () => {
  let cache: string;
  beforeAll(async () => {
    cache = join(dir, 'cache-existing');
    const seed = await openDatabase(join(dir, 'existing-seed'), { templateCache: cache });
    await seed.close();
  });

  /** An empty directory as an administrator makes one (its own mode: a group that reads the backups). */
  async function given(name: string): Promise<{ path: string; ino: number }> {
    const path = join(dir, name);
    await mkdir(path, { mode: 0o750 });
    await chmod(path, 0o750);
    return { path, ino: (await stat(path)).ino };
  }

  it('is made a database in place from the template: never removed or replaced, its mode kept', async () => {
    const { path, ino } = await given('existing-ok');
    const rec = recorder();
    const db = await openDatabase(path, { templateCache: cache, log: rec.log });
    try {
      expect(rec.lines).toEqual([]);
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'postgis'`)).rows[0].n).toBe(1);
    } finally {
      await db.close();
    }
    const st = await stat(path);
    expect(st.ino).toBe(ino);
    expect(st.mode & 0o777).toBe(0o750);
    expect((await readdir(path)).filter((n) => n.startsWith('.tuban'))).toEqual([]);
    expect(existsSync(`${path}.copying`)).toBe(false);
  });

  it('is kept, not removed, when the template gives no working database: emptied and initialised directly', async () => {
    const entry = (await findTemplate(cache))!;
    const lite = await PGlite.create(entry.data, { extensions: { postgis: postgisExtension(entry.bundle) } });
    await lite.query('DELETE FROM schema_migrations');
    await lite.query('CHECKPOINT');
    await lite.close();
    const { path, ino } = await given('existing-stale');
    const rec = recorder();
    const db = await openDatabase(path, { templateCache: cache, log: rec.log });
    try {
      expect(rec.lines.find((l) => l.startsWith('warn:'))).toMatch(/did not give a working database .*discarded, initialising .* directly/);
      expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await db.close();
    }
    const st = await stat(path);
    expect(st.ino).toBe(ino);
    expect(st.mode & 0o777).toBe(0o750);
  });

  it('left half copied by a crash is copied again at the next start, not taken for a database', async () => {
    const { path, ino } = await given('existing-crashed');
    // What a copy killed before its last file leaves: the staging folder, and some files moved up.
    await mkdir(join(path, '.tuban-template-copy', 'base'), { recursive: true });
    await mkdir(join(path, 'global'));
    await writeFile(join(path, 'global', 'pg_control'), 'half');
    const db = await openDatabase(path, { templateCache: cache });
    try {
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'postgis'`)).rows[0].n).toBe(1);
    } finally {
      await db.close();
    }
    expect((await stat(path)).ino).toBe(ino);
    expect(await readdir(path)).not.toContain('.tuban-template-copy');
  });
});

describe('a copy killed half way, then a start without the template', () => {
  it('is made a database afresh, and a database beside a staging folder is never emptied by a later start with the template', async () => {
    const cache = join(dir, 'cache-existing');
    // Killed mid-copy (Ctrl-C in the longest step), then started with the template off (TUBAN_DB_TEMPLATE=off, a cache not writable).
    const path = join(dir, 'crashed-then-initdb');
    await mkdir(join(path, '.tuban-template-copy', 'base'), { recursive: true });
    await mkdir(join(path, 'global'));
    await writeFile(join(path, 'global', 'pg_control'), 'half');
    const first = await openDatabase(path, { templateCache: null });
    try {
      await first.query('CREATE TABLE precious (v int)');
      await first.query('INSERT INTO precious VALUES (1)');
    } finally {
      await first.close();
    }
    expect(await readdir(path)).not.toContain('.tuban-template-copy');
    // A database whose staging folder outlived its copy (killed after PG_VERSION was moved up): a database.
    await mkdir(join(path, '.tuban-template-copy'));
    const again = await openDatabase(path, { templateCache: cache });
    try {
      expect((await again.query<{ v: number }>('SELECT v FROM precious')).rows).toEqual([{ v: 1 }]);
    } finally {
      await again.close();
    }
    expect(await readdir(path)).not.toContain('.tuban-template-copy');
  });
});

describe('a directory named through a symbolic link', () => {
  let cache: string;
  beforeAll(async () => {
    cache = join(dir, 'cache-linked');
    const seed = await openDatabase(join(dir, 'linked-seed'), { templateCache: cache });
    await seed.close();
  });

  it('is opened where the link leads (fresh, existing, or not made yet), the link kept, and one lock for both names', async () => {
    // /data/tuban → /mnt/disk1/tuban, as servers mount their disks: PGlite failed on it ("file system error 20").
    const real = join(dir, 'linked-real');
    const link = join(dir, 'linked-link');
    await mkdir(real);
    await symlink(real, link);
    const rec = recorder();
    const db = await openDatabase(link, { templateCache: cache, log: rec.log });
    try {
      expect(rec.lines).toEqual([]);
      await db.query('CREATE TABLE through_link (v int)');
      await db.query('INSERT INTO through_link VALUES (7)');
      // The directory is held whichever name the next command is given.
      await expect(openDatabase(real, { templateCache: cache })).rejects.toMatchObject({ code: 'DB.LOCKED' });
    } finally {
      await db.close();
    }
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(existsSync(join(real, 'PG_VERSION'))).toBe(true);
    const again = await openDatabase(real, { templateCache: cache });
    try {
      expect((await again.query<{ v: number }>('SELECT v FROM through_link')).rows).toEqual([{ v: 7 }]);
    } finally {
      await again.close();
    }
    // A link to a directory not made yet: made where the link leads.
    const later = join(dir, 'linked-later');
    await symlink(later, join(dir, 'linked-later-link'));
    const made = await openDatabase(join(dir, 'linked-later-link'), { templateCache: cache });
    await made.close();
    expect((await lstat(join(dir, 'linked-later-link'))).isSymbolicLink()).toBe(true);
    expect(existsSync(join(later, 'PG_VERSION'))).toBe(true);
  });
});
