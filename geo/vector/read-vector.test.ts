import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { MultiPolygon, Polygon } from 'geojson';
import proj4 from 'proj4';
import { beforeAll, describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import { wgs84ToGcj02 } from '../gcj02.js';
import { readVectorFile } from './read-vector.js';
import { writeGeoPackage } from './write-gpkg.js';
import { sqlJs } from './sqlite.js';
import { writeGpkgBlob } from './wkb.js';
import { encodeShapefile, writeShapefile } from './write-shapefile.js';

// CGCS2000 3° Gauss-Krüger zone 39 with zone-prefixed easting (EPSG:4527), written out here so the
// test does not trust the code under test for the expected values.
const GK39 = '+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=39500000 +y_0=0 +ellps=GRS80 +units=m +no_defs';
const GK39_WKT =
  'PROJCS["CGCS2000 / 3-degree Gauss-Kruger zone 39",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],' +
  'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",117],' +
  'PARAMETER["scale_factor",1],PARAMETER["false_easting",39500000],PARAMETER["false_northing",0],UNIT["metre",1]]';

const square = (lon: number, lat: number, d = 0.01): Polygon => ({
  type: 'Polygon',
  coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]],
});
const toGk = (p: Polygon): Polygon => ({ type: 'Polygon', coordinates: p.coordinates.map((r) => r.map((q) => proj4('WGS84', GK39, q))) });
const firstPos = (g: Polygon | MultiPolygon) => (g.type === 'Polygon' ? g.coordinates[0][0] : g.coordinates[0][0][0]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-vector-'));
});

async function expectCode(p: Promise<unknown>, code: string, mention: string): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(TubanError);
  expect((err as TubanError).code).toBe(code);
  expect((err as TubanError).message).toContain(mention);
}

