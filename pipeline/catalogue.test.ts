import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Grid } from '../geo/raster.js';
import { writeGeoTiffArrays } from '../geo/tiff/write-geotiff.js';
import { catalogueTiles } from './catalogue.js';
import { openTile } from '../geo/tile-reader.js';

const root = mkdtempSync(join(tmpdir(), 'tuban-cat-'));
const grid: Grid = { crs: 'EPSG:32650', width: 20, height: 10, transform: [500000, 10, 0, 4000000, 0, -10] };
const band = (k: number) => new Uint16Array(grid.width * grid.height).fill(100 * k);

async function multi(path: string, count: number, date?: string, bandDescriptions?: string[]): Promise<void> {
  await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: Array.from({ length: count }, (_, k) => band(k + 1)), date, nodata: 0, bandDescriptions });
}

describe('catalogueTiles', () => {
  it('catalogues multiband files from folders and globs, with ids, footprints and dates', async () => {
    const d = join(root, 'multi');
    mkdirSync(join(d, 'sub'), { recursive: true });
    await multi(join(d, 'a.tif'), 4, '2024-03-02');
    await multi(join(d, 'sub', 'scene_2023-11-05.tif'), 4);
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    expect(tiles.map((t) => t.date)).toEqual(['2024-03-02', '2023-11-05']);
    const a = tiles[0];
    expect(a.bands).toEqual({ blue: { file: join(d, 'a.tif'), sample: 0 }, green: { file: join(d, 'a.tif'), sample: 1 }, red: { file: join(d, 'a.tif'), sample: 2 }, nir: { file: join(d, 'a.tif'), sample: 3 } });
    expect([a.dtype, a.nodata]).toEqual(['uint16', 0]);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    // UTM 50N easting 500000 is lon 117 exactly; the ring is closed and densified.
    const ring = a.footprint.coordinates[0];
    expect(ring[0][0]).toBeCloseTo(117, 9);
    expect(ring).toHaveLength(65);
    expect(ring[64]).toEqual(ring[0]);

    const again = await catalogueTiles([join(d, '*.tif')]);
    expect(again.tiles.map((t) => t.id)).toEqual([a.id]);
  });

  it('reads a tile found twice (a copy in a subfolder) once, with a warning naming both and the one read: the shallower', async () => {
    const d = join(root, 'copies');
    mkdirSync(join(d, 'backup'), { recursive: true });
    await multi(join(d, 'T50SMF_20261008.tif'), 4);
    await multi(join(d, 'backup', 'T50SMF_20261008.tif'), 4);
    const { tiles, rejected, warnings } = await catalogueTiles([d]);
    expect([tiles.length, rejected]).toEqual([1, []]);
    // 'backup/…' sorts before 'T50SMF…': the copy was read.
    expect(tiles[0].files).toEqual([join(d, 'T50SMF_20261008.tif')]);
    expect(warnings).toContainEqual(
      `${join(d, 'backup', 'T50SMF_20261008.tif')}: the same tile as ${join(d, 'T50SMF_20261008.tif')} (same file names, sizes and grid); ${join(d, 'T50SMF_20261008.tif')} is read, this copy left out`,
    );
  });

  // Real pixels (not one value): their fingerprint tells the acquisition.
  const pixels = (seed: number) => [0, 1, 2, 3].map((b) => Uint16Array.from({ length: grid.width * grid.height }, (_, i) => 1000 + b * 300 + ((i * 7919 + seed * 104729) % 613)));
  const writeSeeded = (path: string, seed: number, compression: 'deflate' | 'none' = 'deflate') =>
    writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: pixels(seed), nodata: 0, date: '2026-10-08', compression });

  it('refuses the same imagery under other names in one batch, keeping the original name (not a copy\'s, whatever the sort), and names the file to remove', async () => {
    const d = join(root, 'twice');
    mkdirSync(join(d, 'old'), { recursive: true });
    const original = join(d, 'T50SMG.tif');
    const copies = ['T50SMG (1).tif', 'T50SMG_copy.tif', 'T50SMG - Copy.tif', 'T50SMG - 副本.tif'].map((n) => join(d, n));
    for (const f of [original, ...copies, join(d, 'old', 'T50SMG.tif')]) await writeSeeded(f, 1);
    await writeSeeded(join(d, 'T50SMH.tif'), 2);
    // Blank tiles (one value each band) share a fingerprint whatever was acquired: not duplicates by
    // it; a copy of one in a subfolder is the same tile (names, sizes and grid).
    await multi(join(d, 'blank-a_20261008.tif'), 4);
    await multi(join(d, 'blank-b_20261008.tif'), 4);
    await multi(join(d, 'old', 'blank-a_20261008.tif'), 4);
    // Whatever order the inputs come in, the original is used.
    for (const inputs of [[d], [...copies, join(d, 'old'), original, join(d, 'T50SMH.tif'), join(d, 'blank-a_20261008.tif'), join(d, 'blank-b_20261008.tif')]]) {
      const { tiles, rejected, warnings } = await catalogueTiles(inputs, { fingerprint: true });
      expect(tiles.map((t) => t.files[0])).toEqual([join(d, 'blank-a_20261008.tif'), join(d, 'blank-b_20261008.tif'), original, join(d, 'T50SMH.tif')]);
      expect(rejected.map((r) => `${r.error.code} ${r.subject}`).sort()).toEqual(copies.map((c) => `TILE.DUPLICATE ${c}`).sort());
      for (const r of rejected) {
        expect(r.error.message).toContain(`: the same imagery as ${original} (the same bytes under other file names), given twice in this batch: ${original} is used and this file, ${r.subject}, is left out`);
        expect(r.error.message).toContain(`Remove ${r.subject}; if its name is another tile's, that tile's imagery is missing from the month`);
      }
      // A copy in a subfolder (the same names, sizes, grid and imagery) is plainly one tile: read once, a warning.
      expect(warnings).toContainEqual(`${join(d, 'old', 'T50SMG.tif')}: the same tile as ${original} (same file names, sizes and grid); ${original} is read, this copy left out`);
      expect(warnings).toContainEqual(`${join(d, 'old', 'blank-a_20261008.tif')}: the same tile as ${join(d, 'blank-a_20261008.tif')} (same file names, sizes and grid); ${join(d, 'blank-a_20261008.tif')} is read, this copy left out`);
      expect(rejected.every((r) => r.footprint === undefined)).toBe(true); // its ground is observed, by the tile kept
    }
    // The copies removed, as the message says: the same tile ids (the batch id with them).
    const before = (await catalogueTiles([d], { fingerprint: true })).tiles.map((t) => t.id);
    const alone = await catalogueTiles([original, join(d, 'T50SMH.tif'), join(d, 'blank-a_20261008.tif'), join(d, 'blank-b_20261008.tif')], { fingerprint: true });
    expect(alone.tiles.map((t) => t.id)).toEqual(before);
    // Prior tiles (no fingerprint taken): a copy in a subfolder is read once (the shallower), other names are other tiles.
    const prior = await catalogueTiles([d]);
    expect(prior.rejected).toEqual([]);
    expect(prior.tiles.map((t) => t.files[0])).toContain(original);
    expect(prior.tiles).toHaveLength(8);
  });

  it('refuses a same-names copy with other pixels (two deliveries of one tile), naming both: the shallower is used whatever the sort', async () => {
    const d = join(root, 'deliveries');
    mkdirSync(join(d, 'old'), { recursive: true });
    // Uncompressed: the same names and sizes (one tile id), other pixels.
    const [now, before] = [join(d, 'T50SMG.tif'), join(d, 'old', 'T50SMG.tif')];
    await writeSeeded(now, 2, 'none');
    await writeSeeded(before, 1, 'none');
    const { tiles, rejected, warnings } = await catalogueTiles([d], { fingerprint: true });
    expect(tiles.map((t) => t.files[0])).toEqual([now]);
    expect(rejected.map((r) => `${r.error.code} ${r.subject}`)).toEqual([`TILE.DUPLICATE ${before}`]);
    expect(rejected[0].error.message).toContain(
      `: the same file names, sizes and grid as ${now} but other pixels (two deliveries of this tile?): ${now} is used and this file, ${before}, is left out`,
    );
    expect(rejected[0].error.message).toContain(`if this one is the delivery wanted, remove ${now} and run again`);
    expect(warnings.filter((w) => w.includes('the same tile'))).toEqual([]); // not "the same tile … read once"
  });

  it('tells copies by the names file managers give them (GNOME, Finder, Spanish/German/French/Chinese Windows), and real names from copies', async () => {
    const d = join(root, 'copynames');
    const original = join(d, 'T50SMG.tif');
    // Each of these sorted before the original in code order (' ' and '(' before '.'), and was used.
    const copies = ['T50SMG (copy).tif', 'T50SMG (another copy).tif', 'T50SMG (3rd copy).tif', 'T50SMG 2.tif', 'T50SMG - copia.tif', 'T50SMG - Kopie.tif', 'T50SMG - Copie.tif', 'T50SMG(1).tif', 'T50SMG - 副本 (2).tif', 'T50SMG - Copy - Copy.tif'].map((n) => join(d, n));
    // Names that are not a copy's beside a copy of them (each pair its own imagery): a year in
    // parentheses, 'copy' inside a folder name, product names ending in numbers.
    const real = [join(d, 'imagery (2026)', 'T50SMH.tif'), join(d, 'hand_copy_desk', 'T50SMJ.tif'), join(d, 'LC08_L2SP_119038_20200105_20200113_02_T1.tif'), join(d, 'S2B_MSIL2A_20261008T030549_N0510_R075_T50SMK_20261008T061402.tif')];
    const realCopies = [join(d, 'imagery (2026) (1)', 'T50SMH.tif'), join(d, 'hand_copy_desk (1)', 'T50SMJ.tif'), join(d, 'LC08_L2SP_119038_20200105_20200113_02_T1 (1).tif'), join(d, 'S2B_MSIL2A_20261008T030549_N0510_R075_T50SMK_20261008T061402 2.tif')];
    for (const dir of ['imagery (2026)', 'imagery (2026) (1)', 'hand_copy_desk', 'hand_copy_desk (1)']) mkdirSync(join(d, dir), { recursive: true });
    for (const f of [original, ...copies]) await writeSeeded(f, 1);
    for (const [k, f] of real.entries()) {
      await writeSeeded(f, 10 + k);
      await writeSeeded(realCopies[k], 10 + k);
    }
    const { tiles, rejected } = await catalogueTiles([d], { fingerprint: true });
    expect(tiles.map((t) => t.files[0]).sort()).toEqual([original, ...real].sort());
    const left = rejected.filter((r) => r.error.code === 'TILE.DUPLICATE').map((r) => r.subject);
    expect(left.sort()).toEqual([...copies, ...realCopies].filter((f) => !f.includes('(1)/')).sort()); // a folder copy: the same tile, read once
    for (const r of rejected.filter((x) => copies.includes(x.subject))) expect(r.error.message).toContain(`Remove ${r.subject};`);
  });

  it('of two copies with neither name a copy\'s, at one depth, uses the first in code-point order (not UTF-16 code units), as README says', async () => {
    const d = join(root, 'codepoints');
    mkdirSync(d, { recursive: true });
    // U+FF21 (fullwidth A) comes before U+1F600 by code point; its UTF-16 unit 0xFF21 after the surrogate 0xD83D.
    const [fullwidth, emoji] = [join(d, 'T50SMG_\uFF21.tif'), join(d, 'T50SMG_\u{1F600}.tif')];
    for (const f of [fullwidth, emoji]) await writeSeeded(f, 3);
    const { tiles, rejected } = await catalogueTiles([d], { fingerprint: true });
    expect(tiles.map((t) => t.files[0])).toEqual([fullwidth]);
    expect(rejected.map((r) => r.subject)).toEqual([emoji]);
  });

  it('names a per-band tile left out as a whole (its folder, or every band file), not its first band file alone', async () => {
    const d = join(root, 'perband');
    const bandFiles = (dir: string, prefix: string) => ['B02', 'B03', 'B04', 'B08'].map((b) => join(dir, `${prefix}${b}.tif`));
    const writeBands = async (files: string[], seed: number) => {
      mkdirSync(join(files[0], '..'), { recursive: true });
      for (const [k, f] of files.entries()) await writeGeoTiffArrays(f, { grid, dtype: 'uint16', bands: [pixels(seed)[k]], nodata: 0, date: '2026-10-08', compression: 'none' });
    };
    // Two deliveries of a plain B02.tif… folder: the same names and sizes, other pixels.
    const [now, old] = [join(d, 'T50SMG'), join(d, 'old', 'T50SMG')];
    await writeBands(bandFiles(now, ''), 1);
    await writeBands(bandFiles(old, ''), 2);
    // The same imagery under other names (prefixed band files): every file is named.
    const [used, again] = [bandFiles(join(d, 'named'), 'T50SMH_20261008_'), bandFiles(join(d, 'named'), 'T50SMJ_20261008_')];
    await writeBands(used, 3);
    await writeBands(again, 3);
    const { tiles, rejected } = await catalogueTiles([d], { fingerprint: true });
    expect(tiles.map((t) => t.files[0]).sort()).toEqual([join(now, 'B02.tif'), used[0]].sort());
    expect(rejected.map((r) => `${r.error.code} ${r.subject}`).sort()).toEqual([`TILE.DUPLICATE ${old}`, `TILE.DUPLICATE ${again.join(', ')}`].sort());
    const byFolder = rejected.find((r) => r.subject === old)!;
    expect(byFolder.error.message).toContain(`the same file names, sizes and grid as ${now} but other pixels`);
    expect(byFolder.error.message).toContain(`this folder, ${old}, is left out`);
    const byFiles = rejected.find((r) => r.subject !== old)!;
    expect(byFiles.error.message).toContain(`the same imagery as ${used.join(', ')}`);
    expect(byFiles.error.message).toContain(`Remove ${again.join(', ')};`);
  });

  it('refuses a second delivery\'s imagery under other names too (A; B: its names, other pixels; C: B\'s bytes renamed), whatever the order', async () => {
    for (const cName of ['T50SMG (1).tif', 'T50SMF.tif']) {
      const d = join(root, `deliveries3-${cName.length}`);
      mkdirSync(join(d, 'old'), { recursive: true });
      const [a, b, c] = [join(d, 'T50SMG.tif'), join(d, 'old', 'T50SMG.tif'), join(d, cName)];
      await writeSeeded(a, 1, 'none');
      await writeSeeded(b, 2, 'none');
      await writeSeeded(c, 2, 'none');
      const { tiles, rejected } = await catalogueTiles([d], { fingerprint: true });
      // One ground, one tile used: C with A doubled the observed area.
      expect(tiles).toHaveLength(1);
      expect(rejected.map((r) => r.error.code)).toEqual(['TILE.DUPLICATE', 'TILE.DUPLICATE']);
      expect(new Set([tiles[0].files[0], ...rejected.map((r) => r.subject)])).toEqual(new Set([a, b, c]));
      if (cName === 'T50SMG (1).tif') {
        expect(tiles[0].files[0]).toBe(a);
        expect(rejected.find((r) => r.subject === c)!.error.message).toContain(`the same imagery as ${b} (the same bytes under other file names)`);
      }
    }
  });

  it('groups Sentinel-2 band files per folder, plain B02.tif names included, dates from dates.txt', async () => {
    const city = join(root, 'oscd', 'town');
    for (const n of [1, 2]) {
      mkdirSync(join(city, `imgs_${n}`), { recursive: true });
      for (const b of ['B02', 'B03', 'B04', 'B08', 'B8A', 'B11']) {
        await writeGeoTiffArrays(join(city, `imgs_${n}`, `${b}.tif`), { grid, dtype: 'uint16', bands: [band(n)] });
      }
    }
    writeFileSync(join(city, 'dates.txt'), 'date_1: 20150704\ndate_2: 20180211\n');
    const { tiles, rejected } = await catalogueTiles([city]);
    expect(rejected).toEqual([]);
    expect(tiles.map((t) => t.date)).toEqual(['2015-07-04', '2018-02-11']);
    expect(Object.keys(tiles[0].bands).sort()).toEqual(['blue', 'green', 'nir', 'red', 'swir1']);
    expect(tiles[0].files).toHaveLength(5); // B8A left out
    expect(tiles[0].id).not.toBe(tiles[1].id);
  });

  it('reads Sentinel-2 L2A band files named with their resolution (…_B02_10m.tif, …_B11_20m.tif), the finest copy of a band', async () => {
    // An L2A product's bands are T31UDQ_20170829T105019_B02_10m.jp2 … (R20m: …_B11_20m.jp2): converted to
    // GeoTIFF under their own names, each file was taken for a 1-band image and rejected as "a web-map or
    // drone download" (exit 2). R10m and R20m converted into one folder give B02 twice: the 10 m one is read.
    const d = join(root, 'l2a-names');
    mkdirSync(d);
    const coarse: Grid = { ...grid, width: 10, height: 5, transform: [500000, 20, 0, 4000000, 0, -20] };
    const files = ['B02_10m', 'B03_10m', 'B04_10m', 'B08_10m', 'B02_20m', 'B8A_20m', 'B11_20m', 'B12_20m', 'B02_60m'];
    for (const b of files) {
      const g = b.endsWith('_10m') ? grid : coarse;
      await writeGeoTiffArrays(join(d, `T31UDQ_20170829T105019_${b}.tif`), { grid: g, dtype: 'uint16', bands: [new Uint16Array(g.width * g.height).fill(500)] });
    }
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    expect(tiles).toHaveLength(1);
    expect(tiles[0].date).toBe('2017-08-29');
    const by = Object.fromEntries(Object.entries(tiles[0].bands).map(([b, s]) => [b, s.file.slice(d.length + 1)]));
    expect(by).toEqual({
      blue: 'T31UDQ_20170829T105019_B02_10m.tif', green: 'T31UDQ_20170829T105019_B03_10m.tif', red: 'T31UDQ_20170829T105019_B04_10m.tif',
      nir: 'T31UDQ_20170829T105019_B08_10m.tif', swir1: 'T31UDQ_20170829T105019_B11_20m.tif', swir2: 'T31UDQ_20170829T105019_B12_20m.tif',
    });
  });

  it('leaves out a Sentinel-2 product\'s TCI, AOT, WVP and SCL rasters beside its band files; a TCI alone is read and refused', async () => {
    // An L1C granule's IMG_DATA holds …_TCI.jp2 with its bands, an L2A's R10m/R20m also AOT, WVP and SCL:
    // converted with the bands, each was read as a tile and rejected (a 1- or 3-band image), the batch
    // exited 3 and said "not observable 80 %" over ground its bands observed.
    const one = (g: Grid) => new Uint16Array(g.width * g.height).fill(500);
    const l1c = join(root, 'l1c-with-tci');
    const l2a = join(root, 'l2a-with-extras');
    const lone = join(root, 'tci-alone');
    for (const d of [l1c, l2a, lone]) mkdirSync(d);
    for (const b of ['B02', 'B03', 'B04', 'B08']) {
      await writeGeoTiffArrays(join(l1c, `T31UDQ_20170829T105019_${b}.tif`), { grid, dtype: 'uint16', bands: [one(grid)] });
      await writeGeoTiffArrays(join(l2a, `T31UDQ_20170829T105019_${b}_10m.tif`), { grid, dtype: 'uint16', bands: [one(grid)] });
    }
    const rgb = { grid, dtype: 'uint8' as const, bands: [1, 2, 3].map(() => new Uint8Array(grid.width * grid.height).fill(90)) };
    await writeGeoTiffArrays(join(l1c, 'T31UDQ_20170829T105019_TCI.tif'), rgb);
    await writeGeoTiffArrays(join(l2a, 'T31UDQ_20170829T105019_TCI_10m.tif'), rgb);
    for (const x of ['AOT_10m', 'WVP_10m', 'SCL_20m']) await writeGeoTiffArrays(join(l2a, `T31UDQ_20170829T105019_${x}.tif`), { grid, dtype: 'uint16', bands: [one(grid)] });
    await writeGeoTiffArrays(join(lone, 'T31UDQ_20170829T105019_TCI.tif'), rgb);
    const { tiles, rejected } = await catalogueTiles([l1c, l2a, lone]);
    expect(tiles.map((t) => [t.files.length, t.date])).toEqual([[4, '2017-08-29'], [4, '2017-08-29']]);
    expect(rejected.map((r) => [r.subject, r.error.code])).toEqual([[join(lone, 'T31UDQ_20170829T105019_TCI.tif'), 'TILE.BAND_MISMATCH']]);
    expect(rejected[0].error.message).toMatch(/3-band RGB image/);
  });

  it('refuses an L1C and an L2A product of one granule in one folder rather than mix their bands in one tile', async () => {
    // Both name files T31UDQ_20170829T105019_…: one group, the unsuffixed L1C file beat the L2A copy, so
    // blue…nir came from L1C (top of atmosphere) and swir1/swir2 from L2A (surface reflectance), scored
    // with no word.
    const d = join(root, 'l1c-and-l2a');
    mkdirSync(d);
    const coarse: Grid = { ...grid, width: 10, height: 5, transform: [500000, 20, 0, 4000000, 0, -20] };
    for (const b of ['B02', 'B03', 'B04', 'B08']) await writeGeoTiffArrays(join(d, `T31UDQ_20170829T105019_${b}.tif`), { grid, dtype: 'uint16', bands: [band(1)] });
    for (const b of ['B02_10m', 'B03_10m', 'B04_10m', 'B08_10m', 'B11_20m', 'B12_20m']) {
      const g = b.endsWith('_10m') ? grid : coarse;
      await writeGeoTiffArrays(join(d, `T31UDQ_20170829T105019_${b}.tif`), { grid: g, dtype: 'uint16', bands: [new Uint16Array(g.width * g.height).fill(500)] });
    }
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(tiles).toEqual([]);
    expect(rejected.map((r) => r.error.code)).toEqual(['TILE.BAND_MISMATCH']);
    expect(rejected[0].error.message).toContain('mix the band files of two products of one granule');
    expect(rejected[0].error.message).toContain('T31UDQ_20170829T105019_B02.tif');
    expect(rejected[0].error.message).toContain('T31UDQ_20170829T105019_B02_10m.tif');
    expect(rejected[0].footprint).toBeDefined();
  });

  it('reads an L2A product converted with its R10m/R20m folders as one tile', async () => {
    // Grouped by folder, R10m was a 4-band tile (B11/B12 silently left out) and R20m was rejected
    // with "convert B08 into this folder".
    const img = join(root, 'l2a-folders', 'GRANULE', 'L2A_T31UDQ', 'IMG_DATA');
    const coarse: Grid = { ...grid, width: 10, height: 5, transform: [500000, 20, 0, 4000000, 0, -20] };
    for (const r of ['R10m', 'R20m', 'R60m']) mkdirSync(join(img, r), { recursive: true });
    for (const b of ['B02', 'B03', 'B04', 'B08']) await writeGeoTiffArrays(join(img, 'R10m', `T31UDQ_20170829T105019_${b}_10m.tif`), { grid, dtype: 'uint16', bands: [band(1)] });
    for (const b of ['B02', 'B03', 'B04', 'B8A', 'B11', 'B12']) await writeGeoTiffArrays(join(img, 'R20m', `T31UDQ_20170829T105019_${b}_20m.tif`), { grid: coarse, dtype: 'uint16', bands: [new Uint16Array(50).fill(500)] });
    await writeGeoTiffArrays(join(img, 'R20m', 'T31UDQ_20170829T105019_SCL_20m.tif'), { grid: coarse, dtype: 'uint8', bands: [new Uint8Array(50).fill(4)] });
    await writeGeoTiffArrays(join(img, 'R60m', 'T31UDQ_20170829T105019_B02_60m.tif'), { grid: coarse, dtype: 'uint16', bands: [new Uint16Array(50).fill(500)] });
    const { tiles, rejected } = await catalogueTiles([join(root, 'l2a-folders')]);
    expect(rejected).toEqual([]);
    expect(tiles).toHaveLength(1);
    const by = Object.fromEntries(Object.entries(tiles[0].bands).map(([b, s]) => [b, s.file.slice(img.length + 1)]));
    expect(by).toEqual({
      blue: 'R10m/T31UDQ_20170829T105019_B02_10m.tif', green: 'R10m/T31UDQ_20170829T105019_B03_10m.tif', red: 'R10m/T31UDQ_20170829T105019_B04_10m.tif',
      nir: 'R10m/T31UDQ_20170829T105019_B08_10m.tif', swir1: 'R20m/T31UDQ_20170829T105019_B11_20m.tif', swir2: 'R20m/T31UDQ_20170829T105019_B12_20m.tif',
    });
  });

  it('reads a file named SCL.tif, TCI.tif… beside band files when it is no product side file (not 1 band; TCI not 3 bands of 8 bits)', async () => {
    // Skipped by its name alone, a user's own 4-band SCL.tif or TCI.tif was left out with no word.
    const d = join(root, 'own-scl');
    mkdirSync(d);
    for (const b of ['B02', 'B03', 'B04', 'B08']) await writeGeoTiffArrays(join(d, `${b}.tif`), { grid, dtype: 'uint16', bands: [band(1)] });
    await multi(join(d, 'SCL.tif'), 4, '2024-01-01');
    await multi(join(d, 'TCI.tif'), 4, '2024-01-01');
    await writeGeoTiffArrays(join(d, 'AOT.tif'), { grid, dtype: 'uint16', bands: [band(1)] }); // a real side file: left out
    const { tiles, rejected } = await catalogueTiles([d], { date: '2024-01-01' });
    expect(rejected).toEqual([]);
    expect(tiles.map((t) => t.files.map((f) => f.slice(d.length + 1)))).toEqual([['B02.tif', 'B03.tif', 'B04.tif', 'B08.tif'], ['SCL.tif'], ['TCI.tif']]);
  });

  it('says why an L2A R20m folder (B8A, no B08) lacks nir, and what to give', async () => {
    const d = join(root, 'r20m');
    mkdirSync(d);
    for (const b of ['B02', 'B03', 'B04', 'B8A', 'B11', 'B12']) await writeGeoTiffArrays(join(d, `T31UDQ_20170829T105019_${b}_20m.tif`), { grid, dtype: 'uint16', bands: [band(1)] });
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(tiles).toEqual([]);
    expect(rejected.map((r) => r.error.code)).toEqual(['TILE.BAND_MISMATCH']);
    expect(rejected[0].error.message).toContain('lack nir (T31UDQ_20170829T105019_B8A_20m.tif is B8A, the narrow nir band, not read as nir: B08 is; convert the product\'s B08');
  });

  it('says what to do with a 4-band file under --bands of six', async () => {
    const d = join(root, 'four-of-six');
    mkdirSync(d);
    await multi(join(d, 'stack_20240101.tif'), 4);
    const { rejected } = await catalogueTiles([d], { bands: ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'] });
    expect(rejected.map((r) => r.error.message)).toEqual([
      `${join(d, 'stack_20240101.tif')}: file has 4 bands, 6 named (blue, green, red, nir, swir1, swir2); --bands names bands this file does not have: leave --bands out (the bands both epochs have are used) or name only the file's 4, e.g. --bands blue,green,red,nir`,
    ]);
  });

  it('gives per-band files lacking a band (B04 not delivered) the footprint of the files it has', async () => {
    // Rejected before its files were opened, the tile had no footprint: not-observed.geojson left its
    // ground out and the batch said "not observable 0.0 %" with a whole tile unread.
    const d = join(root, 'lacks-red');
    mkdirSync(d);
    for (const b of ['B02', 'B03', 'B08']) await writeGeoTiffArrays(join(d, `X_20240101_${b}.tif`), { grid, dtype: 'uint16', bands: [band(1)] });
    await multi(join(d, 'whole_20240101.tif'), 4);
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(tiles).toHaveLength(1);
    expect(rejected.map((r) => [r.error.code, r.error.message.replaceAll(d, 'D')])).toEqual([['TILE.BAND_MISMATCH', 'D/X_20240101_B02.tif: per-band files D/X_20240101* lack red']]);
    expect(rejected[0].footprint).toEqual(tiles[0].footprint);
  });

  it('rejects each bad input by name with its error code and keeps the good ones', async () => {
    const d = join(root, 'bad');
    mkdirSync(d);
    await multi(join(d, 'good_20240101.tif'), 4);
    await multi(join(d, 'two_bands_20240101.tif'), 2);
    await multi(join(d, 'undated.tif'), 4);
    writeFileSync(join(d, 'text_20240101.tif'), 'not a tiff');
    const s2 = join(d, 's2');
    mkdirSync(s2);
    await writeGeoTiffArrays(join(s2, 'X_20240101_B02.tif'), { grid, dtype: 'uint16', bands: [band(1)] });
    const missing = join(root, 'nowhere');
    const { tiles, rejected } = await catalogueTiles([d, missing]);
    expect(tiles.map((t) => t.files[0])).toEqual([join(d, 'good_20240101.tif')]);
    const bySubject = Object.fromEntries(rejected.map((r) => [r.subject, r.error.code]));
    expect(bySubject).toEqual({
      [missing]: 'INPUT.NOT_FOUND',
      [join(d, 'two_bands_20240101.tif')]: 'TILE.BAND_MISMATCH',
      [join(d, 'undated.tif')]: 'TILE.DATE_MISSING',
      [join(d, 'text_20240101.tif')]: 'TILE.UNREADABLE',
      [join(s2, 'X_20240101_B02.tif')]: 'TILE.BAND_MISMATCH',
    });
  });

  it('accepts month-precision names (issue 15): after-2026-10.tif / before-2026-09.tif / YYYYMM', async () => {
    const d = join(root, 'months');
    mkdirSync(d);
    await multi(join(d, 'after-2026-10.tif'), 4);
    await multi(join(d, 'before-202609.tif'), 4);
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    expect(tiles.map((t) => [t.date, t.datePrecision])).toEqual([['2026-10-01', 'month'], ['2026-09-01', 'month']]);
  });

  it('dates a tile by its file name, not by a TIFF DateTime tag of another day (when the copy was written), with a warning', async () => {
    // A tile clipped on 2026-10-20 from an acquisition of 2026-10-05 carries DateTime 2026:10:20: read
    // first, its 后时相 was the clipping day (exit 0, no word), and a prior clipped after its tile was
    // rejected as "not earlier" (are --tiles and --prior swapped?).
    const d = join(root, 'datetime');
    mkdirSync(d);
    await multi(join(d, 'T50SMF_20261005.tif'), 4, '2026-10-20');
    await multi(join(d, 'before-2026-09.tif'), 4, '2026-10-12');
    await multi(join(d, 'same_20261008.tif'), 4, '2026-10-08');
    await multi(join(d, 'within-2026-10.tif'), 4, '2026-10-03');
    const { tiles, rejected, warnings } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    const byFile = Object.fromEntries(tiles.map((t) => [t.files[0].slice(d.length + 1), [t.date, t.datePrecision]]));
    expect(byFile).toEqual({
      'T50SMF_20261005.tif': ['2026-10-05', 'day'],
      'before-2026-09.tif': ['2026-09-01', 'month'],
      // Tag and name agree (the same day; a day in the named month): the tag's day, as before.
      'same_20261008.tif': ['2026-10-08', 'day'],
      'within-2026-10.tif': ['2026-10-03', 'day'],
    });
    expect(warnings.sort()).toEqual([
      `${join(d, 'T50SMF_20261005.tif')}: its TIFF date tag (DateTime or a DATE/TIME metadata item) says 2026-10-20, its file name T50SMF_20261005.tif says 2026-10-05; dated 2026-10-05: such a tag is usually when the file was written (a clipped or converted copy), not acquired; pass --tiles-date / --prior-date if the tag is right`,
      `${join(d, 'before-2026-09.tif')}: its TIFF date tag (DateTime or a DATE/TIME metadata item) says 2026-10-12, its file name before-2026-09.tif says 2026-09; dated 2026-09: such a tag is usually when the file was written (a clipped or converted copy), not acquired; pass --tiles-date / --prior-date if the tag is right`,
    ]);
  });

  it('reads a file with an alpha band (gdalwarp -dstalpha) as its bands, transparent pixels as no data', async () => {
    // Counted as a band, a 4-band file with its alpha was "5 bands, 4 named …, no band descriptions
    // say which is which" and rejected.
    const d = join(root, 'alpha');
    mkdirSync(d);
    const n = grid.width * grid.height;
    // Transparent on the left half, where the bands still hold values (not 0: not fill by themselves).
    const alpha = Uint16Array.from({ length: n }, (_, i) => (i % grid.width < grid.width / 2 ? 0 : 255));
    await writeGeoTiffArrays(join(d, 'warped_20261005.tif'), { grid, dtype: 'uint16', bands: [band(1), band(2), band(3), band(4), alpha], alpha: true });
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    const file = join(d, 'warped_20261005.tif');
    expect(tiles[0].bands).toEqual({ blue: { file, sample: 0 }, green: { file, sample: 1 }, red: { file, sample: 2 }, nir: { file, sample: 3 } });
    const reader = await openTile(tiles[0]);
    const r = await reader.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, ['blue', 'nir']);
    await reader.close();
    const left = Array.from({ length: n }, (_, i) => i).filter((i) => i % grid.width < grid.width / 2);
    const right = Array.from({ length: n }, (_, i) => i).filter((i) => i % grid.width >= grid.width / 2);
    expect(left.every((i) => r.valid[i] === 0 && Number.isNaN(r.bands.blue![i]) && Number.isNaN(r.bands.nir![i]))).toBe(true);
    expect(right.every((i) => r.valid[i] === 1 && r.bands.blue![i] === 100 && r.bands.nir![i] === 400)).toBe(true);
  });

  it('reads an alpha band over a declared nodata of 0: transparent pixels are no data still', async () => {
    // The alpha sample was matched against the nodata too: its 0 read as NaN, and NaN !== 0 left
    // the transparent half unmasked (valid, blue 100).
    const d = join(root, 'alpha-nodata');
    mkdirSync(d);
    const n = grid.width * grid.height;
    const alpha = Uint16Array.from({ length: n }, (_, i) => (i % grid.width < grid.width / 2 ? 0 : 255));
    await writeGeoTiffArrays(join(d, 'warped_20261005.tif'), { grid, dtype: 'uint16', nodata: 0, bands: [band(1), band(2), band(3), band(4), alpha], alpha: true });
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    const reader = await openTile(tiles[0]);
    const r = await reader.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, ['blue', 'nir']);
    await reader.close();
    const left = Array.from({ length: n }, (_, i) => i).filter((i) => i % grid.width < grid.width / 2);
    const right = Array.from({ length: n }, (_, i) => i).filter((i) => i % grid.width >= grid.width / 2);
    expect(left.filter((i) => r.valid[i] !== 0 || !Number.isNaN(r.bands.blue![i]))).toEqual([]);
    expect(right.every((i) => r.valid[i] === 1 && r.bands.blue![i] === 100 && r.bands.nir![i] === 400)).toBe(true);
  });

  it('reads an 8-bit 4-band file whose 4th band GDAL flagged alpha (every 4-band Byte file it creates) as blue, green, red, nir', async () => {
    // GDAL's Create() (rasterio, a GF-2 8-bit export) writes photometric RGB with ExtraSamples alpha:
    // taken at its word, the nir was the mask and the file "a 3-band RGB image … has no nir".
    const d = join(root, 'alpha-bgrn8');
    mkdirSync(d);
    const n = grid.width * grid.height;
    const nir = Uint8Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : 40 + (i % 50)));
    const file = join(d, 'gf2_20261005.tif');
    await writeGeoTiffArrays(file, { grid, dtype: 'uint8', photometric: 'rgb', alpha: true, bands: [new Uint8Array(n).fill(10), new Uint8Array(n).fill(20), new Uint8Array(n).fill(30), nir] });
    const { tiles, rejected, warnings } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    expect(tiles[0].bands).toEqual({ blue: { file, sample: 0 }, green: { file, sample: 1 }, red: { file, sample: 2 }, nir: { file, sample: 3 } });
    expect(warnings.filter((w) => w.startsWith(file))).toEqual([expect.stringMatching(/band 4 .*alpha.*read as a band/)]);
    const reader = await openTile(tiles[0]);
    const r = await reader.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, ['blue', 'nir']);
    await reader.close();
    // nir 0 is a reading, not a transparent pixel.
    expect(Array.from({ length: n }, (_, i) => i).every((i) => r.valid[i] === 1 && r.bands.blue![i] === 10 && r.bands.nir![i] === nir[i])).toBe(true);
  });

  it('takes an 8-bit 4th band flagged alpha as the mask where it holds only 0 and 255, or where GDAL\'s ColorInterp says Alpha', async () => {
    const d = join(root, 'alpha-rgba8');
    mkdirSync(d);
    const n = grid.width * grid.height;
    const rgb = [10, 20, 30].map((v) => new Uint8Array(n).fill(v));
    // An RGBA export: a true alpha, the file has no nir.
    const rgba = join(d, 'rgba_20261005.tif');
    await writeGeoTiffArrays(rgba, { grid, dtype: 'uint8', photometric: 'rgb', alpha: true, bands: [...rgb, Uint8Array.from({ length: n }, (_, i) => (i % 2 ? 255 : 0))] });
    // An alpha of other values (a feathered edge), which the sidecar says is alpha (GDAL's PAM).
    const pamAlpha = join(d, 'pam_20261005.tif');
    await writeGeoTiffArrays(pamAlpha, { grid, dtype: 'uint8', photometric: 'rgb', alpha: true, bands: [...rgb, Uint8Array.from({ length: n }, (_, i) => i % 256)] });
    writeFileSync(`${pamAlpha}.aux.xml`, '<PAMDataset><PAMRasterBand band="4"><ColorInterp>Alpha</ColorInterp></PAMRasterBand></PAMDataset>');
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(tiles).toEqual([]);
    expect(rejected.map((r) => [r.subject, r.error.code])).toEqual([[pamAlpha, 'TILE.BAND_MISMATCH'], [rgba, 'TILE.BAND_MISMATCH']]);
    for (const r of rejected) expect(r.error.message).toMatch(/file has 3 bands.*a 3-band RGB image/);
  });

  it('lets --tiles-date override every date, and falls back to the epoch with a warning only when asked', async () => {
    const d = join(root, 'override');
    mkdirSync(d);
    await multi(join(d, 'tagged.tif'), 4, '2024-03-02');
    await multi(join(d, 'undated.tif'), 4);
    const over = await catalogueTiles([d], { date: '2026-10' });
    expect(over.rejected).toEqual([]);
    expect(over.tiles.map((t) => [t.date, t.datePrecision])).toEqual([['2026-10-01', 'month'], ['2026-10-01', 'month']]);
    const fall = await catalogueTiles([d], { fallbackDate: '2026-10' });
    expect(fall.tiles.map((t) => [t.date, t.datePrecision])).toEqual([['2024-03-02', 'day'], ['2026-10-01', 'month']]);
    expect(fall.warnings).toEqual([`${join(d, 'undated.tif')}: no acquisition date in TIFF tags, dates.txt or file name; dated by the epoch 2026-10 (pass --tiles-date to set it)`]);
  });

  it('--bands restricts per-band Sentinel-2 files too (issue 15): B11/B12 are not used when not named', async () => {
    const d = join(root, 's2bands');
    mkdirSync(d);
    for (const b of ['B02', 'B03', 'B04', 'B08', 'B11', 'B12']) {
      await writeGeoTiffArrays(join(d, `T50SNA_20261005_${b}.tif`), { grid, dtype: 'uint16', bands: [band(2)] });
    }
    const all = await catalogueTiles([d]);
    expect(Object.keys(all.tiles[0].bands).sort()).toEqual(['blue', 'green', 'nir', 'red', 'swir1', 'swir2']);
    const four = await catalogueTiles([d], { bands: ['blue', 'green', 'red', 'nir'] });
    expect(four.rejected).toEqual([]);
    expect(Object.keys(four.tiles[0].bands).sort()).toEqual(['blue', 'green', 'nir', 'red']);
    expect(four.tiles[0].files).toHaveLength(4);
    expect(four.tiles[0].id).not.toBe(all.tiles[0].id);
  });
});

