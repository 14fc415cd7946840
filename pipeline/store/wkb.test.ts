import type { MultiPolygon, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { geometryFromEwkbHex, wkbHex } from './wkb.js';

/** Coordinates with all 17 significant digits, a hole, and one ring with a coordinate near 0 (where 15 decimals would not round-trip). */
const square: Polygon = {
  type: 'Polygon',
  coordinates: [
    [[117.12345678901234, 36.98765432109876], [117.2, 36.98765432109876], [117.2, 37.1], [117.12345678901234, 36.98765432109876]],
    [[117.15, 37.0], [117.16, 37.0], [117.15, 3.0000000000000004e-7], [117.15, 37.0]],
  ],
};
const multi: MultiPolygon = { type: 'MultiPolygon', coordinates: [square.coordinates, [[[1, 2], [3, 4], [5, 7], [1, 2]]]] };

/** PostGIS's form of `wkb` (our little-endian WKB hex): the SRID flag set in the type word and 4326 inserted after it. */
function withSrid(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  const type = b.readUInt32LE(1) | 0x20000000;
  const head = Buffer.alloc(9);
  head.writeUInt8(1, 0);
  head.writeUInt32LE(type >>> 0, 1);
  head.writeUInt32LE(4326, 5);
  return Buffer.concat([head, b.subarray(5)]).toString('hex').toUpperCase();
}

/** The same geometry with every number big-endian (byte order 0). */
function bigEndianPolygon(p: Polygon): string {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); parts.push(b); };
  parts.push(Buffer.from([0]));
  u32(3);
  u32(p.coordinates.length);
  for (const ring of p.coordinates) {
    u32(ring.length);
    for (const [x, y] of ring) { const b = Buffer.alloc(16); b.writeDoubleBE(x, 0); b.writeDoubleBE(y, 8); parts.push(b); }
  }
  return Buffer.concat(parts).toString('hex');
}

describe('geometryFromEwkbHex', () => {
  it('reads back the very doubles written, as GeoJSON lays them out', () => {
    for (const g of [square, multi]) {
      const back = geometryFromEwkbHex(wkbHex(g));
      expect(back).toEqual(g);
      expect(Object.keys(back)).toEqual(['type', 'coordinates']); // JSON.stringify writes the same text
      expect(geometryFromEwkbHex(withSrid(wkbHex(g)))).toEqual(g);
    }
    expect(geometryFromEwkbHex(bigEndianPolygon(square))).toEqual(square);
  });

  it('refuses what a polygon column should never hold, naming the problem', () => {
    const hex = wkbHex(square);
    expect(() => geometryFromEwkbHex(hex.slice(0, -16))).toThrow(/ends early/);
    expect(() => geometryFromEwkbHex(hex.slice(0, -1))).toThrow(/not hex EWKB/);
    expect(() => geometryFromEwkbHex('0101000000000000000000f03f000000000000f03f')).toThrow(/WKB type 1/); // a point
    const z = Buffer.from(hex, 'hex');
    z.writeUInt32LE((3 | 0x80000000) >>> 0, 1);
    expect(() => geometryFromEwkbHex(z.toString('hex'))).toThrow(/Z or M/);
    z.writeUInt32LE(1003, 1);
    expect(() => geometryFromEwkbHex(z.toString('hex'))).toThrow(/Z or M/);
  });
});
