/**
 * A tile whose valid pixels all hold one value in every band (a failed export, a tile filled with a
 * constant, a saturated or zero-scaled product not declared nodata) is not imagery. It used to be
 * compared: as a current tile its ground came out observed, so real violations there were missed for
 * the month. Now such a current tile is rejected by name (TILE.NOT_OBSERVABLE), its ground not
 * observed; such a prior is rejected as a prior (the tile falls back past it, and where nothing is
 * left is rejected naming the prior). A band constant while others vary is real imagery: compared.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureCollection, MultiPolygon } from 'geojson';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../../fixtures/synthetic-scene.js';
import type { BandName } from '../../geo/raster.js';
import { openMosaic, openTile } from '../../geo/tile-reader.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../catalogue.js';
import { detectTile } from '../detect/detect-tile.js';
import { rejectedPriorsOf } from '../detect/not-imagery.js';
import { TubanError } from '../../schemas/errors.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import { BatchArgsSchema, detectorParamsFor } from './batch-args.js';
import { runBatch } from './run-batch.js';
import { breakFirstChunk } from './testing/rejected-prior-scene.js';

const BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];

/**
 * Rewrite `file`'s valid pixels band by band: `fill[k]` a number sets band k to it, undefined keeps it.
 * Nodata stays where it was (as `nodata` where given, else the file's), and the top 8 rows become nodata,
 * and the `nodataCols` leftmost columns where given.
 */
async function rewrite(file: string, fill: (number | undefined)[], opts: { nodata?: number; nodataCols?: number; tileSize?: number } = {}): Promise<void> {
  const { tiles: [info] } = await catalogueTiles([file]);
  const reader = await openTile(info);
  const { width, height } = info.grid;
  const r = await reader.readWindow({ col: 0, row: 0, width, height }, BANDS);
  await reader.close();
  const nodata = opts.nodata ?? info.nodata ?? 0;
  const bands = BANDS.map((b, k) => Float32Array.from(r.bands[b]!, (v, i) => (!r.valid[i] || i < 8 * width || i % width < (opts.nodataCols ?? 0) ? nodata : fill[k] ?? v)));
  await writeGeoTiffArrays(file, { grid: info.grid, dtype: 'uint16', nodata, date: info.date, bands, tileSize: opts.tileSize });
}

const tifs = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(dir, f));

