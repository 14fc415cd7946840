/**
 * A GDAL `.aux.xml` sidecar beside an input, through the catalogue and the tile reader: per-band
 * Sentinel-2 files and multiband files whose scale/offset and nodata live only in sidecars read
 * as the same files with them in the tags do, the tile id (so the batch id) tells them from the bare
 * files, and a sidecar that cannot be read rejects its tile by name while the other tiles go on.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BandName, Grid } from '../geo/raster.js';
import { openTile } from '../geo/tile-reader.js';
import type { TileInfo } from '../geo/tile-reader.js';
import { writeGeoTiffArrays } from '../geo/tiff/write-geotiff.js';
import { DISPOSITION } from '../schemas/errors.js';
import { catalogueTiles } from './catalogue.js';

const root = mkdtempSync(join(tmpdir(), 'tuban-pam-cat-'));
const grid: Grid = { crs: 'EPSG:32650', width: 48, height: 32, transform: [500000, 10, 0, 4000320, 0, -10] };
const n = grid.width * grid.height;
const BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];
const S2 = ['B02', 'B03', 'B04', 'B08'];
/** Counts + 1000, as Sentinel-2 L2A of baseline 04.00 stores them; 0 is fill along the left edge. */
const counts = BANDS.map((_, b) => Uint16Array.from({ length: n }, (_, i) => (i % grid.width < 3 ? 0 : 1000 + 400 + b * 350 + ((i * 13) % 211))));
const OFFSET = { scale: 1, offset: -1000 };

/** A sidecar giving every one of `bands` bands `inner`, as gdal_edit.py -ro writes them. */
function sidecar(bands: number, inner: string): string {
  return `<PAMDataset>\n${Array.from({ length: bands }, (_, k) => `  <PAMRasterBand band="${k + 1}">\n${inner}  </PAMRasterBand>\n`).join('')}</PAMDataset>\n`;
}

/** The four bands as Sentinel-2 band files (`kind`: tags, sidecars, or neither) and as one multiband file, in `dir`. */
async function writeTiles(dir: string, kind: 'tag' | 'sidecar' | 'bare'): Promise<void> {
  mkdirSync(join(dir, 's2'), { recursive: true });
  const tagged = kind === 'tag' ? { nodata: 0, bandScaling: [OFFSET] } : {};
  for (const [k, b] of S2.entries()) {
    const path = join(dir, 's2', `T50SMF_20261008_${b}.tif`);
    await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: [counts[k]], ...tagged });
    if (kind === 'sidecar') writeFileSync(`${path}.aux.xml`, sidecar(1, '    <NoDataValue>0.00000000000000E+00</NoDataValue>\n    <Offset>-1000</Offset>\n    <Scale>1</Scale>\n'));
  }
  const stack = join(dir, 'stack_20261008.tif');
  await writeGeoTiffArrays(stack, { grid, dtype: 'uint16', bands: counts, ...(kind === 'tag' ? { nodata: 0, bandScaling: counts.map(() => OFFSET) } : {}) });
  if (kind === 'sidecar') writeFileSync(`${stack}.aux.xml`, sidecar(4, '    <NoDataValue>0</NoDataValue>\n    <Offset>-1000</Offset>\n'));
}

async function read(info: TileInfo) {
  const reader = await openTile(info);
  try {
    const r = await reader.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, BANDS);
    return { bands: BANDS.map((b) => Array.from(r.bands[b]!)), valid: Array.from(r.valid) };
  } finally {
    await reader.close();
  }
}

