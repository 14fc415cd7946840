import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TileInfo } from '../../geo/tile-reader.js';
import { TileSource } from './tile-source.js';

/**
 * A GeoTIFF with a full image and one internal overview, written by hand (no GDAL here):
 * 3 uint16 samples, uncompressed, one strip per image, UTM 50N. The full image holds 1000 + x,
 * the overview a constant 7777 — so a reader that returns 7777 read the overview, not the image.
 */
function tiffWithOverview(size: number, ovSize: number, extra?: { size: number; sub: number }): Buffer {
  const SHORT = 3, LONG = 4, DOUBLE = 12;
  type Tag = [id: number, type: number, values: number[]];
  const images = [
    { w: size, h: size, sub: 0, value: (x: number) => 1000 + x },
    { w: ovSize, h: ovSize, sub: 1, value: () => 7777 },
    // A third directory, 5555 throughout: NewSubfileType 4 (a mask, as GDAL's internal mask or a COG's)
    // or 0 (another page of a multi-page file).
    ...(extra ? [{ w: extra.size, h: extra.size, sub: extra.sub, value: () => 5555 }] : []),
  ];
  const chunks: Buffer[] = [];
  let offset = 8;
  const put = (b: Buffer): number => {
    const at = offset;
    chunks.push(b);
    offset += b.length + (b.length % 2);
    if (b.length % 2) chunks.push(Buffer.alloc(1));
    return at;
  };
  const ifdOffsets: number[] = [];
  const ifds: Tag[][] = [];
  for (const im of images) {
    const px = Buffer.alloc(im.w * im.h * 3 * 2);
    for (let y = 0; y < im.h; y++) for (let x = 0; x < im.w; x++) for (let s = 0; s < 3; s++) px.writeUInt16LE(im.value(x), ((y * im.w + x) * 3 + s) * 2);
    const strip = put(px);
    const tags: Tag[] = [
      [254, LONG, [im.sub]], [256, SHORT, [im.w]], [257, SHORT, [im.h]], [258, SHORT, [16, 16, 16]], [259, SHORT, [1]],
      [262, SHORT, [2]], [273, LONG, [strip]], [277, SHORT, [3]], [278, SHORT, [im.h]], [279, LONG, [px.length]], [284, SHORT, [1]], [339, SHORT, [1, 1, 1]],
    ];
    if (im.sub === 0) {
      tags.push([33550, DOUBLE, [10, 10, 0]], [33922, DOUBLE, [0, 0, 0, 500000, 4060000, 0]], [34735, SHORT, [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32650]]);
    }
    ifds.push(tags);
  }
  // IFDs after the pixel data; values longer than 4 bytes just before each IFD.
  for (const tags of ifds) {
    const extra: Buffer[] = [];
    const entries = Buffer.alloc(2 + tags.length * 12 + 4);
    entries.writeUInt16LE(tags.length, 0);
    const size = (t: number) => (t === SHORT ? 2 : t === LONG ? 4 : 8);
    let valuesAt = offset;
    const blobs: { tag: Tag; at: number }[] = [];
    for (const tag of tags) {
      const bytes = size(tag[1]) * tag[2].length;
      if (bytes > 4) {
        const b = Buffer.alloc(bytes);
        tag[2].forEach((v, i) => (tag[1] === SHORT ? b.writeUInt16LE(v, i * 2) : tag[1] === LONG ? b.writeUInt32LE(v, i * 4) : b.writeDoubleLE(v, i * 8)));
        blobs.push({ tag, at: valuesAt });
        extra.push(b);
        valuesAt += b.length;
      }
    }
    for (const b of extra) put(b);
    tags.forEach((tag, i) => {
      const o = 2 + i * 12;
      entries.writeUInt16LE(tag[0], o);
      entries.writeUInt16LE(tag[1], o + 2);
      entries.writeUInt32LE(tag[2].length, o + 4);
      const blob = blobs.find((x) => x.tag === tag);
      if (blob) entries.writeUInt32LE(blob.at, o + 8);
      else if (tag[1] === SHORT) tag[2].forEach((v, k) => entries.writeUInt16LE(v, o + 8 + k * 2));
      else entries.writeUInt32LE(tag[2][0], o + 8);
    });
    ifdOffsets.push(put(entries));
  }
  // Chain the IFDs: header → IFD0 → IFD1 (→ IFD2) → 0.
  const file = Buffer.concat(chunks);
  const header = Buffer.from([0x49, 0x49, 42, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(ifdOffsets[0], 4);
  const whole = Buffer.concat([header, file]);
  const nextOf = (ifdAt: number, n: number) => ifdAt + 2 + n * 12;
  for (let k = 0; k + 1 < ifdOffsets.length; k++) whole.writeUInt32LE(ifdOffsets[k + 1], nextOf(ifdOffsets[k], ifds[k].length));
  return whole;
}

describe('internal TIFF overviews', () => {
  let dir: string;
  let info: TileInfo;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-ovr-'));
    const path = join(dir, 'S2_20261008_ovr.tif');
    await writeFile(path, tiffWithOverview(64, 16));
    const grid = { width: 64, height: 64, crs: 'EPSG:32650', transform: [500000, 10, 0, 4060000, 0, -10] as const };
    info = {
      id: 'ovr', files: [path], grid, date: '2026-10-08', dtype: 'uint16', nodata: null,
      bands: { blue: { file: path, sample: 0 }, green: { file: path, sample: 1 }, red: { file: path, sample: 2 } },
      footprint: { type: 'Polygon', coordinates: [[[117, 36], [117.01, 36], [117.01, 36.01], [117, 36.01], [117, 36]]] },
    };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file overview instead of decimating the full image when it is fine enough', async () => {
    const src = new TileSource(info, { maxOverviewSide: 16 });
    const ov = await src.overview();
    expect(ov.factor).toBe(4);
    expect(ov.fromFile).toBe(true);
    expect(ov.bands[0][0]).toBe(7777);
    expect(ov.valid.every((v) => v === 1)).toBe(true);
    await src.close();
  });

  it('decimates the full image when the file overview is too coarse for the target', async () => {
    // 64 px at most 32 wide: factor 2 needs a 32 px overview; the file's is 16 px.
    const src = new TileSource(info, { maxOverviewSide: 32 });
    const ov = await src.overview();
    expect(ov.fromFile).toBe(false);
    expect(ov.bands[0][0]).toBeCloseTo(1000.5, 5); // mean of x = 0 and 1
    await src.close();
  });
});

