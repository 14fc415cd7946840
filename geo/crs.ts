/**
 * Coordinate reference systems Tuban accepts, as proj4 definitions keyed by
 * authority string ('EPSG:32650'). Only families that real inputs use are built in
 * (WGS84/CGCS2000 lon/lat, UTM, CGCS2000 Gauss-Krüger, web mercator, Lambert-93);
 * anything else must come with a WKT definition (.prj, GPKG srs table).
 */
import { createHash } from 'node:crypto';
import proj4 from 'proj4';
import { TubanError } from '../schemas/errors.js';

const WGS84 = '+proj=longlat +datum=WGS84 +no_defs';

function builtinDef(code: number): string | null {
  if (code === 4326) return WGS84;
  if (code === 4490) return '+proj=longlat +ellps=GRS80 +no_defs';
  if (code === 3857) return '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs';
  if (code >= 32601 && code <= 32660) return `+proj=utm +zone=${code - 32600} +datum=WGS84 +units=m +no_defs`;
  if (code >= 32701 && code <= 32760) return `+proj=utm +zone=${code - 32700} +south +datum=WGS84 +units=m +no_defs`;
  // CGCS2000 Gauss-Krüger. 6° zones 13–23: 4491–4501 (zone prefix in easting), 4502–4512 (no prefix);
  // 3° zones 25–45: 4513–4533 (prefix), 4534–4554 (no prefix).
  const gk = (lon0: number, x0: number) => `+proj=tmerc +lat_0=0 +lon_0=${lon0} +k=1 +x_0=${x0} +y_0=0 +ellps=GRS80 +units=m +no_defs`;
  if (code >= 4491 && code <= 4501) { const i = code - 4491; return gk(75 + 6 * i, (13 + i) * 1e6 + 5e5); }
  if (code >= 4502 && code <= 4512) return gk(75 + 6 * (code - 4502), 5e5);
  if (code >= 4513 && code <= 4533) { const i = code - 4513; return gk(75 + 3 * i, (25 + i) * 1e6 + 5e5); }
  if (code >= 4534 && code <= 4554) return gk(75 + 3 * (code - 4534), 5e5);
  if (code === 2154) return '+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs';
  return null;
}

/**
 * Whether EPSG defines the CRS latitude/northing first (GDAL then writes dataAxisToSRSAxisMapping
 * "2,1" for it): the lon/lat ones and CGCS2000 Gauss-Krüger; UTM, web mercator and Lambert-93 are
 * easting first. proj4 (and so Tuban) takes x as east for every one of them.
 */
export function epsgNorthFirst(code: number): boolean {
  return code === 4326 || code === 4490 || (code >= 4491 && code <= 4554);
}

/** The EPSG codes builtinDef knows, in words, for messages that must say what is accepted. */
export const SUPPORTED_EPSG_CODES = '4326 and 4490 (lon/lat), 32601–32660 and 32701–32760 (UTM), 4491–4554 (CGCS2000 Gauss-Krüger), 3857, 2154';

const registered = new Map<string, string>();

/** Canonical authority string for an EPSG code or 'EPSG:n' / 'urn:ogc:def:crs:EPSG::n' / 'CRS84' string. */
export function normaliseCrs(input: string | number, subject?: string): string {
  if (typeof input === 'string' && registered.has(input)) return input;
  const s = String(input).trim();
  if (/CRS84$/i.test(s)) return 'EPSG:4326';
  const m = /^(?:EPSG:{1,2}|urn:ogc:def:crs:EPSG:[^:]*:)?(\d+)$/i.exec(s) ?? /EPSG::?(\d+)$/i.exec(s);
  if (!m) throw new TubanError('TILE.CRS_UNSUPPORTED', `unrecognised CRS '${s}'`, subject);
  const code = Number(m[1]);
  if (!builtinDef(code)) {
    throw new TubanError('TILE.CRS_UNSUPPORTED', `EPSG:${code} is not a supported CRS (UTM, CGCS2000 Gauss-Krüger, lon/lat, web mercator, Lambert-93); provide a WKT definition`, subject);
  }
  return `EPSG:${code}`;
}

/**
 * Register a CRS given as WKT (e.g. from a .prj or a GeoPackage srs table). Returns the EPSG
 * authority string when the WKT names a supported one, else a synthetic 'WKT:<hash>' key.
 */