describe('catalogueTiles on Sentinel-2 SAFE products (issue 15)', () => {
  it('rejects a .SAFE folder, a SAFE zip and loose .jp2 bands by name with how to convert them', async () => {
    const d = join(root, 'safe');
    const safe = join(d, 'S2B_MSIL2A_20261005T025549_N0511_R032_T50SMF_20261005T061245.SAFE');
    mkdirSync(join(safe, 'GRANULE', 'L2A_T50SMF', 'IMG_DATA', 'R10m'), { recursive: true });
    writeFileSync(join(safe, 'GRANULE', 'L2A_T50SMF', 'IMG_DATA', 'R10m', 'T50SMF_20261005T025549_B02_10m.jp2'), 'jp2');
    writeFileSync(join(safe, 'manifest.safe'), '<xml/>');
    const zip = join(d, 'S2B_MSIL2A_20261005T025549_N0511_R032_T50SMF_20261005T061245.SAFE.zip');
    writeFileSync(zip, 'PK');
    const loose = join(d, 'loose');
    mkdirSync(loose);
    writeFileSync(join(loose, 'T50SMF_20261005_B04_10m.jp2'), 'jp2');
    await multi(join(d, 'good_20261005.tif'), 4);

    const { tiles, rejected } = await catalogueTiles([d]);
    expect(tiles.map((t) => t.files[0])).toEqual([join(d, 'good_20261005.tif')]);
    expect(rejected.map((r) => [r.subject, r.error.code])).toEqual([
      [join(loose, 'T50SMF_20261005_B04_10m.jp2'), 'TILE.FORMAT_UNSUPPORTED'],
      [safe, 'TILE.FORMAT_UNSUPPORTED'],
      [zip, 'TILE.FORMAT_UNSUPPORTED'],
    ]);
    for (const r of rejected) expect(r.error.message).toContain('gdal_translate -of COG');
    expect(rejected.find((r) => r.subject === safe)!.error.message).toMatch(/Sentinel-2 \.SAFE product \(JPEG 2000 bands\)/);
    expect(rejected.find((r) => r.subject === zip)!.error.message).toMatch(/unzip it first/);

    // Named directly, the product is reported once, not also as "no TIFF files match".
    const direct = await catalogueTiles([safe]);
    expect(direct.rejected.map((r) => r.error.code)).toEqual(['TILE.FORMAT_UNSUPPORTED']);
  });
});

