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


/** Little-endian WKB built by hand: a header (byte order, type) then counts and doubles. */
class WkbBytes {
  private parts: number[] = [];
  private kinds: ('u8' | 'u32' | 'f64')[] = [];
  head(type: number, n?: number): this { this.push('u8', 1); this.push('u32', type); if (n !== undefined) this.push('u32', n); return this; }
  points(pts: number[][]): this { this.push('u32', pts.length); for (const [x, y] of pts) { this.push('f64', x); this.push('f64', y); } return this; }
  private push(kind: 'u8' | 'u32' | 'f64', v: number): void { this.kinds.push(kind); this.parts.push(v); }
  bytes(): Uint8Array {
    const size = this.kinds.reduce((s, k) => s + (k === 'u8' ? 1 : k === 'u32' ? 4 : 8), 0);
    const v = new DataView(new ArrayBuffer(size));
    let o = 0;
    this.kinds.forEach((k, i) => {
      if (k === 'u8') { v.setUint8(o, this.parts[i]); o += 1; } else if (k === 'u32') { v.setUint32(o, this.parts[i], true); o += 4; } else { v.setFloat64(o, this.parts[i], true); o += 8; }
    });
    return new Uint8Array(v.buffer);
  }
}

/** Shoelace area of a ring. */
const ringArea = (r: number[][]) => Math.abs(r.slice(1).reduce((s, p, i) => s + r[i][0] * p[1] - p[0] * r[i][1], 0)) / 2;

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

  it('reads curved polygons (MultiSurface, CurvePolygon, CompoundCurve, CircularString) as polygons, arcs as chords', () => {
    // ArcGIS and `ogr2ogr -nlt MULTISURFACE` write polygon layers so: read as "unsupported WKB
    // geometry type 12", every feature was dropped and the zone file rejected as having no polygons.
    // A half disc of radius 100 around (500, 200): the diameter, then the arc through its top.
    const halfDisc = new WkbBytes()
      .head(10, 1) // CurvePolygon, one ring
      .head(9, 2) // CompoundCurve of two parts
      .head(2).points([[400, 200], [600, 200]]) // LineString
      .head(8).points([[600, 200], [500, 300], [400, 200]]); // CircularString
    const square = new WkbBytes().head(3, 1).points([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]);
    const ms = new WkbBytes().head(12, 2).bytes();
    const bytes = new Uint8Array([...ms, ...halfDisc.bytes(), ...square.bytes()]);
    const g = readWkb(bytes) as MultiPolygon;
    expect(g.type).toBe('MultiPolygon');
    expect(g.coordinates).toHaveLength(2);
    const ring = g.coordinates[0][0];
    expect(ring[0]).toEqual([400, 200]);
    expect(ring[ring.length - 1]).toEqual([400, 200]);
    // Every point after the diameter on the circle; the top reached; 180° in chords of at most 4°.
    for (const [x, y] of ring.slice(2)) expect(Math.hypot(x - 500, y - 200)).toBeCloseTo(100, 6);
    expect(Math.max(...ring.map((p) => p[1]))).toBeCloseTo(300, 6);
    expect(ring.length).toBeGreaterThanOrEqual(2 + 45);
    expect(ringArea(ring)).toBeGreaterThan(0.999 * (Math.PI * 100 * 100) / 2);
    expect(ringArea(ring)).toBeLessThan((Math.PI * 100 * 100) / 2);
    expect(g.coordinates[1]).toEqual([[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]);
    // A full circle (first point = last) through the opposite point.
    const circle = readWkb(new WkbBytes().head(10, 1).head(8).points([[1, 0], [-1, 0], [1, 0]]).bytes()) as Polygon;
    expect(ringArea(circle.coordinates[0])).toBeCloseTo(Math.PI, 2);
  });

  it('puts arcs at zone-prefixed Gauss-Krüger coordinates on their circle (to the micrometre), small radii too', () => {
    // The centre was solved from squared coordinates (~1.6e15 at easting 39 512 345): points up to
    // 0.44 m off a 10 m circle, 16.5 m off a 1 m one.
    const [cx, cy] = [39512345.678, 4012345.321];
    for (const r of [100, 10, 1, 0.1]) {
      for (const start of [10, 37, 123]) {
        const at = (deg: number) => [cx + r * Math.cos((deg * Math.PI) / 180), cy + r * Math.sin((deg * Math.PI) / 180)];
        const arc = [at(start), at(start + 70), at(start + 160)];
        const wkb = new WkbBytes().head(10, 1).head(9, 2).head(8).points(arc).head(2).points([arc[2], arc[0]]).bytes();
        const ring = (readWkb(wkb) as Polygon).coordinates[0];
        expect(ring.length).toBeGreaterThanOrEqual(2 + 40);
        const off = Math.max(...ring.slice(0, -1).map(([x, y]) => Math.abs(Math.hypot(x - cx, y - cy) - r)));
        expect(off, `radius ${r}, from ${start}°`).toBeLessThan(1e-6);
      }
    }
  });
});
