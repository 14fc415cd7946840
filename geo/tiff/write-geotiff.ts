/**
 * A streaming GeoTIFF writer: tiled, pixel-interleaved, deflate (+ predictor 2 for integers),
 * classic TIFF (< 4 GiB). Tiles are produced one tile-row at a time from a callback, so a
 * 10980² scene never has to be held whole; each row's tiles deflate in parallel on the libuv pool.
 * The IFD goes after the pixel data (GDAL, geotiff.js and openGeoTiff all read that layout).
 */
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import type { Grid } from '../raster.js';
import { isGeographic } from '../crs.js';
import { TubanError } from '../../schemas/errors.js';

const deflateAsync = promisify(deflate);

export type WriteDtype = 'uint8' | 'uint16' | 'float32';
export type TypedArray = Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export interface WriteGeoTiffOptions {
  /** Grid of the file; `crs` must be an 'EPSG:n' string (it becomes a GeoKey). */
  grid: Grid;
  dtype: WriteDtype;
  bandCount: number;
  /** Written as the GDAL_NODATA tag; NaN input values are written as this (or 0 if unset). */
  nodata?: number;
  /** ISO yyyy-mm-dd, written as the TIFF DateTime tag. */
  date?: string;
  /** Tile edge in pixels, a multiple of 16; default 256. */
  tileSize?: number;
  compression?: 'deflate' | 'none';
  /** One description per band ('B2', 'blue', …), written as GDAL does: GDAL_METADATA items with role="description". */
  bandDescriptions?: string[];
  /** Each band's scale and offset (null: none), written as GDAL's `-a_scale/-a_offset` do: GDAL_METADATA items with role="scale"/"offset". */
  bandScaling?: ({ scale: number; offset: number } | null)[];
  /** 'rgb': TIFF photometric RGB, the first three bands red, green, blue (as `-co PHOTOMETRIC=RGB`); default min-is-black. */
  photometric?: 'rgb' | 'minisblack';
  /** The last band is an unassociated alpha (ExtraSamples 2), as `gdalwarp -dstalpha` writes it. */
  alpha?: boolean;
  /** The IFD before the pixels, as a COG has it (a download cut short keeps its header); default after them, as GDAL's GTiff writes it. */
  ifdFirst?: boolean;
  /**
   * Band values for rows [row0, row0 + rowCount) — one array per band, row-major,
   * `grid.width * rowCount` long. Called once per tile row, in order. Integer dtypes are
   * rounded and clamped to their range.
   */
  rows: (row0: number, rowCount: number) => ArrayLike<number>[];
}

export interface WriteGeoTiffArraysOptions extends Omit<WriteGeoTiffOptions, 'rows' | 'bandCount'> {
  /** Whole bands, each `grid.width * grid.height` long. */
  bands: ArrayLike<number>[];
}

const SHORT = 3;
const LONG = 4;
const ASCII = 2;
const DOUBLE = 12;

interface Tag {
  id: number;
  type: number;
  values: number[] | string;
}

function encodeTag(tag: Tag): Buffer {
  if (typeof tag.values === 'string') return Buffer.from(`${tag.values}\0`, 'latin1');
  const size = tag.type === SHORT ? 2 : tag.type === LONG ? 4 : 8;
  const buf = Buffer.alloc(tag.values.length * size);
  tag.values.forEach((v, i) => {
    if (tag.type === SHORT) buf.writeUInt16LE(v, i * 2);
    else if (tag.type === LONG) buf.writeUInt32LE(v, i * 4);
    else buf.writeDoubleLE(v, i * 8);
  });
  return buf;
}

/** The IFD for `tags` placed at `at`, with out-of-line values right after it. */
function encodeIfd(tags: Tag[], at: number): Buffer {
  tags.sort((a, b) => a.id - b.id);
  const head = 2 + tags.length * 12 + 4;
  const entries = Buffer.alloc(head);
  const extra: Buffer[] = [];
  let extraAt = at + head;
  entries.writeUInt16LE(tags.length, 0);
  tags.forEach((tag, k) => {
    const data = encodeTag(tag);
    const count = typeof tag.values === 'string' ? data.length : tag.values.length;
    const e = 2 + k * 12;
    entries.writeUInt16LE(tag.id, e);
    entries.writeUInt16LE(tag.type, e + 2);
    entries.writeUInt32LE(count, e + 4);
    if (data.length <= 4) {
      data.copy(entries, e + 8);
    } else {
      entries.writeUInt32LE(extraAt, e + 8);
      const padded = data.length % 2 ? Buffer.concat([data, Buffer.alloc(1)]) : data;
      extra.push(padded);
      extraAt += padded.length;
    }
  });
  entries.writeUInt32LE(0, head - 4); // no next IFD
  return Buffer.concat([entries, ...extra]);
}

