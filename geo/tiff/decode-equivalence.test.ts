/**
 * The reader's decode against geotiff.js on files written here byte by byte (a minimal TIFF encoder,
 * so the layouts the project's writer never makes are covered): predictors 1, 2 and 3, 8/16-bit
 * unsigned and signed and 32/64-bit float samples, 1–6 interleaved or planar samples, tiles of sizes
 * that are not multiples of 16 with partial tiles at the right and bottom edges, strips with a short
 * last strip, nodata. Every window is compared bit for bit (as Float32, NaN at nodata) with
 * geotiff.js's `readRasters` of the same window, read both into plain arrays and, strip by strip
 * with halo rows, into SharedArrayBuffers (the inflate workers' direct path with its chunk cache).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { fromFile } from 'geotiff';
import { describe, expect, it } from 'vitest';
import type { Window } from '../raster.js';
import { openGeoTiff } from './open-geotiff.js';

type Dtype = 'uint8' | 'uint16' | 'int16' | 'float32' | 'float64';
type Values = Uint8Array | Uint16Array | Int16Array | Float32Array | Float64Array;

interface Layout {
  width: number;
  height: number;
  spp: number;
  dtype: Dtype;
  predictor: 1 | 2 | 3;
  planar: 1 | 2;
  /** [width, height] of a tile; absent: strips of `rowsPerStrip` rows. */
  tile?: [number, number];
  rowsPerStrip?: number;
  compression: 1 | 8;
  nodata?: number;
}

const FORMAT: Record<Dtype, { bps: number; sampleFormat: number; make: (n: number) => Values }> = {
  uint8: { bps: 1, sampleFormat: 1, make: (n) => new Uint8Array(n) },
  uint16: { bps: 2, sampleFormat: 1, make: (n) => new Uint16Array(n) },
  int16: { bps: 2, sampleFormat: 2, make: (n) => new Int16Array(n) },
  float32: { bps: 4, sampleFormat: 3, make: (n) => new Float32Array(n) },
  float64: { bps: 8, sampleFormat: 3, make: (n) => new Float64Array(n) },
};

/** Seeded pseudo-random numbers in [0, 1) (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One band of `dtype` values over the whole range (smooth plus noise, so the predictors matter), some equal to `nodata`. */
function band(n: number, width: number, dtype: Dtype, seed: number, nodata: number | undefined): Values {
  const rnd = random(seed);
  const out = FORMAT[dtype].make(n);
  for (let i = 0; i < n; i++) {
    const smooth = Math.sin((i % width) / 7 + seed) + Math.cos(Math.floor(i / width) / 5);
    const u = rnd();
    if (dtype === 'uint8') out[i] = (128 + smooth * 50 + u * 70) | 0;
    else if (dtype === 'uint16') out[i] = (30000 + smooth * 12000 + u * 30000) | 0;
    else if (dtype === 'int16') out[i] = (smooth * 12000 + (u - 0.5) * 40000) | 0;
    else out[i] = smooth * 1e3 + (u - 0.5) * 1e-2;
    if (nodata !== undefined && u < 0.01) out[i] = nodata;
    else if (dtype.startsWith('float') && u > 0.995) out[i] = NaN;
  }
  return out;
}

