import type { MultiPolygon, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { readGpkgBlob, readWkb, writeGpkgBlob, writeWkb } from './wkb.js';

/** Big-endian ISO WKB Polygon Z (type 1003), built byte by byte. */
function bigEndianPolygonZ(ring: number[][]): Uint8Array {
  const b = new DataView(new ArrayBuffer(1 + 4 + 4 + 4 + ring.length * 24));
  let o = 0;
  b.setUint8(o, 0); o += 1;
  b.setUint32(o, 1003); o += 4;
  b.setUint32(o, 1); o += 4;
  b.setUint32(o, ring.length); o += 4;
  for (const [x, y, z] of ring) { b.setFloat64(o, x); b.setFloat64(o + 8, y); b.setFloat64(o + 16, z); o += 24; }
  return new Uint8Array(b.buffer);
}

describe('WKB and GeoPackage blobs', () => {
  it('round-trips Polygon and MultiPolygon through WKB', () => {
    const p: Polygon = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] };
    const m: MultiPolygon = { type: 'MultiPolygon', coordinates: [p.coordinates, [[[5, 5], [6, 5], [6, 6], [5, 5]]]] };
    expect(readWkb(writeWkb(p))).toEqual(p);
    expect(readWkb(writeWkb(m))).toEqual(m);
  });

  it('reads a big-endian blob without envelope holding an ISO Polygon Z, dropping Z', () => {
    const wkb = bigEndianPolygonZ([[117, 36, 50], [118, 36, 51], [118, 37, 52], [117, 36, 50]]);
    const blob = new Uint8Array(8 + wkb.length);
    blob.set([0x47, 0x50, 0, 0b0000_0000]); // big-endian header, no envelope
    new DataView(blob.buffer).setInt32(4, 4490, false);
    blob.set(wkb, 8);
    expect(readGpkgBlob(blob)).toEqual({ srsId: 4490, geometry: { type: 'Polygon', coordinates: [[[117, 36], [118, 36], [118, 37], [117, 36]]] } });
  });

  it('skips the envelope by its indicator and honours the empty flag', () => {
    const p: Polygon = { type: 'Polygon', coordinates: [[[2, 3], [4, 3], [4, 5], [2, 3]]] };
    const blob = writeGpkgBlob(p, 4326);
    const env = new DataView(blob.buffer, 8, 32);
    expect([env.getFloat64(0, true), env.getFloat64(8, true), env.getFloat64(16, true), env.getFloat64(24, true)]).toEqual([2, 4, 3, 5]);
    expect(readGpkgBlob(blob).geometry).toEqual(p);
    const empty = blob.slice(0, 8);
    empty[3] = 0b0001_0001;
    expect(readGpkgBlob(empty).geometry).toBeNull();
    expect(() => readGpkgBlob(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow(/magic/);
  });
});