describe('catalogueTiles: other files in a tiles folder', () => {
  it('ignores non-STAC JSON and unrelated zips found in a folder, but rejects them when named', async () => {
    const d = join(root, 'clutter');
    mkdirSync(d);
    await multi(join(d, 'tile_20261005.tif'), 4);
    writeFileSync(join(d, 'tileinfo_metadata.json'), JSON.stringify({ path: 'tiles/50/S/MF' }));
    writeFileSync(join(d, 'qgis-project.zip'), 'PK');
    const found = await catalogueTiles([d]);
    expect(found.rejected).toEqual([]);
    expect(found.tiles).toHaveLength(1);
    const named = await catalogueTiles([join(d, 'tileinfo_metadata.json'), join(d, 'qgis-project.zip')]);
    expect(named.rejected.map((r) => r.error.code).sort()).toEqual(['TILE.FORMAT_UNSUPPORTED', 'TILE.UNREADABLE']);
  });

  it('names a GDAL .vrt stack and an ENVI/ERDAS scene given as tiles, with the gdal_translate that makes a GeoTIFF of them', async () => {
    const d = join(root, 'gdal-formats');
    mkdirSync(d);
    writeFileSync(join(d, 'bands.vrt'), '<VRTDataset rasterXSize="10" rasterYSize="10"></VRTDataset>');
    writeFileSync(join(d, '2000TM.HDR'), 'ENVI\n');
    writeFileSync(join(d, 'scene.img'), 'EHFA_HEADER_TAG');
    const named = await catalogueTiles([join(d, 'bands.vrt'), join(d, '2000TM.HDR'), join(d, 'scene.img')]);
    expect(named.rejected.map((r) => r.error.code)).toEqual(['TILE.FORMAT_UNSUPPORTED', 'TILE.FORMAT_UNSUPPORTED', 'TILE.FORMAT_UNSUPPORTED']);
    const message = (f: string) => named.rejected.find((r) => r.subject === join(d, f))!.error.message;
    expect(message('bands.vrt')).toMatch(/GDAL virtual raster.*gdal_translate -of COG bands\.vrt bands\.tif/);
    expect(message('2000TM.HDR')).toMatch(/ENVI.*gdal_translate -of COG 2000TM 2000TM\.tif/);
    expect(message('scene.img')).toMatch(/gdal_translate -of COG scene\.img scene\.tif/);
    // The ENVI data file itself (no extension, its header beside it) was "not a TIFF: the file does not start with II or MM".
    writeFileSync(join(d, '2000TM'), Buffer.alloc(64, 7));
    const data = await catalogueTiles([join(d, '2000TM')]);
    expect(data.rejected.map((r) => r.error.code)).toEqual(['TILE.FORMAT_UNSUPPORTED']);
    expect(data.rejected[0].error.message).toMatch(/an ENVI raster \(its header 2000TM\.HDR beside it\).*gdal_translate -of COG 2000TM 2000TM\.tif/);
    // A GeoTIFF with a .hdr beside it (ENVI writes one for a TIFF it opens) is read as the TIFF it is.
    writeFileSync(join(d, 'bands.hdr'), 'ENVI\n');
    writeFileSync(join(d, 'bands.tif'), Buffer.alloc(64, 7));
    expect((await catalogueTiles([join(d, 'bands.tif')])).rejected.map((r) => r.error.code)).toEqual(['TILE.UNREADABLE']);
    // Nor a TIFF under another extension (its first bytes say II or MM).
    writeFileSync(join(d, 'scene.gtif'), Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00]));
    writeFileSync(join(d, 'scene.hdr'), 'ENVI\n');
    expect((await catalogueTiles([join(d, 'scene.gtif')])).rejected.map((r) => r.error.code)).not.toContain('TILE.FORMAT_UNSUPPORTED');
    // In a folder they are not tiles: only GeoTIFFs and STAC items are looked for there.
    expect((await catalogueTiles([d])).rejected.map((r) => r.error.code)).not.toContain('TILE.FORMAT_UNSUPPORTED');
  });
});

