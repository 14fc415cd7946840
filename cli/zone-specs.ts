/**
 * `--zones districts.json@gcj02 farmland.gpkg`: a zone file with an optional CRS suffix, so one
 * GCJ-02 web-map download can sit beside WGS84/CGCS2000 layers (a global `--zones-crs gcj02`
 * would shift the correct layers by hundreds of metres too).
 */
import { normaliseCrs, SUPPORTED_EPSG_CODES } from '../geo/crs.js';
import { UsageError } from './args.js';

/** Suffix names people use, as the vector reader's `sourceCrs`. */
const NAMED: Readonly<Record<string, string>> = { gcj02: 'gcj02', 'gcj-02': 'gcj02', wgs84: 'EPSG:4326', crs84: 'EPSG:4326', cgcs2000: 'EPSG:4490' };

/** Looks like a CRS suffix (a name above or EPSG:n); anything else after '@' stays part of the path. */
const SUFFIX = /@((?:gcj-?02|wgs84|crs84|cgcs2000)|(?:epsg:{1,2}\d+))$/i;

export interface ZoneSpec {
  path: string;
  /** The CRS the user gave for this file, as `sourceCrs` ('gcj02' or 'EPSG:n'); absent: the file's own (or --zones-crs). */
  crs?: string;
}

export function parseZoneSpec(arg: string): ZoneSpec {
  const m = SUFFIX.exec(arg);
  if (!m) return { path: arg };
  const path = arg.slice(0, m.index);
  const name = m[1].toLowerCase();
  if (NAMED[name]) return { path, crs: NAMED[name] };
  try {
    return { path, crs: normaliseCrs(m[1]) };
  } catch {
    throw new UsageError(`--zones ${arg}: ${m[1]} ${unsupported(path, m[1])}`, 'batch');
  }
}

/**
 * What the user can do about a CRS Tuban cannot project (crs.ts asks for a WKT definition, which a
 * file may carry in its .prj or GeoPackage, but the command line has no way to give one).
 */
function unsupported(path: string, crs: string): string {
  const out = path.replace(/(\.[^./]*)?$/, '-4490$1');
  return (
    `is not a CRS Tuban can project. Reproject the file, e.g. ogr2ogr -s_srs ${crs} -t_srs EPSG:4490 ${out} ${path}, and pass ${out}@cgcs2000; ` +
    `or use a supported suffix: @gcj02, @wgs84, @cgcs2000 or @EPSG:n for ${SUPPORTED_EPSG_CODES}`
  );
}

/** The value of `--zones-crs`, checked the same way as a suffix. */
export function parseZonesCrs(value: string): string {
  const name = value.trim().toLowerCase();
  if (NAMED[name]) return NAMED[name];
  try {
    return normaliseCrs(value);
  } catch {
    throw new UsageError(`--zones-crs ${value}: not a CRS Tuban can project; use gcj02, wgs84, cgcs2000 or EPSG:n for ${SUPPORTED_EPSG_CODES}, or reproject the zone files (ogr2ogr -t_srs EPSG:4490)`, 'batch');
  }
}
