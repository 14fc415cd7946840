/**
 * Running the same batch again (the same inputs, so the same batch id) replaces its own rows and
 * keeps its codes and the bureaus' cases; the summary said only "Polygons 68 (new 68, …)", which an
 * analyst read as 68 more cases in the inboxes. The report now says it was a re-run (`rerun`), when
 * the batch first ran, and what the database holds: codes kept, new and gone, cases kept and new,
 * and cases whose polygon the run no longer finds. A run resumed after a crash says so; a crash
 * before any polygon was stored leaves nothing issued, and the run reads as a first one. A tile whose
 * file cannot be read this time (damaged since, same size: the same batch) keeps the tile's result
 * of the batch's earlier run, so its polygons, codes and cases stay, and the run says so.
 */
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { booleanIntersects } from '@turf/boolean-intersects';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../../fixtures/synthetic-scene.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { BatchArgsSchema } from './batch-args.js';
import { planAndStore, planForRun, runBatch } from './run-batch.js';
import { createHandlers } from './handlers.js';
import { keepEarlierResult, loadNotObserved, loadReport, loadTileOutcomes } from './batch-store.js';
import { breakFirstChunk, rejectedPriorScene } from './testing/rejected-prior-scene.js';
import { planTile } from './plan-batch.js';
import { upsertBatch, upsertTiles } from '../store/repository.js';
import { config } from '../config.js';

