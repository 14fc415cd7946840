/**
 * Well-Known Binary (OGC 06-103r4 / ISO 13249) and the GeoPackage geometry blob that wraps it
 * (GeoPackage 1.3 §2.1.3). Reads every simple-feature type so callers can name what they skip;
 * Z and M ordinates (ISO 1000/2000/3000 offsets or EWKB high flags) are read and dropped.
 * Curves (SQL/MM, GeoPackage's extension types: CircularString, CompoundCurve, CurvePolygon,
 * MultiCurve, MultiSurface, as ArcGIS and `ogr2ogr -nlt MULTISURFACE` write polygon layers) are read
 * as their linear counterparts, each arc as chords of at most 4° (GDAL's default stepping).
 * Writes Point / Polygon / MultiPolygon, little-endian, XY only. Coordinates are passed through untouched.
 */
import type { Geometry, MultiPolygon, Point, Polygon, Position } from 'geojson';

const TYPE_NAMES = [
  '', 'Point', 'LineString', 'Polygon', 'MultiPoint', 'MultiLineString', 'MultiPolygon', 'GeometryCollection',
  'CircularString', 'CompoundCurve', 'CurvePolygon', 'MultiCurve', 'MultiSurface', 'Curve', 'Surface', 'PolyhedralSurface', 'TIN', 'Triangle',
] as const;

/** Largest angle one chord of a linearised arc spans (GDAL's OGR_ARC_STEPSIZE default). */
const ARC_STEP = (4 * Math.PI) / 180;

/**
 * The points after `a` along the circular arc a → b → c (ISO 13249 CircularString: b lies on the arc),
 * b and c exactly among them. Collinear points are a straight segment; a == c is the full circle through b.
 */
function arcPoints(a: Position, b: Position, c: Position): Position[] {
  // Solved relative to a, as GDAL's OGRGeometryFactory::GetCurveParameters does: from raw
  // coordinates the squares at a zone-prefixed Gauss-Krüger easting (39 512 345: ~1.6e15) left the
  // centre decimetres to metres off a small arc.
  const [ox, oy] = a;
  const x1 = b[0] - ox;
  const y1 = b[1] - oy;
  const x2 = c[0] - ox;
  const y2 = c[1] - oy;
  // The centre, relative to a.
  let cx: number;
  let cy: number;
  let ccw = true;
  if (x2 === 0 && y2 === 0) {
    cx = x1 / 2;
    cy = y1 / 2;
  } else {
    // a at the origin: the circumcentre of (0, 0), (x1, y1), (x2, y2).
    const d = 2 * (x1 * y2 - x2 * y1);
    const scale = Math.max(Math.abs(x1), Math.abs(y1), Math.abs(x2 - x1), Math.abs(y2 - y1));
    if (!(Math.abs(d) > 1e-12 * scale * scale)) return [b, c];
    const s1 = x1 * x1 + y1 * y1;
    const s2 = x2 * x2 + y2 * y2;
    cx = (s1 * y2 - s2 * y1) / d;
    cy = (s2 * x1 - s1 * x2) / d;
    // Counter-clockwise when b lies right of a → c seen from the centre: b turns left from a to c.
    ccw = x1 * y2 - y1 * x2 >= 0;
  }
  const r = Math.hypot(cx, cy);
  const angle = (p: Position) => Math.atan2(p[1] - oy - cy, p[0] - ox - cx);
  const out: Position[] = [];
  // Each half (a → b, b → c) in chords of at most ARC_STEP, ending on its given point.
  const span = (from: Position, to: Position) => {
    const t0 = angle(from);
    let sweep = angle(to) - t0;
    if (ccw) { while (sweep <= 0) sweep += 2 * Math.PI; } else { while (sweep >= 0) sweep -= 2 * Math.PI; }
    const n = Math.max(1, Math.ceil(Math.abs(sweep) / ARC_STEP));
    for (let i = 1; i < n; i++) {
      const t = t0 + (sweep * i) / n;
      out.push([ox + (cx + r * Math.cos(t)), oy + (cy + r * Math.sin(t))]);
    }
    out.push([to[0], to[1]]);
  };
  span(a, b);
  span(b, c);
  return out;
}

/** A CircularString's points as a line: each arc of three points (the last of one the first of the next) as chords. */
function linearise(points: Position[]): Position[] {
  if (points.length < 3) return points;
  const out: Position[] = [points[0]];
  for (let i = 0; i + 2 < points.length; i += 2) out.push(...arcPoints(points[i], points[i + 1], points[i + 2]));
  return out;
}

/** A curve (LineString, CircularString or CompoundCurve) as one line of points. */
function curvePoints(g: Geometry, what: string): Position[] {
  if (g.type === 'LineString') return g.coordinates;
  throw new Error(`a ${what} holds a ${g.type}, not a curve`);
}

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
    case 8: return { type: 'LineString', coordinates: linearise(seq()) };
    case 9: {
      // CompoundCurve: its LineStrings and CircularStrings end to end, each starting where the last ended.
      const line: Position[] = [];
      for (const part of parts<Geometry>()) {
        const pts = curvePoints(part, 'CompoundCurve');
        line.push(...(line.length ? pts.slice(1) : pts));
      }
      return { type: 'LineString', coordinates: line };
    }
    case 10: return { type: 'Polygon', coordinates: parts<Geometry>().map((r) => curvePoints(r, 'CurvePolygon')) };
    case 11: return { type: 'MultiLineString', coordinates: parts<Geometry>().map((l) => curvePoints(l, 'MultiCurve')) };
    case 12: return {
      type: 'MultiPolygon',
      coordinates: parts<Geometry>().map((p) => {
        if (p.type !== 'Polygon') throw new Error(`a MultiSurface holds a ${p.type}, not a surface`);
        return p.coordinates;
      }),
    };
    default: throw new Error(`unsupported WKB geometry type ${t}${TYPE_NAMES[t] ? ` (${TYPE_NAMES[t]})` : ''}`);
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
