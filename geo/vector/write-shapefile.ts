/**
 * A minimal ESRI Shapefile writer (polygons or points; .shp/.shx/.dbf/.cpg, optional .prj) for test
 * fixtures and hand-off to desktop GIS. Coordinates are written as given, in the CRS the `prjWkt`
 * describes; outer rings are written clockwise and holes counter-clockwise, as the format requires.
 * Text fields are UTF-8 (the .cpg says so) and cut at a character boundary, never inside one.
 */
import { writeFile } from 'node:fs/promises';
import type { MultiPolygon, Point, Polygon, Position } from 'geojson';

export interface ShapefileFeature {
  geometry: Polygon | MultiPolygon | Point;
  /** Strings become C fields (UTF-8, .cpg says so), numbers N fields; field names are cut to 10 bytes. */
  properties: Record<string, string | number | null>;
}

/**
 * A declared DBF field: `name` is both the property key and the field name (≤ 10 bytes of UTF-8,
 * the dBase limit), `width` in bytes (≤ 254), `decimals` ≤ 15 for N.
 */
export interface DbfField {
  name: string;
  type: 'C' | 'N';
  width: number;
  decimals?: number;
}

export interface ShapefileParts {
  shp: Buffer;
  shx: Buffer;
  dbf: Buffer;
  cpg: Buffer;
  prj?: Buffer;
}

function signedArea(r: Position[]): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] - r[i][0]) * (r[j][1] + r[i][1]);
  return a / 2; // > 0 for clockwise in x-right/y-up axes
}

function orient(r: Position[], clockwise: boolean): Position[] {
  return signedArea(r) > 0 === clockwise ? r : [...r].reverse();
}

/** Bounds of points without spreading them into Math.min (which overflows the stack past ~10⁵ points). */
function boundsOf(pts: Iterable<Position>): [number, number, number, number] {
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of pts) {
    if (p[0] < b[0]) b[0] = p[0];
    if (p[1] < b[1]) b[1] = p[1];
    if (p[0] > b[2]) b[2] = p[0];
    if (p[1] > b[3]) b[3] = p[1];
  }
  return b[0] === Infinity ? [0, 0, 0, 0] : b;
}

/** The longest prefix of `s` whose UTF-8 encoding fits in `bytes`, as bytes. */
export function utf8Prefix(s: string, bytes: number): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= bytes) return b;
  let end = bytes;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--; // back off a continuation byte
  return b.subarray(0, end);
}

/** Fields inferred from the values when none are declared (the fixtures' path). */
function inferFields(features: ShapefileFeature[]): (DbfField & { key: string })[] {
  const keys = [...new Set(features.flatMap((f) => Object.keys(f.properties)))];
  return keys.map((k) => {
    const vals = features.map((f) => f.properties[k]).filter((v) => v !== null && v !== undefined);
    const numeric = vals.length > 0 && vals.every((v) => typeof v === 'number');
    const text = vals.map((v) => (typeof v === 'number' ? String(v) : Buffer.from(String(v), 'utf8').toString('latin1')));
    const decimals = numeric && vals.some((v) => !Number.isInteger(v)) ? Math.min(15, Math.max(...text.map((t) => (t.split('.')[1] ?? '').length))) : 0;
    // Numbers are written with the field's decimals, so measure them that way (5 → '5.000').
    const shown = numeric && decimals > 0 ? vals.map((v) => (v as number).toFixed(decimals)) : text;
    const width = Math.min(254, Math.max(1, ...shown.map((t) => t.length)));
    return { key: k, name: utf8Prefix(k, 10).toString('utf8'), type: numeric ? 'N' : 'C', width, decimals };
  });
}

function checkFields(fields: readonly DbfField[]): void {
  const seen = new Set<string>();
  for (const f of fields) {
    const n = Buffer.byteLength(f.name, 'utf8');
    if (n === 0 || n > 10) throw new Error(`shapefile: field name '${f.name}' is ${n} bytes; a DBF field name takes 1 to 10`);
    if (seen.has(f.name.toUpperCase())) throw new Error(`shapefile: duplicate field name '${f.name}'`);
    seen.add(f.name.toUpperCase());
    const max = 254; // dBase III allows 254 for both; GDAL reads N fields that wide
    if (!(f.width >= 1 && f.width <= max)) throw new Error(`shapefile: field '${f.name}' width ${f.width} outside 1..${max}`);
  }
}

function numberCell(v: number, f: DbfField): string {
  const s = f.decimals ? v.toFixed(f.decimals) : Number.isInteger(v) || f.decimals === 0 ? String(Math.round(v)) : String(v);
  if (s.length > f.width) throw new Error(`shapefile: value ${v} does not fit field '${f.name}' (N${f.width}.${f.decimals ?? 0})`);
  return s.padStart(f.width);
}

/**
 * The files of a shapefile as buffers. Every feature must have the same kind of geometry: points
 * (type 1) or polygons (type 5, multipolygons as one record of many rings). With `fields`, only
 * those properties are written, with those names and widths; without, they are inferred.
 */
