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
import { openTile } from '../../geo/tile-reader.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../catalogue.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import { BatchArgsSchema } from './batch-args.js';
import { runBatch } from './run-batch.js';

const BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];

/** Rewrite `file`'s valid pixels band by band: `fill[k]` a number sets band k to it, undefined keeps it. Nodata stays where it was, and the top 8 rows become nodata. */
async function rewrite(file: string, fill: (number | undefined)[]): Promise<void> {
  const { tiles: [info] } = await catalogueTiles([file]);
  const reader = await openTile(info);
  const { width, height } = info.grid;
  const r = await reader.readWindow({ col: 0, row: 0, width, height }, BANDS);
  await reader.close();
  const nodata = info.nodata ?? 0;
  const bands = BANDS.map((b, k) => Float32Array.from(r.bands[b]!, (v, i) => (!r.valid[i] || i < 8 * width ? nodata : fill[k] ?? v)));
  await writeGeoTiffArrays(file, { grid: info.grid, dtype: 'uint16', nodata, date: info.date, bands });
}

const tifs = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(dir, f));

describe('a tile that is not imagery (every valid pixel one value in every band)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  const scene = async (name: string): Promise<SceneManifest & { dir: string }> => {
    const dir = await mkdtemp(join(tmpdir(), `tuban-not-imagery-${name}-`));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return { dir, ...(await generateScene({ dir, size: 256, seed: 17, tilesPerSide: 2, tileOverlap: 0 })) };
  };
  const run = async (s: SceneManifest & { dir: string }) => {
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const out = join(s.dir, 'out');
    const { report } = await runBatch(BatchArgsSchema.parse({ epoch: s.epoch, tiles: [s.currentDir], prior: [s.priorDir], zones: [s.zonesPath] }), { db, log: pino({ level: 'silent' }), out });
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
    expect(prior.error.message).toMatch(/every valid pixel has one value in each band \(blue 800, green 900, red 1000, nir 2500\) there: not imagery/);
    // No other prior covers the tile (its neighbours' only touch it): after the fall-back nothing is
    // left to compare, so the tile is rejected too, and its ground is named by the prior.
    expect(served[0].status).toBe('rejected');
    expect(served[0].observedM2).toBe(0);
    expect(reasoned).toContainEqual(expect.objectContaining({ reason: 'TILE.NOT_OBSERVABLE', file: victim, input: 'prior' }));
    expect(report.tiles.filter((t) => t.status === 'done')).toHaveLength(3);
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
