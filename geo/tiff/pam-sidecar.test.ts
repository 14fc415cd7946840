/**
 * GDAL's `.aux.xml` sidecar beside a GeoTIFF: its scale/offset and nodata are read as GDAL reads
 * them (a sidecar-only scale as a tag's would be; the file's own scale/offset before the sidecar's,
 * the sidecar's nodata before the file's), and a sidecar that cannot be read is an error naming it.
 * Before, a sidecar's radiometry was not read at all: a silent wrong answer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import type { Grid } from '../raster.js';
import { openGeoTiff } from './open-geotiff.js';
import { parsePamSidecar } from './pam-sidecar.js';
import { writeGeoTiffArrays } from './write-geotiff.js';

const dir = mkdtempSync(join(tmpdir(), 'tuban-pam-'));
const grid: Grid = { width: 40, height: 30, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000300, 0, -10] };
const n = grid.width * grid.height;
const bands = Array.from({ length: 4 }, (_, b) => Uint16Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : 1200 + b * 300 + (i % 97))));

/** One band's PAM element, as GDAL writes it. */
function pamBand(band: number, inner: string): string {
  return `  <PAMRasterBand band="${band}">\n${inner}  </PAMRasterBand>\n`;
}

/** What `gdal_edit.py -ro -scale S -offset O -a_nodata N` leaves beside a 4-band file (GDAL 3.6: the nodata on band 1 only). */
function gdalEditSidecar(scale: number, offset: number, nodata?: number): string {
  const sc = `    <Offset>${offset}</Offset>\n    <Scale>${scale}</Scale>\n`;
  const nd = nodata === undefined ? '' : `    <NoDataValue>${nodata.toExponential(14).toUpperCase().replace(/E([+-])(\d)$/, 'E$10$2')}</NoDataValue>\n`;
  return `<PAMDataset>\n${[1, 2, 3, 4].map((b) => pamBand(b, (b === 1 ? nd : '') + sc)).join('')}</PAMDataset>\n`;
}

/** The file's own CRS as GDAL 3.6 writes it into a sidecar (`gdal_edit.py -ro -a_srs EPSG:32650`, WKT1). */
const WKT_32650 = 'PROJCS["WGS 84 / UTM zone 50N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",117],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","32650"]]';
/** The zone east of it, as GDAL writes it: another place for every pixel. */
const WKT_32651 = WKT_32650.replace('zone 50N', 'zone 51N').replace('central_meridian",117', 'central_meridian",123').replace('"32650"', '"32651"');
/** What `gdal_edit.py -ro -a_srs '+proj=utm +zone=50 +datum=WGS84'` writes: the same CRS, named by no EPSG code at its top. */
const WKT_UNKNOWN = WKT_32650.replace('"WGS 84 / UTM zone 50N"', '"unknown"').replace(/,AUTHORITY\["EPSG","32650"\]\]$/, ']');
/** ESRI WKT of the same CRS, as ArcGIS writes it into a sidecar: no EPSG code, ESRI's names. */
const ESRI_32650 = 'PROJCS["WGS_1984_UTM_Zone_50N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';
/** ESRI WKT of CGCS2000 3° Gauss-Krüger at 117°E, no zone prefix (EPSG:4548's ground): ~ the same numbers, another place. */
const ESRI_GK117 = 'PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';
/** WKT2 of EPSG:32650, as `gdalsrsinfo -o wkt2` prints it (lines and indentation included). */
const WKT2_32650 = `PROJCRS["WGS 84 / UTM zone 50N",
    BASEGEOGCRS["WGS 84",
        DATUM["World Geodetic System 1984",
            ELLIPSOID["WGS 84",6378137,298.257223563,
                LENGTHUNIT["metre",1]]],
        PRIMEM["Greenwich",0,
            ANGLEUNIT["degree",0.0174532925199433]],
        ID["EPSG",4326]],
    CONVERSION["UTM zone 50N",
        METHOD["Transverse Mercator",
            ID["EPSG",9807]],
        PARAMETER["Longitude of natural origin",117,
            ANGLEUNIT["degree",0.0174532925199433],
            ID["EPSG",8802]]],
    CS[Cartesian,2],
        AXIS["(E)",east,
            ORDER[1],
            LENGTHUNIT["metre",1]],
        AXIS["(N)",north,
            ORDER[2],
            LENGTHUNIT["metre",1]],
    USAGE[
        SCOPE["Engineering survey, topographic mapping."],
        BBOX[0,114,84,120]],
    ID["EPSG",32650]]`;