describe('catalogueTiles with GDAL .aux.xml sidecars', () => {
  it('reads per-band and multiband files whose radiometry is only in sidecars as the same files with it in tags, under another tile id than the bare files', async () => {
    const sets = { tag: join(root, 'tag'), sidecar: join(root, 'sidecar'), bare: join(root, 'bare') };
    for (const [kind, dir] of Object.entries(sets)) await writeTiles(dir, kind as keyof typeof sets);
    const cat = async (dir: string) => {
      const got = await catalogueTiles([dir]);
      expect(got.rejected).toEqual([]);
      expect(got.tiles.map((t) => t.files.length).sort()).toEqual([1, 4]);
      return got.tiles;
    };
    const [tag, side, bare] = [await cat(sets.tag), await cat(sets.sidecar), await cat(sets.bare)];
    for (let t = 0; t < 2; t++) {
      expect(side[t].nodata).toBe(0);
      expect(bare[t].nodata).toBeNull();
      const want = await read(tag[t]);
      expect(await read(side[t])).toEqual(want);
      // Before: the offset and the fill were not seen.
      expect(await read(bare[t])).not.toEqual(want);
      expect(side[t].id).not.toBe(bare[t].id);
    }
    // A sidecar that changes no radiometry (a description, statistics) keeps the bare file's id.
    const stats = join(sets.bare, 'stack_20261008.tif.aux.xml');
    writeFileSync(stats, sidecar(4, '    <Metadata>\n      <MDI key="STATISTICS_MEAN">1500.5</MDI>\n    </Metadata>\n'));
    const again = await cat(sets.bare);
    expect(again.map((t) => t.id)).toEqual(bare.map((t) => t.id));
  });

  it('rejects the tile of a sidecar that cannot be read by name, naming the sidecar, and reads the others', async () => {
    const dir = join(root, 'bad');
    await writeTiles(dir, 'sidecar');
    const good = join(dir, 'good_20261008.tif');
    await writeGeoTiffArrays(good, { grid, dtype: 'uint16', bands: counts, nodata: 0 });
    const red = join(dir, 's2', 'T50SMF_20261008_B04.tif');
    writeFileSync(`${red}.aux.xml`, sidecar(1, '    <Offset>-1000</Offset>\n    <NoDataValue>n/a</NoDataValue>\n'));
    const stack = join(dir, 'stack_20261008.tif');
    writeFileSync(`${stack}.aux.xml`, sidecar(5, '    <Offset>-1000</Offset>\n'));
    const { tiles, rejected } = await catalogueTiles([dir]);
    expect(tiles.map((t) => t.files)).toEqual([[good]]);
    expect(rejected.map((r) => [r.subject, r.error.code, r.error.message])).toEqual([
      [red, 'TILE.UNREADABLE', `${red}: GDAL sidecar T50SMF_20261008_B04.tif.aux.xml gives band 1 NoDataValue 'n/a', not a number (line 4)`],
      [stack, 'TILE.UNREADABLE', `${stack}: GDAL sidecar stack_20261008.tif.aux.xml describes band 5, the file has 4 bands (line 14)`],
    ]);
    expect(DISPOSITION['TILE.UNREADABLE']).toBe('skip');
  });

  it('keeps the bare file\'s tile id under a sidecar <SRS> of its own CRS, and rejects by name one that would place the tile in another', async () => {
    const dir = join(root, 'srs');
    await writeTiles(dir, 'bare');
    const before = (await catalogueTiles([dir])).tiles;
    // As `gdal_edit.py -ro -a_srs EPSG:32650` writes it (GDAL 3.6), beside every band file.
    const own = 'PROJCS["WGS 84 / UTM zone 50N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",117],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","32650"]]';
    const srs = (wkt: string) => `<PAMDataset>\n  <SRS dataAxisToSRSAxisMapping="1,2">${wkt}</SRS>\n</PAMDataset>\n`;
    for (const b of S2) writeFileSync(join(dir, 's2', `T50SMF_20261008_${b}.tif.aux.xml`), srs(own));
    const stack = join(dir, 'stack_20261008.tif');
    writeFileSync(`${stack}.aux.xml`, srs(own));
    const same = await catalogueTiles([dir]);
    expect(same.rejected).toEqual([]);
    expect(same.tiles.map((t) => [t.id, t.grid.crs])).toEqual(before.map((t) => [t.id, 'EPSG:32650']));

    // The zone east of it: GDAL would put the stack 6° away.
    writeFileSync(`${stack}.aux.xml`, srs(own.replace('zone 50N', 'zone 51N').replace('central_meridian",117', 'central_meridian",123').replace('"32650"', '"32651"')));
    const moved = await catalogueTiles([dir]);
    expect(moved.tiles.map((t) => t.files.length)).toEqual([4]);
    expect(moved.rejected.map((r) => [r.subject, r.error.code])).toEqual([[stack, 'TILE.UNREADABLE']]);
    expect(moved.rejected[0].error.message).toContain('GDAL sidecar stack_20261008.tif.aux.xml gives another coordinate system (SRS EPSG:32651 "WGS 84 / UTM zone 51N"; the file\'s own EPSG:32650)');
  });
});
