/**
 * Well-Known Binary (OGC 06-103r4 / ISO 13249) and the GeoPackage geometry blob that wraps it
 * (GeoPackage 1.3 §2.1.3). Reads every simple-feature type so callers can name what they skip;
 * Z and M ordinates (ISO 1000/2000/3000 offsets or EWKB high flags) are read and dropped.
 * Writes Point / Polygon / MultiPolygon, little-endian, XY only. Coordinates are passed through untouched.
 */
import type { Geometry, MultiPolygon, Point, Polygon, Position } from 'geojson';

const TYPE_NAMES = ['', 'Point', 'LineString', 'Polygon', 'MultiPoint', 'MultiLineString', 'MultiPolygon', 'GeometryCollection'] as const;

class Cursor {
  off = 0;
  le = true;
  readonly view: DataView;
  constructor(view: DataView) {
    this.view = view;
  }
  u8(): number { return this.view.getUint8(this.off++); }
  u32(): number { const v = this.view.getUint32(this.off, this.le); this.off += 4; return v; }
  f64(): number { const v = this.view.getFloat64(this.off, this.le); this.off += 8; return v; }
}

function readGeom(c: Cursor): Geometry {
  const order = c.u8();
  if (order > 1) throw new Error(`bad WKB byte-order marker ${order} at offset ${c.off - 1}`);
  c.le = order === 1;
  let t = c.u32();
  // EWKB (PostGIS) flags: Z 0x80000000, M 0x40000000, SRID 0x20000000.
  let dims = 2 + (t & 0x80000000 ? 1 : 0) + (t & 0x40000000 ? 1 : 0);
  if (t & 0x20000000) c.u32();
  t &= 0x0fffffff;
  // ISO: 1000 = Z, 2000 = M, 3000 = ZM.
  const iso = Math.floor(t / 1000);
  if (iso > 0) { dims = iso === 3 ? 4 : 3; t %= 1000; }
  const pos = (): Position => { const x = c.f64(); const y = c.f64(); for (let i = 2; i < dims; i++) c.f64(); return [x, y]; };
  const seq = (): Position[] => { const n = c.u32(); const out: Position[] = new Array(n); for (let i = 0; i < n; i++) out[i] = pos(); return out; };
  const rings = (): Position[][] => { const n = c.u32(); const out: Position[][] = new Array(n); for (let i = 0; i < n; i++) out[i] = seq(); return out; };
  const parts = <G extends Geometry>(): G[] => {
    const n = c.u32();
    const out: G[] = [];
    for (let i = 0; i < n; i++) out.push(readGeom(c) as G);
    return out;
  };
  switch (t) {
    case 1: return { type: 'Point', coordinates: pos() };
    case 2: return { type: 'LineString', coordinates: seq() };
    case 3: return { type: 'Polygon', coordinates: rings() };
    case 4: return { type: 'MultiPoint', coordinates: parts<{ type: 'Point'; coordinates: Position }>().map((p) => p.coordinates) };
    case 5: return { type: 'MultiLineString', coordinates: parts<{ type: 'LineString'; coordinates: Position[] }>().map((p) => p.coordinates) };
    case 6: return { type: 'MultiPolygon', coordinates: parts<Polygon>().map((p) => p.coordinates) };
    case 7: return { type: 'GeometryCollection', geometries: parts<Geometry>() };
    default: throw new Error(`unsupported WKB geometry type ${t}${TYPE_NAMES[t] ? '' : ' (curves/surfaces are not supported)'}`);
  }
}

/** Parse one WKB geometry starting at `offset` of `bytes`. Throws on malformed input. */
export function readWkb(bytes: Uint8Array, offset = 0): Geometry {
  const c = new Cursor(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  c.off = offset;
  return readGeom(c);
}

function polygonBytes(rings: Position[][]): number {
  return 9 + rings.reduce((s, r) => s + 4 + r.length * 16, 0);
}

/** Little-endian XY WKB for a Point, Polygon or MultiPolygon. */
export function writeWkb(g: Polygon | MultiPolygon | Point): Uint8Array {
  if (g.type === 'Point') {
    const out = new Uint8Array(21);
    const v = new DataView(out.buffer);
    v.setUint8(0, 1); v.setUint32(1, 1, true); v.setFloat64(5, g.coordinates[0], true); v.setFloat64(13, g.coordinates[1], true);
    return out;
  }
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  const size = g.type === 'Polygon' ? polygonBytes(g.coordinates) : 9 + polys.reduce((s, p) => s + polygonBytes(p), 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let o = 0;
  const header = (type: number, n: number) => { v.setUint8(o, 1); v.setUint32(o + 1, type, true); v.setUint32(o + 5, n, true); o += 9; };
  const poly = (rings: Position[][]) => {
    header(3, rings.length);
    for (const r of rings) {
      v.setUint32(o, r.length, true); o += 4;
      for (const p of r) { v.setFloat64(o, p[0], true); v.setFloat64(o + 8, p[1], true); o += 16; }
    }
  };
  if (g.type === 'Polygon') poly(g.coordinates);
  else { header(6, polys.length); for (const p of polys) poly(p); }
  return out;
}

/** XY bounds [minX, minY, maxX, maxY] of a polygon (or point) geometry. */
export function polygonBounds(g: Polygon | MultiPolygon | Point): [number, number, number, number] {
  if (g.type === 'Point') return [g.coordinates[0], g.coordinates[1], g.coordinates[0], g.coordinates[1]];
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const p of polys) for (const r of p) for (const [x, y] of r) {
    if (x < b[0]) b[0] = x; if (y < b[1]) b[1] = y; if (x > b[2]) b[2] = x; if (y > b[3]) b[3] = y;
  }
  return b;
}

/** Envelope sizes in bytes by the blob's envelope indicator (GeoPackage 1.3 table 6). */
const ENVELOPE_BYTES = [0, 32, 48, 48, 64];

/** Decode a GeoPackage geometry blob; `null` for an empty geometry. */
export function readGpkgBlob(blob: Uint8Array): { srsId: number; geometry: Geometry | null } {
  if (blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) throw new Error('not a GeoPackage geometry blob (missing "GP" magic)');
  const flags = blob[3];
  const le = (flags & 1) === 1;
  const envelope = (flags >> 1) & 7;
  if (envelope >= ENVELOPE_BYTES.length) throw new Error(`invalid envelope indicator ${envelope}`);
  if (flags & 0x20) throw new Error('extended GeoPackage geometry types are not supported');
  const srsId = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getInt32(4, le);
  if (flags & 0x10) return { srsId, geometry: null };
  return { srsId, geometry: readWkb(blob, 8 + ENVELOPE_BYTES[envelope]) };
}

/** Encode a GeoPackage geometry blob, little-endian, with an XY envelope. */
export function writeGpkgBlob(g: Polygon | MultiPolygon | Point, srsId: number): Uint8Array {
  const wkb = writeWkb(g);
  const out = new Uint8Array(8 + 32 + wkb.length);
  const v = new DataView(out.buffer);
  out[0] = 0x47; out[1] = 0x50; out[2] = 0; out[3] = 0b0000_0011; // LE, envelope [minx,maxx,miny,maxy]
  v.setInt32(4, srsId, true);
  const [x0, y0, x1, y1] = polygonBounds(g);
  v.setFloat64(8, x0, true); v.setFloat64(16, x1, true); v.setFloat64(24, y0, true); v.setFloat64(32, y1, true);
  out.set(wkb, 40);
  return out;
}
