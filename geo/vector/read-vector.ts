/**
 * Read polygon features from GeoJSON, GeoPackage or Shapefile and reproject them to lon/lat
 * EPSG:4326. The source CRS comes from the file (GeoJSON `crs` member, GeoPackage srs table,
 * shapefile .prj) unless `sourceCrs` overrides it; 'gcj02' names the Chinese web-map offset
 * datum and undoes it. Points and lines are skipped with a warning, never an error.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Geometry, MultiPolygon, Polygon, Position } from 'geojson';
import * as shapefile from 'shapefile';
import type { Database } from 'sql.js';
import { crsFromWkt, datumWithoutShift, LONLAT, normaliseCrs, transformer } from '../crs.js';
import { gcj02ToWgs84 } from '../gcj02.js';
import { TubanError } from '../../schemas/errors.js';
import { readGpkgBlob } from './wkb.js';
import { queryRows, quoteIdent, sqlJs } from './sqlite.js';

export interface VectorFeature {
  /** Feature id from the file (GeoJSON id, GeoPackage fid, shapefile record number), else its index. */
  id: string;
  /** Lon/lat EPSG:4326, rings closed. */
  geometry: Polygon | MultiPolygon;
  properties: Record<string, unknown>;
}

export interface VectorRead {
  features: VectorFeature[];
  /** The source CRS as read or overridden: 'EPSG:n', 'WKT:<hash>' or 'gcj02'. */
  crs: string;
  warnings: string[];
}

export interface ReadVectorOptions {
  /** 'gcj02', or an EPSG string ('EPSG:4527') overriding whatever the file declares. */
  sourceCrs?: string;
}

interface RawFeature {
  id: string;
  geometry: Geometry | null;
  properties: Record<string, unknown>;
  /** The CRS of this feature's layer where a file's layers declare their own (a GeoPackage's), else the file's (`RawRead.crs`). */
  crs?: string | null;
  /** Its layer's name, where the file has several (for messages). */
  layer?: string;
  /** Why its geometry (null here) could not be read. */
  unreadable?: string;
}
interface RawRead { features: RawFeature[]; crs: string | null; warnings: string[] }

export const GCJ02 = 'gcj02';

