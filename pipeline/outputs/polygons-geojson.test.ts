import { mkdtemp, readdir, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { polygonPropertiesSchema } from '../../schemas/polygon.js';
import { polygonFeature, writePolygonsGeoJson } from './polygons-geojson.js';
import { sampleBureauName as bureauName, samplePolygon as poly } from '../../fixtures/sample-polygon.js';

/** Shoelace in lon/lat; > 0 for counter-clockwise. */
const orientation = (r: number[][]) => r.slice(1).reduce((s, p, i) => s + (r[i][0] * p[1] - p[0] * r[i][1]), 0);

describe('polygonFeature', () => {
  it('writes exactly the properties of the output contract (schemas/polygon.ts)', () => {
    const props = polygonFeature(poly(), bureauName).properties;
    expect(polygonPropertiesSchema.strict().parse(props)).toEqual(props);
    expect(() => polygonPropertiesSchema.strict().parse({ ...props, extra: 1 })).toThrow();
  });

  it('writes snake_case properties with bureau names and overlaps', () => {
    const f = polygonFeature(poly(), bureauName);
    expect(f.id).toBe('370102-202610-0007');
    expect(f.properties).toMatchObject({
      code: '370102-202610-0007',
      district_code: '370102',
      district_name: '历下区',
      township_code: '370102001',
      township_name: '解放路街道',
      village_code: '370102001002',
      village_name: '文化东路社区',
      lead_bureau: 'forestry',
      lead_bureau_name: '园林和林业绿化局',
      co_bureaus: ['natural_resources'],
      rule_id: 'forest-v1',
      priority: 'high',
      area_m2: 8974.12,
      centroid_lon: 117.0005123,
      change_type: 'construction',
      change_class: 'JZ',
      land_class_before: '0103',
      previous_code: null,
      detector_name: 'cva-otsu',
      detector_version: '1.2.0',
      detector_params_hash: 'abc123',
      tile_id: 'tile-1',
    });
    expect(f.properties.overlaps).toEqual({ farmland: { m2: 3000.46, share: 0.3343 }, forest: { m2: 10, share: 0.0011 } });
    expect(f.properties.area_mu).toBeCloseTo(13.4612, 4);
  });

  it('rounds to 1e-7 degrees, makes outer rings CCW and holes CW', () => {
    const g = polygonFeature(poly(), bureauName).geometry;
    expect(g.coordinates[0][0]).toEqual([117, 36]);
    expect(orientation(g.coordinates[0])).toBeGreaterThan(0);
    expect(orientation(g.coordinates[1])).toBeLessThan(0);
    for (const r of g.coordinates) expect(r[0]).toEqual(r[r.length - 1]);
  });
});

describe('writePolygonsGeoJson', () => {
  it('writes a FeatureCollection that parses back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-out-'));
    const path = join(dir, 'polygons.geojson');
    await writePolygonsGeoJson(path, [poly(), poly({ code: '370103-202610-0001', previousCode: '370103-202609-0004' })], bureauName);
    const fc = JSON.parse(await readFile(path, 'utf8'));
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.crs).toBeUndefined(); // RFC 7946 has no crs member
    expect(fc.features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual(['370102-202610-0007', '370103-202610-0001']);
    expect(fc.features[1].properties.previous_code).toBe('370103-202609-0004');
  });

  it('on a full disk names the file it could not write, as atomicWrite does, and leaves no partial file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-out-full-'));
    const path = join(dir, 'polygons.geojson');
    // The staged file lands on a device that is full: each write is ENOSPC.
    await symlink('/dev/full', `${path}.${process.pid}.tmp`);
    const err = (await writePolygonsGeoJson(path, [poly()], bureauName).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect([err.code, err.path]).toEqual(['ENOSPC', path]);
    expect(err.message).toBe(`${path}: ENOSPC: no space left on device, write; ${path} was not replaced`);
    expect(await readdir(dir)).toEqual([]);
  });
});