describe('a tile that is not imagery (every valid pixel one value in every band)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  /** 2 × 2 tiles a side, not overlapping unless `overlap` (the scene's default overlap). */
  const scene = async (name: string, overlap = false): Promise<SceneManifest & { dir: string }> => {
    const dir = await mkdtemp(join(tmpdir(), `tuban-not-imagery-${name}-`));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return { dir, ...(await generateScene({ dir, size: 256, seed: 17, tilesPerSide: 2, ...(overlap ? {} : { tileOverlap: 0 }) })) };
  };
  /** The scene as a batch, or only the `tiles` and `prior` files given. */
  const run = async (s: SceneManifest & { dir: string }, only: { tiles?: string[]; prior?: string[] } = {}) => {
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const out = join(s.dir, 'out');
    const { report } = await runBatch(BatchArgsSchema.parse({ epoch: s.epoch, tiles: only.tiles ?? [s.currentDir], prior: only.prior ?? [s.priorDir], zones: [s.zonesPath] }), { db, log: pino({ level: 'silent' }), out });
    const hidden = JSON.parse(await readFile(join(out, 'not-observed.geojson'), 'utf8')) as FeatureCollection<MultiPolygon>;
    return { report, reasoned: hidden.features.filter((f) => f.properties?.reason).map((f) => f.properties!) };
  };

  it('as the current tile: rejected by name (TILE.NOT_OBSERVABLE), its ground not observed, the others compared', async () => {
    const s = await scene('current');
    const [victim] = await tifs(s.currentDir);
    await rewrite(victim, [1000, 1000, 1000, 1000]);
    const { report, reasoned } = await run(s);

    const tile = report.tiles.find((t) => t.files[0] === victim)!;
    expect(tile.status).toBe('rejected');
    expect(tile.observedM2).toBe(0);
    expect(report.rejected.map((r) => [r.error.code, r.subject])).toEqual([['TILE.NOT_OBSERVABLE', victim]]);
    const message = report.rejected[0].error.message;
    expect(message).toContain(victim);
    expect(message).toMatch(/every valid pixel has the value 1000 in every band: not imagery/);
    expect(reasoned).toEqual([expect.objectContaining({ reason: 'TILE.NOT_OBSERVABLE', file: victim, input: 'current' })]);
    // The batch's other tiles are compared as before (exit 3: some compared, an input rejected).
    expect(report.tiles.filter((t) => t.status === 'done')).toHaveLength(3);
  }, 180_000);

  it('as the prior: rejected as a prior, naming its file; the tile it alone served is not observed', async () => {
    const s = await scene('prior');
    const [victim] = await tifs(s.priorDir);
    await rewrite(victim, [800, 900, 1000, 2500]);
    const { report, reasoned } = await run(s);

    const served = report.tiles.filter((t) => t.rejectedPriors?.length);
    expect(served).toHaveLength(1);
    expect(served[0].rejectedPriors!.map((r) => [r.error.code, r.subject])).toEqual([['TILE.NOT_OBSERVABLE', victim]]);
    const prior = report.rejected.find((r) => r.subject === victim)!;
    expect(prior.error.code).toBe('TILE.NOT_OBSERVABLE');
    expect(prior.error.message).toContain(victim);
    expect(prior.error.message).toMatch(/every valid pixel read over .+ has one value in each band \(blue 800, green 900, red 1000, nir 2500\): not imagery/);
    // No other prior covers the tile (its neighbours' only touch it): after the fall-back nothing is
    // left to compare, so the tile is rejected too, and its ground is named by the prior.
    expect(served[0].status).toBe('rejected');
    expect(served[0].observedM2).toBe(0);
    expect(reasoned).toContainEqual(expect.objectContaining({ reason: 'TILE.NOT_OBSERVABLE', file: victim, input: 'prior' }));
    expect(report.tiles.filter((t) => t.status === 'done')).toHaveLength(3);
  }, 180_000);

  // A saturated (65535) or zero-scaled (0, another value declared nodata) prior looks like cloud or
  // shadow to the weather gates that run before the strips: it is told as not imagery first, from the
  // fit's sample, and rejected as the prior it is (the tile falls back past it), not as the current
  // tile's weather.
  it.each([
    ['saturated (65535)', 65535, undefined],
    ['zero-scaled (0, nodata 65535 declared)', 0, 65535],
  ])('as a %s prior: rejected as the prior, not as cloud naming the current tile', async (_, value, nodata) => {
    const s = await scene(`prior-${value}`);
    const [victim] = await tifs(s.priorDir);
    await rewrite(victim, [value, value, value, value], { nodata });
    const { report } = await run(s);

    const served = report.tiles.filter((t) => t.rejectedPriors?.length);
    expect(served).toHaveLength(1);
    expect(served[0].rejectedPriors!.map((r) => [r.error.code, r.subject])).toEqual([['TILE.NOT_OBSERVABLE', victim]]);
    expect(served[0].rejectedPriors![0].error.message).toContain(`every valid pixel read over ${served[0].files[0]} has the value ${value} in every band: not imagery`);
    expect(report.rejected.map((r) => r.error.message).join('\n')).not.toMatch(/cloud or shadow/);
    expect(report.tiles.filter((t) => t.status === 'done')).toHaveLength(3);
  }, 180_000);

  it('as a saturated (65535) current tile: rejected as not imagery, not as cloud', async () => {
    const s = await scene('current-65535');
    const [victim] = await tifs(s.currentDir);
    await rewrite(victim, [65535, 65535, 65535, 65535]);
    const { report } = await run(s);
    expect(report.rejected.map((r) => [r.error.code, r.subject])).toEqual([['TILE.NOT_OBSERVABLE', victim]]);
    expect(report.rejected[0].error.message).toMatch(/every valid pixel has the value 65535 in every band: not imagery/);
    expect(report.tiles.filter((t) => t.status === 'done')).toHaveLength(3);
  }, 180_000);

  // Every constant prior of a tile is told at once, so the tile falls back past them all in one step
  // (not one full detection for each).
  it('tells every prior of a tile that is not imagery at once', async () => {
    // One current tile over four prior tiles (the same scene cut 2 × 2): two of them constant.
    const dir = await mkdtemp(join(tmpdir(), 'tuban-not-imagery-two-priors-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const cur = await generateScene({ dir: join(dir, 'a'), size: 256, seed: 17, tilesPerSide: 1 });
    const pri = await generateScene({ dir: join(dir, 'b'), size: 256, seed: 17, tilesPerSide: 2, tileOverlap: 0 });
    const [a, b, ...rest] = await tifs(pri.priorDir);
    await rewrite(a, [1000, 1000, 1000, 1000]);
    await rewrite(b, [1200, 1200, 1200, 1200]);
    const { tiles: [tile] } = await catalogueTiles(await tifs(cur.currentDir));
    const { tiles: priors } = await catalogueTiles([a, b, ...rest]);
    const current = await openTile(tile);
    const prior = await openMosaic(priors);
    try {
      const params = detectorParamsFor(BatchArgsSchema.parse({ epoch: cur.epoch, tiles: [cur.currentDir], prior: [pri.priorDir], zones: [cur.zonesPath] }));
      const thrown = await detectTile(current, prior, { params, bands: BANDS, scoreWorkers: 0 }).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(TubanError);
      expect(rejectedPriorsOf(thrown as TubanError).map((e) => [e.code, e.subject])).toEqual([['TILE.NOT_OBSERVABLE', a], ['TILE.NOT_OBSERVABLE', b]]);
    } finally {
      await Promise.allSettled([current.close(), prior.close()]);
    }
  }, 180_000);

  // With the tiles overlapping (the default), the tile's own prior gone leaves its neighbours' over the
  // overlap strip only; where they hold no data there (here: nodata over it) the epoch fit finds no
  // sampled pixel valid in both epochs. That is the dropped prior's doing: the tile is rejected naming
  // it, and its ground is not observed once, not once for each file.
  // (A prior that does not decode likewise: its ground there named by its own reason, a file to download again.)
  it.each([
    ['not imagery', 'TILE.NOT_OBSERVABLE', /is not imagery \(one value in every band\)/],
    ['not decoding', 'TILE.UNREADABLE', /did not decode/],
  ])('as the prior of overlapping tiles (%s): the tile left with its neighbours\' slivers is rejected naming the prior, its ground not observed once', async (name, reason, why) => {
    const s = await scene(`prior-overlap-${name.replace(' ', '-')}`, true);
    const [tile] = await tifs(s.currentDir);
    const [victim, right] = await tifs(s.priorDir);
    const { tiles: [t], rejected } = await catalogueTiles([tile, right]);
    expect(rejected).toEqual([]);
    if (reason === 'TILE.UNREADABLE') await breakFirstChunk(victim);
    else await rewrite(victim, [800, 900, 1000, 2500]);
    // The right neighbour covers the tile's overlap strip (64 columns, both tiles' 32 px): no data there.
    await rewrite(right, [], { nodataCols: 64 });
    const { report, reasoned } = await run(s, { tiles: [tile], prior: [victim, right] });

    const [outcome] = report.tiles;
    expect(outcome.rejectedPriors!.map((r) => [r.error.code, r.subject])).toEqual([[reason, victim]]);
    expect(outcome.status).toBe('rejected');
    expect(outcome.error!.subject).toBe(victim);
    expect(outcome.error!.message).toMatch(/after prior .+ was rejected \(.+\), the priors left cover too little of the tile/);
    expect(outcome.error!.message).toMatch(why);
    expect(outcome.error!.message).toContain(tile);
    const onTile = reasoned.filter((f) => f.tile_id === t.id);
    expect(onTile).toEqual([expect.objectContaining({ reason, file: victim, input: 'prior' })]);
  }, 180_000);

  // The tile's own epoch under nodata: the priors left after one was dropped are not why nothing is
  // compared (they cover the tile), the tile is; its own rejection stands.
  it('as a current tile under nodata, after a prior was dropped: rejected as the tile, not naming the prior', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-not-imagery-own-nodata-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const cur = await generateScene({ dir: join(dir, 'a'), size: 256, seed: 17, tilesPerSide: 1 });
    const pri = await generateScene({ dir: join(dir, 'b'), size: 256, seed: 17, tilesPerSide: 2, tileOverlap: 0 });
    const [tile] = await tifs(cur.currentDir);
    const [constant] = await tifs(pri.priorDir);
    await rewrite(constant, [1000, 1000, 1000, 1000]);
    // Nodata all over the tile (a cloud mask over it all).
    await rewrite(tile, [], { nodataCols: 256 });
    const { report, reasoned } = await run({ dir, ...cur }, { tiles: [tile], prior: [pri.priorDir] });
    const [outcome] = report.tiles;
    expect(outcome.rejectedPriors?.map((r) => r.subject)).toEqual([constant]);
    expect([outcome.status, outcome.error?.code, outcome.error?.subject]).toEqual(['rejected', 'TILE.NOT_OBSERVABLE', tile]);
    expect(outcome.error!.message).toMatch(/sampled pixels are valid in both epochs/);
    expect(outcome.error!.message).not.toMatch(/the priors left cover too little/);
  }, 180_000);

  // A prior the earlier run dropped as not imagery said nothing of what that run compared the tile
  // with: another prior it did compare, unreadable now, keeps that run's result as it would alone.
  it('on a re-run, does not stop a keep for a compared prior not read now, where it was not imagery in the earlier run too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-not-imagery-rerun-keep-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const cur = await generateScene({ dir: join(dir, 'a'), size: 512, seed: 17, tilesPerSide: 1 });
    const pri = await generateScene({ dir: join(dir, 'b'), size: 512, seed: 17, tilesPerSide: 2, tileOverlap: 0 });
    const priors = await tifs(pri.priorDir);
    const { tiles: infos } = await catalogueTiles(priors);
    const corner = (i: (typeof infos)[number]) => {
      const ring = (i.footprint as { coordinates: number[][][] }).coordinates[0];
      return [Math.max(...ring.map((c) => c[1])), -Math.min(...ring.map((c) => c[0]))];
    };
    // P: the north-west prior, in 16 px chunks, so its first chunk (the tile's top rows) lies outside
    // the fit's sample and is read only once the constant prior C was told there.
    const byCorner = [...infos].sort((x, y) => corner(y)[0] - corner(x)[0] || corner(y)[1] - corner(x)[1]);
    const [P, C] = [byCorner[0].files[0], byCorner[3].files[0]];
    await rewrite(P, [], { tileSize: 16 });
    await rewrite(C, [1000, 1000, 1000, 1000]);
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const a = BatchArgsSchema.parse({ epoch: cur.epoch, tiles: [cur.currentDir], prior: [pri.priorDir], zones: [cur.zonesPath] });
    const log = pino({ level: 'silent' });
    const first = await runBatch(a, { db, log, out: join(dir, 'first') });
    expect(first.report.tiles.map((t) => [t.status, t.rejectedPriors?.map((r) => r.subject)])).toEqual([['done', [C]]]);
    const month = async () => (await db.query<{ code: string; g: string }>('SELECT code, md5(ST_AsBinary(geom)) AS g FROM polygons ORDER BY code')).rows;
    const before = await month();

    await breakFirstChunk(P);
    const again = await runBatch(a, { db, log, out: join(dir, 'again') });
    expect(again.report.batchId).toBe(first.report.batchId);
    const [outcome] = again.report.tiles;
    expect([outcome.status, outcome.keptFromEarlierRun?.file, outcome.keptFromEarlierRun?.rejectedPriors?.map((r) => r.subject)]).toEqual(['done', P, [C]]);
    expect(await month()).toEqual(before);
  }, 300_000);

  it('is not a tile with one band constant and the others real: compared as usual', async () => {
    const s = await scene('one-band');
    const [victim] = await tifs(s.currentDir);
    await rewrite(victim, [undefined, undefined, undefined, 2500]);
    const { report } = await run(s);
    expect(report.rejected).toEqual([]);
    const tile = report.tiles.find((t) => t.files[0] === victim)!;
    expect(tile.status).toBe('done');
    expect(tile.observedM2).toBeGreaterThan(0);
  }, 180_000);
});