/** The chunk's bytes as stored: samples laid out, predictor applied (rows of `cw` pixels), maybe deflated. */
function encodeChunk(layout: Layout, bands: Values[], samples: number[], x0: number, y0: number, cw: number, ch: number): Buffer {
  const { width, height, dtype, predictor } = layout;
  const { bps } = FORMAT[dtype];
  const k = samples.length;
  const vals = FORMAT[dtype].make(cw * ch * k); // padding stays 0
  for (let y = 0; y < ch && y0 + y < height; y++) {
    for (let x = 0; x < cw && x0 + x < width; x++) {
      for (let s = 0; s < k; s++) vals[(y * cw + x) * k + s] = bands[samples[s]][(y0 + y) * width + x0 + x];
    }
  }
  let bytes = new Uint8Array(vals.buffer);
  const n = cw * k;
  if (predictor === 2) {
    // On the samples' bit patterns, floats' too (libtiff's horizontal differencing of 32-bit words).
    const u = bps === 1 ? bytes : bps === 2 ? new Uint16Array(vals.buffer) : new Uint32Array(vals.buffer);
    for (let y = 0; y < ch; y++) for (let i = y * n + n - 1; i >= y * n + k; i--) u[i] = u[i] - u[i - k];
  } else if (predictor === 3) {
    const out = new Uint8Array(bytes.length);
    const rowBytes = n * bps;
    for (let y = 0; y < ch; y++) {
      const base = y * rowBytes;
      // Byte planes, most significant first, then each byte differenced from the one `k` (samples
      // per pixel) before it, as libtiff's fpDiff does.
      for (let i = 0; i < n; i++) for (let b = 0; b < bps; b++) out[base + b * n + i] = bytes[base + i * bps + (bps - 1 - b)];
      for (let j = base + rowBytes - 1; j >= base + k; j--) out[j] = (out[j] - out[j - k]) & 0xff;
    }
    bytes = out;
  }
  return layout.compression === 8 ? deflateSync(bytes) : Buffer.from(bytes);
}

/** A classic little-endian TIFF with GeoKeys (EPSG:32650), the IFD after the pixel data. */
function encodeTiff(layout: Layout, bands: Values[]): Buffer {
  const { width, height, spp, planar, tile } = layout;
  const cw = tile ? tile[0] : width;
  const chFull = tile ? tile[1] : layout.rowsPerStrip!;
  const nx = Math.ceil(width / cw);
  const ny = Math.ceil(height / chFull);
  const chunks: Buffer[] = [];
  const groups = planar === 2 ? Array.from({ length: spp }, (_, s) => [s]) : [Array.from({ length: spp }, (_, s) => s)];
  for (const samples of groups) {
    for (let ty = 0; ty < ny; ty++) {
      for (let tx = 0; tx < nx; tx++) {
        // Tiles are always whole (padded); the last strip holds only the rows that exist.
        const ch = tile ? chFull : Math.min(chFull, height - ty * chFull);
        chunks.push(encodeChunk(layout, bands, samples, tx * cw, ty * chFull, cw, ch));
      }
    }
  }
  const offsets: number[] = [];
  let pos = 8;
  for (const c of chunks) {
    offsets.push(pos);
    pos += c.length;
  }
  if (pos % 2) pos++;
  const { bps, sampleFormat } = FORMAT[layout.dtype];
  type Tag = [id: number, type: 3 | 4 | 12 | 2, values: number[] | string];
  const tags: Tag[] = [
    [256, 4, [width]],
    [257, 4, [height]],
    [258, 3, Array(spp).fill(bps * 8)],
    [259, 3, [layout.compression]],
    [262, 3, [1]],
    [277, 3, [spp]],
    [284, 3, [planar]],
    [317, 3, [layout.predictor]],
    [339, 3, Array(spp).fill(sampleFormat)],
    [33550, 12, [10, 10, 0]],
    [33922, 12, [0, 0, 0, 500000, 4000000, 0]],
    [34735, 3, [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32650]],
  ];
  if (tile) tags.push([322, 4, [tile[0]]], [323, 4, [tile[1]]], [324, 4, offsets], [325, 4, chunks.map((c) => c.length)]);
  else tags.push([273, 4, offsets], [278, 4, [chFull]], [279, 4, chunks.map((c) => c.length)]);
  if (spp > 1) tags.push([338, 3, Array(spp - 1).fill(0)]);
  if (layout.nodata !== undefined) tags.push([42113, 2, String(layout.nodata)]);
  tags.sort((a, b) => a[0] - b[0]);
  const payload = (t: Tag): Buffer => {
    if (typeof t[2] === 'string') return Buffer.from(`${t[2]}\0`, 'latin1');
    const size = t[1] === 3 ? 2 : t[1] === 4 ? 4 : 8;
    const b = Buffer.alloc(t[2].length * size);
    t[2].forEach((v, i) => (t[1] === 3 ? b.writeUInt16LE(v, i * 2) : t[1] === 4 ? b.writeUInt32LE(v, i * 4) : b.writeDoubleLE(v, i * 8)));
    return b;
  };
  const ifdSize = 2 + tags.length * 12 + 4;
  const ifd = Buffer.alloc(ifdSize);
  const extra: Buffer[] = [];
  let extraPos = pos + ifdSize;
  ifd.writeUInt16LE(tags.length, 0);
  tags.forEach((t, i) => {
    const p = payload(t);
    const at = 2 + i * 12;
    ifd.writeUInt16LE(t[0], at);
    ifd.writeUInt16LE(t[1], at + 2);
    ifd.writeUInt32LE(typeof t[2] === 'string' ? p.length : t[2].length, at + 4);
    if (p.length <= 4) p.copy(ifd, at + 8);
    else {
      ifd.writeUInt32LE(extraPos, at + 8);
      extra.push(p);
      extraPos += p.length + (p.length % 2);
      if (p.length % 2) extra.push(Buffer.alloc(1));
    }
  });
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(pos, 4);
  const body = Buffer.concat([header, ...chunks]);
  return Buffer.concat([body, Buffer.alloc(pos - body.length), ifd, ...extra]);
}