/** A sidecar giving only `<SRS>`, with GDAL's axis-mapping attribute where `mapping` is given. */
function srsSidecar(srs: string, mapping?: string): string {
  return `<PAMDataset>\n  <SRS${mapping === undefined ? '' : ` dataAxisToSRSAxisMapping="${mapping}"`}>${srs.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</SRS>\n</PAMDataset>\n`;
}
/** A lon/lat grid over the same ground, for the CRSs whose EPSG axis order is latitude first. */
const lonLatGrid: Grid = { width: 40, height: 30, crs: 'EPSG:4326', transform: [117, 0.001, 0, 36.1, 0, -0.001] };

async function write(name: string, opts: { nodata?: number; scaling?: { scale: number; offset: number } | null; sidecar?: string; grid?: Grid } = {}): Promise<string> {
  const path = join(dir, name);
  await writeGeoTiffArrays(path, {
    grid: opts.grid ?? grid, dtype: 'uint16', bands, tileSize: 16,
    ...(opts.nodata === undefined ? {} : { nodata: opts.nodata }),
    ...(opts.scaling ? { bandScaling: bands.map(() => opts.scaling!) } : {}),
  });
  if (opts.sidecar !== undefined) writeFileSync(`${path}.aux.xml`, opts.sidecar);
  return path;
}

async function header(path: string) {
  const f = await openGeoTiff(path);
  try {
    const px = await f.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, [0, 1, 2, 3]);
    return { bandScaling: f.bandScaling, nodata: f.nodata, px };
  } finally {
    await f.close();
  }
}

async function rejection(path: string): Promise<TubanError> {
  const err = await openGeoTiff(path).then(async (f) => { await f.close(); return null; }, (e: unknown) => e);
  expect(err).toBeInstanceOf(TubanError);
  return err as TubanError;
}