describe('catalogueTiles: Landsat band files as USGS delivers them', () => {
  // Sample value = band number × 100, so which file each band was read from shows in `sample` and the file name.
  const bandOf = (t: { bands: Record<string, { file: string }> }) => Object.fromEntries(Object.entries(t.bands).map(([b, v]) => [b, v.file.match(/_(B\d+)\.TIF$/)![1]]));

  it('maps band numbers by the product id: B4 is red on Landsat 8/9, nir on Landsat 5/7; the scene\'s other files are not tiles', async () => {
    const d = join(root, 'landsat');
    mkdirSync(d);
    const l8 = 'LC08_L1TP_119038_20200105_20200113_02_T1';
    const l7 = 'LE07_L1TP_119038_20030206_20161208_02_T1';
    for (const b of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) await writeGeoTiffArrays(join(d, `${l8}_B${b}.TIF`), { grid, dtype: 'uint16', bands: [band(b)] });
    for (const f of ['QA_PIXEL', 'QA_RADSAT', 'SAA', 'VZA']) await writeGeoTiffArrays(join(d, `${l8}_${f}.TIF`), { grid, dtype: 'uint16', bands: [band(1)] });
    for (const b of [1, 2, 3, 4, 5, 7, 8]) await writeGeoTiffArrays(join(d, `${l7}_B${b}.TIF`), { grid, dtype: 'uint16', bands: [band(b)] });
    for (const f of ['B6_VCID_1', 'B6_VCID_2']) await writeGeoTiffArrays(join(d, `${l7}_${f}.TIF`), { grid, dtype: 'uint16', bands: [band(6)] });
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    expect(tiles.map((t) => [t.date, bandOf(t)])).toEqual([
      ['2020-01-05', { blue: 'B2', green: 'B3', red: 'B4', nir: 'B5', swir1: 'B6', swir2: 'B7' }],
      ['2003-02-06', { blue: 'B1', green: 'B2', red: 'B3', nir: 'B4', swir1: 'B5', swir2: 'B7' }],
    ]);
    const four = await catalogueTiles([d], { bands: ['blue', 'green', 'red', 'nir'] });
    expect(four.tiles.map((t) => Object.keys(t.bands).sort())).toEqual([['blue', 'green', 'nir', 'red'], ['blue', 'green', 'nir', 'red']]);
  });

  it('keeps Collection 2 surface reflectance (SR_B…) apart from the level-1 bands of the same scene, and ignores ST_B10', async () => {
    const d = join(root, 'landsat-l2');
    mkdirSync(d);
    const id = 'LC09_L2SP_119038_20230310_20230312_02_T1';
    for (const b of [1, 2, 3, 4, 5, 6, 7]) await writeGeoTiffArrays(join(d, `${id}_SR_B${b}.TIF`), { grid, dtype: 'uint16', bands: [band(b)] });
    await writeGeoTiffArrays(join(d, `${id}_ST_B10.TIF`), { grid, dtype: 'uint16', bands: [band(10)] });
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(rejected).toEqual([]);
    expect(tiles.map((t) => bandOf(t))).toEqual([{ blue: 'B2', green: 'B3', red: 'B4', nir: 'B5', swir1: 'B6', swir2: 'B7' }]);
  });
});