const LAYOUTS: Array<[string, Layout]> = [
  ['uint16 × 4, predictor 2, 40×24 tiles', { width: 101, height: 67, spp: 4, dtype: 'uint16', predictor: 2, planar: 1, tile: [40, 24], compression: 8, nodata: 0 }],
  ['uint16 × 6, predictor 2, 37×23 tiles', { width: 90, height: 50, spp: 6, dtype: 'uint16', predictor: 2, planar: 1, tile: [37, 23], compression: 8, nodata: 0 }],
  ['uint16 × 4, predictor 2, no nodata, 33×17 tiles', { width: 77, height: 40, spp: 4, dtype: 'uint16', predictor: 2, planar: 1, tile: [33, 17], compression: 8 }],
  ['uint16 × 5, predictor 2, nodata 65535', { width: 64, height: 37, spp: 5, dtype: 'uint16', predictor: 2, planar: 1, tile: [29, 31], compression: 8, nodata: 65535 }],
  ['uint16 × 8, predictor 2, nodata no sample can hold', { width: 45, height: 26, spp: 8, dtype: 'uint16', predictor: 2, planar: 1, rowsPerStrip: 5, compression: 8, nodata: -3 }],
  ['int16 × 3, predictor 2, negative nodata', { width: 75, height: 41, spp: 3, dtype: 'int16', predictor: 2, planar: 1, tile: [32, 16], compression: 8, nodata: -9999 }],
  ['uint8 × 1, predictor 2, strips of 7 rows', { width: 53, height: 45, spp: 1, dtype: 'uint8', predictor: 2, planar: 1, rowsPerStrip: 7, compression: 8, nodata: 255 }],
  ['uint8 × 3, predictor 2, no nodata', { width: 61, height: 33, spp: 3, dtype: 'uint8', predictor: 2, planar: 1, tile: [16, 16], compression: 8 }],
  ['uint16 × 3 planar, predictor 2', { width: 70, height: 39, spp: 3, dtype: 'uint16', predictor: 2, planar: 2, tile: [48, 20], compression: 8, nodata: 0 }],
  ['float32 × 2, predictor 3, NaNs and nodata', { width: 66, height: 35, spp: 2, dtype: 'float32', predictor: 3, planar: 1, tile: [24, 24], compression: 8, nodata: -1 }],
  ['float32 × 2, predictor 2 (GDAL writes it for floats too), nodata', { width: 52, height: 30, spp: 2, dtype: 'float32', predictor: 2, planar: 1, tile: [24, 16], compression: 8, nodata: -9999 }],
  ['float64 × 1, predictor 3, strips', { width: 47, height: 29, spp: 1, dtype: 'float64', predictor: 3, planar: 1, rowsPerStrip: 6, compression: 8 }],
  ['uint16 × 2, uncompressed', { width: 58, height: 31, spp: 2, dtype: 'uint16', predictor: 1, planar: 1, tile: [32, 32], compression: 1, nodata: 0 }],
  ['float32 × 3, predictor 1', { width: 44, height: 27, spp: 3, dtype: 'float32', predictor: 1, planar: 1, tile: [16, 32], compression: 8 }],
];

