/**
 * A month whose prior epoch has two broken tiles, for the tests of a rejected prior's ground
 * (embedded and queue). Imported by tests only.
 *
 * The current epoch is a 256² scene in 2 × 2 tiles, the prior the same scene in 3 × 3 tiles, so a
 * prior tile serves parts of several current tiles. Two prior tiles are broken:
 * - the centre one has 3 bands (TILE.BAND_MISMATCH when planned: its header, so its footprint, was
 *   read); the four current tiles around it are compared with the prior that remains;
 * - the north-west corner one has a zlib checksum that does not match its first chunk (TILE.UNREADABLE
 *   when the current tile it serves reads it: that tile falls back to the prior tiles north and west
 *   of the centre, which cover its east and south edges only).
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Polygon } from 'geojson';
import { fromFile } from 'geotiff';
import { generateScene } from '../../../fixtures/synthetic-scene.js';
import { openTile } from '../../../geo/tile-reader.js';
import { writeGeoTiffArrays } from '../../../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../../catalogue.js';

export interface RejectedPriorScene {
  epoch: string;
  currentDir: string;
  priorDir: string;
  zonesPath: string;
  /** Current tiles' files, north-west first, and their footprints. */
  current: { file: string; footprint: Polygon }[];
  /** Every prior tile's file and footprint, north-west first (row by row). */
  prior: { file: string; footprint: Polygon }[];
  /** The centre prior tile, rewritten with 3 bands. */
  threeBands: string;
  /** The north-west prior tile, its first chunk's checksum broken. */
  badChecksum: string;
}

export async function rejectedPriorScene(dir: string, seed = 23): Promise<RejectedPriorScene> {
  const cur = await generateScene({ dir: join(dir, 'a'), size: 256, seed, tilesPerSide: 2, tileOverlap: 1 });
  const pri = await generateScene({ dir: join(dir, 'b'), size: 256, seed, tilesPerSide: 3, tileOverlap: 1 });
  const described = async (folder: string) => {
    const files = (await readdir(folder)).filter((f) => f.endsWith('.tif')).map((f) => join(folder, f));
    const { tiles } = await catalogueTiles(files);
    // North-west first, row by row: by the footprint's north edge, then its west edge.
    const key = (p: Polygon) => [-Math.max(...p.coordinates[0].map((c) => c[1])), Math.min(...p.coordinates[0].map((c) => c[0]))];
    return tiles
      .map((t) => ({ file: t.files[0], footprint: t.footprint, info: t }))
      .sort((a, b) => {
        const [ay, ax] = key(a.footprint);
        const [by, bx] = key(b.footprint);
        return Math.abs(ay - by) > 1e-4 ? ay - by : ax - bx;
      });
  };
  const current = await described(cur.currentDir);
  const prior = await described(pri.priorDir);
  if (current.length !== 4 || prior.length !== 9) throw new Error(`expected 4 current and 9 prior tiles, got ${current.length} and ${prior.length}`);

  // The centre prior tile with its first three bands only.
  const centre = prior[4];
  const reader = await openTile(centre.info);
  const { width, height } = centre.info.grid;
  const r = await reader.readWindow({ col: 0, row: 0, width, height }, ['blue', 'green', 'red']);
  await reader.close();
  await writeGeoTiffArrays(centre.file, {
    grid: centre.info.grid, dtype: 'uint16', nodata: centre.info.nodata ?? undefined, date: centre.info.date,
    bands: [r.bands.blue!, r.bands.green!, r.bands.red!].map((b) => Float32Array.from(b)),
  });

  // The north-west prior tile: its first chunk's checksum broken (a bad download).
  const nw = prior[0].file;
  await breakFirstChunk(nw);

  return {
    epoch: cur.epoch,
    currentDir: cur.currentDir,
    priorDir: pri.priorDir,
    zonesPath: cur.zonesPath,
    current: current.map(({ file, footprint }) => ({ file, footprint })),
    prior: prior.map(({ file, footprint }) => ({ file, footprint })),
    threeBands: centre.file,
    badChecksum: nw,
  };
}

/**
 * Flip a bit of a deflated GeoTIFF's first chunk's adler32 trailer, as a bad download does: the
 * header (grid, date) still reads, the chunk does not decode (TILE.UNREADABLE when read).
 */
export async function breakFirstChunk(file: string): Promise<void> {
  const ifd = (await (await fromFile(file)).getImage()).fileDirectory;
  const tiled = ifd.hasTag('TileOffsets');
  const first = async (tag: 'TileOffsets' | 'StripOffsets' | 'TileByteCounts' | 'StripByteCounts') => Number(((await ifd.loadValue(tag)) as ArrayLike<number>)[0]);
  const end = (await first(tiled ? 'TileOffsets' : 'StripOffsets')) + (await first(tiled ? 'TileByteCounts' : 'StripByteCounts'));
  const bytes = Buffer.from(await readFile(file));
  bytes[end - 1] ^= 1;
  await writeFile(file, bytes);
}