/** Read one vector file; throws TubanError ZONES.UNREADABLE / ZONES.CRS_MISSING / ZONES.EMPTY naming it. */
export async function readVectorFile(path: string, opts: ReadVectorOptions = {}): Promise<VectorRead> {
  const name = basename(path);
  let raw: RawRead;
  try {
    const kind = await sniff(path);
    raw = kind === 'gpkg' ? await readGpkg(path) : kind === 'shp' ? await readShapefile(path) : await readGeoJson(path);
  } catch (err) {
    if (err instanceof TubanError && err.code.startsWith('ZONES.')) throw err;
    // e.g. TILE.CRS_UNSUPPORTED from a .prj proj4 cannot read: for a zone file that means unreadable.
    const why = err instanceof TubanError ? `${err.code}: ${err.message}` : (err as Error).message;
    throw new TubanError('ZONES.UNREADABLE', `cannot read vector file: ${why}`, path, { cause: err });
  }

  const warnings = [...raw.warnings];
  const skipped = new Map<string, number>();
  const polys: (RawFeature & { geometry: Polygon | MultiPolygon })[] = [];
  for (const f of raw.features) {
    const g = f.geometry;
    if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) {
      const t = g ? g.type : f.unreadable ? 'a geometry that could not be read' : 'null geometry';
      skipped.set(t, (skipped.get(t) ?? 0) + 1);
      continue;
    }
    polys.push({ ...f, geometry: g });
  }
  for (const [t, n] of skipped) warnings.push(`${name}: skipped ${n} feature(s) with ${t} (only polygons are zones)`);
  if (polys.length === 0) {
    // Say what it holds instead (lines, points, geometries that could not be read): "no polygon
    // features" alone sent the user looking at a file full of them.
    const held = [...skipped].map(([t, n]) => `${n} feature(s) with ${t}`);
    const first = raw.features.find((f) => f.unreadable);
    const why = first ? `, e.g. feature ${first.id}: ${first.unreadable}` : '';
    throw new TubanError('ZONES.EMPTY', `${name} has no polygon features${held.length ? ` (it holds ${held.join(', ')}${why}; only polygons are zones)` : ''}`, path);
  }

  // Each layer in its own declared CRS: a GeoPackage put together in a desktop GIS often holds a
  // district layer in lon/lat beside a farmland layer in Gauss-Krüger. (Skipping the second layer
  // with a warning routed every polygon without it, exit 0.) A CRS given on the command line wins
  // over every layer's.
  const declaredOf = (f: RawFeature): string | null => (f.crs !== undefined ? f.crs : raw.crs);
  const groups = new Map<string | null, typeof polys>();
  for (const f of polys) {
    const key = declaredOf(f);
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  }
  const fixers = new Map<string | null, { crs: string; ring: (r: Position[]) => Position[] }>();
  for (const [declared, members] of groups) {
    const layer = members[0].layer;
    let crs: string;
    try {
      if (opts.sourceCrs && /^gcj-?02$/i.test(opts.sourceCrs.trim())) crs = GCJ02;
      else if (opts.sourceCrs) crs = normaliseCrs(opts.sourceCrs, path);
      else if (declared) crs = declared;
      else if (layer !== undefined) throw new TubanError('ZONES.CRS_MISSING', `${name}: layer '${layer}' declares no coordinate system (its srs_id is undefined); give it one in the GIS (QGIS: Layer CRS, then save), or state the CRS of the whole file after the path: ${path}@EPSG:4527, its EPSG code, or @cgcs2000, @wgs84, @gcj02`, path);
      else throw new TubanError('ZONES.CRS_MISSING', `${name} declares no coordinate system (a shapefile needs its .prj); put the .prj beside it (in --zones the CRS can follow the path instead: ${path}@EPSG:4527, its EPSG code, or @cgcs2000, @wgs84, @gcj02)`, path);
    } catch (err) {
      if (err instanceof TubanError && err.code.startsWith('ZONES.')) throw err;
      throw new TubanError('ZONES.UNREADABLE', `unsupported coordinate system: ${(err as Error).message}`, path, { cause: err });
    }
    // Beijing 1954, Xian 1980…: read without a datum shift (none in the file), the layer lay tens to
    // hundreds of metres off true CGCS2000/WGS84, silently (districts and farmland misplaced, exit 0);
    // for Xian 1980 GDAL and QGIS do the same (PROJ has no EPSG shift for it).
    const datum = datumWithoutShift(crs === GCJ02 ? declared ?? LONLAT : crs);
    if (datum) {
      const stem = path.replace(/\.[^./]+$/, '');
      throw new TubanError(
        'ZONES.UNREADABLE',
        `${layer !== undefined && groups.size > 1 ? `layer '${layer}': ` : ''}its datum, ${datum}, is not WGS84 or CGCS2000 and the file gives no shift to them (no TOWGS84 in its coordinate system): read as it stands, the layer would lie tens to hundreds of metres off. ` +
          `Convert it to CGCS2000 with the transformation parameters your surveying office uses (ogr2ogr -s_srs '<its CRS> +towgs84=…' -t_srs EPSG:4490 ${stem}-4490.gpkg ${path}; GDAL's own -t_srs EPSG:4490 applies EPSG's shift where it has one, for Beijing 1954, not for Xian 1980) and pass the converted file`,
        path,
      );
    }
    // A file read as GCJ-02 through its own projected CRS (gcj02From) has that CRS's axes.
    const axesOf = crs === GCJ02 ? declared ?? crs : crs;
    const swap = needsAxisSwap(axesOf, members[0].geometry);
    if (swap) warnings.push(`${name}: ${layer !== undefined && groups.size > 1 ? `layer '${layer}': ` : ''}coordinates look like northing,easting for ${axesOf}; swapped to easting,northing`);
    const fwd = crs === GCJ02 ? gcj02From(declared) : crs === LONLAT || crs === 'EPSG:4490' ? null : transformer(crs, LONLAT);
    const fix = (p: Position): Position => {
      const x = swap ? p[1] : p[0];
      const y = swap ? p[0] : p[1];
      const q = fwd ? fwd(x, y) : [x, y];
      if (!Number.isFinite(q[0]) || !Number.isFinite(q[1]) || Math.abs(q[0]) > 180 || Math.abs(q[1]) > 90) {
        throw new TubanError(
          'ZONES.CRS_MISSING',
          `coordinate (${x}, ${y}) is not a valid position in ${crs}; the file's declared CRS is probably wrong (projected data without a CRS?)`,
          path,
        );
      }
      return [q[0], q[1]];
    };
    const ring = (r: Position[]): Position[] => {
      const out = r.map(fix);
      const a = out[0];
      const b = out[out.length - 1];
      if (out.length > 0 && (a[0] !== b[0] || a[1] !== b[1])) out.push([a[0], a[1]]); // close rings: GeoJSON requires it
      return out;
    };
    fixers.set(declared, { crs, ring });
  }
  const features = polys.map((f) => {
    const { ring } = fixers.get(declaredOf(f))!;
    return {
      id: f.id,
      properties: f.properties,
      geometry:
        f.geometry.type === 'Polygon'
          ? { type: 'Polygon' as const, coordinates: f.geometry.coordinates.map(ring) }
          : { type: 'MultiPolygon' as const, coordinates: f.geometry.coordinates.map((p) => p.map(ring)) },
    };
  });
  // The file's CRS as read: its first layer's where its layers differ.
  const crs = fixers.get(declaredOf(polys[0]))!.crs;
  return { features, crs, warnings };
}