describe('readVectorFile', () => {
  it('reprojects a GeoJSON with a crs member in EPSG:4527 to lon/lat', async () => {
    const path = join(dir, 'gk.geojson');
    const sq = square(117.02, 36.66);
    await writeFile(path, JSON.stringify({
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4527' } },
      features: [
        { type: 'Feature', id: 'a', properties: { kind: 'forest' }, geometry: toGk(sq) },
        { type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: [[39500000, 4000000], [39500100, 4000000]] } },
      ],
    }));
    const r = await readVectorFile(path);
    expect(r.crs).toBe('EPSG:4527');
    expect(r.features).toHaveLength(1);
    expect(r.features[0].id).toBe('a');
    expect(r.features[0].properties).toEqual({ kind: 'forest' });
    const got = (r.features[0].geometry as Polygon).coordinates[0];
    sq.coordinates[0].forEach((q, i) => {
      expect(got[i][0]).toBeCloseTo(q[0], 7);
      expect(got[i][1]).toBeCloseTo(q[1], 7);
    });
    expect(r.warnings.join()).toMatch(/skipped 1 .*LineString/);
  });

  it('defaults GeoJSON without crs to EPSG:4326 and rejects projected coordinates there', async () => {
    const ok = join(dir, 'plain.geojson');
    await writeFile(ok, JSON.stringify({ type: 'Feature', properties: null, geometry: square(10, 50) }));
    const r = await readVectorFile(ok);
    expect(r.crs).toBe('EPSG:4326');
    expect(firstPos(r.features[0].geometry)).toEqual([10, 50]);

    const bad = join(dir, 'projected-no-crs.geojson');
    await writeFile(bad, JSON.stringify({ type: 'Feature', properties: {}, geometry: toGk(square(117, 36)) }));
    await expectCode(readVectorFile(bad), 'ZONES.CRS_MISSING', 'projected-no-crs.geojson');
  });

  it('undoes GCJ-02 when asked', async () => {
    const path = join(dir, 'gcj.geojson');
    const [glon, glat] = wgs84ToGcj02(117.05, 36.65);
    await writeFile(path, JSON.stringify({ type: 'Feature', properties: {}, geometry: square(glon, glat) }));
    const r = await readVectorFile(path, { sourceCrs: 'gcj02' });
    expect(r.crs).toBe('gcj02');
    const p = firstPos(r.features[0].geometry);
    expect(p[0]).toBeCloseTo(117.05, 7);
    expect(p[1]).toBeCloseTo(36.65, 7);
  });

  it('undoes GCJ-02 in a file reprojected from it (a DataV download saved in CGCS2000 Gauss-Krüger by a desktop GIS)', async () => {
    const path = join(dir, 'gcj-gk.geojson');
    const [glon, glat] = wgs84ToGcj02(117.05, 36.65);
    const named = { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4527' } };
    await writeFile(path, JSON.stringify({ type: 'FeatureCollection', crs: named, features: [{ type: 'Feature', properties: {}, geometry: toGk(square(glon, glat)) }] }));
    const r = await readVectorFile(path, { sourceCrs: 'gcj02' });
    expect(r.crs).toBe('gcj02');
    const p = firstPos(r.features[0].geometry);
    expect(p[0]).toBeCloseTo(117.05, 6);
    expect(p[1]).toBeCloseTo(36.65, 6);
    // Northing first (a zone-prefixed easting in y): swapped by its own CRS's rule, as without @gcj02.
    const swapped = join(dir, 'gcj-gk-ne.geojson');
    const ne = toGk(square(glon, glat));
    ne.coordinates = ne.coordinates.map((ring) => ring.map(([x, y]) => [y, x]));
    await writeFile(swapped, JSON.stringify({ type: 'FeatureCollection', crs: named, features: [{ type: 'Feature', properties: {}, geometry: ne }] }));
    const q = firstPos((await readVectorFile(swapped, { sourceCrs: 'gcj02' })).features[0].geometry);
    expect(q[0]).toBeCloseTo(117.05, 6);
    expect(q[1]).toBeCloseTo(36.65, 6);
  });

  it('reads back a GeoPackage written by writeGeoPackage identically', async () => {
    const path = join(dir, 'round.gpkg');
    const multi: MultiPolygon = {
      type: 'MultiPolygon',
      coordinates: [
        [[[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]], [[1.2, 1.2], [1.2, 1.4], [1.4, 1.4], [1.4, 1.2], [1.2, 1.2]]],
        [[[3, 3], [4, 3], [4, 4], [3, 3]]],
      ],
    };
    const features = [
      { geometry: square(117.123456789, 36.987654321), properties: { kind: '林地', n: 3, share: 0.25, ok: true, tags: ['a', 'b'], none: null } },
      { geometry: multi, properties: { kind: 'farmland', n: 4, share: 1, ok: false, tags: [], none: null } },
    ];
    await writeGeoPackage(path, [{ name: 'zones', features }]);
    const r = await readVectorFile(path);
    expect(r.crs).toBe('EPSG:4326');
    expect(r.features.map((f) => f.id)).toEqual(['1', '2']);
    expect(r.features[0].geometry).toEqual(features[0].geometry);
    expect(r.features[1].geometry).toEqual(multi);
    expect(r.features[0].properties).toEqual({ kind: '林地', n: 3, share: 0.25, ok: true, tags: '["a","b"]', none: null });
    expect(r.features[1].properties.ok).toBe(false);
  });

  it('reads every layer of a GeoPackage whose layers are in different CRSs, each by its own', async () => {
    // A GeoPackage put together in QGIS: districts in lon/lat, farmland in CGCS2000 Gauss-Krüger.
    // Its second layer used to be skipped with a warning ("one CRS per file"): the batch routed every
    // polygon without its farmland, exit 0.
    const path = join(dir, 'mixed-crs.gpkg');
    const district = square(117.0, 36.6, 0.1);
    const farm = square(117.02, 36.62, 0.01);
    await writeGeoPackage(path, [
      { name: 'districts', features: [{ geometry: district, properties: { kind: 'district', code: '370102' } }] },
      { name: 'farmland', features: [{ geometry: farm, properties: { kind: 'permanent_basic_farmland' } }] },
    ]);
    const SQL = await sqlJs();
    const db = new SQL.Database(await readFile(path));
    db.run('INSERT INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)', ['CGCS2000 / 3-degree Gauss-Kruger zone 39', 4527, 'EPSG', 4527, GK39_WKT, '']);
    db.run('UPDATE farmland SET geom = ?', [writeGpkgBlob(toGk(farm), 4527)]);
    db.run("UPDATE gpkg_geometry_columns SET srs_id = 4527 WHERE table_name = 'farmland'");
    db.run("UPDATE gpkg_contents SET srs_id = 4527 WHERE table_name = 'farmland'");
    await writeFile(path, db.export());
    db.close();

    const r = await readVectorFile(path);
    expect(r.warnings).toEqual([]);
    expect(r.features.map((f) => f.properties.kind)).toEqual(['district', 'permanent_basic_farmland']);
    expect(r.features[0].geometry).toEqual(district);
    const got = (r.features[1].geometry as Polygon).coordinates[0];
    farm.coordinates[0].forEach((q, i) => {
      expect(got[i][0]).toBeCloseTo(q[0], 7);
      expect(got[i][1]).toBeCloseTo(q[1], 7);
    });
    // A layer with no CRS (srs_id -1) beside one with a CRS is not read in the other's.
    const bare = join(dir, 'mixed-undefined.gpkg');
    const db2 = new SQL.Database(await readFile(path));
    db2.run("UPDATE gpkg_geometry_columns SET srs_id = -1 WHERE table_name = 'farmland'");
    await writeFile(bare, db2.export());
    db2.close();
    await expectCode(readVectorFile(bare), 'ZONES.CRS_MISSING', "layer 'farmland' declares no coordinate system");
  });

  it('refuses a layer on a datum it gives no shift for (Beijing 1954, Xian 1980: no TOWGS84), reads one that gives it', async () => {
    // A Beijing 1954 Gauss-Krüger shapefile as ArcGIS writes its .prj: read without a datum shift
    // it lay ~70 m off where QGIS and GDAL put it (Taizhou), districts and farmland misplaced, exit 0.
    const bj54 = (towgs84: string) =>
      `PROJCS["Beijing_1954_3_Degree_GK_CM_117E",GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,298.3]${towgs84}],` +
      'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],' +
      'PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';
    const gk = (p: Polygon): Polygon => ({ type: 'Polygon', coordinates: p.coordinates.map((r) => r.map((q) => proj4('WGS84', '+proj=tmerc +lon_0=117 +k=1 +x_0=500000 +ellps=krass +towgs84=15.8,-154.4,-82.3', q))) });
    const sq = square(117.02, 36.66);
    const base = join(dir, 'bj54');
    await writeShapefile(base, [{ geometry: gk(sq), properties: { kind: 'forest' } }], bj54(''));
    await expectCode(readVectorFile(`${base}.shp`), 'ZONES.UNREADABLE', 'its datum, Beijing 1954 (ellipsoid Krasovsky 1940), is not WGS84 or CGCS2000 and the file gives no shift to them');
    // The datum named as the file names it: it was 'xian 1980 (ellipsoid Xian80)' from ESRI's WKT, 'EPSG 4610' from WKT2.
    const xian = join(dir, 'xian80');
    await writeShapefile(xian, [{ geometry: gk(sq), properties: { kind: 'forest' } }],
      'PROJCS["Xian_1980_3_Degree_GK_CM_117E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],' +
        'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]');
    await expectCode(readVectorFile(`${xian}.shp`), 'ZONES.UNREADABLE', 'its datum, Xian 1980 (ellipsoid Xian 1980), is not WGS84');
    const xian2 = join(dir, 'xian80-wkt2');
    const deg = 'ANGLEUNIT["degree",0.0174532925199433]';
    await writeShapefile(xian2, [{ geometry: gk(sq), properties: { kind: 'forest' } }],
      `PROJCRS["Xian 1980 / 3-degree Gauss-Kruger CM 117E",BASEGEOGCRS["Xian 1980",DATUM["Xian 1980",ELLIPSOID["IAG 1975",6378140,298.257,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,${deg}],ID["EPSG",4610]],` +
        `CONVERSION["3-degree Gauss-Kruger CM 117E",METHOD["Transverse Mercator",ID["EPSG",9807]],PARAMETER["Latitude of natural origin",0,${deg}],PARAMETER["Longitude of natural origin",117,${deg}],` +
        'PARAMETER["Scale factor at natural origin",1,SCALEUNIT["unity",1]],PARAMETER["False easting",500000,LENGTHUNIT["metre",1]],PARAMETER["False northing",0,LENGTHUNIT["metre",1]]],' +
        'CS[Cartesian,2],AXIS["easting (Y)",east,ORDER[1],LENGTHUNIT["metre",1]],AXIS["northing (X)",north,ORDER[2],LENGTHUNIT["metre",1]],ID["EPSG",2383]]');
    await expectCode(readVectorFile(`${xian2}.shp`), 'ZONES.UNREADABLE', 'its datum, Xian 1980 (ellipsoid IAG 1975), is not WGS84');
    await expect(readVectorFile(`${base}.shp`)).rejects.toThrow(`-t_srs EPSG:4490 ${base}-4490.gpkg ${base}.shp`);
    const shifted = join(dir, 'bj54-towgs84');
    await writeShapefile(shifted, [{ geometry: gk(sq), properties: { kind: 'forest' } }], bj54(',TOWGS84[15.8,-154.4,-82.3,0,0,0,0]'));
    const q = firstPos((await readVectorFile(`${shifted}.shp`)).features[0].geometry);
    expect(q[0]).toBeCloseTo(117.02, 6);
    expect(q[1]).toBeCloseTo(36.66, 6);
  });

  it('reads a shapefile with its .prj and fails with CRS_MISSING without one', async () => {
    const base = join(dir, 'parcels');
    const sq = square(117.3, 36.7, 0.002);
    await writeShapefile(base, [
      { geometry: toGk(sq), properties: { dlbm: '0101', name: '耕地一', area: 12.5 } },
      { geometry: toGk(square(117.31, 36.7, 0.002)), properties: { dlbm: '0702', name: null, area: 3 } },
    ], GK39_WKT);
    const r = await readVectorFile(`${base}.shp`);
    expect(r.features).toHaveLength(2);
    expect(r.features[0].properties).toMatchObject({ dlbm: '0101', name: '耕地一', area: 12.5 });
    const p = firstPos(r.features[0].geometry);
    // The writer reverses rings to clockwise, so compare against any corner of the square.
    expect(sq.coordinates[0].some((q) => Math.abs(q[0] - p[0]) < 1e-7 && Math.abs(q[1] - p[1]) < 1e-7)).toBe(true);

    const bare = join(dir, 'noprj');
    await writeShapefile(bare, [{ geometry: toGk(sq), properties: { dlbm: '0101' } }]);
    await expectCode(readVectorFile(`${bare}.shp`), 'ZONES.CRS_MISSING', 'noprj.shp');
    await expect(readVectorFile(`${bare}.shp`)).rejects.toThrow(`${bare}.shp@EPSG:4527`);
    const forced = await readVectorFile(`${bare}.shp`, { sourceCrs: 'EPSG:4527' });
    expect(forced.features[0].geometry.type).toBe('Polygon');
  });

  it('names the file when it is unreadable or has no polygons', async () => {
    const junk = join(dir, 'junk.geojson');
    await writeFile(junk, '{"type": "FeatureCollection", "features": [');
    await expectCode(readVectorFile(junk), 'ZONES.UNREADABLE', 'junk.geojson');
    const badGpkg = join(dir, 'bad.gpkg');
    await writeFile(badGpkg, 'not sqlite at all');
    await expectCode(readVectorFile(badGpkg), 'ZONES.UNREADABLE', 'bad.gpkg');
    const empty = join(dir, 'empty.geojson');
    await writeFile(empty, JSON.stringify({ type: 'FeatureCollection', features: [] }));
    await expectCode(readVectorFile(empty), 'ZONES.EMPTY', 'empty.geojson');
    // A file of lines only says so, and one whose geometries cannot be read says why.
    const lines = join(dir, 'roads.geojson');
    await writeFile(lines, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { kind: 'transport_project' }, geometry: { type: 'LineString', coordinates: [[117, 36], [117.1, 36]] } }] }));
    await expectCode(readVectorFile(lines), 'ZONES.EMPTY', 'roads.geojson has no polygon features (it holds 1 feature(s) with LineString; only polygons are zones)');
    const tin = join(dir, 'tin.gpkg');
    await writeGeoPackage(tin, [{ name: 'zones', features: [{ geometry: square(117, 36), properties: { kind: 'forest' } }] }]);
    const SQL = await sqlJs();
    const db = new SQL.Database(await readFile(tin));
    const blob = writeGpkgBlob(square(117, 36), 4326);
    new DataView(blob.buffer).setUint32(41, 15, true); // WKB type PolyhedralSurface
    db.run('UPDATE zones SET geom = ?', [blob]);
    await writeFile(tin, db.export());
    db.close();
    await expectCode(readVectorFile(tin), 'ZONES.EMPTY', 'tin.gpkg has no polygon features (it holds 1 feature(s) with a geometry that could not be read, e.g. feature 1: unsupported WKB geometry type 15 (PolyhedralSurface); only polygons are zones)');
    await expectCode(readVectorFile(join(dir, 'missing.geojson')), 'ZONES.UNREADABLE', 'missing.geojson');
  });
});

