/**
 * Write polygon (or point) layers to an OGC GeoPackage 1.3 (SQLite via sql.js, no native driver):
 * application_id 'GPKG', user_version 10300, the three mandatory srs rows, gpkg_contents with
 * bounds, gpkg_geometry_columns, one feature table per layer with `fid` + typed columns and
 * GeoPackage geometry blobs with XY envelopes. Geometries must be lon/lat EPSG:4326.
 */
import { rename, unlink, writeFile } from 'node:fs/promises';
import type { MultiPolygon, Point, Polygon } from 'geojson';
import { polygonBounds, writeGpkgBlob } from './wkb.js';
import { quoteIdent, sqlJs } from './sqlite.js';

/** Attribute values; arrays and objects are stored as JSON text. */
export type GpkgValue = string | number | boolean | null | readonly unknown[] | { readonly [k: string]: unknown };

export interface GpkgLayer {
  /** Table name (also the layer name GIS tools show). */
  name: string;
  features: { geometry: Polygon | MultiPolygon | Point; properties: Record<string, GpkgValue> }[];
  /**
   * The columns and their types, in order, where the caller knows them (a ledger's schema): every
   * month's file then has the same columns of the same types, whatever its values (an area column
   * whose values are all 0 would otherwise be INTEGER one month and REAL the next), even with no row.
   * Without it, the columns are the properties' keys, typed from their values.
   */
  columns?: Record<string, ColumnType>;
}

const WGS84_WKT =
  'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],' +
  'PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]';

// Table definitions verbatim from the GeoPackage 1.3 spec (annex C), so validators and GDAL agree.
const SCHEMA = `
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
`;

export type ColumnType = 'INTEGER' | 'REAL' | 'TEXT' | 'BOOLEAN';

function columnType(values: unknown[]): ColumnType {
  let t: ColumnType | null = null;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const vt: ColumnType = typeof v === 'boolean' ? 'BOOLEAN' : typeof v === 'number' ? (Number.isInteger(v) ? 'INTEGER' : 'REAL') : 'TEXT';
    if (t === null || t === vt) t = vt;
    else if ((t === 'INTEGER' && vt === 'REAL') || (t === 'REAL' && vt === 'INTEGER')) t = 'REAL';
    else return 'TEXT';
  }
  return t ?? 'TEXT';
}

function sqlValue(v: unknown, t: ColumnType): string | number | null {
  if (v === null || v === undefined) return null;
  if (t === 'BOOLEAN') return v ? 1 : 0;
  if (t === 'TEXT') return typeof v === 'string' ? v : JSON.stringify(v);
  return Number(v);
}

/** Write `layers` to a new GeoPackage at `path` (replacing any file there, atomically). */
export async function writeGeoPackage(path: string, layers: GpkgLayer[]): Promise<void> {
  const bytes = await encodeGeoPackage(layers);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    // A failed write (a full disk) leaves no partial file taking the space.
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** The bytes of a GeoPackage holding `layers` (for downloads that never touch the disk). */
export async function encodeGeoPackage(layers: GpkgLayer[]): Promise<Uint8Array> {
  const SQL = await sqlJs();
  const db = new SQL.Database();
  try {
    db.run('PRAGMA application_id = 1196444487'); // 0x47504B47 'GPKG'
    db.run('PRAGMA user_version = 10300');
    db.run(SCHEMA);
    const srs = db.prepare('INSERT INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)');
    srs.run(['Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system']);
    srs.run(['Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system']);
    srs.run(['WGS 84 geodetic', 4326, 'EPSG', 4326, WGS84_WKT, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid']);
    srs.free();

    const seen = new Set<string>();
    for (const layer of layers) {
      if (seen.has(layer.name.toLowerCase())) throw new Error(`duplicate GeoPackage layer name '${layer.name}'`);
      seen.add(layer.name.toLowerCase());
      const keys = [...new Set([...Object.keys(layer.columns ?? {}), ...layer.features.flatMap((f) => Object.keys(f.properties))])];
      // 'fid' and 'geom' are ours; a property of that name gets a suffix rather than vanishing.
      const colName = new Map(keys.map((k) => [k, /^(fid|geom)$/i.test(k) ? `${k}_1` : k]));
      const types = new Map(keys.map((k) => [k, layer.columns?.[k] ?? columnType(layer.features.map((f) => f.properties[k]))]));
      const kinds = new Set(layer.features.map((f) => f.geometry.type));
      // One kind gets its own name (GIS tools style by it); a mix (clue points among polygons) is GEOMETRY.
      const geomType = kinds.size > 1 ? 'GEOMETRY' : kinds.has('MultiPolygon') ? 'MULTIPOLYGON' : kinds.has('Point') ? 'POINT' : 'POLYGON';
      const t = quoteIdent(layer.name);
      const cols = keys.map((k) => `${quoteIdent(colName.get(k)!)} ${types.get(k)}`);
      db.run(`CREATE TABLE ${t} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom ${geomType}${cols.map((c) => ', ' + c).join('')})`);

      const b = [Infinity, Infinity, -Infinity, -Infinity];
      const ins = db.prepare(`INSERT INTO ${t} (geom${keys.map((k) => ', ' + quoteIdent(colName.get(k)!)).join('')}) VALUES (?${', ?'.repeat(keys.length)})`);
      db.run('BEGIN');
      for (const f of layer.features) {
        const [x0, y0, x1, y1] = polygonBounds(f.geometry);
        b[0] = Math.min(b[0], x0); b[1] = Math.min(b[1], y0); b[2] = Math.max(b[2], x1); b[3] = Math.max(b[3], y1);
        ins.run([writeGpkgBlob(f.geometry, 4326), ...keys.map((k) => sqlValue(f.properties[k], types.get(k)!))]);
      }
      db.run('COMMIT');
      ins.free();
      const bounds = layer.features.length ? b : [null, null, null, null];
      db.run('INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id) VALUES (?,?,?,?,?,?,?,?)', [
        layer.name, 'features', layer.name, ...bounds, 4326,
      ]);
      db.run('INSERT INTO gpkg_geometry_columns VALUES (?,?,?,?,?,?)', [layer.name, 'geom', geomType, 4326, 0, 0]);
    }
    return db.export();
  } finally {
    db.close();
  }
}