function epsgCode(crs: string, path: string): number {
  const m = /^EPSG:(\d+)$/.exec(crs);
  if (!m) throw new TubanError('TILE.CRS_UNSUPPORTED', `cannot write CRS '${crs}' as a GeoKey (EPSG codes only)`, path);
  return Number(m[1]);
}

function geoTags(grid: Grid, path: string): Tag[] {
  const code = epsgCode(grid.crs, path);
  const geographic = isGeographic(grid.crs);
  const keys = [
    [1024, 0, 1, geographic ? 2 : 1], // GTModelType
    [1025, 0, 1, 1], // GTRasterType = PixelIsArea
    geographic ? [2048, 0, 1, code] : [3072, 0, 1, code],
  ];
  const tags: Tag[] = [{ id: 34735, type: SHORT, values: [1, 1, 0, keys.length, ...keys.flat()] }];
  const [t0, t1, t2, t3, t4, t5] = grid.transform;
  if (t2 === 0 && t4 === 0) {
    tags.push({ id: 33550, type: DOUBLE, values: [t1, -t5, 0] });
    tags.push({ id: 33922, type: DOUBLE, values: [0, 0, 0, t0, t3, 0] });
  } else {
    tags.push({ id: 34264, type: DOUBLE, values: [t1, t2, 0, t0, t4, t5, 0, t3, 0, 0, 0, 0, 0, 0, 0, 1] });
  }
  return tags;
}

const RANGE: Record<WriteDtype, [number, number] | null> = { uint8: [0, 255], uint16: [0, 65535], float32: null };