describe('a batch run again', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });
  const log = pino({ level: 'silent' });
  let dir: string;
  let scene: SceneManifest;
  const args = () => BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
  const freshDb = async () => {
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    return db;
  };
  /** On the PostgreSQL server of TUBAN_TEST_DATABASE_URL in a fresh schema when set, else PGlite. */
  const serverOrFreshDb = async () => {
    const url = process.env.TUBAN_TEST_DATABASE_URL;
    if (!url) return freshDb();
    const db = await openDatabase(url, { schema: `tuban_rerun_${process.pid}_${Date.now()}` });
    cleanup.push(() => db.close());
    await migrate(db);
    return db;
  };
  /** A case the server opened for `code` (its sync pass does this for every polygon). */
  const openCase = (db: Database, code: string) =>
    db.query(
      `INSERT INTO cases (code, epoch, lead_bureau, co_bureaus, district_code, issued_on, geom_hash)
       SELECT code, epoch, lead_bureau, co_bureaus, district_code, '2026-11-02', md5(ST_AsBinary(geom)) FROM polygons WHERE code = $1`,
      [code],
    );

  it('says it is a re-run of the batch, with the codes and cases it kept, and a first run says nothing of the kind', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-rerun-report-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    scene = await generateScene({ dir, size: 256, seed: 7, tilesPerSide: 1 });
    const db = await freshDb();
    const first = await runBatch(args(), { db, log, out: join(dir, 'first') });
    expect(first.report.rerun).toBeUndefined();
    const n = first.report.counts.polygons;
    expect(n).toBeGreaterThan(3);
    const codes = (await db.query<{ code: string }>('SELECT code FROM polygons ORDER BY code')).rows.map((r) => r.code);
    // The server's pass opened a case for each (the bureaus' inboxes hold them).
    for (const code of codes) await openCase(db, code);
    const created = (await db.query<{ t: Date }>('SELECT created_at AS t FROM batches WHERE id = $1', [first.report.batchId])).rows[0].t;

    const again = await runBatch(args(), { db, log, out: join(dir, 'again') });
    expect(again.report.batchId).toBe(first.report.batchId);
    expect(again.report.rerun).toEqual({
      earlier: 'finished',
      firstRunAt: created.toISOString(),
      supersedes: [],
      polygonsBefore: n,
      codesKept: n,
      codesNew: 0,
      codesGone: 0,
      casesKept: n,
      casesNew: 0,
      casesGone: 0,
    });
  }, 300_000);

  it('a run resumed after a crash that had stored the polygons says so; one that had stored none reads as a first run', async () => {
    const db = await freshDb();
    // Crashed before any polygon was stored: the plan and the batch row only.
    await planAndStore(db, args(), log);
    const resumedEarly = await runBatch(args(), { db, log, out: join(dir, 'early') });
    expect(resumedEarly.report.rerun).toBeUndefined();
    // Crashed after the polygons' transaction, before the batch was marked done.
    await db.query(`UPDATE batches SET status = 'planned', finished_at = NULL, report = NULL`);
    const resumed = await runBatch(args(), { db, log, out: join(dir, 'late') });
    const n = resumed.report.counts.polygons;
    expect(resumed.report.rerun).toMatchObject({ earlier: 'interrupted', polygonsBefore: n, codesKept: n, codesNew: 0, codesGone: 0, casesKept: 0, casesNew: n });
  }, 300_000);

  it('keeps its earlier result of a tile whose file it cannot read this time (corrupted in place, same size): the same polygons, codes and cases, and it says so', async () => {
    const d = await mkdtemp(join(tmpdir(), 'tuban-rerun-unread-'));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    const sc = await generateScene({ dir: d, size: 512, seed: 11, tilesPerSide: 2 });
    const a = () => BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [sc.currentDir], prior: [sc.priorDir], zones: [sc.zonesPath] });
    const db = await serverOrFreshDb();
    const first = await runBatch(a(), { db, log, out: join(d, 'first') });
    // A site across a tile seam is one polygon (the tiles overlap by 32 px).
    expect(first.report.counts.seamDuplicates).toBeGreaterThan(0);
    expect(first.report.tiles.every((t) => t.status === 'done')).toBe(true);
    const month = async () =>
      (await db.query<{ code: string; tile_id: string; batch_id: string; g: string }>('SELECT code, tile_id, batch_id, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const before = await month();
    for (const r of before) await openCase(db, r.code);
    // The tile holding the most polygons, its file corrupted in place (a bad copy: same name and size, so the same batch).
    const count = new Map<string, number>();
    for (const r of before) count.set(r.tile_id, (count.get(r.tile_id) ?? 0) + 1);
    const [victim] = [...count.entries()].sort((x, y) => y[1] - x[1])[0];
    const firstOutcome = first.report.tiles.find((t) => t.tileId === victim)!;
    const file = firstOutcome.files[0];
    const size = (await stat(file)).size;
    await breakFirstChunk(file);
    expect((await stat(file)).size).toBe(size);

    const again = await runBatch(a(), { db, log, out: join(d, 'again') });
    expect(again.report.batchId).toBe(first.report.batchId);
    // The month holds the very polygons of the first run, the unread tile's under their codes, each site once.
    const after = await month();
    expect(before.filter((r) => r.tile_id === victim).length).toBeGreaterThan(0);
    expect(after).toEqual(before);
    expect(again.report.counts.seamDuplicates).toBe(first.report.counts.seamDuplicates);
    expect(again.report.rerun).toMatchObject({ earlier: 'finished', polygonsBefore: before.length, codesKept: before.length, codesNew: 0, codesGone: 0, casesKept: before.length, casesGone: 0 });
    expect((await db.query('SELECT code FROM polygons_gone')).rows).toEqual([]);
    // The tile reads as compared, with the earlier run's numbers, and says why they are the earlier run's.
    const outcome = again.report.tiles.find((t) => t.tileId === victim)!;
    expect(outcome).toMatchObject({ status: 'done', detections: firstOutcome.detections, observedM2: firstOutcome.observedM2, notObservedM2: firstOutcome.notObservedM2 });
    expect(outcome.keptFromEarlierRun).toMatchObject({ file, error: { code: 'TILE.UNREADABLE' } });
    // This run's speed and memory are this run's: the kept tile took none of its seconds.
    expect([outcome.timings, outcome.peakRssBytes]).toEqual([{}, 0]);
    const read = again.report.tiles.filter((t) => !t.keptFromEarlierRun);
    for (const [stage, mps] of Object.entries(again.report.megapixelsPerSecond)) {
      const seconds = read.reduce((s, t) => s + (t.timings[stage] ?? 0), 0);
      expect(mps).toBeCloseTo(read.reduce((s, t) => s + t.pixels, 0) / 1e6 / seconds, 0);
    }
    // The damaged file is named: a rejected input (the month's exit code is not 0) and a warning saying what was kept.
    expect(again.report.rejected.map((r) => [r.subject, r.error.code])).toEqual([[file, 'TILE.UNREADABLE']]);
    const warning = again.report.warnings.filter((w) => w.includes(file));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatch(/cannot be read now \(TILE\.UNREADABLE: .+\).*kept from this batch's earlier run/);
    // The outputs agree with the report; the tile's not-observed outline is its earlier one, no rejected footprint.
    const geojson = JSON.parse(await readFile(join(d, 'again', 'polygons.geojson'), 'utf8')) as { features: unknown[] };
    expect(geojson.features.length).toBe(again.report.counts.polygons);
    expect(again.report.counts.polygons).toBe(before.length);
    const written = JSON.parse(await readFile(join(d, 'again', 'batch-report.json'), 'utf8')) as typeof again.report;
    expect(written.counts.polygons).toBe(geojson.features.length);
    expect(again.report.notObservedM2).toBe(first.report.notObservedM2);
    const notObserved = JSON.parse(await readFile(join(d, 'again', 'not-observed.geojson'), 'utf8')) as { features: { properties: { reason?: string } }[] };
    expect(notObserved.features.filter((f) => f.properties.reason)).toEqual([]);
  }, 300_000);

  it("keeps it likewise when the file it cannot read now is the tile's only prior: the tile cannot be compared, and the prior is named", async () => {
    const d = await mkdtemp(join(tmpdir(), 'tuban-rerun-unread-prior-'));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    const sc = await generateScene({ dir: d, size: 256, seed: 7, tilesPerSide: 1 });
    const a = () => BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [sc.currentDir], prior: [sc.priorDir], zones: [sc.zonesPath] });
    const db = await freshDb();
    const first = await runBatch(a(), { db, log, out: join(d, 'first') });
    const month = async () => (await db.query<{ code: string; g: string }>('SELECT code, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const before = await month();
    expect(before.length).toBeGreaterThan(3);
    expect(first.plan.prior).toHaveLength(1);
    const prior = first.plan.prior[0].files[0];
    await breakFirstChunk(prior);

    const again = await runBatch(a(), { db, log, out: join(d, 'again') });
    expect(again.report.batchId).toBe(first.report.batchId);
    expect(await month()).toEqual(before);
    expect(again.report.tiles.map((t) => [t.status, t.keptFromEarlierRun?.file, t.keptFromEarlierRun?.error.code])).toEqual([['done', prior, 'TILE.UNREADABLE']]);
    expect(again.report.rejected.map((r) => [r.subject, r.error.code])).toEqual([[prior, 'TILE.UNREADABLE']]);
    expect(again.report.warnings.filter((w) => w.startsWith(`${prior}: cannot be read now`))).toHaveLength(1);
    expect(again.report.rerun).toMatchObject({ codesKept: before.length, codesGone: 0 });
  }, 300_000);

  // A result stored before reads named the priors they compared (`comparedWith`: before the upgrade)
  // has the plan's priors of the tile, less those that read dropped: the first re-run keeps it too.
  it('keeps it likewise for a result stored before reads named the priors they compared', async () => {
    const d = await mkdtemp(join(tmpdir(), 'tuban-rerun-legacy-'));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    const sc = await generateScene({ dir: d, size: 256, seed: 7, tilesPerSide: 1 });
    const a = () => BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [sc.currentDir], prior: [sc.priorDir], zones: [sc.zonesPath] });
    const db = await serverOrFreshDb();
    const first = await runBatch(a(), { db, log, out: join(d, 'first') });
    const month = async () => (await db.query<{ code: string; g: string }>('SELECT code, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const before = await month();
    expect(before.length).toBeGreaterThan(3);
    await db.query(`UPDATE tiles SET info = info #- '{outcome,comparedWith}' WHERE batch_id = $1`, [first.report.batchId]);
    expect((await loadTileOutcomes(db, first.report.batchId)).map((t) => t.comparedWith)).toEqual([undefined]);
    const prior = first.plan.prior[0].files[0];
    await breakFirstChunk(prior);

    const again = await runBatch(a(), { db, log, out: join(d, 'again') });
    expect(again.report.tiles.map((t) => [t.status, t.keptFromEarlierRun?.file])).toEqual([['done', prior]]);
    expect(await month()).toEqual(before);
    // And kept again by a third run: the kept result carries the priors derived for it.
    const third = await runBatch(a(), { db, log, out: join(d, 'third') });
    expect(third.report.tiles.map((t) => [t.status, t.keptFromEarlierRun?.file])).toEqual([['done', prior]]);
    expect(await month()).toEqual(before);
  }, 300_000);

  // A prior that cannot be read here now makes a tile fall back to the priors left (less ground, or an
  // older month): on a re-run that would replace the polygons its earlier run found against that prior.
  it("keeps it likewise when a prior its earlier run compared the tile with cannot be read now, though priors are left; one that run could not read either is fallen back past as then", async () => {
    const d = await mkdtemp(join(tmpdir(), 'tuban-rerun-unread-newer-prior-'));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    // One current tile over four prior tiles (the same scene cut 2 × 2): each prior serves a quarter of it.
    const cur = await generateScene({ dir: join(d, 'a'), size: 256, seed: 7, tilesPerSide: 1 });
    const pri = await generateScene({ dir: join(d, 'b'), size: 256, seed: 7, tilesPerSide: 2, tileOverlap: 1 });
    const a = () => BatchArgsSchema.parse({ epoch: cur.epoch, tiles: [cur.currentDir], prior: [pri.priorDir], zones: [cur.zonesPath] });
    const db = await serverOrFreshDb();
    const { plan } = await planForRun(a());
    expect([plan.tiles.length, plan.prior.length]).toEqual([1, 4]);
    // By their place in the tile's plan (the order it reads them in): P, read first, is broken from
    // the first run on; Q, read after it (of those, the one serving most planted changes), only once
    // the batch has run twice.
    const planned = planTile(plan, plan.tiles[0].tile.id).priors;
    const served = planned.slice(1).map((p) => ({ file: p.files[0], n: cur.planted.filter((c) => booleanIntersects(c.geometry, p.footprint)).length })).sort((x, y) => y.n - x.n);
    const [P, Q] = [planned[0].files[0], served[0].file];
    expect(served[0].n).toBeGreaterThan(0);
    const goodQ = await readFile(Q);
    await breakFirstChunk(P);

    const month = async () => (await db.query<{ code: string; g: string }>('SELECT code, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const first = await runBatch(a(), { db, log, out: join(d, 'first') });
    // A first run falls back past P, as documented.
    expect(first.report.tiles.map((t) => [t.status, t.rejectedPriors?.map((r) => r.subject)])).toEqual([['done', [P]]]);
    const before = await month();
    expect(before.length).toBeGreaterThan(0);
    for (const r of before) await openCase(db, r.code);

    // P still broken: the earlier run compared the tile without it too, so this run does so again (not a keep).
    const second = await runBatch(a(), { db, log, out: join(d, 'second') });
    expect(second.report.batchId).toBe(first.report.batchId);
    expect(second.report.tiles.map((t) => [t.status, t.keptFromEarlierRun, t.rejectedPriors?.map((r) => r.subject)])).toEqual([['done', undefined, [P]]]);
    expect(await month()).toEqual(before);

    // Q, which the earlier runs compared the tile with, broken too: the tile does not fall back to the two priors left.
    await breakFirstChunk(Q);
    const again = await runBatch(a(), { db, log, out: join(d, 'again') });
    expect(again.report.batchId).toBe(first.report.batchId);
    expect(await month()).toEqual(before);
    expect((await db.query('SELECT code FROM polygons_gone')).rows).toEqual([]);
    const outcome = again.report.tiles[0];
    expect([outcome.status, outcome.detections, outcome.notObservedM2]).toEqual(['done', second.report.tiles[0].detections, second.report.tiles[0].notObservedM2]);
    expect(outcome.keptFromEarlierRun).toMatchObject({ file: Q, error: { code: 'TILE.UNREADABLE' }, rejectedPriors: [{ subject: P, error: { code: 'TILE.UNREADABLE' } }] });
    expect(again.report.rejected.map((r) => r.subject).sort()).toEqual([P, Q].sort());
    const warning = again.report.warnings.filter((w) => w.startsWith(`${Q}: `));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatch(/: cannot be read now \(TILE\.UNREADABLE: .+\); tile .* kept from this batch's earlier run .* its other prior\(s\) not read now either: .+ did not decode \(TILE\.UNREADABLE\)\. The imagery file is damaged/);
    expect(warning[0]).toContain(P);
    expect(again.report.rerun).toMatchObject({ codesKept: before.length, codesGone: 0 });

    // Q readable again, P still not: no read of the tile compared it with P (the kept result is the
    // second run's, which fell back past P), so the tile falls back past P again and is read, not kept.
    await writeFile(Q, goodQ);
    const fourth = await runBatch(a(), { db, log, out: join(d, 'fourth') });
    expect(fourth.report.tiles.map((t) => [t.status, t.keptFromEarlierRun, t.rejectedPriors?.map((r) => r.subject)])).toEqual([['done', undefined, [P]]]);
    expect(await month()).toEqual(before);
  }, 300_000);

  // A prior this run found not imagery says something of the ground the earlier run compared: the
  // earlier result (perhaps compared with that prior) is not kept because another prior, dropped after
  // it, cannot be read here.
  it('does not keep the earlier result when a prior dropped before the unread one was rejected for its content', async () => {
    const d = await mkdtemp(join(tmpdir(), 'tuban-rerun-dropped-for-content-'));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    const sc = await generateScene({ dir: d, size: 256, seed: 7, tilesPerSide: 1 });
    const db = await freshDb();
    const first = await runBatch(BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [sc.currentDir], prior: [sc.priorDir], zones: [sc.zonesPath] }), { db, log, out: join(d, 'first') });
    const [{ tileId, status }] = first.report.tiles;
    expect(status).toBe('done');
    const [A, B] = [join(d, 'a.tif'), join(d, 'b.tif')];
    const error = (code: 'TILE.NOT_OBSERVABLE' | 'INPUT.NOT_FOUND' | 'TILE.UNREADABLE', file: string) => ({ subject: file, error: { code, message: `${file}: ${code}`, subject: file } });
    // A stands for the prior the earlier read compared the tile with, unless named another.
    const compared = first.plan.prior[0].id;
    const dropped = (code: 'TILE.NOT_OBSERVABLE' | 'TILE.UNREADABLE', id = compared) => ({ rejected: [error(code, A)], priorIds: [id], footprints: [], tile: { footprint: { type: 'Polygon' as const, coordinates: [] }, cover: [] } });
    // A not imagery, then B not found: not kept.
    expect(await keepEarlierResult(db, first.report.batchId, tileId, error('INPUT.NOT_FOUND', B), dropped('TILE.NOT_OBSERVABLE'))).toBeNull();
    // A did not decode, then B not found: nothing said of the imagery, the earlier result is kept.
    expect(await keepEarlierResult(db, first.report.batchId, tileId, error('INPUT.NOT_FOUND', B), dropped('TILE.UNREADABLE'))).not.toBeNull();
    // A not imagery, but not a prior the earlier read compared with (not imagery then too): no bearing on it.
    expect(await keepEarlierResult(db, first.report.batchId, tileId, error('INPUT.NOT_FOUND', B), dropped('TILE.NOT_OBSERVABLE', 'another prior'))).not.toBeNull();
  }, 300_000);

  /**
   * Batch X over four tiles (a 2 × 2 scene) run once; the tile holding most of its polygons (`victim`,
   * its `file`), and the month's polygons (`month`).
   */
  const monthOfFour = async (name: string) => {
    const d = await mkdtemp(join(tmpdir(), `tuban-rerun-${name}-`));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    const sc = await generateScene({ dir: d, size: 512, seed: 11, tilesPerSide: 2 });
    const db = await serverOrFreshDb();
    const X = () => BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [sc.currentDir], prior: [sc.priorDir], zones: [sc.zonesPath] });
    const x1 = await runBatch(X(), { db, log, out: join(d, 'x1') });
    const month = async () =>
      (await db.query<{ code: string; tile_id: string; batch_id: string; g: string }>('SELECT code, tile_id, batch_id, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const count = new Map<string, number>();
    for (const r of await month()) count.set(r.tile_id, (count.get(r.tile_id) ?? 0) + 1);
    const [victim] = [...count.entries()].sort((a, b) => b[1] - a[1])[0];
    const file = x1.report.tiles.find((t) => t.tileId === victim)!.files[0];
    return { d, sc, db, X, x1, month, victim, file };
  };

  // A later batch of the month (other parameters) that read the tile took it over: its polygons there
  // (or none, where it found none) are the month's, and X's earlier result of it is not.
  it.each([
    ['with polygons of its own there', 50],
    ['finding no polygon there', 1e9],
  ])("does not keep a tile a later batch of the month read and took over since (%s): that batch's polygons and cases stay", async (_, mmuM2) => {
    const { d, sc, db, X, x1, month, victim, file } = await monthOfFour('taken');
    // Z: the one tile, read later with another minimum mapping unit.
    const z = await runBatch(BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [file], prior: [sc.priorDir], zones: [sc.zonesPath], mmuM2 }), { db, log, out: join(d, 'z') });
    expect(z.report.batchId).not.toBe(x1.report.batchId);
    const afterZ = await month();
    for (const r of afterZ) await openCase(db, r.code);
    expect(afterZ.filter((r) => r.tile_id === victim).every((r) => r.batch_id === z.report.batchId)).toBe(true);
    if (mmuM2 === 50) expect(afterZ.filter((r) => r.tile_id === victim).length).toBeGreaterThan(0);
    else expect(afterZ.filter((r) => r.tile_id === victim)).toEqual([]);

    await breakFirstChunk(file);
    const x2 = await runBatch(X(), { db, log, out: join(d, 'x2') });
    expect(x2.report.batchId).toBe(x1.report.batchId);
    // X rejects the tile as any unread tile: Z's polygons on it stay, Z is not replaced, no case withdrawn.
    const afterX2 = await month();
    const ofZ = (rows: typeof afterZ) => rows.filter((r) => r.batch_id === z.report.batchId);
    expect(ofZ(afterX2)).toEqual(ofZ(afterZ));
    expect(afterX2.filter((r) => r.tile_id === victim)).toEqual(afterZ.filter((r) => r.tile_id === victim));
    expect((await db.query('SELECT code FROM polygons_gone')).rows).toEqual([]);
    expect((await db.query<{ replaced_by: string | null }>('SELECT replaced_by FROM batches WHERE id = $1', [z.report.batchId])).rows[0].replaced_by).toBeNull();
    const outcome = x2.report.tiles.find((t) => t.tileId === victim)!;
    expect([outcome.status, outcome.keptFromEarlierRun, outcome.error?.code]).toEqual(['rejected', undefined, 'TILE.UNREADABLE']);
    expect(x2.report.warnings.filter((w) => w.includes('kept from this batch'))).toEqual([]);
  }, 300_000);

  // On a queue the tile job decides to keep hours before the batch finalises: a batch of the month
  // that reads the tile meanwhile (corrected zones, another worker that sees the file) and finishes
  // first took it over, and the keep must not bring the earlier result back over its polygons.
  // Z stores its polygons (replacing the tile's) in one transaction and is marked finished in a later
  // one: between the two, its polygons on the tile, or (finding none there) its stored result of the
  // tile, say it took the tile over.
  it.each([
    ['finished', false, 50],
    ['stored its polygons over, not yet marked finished', true, 50],
    ['stored its result (no polygon there) over, not yet marked finished', true, 1e9],
  ])('does not keep a tile another batch of the month read and %s after the tile job kept it: finalising checks again, and says so', async (_, unfinished, mmuM2) => {
    const { d, sc, db, X, x1, month, victim, file } = await monthOfFour('taken-late');
    const good = await readFile(file);

    // X again, its tile jobs on a machine where the file does not read: the tile is kept.
    const plan = await planAndStore(db, X(), log);
    expect(plan.batchId).toBe(x1.report.batchId);
    const handlers = createHandlers({ db, log, mode: 'queue' });
    const ctx = { progress: () => {}, signal: new AbortController().signal };
    await breakFirstChunk(file);
    for (const t of plan.tiles) await handlers['tile.detect']({ batchId: plan.batchId, tileId: t.tile.id }, ctx);
    await writeFile(file, good);
    expect((await loadTileOutcomes(db, plan.batchId)).find((t) => t.tileId === victim)?.keptFromEarlierRun?.file).toBe(file);

    // Meanwhile Z reads the tile (another minimum mapping unit) and finishes over it.
    const z = await runBatch(BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [file], prior: [sc.priorDir], zones: [sc.zonesPath], mmuM2 }), { db, log, out: join(d, 'z') });
    const afterZ = await month();
    for (const r of afterZ) await openCase(db, r.code);
    const onVictim = (rows: typeof afterZ) => rows.filter((r) => r.tile_id === victim);
    if (mmuM2 === 50) expect(onVictim(afterZ).length).toBeGreaterThan(0);
    else expect(onVictim(afterZ)).toEqual([]);
    expect(onVictim(afterZ).every((r) => r.batch_id === z.report.batchId)).toBe(true);
    if (unfinished) await db.query('UPDATE batches SET finished_at = NULL WHERE id = $1', [z.report.batchId]);

    // X finalises: Z's polygons on the tile stay, no case is withdrawn, Z is not replaced.
    await handlers['batch.finalise']({ batchId: plan.batchId }, ctx);
    const afterX = await month();
    expect(onVictim(afterX)).toEqual(onVictim(afterZ));
    expect(afterX.filter((r) => r.batch_id === z.report.batchId)).toEqual(afterZ.filter((r) => r.batch_id === z.report.batchId));
    expect((await db.query('SELECT code FROM polygons_gone')).rows).toEqual([]);
    expect((await db.query<{ replaced_by: string | null }>('SELECT replaced_by FROM batches WHERE id = $1', [z.report.batchId])).rows[0].replaced_by).toBeNull();
    // The report: the tile rejected, naming Z; the file a rejected input; a warning saying why it was not kept.
    const report = await loadReport(db, plan.batchId);
    const outcome = report.tiles.find((t) => t.tileId === victim)!;
    expect([outcome.status, outcome.keptFromEarlierRun, outcome.error?.code, outcome.takenOverBy]).toEqual(['rejected', undefined, 'TILE.UNREADABLE', z.report.batchId]);
    expect(report.rejected.map((r) => [r.subject, r.error.code])).toEqual([[file, 'TILE.UNREADABLE']]);
    expect(report.warnings.filter((w) => w.includes('kept from this batch'))).toEqual([]);
    const warning = report.warnings.filter((w) => w.startsWith(`${file}: `));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toContain(`not kept: batch ${z.report.batchId} has compared tile ${victim} since`);
    // Its ground is not observed, with the reason, and this batch holds nothing there.
    const notObserved = await loadNotObserved(db, plan.batchId);
    expect(notObserved.features.filter((f) => f.properties.reason).map((f) => [f.properties.tile_id, f.properties.reason])).toEqual([[victim, 'TILE.UNREADABLE']]);
    expect(afterX.filter((r) => r.batch_id === plan.batchId && r.tile_id === victim)).toEqual([]);
  }, 300_000);

  // Z having only read the tile (its tile jobs done, not finalised: hours on a queue, or crashed) has
  // not taken it over: X keeps its result, and Z's store, when it comes, replaces it keeping the codes
  // of the sites it finds again. Dropping X's result at once would leave the ground bare, its cases
  // withdrawn, and Z's sites issued under new codes.
  it("keeps a tile another batch of the month has read but not yet stored a result of; that batch's store then takes the sites over with their codes", async () => {
    const { sc, db, X, month, victim, file } = await monthOfFour('read-not-stored');
    const before = await month();
    for (const r of before) await openCase(db, r.code);
    const good = await readFile(file);
    const handlers = createHandlers({ db, log, mode: 'queue' });
    const ctx = { progress: () => {}, signal: new AbortController().signal };

    const x = await planAndStore(db, X(), log);
    await breakFirstChunk(file);
    for (const t of x.tiles) await handlers['tile.detect']({ batchId: x.batchId, tileId: t.tile.id }, ctx);
    await writeFile(file, good);
    // Z reads the tile, and has not finalised.
    const z = await planAndStore(db, BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [file], prior: [sc.priorDir], zones: [sc.zonesPath], mmuM2: 50 }), log);
    for (const t of z.tiles) await handlers['tile.detect']({ batchId: z.batchId, tileId: t.tile.id }, ctx);
    expect((await loadTileOutcomes(db, z.batchId)).map((t) => t.status)).toEqual(['done']);

    await handlers['batch.finalise']({ batchId: x.batchId }, ctx);
    expect((await loadReport(db, x.batchId)).tiles.find((t) => t.tileId === victim)?.keptFromEarlierRun?.file).toBe(file);
    expect(await month()).toEqual(before);
    await handlers['batch.finalise']({ batchId: z.batchId }, ctx);
    const onVictim = (await month()).filter((r) => r.tile_id === victim);
    expect(onVictim.length).toBeGreaterThan(0);
    expect(onVictim.every((r) => r.batch_id === z.batchId)).toBe(true);
    const codesBefore = new Set(before.filter((r) => r.tile_id === victim).map((r) => r.code));
    expect(onVictim.filter((r) => codesBefore.has(r.code)).length).toBeGreaterThan(0);
  }, 300_000);

  /**
   * monthOfFour, and batch Z's arguments: the victim tile's file with another minimum mapping unit (Z
   * replaces no batch).
   */
  const monthOfTwo = async (name: string) => {
    const { d, sc, db, X, x1, month, victim, file } = await monthOfFour(name);
    const Z = (mmuM2: number) => BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [file], prior: [sc.priorDir], zones: [sc.zonesPath], mmuM2 });
    const onVictim = async () => (await month()).filter((r) => r.tile_id === victim);
    expect((await onVictim()).length).toBeGreaterThan(0);
    return { d, sc, db, X, Z, x1, victim, file, month, onVictim };
  };

  // Two batches finalising at once over a district: Z stores first, X waits on the district lock and
  // stores over Z's polygons, then X is marked finished before Z. X's result is the month's on the
  // tile: its store came last, whatever the order of the finishes.
  it("keeps a tile whose result it stored over another batch's, though that batch was marked finished after it", async () => {
    const { d, db, X, Z, x1, victim, file, month, onVictim } = await monthOfTwo('stored-last');
    const z = await runBatch(Z(50), { db, log, out: join(d, 'z') });
    expect((await onVictim()).every((r) => r.batch_id === z.report.batchId)).toBe(true);
    await runBatch(X(), { db, log, out: join(d, 'x2') });
    await db.query('UPDATE batches SET finished_at = clock_timestamp() WHERE id = $1', [z.report.batchId]);
    const before = await month();
    expect((await onVictim()).every((r) => r.batch_id === x1.report.batchId)).toBe(true);
    for (const r of before) await openCase(db, r.code);

    await breakFirstChunk(file);
    const x3 = await runBatch(X(), { db, log, out: join(d, 'x3') });
    const t = x3.report.tiles.find((o) => o.tileId === victim)!;
    expect([t.status, t.keptFromEarlierRun?.file, t.takenOverBy]).toEqual(['done', file, undefined]);
    expect(await month()).toEqual(before);
    expect((await db.query('SELECT code FROM polygons_gone')).rows).toEqual([]);
  }, 300_000);

  // Z stored its result over the tile (finding no polygon there) and crashed before it was marked
  // finished; `tuban batch` of Z again plans it again. Its store still took the tile over.
  it('does not keep a tile another batch stored its result over, though that batch was planned again since', async () => {
    const { d, db, X, Z, victim, file, onVictim } = await monthOfTwo('replanned-taker');
    const z = await runBatch(Z(1e9), { db, log, out: join(d, 'z') });
    expect(await onVictim()).toEqual([]);
    await db.query("UPDATE batches SET status = 'planned', finished_at = NULL, report = NULL WHERE id = $1", [z.report.batchId]);
    await planAndStore(db, Z(1e9), log);

    await breakFirstChunk(file);
    const x2 = await runBatch(X(), { db, log, out: join(d, 'x2') });
    const t = x2.report.tiles.find((o) => o.tileId === victim)!;
    expect([t.status, t.keptFromEarlierRun, t.error?.code]).toEqual(['rejected', undefined, 'TILE.UNREADABLE']);
    expect(await onVictim()).toEqual([]);
  }, 300_000);

  // A prior kept (its tile job could not read it) whose keep finalising undoes: the file not read is
  // the prior, not the tile's own, healthy file.
  it("names the prior, not the tile's file, when finalising undoes a keep for a prior it cannot read", async () => {
    const { d, db, X, Z, x1, victim, file, onVictim } = await monthOfTwo('prior-taken');
    const { priors } = planTile(x1.plan, victim);
    const prior = priors[0].files[0];
    const good = await readFile(prior);
    const plan = await planAndStore(db, X(), log);
    const handlers = createHandlers({ db, log, mode: 'queue' });
    const ctx = { progress: () => {}, signal: new AbortController().signal };
    await breakFirstChunk(prior);
    await handlers['tile.detect']({ batchId: plan.batchId, tileId: victim }, ctx);
    await writeFile(prior, good);
    for (const t of plan.tiles) if (t.tile.id !== victim) await handlers['tile.detect']({ batchId: plan.batchId, tileId: t.tile.id }, ctx);
    expect((await loadTileOutcomes(db, plan.batchId)).find((t) => t.tileId === victim)?.keptFromEarlierRun?.file).toBe(prior);
    const z = await runBatch(Z(50), { db, log, out: join(d, 'z') });
    const afterZ = await onVictim();

    await handlers['batch.finalise']({ batchId: plan.batchId }, ctx);
    expect(await onVictim()).toEqual(afterZ);
    const report = await loadReport(db, plan.batchId);
    const t = report.tiles.find((o) => o.tileId === victim)!;
    expect([t.status, t.takenOverBy, t.error?.code, t.rejectedPriors?.map((r) => r.subject)]).toEqual(['rejected', z.report.batchId, 'TILE.UNREADABLE', [prior]]);
    expect(report.rejected.map((r) => [r.subject, r.error.code])).toEqual([[prior, 'TILE.UNREADABLE']]);
    expect(report.rejected.map((r) => r.subject)).not.toContain(file);
  }, 300_000);

  // Embedded, the first tile starts before the plan is stored and the database answers: a file it
  // cannot read must not keep a result over imagery an earlier month's batch has filed since.
  it("does not keep a tile an earlier month's batch has filed since: it is rejected as already filed", async () => {
    const { d, sc, db, X, x1 } = await monthOfTwo('filed-since');
    // The plan's first tile: the embedded run detects it while the plan is stored, before the
    // database answers, so the filed check that stops its keep is the one after its read failed.
    const victim = x1.plan.tiles[0].tile.id;
    const file = x1.plan.tiles[0].tile.files[0];
    const [y, m] = sc.epoch.split('-').map(Number);
    const earlier = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
    const { tile } = planTile(x1.plan, victim);
    await upsertBatch(db, { id: 'earlier-month', epoch: earlier, params: {}, status: 'done' });
    await upsertTiles(db, 'earlier-month', [{ tileId: victim, role: 'current', info: { tile: tile.tile } }]);
    await db.query("UPDATE tiles SET status = 'done' WHERE batch_id = 'earlier-month'");

    await breakFirstChunk(file);
    const x2 = await runBatch(X(), { db, log, out: join(d, 'x2') });
    const t = x2.report.tiles.find((o) => o.tileId === victim)!;
    expect([t.status, t.keptFromEarlierRun, t.error?.code]).toEqual(['rejected', undefined, 'TILE.ALREADY_FILED']);
  }, 300_000);

  it("keeps a tile too large for this machine now (a smaller worker: the memory cap is not part of the batch id), says so, and counts this run's figures only", async () => {
    const d = await mkdtemp(join(tmpdir(), 'tuban-rerun-large-'));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    // Its north-west current tile falls back past a prior whose first chunk does not decode (rejectedPriors).
    const sc = await rejectedPriorScene(d);
    const a = () => BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [sc.currentDir], prior: [sc.priorDir], zones: [sc.zonesPath] });
    const db = await freshDb();
    const first = await runBatch(a(), { db, log, out: join(d, 'first') });
    expect(first.report.tiles.some((t) => t.rejectedPriors?.some((p) => p.subject === sc.badChecksum))).toBe(true);
    const month = async () => (await db.query<{ code: string; g: string }>('SELECT code, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const before = await month();
    expect(before.length).toBeGreaterThan(0);
    for (const r of before) await openCase(db, r.code);

    const cap = config().maxTileBytes;
    config().maxTileBytes = 1000;
    const again = await runBatch(a(), { db, log, out: join(d, 'again') }).finally(() => (config().maxTileBytes = cap));
    expect(again.report.batchId).toBe(first.report.batchId);
    expect(await month()).toEqual(before);
    expect((await db.query('SELECT code FROM polygons_gone')).rows).toEqual([]);
    expect(again.report.tiles.map((t) => [t.status, t.keptFromEarlierRun?.error.code])).toEqual(sc.current.map(() => ['done', 'RASTER.TOO_LARGE']));
    const warnings = again.report.warnings.filter((w) => w.includes('kept from this batch'));
    expect(warnings).toHaveLength(4);
    for (const w of warnings) {
      expect(w).toMatch(/: too large for this machine now \(RASTER\.TOO_LARGE: .+\)/);
      expect(w).not.toMatch(/damaged/);
      expect(w).toMatch(/TUBAN_MAX_TILE_BYTES/);
    }
    // This run read no tile: no tile stage's seconds, speed or memory of the earlier run counted as this run's.
    expect(again.report.tiles.every((t) => Object.keys(t.timings).length === 0 && t.peakRssBytes === 0)).toBe(true);
    expect(again.report.megapixelsPerSecond).toEqual({});
    expect(Object.keys(again.report.timings).filter((k) => first.report.tiles.some((t) => k in t.timings))).toEqual([]);
    // Rejected: what this run rejected (planning's three-band prior, the four files too large), not the
    // prior the earlier run could not decode, which this run never tried.
    expect(again.report.rejected.map((r) => r.subject).sort()).toEqual([sc.threeBands, ...sc.current.map((c) => c.file)].sort());
    // The summary's line over these (kept tiles apart from rejected ones) is cli/batch-summary.test.ts's: pipeline tests import no cli/.
  }, 300_000);

  it('keeps a tile whose file is not found now (moved; a queue worker that cannot see the path) and says it was not found', async () => {
    const d = await mkdtemp(join(tmpdir(), 'tuban-rerun-moved-'));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    const sc = await generateScene({ dir: d, size: 256, seed: 7, tilesPerSide: 1 });
    const a = () => BatchArgsSchema.parse({ epoch: sc.epoch, tiles: [sc.currentDir], prior: [sc.priorDir], zones: [sc.zonesPath] });
    const db = await freshDb();
    const first = await runBatch(a(), { db, log, out: join(d, 'first') });
    const month = async () => (await db.query<{ code: string; g: string }>('SELECT code, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const before = await month();
    expect(before.length).toBeGreaterThan(3);
    for (const r of before) await openCase(db, r.code);
    const file = first.report.tiles[0].files[0];
    // Planned where the file was; gone when the tile is read.
    const planned = await planForRun(a());
    await rename(file, `${file}.moved`);
    const again = await runBatch(a(), { db, log, out: join(d, 'again'), planned }).finally(() => rename(`${file}.moved`, file));
    expect(again.report.batchId).toBe(first.report.batchId);
    expect(await month()).toEqual(before);
    expect((await db.query('SELECT code FROM polygons_gone')).rows).toEqual([]);
    expect(again.report.tiles.map((t) => [t.status, t.keptFromEarlierRun?.file, t.keptFromEarlierRun?.error.code])).toEqual([['done', file, 'INPUT.NOT_FOUND']]);
    const warning = again.report.warnings.filter((w) => w.startsWith(`${file}: `));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatch(/: not found now \(INPUT\.NOT_FOUND: .+\); tile .* kept from this batch's earlier run/);
    expect(warning[0]).not.toMatch(/damaged/);
  }, 300_000);
});