describe('catalogueTiles: which band of a multiband file is which', () => {
  const S2_L1C = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B9', 'B10', 'B11', 'B12'];
  const samples = (bands: Record<string, { sample: number }>) => Object.fromEntries(Object.entries(bands).map(([b, v]) => [b, v.sample]));

  it('maps a 13-band Sentinel-2 stack by its band descriptions, not by its first four bands', async () => {
    const d = join(root, 'described');
    mkdirSync(d);
    await multi(join(d, 'S2_T50SMF_20261008.tif'), 13, undefined, S2_L1C);
    const all = await catalogueTiles([d]);
    expect(all.rejected).toEqual([]);
    expect(samples(all.tiles[0].bands)).toEqual({ blue: 1, green: 2, red: 3, nir: 7, swir1: 11, swir2: 12 });
    const four = await catalogueTiles([d], { bands: ['blue', 'green', 'red', 'nir'] });
    expect(samples(four.tiles[0].bands)).toEqual({ blue: 1, green: 2, red: 3, nir: 7 });
    expect(four.warnings).toEqual([]);
  });

  it('rejects a file with more bands than asked and no descriptions, naming the count and how to pick the bands', async () => {
    const d = join(root, 'undescribed');
    mkdirSync(d);
    await multi(join(d, 's2_13_20261008.tif'), 13);
    await multi(join(d, 'six_20261008.tif'), 6);
    await multi(join(d, 'three_20261008.tif'), 3);
    // Landsat 8 numbers: B8 is panchromatic and B11 thermal there, so B-numbers are not trusted.
    await multi(join(d, 'lc08_20261008.tif'), 11, undefined, S2_L1C.filter((b) => b !== 'B8A' && b !== 'B12'));
    const { tiles, rejected } = await catalogueTiles([d]);
    expect(tiles).toEqual([]);
    const by = Object.fromEntries(rejected.map((r) => [r.subject, r.error]));
    expect(Object.values(by).map((e) => e.code)).toEqual(['TILE.BAND_MISMATCH', 'TILE.BAND_MISMATCH', 'TILE.BAND_MISMATCH', 'TILE.BAND_MISMATCH']);
    const msg = (file: string) => by[join(d, file)].message.replace(`${join(d, file)}: `, '');
    expect(msg('s2_13_20261008.tif')).toBe(
      'file has 13 bands, 4 named (blue, green, red, nir), and no band descriptions say which is which; rather than guess, write the 4 bands in that order ' +
        '(gdal_translate -b <blue> -b <green> -b <red> -b <nir> in.tif out.tif, band numbers from 1) or describe the bands (B2, B3, B4, B8 or blue, green, red, nir)',
    );
    expect(msg('six_20261008.tif')).toMatch(/^file has 6 bands, 4 named \(blue, green, red, nir\), and no band descriptions/);
    expect(msg('six_20261008.tif')).toMatch(/; if its bands are blue, green, red, nir, swir1, swir2 in that order, say so: --bands blue,green,red,nir,swir1,swir2$/);
    // An RGB image (a web-map or drone download) is short of nir, which Tuban cannot do without.
    expect(msg('three_20261008.tif')).toBe(
      'file has 3 bands, 4 named (blue, green, red, nir); Tuban needs at least blue, green, red and nir: a 3-band RGB image (a web-map or drone download) has no nir, without which vegetation and water changes cannot be told apart, and is not read',
    );
    expect(msg('lc08_20261008.tif')).toMatch(/^file has 11 bands, 4 named .*, and its band descriptions \(B1, B2, .*, B11\) do not name blue, green, red, nir \(Landsat band numbers are not read/);
  });

  it('reads a file with exactly the bands asked in --bands order (the 6-band Sentinel-2/Landsat path), by description when it has them', async () => {
    const d = join(root, 'exact');
    mkdirSync(d);
    await multi(join(d, 'six_20261008.tif'), 6);
    const six = await catalogueTiles([d], { bands: ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'] });
    expect(six.rejected).toEqual([]);
    expect(samples(six.tiles[0].bands)).toEqual({ blue: 0, green: 1, red: 2, nir: 3, swir1: 4, swir2: 5 });
    expect(six.warnings).toEqual([]);

    const rgb = join(root, 'exact-rgb');
    mkdirSync(rgb);
    await multi(join(rgb, 'truecolor_20261008.tif'), 4, undefined, ['Red', 'Green', 'Blue', 'NIR']);
    const got = await catalogueTiles([rgb]);
    expect(samples(got.tiles[0].bands)).toEqual({ blue: 2, green: 1, red: 0, nir: 3 });
    expect(got.warnings).toEqual([`${join(rgb, 'truecolor_20261008.tif')}: bands taken by their descriptions (blue=Blue, green=Green, red=Red, nir=NIR), not in the order blue, green, red, nir`]);
  });

  it('reads band descriptions from a GDAL .aux.xml sidecar where the file has none (described in QGIS or Python on a read-only file), the file\'s own first as GDAL does', async () => {
    const d = join(root, 'aux');
    mkdirSync(d);
    const pam = (names: string[]) =>
      `<PAMDataset>\n${names.map((n, k) => `  <PAMRasterBand band="${k + 1}">\n    <Description>${n}</Description>\n  </PAMRasterBand>`).join('\n')}\n</PAMDataset>\n`;
    await multi(join(d, 'stack_20261008.tif'), 6);
    writeFileSync(join(d, 'stack_20261008.tif.aux.xml'), pam(['swir2', 'swir1', 'nir', 'red', 'green', 'blue']));
    const got = await catalogueTiles([join(d, 'stack_20261008.tif')]);
    expect(got.rejected).toEqual([]);
    expect(samples(got.tiles[0].bands)).toEqual({ blue: 5, green: 4, red: 3, nir: 2, swir1: 1, swir2: 0 });

    await multi(join(d, 'own_20261008.tif'), 4, undefined, ['B2', 'B3', 'B4', 'B8']);
    writeFileSync(join(d, 'own_20261008.tif.aux.xml'), pam(['nir', 'red', 'green', 'blue']));
    const own = await catalogueTiles([join(d, 'own_20261008.tif')]);
    expect(samples(own.tiles[0].bands)).toEqual({ blue: 0, green: 1, red: 2, nir: 3 });
  });

  it('reads a 16-bit file whose TIFF says its first bands are red, green, blue (photometric RGB) by that, not as blue, green, red', async () => {
    // A true-colour stack (bands 4, 3, 2, 8) written with PHOTOMETRIC=RGB and no descriptions: read
    // in --bands order it had red and blue swapped, and the batch gave 295 polygons where the same
    // imagery in blue, green, red, nir gives 182 (OSCD Nantes), with exit 0 and no word.
    const d = join(root, 'photometric');
    mkdirSync(d);
    const rgbn = join(d, 'rgbn_20261008.tif');
    await writeGeoTiffArrays(rgbn, { grid, dtype: 'uint16', nodata: 0, photometric: 'rgb', bands: [band(3), band(2), band(1), band(4)] });
    const got = await catalogueTiles([rgbn]);
    expect(got.rejected).toEqual([]);
    expect(samples(got.tiles[0].bands)).toEqual({ red: 0, green: 1, blue: 2, nir: 3 });
    expect(got.warnings).toEqual([
      `${rgbn}: bands taken by the file's colour interpretation (TIFF photometric RGB: band 1 red, 2 green, 3 blue; nir band 4), not in the order blue, green, red, nir`,
    ]);
    // --bands in the file's own order: nothing to say.
    const asked = await catalogueTiles([rgbn], { bands: ['red', 'green', 'blue', 'nir'] });
    expect([samples(asked.tiles[0].bands), asked.warnings]).toEqual([{ red: 0, green: 1, blue: 2, nir: 3 }, []]);
    // --bands in another order than the tag's: a stale tag, or the flag typed as usual? Refused, naming both ways out.
    const told = await catalogueTiles([rgbn], { bands: ['blue', 'green', 'red', 'nir'] });
    expect(told.tiles).toEqual([]);
    expect(told.rejected.map((r) => r.error.code)).toEqual(['TILE.BAND_MISMATCH']);
    expect(told.rejected[0].error.message).toMatch(/--bands says blue, green, red, nir, but the TIFF says .*photometric RGB.*PHOTOMETRIC=MINISBLACK/);
    // GDAL makes every 3- or 4-band 8-bit file it creates RGB, whatever its bands hold (a BGRN GF-2
    // export too): there the tag says nothing, and the file is read in --bands order as before.
    const bytes = join(d, 'bgrn8_20261008.tif');
    await writeGeoTiffArrays(bytes, { grid, dtype: 'uint8', nodata: 0, photometric: 'rgb', bands: [band(1), band(2), band(3), band(4)].map((b) => b.map((v) => v / 10)) });
    const eight = await catalogueTiles([bytes]);
    expect([samples(eight.tiles[0].bands), eight.warnings]).toEqual([{ blue: 0, green: 1, red: 2, nir: 3 }, []]);
    // Band descriptions still come first.
    const described = join(d, 'described_20261008.tif');
    await writeGeoTiffArrays(described, { grid, dtype: 'uint16', nodata: 0, photometric: 'rgb', bands: [band(1), band(2), band(3), band(4)], bandDescriptions: ['B2', 'B3', 'B4', 'B8'] });
    const byDesc = await catalogueTiles([described]);
    expect([samples(byDesc.tiles[0].bands), byDesc.warnings]).toEqual([{ blue: 0, green: 1, red: 2, nir: 3 }, []]);
  });

  it('gives a tile rejected after its header was read (a COG cut short, a broken sidecar) its footprint', async () => {
    // A COG keeps its header before the pixels, so a download cut short still gives its grid: the
    // tile was rejected without its footprint, and its ground was missing from not-observed.geojson
    // (the batch said "not observable 0.2 %" with half the month's ground unread).
    const d = join(root, 'cut-short');
    mkdirSync(d);
    const whole = join(d, 'whole_20261008.tif');
    await writeGeoTiffArrays(whole, { grid, dtype: 'uint16', nodata: 0, ifdFirst: true, tileSize: 16, compression: 'none', bands: [1, 2, 3, 4].map(band) });
    const { tiles: [ok] } = await catalogueTiles([whole]);
    const bytes = readFileSync(whole);
    const cut = join(d, 'cut_20261008.tif');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
    const sidecar = join(d, 'sidecar_20261008.tif');
    writeFileSync(sidecar, bytes);
    writeFileSync(`${sidecar}.aux.xml`, '<PAMDataset><PAMRasterBand band="1"><Scale>0.0001</Scale></PAMRasterBand>'); // not closed
    const { tiles, rejected } = await catalogueTiles([cut, sidecar]);
    expect(tiles).toEqual([]);
    const by = Object.fromEntries(rejected.map((r) => [r.subject, r]));
    expect(by[cut].error.message).toMatch(/chunk \d+ lies beyond the end of the file/);
    expect(by[sidecar].error.message).toMatch(/not well-formed XML/);
    for (const r of [by[cut], by[sidecar]]) expect(r.footprint).toEqual(ok.footprint);
    // A sidecar that puts the file in another coordinate system: where its ground is, is the question.
    const moved = join(d, 'moved_20261008.tif');
    writeFileSync(moved, bytes);
    writeFileSync(`${moved}.aux.xml`, '<PAMDataset><SRS>EPSG:32651</SRS></PAMDataset>');
    const elsewhere = (await catalogueTiles([moved])).rejected[0];
    expect(elsewhere.error.message).toMatch(/another coordinate system/);
    expect(elsewhere.footprint).toBeUndefined();
    // Metres under a lon/lat tag: its corners off the globe. It was catalogued, and detected into
    // polygons off the globe; now refused by name, with no ground to name.
    const lonlat = join(d, 'metres_as_degrees_20261008.tif');
    await writeGeoTiffArrays(lonlat, { grid: { ...grid, crs: 'EPSG:4326' }, dtype: 'uint16', nodata: 0, bands: [1, 2, 3, 4].map(band) });
    const off = await catalogueTiles([lonlat]);
    expect(off.tiles).toEqual([]);
    expect(off.rejected.map((r) => [r.error.code, r.footprint])).toEqual([['TILE.CRS_UNSUPPORTED', undefined]]);
    expect(off.rejected[0].error.message).toMatch(/off the globe in EPSG:4326/);
  });
});
