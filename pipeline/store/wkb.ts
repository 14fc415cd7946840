/**
 * Polygons as hex WKB (ISO/OGC well-known binary, little-endian, 2D) for PostGIS's
 * `ST_GeomFromWKB(decode($hex, 'hex'), 4326)`. Writing geometries this way instead of as GeoJSON
 * text stores the very same doubles (a test reads them back), but spares both sides the decimal
 * round trip: JSON.stringify of every coordinate here, and in the database parsing the batch's
 * JSON, printing each geometry back to text and parsing that again with ST_GeomFromGeoJSON.
 * 9 377 detections of a full tile: 3.6–4.5 s → 1.3–1.5 s on PGlite, 1.6–2.8 → 0.6–1.0 s on
 * PostgreSQL (2 shared cores, load ~12).
 */
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { TubanError } from '../../schemas/errors.js';

const WKB_POLYGON = 3;
const WKB_MULTIPOLYGON = 6;

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
