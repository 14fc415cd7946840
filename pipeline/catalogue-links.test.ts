/**
 * Symbolic links met while searching a folder: a link back to a folder above (`up -> ..`) is not
 * walked again (it used to be followed ~40 levels deep, until the system refused, each tile found
 * 40 times with a "same tile" warning each), and a link to nothing named like a tile is rejected by
 * name instead of passed over in silence.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Grid } from '../geo/raster.js';
import { writeGeoTiffArrays } from '../geo/tiff/write-geotiff.js';
import { catalogueTiles } from './catalogue.js';

const grid: Grid = { width: 4, height: 4, transform: [500000, 10, 0, 4060000, 0, -10], crs: 'EPSG:32650' };
const band = (v: number) => new Float32Array(16).fill(v);

describe('symbolic links in a tile folder', () => {
  it('walks a looping folder link once and names a dangling tile link', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tuban-links-')), 'cur');
    mkdirSync(dir);
    await writeGeoTiffArrays(join(dir, 'S2_20261008_a.tif'), { grid, dtype: 'uint16', bands: [1, 2, 3, 4].map(band), date: '2026-10-08', nodata: 0 });
    symlinkSync('..', join(dir, 'up'));
    symlinkSync(join(dir, 'gone.tif'), join(dir, 'S2_20261008_b.tif'));
    const cat = await catalogueTiles([dir]);
    expect(cat.tiles).toHaveLength(1);
    expect(cat.warnings).toEqual([]);
    expect(cat.rejected.map((r) => [r.subject, r.error.code])).toEqual([[join(dir, 'S2_20261008_b.tif'), 'INPUT.NOT_FOUND']]);
    expect(cat.rejected[0].error.message).toMatch(/link/);
  });
});
