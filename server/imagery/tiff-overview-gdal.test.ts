/**
 * The map's low-zoom overview read from a COG's own reduced-resolution image (GDAL's gdaladdo / COG
 * driver) against the same file's full image decimated through the batch's reader: the pixels each
 * reads as no data, and the values, agree up to resampling. The file overview used to be read raw:
 * GDAL's internal or external (.msk) mask, an alpha band, the "0 in every band is fill" rule of
 * files declaring no nodata and the bands' declared scale/offset were all ignored there, so masked
 * ground was drawn as imagery and a scaled file's low zooms on another scale than its close ones
 * (the month's stretch, from full-resolution samples, is applied to both).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TileInfo } from '../../geo/tile-reader.js';
import { openGeoTiff } from '../../geo/tiff/open-geotiff.js';
import { writeGeoTiffArrays } from '../../geo/tiff/write-geotiff.js';
import { TileSource } from './tile-source.js';
import type { Overview } from './tile-source.js';

const gdalMissing = spawnSync('gdal_translate', ['--version']).status !== 0;
const CI = process.env.CI === 'true';

const S = 512;
/** The left quarter (x < 128, whole blocks of every overview level) is no data, however each file says so. */
const EDGE = 128;
const grid = { width: S, height: S, crs: 'EPSG:32650', transform: [500000, 10, 0, 4060000, 0, -10] as [number, number, number, number, number, number] };
/** A smooth ramp (box averages of it are exact), `fill` in the no-data quarter. */
const band = (k: number, fill: number, shift = 0): Float32Array => {
  const a = new Float32Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) a[y * S + x] = x < EDGE ? fill : 1500 + 3 * x + 2 * y + 200 * k + shift;
  return a;
};
const opacity = (): Float32Array => {
  const a = new Float32Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) a[y * S + x] = x < EDGE ? 0 : 255;
  return a;
};

const COG = ['-of', 'COG', '-co', 'BLOCKSIZE=128', '-co', 'RESAMPLING=AVERAGE', '-co', 'COMPRESS=DEFLATE'];
const gdal = (tool: string, args: string[], env: Record<string, string> = {}) => execFileSync(tool, ['-q', ...args], { env: { ...process.env, ...env } });

async function tileOf(path: string): Promise<TileInfo> {
  const f = await openGeoTiff(path);
  const nodata = f.nodata;
  await f.close();
  return {
    id: path, files: [path], grid, date: '2026-10-08', dtype: 'uint16', nodata,
    bands: { red: { file: path, sample: 0 }, green: { file: path, sample: 1 }, blue: { file: path, sample: 2 } },
    footprint: { type: 'Polygon', coordinates: [[[117, 36], [117.01, 36], [117.01, 36.01], [117, 36.01], [117, 36]]] },
  };
}

async function overviewOf(path: string): Promise<Overview> {
  const src = new TileSource(await tileOf(path), { maxOverviewSide: S / 4 });
  try {
    return await src.overview();
  } finally {
    await src.close();
  }
}

/** Where the two overviews disagree on validity, and the largest value difference where both are valid. */
function compare(a: Overview, b: Overview): { validDiffers: number; maxDiff: number; valid: number } {
  let validDiffers = 0;
  let maxDiff = 0;
  let valid = 0;
  for (let i = 0; i < a.valid.length; i++) {
    if (a.valid[i] !== b.valid[i]) validDiffers++;
    if (!a.valid[i] || !b.valid[i]) continue;
    valid++;
    for (let k = 0; k < 3; k++) maxDiff = Math.max(maxDiff, Math.abs(a.bands[k][i] - b.bands[k][i]));
  }
  return { validDiffers, maxDiff, valid };
}