/** The 32 px overview of a 64 px file whose third directory is `extra` (16 px reduced image before it). */
async function overviewBeside(name: string, extra: { size: number; sub: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'tuban-ovr-third-'));
  try {
    const path = join(dir, `S2_20261008_${name}.tif`);
    await writeFile(path, tiffWithOverview(64, 16, extra));
    const grid = { width: 64, height: 64, crs: 'EPSG:32650', transform: [500000, 10, 0, 4060000, 0, -10] as const };
    const info: TileInfo = {
      id: name, files: [path], grid, date: '2026-10-08', dtype: 'uint16', nodata: null,
      bands: { blue: { file: path, sample: 0 }, green: { file: path, sample: 1 }, red: { file: path, sample: 2 } },
      footprint: { type: 'Polygon', coordinates: [[[117, 36], [117.01, 36], [117.01, 36.01], [117, 36.01], [117, 36]]] },
    };
    const src = new TileSource(info, { maxOverviewSide: 32 });
    try {
      return await src.overview();
    } finally {
      await src.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('a mask directory among the overviews', () => {
  it('is never read as an overview (its 0/1 were drawn as the red band)', async () => {
    // 32 px wide: only the mask's directory is that fine among the reduced ones; the full image is decimated instead.
    const ov = await overviewBeside('mask', { size: 32, sub: 4 });
    expect(ov.fromFile).toBe(false);
    expect(ov.bands[0][0]).toBeCloseTo(1000.5, 5);
  });
});

describe('another page of a multi-page file', () => {
  it('is no overview of the first (its pixels were drawn for the first page\'s)', async () => {
    const ov = await overviewBeside('pages', { size: 32, sub: 0 });
    expect(ov.fromFile).toBe(false);
    expect(ov.bands[0][0]).toBeCloseTo(1000.5, 5);
  });
});

describe('a broken directory link past the overviews', () => {
  it('leaves the overviews before it in use (the map failed on a file the batch reads)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-ovr-chain-'));
    try {
      const good = tiffWithOverview(64, 16);
      // The overview's "next" link leads to a directory of a field type no TIFF has (99).
      const bad = Buffer.alloc(2 + 12 + 4);
      bad.writeUInt16LE(1, 0);
      bad.writeUInt16LE(256, 2);
      bad.writeUInt16LE(99, 4);
      bad.writeUInt32LE(1, 6);
      const at = good.length + (good.length % 2);
      const file = Buffer.concat([good, Buffer.alloc(at - good.length), bad]);
      const ifd0 = file.readUInt32LE(4);
      const ifd1 = file.readUInt32LE(ifd0 + 2 + file.readUInt16LE(ifd0) * 12);
      file.writeUInt32LE(at, ifd1 + 2 + file.readUInt16LE(ifd1) * 12);
      const path = join(dir, 'S2_20261008_chain.tif');
      await writeFile(path, file);
      const grid = { width: 64, height: 64, crs: 'EPSG:32650', transform: [500000, 10, 0, 4060000, 0, -10] as const };
      const info: TileInfo = {
        id: 'chain', files: [path], grid, date: '2026-10-08', dtype: 'uint16', nodata: null,
        bands: { blue: { file: path, sample: 0 }, green: { file: path, sample: 1 }, red: { file: path, sample: 2 } },
        footprint: { type: 'Polygon', coordinates: [[[117, 36], [117.01, 36], [117.01, 36.01], [117, 36.01], [117, 36]]] },
      };
      const src = new TileSource(info, { maxOverviewSide: 16 });
      const ov = await src.overview();
      expect([ov.fromFile, ov.bands[0][0]]).toEqual([true, 7777]);
      await src.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an overview onto a grid the tile is no whole number of pixels of', () => {
  it('keeps each output pixel on the columns it covers (it was stretched: up to ~¾ pixel off at the east edge)', async () => {
    const { resampleOverview } = await import('./tiff-overview.js');
    // A 10 px wide tile at factor 4: output pixels over columns 0–3, 4–7 and 8–9; its file's overview is
    // 5 px wide (each of its pixels two of the tile's), holding its own column number.
    const sw = 5;
    const src = { width: sw, height: 1, crs: 'EPSG:32650', transform: [0, 20, 0, 0, 0, -20] as [number, number, number, number, number, number], bands: { red: Float32Array.from({ length: sw }, (_, x) => x) }, valid: new Uint8Array(sw).fill(1) };
    const r = resampleOverview(src, ['red'], { ow: 3, oh: 1, factor: 4, width: 10, height: 1 });
    expect(Array.from(r.bands[0])).toEqual([0.5, 2.5, 4]);
    expect(Array.from(r.valid)).toEqual([1, 1, 1]);
  });
});
