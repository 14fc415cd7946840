/**
 * STAC items as tile input (issue 15), with items written by hand after the STAC spec
 * (Item 1.0 with `eo:bands`, Item 1.1 with `bands`/`eo:common_name`, an ItemCollection) and
 * assets generated as small GeoTIFFs beside them. No network.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Grid } from '../geo/raster.js';
import { writeGeoTiffArrays } from '../geo/tiff/write-geotiff.js';
import { catalogueTiles } from './catalogue.js';

const root = mkdtempSync(join(tmpdir(), 'tuban-stac-'));
const grid: Grid = { crs: 'EPSG:32650', width: 16, height: 8, transform: [500000, 10, 0, 4000000, 0, -10] };
const plane = (v: number) => new Uint16Array(grid.width * grid.height).fill(v);

async function band(path: string, count = 1): Promise<void> {
  await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: Array.from({ length: count }, (_, k) => plane(100 + k)), nodata: 0 });
}

const COG = 'image/tiff; application=geotiff; profile=cloud-optimized';

function item(id: string, assets: Record<string, unknown>, props: Record<string, unknown> = {}) {
  return {
    type: 'Feature', stac_version: '1.0.0', stac_extensions: ['https://stac-extensions.github.io/eo/v1.1.0/schema.json'], id,
    geometry: null, properties: { datetime: '2026-10-05T02:55:31.024000Z', ...props }, links: [], assets,
  };
}

describe('STAC items as tiles', () => {
  it('reads an Item (eo:bands common names, relative hrefs): date, bands, cloud cover; jp2 and remote assets skipped', async () => {
    const d = join(root, 'earth-search');
    mkdirSync(join(d, 'assets'), { recursive: true });
    for (const b of ['B02', 'B03', 'B04', 'B08', 'B11', 'B12']) await band(join(d, 'assets', `${b}.tif`));
    const eo = (name: string, common: string) => ({ href: `assets/${name}.tif`, type: COG, roles: ['data'], 'eo:bands': [{ name, common_name: common }] });
    writeFileSync(join(d, 'S2B_50SMF_20261005_0_L2A.json'), JSON.stringify(item('S2B_50SMF_20261005_0_L2A', {
      blue: eo('B02', 'blue'), green: eo('B03', 'green'), red: eo('B04', 'red'), nir: eo('B08', 'nir'),
      swir16: eo('B11', 'swir16'), swir22: eo('B12', 'swir22'),
      thumbnail: { href: 'https://example.com/thumb.jpg', type: 'image/jpeg', roles: ['thumbnail'] },
      'blue-jp2': { href: 'assets/B02.jp2', type: 'image/jp2', roles: ['data'], 'eo:bands': [{ name: 'B02', common_name: 'blue' }] },
      rededge1: { href: 's3://sentinel-cogs/B05.tif', type: COG, roles: ['data'], 'eo:bands': [{ name: 'B05', common_name: 'rededge' }] },
      coastal: { href: 's3://sentinel-cogs/B01.tif', type: COG, roles: ['data'], 'eo:bands': [{ name: 'B01', common_name: 'coastal' }] },
    }, { 'eo:cloud_cover': 3.2 })));

    const { tiles, rejected, warnings } = await catalogueTiles([join(d, '*.json')]);
    expect(rejected).toEqual([]);
    expect(tiles).toHaveLength(1);
    const t = tiles[0];
    expect([t.date, t.datePrecision, t.cloudCover]).toEqual(['2026-10-05', 'day', 3.2]);
    expect(t.stacItem).toBe(`${join(d, 'S2B_50SMF_20261005_0_L2A.json')}#S2B_50SMF_20261005_0_L2A`);
    expect(t.bands.red).toEqual({ file: join(d, 'assets', 'B04.tif'), sample: 0 });
    expect(Object.keys(t.bands).sort()).toEqual(['blue', 'green', 'nir', 'red', 'swir1', 'swir2']);
    expect(warnings.join('\n')).toMatch(/blue-jp2: JPEG 2000 is not read; convert it with gdal_translate -of COG/);

    // --bands restricts STAC assets too.
    const four = await catalogueTiles([d], { bands: ['blue', 'green', 'red', 'nir'] });
    expect(Object.keys(four.tiles[0].bands).sort()).toEqual(['blue', 'green', 'nir', 'red']);
    // The item's asset files are not catalogued a second time as Sentinel-2 band files of their own.
    expect(four.tiles).toHaveLength(1);
  });

  it('reads an ItemCollection of STAC 1.1 items (bands/eo:common_name, file:// and absolute hrefs, B02-style keys, a 4-band asset)', async () => {
    const d = join(root, 'collection');
    mkdirSync(d);
    await band(join(d, 'multi.tif'), 4);
    for (const b of ['B02', 'B03', 'B04', 'B08']) await band(join(d, `k_${b}.tif`));
    await band(join(d, 'ls_B5.tif'));
    const multi = {
      ...item('four-band', {
        data: { href: pathToFileURL(join(d, 'multi.tif')).href, type: COG, roles: ['data'], bands: ['blue', 'green', 'red', 'nir'].map((c) => ({ name: c, 'eo:common_name': c })) },
      }, { datetime: null, start_datetime: '2026-09-01T00:00:00Z', end_datetime: '2026-09-30T23:59:59Z' }),
      stac_version: '1.1.0',
    };
    const keyed = item('keyed', Object.fromEntries(['B02', 'B03', 'B04', 'B08'].map((b) => [b, { href: join(d, `k_${b}.tif`), type: COG }])), { 'eo:cloud_cover': 0 });
    const landsat = item('landsat', {
      blue: { href: 'k_B02.tif', type: COG, 'eo:bands': [{ common_name: 'blue' }] },
      green: { href: 'k_B03.tif', type: COG, 'eo:bands': [{ common_name: 'green' }] },
      red: { href: 'k_B04.tif', type: COG, 'eo:bands': [{ common_name: 'red' }] },
      nir08: { href: 'ls_B5.tif', type: COG, 'eo:bands': [{ common_name: 'nir08' }] },
    });
    const path = join(d, 'items.json');
    writeFileSync(path, JSON.stringify({ type: 'FeatureCollection', features: [multi, keyed, landsat] }));
    const { tiles, rejected } = await catalogueTiles([path]);
    expect(rejected).toEqual([]);
    const byId = Object.fromEntries(tiles.map((t) => [t.stacItem!.split('#')[1], t]));
    expect(byId['four-band'].bands.nir).toEqual({ file: join(d, 'multi.tif'), sample: 3 });
    expect(byId['four-band'].date).toBe('2026-09-01');
    expect(byId.keyed.bands.green).toEqual({ file: join(d, 'k_B03.tif'), sample: 0 });
    expect(byId.keyed.cloudCover).toBe(0);
    expect(byId.landsat.bands.nir).toEqual({ file: join(d, 'ls_B5.tif'), sample: 0 }); // Landsat NIR is nir08
  });

  it('names the missing asset file of an item, and rejects JSON that is not STAC by name', async () => {
    const d = join(root, 'missing');
    mkdirSync(d);
    for (const b of ['B02', 'B03', 'B08']) await band(join(d, `${b}.tif`));
    const items = join(d, 'item.json');
    writeFileSync(items, JSON.stringify(item('gap', Object.fromEntries(['B02', 'B03', 'B04', 'B08'].map((b) => [b, { href: `./${b}.tif`, type: COG }])))));
    const other = join(d, 'notes.json');
    writeFileSync(other, JSON.stringify({ hello: 'world' }));
    const { tiles, rejected } = await catalogueTiles([items, other]);
    expect(tiles).toEqual([]);
    expect(rejected.map((r) => [r.subject, r.error.code])).toEqual([
      [other, 'TILE.UNREADABLE'],
      [`${items}#gap`, 'INPUT.NOT_FOUND'],
    ]);
    expect(rejected[1].error.message).toContain(`asset 'B04' (red): file ${join(d, 'B04.tif')} does not exist`);
    expect(rejected[0].error.message).toMatch(/not a STAC Item or ItemCollection/);
  });

  it('says which assets were skipped when an item lacks a band', async () => {
    const d = join(root, 'jp2');
    mkdirSync(d);
    const items = join(d, 'item.json');
    writeFileSync(items, JSON.stringify(item('safe', Object.fromEntries(['B02', 'B03', 'B04', 'B08'].map((b) => [b, { href: `GRANULE/IMG_DATA/T50SMF_${b}_10m.jp2`, type: 'image/jp2', roles: ['data'] }])))));
    const { rejected } = await catalogueTiles([items]);
    expect(rejected.map((r) => r.error.code)).toEqual(['TILE.BAND_MISMATCH']);
    expect(rejected[0].error.message).toMatch(/lack blue, green, red, nir \(skipped: B02: JPEG 2000 is not read; convert it with gdal_translate -of COG/);
  });
});