describe('readVectorFile: attribute text that is not UTF-8', () => {
  // 历下区 in GBK (Node has no GBK encoder): written over a same-length ASCII placeholder.
  const GBK_LIXIA = Buffer.from([0xc0, 0xfa, 0xcf, 0xc2, 0xc7, 0xf8]);
  const INVALID = Buffer.from([0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe]); // neither UTF-8 nor GB18030
  const PLACEHOLDER = Buffer.from('@@@@@@');
  const patch = (bytes: Buffer, text: Buffer) => {
    const at = bytes.indexOf(PLACEHOLDER);
    expect(at).toBeGreaterThan(0);
    const out = Buffer.from(bytes);
    text.copy(out, at);
    return out;
  };
  const feature = { type: 'Feature', properties: { kind: 'district', code: '370102', name: '@@@@@@' }, geometry: square(117.0, 36.6) };
  async function shapefileWith(name: string, text: Buffer, cpg: string | null): Promise<string> {
    const parts = encodeShapefile([{ geometry: square(117.0, 36.6), properties: { kind: 'district', code: '370102', name: '@@@@@@' } }], {
      prjWkt: 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]',
    });
    const base = join(dir, name);
    await Promise.all([writeFile(`${base}.shp`, parts.shp), writeFile(`${base}.shx`, parts.shx), writeFile(`${base}.prj`, parts.prj!), writeFile(`${base}.dbf`, patch(parts.dbf, text))]);
    if (cpg !== null) await writeFile(`${base}.cpg`, cpg);
    return `${base}.shp`;
  }

  it('reads a GBK GeoJSON as GBK and says so; rejects bytes that are neither UTF-8 nor GBK by name', async () => {
    const gbk = join(dir, 'districts-gbk.geojson');
    await writeFile(gbk, patch(Buffer.from(JSON.stringify({ type: 'FeatureCollection', features: [feature] })), GBK_LIXIA));
    const r = await readVectorFile(gbk);
    expect(r.features[0].properties.name).toBe('历下区');
    expect(r.warnings).toEqual(['districts-gbk.geojson: not UTF-8; text read as GBK/GB18030']);

    const utf8 = join(dir, 'districts-utf8.geojson');
    await writeFile(utf8, JSON.stringify({ type: 'FeatureCollection', features: [{ ...feature, properties: { ...feature.properties, name: '历下区' } }] }));
    expect((await readVectorFile(utf8)).warnings).toEqual([]);

    const junk = join(dir, 'districts-junk.geojson');
    await writeFile(junk, patch(Buffer.from(JSON.stringify({ type: 'FeatureCollection', features: [feature] })), INVALID));
    await expectCode(readVectorFile(junk), 'ZONES.UNREADABLE', 'neither UTF-8 nor GBK/GB18030');
  });

  it('reads a GBK .dbf without a .cpg, or with a .cpg that says UTF-8, as GBK with a warning', async () => {
    const none = await readVectorFile(await shapefileWith('gbk-nocpg', GBK_LIXIA, null));
    expect(none.features[0].properties.name).toBe('历下区');
    expect(none.warnings).toEqual(['gbk-nocpg.shp: no .cpg and the .dbf is not UTF-8; text read as GBK/GB18030']);

    const wrong = await readVectorFile(await shapefileWith('gbk-cpg-utf8', GBK_LIXIA, 'UTF-8'));
    expect(wrong.features[0].properties.name).toBe('历下区');
    expect(wrong.warnings).toEqual(['gbk-cpg-utf8.shp: its .cpg says UTF-8 and the .dbf is not UTF-8; text read as GBK/GB18030']);

    const right = await readVectorFile(await shapefileWith('gbk-cpg-gbk', GBK_LIXIA, 'GBK'));
    expect(right.features[0].properties.name).toBe('历下区');
    expect(right.warnings).toEqual([]);

    const utf8 = await readVectorFile(await shapefileWith('utf8-nocpg', Buffer.from('abcdef'), null));
    expect([utf8.features[0].properties.name, utf8.warnings]).toEqual(['abcdef', []]);

    await expectCode(readVectorFile(await shapefileWith('junk-nocpg', INVALID, null)), 'ZONES.UNREADABLE', 'junk-nocpg.shp');
  });

  it('refuses a .shp whose .dbf is missing, naming the missing file (its kinds and codes live there)', async () => {
    const { rm } = await import('node:fs/promises');
    const shp = await shapefileWith('no-dbf', Buffer.from('abcdef'), null);
    await rm(shp.replace(/\.shp$/, '.dbf'));
    await expectCode(readVectorFile(shp), 'ZONES.UNREADABLE', 'no no-dbf.dbf beside it');
  });
});

describe('readVectorFile on real data', () => {
  it('reads the eo-learn LPIS GeoPackage (EPSG:2154) onto its WGS84 GeoJSON copy', async () => {
    const base = resolve(import.meta.dirname, '../../../shared/data/vectors/lpis_parcels_france_eolearn');
    const gpkg = join(base, 'lpis_iacs_parcels_EPSG2154.gpkg');
    if (!existsSync(gpkg)) throw new Error(`shared data missing: expected ${gpkg} (checkout ../shared/data beside the project)`);
    const a = await readVectorFile(gpkg);
    const b = await readVectorFile(join(base, 'lpis_iacs_parcels_wgs84.geojson'));
    expect(a.crs).toBe('EPSG:2154');
    expect(a.features).toHaveLength(b.features.length);
    const pa = firstPos(a.features[0].geometry);
    const pb = firstPos(b.features[0].geometry);
    expect(Math.abs(pa[0] - pb[0])).toBeLessThan(1e-6);
    expect(Math.abs(pa[1] - pb[1])).toBeLessThan(1e-6);
  });
});