/**
 * GCJ-02 undone from a file in its own CRS: a DataV download reprojected by a desktop GIS (into
 * CGCS2000 Gauss-Krüger, say) keeps the offset in its coordinates, so they are taken to lon/lat by
 * the file's CRS first. Reading its metres as GCJ-02 lon/lat failed as "not a valid position".
 */
function gcj02From(fileCrs: string | null): (x: number, y: number) => [number, number] {
  if (fileCrs === null || fileCrs === LONLAT || fileCrs === 'EPSG:4490') return gcj02ToWgs84;
  const toLonLat = transformer(fileCrs, LONLAT);
  return (x, y) => {
    const [lon, lat] = toLonLat(x, y);
    return gcj02ToWgs84(lon, lat);
  };
}

/** Chinese GK zone-prefixed systems put a 2-digit zone before the easting (e.g. 39 500 000); a file with that in y has its axes swapped. */
function needsAxisSwap(crs: string, g: Polygon | MultiPolygon): boolean {
  const m = /^EPSG:(\d+)$/.exec(crs);
  const code = m ? Number(m[1]) : 0;
  if (!((code >= 4491 && code <= 4501) || (code >= 4513 && code <= 4533))) return false;
  const p = g.type === 'Polygon' ? g.coordinates[0]?.[0] : g.coordinates[0]?.[0]?.[0];
  return !!p && p[0] < 1e7 && p[1] > 1e7;
}

async function sniff(path: string): Promise<'gpkg' | 'shp' | 'geojson'> {
  const ext = extname(path).toLowerCase();
  if (ext === '.gpkg') return 'gpkg';
  if (ext === '.shp') return 'shp';
  if (ext === '.geojson' || ext === '.json') return 'geojson';
  const s = await stat(path);
  if (!s.isFile()) throw new Error('not a file');
  const head = (await readFile(path)).subarray(0, 16);
  if (Buffer.from(head).toString('latin1').startsWith('SQLite format 3')) return 'gpkg';
  return 'geojson';
}

/**
 * Whether `bytes` are text in `encoding` (a WHATWG label). Streamed, so a character cut at the end
 * (a writer truncating a .dbf field to its width) is not counted against it.
 */
