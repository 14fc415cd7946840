/**
 * A minimal ESRI Shapefile writer (polygons only; .shp/.shx/.dbf/.prj/.cpg) for test fixtures and
 * hand-off to desktop GIS. Coordinates are written as given, in the CRS the `prjWkt` describes;
 * outer rings are written clockwise and holes counter-clockwise, as the format requires.
 */
import { writeFile } from 'node:fs/promises';
import type { MultiPolygon, Polygon, Position } from 'geojson';

export interface ShapefileFeature {
  geometry: Polygon | MultiPolygon;
  /** Strings become C fields (UTF-8, .cpg says so), numbers N fields; field names are cut to 10 bytes. */
  properties: Record<string, string | number | null>;
}

function signedArea(r: Position[]): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] - r[i][0]) * (r[j][1] + r[i][1]);
  return a / 2; // > 0 for clockwise in x-right/y-up axes
}

function orient(r: Position[], clockwise: boolean): Position[] {
  return signedArea(r) > 0 === clockwise ? r : [...r].reverse();
}

/** Write `<base>.shp/.shx/.dbf/.cpg` and, when `prjWkt` is given, `<base>.prj`. `base` has no extension. */
export async function writeShapefile(base: string, features: ShapefileFeature[], prjWkt?: string): Promise<void> {
  const records = features.map((f) => {
    const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    return polys.flatMap((p) => p.map((r, i) => orient(r, i === 0)));
  });
  const all = records.flat(2);
  const bbox = [Math.min(...all.map((p) => p[0])), Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[0])), Math.max(...all.map((p) => p[1]))];
  const contentLen = records.map((rings) => 44 + 4 * rings.length + 16 * rings.reduce((s, r) => s + r.length, 0));
  const shpLen = 100 + contentLen.reduce((s, n) => s + 8 + n, 0);
  const header = (len: number): Buffer => {
    const h = Buffer.alloc(100);
    h.writeInt32BE(9994, 0);
    h.writeInt32BE(len / 2, 24);
    h.writeInt32LE(1000, 28);
    h.writeInt32LE(5, 32);
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
    const pts = rings.flat();
    shp.writeInt32LE(5, o);
    [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))].forEach((v, i) =>
      shp.writeDoubleLE(v, o + 4 + 8 * i),
    );
    shp.writeInt32LE(rings.length, o + 36);
    shp.writeInt32LE(pts.length, o + 40);
    o += 44;
    let start = 0;
    for (const r of rings) { shp.writeInt32LE(start, o); o += 4; start += r.length; }
    for (const p of pts) { shp.writeDoubleLE(p[0], o); shp.writeDoubleLE(p[1], o + 8); o += 16; }
  });

  const keys = [...new Set(features.flatMap((f) => Object.keys(f.properties)))];
  const fields = keys.map((k) => {
    const vals = features.map((f) => f.properties[k]).filter((v) => v !== null && v !== undefined);
    const numeric = vals.length > 0 && vals.every((v) => typeof v === 'number');
    const text = vals.map((v) => (typeof v === 'number' ? String(v) : Buffer.from(String(v), 'utf8').toString('latin1')));
    const len = Math.min(254, Math.max(1, ...text.map((t) => t.length)));
    return { key: k, type: numeric ? 'N' : 'C', len, dec: numeric && vals.some((v) => !Number.isInteger(v)) ? Math.min(15, Math.max(...text.map((t) => (t.split('.')[1] ?? '').length))) : 0 };
  });
  const recLen = 1 + fields.reduce((s, f) => s + f.len, 0);
  const headLen = 32 + 32 * fields.length + 1;
  const dbf = Buffer.alloc(headLen + recLen * features.length + 1, 0x20);
  dbf.fill(0, 0, headLen);
  dbf[0] = 3;
  dbf[1] = 124; dbf[2] = 1; dbf[3] = 1;
  dbf.writeUInt32LE(features.length, 4);
  dbf.writeUInt16LE(headLen, 8);
  dbf.writeUInt16LE(recLen, 10);
  fields.forEach((f, i) => {
    const d = 32 + 32 * i;
    Buffer.from(f.key, 'utf8').subarray(0, 10).copy(dbf, d);
    dbf.write(f.type, d + 11, 'latin1');
    dbf[d + 16] = f.len;
    dbf[d + 17] = f.dec;
  });
  dbf[headLen - 1] = 0x0d;
  features.forEach((feat, k) => {
    let p = headLen + recLen * k + 1;
    for (const f of fields) {
      const v = feat.properties[f.key];
      const s = v === null || v === undefined ? Buffer.alloc(0) : Buffer.from(f.type === 'N' ? String(v).padStart(f.len) : String(v), 'utf8');
      s.subarray(0, f.len).copy(dbf, p);
      p += f.len;
    }
  });
  dbf[dbf.length - 1] = 0x1a;

  await writeFile(`${base}.shp`, shp);
  await writeFile(`${base}.shx`, shx);
  await writeFile(`${base}.dbf`, dbf);
  await writeFile(`${base}.cpg`, 'UTF-8');
  if (prjWkt) await writeFile(`${base}.prj`, prjWkt);
}
