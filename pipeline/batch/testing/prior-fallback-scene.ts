/**
 * A month whose one current tile has two prior tiles over it, the first of which does not decode,
 * for the tests of the fall-back to the next prior (embedded and queue). Imported by tests only.
 *
 * The current epoch is one 256² tile. The prior folder holds:
 * - `a_broken.tif`: the whole prior scene, its first chunk's checksum broken (TILE.UNREADABLE when
 *   read). Its name sorts first, so it is the prior the plan puts first in the tile's mosaic;
 * - the prior scene's own file, cut to its west half (`westHalf`): the next prior, which decodes.
 * `westOnly` is a folder with the west half alone: the batch the fall-back must equal.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Polygon } from 'geojson';
import { generateScene } from '../../../fixtures/synthetic-scene.js';
import { openTile } from '../../../geo/tile-reader.js';
import { windowGrid } from '../../../geo/raster.js';
import { writeGeoTiffArrays } from '../../../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../../catalogue.js';
import { breakFirstChunk } from './rejected-prior-scene.js';

export interface PriorFallbackScene {
  epoch: string;
  currentDir: string;
  priorDir: string;
  zonesPath: string;
  current: { file: string; footprint: Polygon };
  broken: { file: string; footprint: Polygon };
  westHalf: { file: string; footprint: Polygon; date: string };
  /** A prior folder holding only the west half (a copy of it, under the same name). */
  westOnly: string;
}

export async function priorFallbackScene(dir: string, seed = 31): Promise<PriorFallbackScene> {
  const scene = await generateScene({ dir, size: 256, seed, tilesPerSide: 1 });
  const [cur] = (await catalogueTiles([scene.currentDir])).tiles;
  const [pri] = (await catalogueTiles([scene.priorDir])).tiles;
  if (!cur || !pri) throw new Error('expected one current and one prior tile');

  const broken = join(scene.priorDir, 'a_broken.tif');
  await copyFile(pri.files[0], broken);
  await breakFirstChunk(broken);

  // The prior scene's own file, rewritten with its west half only.
  const reader = await openTile(pri);
  const win = { col: 0, row: 0, width: pri.grid.width / 2, height: pri.grid.height };
  const r = await reader.readWindow(win, ['blue', 'green', 'red', 'nir']);
  await reader.close();
  await writeGeoTiffArrays(pri.files[0], {
    grid: windowGrid(pri.grid, win), dtype: 'uint16', nodata: pri.nodata ?? undefined, date: pri.date,
    bands: [r.bands.blue!, r.bands.green!, r.bands.red!, r.bands.nir!].map((b) => Float32Array.from(b, (v) => (Number.isNaN(v) ? (pri.nodata ?? 0) : v))),
  });
  const westOnly = join(dir, 'prior-west');
  await mkdir(westOnly);
  await copyFile(pri.files[0], join(westOnly, pri.files[0].split('/').at(-1)!));
  const { tiles } = await catalogueTiles([scene.priorDir]);
  const byFile = (f: string) => tiles.find((t) => t.files[0] === f)!;
  return {
    epoch: scene.epoch,
    currentDir: scene.currentDir,
    priorDir: scene.priorDir,
    zonesPath: scene.zonesPath,
    current: { file: cur.files[0], footprint: cur.footprint },
    broken: { file: broken, footprint: byFile(broken).footprint },
    westHalf: { file: pri.files[0], footprint: byFile(pri.files[0]).footprint, date: pri.date },
    westOnly,
  };
}
