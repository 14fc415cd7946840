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

  it('says what the user can do about an unsupported CRS: reproject (with the command) or a supported suffix, not a WKT the command line cannot take', () => {
    const message = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    const suffix = message(() => parseZoneSpec('f.geojson@EPSG:9999'));
    expect(suffix).not.toContain('WKT');
    expect(suffix).toContain('ogr2ogr -s_srs EPSG:9999 -t_srs EPSG:4490 f-4490.geojson f.geojson');
    expect(suffix).toContain('f-4490.geojson@cgcs2000');
    for (const s of ['@gcj02', '@wgs84', '@cgcs2000', '@EPSG:n', '32601–32660', '4491–4554']) expect(suffix).toContain(s);
    const global = message(() => parseZonesCrs('EPSG:9999'));
    expect(global).not.toContain('WKT');
    expect(global).toContain('ogr2ogr -t_srs EPSG:4490');
  });
});