/** Write a tiled GeoTIFF, pulling band values one tile row at a time from `opts.rows`. */
export async function writeGeoTiff(path: string, opts: WriteGeoTiffOptions): Promise<void> {
  const { grid, dtype, bandCount: spp } = opts;
  const { width, height } = grid;
  const ts = opts.tileSize ?? 256;
  if (ts % 16 !== 0 || ts <= 0) throw new TubanError('INTERNAL', `tileSize ${ts} must be a positive multiple of 16`, path);
  if (!(spp >= 1) || !(width >= 1) || !(height >= 1)) throw new TubanError('INTERNAL', 'empty raster', path);
  const compress = (opts.compression ?? 'deflate') === 'deflate';
  const integer = dtype !== 'float32';
  const predictor = compress && integer ? 2 : 1;
  const range = RANGE[dtype];
  const fill = opts.nodata ?? 0;
  const nx = Math.ceil(width / ts);
  const ny = Math.ceil(height / ts);
  const offsets: number[] = [];
  const counts: number[] = [];
  const make = (n: number): TypedArray => (dtype === 'uint8' ? new Uint8Array(n) : dtype === 'uint16' ? new Uint16Array(n) : new Float32Array(n));
  const geo = geoTags(grid, path); // validate the CRS before creating the file
  if (opts.date && !/^\d{4}-\d{2}-\d{2}$/.test(opts.date)) throw new TubanError('INTERNAL', `date '${opts.date}' is not yyyy-mm-dd`, path);
  const rgb = opts.photometric === 'rgb';
  if (rgb && spp < 3) throw new TubanError('INTERNAL', `photometric RGB needs 3 bands or more, got ${spp}`, path);
  const tagsFor = (offsets: number[], counts: number[]): Tag[] => {
    const bits = dtype === 'uint8' ? 8 : dtype === 'uint16' ? 16 : 32;
    const tags: Tag[] = [
      { id: 256, type: LONG, values: [width] },
      { id: 257, type: LONG, values: [height] },
      { id: 258, type: SHORT, values: Array(spp).fill(bits) },
      { id: 259, type: SHORT, values: [compress ? 8 : 1] },
      { id: 262, type: SHORT, values: [rgb ? 2 : 1] }, // RGB or min-is-black
      { id: 277, type: SHORT, values: [spp] },
      { id: 284, type: SHORT, values: [1] }, // chunky
      { id: 317, type: SHORT, values: [predictor] },
      { id: 322, type: LONG, values: [ts] },
      { id: 323, type: LONG, values: [ts] },
      { id: 324, type: LONG, values: offsets },
      { id: 325, type: LONG, values: counts },
      { id: 339, type: SHORT, values: Array(spp).fill(integer ? 1 : 3) },
      ...geo,
    ];
    const extra = spp - (rgb ? 3 : 1);
    if (extra > 0) tags.push({ id: 338, type: SHORT, values: Array.from({ length: extra }, (_, k) => (opts.alpha && k === extra - 1 ? 2 : 0)) }); // unspecified extra samples, or alpha last
    if (opts.date) {
      const [y, m, d] = opts.date.split('-');
      tags.push({ id: 306, type: ASCII, values: `${y}:${m}:${d} 00:00:00` });
    }
    if (opts.nodata !== undefined) tags.push({ id: 42113, type: ASCII, values: String(opts.nodata) });
    const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const items = [
      ...(opts.bandDescriptions ?? []).map((d, k) => `<Item name="DESCRIPTION" sample="${k}" role="description">${esc(d)}</Item>`),
      ...(opts.bandScaling ?? []).flatMap((s, k) => (s ? [`<Item name="OFFSET" sample="${k}" role="offset">${s.offset}</Item>`, `<Item name="SCALE" sample="${k}" role="scale">${s.scale}</Item>`] : [])),
    ];
    if (items.length) tags.push({ id: 42112, type: ASCII, values: `<GDALMetadata>${items.join('')}</GDALMetadata>` });
    return tags;
  };

  const fh = await open(path, 'w');
  try {
    const header = Buffer.alloc(8);
    header.write('II', 0, 'latin1');
    header.writeUInt16LE(42, 2);
    await fh.write(header, 0, 8, 0);
    // The IFD's size does not depend on the offsets it lists: reserve it ahead of the pixels.
    const chunks = Array(nx * ny).fill(0);
    let pos = opts.ifdFirst ? 8 + encodeIfd(tagsFor(chunks, chunks), 8).length : 8;
    if (pos % 2) pos += 1;
    for (let ty = 0; ty < ny; ty++) {
      const row0 = ty * ts;
      const rowCount = Math.min(ts, height - row0);
      const bands = opts.rows(row0, rowCount);
      if (bands.length < spp) throw new TubanError('INTERNAL', `rows() gave ${bands.length} bands, expected ${spp}`, path);
      for (let b = 0; b < spp; b++) {
        if (bands[b].length < width * rowCount) throw new TubanError('INTERNAL', `rows() band ${b} has ${bands[b].length} values, expected ${width * rowCount}`, path);
      }
      const tiles: Promise<Buffer>[] = [];
      for (let tx = 0; tx < nx; tx++) {
        const tile = make(ts * ts * spp);
        if (fill !== 0) tile.fill(fill);
        const col0 = tx * ts;
        const w = Math.min(ts, width - col0);
        for (let b = 0; b < spp; b++) {
          const src = bands[b];
          for (let r = 0; r < rowCount; r++) {
            let i = (r * ts) * spp + b;
            let s = r * width + col0;
            for (let c = 0; c < w; c++, i += spp, s++) {
              let v = src[s];
              if (v !== v) v = fill;
              else if (range) v = v < range[0] ? range[0] : v > range[1] ? range[1] : Math.round(v);
              tile[i] = v;
            }
          }
        }
        if (predictor === 2) {
          for (let r = 0; r < ts; r++) {
            const start = r * ts * spp;
            for (let i = start + ts * spp - 1; i >= start + spp; i--) tile[i] -= tile[i - spp];
          }
        }
        const raw = Buffer.from(tile.buffer, tile.byteOffset, tile.byteLength);
        tiles.push(compress ? deflateAsync(raw, { level: 6 }) : Promise.resolve(raw));
      }
      for (const data of await Promise.all(tiles)) {
        if (pos + data.length > 0xffffffff) throw new TubanError('RASTER.TOO_LARGE', 'output would exceed 4 GiB (classic TIFF); split the grid', path);
        offsets.push(pos);
        counts.push(data.length);
        await fh.write(data, 0, data.length, pos);
        pos += data.length;
      }
    }
    if (pos % 2) pos += 1; // IFD on a word boundary
    const at = opts.ifdFirst ? 8 : pos;
    const ifd = encodeIfd(tagsFor(offsets, counts), at);
    if (at + ifd.length > 0xffffffff) {
      throw new TubanError('RASTER.TOO_LARGE', `output would exceed 4 GiB (classic TIFF); write smaller tiles of the grid`, path);
    }
    await fh.write(ifd, 0, ifd.length, at);
    const ptr = Buffer.alloc(4);
    ptr.writeUInt32LE(at, 0);
    await fh.write(ptr, 0, 4, 4);
  } finally {
    await fh.close();
  }
}

/** Convenience: write whole in-memory bands (each `grid.width * grid.height` long). */
export async function writeGeoTiffArrays(path: string, opts: WriteGeoTiffArraysOptions): Promise<void> {
  const { bands, ...rest } = opts;
  const w = opts.grid.width;
  const slice = (b: ArrayLike<number>, a: number, z: number): ArrayLike<number> =>
    'subarray' in b && typeof (b as TypedArray).subarray === 'function' ? (b as TypedArray).subarray(a, z) : Array.prototype.slice.call(b, a, z);
  await writeGeoTiff(path, { ...rest, bandCount: bands.length, rows: (row0, n) => bands.map((b) => slice(b, row0 * w, (row0 + n) * w)) });
}
