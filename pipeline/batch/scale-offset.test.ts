/**
 * A band's declared scale/offset (GDAL_METADATA, as `gdal_translate -a_offset/-a_scale` writes it;
 * Sentinel-2 L2A from processing baseline 04.00 carries an offset of −1000 counts) is applied when
 * the tile is read. It used to be ignored: a pair written as count + 1000 with offset −1000 was
 * scored on counts 1000 too bright, and gave other polygons than the same imagery without it.
 * Now it gives the very same polygons, whether the offset is in counts or in reflectance units, and
 * whether it is in the file's tags or in a GDAL `.aux.xml` sidecar beside it (ignored too, before).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureCollection } from 'geojson';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { openTile } from '../../geo/tile-reader.js';
import { openGeoTiff } from '../../geo/tiff/open-geotiff.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../catalogue.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import { BatchArgsSchema } from './batch-args.js';
import { runBatch } from './run-batch.js';

const gdalMissing = spawnSync('gdal_translate', ['--version']).status !== 0;
const CI = process.env.CI === 'true';

/**
 * Every file of `from` written to `to` as count + 1000, then given `-a_scale/-a_offset` by GDAL
 * itself, or (`sidecar`) left without and given a `.aux.xml` beside it, as `gdal_edit.py -ro` does.
 */
async function shifted(from: string, to: string, gdalArgs: string[], sidecar?: (bands: number) => string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of (await readdir(from)).filter((f) => f.endsWith('.tif'))) {
    const { tiles: [info] } = await catalogueTiles([join(from, name)]);
    const reader = await openTile(info);
    const bands = Object.keys(info.bands) as (keyof typeof info.bands)[];
    const r = await reader.readWindow({ col: 0, row: 0, width: info.grid.width, height: info.grid.height }, bands as never);
    await reader.close();
    const raw = join(to, `raw-${name}`);
    // NaN (nodata) stays nodata; 0 is the nodata value, as in the plain file.
    await writeGeoTiffArrays(raw, { grid: info.grid, dtype: 'uint16', nodata: 0, date: info.date, bands: bands.map((b) => r.bands[b]!.map((v) => v + 1000)) });
    execFileSync('gdal_translate', ['-q', ...gdalArgs, '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', raw, join(to, name)]);
    if (sidecar) await writeFile(`${join(to, name)}.aux.xml`, sidecar(bands.length));
    await rm(raw);
  }
}

describe.skipIf(gdalMissing && !CI)('declared scale/offset (GDAL_METADATA or a .aux.xml sidecar)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it('gives the same polygons as the same imagery without it, offset in counts or in reflectance, in the tags or a sidecar', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-scale-offset-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const scene = await generateScene({ dir: join(dir, 'scene'), size: 256, seed: 11, tilesPerSide: 1 });
    const variants = { counts: ['-a_offset', '-1000'], reflectance: ['-a_scale', '0.0001', '-a_offset', '-0.1'] };
    for (const [name, args] of Object.entries(variants)) {
      await shifted(scene.currentDir, join(dir, name, 'cur'), args);
      await shifted(scene.priorDir, join(dir, name, 'pri'), args);
    }
    // The offset only in a GDAL .aux.xml sidecar (a read-only share edited with gdal_edit.py -ro, QGIS).
    const pam = (bands: number) => `<PAMDataset>\n${Array.from({ length: bands }, (_, k) => `  <PAMRasterBand band="${k + 1}">\n    <Offset>-1000</Offset>\n    <Scale>1</Scale>\n  </PAMRasterBand>\n`).join('')}</PAMDataset>\n`;
    await shifted(scene.currentDir, join(dir, 'sidecar', 'cur'), [], pam);
    await shifted(scene.priorDir, join(dir, 'sidecar', 'pri'), [], pam);
    const sample = (await readdir(join(dir, 'counts', 'cur'))).find((f) => f.endsWith('.tif'))!;
    const f = await openGeoTiff(join(dir, 'counts', 'cur', sample));
    expect(f.bandScaling).toEqual([0, 1, 2, 3].map(() => ({ scale: 1, offset: -1000 })));
    await f.close();

    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    const polygons = async (cur: string, pri: string, out: string) => {
      await runBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [cur], prior: [pri], zones: [scene.zonesPath] }), { db, log: pino({ level: 'silent' }), out });
      const fc = JSON.parse(await readFile(join(out, 'polygons.geojson'), 'utf8')) as FeatureCollection;
      // Everything but the tile id (other files, another id) and the site link (an earlier run's site).
      return fc.features.map((x) => JSON.stringify([x.geometry, x.properties?.area_m2, x.properties?.change_type, x.properties?.confidence, x.properties?.reasons]));
    };
    const plain = await polygons(scene.currentDir, scene.priorDir, join(dir, 'out-plain'));
    expect(plain.length).toBeGreaterThan(5);
    expect(await polygons(join(dir, 'counts', 'cur'), join(dir, 'counts', 'pri'), join(dir, 'out-counts'))).toEqual(plain);
    expect(await polygons(join(dir, 'reflectance', 'cur'), join(dir, 'reflectance', 'pri'), join(dir, 'out-reflectance'))).toEqual(plain);
    expect(await polygons(join(dir, 'sidecar', 'cur'), join(dir, 'sidecar', 'pri'), join(dir, 'out-sidecar'))).toEqual(plain);
  }, 300_000);
});