const dir = mkdtempSync(join(tmpdir(), 'tuban-decode-eq-'));

/** geotiff.js's values for the window as the reader's contract has them: Float32, NaN outside the raster, at nodata and NaN. */
async function reference(path: string, layout: Layout, win: Window, samples: number[]): Promise<Float32Array[]> {
  const file = await fromFile(path);
  try {
    const img = await file.getImage(0);
    const x0 = Math.max(0, win.col), y0 = Math.max(0, win.row);
    const x1 = Math.min(layout.width, win.col + win.width), y1 = Math.min(layout.height, win.row + win.height);
    const data = (await img.readRasters({ window: [x0, y0, x1, y1], samples, interleave: false })) as unknown as ArrayLike<number>[];
    const nd = layout.nodata === undefined ? undefined : layout.dtype === 'float32' ? Math.fround(layout.nodata) : layout.nodata;
    return data.map((src) => {
      const out = new Float32Array(win.width * win.height).fill(NaN);
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const v = src[(y - y0) * (x1 - x0) + (x - x0)];
          out[(y - win.row) * win.width + (x - win.col)] = v === nd ? NaN : v;
        }
      }
      return out;
    });
  } finally {
    await file.close();
  }
}

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('the reader decodes every layout exactly as geotiff.js', () => {
  for (const [name, layout] of LAYOUTS) {
    it(name, async () => {
      const bands = Array.from({ length: layout.spp }, (_, s) => band(layout.width * layout.height, layout.width, layout.dtype, 17 + s, layout.nodata));
      const path = join(dir, `${name.replace(/\W+/g, '-')}.tif`);
      writeFileSync(path, encodeTiff(layout, bands));
      const all = Array.from({ length: layout.spp }, (_, s) => s);
      // All samples in order, a reversed subset, and one sample alone.
      const sampleSets = [all, all.slice().reverse().filter((_, i) => i % 2 === 0), [layout.spp - 1]];
      const { width: w, height: h } = layout;
      const windows: Window[] = [
        { col: 0, row: 0, width: w, height: h },
        { col: 5, row: 3, width: w - 11, height: h - 7 },
        { col: -4, row: h - 9, width: 17, height: 15 }, // over the left and bottom edges
        { col: w - 13, row: -2, width: 20, height: 9 }, // over the right and top edges
      ];
      const f = await openGeoTiff(path);
      try {
        expect([f.samplesPerPixel, f.dtype]).toEqual([layout.spp, layout.dtype]);
        for (const samples of sampleSets) {
          for (const win of windows) {
            const want = await reference(path, layout, win, samples);
            const info: { nan?: boolean } = {};
            const got = await f.readWindow(win, samples, undefined, info);
            for (let k = 0; k < samples.length; k++) expect(bits(got[k]).equals(bits(want[k])), `${JSON.stringify(win)} sample ${samples[k]}`).toBe(true);
            expect(info.nan).toBe(want.some((a) => a.some((v) => Number.isNaN(v))));
          }
          // Strips of 9 rows with 2 halo rows into shared memory: chunks read in parts, by several strips.
          const slot = samples.map(() => new Float32Array(new SharedArrayBuffer(w * 13 * 4)));
          for (let row = 0; row < h; row += 9) {
            const top = Math.max(0, row - 2);
            const win = { col: 0, row: top, width: w, height: Math.min(h, row + 11) - top };
            const want = await reference(path, layout, win, samples);
            const got = await f.readWindow(win, samples, slot);
            for (let k = 0; k < samples.length; k++) expect(bits(got[k]).equals(bits(want[k])), `strip ${row} sample ${samples[k]}`).toBe(true);
          }
        }
      } finally {
        await f.close();
      }
    });
  }
});