export function crsFromWkt(wkt: string, subject?: string): string {
  const auth = /AUTHORITY\["EPSG",\s*"?(\d+)"?\]\s*\]\s*$/i.exec(wkt.trim()) ?? /ID\["EPSG",\s*(\d+)\]\s*\]\s*$/i.exec(wkt.trim());
  if (auth && builtinDef(Number(auth[1]))) return `EPSG:${auth[1]}`;
  const key = `WKT:${createHash('sha1').update(wkt).digest('hex').slice(0, 12)}`;
  if (!registered.has(key)) {
    try {
      proj4(wkt, WGS84, [0, 0]);
    } catch (err) {
      throw new TubanError('TILE.CRS_UNSUPPORTED', `cannot interpret WKT coordinate system`, subject, { cause: err });
    }
    registered.set(key, wkt);
  }
  return key;
}

/**
 * The datum of a CRS that proj4 would read without any shift to WGS84 though its ellipsoid is not
 * WGS84's (Beijing 1954, Xian 1980, Pulkovo 1942, ED50, Tokyo…, a WKT with no TOWGS84): its
 * coordinates would be taken as if they were WGS84 lon/lat on that ellipsoid, tens to hundreds of
 * metres off true CGCS2000/WGS84 (GDAL applies EPSG's transformation where there is one, for Beijing
 * 1954; for Xian 1980 PROJ has none, and GDAL and QGIS read it without a shift too). Null for WGS84-like datums
 * (CGCS2000, RGF93, NAD83: GRS80, within a metre) and for a datum given with its shift.
 */
export function datumWithoutShift(crs: string): string | null {
  let p: { datum?: { datum_type?: number }; a?: number; datumCode?: string; datumName?: string; ellps?: string };
  try {
    p = proj4.Proj(proj4Def(crs)) as unknown as typeof p;
  } catch {
    return null;
  }
  const PJD_NODATUM = 5;
  if (p.datum?.datum_type !== PJD_NODATUM || p.a === undefined || Math.abs(p.a - 6378137) < 1) return null;
  // Named as the definition names it ('Beijing 1954', 'Xian 1980'): proj4 lowercases a WKT1 datum's
  // name and gives a WKT2's as its base CRS's id ('EPSG 4610').
  const wkt = proj4Def(crs);
  const named = (re: RegExp) => re.exec(wkt)?.[1].replace(/^D_/, '').replace(/_/g, ' ').trim() || null;
  const name = named(/\b(?:DATUM|GEODETICDATUM|TRF)\s*\[\s*"([^"]+)"/i) ?? (p.datumName ?? p.datumCode ?? 'unnamed').replace(/_/g, ' ');
  const ellps = named(/\b(?:SPHEROID|ELLIPSOID)\s*\[\s*"([^"]+)"/i) ?? p.ellps;
  return `${name}${ellps ? ` (ellipsoid ${ellps})` : ''}`;
}

/** proj4 definition of a canonical CRS string. */
export function proj4Def(crs: string): string {
  const reg = registered.get(crs);
  if (reg) return reg;
  const m = /^EPSG:(\d+)$/.exec(crs);
  const def = m ? builtinDef(Number(m[1])) : null;
  if (!def) throw new TubanError('TILE.CRS_UNSUPPORTED', `no definition for CRS '${crs}'`);
  return def;
}

export function isGeographic(crs: string): boolean {
  return /\+proj=longlat/.test(proj4Def(crs)) || /^GEOGCS|^GEOGCRS/i.test(proj4Def(crs).trim());
}

export type Transform = (x: number, y: number) => [number, number];
const cache = new Map<string, Transform>();

/** A cached point transformer between two canonical CRS strings. */
export function transformer(from: string, to: string): Transform {
  const key = `${from}|${to}`;
  let fn = cache.get(key);
  if (!fn) {
    if (from === to) {
      fn = (x, y) => [x, y];
    } else {
      const conv = proj4(proj4Def(from), proj4Def(to));
      fn = (x, y) => conv.forward([x, y]) as [number, number];
    }
    cache.set(key, fn);
  }
  return fn;
}

/** proj4 definition of a Lambert azimuthal equal-area projection centred on a point: exact areas near it. */
export function localEqualAreaDef(lon: number, lat: number): string {
  return `+proj=laea +lat_0=${lat.toFixed(6)} +lon_0=${lon.toFixed(6)} +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs`;
}

export const LONLAT = 'EPSG:4326';
