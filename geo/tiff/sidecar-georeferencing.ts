/**
 * A GDAL `.aux.xml` sidecar's georeferencing against the file's own: GDAL takes the sidecar's
 * `<GeoTransform>` and `<SRS>` over the file's (PAM first in GDAL_GEOREF_SOURCES), Tuban reads the
 * file's, so a sidecar that would place the image elsewhere rejects the tile, naming it.
 */
import type { GeoTransform, Grid } from '../raster.js';
import { epsgNorthFirst } from '../crs.js';
import { readSrsAuthority } from '../srs-authority.js';
import { srsPlacement } from '../srs-equivalence.js';
import { pamSidecarError, type PamSidecar } from './pam-sidecar.js';

/** Throws TILE.UNREADABLE naming the sidecar of `path` where its GeoTransform or SRS is not the file's (`grid`). */
export function checkSidecarGeoreferencing(grid: Grid, path: string, pam: PamSidecar | null): void {
  checkSidecarTransform(grid.transform, path, pam);
  checkSidecarCrs(grid, path, pam);
}

/** GDAL takes a sidecar's GeoTransform over the file's own; Tuban reads the file's, so a sidecar that moves the image is refused. */
function checkSidecarTransform(transform: GeoTransform, path: string, pam: PamSidecar | null): void {
  const gt = pam?.geoTransform;
  if (!gt) return;
  const same = gt.every((v, k) => Math.abs(v - transform[k]) <= 1e-9 * Math.max(1, Math.abs(v), Math.abs(transform[k])));
  if (!same) {
    throw pamSidecarError(path, `places the image elsewhere (GeoTransform ${gt.join(', ')}; the file's own ${transform.join(', ')}), which GDAL would use and Tuban does not read: write it into the file (gdal_translate in.tif out.tif) or remove the sidecar's <GeoTransform>`);
  }
}

/**
 * GDAL takes a sidecar's `<SRS>` over the file's own CRS too (PAM first in GDAL_GEOREF_SOURCES;
 * `gdalinfo` shows the sidecar's). `gdal_edit.py -ro -a_srs` writes it, even one that is the file's
 * own, and ArcGIS writes its own ESRI WKT, named by no EPSG code. One that places the image where
 * the file's CRS does changes nothing and is read (the tile id stays the bare file's): named by the
 * file's EPSG code, or named by none and putting the grid's corners on the same ground
 * (srsPlacement). Any other would place the image elsewhere, so it is refused naming both, and so is
 * one Tuban cannot read or whose axes it cannot tell.
 */
function checkSidecarCrs(grid: Grid, path: string, pam: PamSidecar | null): void {
  const srs = pam?.srs;
  if (!srs) return;
  const crs = grid.crs;
  const own = `the file's own ${crs}`;
  const fix = "which GDAL would use and Tuban does not read: write it into the file (gdal_translate in.tif out.tif) or remove the sidecar's <SRS>";
  if (srs.text === '') throw pamSidecarError(path, `gives an empty <SRS>, with which GDAL reads the file with no coordinate system (${own}): remove the sidecar's <SRS>`);
  const side = readSrsAuthority(srs.text);
  let sideCrs: string;
  if (side.epsg !== null) {
    sideCrs = `EPSG:${side.epsg}`;
    if (sideCrs !== crs) throw pamSidecarError(path, `gives another coordinate system (SRS ${sideCrs}${side.name === null ? '' : ` "${side.name}"`}; ${own}), ${fix}`);
  } else {
    const shown = side.name !== null ? `"${side.name}"` : `'${srs.text.length > 80 ? `${srs.text.slice(0, 80)}…` : srs.text}'`;
    sideCrs = `SRS ${shown}`;
    if (side.axes.length > 0 && (side.axes[0] !== 'east' || side.axes[1] !== 'north')) {
      // proj4 and GDAL's axis mapping read such axes differently: no comparison Tuban can trust.
      throw pamSidecarError(path, `gives a coordinate system named by no EPSG code with its axes ${side.axes.join(', ')} (${sideCrs}), which Tuban does not compare with ${own}: remove the sidecar's <SRS> if it is that one, or write it into the file (gdal_translate in.tif out.tif)`);
    }
    const placed = srsPlacement(grid, srs.text);
    if (placed.kind === 'unreadable') {
      throw pamSidecarError(path, `gives a coordinate system named by no EPSG code that Tuban cannot read (${sideCrs}), which GDAL would use instead of ${own}: remove the sidecar's <SRS> if it is that one, or write it into the file (gdal_translate in.tif out.tif)`);
    }
    if (placed.kind === 'elsewhere') {
      const by = Number.isFinite(placed.offsetM) ? `up to ${placed.offsetM < 1000 ? `${placed.offsetM.toFixed(2)} m` : `${(placed.offsetM / 1000).toFixed(1)} km`} from where ${own} puts them` : `off its projection`;
      throw pamSidecarError(path, `gives another coordinate system (${sideCrs}, named by no EPSG code: it puts the image's corners ${by}), ${fix}`);
    }
  }
  if (srs.axisMapping === null) return; // GDAL: the traditional order, x east
  const mapping = srs.axisMapping.split(',').map((v) => v.trim());
  if (mapping.length < 2 || mapping.some((v) => !/^-?\d+$/.test(v))) throw pamSidecarError(path, `gives ${sideCrs} with dataAxisToSRSAxisMapping="${srs.axisMapping}", not axis numbers`);
  // GDAL reads the image's x as the axis the mapping's first number names (an EPSG code without
  // AXIS in its WKT: EPSG's own order; a text without a code or AXIS: east, north), and writes the
  // one that makes x east, y north.
  const axes = side.axes.length >= 2 ? side.axes : side.epsg !== null && epsgNorthFirst(side.epsg) ? ['north', 'east'] : ['east', 'north'];
  const expected = `${axes.indexOf('east') + 1},${axes.indexOf('north') + 1}`;
  if (`${Number(mapping[0])},${Number(mapping[1])}` !== expected) {
    const gdal = expected.includes('0') ? `its axes are ${axes.join(', ')}, not east and north` : `it writes "${expected}" for it`;
    throw pamSidecarError(path, `gives ${sideCrs} with dataAxisToSRSAxisMapping="${srs.axisMapping}", which GDAL would read with the image's x and y swapped (${gdal})`);
  }
}