describe('a GDAL .aux.xml sidecar', () => {
  it('gives a scale, offset and nodata that read as the same ones in the tags do', async () => {
    const reflectance = { scale: 0.0001, offset: -0.1 };
    const tagged = await header(await write('tagged.tif', { nodata: 0, scaling: reflectance }));
    expect(tagged.bandScaling).toEqual([reflectance, reflectance, reflectance, reflectance]);
    const side = await header(await write('side.tif', { sidecar: gdalEditSidecar(0.0001, -0.1, 0) }));
    expect(side.bandScaling).toEqual(tagged.bandScaling);
    expect(side.nodata).toBe(0);
    expect(side.px).toEqual(tagged.px);
    // The same file without its sidecar: what was read before.
    const plain = await header(await write('plain.tif'));
    expect([plain.bandScaling, plain.nodata]).toEqual([[null, null, null, null], null]);
    expect(plain.px).not.toEqual(tagged.px);
  });

  it('follows GDAL when the file has its own: the file\'s scale/offset, the sidecar\'s nodata; offset-only or scale-only sidecars default the other', async () => {
    const own = { scale: 2, offset: 5 };
    const both = await header(await write('both.tif', { nodata: 0, scaling: own, sidecar: `<PAMDataset>\n${[1, 2, 3, 4].map((b) => pamBand(b, '    <NoDataValue>1.20000000000000E+03</NoDataValue>\n    <Scale>3</Scale>\n')).join('')}</PAMDataset>\n` }));
    expect(both.bandScaling).toEqual([own, own, own, own]);
    expect(both.nodata).toBe(1200);

    const partial = await header(await write('partial.tif', { sidecar: `<PAMDataset>\n${pamBand(1, '    <Scale>0.0001</Scale>\n')}${pamBand(2, '    <Offset>-1000</Offset>\n')}</PAMDataset>` }));
    expect(partial.bandScaling).toEqual([{ scale: 0.0001, offset: 0 }, { scale: 1, offset: -1000 }, null, null]);
  });

  it('reads BOA_ADD_OFFSET from its metadata over the file\'s, and entities in its numbers', async () => {
    const sidecar = `<?xml version="1.0"?>\n<!-- written by hand -->\n<PAMDataset>\n  <Metadata>\n    <MDI key="BOA_ADD_OFFSET">&#45;1000</MDI>\n  </Metadata>\n${pamBand(4, '    <Metadata><MDI key="BOA_ADD_OFFSET">-2000</MDI></Metadata>\n    <Metadata domain="IMAGE_STRUCTURE"><MDI key="BOA_ADD_OFFSET">7</MDI></Metadata>\n')}</PAMDataset>\n`;
    const got = await header(await write('boa.tif', { sidecar }));
    expect(got.bandScaling).toEqual([-1000, -1000, -1000, -2000].map((offset) => ({ scale: 1, offset })));
  });

  it('applies one nodata to every band: bands without one take the one declared, two different ones are refused', async () => {
    // gdal_edit.py -ro -a_nodata 0 on a 4-band file: GDAL 3.6 puts it on band 1 only.
    expect((await header(await write('band1.tif', { sidecar: gdalEditSidecar(1, 0, 0) }))).nodata).toBe(0);
    // Band 1's from the sidecar, the others' from the file's GDAL_NODATA tag.
    const path = await write('mixed.tif', { nodata: 0, sidecar: `<PAMDataset>\n${pamBand(1, '    <NoDataValue>9</NoDataValue>\n')}</PAMDataset>` });
    const err = await rejection(path);
    expect([err.code, err.subject]).toEqual(['TILE.UNREADABLE', path]);
    expect(err.message).toContain('mixed.tif.aux.xml');
    expect(err.message).toContain('band 1 nodata 9');
    expect(err.message).toContain('band 2 nodata 0');
    const nan = await write('nan.tif', { sidecar: `<PAMDataset>\n${[1, 2, 3, 4].map((b) => pamBand(b, '    <NoDataValue le_hex_equiv="000000000000F87F">nan</NoDataValue>\n')).join('')}</PAMDataset>` });
    expect((await header(nan)).nodata).toBeNaN();
  });

  it('reads a nodata GDAL could not write as text exactly from its le_hex_equiv bytes, as GDAL does', () => {
    const exact = [-3.4028234663852886e38, -1.7976931348623157e308, -9999.000000000002];
    for (const value of exact) {
      const bytes = Buffer.alloc(8);
      bytes.writeDoubleLE(value);
      // The text GDAL writes beside it (%.14E) reads back as another double, or as -Infinity.
      const text = value.toExponential(14).toUpperCase();
      expect(Number(text), text).not.toBe(value);
      const xml = `<PAMDataset>\n  <PAMRasterBand band="1">\n    <NoDataValue le_hex_equiv="${bytes.toString('hex').toUpperCase()}">${text}</NoDataValue>\n  </PAMRasterBand>\n</PAMDataset>\n`;
      expect(parsePamSidecar(xml, 1, 'f64.tif').bands.get(0)?.nodata).toBe(value);
    }
    const bad = '<PAMDataset>\n  <PAMRasterBand band="1">\n    <NoDataValue le_hex_equiv="00F8FF">-1E+308</NoDataValue>\n  </PAMRasterBand>\n</PAMDataset>\n';
    expect(() => parsePamSidecar(bad, 1, 'f64.tif')).toThrow(/le_hex_equiv="00F8FF", not the 16 hex digits of a double \(line 3\)/);
  });

  it('is refused by name when it cannot be read: bad XML, a band the file lacks, a value that is no number, another georeferencing', async () => {
    const cases: [string, string, string][] = [
      ['badxml.tif', '<PAMDataset>\n  <PAMRasterBand band="1">\n    <Scale>2</Scale>\n</PAMDataset>\n', 'is not well-formed XML: </PAMDataset> closes <PAMRasterBand> of line 2 (line 4)'],
      ['empty.tif', '', 'is not well-formed XML: no root element (empty file?) (line 1)'],
      ['notpam.tif', '<VRTDataset/>', "has root element <VRTDataset>, not GDAL's <PAMDataset> (line 1)"],
      ['band5.tif', `<PAMDataset>\n${pamBand(5, '    <Scale>2</Scale>\n')}</PAMDataset>`, 'describes band 5, the file has 4 bands (line 2)'],
      ['band0.tif', `<PAMDataset>\n${pamBand(0, '    <Scale>2</Scale>\n')}</PAMDataset>`, 'describes band 0, the file has 4 bands (line 2)'],
      ['twice.tif', `<PAMDataset>\n${pamBand(2, '')}${pamBand(2, '')}</PAMDataset>`, 'describes band 2 twice (line 4)'],
      ['scale.tif', `<PAMDataset>\n${pamBand(1, '    <Scale>0,0001</Scale>\n')}</PAMDataset>`, "gives band 1 Scale '0,0001', not a number (line 3)"],
      ['nodata.tif', `<PAMDataset>\n${pamBand(3, '    <NoDataValue>none</NoDataValue>\n')}</PAMDataset>`, "gives band 3 NoDataValue 'none', not a number (line 3)"],
      ['amp.tif', `<PAMDataset>\n${pamBand(1, '    <Description>R&D</Description>\n')}</PAMDataset>`, "is not well-formed XML: '&D' is not an entity reference (a bare & is written &amp;) (line 3)"],
      ['zero.tif', `<PAMDataset>\n${pamBand(2, '    <Scale>0</Scale>\n')}</PAMDataset>`, 'gives band 2 Scale 0: every value would be its offset (line 3)'],
      ['moved.tif', '<PAMDataset>\n  <GeoTransform>  6.0000000000000000e+05,  1.0e+01,  0,  4.0003e+06,  0, -1.0e+01</GeoTransform>\n</PAMDataset>', 'places the image elsewhere (GeoTransform 600000, 10, 0, 4000300, 0, -10; the file\'s own 500000, 10, 0, 4000300, 0, -10)'],
    ];
    for (const [name, xml, problem] of cases) {
      const path = await write(name, { sidecar: xml });
      const err = await rejection(path);
      expect([err.code, err.subject], name).toEqual(['TILE.UNREADABLE', path]);
      expect(err.message, name).toContain(`GDAL sidecar ${name}.aux.xml ${problem}`);
    }
    // The same georeferencing as the file's own, as GDAL writes it: read.
    const same = await write('same.tif', { sidecar: '<PAMDataset>\n  <GeoTransform>  5.0000000000000000e+05,  1.0000000000000000e+01,  0.0000000000000000e+00,  4.0003000000000000e+06,  0.0000000000000000e+00, -1.0000000000000000e+01</GeoTransform>\n</PAMDataset>\n' });
    expect((await header(same)).nodata).toBeNull();
  });

  it('is refused by name when its <SRS> is another coordinate system than the file\'s, or one it cannot tell, naming both', async () => {
    const theFiles = "the file's own EPSG:32650";
    const cases: [string, string, string, Grid?][] = [
      ['srs-other.tif', srsSidecar(WKT_32651, '1,2'), `gives another coordinate system (SRS EPSG:32651 "WGS 84 / UTM zone 51N"; ${theFiles}), which GDAL would use`],
      ['srs-code.tif', srsSidecar('EPSG:4326'), `gives another coordinate system (SRS EPSG:4326; ${theFiles}), which GDAL would use`],
      // The datum's and the base GEOGCS's codes are not the whole's: no guess from them.
      // Named by no EPSG code: judged by where it puts the image (the same numbers, 36 m to 1.4 km apart on this grid).
      ['srs-esri-gk.tif', srsSidecar(ESRI_GK117), `gives another coordinate system (SRS "CGCS2000_3_Degree_GK_CM_117E", named by no EPSG code: it puts the image's corners up to `],
      ['srs-proj-51.tif', srsSidecar('+proj=utm +zone=51 +datum=WGS84 +units=m +no_defs'), `gives another coordinate system (SRS '+proj=utm +zone=51 +datum=WGS84 +units=m +no_defs', named by no EPSG code: it puts the image's corners up to `],
      ['srs-broken.tif', srsSidecar(WKT_32650.slice(0, -1)), `gives a coordinate system named by no EPSG code that Tuban cannot read (SRS 'PROJCS["WGS 84 / UTM zone 50N"`],
      ['srs-words.tif', srsSidecar('unknown'), `gives a coordinate system named by no EPSG code that Tuban cannot read (SRS 'unknown'), which GDAL would use instead of ${theFiles}`],
      ['srs-empty.tif', '<PAMDataset>\n  <SRS></SRS>\n</PAMDataset>\n', `gives an empty <SRS>, with which GDAL reads the file with no coordinate system (${theFiles})`],
      // The same CRS, but GDAL would take the image's x as northing: everything mirrored.
      ['srs-swapped.tif', srsSidecar(WKT_32650, '2,1'), `gives EPSG:32650 with dataAxisToSRSAxisMapping="2,1", which GDAL would read with the image's x and y swapped (it writes "1,2" for it)`],
      ['srs-swapped-ll.tif', srsSidecar('EPSG:4326', '1,2'), `gives EPSG:4326 with dataAxisToSRSAxisMapping="1,2", which GDAL would read with the image's x and y swapped (it writes "2,1" for it)`, lonLatGrid],
      ['srs-mapping.tif', srsSidecar(WKT_32650, 'x'), `gives EPSG:32650 with dataAxisToSRSAxisMapping="x", not axis numbers`],
    ];
    for (const [name, xml, problem, g] of cases) {
      const path = await write(name, { sidecar: xml, grid: g });
      const err = await rejection(path);
      expect([err.code, err.subject], name).toEqual(['TILE.UNREADABLE', path]);
      expect(err.message, name).toContain(`GDAL sidecar ${name}.aux.xml ${problem}`);
    }
  });

  it('reads a file whose <SRS> is its own CRS, however GDAL wrote it', async () => {
    const same: [string, string, Grid?][] = [
      ['srs-wkt1.tif', srsSidecar(WKT_32650, '1,2')],
      ['srs-wkt1-nomap.tif', srsSidecar(WKT_32650)],
      ['srs-wkt2.tif', srsSidecar(WKT2_32650)],
      ['srs-urn.tif', srsSidecar('urn:ogc:def:crs:EPSG::32650')],
      // Named by no EPSG code, the same ground: ArcGIS's ESRI WKT, GDAL's "unknown", a PROJ string.
      ['srs-esri.tif', srsSidecar(ESRI_32650)],
      ['srs-unknown.tif', srsSidecar(WKT_UNKNOWN, '1,2')],
      ['srs-proj.tif', srsSidecar('+proj=utm +zone=50 +datum=WGS84 +units=m +no_defs')],
      // GDAL writes latitude-first CRSs with "2,1": lon/lat data as the file has it.
      ['srs-ll.tif', srsSidecar('EPSG:4326', '2,1'), lonLatGrid],
    ];
    for (const [name, xml, g] of same) {
      const f = await openGeoTiff(await write(name, { sidecar: xml, grid: g }));
      await f.close();
      expect([f.grid.crs, f.sidecarRadiometry], name).toEqual([(g ?? grid).crs, null]);
    }
  });
});

