/**
 * Whether a coordinate system given as text (a GDAL sidecar's `<SRS>` that names no EPSG code of its
 * own: ESRI WKT as ArcGIS writes it, `PROJCS["unknown",…]`, a PROJ string) places a grid where its
 * own CRS does. Judged where it matters, not by parameter names (ESRI's `Gauss_Kruger` and EPSG's
 * `Transverse_Mercator` are one projection): the grid's corners and centre, taken as coordinates of
 * each, must fall on the same ground.
 */
import proj4 from 'proj4';
import type { Grid } from './raster.js';
import { LONLAT, proj4Def } from './crs.js';

/** Closer than this on the ground is the same place (proj4's own round-off is nanometres). */
const SAME_M = 0.01;
const M_PER_DEGREE = 111_320;

export type SrsPlacement =
  /** It cannot be read as a coordinate system (proj4 refuses it). */
  | { kind: 'unreadable' }
  /** It places the grid where its own CRS does. */
  | { kind: 'same' }
  /** It places the grid elsewhere: `offsetM` is the farthest of the points' moves, in metres (Infinity: off the projection). */
  | { kind: 'elsewhere'; offsetM: number };

export function srsPlacement(grid: Grid, srs: string): SrsPlacement {
  let theirs: proj4.Converter;
  try {
    theirs = proj4(srs, proj4Def(LONLAT));
    theirs.forward([0, 0]);
  } catch {
    return { kind: 'unreadable' };
  }
  const ours = proj4(proj4Def(grid.crs), proj4Def(LONLAT));
  const [x0, dx, rx, y0, ry, dy] = grid.transform;
  let offsetM = 0;
  for (const [col, row] of [[0, 0], [grid.width, 0], [0, grid.height], [grid.width, grid.height], [grid.width / 2, grid.height / 2]]) {
    const p = [x0 + col * dx + row * rx, y0 + col * ry + row * dy];
    let a: number[];
    let b: number[];
    try {
      a = ours.forward(p);
      b = theirs.forward(p);
    } catch {
      return { kind: 'elsewhere', offsetM: Infinity };
    }
    const east = (b[0] - a[0]) * M_PER_DEGREE * Math.cos((a[1] * Math.PI) / 180);
    const north = (b[1] - a[1]) * M_PER_DEGREE;
    const d = Math.hypot(east, north);
    offsetM = Math.max(offsetM, Number.isFinite(d) ? d : Infinity);
  }
  return offsetM <= SAME_M ? { kind: 'same' } : { kind: 'elsewhere', offsetM };
}
