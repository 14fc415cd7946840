/**
 * The embedded run writes its outputs from the polygons and the report finalise holds, not from
 * the database (`exportFinalised`); the queue path reads them back (`exportBatch`). Both must give
 * the same files byte for byte: the database normalises what it keeps (jsonb's key order, NULL for
 * an absent field, the row order of its ORDER BY), and the held path must come out the same. That
 * the run took the held path is checked from the queries it ran: none read its polygons back.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { bboxOf } from '../../geo/bbox.js';
import { writeSceneTownships, writeSceneVillages } from '../../fixtures/scene-townships.js';
import { loadRuleTable } from '../route/load-rule-table.js';
import { asJsonb } from '../store/as-jsonb.js';
import * as repo from '../store/repository.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { BatchArgsSchema, type BatchArgs } from './batch-args.js';
import type { BatchReport } from './batch-report.js';
import { exportBatch, runBatch } from './run-batch.js';
import { breakFirstChunk, rejectedPriorScene } from './testing/rejected-prior-scene.js';
import { OUTPUT_FILES } from './write-outputs.js';

describe('the embedded export from what finalise holds', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });
  const log = pino({ level: 'silent' });
  let schemas = 0;

  /** On the PostgreSQL server of TUBAN_TEST_DATABASE_URL in a fresh schema when set, else PGlite. */
  async function freshDb(): Promise<Database> {
    const url = process.env.TUBAN_TEST_DATABASE_URL;
    const db = url ? await openDatabase(url, { schema: `tuban_export_held_${process.pid}_${++schemas}` }) : await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    queriesRun.set(db, recordQueries(db));
    return db;
  }

  /** The text of each query a database of `freshDb` ran, in a transaction too. */
  const queriesRun = new WeakMap<Database, string[]>();

  /** Records the text of every query `db` runs from now on; what each query does is left as it is. */
  function recordQueries(db: Database): string[] {
    const texts: string[] = [];
    const query = db.query.bind(db);
    const transaction = db.transaction.bind(db);
    db.query = (text, params) => (texts.push(text), query(text, params));
    db.transaction = (fn) => transaction((tx) => fn({ query: (text, params) => (texts.push(text), tx.query(text, params)) }));
    return texts;
  }

  /**
   * Every output file of `a` is byte-identical to `b`'s, but for the time each was written: the
   * GeoPackage's `gpkg_contents.last_change`, the report's own run time and memory.
   */
  async function expectSameFiles(a: string, b: string): Promise<void> {
    const withoutWriteTime = (bytes: Buffer) => Buffer.from(bytes.toString('latin1').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '-'.repeat(24)), 'latin1');
    for (const name of OUTPUT_FILES) {
      const [x, y] = await Promise.all([readFile(join(a, name)), readFile(join(b, name))]);
      if (name === 'polygons.gpkg') {
        expect(withoutWriteTime(x).equals(withoutWriteTime(y)), name).toBe(true);
        continue;
      }
      if (name !== 'batch-report.json') {
        expect(x.equals(y), name).toBe(true);
        continue;
      }
      const runOnly = (text: Buffer) => {
        const r = JSON.parse(text.toString('utf8')) as { timings: Record<string, unknown>; peakRssBytes?: number };
        delete r.timings.outputs;
        delete r.peakRssBytes;
        return JSON.stringify(r, null, 2);
      };
      expect(runOnly(x), name).toBe(runOnly(y));
    }
  }

  /** The embedded run's files, then the read-back's (`exportBatch`) of the same database. */
  async function runAndReadBack(db: Database, args: BatchArgs, dir: string, name: string): Promise<{ batchId: string; held: string; read: string }> {
    const held = join(dir, `${name}-held`);
    const read = join(dir, `${name}-read`);
    const queries = queriesRun.get(db)!;
    const before = queries.length;
    const run = await runBatch(args, { db, log, out: held });
    // The held path was the one taken: the run stored its polygons and never read them back (loadPolygons).
    const during = queries.slice(before);
    expect(during.some((q) => q.includes('INSERT INTO polygons ('))).toBe(true);
    expect(during.filter((q) => q.includes('FROM polygons WHERE batch_id = $1 ORDER BY')), `${name}: polygons read back`).toEqual([]);
    await exportBatch(db, run.plan.batchId, read, await loadRuleTable(args.rules));
    return { batchId: run.plan.batchId, held, read };
  }

  it('writes every file byte for byte as the read-back does: several districts, seams, townships, villages, earlier sites, a rejected tile, a re-run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-export-held-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const db = await freshDb();
    // Last month over half the same ground: this month's polygons there continue its sites
    // (previous_code), the others are new. Its pixels integrated otherwise (footprint 1), so its files
    // are other imagery than this month's.
    const september = await generateScene({ dir: join(dir, 'sep'), size: 256, seed: 5, tilesPerSide: 2, epoch: '2026-09', footprint: 1 });
    const half = (await readdir(september.currentDir)).sort().slice(0, 2).map((f) => join(september.currentDir, f));
    await runBatch(BatchArgsSchema.parse({ epoch: september.epoch, tiles: half, prior: [september.priorDir], zones: [september.zonesPath] }), {
      db, log, out: join(dir, 'out-sep'),
    });

    // Four tiles overlapping at their seams, a tile that is no GeoTIFF (rejected: not observed, named),
    // a township layer leaving the south uncovered and a village layer over each township's north.
    const scene = await generateScene({ dir: join(dir, 'oct'), size: 256, seed: 5, tilesPerSide: 2 });
    await writeFile(join(scene.currentDir, 'zz_poison.tif'), Buffer.from('this is not a GeoTIFF'));
    const townships = join(dir, 'townships.geojson');
    await writeSceneTownships(scene.zonesPath, townships);
    const villages = join(dir, 'villages.geojson');
    await writeSceneVillages(scene.zonesPath, villages);
    // A 生态保护红线 over the whole scene, given first: each polygon overlaps it and its own zone's
    // kind, in an order of keys that is not jsonb's.
    const redline = join(dir, 'redline.geojson');
    await writeFile(redline, JSON.stringify(coveringZone(JSON.parse(await readFile(scene.zonesPath, 'utf8')) as FeatureCollection<Polygon | MultiPolygon>)));
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [redline, scene.zonesPath, townships, villages] });

    const first = await runAndReadBack(db, args, dir, 'first');
    await expectSameFiles(first.held, first.read);
    // What the comparison covered: every optional field set on some polygon and absent on another,
    // overlaps of several zone kinds (whose key order jsonb changes), several districts.
    const features = (JSON.parse(await readFile(join(first.held, 'polygons.geojson'), 'utf8')) as { features: { properties: Record<string, unknown> }[] }).features.map((f) => f.properties);
    expect(new Set(features.map((p) => p.district_code)).size).toBeGreaterThan(1);
    for (const field of ['previous_code', 'township_code', 'village_code']) {
      expect(features.some((p) => p[field] !== null), field).toBe(true);
      expect(features.some((p) => p[field] === null), field).toBe(true);
    }
    expect(features.some((p) => Object.keys(p.overlaps as object).length > 1), 'overlaps').toBe(true);
    const report = JSON.parse(await readFile(join(first.held, 'batch-report.json'), 'utf8')) as { counts: { seamDuplicates: number; continuingSites: number; newSites: number }; rejected: unknown[] };
    expect(report.counts.seamDuplicates, 'seam duplicates').toBeGreaterThan(0);
    expect(report.counts.continuingSites * report.counts.newSites).toBeGreaterThan(0);
    expect(JSON.stringify(report)).toContain('zz_poison.tif');

    // What this run's rows did not show: polygons in another order, an optional field absent rather
    // than null, keys in another order. As stored, they are what loadPolygons reads, key for key.
    const stored = await repo.loadPolygons(db, first.batchId);
    const unordered = [...stored].reverse().map(({ previousCode, townshipCode, villageName, overlaps, ...p }) => ({
      ...p, ...(previousCode === null ? {} : { previousCode }), ...(townshipCode === null ? {} : { townshipCode }), ...(villageName === null ? {} : { villageName }),
      overlaps: Object.fromEntries(Object.entries(overlaps).reverse()),
    })) as MonitoringPolygon[];
    expect(JSON.stringify(repo.asStoredPolygons(unordered))).toBe(JSON.stringify(stored));
    // Serials past 9999 in one district: the database orders them length first (…-9999 before
    // …-10000, loadPolygons' ORDER BY), where a comparison of the strings puts -10000 first.
    const [p, q] = stored;
    const serial = (n: number) => p.code.replace(/\d+$/, String(n));
    const renumbered = repo.asStoredPolygons([{ ...p, code: serial(10000) }, { ...q, districtCode: p.districtCode, code: serial(9999) }]);
    expect(renumbered.map((x) => x.code)).toEqual([serial(9999), serial(10000)]);

    // The same batch again: its codes kept (inherited), the report saying it is a re-run.
    const again = await runAndReadBack(db, args, dir, 'again');
    await expectSameFiles(again.held, again.read);
    expect(JSON.parse(await readFile(join(again.held, 'batch-report.json'), 'utf8')).rerun).toBeTruthy();
  }, 300_000);

  it('writes the not-observed ground of rejected prior tiles, read while finalise runs, as the read-back does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-export-held-prior-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await rejectedPriorScene(dir);
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
    const { held, read } = await runAndReadBack(await freshDb(), args, dir, 'prior');
    await expectSameFiles(held, read);
    const notObserved = await readFile(join(held, 'not-observed.geojson'), 'utf8');
    for (const reason of ['TILE.BAND_MISMATCH', 'TILE.UNREADABLE']) expect(notObserved).toContain(reason);
  }, 300_000);

  it('writes the files of a second batch of the month over other tiles, and of one that --replaces the first, as the read-back does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-export-held-month-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const db = await freshDb();
    const scene = await generateScene({ dir: join(dir, 'scene'), size: 256, seed: 5, tilesPerSide: 2 });
    const files = (await readdir(scene.currentDir)).sort().map((f) => join(scene.currentDir, f));
    const over = (tiles: string[], replaces?: string[]) => BatchArgsSchema.parse({ epoch: scene.epoch, tiles, prior: [scene.priorDir], zones: [scene.zonesPath], ...(replaces ? { replaces } : {}) });

    const first = await runAndReadBack(db, over(files.slice(0, 2)), dir, 'first');
    await expectSameFiles(first.held, first.read);
    // The second batch's serials move past the first's in the districts both number in (under the
    // district's lock, while finalise stores): codes the held polygons did not carry when finalise began.
    const second = await runAndReadBack(db, over(files.slice(2)), dir, 'second');
    await expectSameFiles(second.held, second.read);
    const serials = async (batch: { held: string }) => {
      const props = (JSON.parse(await readFile(join(batch.held, 'polygons.geojson'), 'utf8')) as { features: { properties: { code: string; district_code: string } }[] }).features.map((f) => f.properties);
      const by = new Map<string, number[]>();
      for (const { code, district_code } of props) by.set(district_code, [...(by.get(district_code) ?? []), Number(code.split('-').at(-1))]);
      return by;
    };
    const [a, b] = [await serials(first), await serials(second)];
    const shared = [...b.keys()].filter((d) => a.has(d));
    expect(shared.length, 'districts both batches number in').toBeGreaterThan(0);
    for (const d of shared) expect(Math.min(...b.get(d)!), d).toBe(Math.max(...a.get(d)!) + 1);

    // The first batch's tiles again under other names (another batch), taking its place and its codes.
    const copies = join(dir, 'reprepared');
    await mkdir(copies);
    for (const f of files.slice(0, 2)) await copyFile(f, join(copies, `cog_${f.split('/').at(-1)}`));
    const third = await runAndReadBack(db, over([copies], [first.batchId]), dir, 'replacing');
    await expectSameFiles(third.held, third.read);
    const report = JSON.parse(await readFile(join(third.held, 'batch-report.json'), 'utf8')) as { replaced: { batchId: string; kept: number }[] };
    expect(report.replaced).toMatchObject([{ batchId: first.batchId }]);
    expect(report.replaced[0].kept).toBeGreaterThan(0);
  }, 300_000);

  it('writes the files of a re-run that keeps a tile it cannot read this time, its not-observed ground read after finalise, as the read-back does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-export-held-kept-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const db = await freshDb();
    const scene = await generateScene({ dir: join(dir, 'scene'), size: 256, seed: 5, tilesPerSide: 2 });
    const args = BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
    const first = await runBatch(args, { db, log, out: join(dir, 'first') });
    // A tile that held polygons, corrupted in place (same name and size: the same batch).
    const file = first.report.tiles.find((t) => t.detections > 0)!.files[0];
    await breakFirstChunk(file);
    const again = await runAndReadBack(db, args, dir, 'again');
    await expectSameFiles(again.held, again.read);
    const report = JSON.parse(await readFile(join(again.held, 'batch-report.json'), 'utf8')) as BatchReport;
    expect(report.batchId).toBe(first.plan.batchId);
    expect(report.tiles.filter((t) => t.keptFromEarlierRun).map((t) => t.keptFromEarlierRun!.file)).toEqual([file]);
  }, 300_000);

  /** One ecological_redline zone over the box of every zone of `zones`. */
  function coveringZone(zones: FeatureCollection<Polygon | MultiPolygon>): FeatureCollection<Polygon> {
    const boxes = zones.features.map((f) => bboxOf(f.geometry));
    const [x0, y0, x1, y1] = [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])), Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))];
    const ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
    return { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { id: 'redline-all', kind: 'ecological_redline' }, geometry: { type: 'Polygon', coordinates: [ring] } }] };
  }

  it('models a jsonb column as the database gives it back', async () => {
    const db = await freshDb();
    const value = {
      zeta: 1, b: 'x', aa: [{ long_key: 1e-7, k: 1e21, z: -0 }], 'é': 0.1 + 0.2, e: undefined, when: new Date(Date.UTC(2026, 9, 3)), nan: NaN,
      nested: { share: 0.30000000000000004, m2: 12.5, '10': 'ten', '9': 'nine', b: null },
    };
    const r = await db.query<{ v: unknown }>('SELECT $1::jsonb AS v', [JSON.stringify(value)]);
    expect(JSON.stringify(asJsonb(value))).toBe(JSON.stringify(r.rows[0].v));
  });
});
