import { describe, expect, it } from 'vitest';
import { UsageError } from './args.js';
import { parseZoneSpec, parseZonesCrs } from './zone-specs.js';

describe('parseZoneSpec', () => {
  it('splits a CRS suffix off a zone file', () => {
    expect(parseZoneSpec('districts.json@gcj02')).toEqual({ path: 'districts.json', crs: 'gcj02' });
    expect(parseZoneSpec('d.json@GCJ-02')).toEqual({ path: 'd.json', crs: 'gcj02' });
    expect(parseZoneSpec('f.gpkg@EPSG:4527')).toEqual({ path: 'f.gpkg', crs: 'EPSG:4527' });
    expect(parseZoneSpec('f.shp@cgcs2000')).toEqual({ path: 'f.shp', crs: 'EPSG:4490' });
    expect(parseZoneSpec('farmland.gpkg')).toEqual({ path: 'farmland.gpkg' });
  });

  it("keeps an '@' that is not a CRS as part of the path", () => {
    expect(parseZoneSpec('/data/team@city/zones.gpkg')).toEqual({ path: '/data/team@city/zones.gpkg' });
    expect(parseZoneSpec('zones@v2.geojson')).toEqual({ path: 'zones@v2.geojson' });
  });

  it('refuses an EPSG code Tuban cannot project, naming the argument', () => {
    expect(() => parseZoneSpec('z.json@EPSG:99999')).toThrow(UsageError);
    expect(() => parseZoneSpec('z.json@EPSG:99999')).toThrow(/z\.json@EPSG:99999/);
    expect(parseZonesCrs('gcj02')).toBe('gcj02');
    expect(() => parseZonesCrs('mars')).toThrow(/--zones-crs mars/);
  });
});