describe.skipIf(gdalMissing && !CI)("a COG's own overview reads as its full image does", () => {
  let dir: string;
  /** name → [the file with overviews, the same file without any (its full image decimated)] */
  const files = new Map<string, [string, string]>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-ovr-gdal-'));
    const at = (name: string) => join(dir, name);
    // Bands 1–3 imagery, 6000 (no imagery) in the quarter band 4 (0/255) masks.
    await writeGeoTiffArrays(at('src-mask4.tif'), { grid, dtype: 'uint16', bands: [band(0, 6000), band(1, 6000), band(2, 6000), opacity()] });
    await writeGeoTiffArrays(at('src-zero.tif'), { grid, dtype: 'uint16', bands: [band(0, 0), band(1, 0), band(2, 0)] });
    await writeGeoTiffArrays(at('src-offset.tif'), { grid, dtype: 'uint16', bands: [band(0, 0, 1000), band(1, 0, 1000), band(2, 0, 1000)] });
    await writeGeoTiffArrays(at('src-alpha.tif'), { grid, dtype: 'uint16', alpha: true, bands: [band(0, 6000), band(1, 6000), band(2, 6000), opacity()] });
    const both = (name: string, make: (out: string, overviews: boolean) => void) => {
      make(at(`${name}.tif`), true);
      make(at(`${name}-flat.tif`), false);
      files.set(name, [at(`${name}.tif`), at(`${name}-flat.tif`)]);
    };
    const cog = (args: string[], src: string) => (out: string, ovr: boolean) => gdal('gdal_translate', [...args, ...COG, ...(ovr ? [] : ['-co', 'OVERVIEWS=NONE']), at(src), out]);
    // GDAL's internal mask (a COG's: its overviews have their own masks, NewSubfileType 5).
    both('internal-mask', cog(['-b', '1', '-b', '2', '-b', '3', '-mask', '4'], 'src-mask4.tif'));
    // An external X.tif.msk, the image's overviews by gdaladdo: GDAL 3.6 writes none for the mask,
    // so its no-data pixels are unknown at the overviews' size (the full image is decimated)…
    const external = (maskOverviews: boolean) => (out: string, ovr: boolean) => {
      const env = { GDAL_TIFF_INTERNAL_MASK: 'NO' };
      gdal('gdal_translate', ['-b', '1', '-b', '2', '-b', '3', '-mask', '4', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=128', '-co', 'BLOCKYSIZE=128', at('src-mask4.tif'), out], env);
      if (ovr) gdal('gdaladdo', ['-r', 'average', out, '2', '4'], env);
      // …unless the .msk has its own (gdaladdo X.tif.msk).
      if (ovr && maskOverviews) gdal('gdaladdo', ['-r', 'average', `${out}.msk`, '2', '4'], env);
    };
    both('external-mask', external(false));
    both('external-mask-overviews', external(true));
    // No nodata declared: 0 in every band is fill.
    both('zero-fill', cog([], 'src-zero.tif'));
    // Nodata declared.
    both('nodata', cog(['-a_nodata', '0'], 'src-zero.tif'));
    // Counts + 1000 declared with offset −1000 (as Sentinel-2 L2A's BOA_ADD_OFFSET), and in reflectance.
    both('offset', cog(['-a_nodata', '0', '-a_offset', '-1000'], 'src-offset.tif'));
    both('reflectance', cog(['-a_nodata', '0', '-a_scale', '0.0001', '-a_offset', '-0.1'], 'src-offset.tif'));
    // An alpha band (ExtraSamples), 6000 where it is transparent.
    both('alpha', cog([], 'src-alpha.tif'));
    // gdalwarp -dstalpha of a file with nodata 0.
    both('dstalpha', (out, ovr) => gdal('gdalwarp', ['-srcnodata', '0', '-dstalpha', ...COG, ...(ovr ? [] : ['-co', 'OVERVIEWS=NONE']), at('nodata.tif'), out]));
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // Whether the file's own overview is read: where the reader's rules can be told at its size.
  const fromFile: Record<string, boolean> = {
    'internal-mask': true, 'external-mask': false, 'external-mask-overviews': true, 'zero-fill': true,
    nodata: true, offset: true, reflectance: true, alpha: true, dstalpha: true,
  };
  for (const [name, own] of Object.entries(fromFile)) {
    it(`${name}: the same pixels valid and the same values as the decimated full image`, async () => {
      const [withOverviews, flat] = files.get(name)!;
      const ref = await overviewOf(flat);
      expect(ref.fromFile).toBe(false);
      const ov = await overviewOf(withOverviews);
      // The reference's no-data quarter, and imagery elsewhere, on the scale without the offset.
      expect(ref.valid[0]).toBe(0);
      expect(ref.valid[ref.grid.width - 1]).toBe(1);
      expect(ref.bands[0][ref.grid.width - 1]).toBeCloseTo(1500 + 3 * (S - 2.5) + 2 * 1.5, 3);
      const c = compare(ov, ref);
      expect({ validDiffers: c.validDiffers, valid: c.valid }).toEqual({ validDiffers: 0, valid: (ref.grid.width * 3) / 4 * ref.grid.height });
      expect(c.maxDiff).toBeLessThanOrEqual(1);
      expect(ov.fromFile).toBe(own);
    });
  }
});
