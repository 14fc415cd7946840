/**
 * Polygons as hex WKB (ISO/OGC well-known binary, little-endian, 2D) for PostGIS's
 * `ST_GeomFromWKB(decode($hex, 'hex'), 4326)`, and back from the hex EWKB a geometry column
 * reads as. Writing geometries this way instead of as GeoJSON text stores the very same doubles (a
 * test reads them back), but spares both sides the decimal round trip: JSON.stringify of every
 * coordinate here, and in the database parsing the batch's JSON, printing each geometry back to
 * text and parsing that again with ST_GeomFromGeoJSON. 9 377 detections of a full tile: 3.6–4.5 s
 * → 1.3–1.5 s on PGlite, 1.6–2.8 → 0.6–1.0 s on PostgreSQL (2 shared cores, load ~12).
 *
 * Reading is the same round trip the other way: ST_AsGeoJSON prints every coordinate in decimal
 * inside the database and JSON.parse reads it back here. The column's own text (hex EWKB) needs
 * neither: 11 285 detections of a full tile read in 100–140 ms instead of 290–460 ms on PGlite.
 */
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { readWkb } from '../../geo/vector/wkb.js';
import { TubanError } from '../../schemas/errors.js';

const WKB_POLYGON = 3;
const WKB_MULTIPOLYGON = 6;
/** EWKB's flags in the type word (PostGIS): Z or M coordinates. */
const EWKB_Z = 0x80000000;
const EWKB_M = 0x40000000;

/** Hex WKB of a 2D Polygon or MultiPolygon; throws on another type or a coordinate that is not finite. */
export function wkbHex(geom: Polygon | MultiPolygon): string {
  const type = (geom as { type?: string } | null)?.type;
  if (type !== 'Polygon' && type !== 'MultiPolygon') throw new TubanError('INTERNAL', `expected a Polygon or MultiPolygon to store, got ${type ?? String(geom)}`);
  const polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates;
  let size = geom.type === 'Polygon' ? 0 : 9;
  for (const rings of polys) size += polygonSize(rings);
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  if (geom.type === 'MultiPolygon') at = header(buf, at, WKB_MULTIPOLYGON, polys.length);
  for (const rings of polys) {
    at = header(buf, at, WKB_POLYGON, rings.length);
    for (const ring of rings) {
      buf.writeUInt32LE(ring.length, at);
      at += 4;
      for (const p of ring) {
        // GeoJSON text would have carried these as null, which PostGIS refuses: refuse them here too.
        if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) throw new TubanError('INTERNAL', `coordinate [${p[0]}, ${p[1]}] is not finite`);
        buf.writeDoubleLE(p[0], at);
        buf.writeDoubleLE(p[1], at + 8);
        at += 16;
      }
    }
  }
  return buf.toString('hex');
}

function polygonSize(rings: Position[][]): number {
  let n = 9;
  for (const ring of rings) n += 4 + 16 * ring.length;
  return n;
}

/** Byte order (1 = little-endian), geometry type, element count. */
function header(buf: Buffer, at: number, type: number, count: number): number {
  buf.writeUInt8(1, at);
  buf.writeUInt32LE(type, at + 1);
  buf.writeUInt32LE(count, at + 5);
  return at + 9;
}

/**
 * A 2D Polygon or MultiPolygon from the hex EWKB (or plain WKB) that PostGIS prints a geometry column
 * as: the same doubles that were stored, in GeoJSON's layout (`type`, then `coordinates`), read by
 * geo/vector/wkb.ts (either byte order, the SRID skipped: the column fixes it). Throws on another
 * geometry type, Z or M coordinates (Tuban stores none; readWkb would drop them), or bytes that end early.
 */
export function geometryFromEwkbHex(hex: string): Polygon | MultiPolygon {
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length * 2 !== hex.length) throw new TubanError('INTERNAL', `geometry is not hex EWKB: ${hex.slice(0, 40)}`);
  if (bytes.length < 5) throw new TubanError('INTERNAL', 'stored geometry ends early (truncated WKB)');
  const word = bytes[0] === 1 ? bytes.readUInt32LE(1) : bytes.readUInt32BE(1);
  const code = word & 0x0fffffff;
  // Z or M: EWKB's flag bits, or ISO's type + 1000 / 2000 / 3000.
  if (word & (EWKB_Z | EWKB_M) || code >= 1000) throw new TubanError('INTERNAL', 'stored geometry has Z or M coordinates; Tuban stores 2D polygons');
  if (code !== WKB_POLYGON && code !== WKB_MULTIPOLYGON) throw new TubanError('INTERNAL', `expected a stored Polygon or MultiPolygon, got WKB type ${code}`);
  try {
    return readWkb(bytes) as Polygon | MultiPolygon;
  } catch (err) {
    // DataView reads past the end throw RangeError.
    if (err instanceof RangeError) throw new TubanError('INTERNAL', 'stored geometry ends early (truncated WKB)');
    throw err;
  }
}