const CI = process.env.CI === 'true';
const gdalinfoMissing = spawnSync('gdalinfo', ['--version']).status === 0 ? null : 'gdalinfo not runnable; install Debian\'s gdal-bin';

describe.skipIf(gdalinfoMissing !== null && !CI)('read back in GDAL (gdalinfo -json)', () => {
  it('gives each band the scale, offset and nodata gdalinfo gives it', async () => {
    expect(gdalinfoMissing, 'CI=true needs gdalinfo (apt-get install gdal-bin)').toBeNull();
    const variants: [string, Parameters<typeof write>[1]][] = [
      ['g-side.tif', { sidecar: gdalEditSidecar(0.0001, -0.1, 0) }],
      ['g-both.tif', { nodata: 0, scaling: { scale: 2, offset: 5 }, sidecar: `<PAMDataset>\n${[1, 2, 3, 4].map((b) => pamBand(b, '    <NoDataValue>7</NoDataValue>\n    <Offset>-1</Offset>\n')).join('')}</PAMDataset>` }],
      ['g-partial.tif', { sidecar: `<PAMDataset>\n${pamBand(1, '    <Scale>0.0001</Scale>\n')}${pamBand(3, '    <Offset>-1000</Offset>\n    <Description>red</Description>\n')}</PAMDataset>` }],
      ['g-tag.tif', { nodata: 0, scaling: { scale: 1, offset: -1000 } }],
    ];
    for (const [name, opts] of variants) {
      const path = await write(name, opts);
      const info = JSON.parse(execFileSync('gdalinfo', ['-json', path], { encoding: 'utf8' })) as { bands: { scale?: number; offset?: number; noDataValue?: number | string }[] };
      const f = await openGeoTiff(path);
      await f.close();
      const gdalScaling = info.bands.map((b) => ((b.scale ?? 1) === 1 && (b.offset ?? 0) === 0 ? null : { scale: b.scale ?? 1, offset: b.offset ?? 0 }));
      expect(f.bandScaling, name).toEqual(gdalScaling);
      // Tuban applies one nodata to every band; GDAL leaves a band the sidecar gives none without.
      const declared = [...new Set(info.bands.filter((b) => b.noDataValue !== undefined).map((b) => Number(b.noDataValue)))];
      expect(declared.length, name).toBeLessThanOrEqual(1);
      expect(f.nodata, name).toBe(declared.length ? declared[0] : null);
    }
  }, 60_000);

  // gdal_edit.py exits 2 even on --version; it is there when it names GDAL.
  const gdalEdit = /GDAL/.test(spawnSync('gdal_edit.py', ['--version'], { encoding: 'utf8' }).stdout ?? '');
  it.skipIf(!gdalEdit)('reads what gdal_edit.py -ro leaves beside a file', async () => {
    const path = await write('g-edited.tif');
    execFileSync('gdal_edit.py', ['-ro', '-scale', '0.0001', '-offset', '-0.1', '-a_nodata', '0', path]);
    const f = await openGeoTiff(path);
    await f.close();
    expect([f.bandScaling, f.nodata]).toEqual([[0, 1, 2, 3].map(() => ({ scale: 0.0001, offset: -0.1 })), 0]);
  });

  /** The EPSG code gdalinfo places the file in. */
  const gdalEpsg = (path: string) => {
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', path], { encoding: 'utf8' })) as { coordinateSystem?: { wkt: string } };
    return /ID\["EPSG",(\d+)\]\]\s*$/.exec(info.coordinateSystem?.wkt ?? '')?.[1] ?? null;
  };

  it.skipIf(!gdalEdit)('refuses what gdal_edit.py -ro -a_srs leaves beside a file when GDAL would place it in another CRS, and reads its own', async () => {
    // GDAL takes the sidecar's SRS over the file's GeoKeys: the premise of the refusal.
    const moved = await write('g-srs-other.tif');
    execFileSync('gdal_edit.py', ['-ro', '-a_srs', 'EPSG:32651', moved]);
    expect(gdalEpsg(moved)).toBe('32651');
    const err = await rejection(moved);
    expect([err.code, err.subject]).toEqual(['TILE.UNREADABLE', moved]);
    expect(err.message).toContain('GDAL sidecar g-srs-other.tif.aux.xml gives another coordinate system (SRS EPSG:32651 "WGS 84 / UTM zone 51N"; the file\'s own EPSG:32650)');

    // Named by no EPSG code: refused where GDAL's own reading puts it elsewhere, read where it is the file's ground.
    const proj = await write('g-srs-proj.tif');
    execFileSync('gdal_edit.py', ['-ro', '-a_srs', '+proj=utm +zone=51 +datum=WGS84 +units=m +no_defs', proj]);
    expect((await rejection(proj)).message).toContain('GDAL sidecar g-srs-proj.tif.aux.xml gives another coordinate system (SRS "unknown", named by no EPSG code: it puts the image\'s corners up to ');
    const projSame = await write('g-srs-proj-same.tif');
    execFileSync('gdal_edit.py', ['-ro', '-a_srs', '+proj=utm +zone=50 +datum=WGS84 +units=m +no_defs', projSame]);
    const p = await openGeoTiff(projSame);
    await p.close();
    expect(p.grid.crs).toBe('EPSG:32650');

    // Its own CRS copied into the sidecar, beside a scale: read, the scale applied.
    const own = await write('g-srs-own.tif');
    execFileSync('gdal_edit.py', ['-ro', '-a_srs', 'EPSG:32650', '-scale', '0.0001', own]);
    expect(gdalEpsg(own)).toBe('32650');
    const f = await openGeoTiff(own);
    await f.close();
    expect([f.grid.crs, f.bandScaling[0]]).toEqual(['EPSG:32650', { scale: 0.0001, offset: 0 }]);
    for (const [code, g] of [['4326', lonLatGrid], ['4513', { ...grid, crs: 'EPSG:4513', transform: [25500000, 10, 0, 4000300, 0, -10] } as Grid]] as const) {
      const path = await write(`g-srs-${code}.tif`, { grid: g });
      execFileSync('gdal_edit.py', ['-ro', '-a_srs', `EPSG:${code}`, path]);
      expect(gdalEpsg(path), code).toBe(code);
      const h = await openGeoTiff(path);
      await h.close();
      expect(h.grid.crs, code).toBe(`EPSG:${code}`);
    }
  });
});