function decodes(bytes: Uint8Array, encoding: string): boolean {
  try {
    new TextDecoder(encoding, { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** Chinese GIS exports that are not UTF-8 are GBK (or GB18030, its superset, which decodes both). */
const FALLBACK_ENCODINGS = ['utf-8', 'gb18030'];
const ENCODING_NAMES: Record<string, string> = { 'utf-8': 'UTF-8', gb18030: 'GBK/GB18030', gbk: 'GBK' };

async function readGeoJson(path: string): Promise<RawRead> {
  const bytes = await readFile(path);
  const warnings: string[] = [];
  // Real GeoJSON is UTF-8 (RFC 7946), but files re-saved by Chinese desktop tools are often GBK:
  // read as UTF-8 their names came out as U+FFFD in the ledger, with no warning.
  let text: string | null = null;
  for (const encoding of FALLBACK_ENCODINGS) {
    try {
      text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
    } catch {
      continue;
    }
    if (encoding !== 'utf-8') warnings.push(`${basename(path)}: not UTF-8; text read as ${ENCODING_NAMES[encoding]}`);
    break;
  }
  if (text === null) throw new TubanError('ZONES.UNREADABLE', 'text is neither UTF-8 nor GBK/GB18030; save the file as UTF-8', path);
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new TubanError('ZONES.UNREADABLE', `not valid JSON: ${(err as Error).message}`, path, { cause: err });
  }
  const o = doc as { type?: string; features?: unknown[]; geometry?: Geometry; crs?: { properties?: { name?: string } } };
  let list: { id?: string | number; geometry?: Geometry | null; properties?: Record<string, unknown> | null }[];
  if (o?.type === 'FeatureCollection' && Array.isArray(o.features)) list = o.features as typeof list;
  else if (o?.type === 'Feature') list = [o as (typeof list)[number]];
  else if (o && typeof o.type === 'string' && 'coordinates' in (o as object)) list = [{ geometry: o as unknown as Geometry }];
  else throw new TubanError('ZONES.UNREADABLE', 'not a GeoJSON FeatureCollection, Feature or geometry', path);
  // The 2008 GeoJSON `crs` member is gone from RFC 7946, but GDAL and Chinese GIS exports still write it.
  const crsName = o.crs?.properties?.name;
  const crs = crsName ? normaliseCrs(crsName, path) : LONLAT;
  return {
    crs,
    warnings,
    features: list.map((f, i) => ({ id: f.id !== undefined && f.id !== null ? String(f.id) : String(i), geometry: f.geometry ?? null, properties: f.properties ?? {} })),
  };
}

async function readGpkg(path: string): Promise<RawRead> {
  const SQL = await sqlJs();
  const db = new SQL.Database(await readFile(path));
  try {
    let layers: Record<string, unknown>[];
    try {
      layers = queryRows(db, 'SELECT table_name, column_name, srs_id FROM gpkg_geometry_columns ORDER BY table_name');
    } catch (err) {
      throw new TubanError('ZONES.UNREADABLE', `not a GeoPackage (no gpkg_geometry_columns table): ${(err as Error).message}`, path, { cause: err });
    }
    const warnings: string[] = [];
    const features: RawFeature[] = [];
    let crs: string | null = null;
    for (const [n, layer] of layers.entries()) {
      const table = String(layer.table_name);
      const geomCol = String(layer.column_name);
      // Each layer keeps its own CRS (readVectorFile reprojects layer by layer).
      const layerCrs = gpkgCrs(db, Number(layer.srs_id), path);
      if (n === 0) crs = layerCrs;
      const info = queryRows(db, `PRAGMA table_info(${quoteIdent(table)})`);
      const pk = info.find((c) => Number(c.pk) === 1)?.name as string | undefined;
      const bools = new Set(info.filter((c) => String(c.type).toUpperCase() === 'BOOLEAN').map((c) => String(c.name)));
      const prefix = layers.length > 1 ? `${table}:` : '';
      const rows = queryRows(db, `SELECT * FROM ${quoteIdent(table)}`);
      rows.forEach((row, i) => {
        const blob = row[geomCol];
        let geometry: Geometry | null = null;
        let unreadable: string | undefined;
        if (blob instanceof Uint8Array) {
          try {
            geometry = readGpkgBlob(blob).geometry;
          } catch (err) {
            unreadable = (err as Error).message;
            warnings.push(`${basename(path)}: feature ${prefix}${pk ? row[pk] : i} has an unreadable geometry (${unreadable})`);
          }
        }
        const properties: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(row)) {
          if (k === geomCol || k === pk) continue;
          properties[k] = bools.has(k) && v !== null ? v === 1 : v;
        }
        features.push({ id: `${prefix}${pk ? row[pk] : i}`, geometry, properties, crs: layerCrs, layer: table, unreadable });
      });
    }
    return { features, crs, warnings };
  } finally {
    db.close();
  }
}

function gpkgCrs(db: Database, srsId: number, path: string): string | null {
  const row = queryRows(db, 'SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?', [srsId])[0];
  if (!row || srsId === -1) return null;
  // srs 0 is "undefined geographic": lon/lat on an unknown datum; WGS84 is the only sensible reading.
  if (srsId === 0) return LONLAT;
  if (String(row.organization).toUpperCase() === 'EPSG') {
    try {
      return normaliseCrs(Number(row.organization_coordsys_id), path);
    } catch {
      // Not built in: fall through to the WKT definition.
    }
  }
  const def = String(row.definition ?? '');
  if (!def || def === 'undefined') return null;
  return crsFromWkt(def, path);
}

async function readShapefile(path: string): Promise<RawRead> {
  const base = path.slice(0, -extname(path).length);
  const sidecar = async (ext: string): Promise<Buffer | null> => {
    for (const e of [ext, ext.toUpperCase()]) {
      try {
        return await readFile(base + e);
      } catch {
        // try the other case
      }
    }
    return null;
  };
  const warnings: string[] = [];
  const [shp, dbf, prj, cpg] = [await readFile(path), await sidecar('.dbf'), await sidecar('.prj'), await sidecar('.cpg')];
  // Every use of a vector layer reads attributes (kind, code, name, dlbm): without them it is unusable.
  if (!dbf) throw new TubanError('ZONES.UNREADABLE', `no ${basename(path).replace(/\.shp$/i, '.dbf')} beside it: a shapefile's attributes (kind, code, name) live there; copy it next to the .shp`, path);
  const encoding = dbfEncoding(path, cpg, dbf, warnings);
  const source = await shapefile.open(shp, dbf, { encoding });
  const features: RawFeature[] = [];
  for (let i = 0; ; i++) {
    const r = await source.read();
    if (r.done) break;
    features.push({ id: String(i), geometry: r.value.geometry as Geometry | null, properties: r.value.properties ?? {} });
  }
  return { features, crs: prj ? crsFromWkt(prj.toString('utf8').trim(), path) : null, warnings };
}

/** WHATWG label of what a .cpg names (code page numbers included); null when it names nothing. */
function cpgEncoding(cpg: Buffer | null): string | null {
  const c = cpg?.toString('latin1').trim().toLowerCase();
  if (!c) return null;
  if (/^(65001|utf-?8)$/.test(c)) return 'utf-8';
  if (/^(936|gbk|gb2312|cp936)$/.test(c)) return 'gbk';
  if (/^(gb18030|54936)$/.test(c)) return 'gb18030';
  return c;
}

/** The bytes of a .dbf that are text: field names and character (C) fields, one array each. */
function dbfTexts(dbf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (dbf.length < 32) return out;
  const records = dbf.readUInt32LE(4);
  const headerLength = dbf.readUInt16LE(8);
  const recordLength = dbf.readUInt16LE(10);
  const fields: { at: number; length: number }[] = [];
  let at = 1; // each record starts with its deletion flag
  for (let n = 32; n + 32 <= dbf.length && dbf[n] !== 0x0d; n += 32) {
    const name = dbf.subarray(n, n + 11);
    const end = name.indexOf(0);
    out.push(end < 0 ? name : name.subarray(0, end));
    const length = dbf[n + 16];
    if (String.fromCharCode(dbf[n + 11]) === 'C') fields.push({ at, length });
    at += length;
  }
  for (let r = 0; r < records; r++) {
    const start = headerLength + r * recordLength;
    if (start + recordLength > dbf.length) break;
    for (const f of fields) out.push(dbf.subarray(start + f.at, start + f.at + f.length));
  }
  return out;
}

/**
 * The attribute encoding: what the .cpg names, else byte 29 of the .dbf (language driver 0x4d is
 * GBK), else UTF-8; but when the text does not decode as that, UTF-8 or GBK/GB18030 if it decodes
 * as one of them, with a warning (a GBK .dbf without a .cpg gave U+FFFD names in the ledger).
 * Throws ZONES.UNREADABLE when none does.
 */
function dbfEncoding(path: string, cpg: Buffer | null, dbf: Buffer, warnings: string[]): string {
  const named = cpgEncoding(cpg);
  let known = named;
  if (named && !decodes(new Uint8Array(0), named)) {
    warnings.push(`${basename(path)}: its .cpg names '${named}', which is not a known encoding`);
    known = null;
  }
  const declared = known ?? (dbf.length > 29 && dbf[29] === 0x4d ? 'gbk' : null);
  const texts = dbfTexts(dbf);
  const candidates = [...new Set([declared ?? 'utf-8', ...FALLBACK_ENCODINGS])];
  const encoding = candidates.find((e) => texts.every((t) => decodes(t, e)));
  const said = declared ? `its ${known ? '.cpg' : 'language driver'} says ${ENCODING_NAMES[declared] ?? declared}` : 'no .cpg';
  if (!encoding) {
    throw new TubanError('ZONES.UNREADABLE', `.dbf text is not ${candidates.map((e) => ENCODING_NAMES[e] ?? e).join(' nor ')} (${said}); write a .cpg naming its encoding, or save it as UTF-8`, path);
  }
  if (encoding !== (declared ?? 'utf-8')) warnings.push(`${basename(path)}: ${said} and the .dbf is not ${ENCODING_NAMES[declared ?? 'utf-8'] ?? declared}; text read as ${ENCODING_NAMES[encoding]}`);
  return encoding;
}
