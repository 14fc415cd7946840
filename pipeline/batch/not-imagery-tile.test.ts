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

const BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];

/**
 * Rewrite `file`'s valid pixels band by band: `fill[k]` a number sets band k to it, undefined keeps it.
 * Nodata stays where it was (as `nodata` where given, else the file's), and the top 8 rows become nodata,
 * and the `nodataCols` leftmost columns where given.
 */
async function rewrite(file: string, fill: (number | undefined)[], opts: { nodata?: number; nodataCols?: number } = {}): Promise<void> {
  const { tiles: [info] } = await catalogueTiles([file]);
  const reader = await openTile(info);
  const { width, height } = info.grid;
  const r = await reader.readWindow({ col: 0, row: 0, width, height }, BANDS);
  await reader.close();
  const nodata = opts.nodata ?? info.nodata ?? 0;
  const bands = BANDS.map((b, k) => Float32Array.from(r.bands[b]!, (v, i) => (!r.valid[i] || i < 8 * width || i % width < (opts.nodataCols ?? 0) ? nodata : fill[k] ?? v)));
  await writeGeoTiffArrays(file, { grid: info.grid, dtype: 'uint16', nodata, date: info.date, bands });
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
  it('as the prior of overlapping tiles: the tile left with its neighbours\' slivers is rejected naming the prior, its ground not observed once', async () => {
    const s = await scene('prior-overlap', true);
    const [tile] = await tifs(s.currentDir);
    const [victim, right] = await tifs(s.priorDir);
    const { tiles: [t], rejected } = await catalogueTiles([tile, right]);
    expect(rejected).toEqual([]);
    await rewrite(victim, [800, 900, 1000, 2500]);
    // The right neighbour covers the tile's overlap strip (64 columns, both tiles' 32 px): no data there.
    await rewrite(right, [], { nodataCols: 64 });
    const { report, reasoned } = await run(s, { tiles: [tile], prior: [victim, right] });

    const [outcome] = report.tiles;
    expect(outcome.rejectedPriors!.map((r) => [r.error.code, r.subject])).toEqual([['TILE.NOT_OBSERVABLE', victim]]);
    expect(outcome.status).toBe('rejected');
    expect(outcome.error!.subject).toBe(victim);
    expect(outcome.error!.message).toMatch(/after prior .+ was rejected \(is not imagery \(one value in every band\)\), the priors left cover too little of the tile/);
    expect(outcome.error!.message).toContain(tile);
    const onTile = reasoned.filter((f) => f.tile_id === t.id);
    expect(onTile).toEqual([expect.objectContaining({ reason: 'TILE.NOT_OBSERVABLE', file: victim, input: 'prior' })]);
  }, 180_000);

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