export function encodeShapefile(features: readonly ShapefileFeature[], opts: { prjWkt?: string; fields?: readonly DbfField[] } = {}): ShapefileParts {
  const isPoint = features.length > 0 && features[0].geometry.type === 'Point';
  if (features.some((f) => (f.geometry.type === 'Point') !== isPoint)) throw new Error('shapefile: points and polygons cannot share one shapefile');
  const records: Position[][][] = features.map((f) => {
    const g = f.geometry;
    if (g.type === 'Point') return [[g.coordinates]];
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    return polys.flatMap((p) => p.map((r, i) => orient(r, i === 0)));
  });
  const allPoints = function* () { for (const rings of records) for (const r of rings) yield* r; };
  const bbox = boundsOf(allPoints());
  const contentLen = records.map((rings) => (isPoint ? 20 : 44 + 4 * rings.length + 16 * rings.reduce((s, r) => s + r.length, 0)));
  const shpLen = 100 + contentLen.reduce((s, n) => s + 8 + n, 0);
  const shapeType = isPoint ? 1 : 5;
  const header = (len: number): Buffer => {
    const h = Buffer.alloc(100);
    h.writeInt32BE(9994, 0);
    h.writeInt32BE(len / 2, 24);
    h.writeInt32LE(1000, 28);
    h.writeInt32LE(shapeType, 32);
    bbox.forEach((v, i) => h.writeDoubleLE(v, 36 + 8 * i));
    return h;
  };
  const shp = Buffer.alloc(shpLen);
  const shx = Buffer.alloc(100 + 8 * records.length);
  header(shpLen).copy(shp);
  header(shx.length).copy(shx);
  let o = 100;
  records.forEach((rings, k) => {
    shx.writeInt32BE(o / 2, 100 + 8 * k);
    shx.writeInt32BE(contentLen[k] / 2, 104 + 8 * k);
    shp.writeInt32BE(k + 1, o);
    shp.writeInt32BE(contentLen[k] / 2, o + 4);
    o += 8;
    if (isPoint) {
      shp.writeInt32LE(1, o);
      shp.writeDoubleLE(rings[0][0][0], o + 4);
      shp.writeDoubleLE(rings[0][0][1], o + 12);
      o += 20;
      return;
    }
    const pts = rings.flat();
    shp.writeInt32LE(5, o);
    boundsOf(pts).forEach((v, i) => shp.writeDoubleLE(v, o + 4 + 8 * i));
    shp.writeInt32LE(rings.length, o + 36);
    shp.writeInt32LE(pts.length, o + 40);
    o += 44;
    let start = 0;
    for (const r of rings) { shp.writeInt32LE(start, o); o += 4; start += r.length; }
    for (const p of pts) { shp.writeDoubleLE(p[0], o); shp.writeDoubleLE(p[1], o + 8); o += 16; }
  });

  const fields = opts.fields ? opts.fields.map((f) => ({ ...f, key: f.name })) : inferFields([...features]);
  checkFields(fields);
  const recLen = 1 + fields.reduce((s, f) => s + f.width, 0);
  const headLen = 32 + 32 * fields.length + 1;
  const dbf = Buffer.alloc(headLen + recLen * features.length + 1, 0x20);
  dbf.fill(0, 0, headLen);
  dbf[0] = 3;
  dbf[1] = 124; dbf[2] = 1; dbf[3] = 1;
  dbf.writeUInt32LE(features.length, 4);
  dbf.writeUInt16LE(headLen, 8);
  dbf.writeUInt16LE(recLen, 10);
  dbf[29] = 0; // no code page mark: the .cpg names UTF-8
  fields.forEach((f, i) => {
    const d = 32 + 32 * i;
    Buffer.from(f.name, 'utf8').copy(dbf, d);
    dbf.write(f.type, d + 11, 'latin1');
    dbf[d + 16] = f.width;
    dbf[d + 17] = f.type === 'N' ? (f.decimals ?? 0) : 0;
  });
  dbf[headLen - 1] = 0x0d;
  features.forEach((feat, k) => {
    let p = headLen + recLen * k + 1;
    for (const f of fields) {
      const v = feat.properties[f.key];
      if (v !== null && v !== undefined && v !== '') {
        const cell = f.type === 'N' && typeof v === 'number' ? Buffer.from(numberCell(v, f), 'latin1') : utf8Prefix(String(v), f.width);
        cell.copy(dbf, p);
      }
      p += f.width;
    }
  });
  dbf[dbf.length - 1] = 0x1a;
  return { shp, shx, dbf, cpg: Buffer.from('UTF-8'), prj: opts.prjWkt ? Buffer.from(opts.prjWkt) : undefined };
}

/** Write `<base>.shp/.shx/.dbf/.cpg` and, when `prjWkt` is given, `<base>.prj`. `base` has no extension. */
export async function writeShapefile(base: string, features: ShapefileFeature[], prjWkt?: string): Promise<void> {
  const parts = encodeShapefile(features, { prjWkt });
  await writeFile(`${base}.shp`, parts.shp);
  await writeFile(`${base}.shx`, parts.shx);
  await writeFile(`${base}.dbf`, parts.dbf);
  await writeFile(`${base}.cpg`, parts.cpg);
  if (parts.prj) await writeFile(`${base}.prj`, parts.prj);
}
