import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { fromFile, writeArrayBuffer } from 'geotiff';
import { openGeoTiff } from './open-geotiff.js';
import { writeGeoTiff, writeGeoTiffArrays } from './write-geotiff.js';
import type { Grid } from '../raster.js';
import { TubanError } from '../../schemas/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tuban-tiff-'));
const utm: Grid = { width: 300, height: 210, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };

/** Seeded pseudo-random uint16 bands (mulberry32), so failures reproduce. */
function randomBands(n: number, count: number, seed = 7): Uint16Array[] {
  let a = seed;
  const rnd = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, (_, b) => Uint16Array.from({ length: n }, (_, i) => (1000 + b * 500 + ((i % 300) * 7) + rnd() * 300) | 0));
}

async function expectCode(p: Promise<unknown>, code: string, subject: string): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(TubanError);
  expect((err as TubanError).code).toBe(code);
  expect((err as TubanError).subject).toBe(subject);
}

describe('openGeoTiff', () => {
  it('reads windows of a tiled deflate file exactly as geotiff.js does, NaN outside and at nodata', async () => {
    const path = join(dir, 'multi.tif');
    const bands = randomBands(utm.width * utm.height, 4);
    bands[2][utm.width * 100 + 150] = 0; // nodata pixel
    await writeGeoTiffArrays(path, { grid: utm, dtype: 'uint16', bands, nodata: 0, tileSize: 64, date: '2024-05-01' });
    const f = await openGeoTiff(path);
    expect(f.grid).toEqual(utm);
    expect([f.dtype, f.nodata, f.date, f.samplesPerPixel, f.blockWidth]).toEqual(['uint16', 0, '2024-05-01', 4, 64]);

    const refFile = await fromFile(path);
    const ref = await refFile.getImage(0);
    const win = { col: 37, row: 61, width: 150, height: 90 };
    const want = (await ref.readRasters({ window: [37, 61, 187, 151], samples: [3, 2], interleave: false })) as unknown as Uint16Array[];
    const got = await f.readWindow(win, [3, 2]);
    expect(Array.from(got[0])).toEqual(Array.from(want[0]));
    const idx = (100 - 61) * 150 + (150 - 37);
    expect(got[1][idx]).toBeNaN();
    expect(got[1][idx + 1]).toBe(want[1][idx + 1]);
    await refFile.close();

    const edge = await f.readWindow({ col: 290, row: -5, width: 20, height: 10 }, [0]);
    expect(edge[0][0]).toBeNaN(); // above the raster
    expect(edge[0][5 * 20 + 10]).toBeNaN(); // right of it
    expect(edge[0][5 * 20 + 9]).toBe(bands[0][299]);
    await f.close();
  });

  it('reads a stripped uncompressed file (geotiff.js writer) and float data', async () => {
    const path = join(dir, 'strips.tif');
    const values = Float32Array.from({ length: 40 * 30 }, (_, i) => i * 0.5);
    const buf = writeArrayBuffer(values, {
      width: 40, height: 30, SampleFormat: [3], BitsPerSample: [32], GeographicTypeGeoKey: 4326,
      ModelPixelScale: [0.001, 0.001, 0], ModelTiepoint: [0, 0, 0, 10, 44, 0], GTModelTypeGeoKey: 2,
    });
    writeFileSync(path, Buffer.from(buf));
    const f = await openGeoTiff(path);
    expect(f.grid.crs).toBe('EPSG:4326');
    expect(f.dtype).toBe('float32');
    const [w] = await f.readWindow({ col: 5, row: 7, width: 10, height: 20 }, [0]);
    expect(w[0]).toBe(values[7 * 40 + 5]);
    expect(w[19 * 10 + 9]).toBe(values[26 * 40 + 14]);
    await f.close();
  });

  it('rejects a truncated file, a non-TIFF and a corrupt tile as TILE.UNREADABLE naming the file', async () => {
    const good = join(dir, 'good.tif');
    await writeGeoTiffArrays(good, { grid: utm, dtype: 'uint16', bands: randomBands(utm.width * utm.height, 1), tileSize: 64 });
    const bytes = readFileSync(good);

    // Our writer puts the IFD last, so cut the middle out and keep a valid header pointing past the end.
    const truncated = join(dir, 'truncated.tif');
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    await expectCode(openGeoTiff(truncated), 'TILE.UNREADABLE', truncated);

    const text = join(dir, 'notes.tif');
    writeFileSync(text, 'this is not a tiff at all');
    await expectCode(openGeoTiff(text), 'TILE.UNREADABLE', text);

    const corrupt = join(dir, 'corrupt.tif');
    const copy = Buffer.from(bytes);
    copy.fill(0x55, 8, 200); // first tile's deflate stream
    writeFileSync(corrupt, copy);
    const f = await openGeoTiff(corrupt);
    await expectCode(f.readWindow({ col: 0, row: 0, width: 10, height: 10 }, [0]), 'TILE.UNREADABLE', corrupt);
    await f.close();
  });

  it('rejects a tile whose zlib checksum does not match its data (the check a raw inflate would skip)', async () => {
    // Most single-bit flips inside a deflate stream still decode to a full tile of wrong pixels
    // (332 of 400 on the 10980² bench tiles): only zlib's adler32 trailer tells. Flip a trailer bit.
    const good = join(dir, 'adler-good.tif');
    await writeGeoTiffArrays(good, { grid: utm, dtype: 'uint16', bands: randomBands(utm.width * utm.height, 2), tileSize: 64 });
    const dir0 = (await (await fromFile(good)).getImage()).fileDirectory;
    const end = Number((await dir0.loadValue('TileOffsets'))[0]) + Number((await dir0.loadValue('TileByteCounts'))[0]);
    const copy = Buffer.from(readFileSync(good));
    copy[end - 1] ^= 1;
    const bad = join(dir, 'adler-bad.tif');
    writeFileSync(bad, copy);
    const f = await openGeoTiff(bad);
    const err = await f.readWindow({ col: 0, row: 0, width: 10, height: 10 }, [0, 1]).then(() => null, (e: unknown) => e);
    await f.close();
    expect(err).toBeInstanceOf(TubanError);
    expect((err as TubanError).code).toBe('TILE.UNREADABLE');
    expect((err as TubanError).subject).toBe(bad);
    expect((err as TubanError).message).toMatch(/chunk 0 cannot be decoded \(incorrect data check\)/);
  });

  it('reports a missing CRS and an unsupported one', async () => {
    const good = join(dir, 'crs.tif');
    await writeGeoTiffArrays(good, { grid: utm, dtype: 'uint8', bands: [new Uint8Array(utm.width * utm.height)] });
    const bytes = readFileSync(good);
    // GeoKey entry (3072, 0, 1, 32650) as little-endian shorts.
    const key = Buffer.from([0x00, 0x0c, 0, 0, 1, 0, 0x8a, 0x7f]);
    const at = bytes.indexOf(key);
    expect(at).toBeGreaterThan(0);

    const missing = join(dir, 'nocrs.tif');
    const a = Buffer.from(bytes);
    a.writeUInt16LE(3074, at); // an unrelated projection key: no CRS code left
    writeFileSync(missing, a);
    await expectCode(openGeoTiff(missing), 'TILE.CRS_MISSING', missing);

    const odd = join(dir, 'oddcrs.tif');
    const b = Buffer.from(bytes);
    b.writeUInt16LE(3035, at + 6); // EPSG:3035 (LAEA Europe) is not built in
    writeFileSync(odd, b);
    await expectCode(openGeoTiff(odd), 'TILE.CRS_UNSUPPORTED', odd);
  });

  it('refuses windows above the byte cap before allocating', async () => {
    const path = join(dir, 'cap.tif');
    await writeGeoTiffArrays(path, { grid: utm, dtype: 'uint8', bands: [new Uint8Array(utm.width * utm.height)] });
    const f = await openGeoTiff(path, { maxWindowBytes: 1000 });
    await expectCode(f.readWindow({ col: 0, row: 0, width: 100, height: 100 }, [0]), 'RASTER.TOO_LARGE', path);
    await f.close();
  });
});

describe('writeGeoTiff', () => {
  it('streams tile rows and round-trips float32 (NaN → nodata) through geotiff.js', async () => {
    const path = join(dir, 'float.tif');
    const grid: Grid = { width: 70, height: 45, crs: 'EPSG:4527', transform: [39500000, 2, 0, 4000000, 0, -2] };
    const calls: Array<[number, number]> = [];
    await writeGeoTiff(path, {
      grid, dtype: 'float32', bandCount: 2, nodata: -9999, tileSize: 32, compression: 'none',
      rows: (row0, n) => {
        calls.push([row0, n]);
        return [0, 1].map((b) => Float32Array.from({ length: grid.width * n }, (_, i) => (row0 * grid.width + i === 5 ? NaN : b * 1000 + row0 * grid.width + i + 0.25)));
      },
    });
    expect(calls).toEqual([[0, 32], [32, 13]]);
    const tiff = await fromFile(path);
    const img = await tiff.getImage(0);
    expect(img.getGeoKeys()?.ProjectedCSTypeGeoKey).toBe(4527);
    const [b0, b1] = (await img.readRasters({ interleave: false })) as unknown as Float32Array[];
    expect(b0[5]).toBe(-9999);
    expect(b1[44 * 70 + 69]).toBe(1000 + 44 * 70 + 69 + 0.25);
    await tiff.close();
    const f = await openGeoTiff(path);
    expect(f.grid).toEqual(grid);
    const [r] = await f.readWindow({ col: 0, row: 0, width: 10, height: 1 }, [0]);
    expect(r[5]).toBeNaN();
    expect(r[6]).toBe(6.25);
    await f.close();
  });
});

/** Open descriptors of this process (Linux), so a leaked file handle shows as a count. */
function openFds(): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return !readlinkSync(`/proc/self/fd/${fd}`).startsWith('anon_inode:');
    } catch {
      return false; // the directory's own descriptor, gone by now
    }
  });
}

describe('openGeoTiff on damaged files (issue 15)', () => {
  it('names a truncated file with its IFD at the end (GDAL layout) as truncated, with the offset', async () => {
    const good = join(dir, 'gdal-layout.tif');
    await writeGeoTiffArrays(good, { grid: utm, dtype: 'uint16', bands: randomBands(utm.width * utm.height, 1), tileSize: 64 });
    const bytes = readFileSync(good);
    const ifd = bytes.readUInt32LE(4);
    expect(ifd).toBeGreaterThan(bytes.length >> 1); // the layout this test is about
    const cut = join(dir, 'gdal-layout-cut.tif');
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const err = (await openGeoTiff(cut).then(() => null, (e: unknown) => e)) as TubanError;
    expect(err.code).toBe('TILE.UNREADABLE');
    expect(err.message).toContain(`truncated: the image directory at offset ${ifd} lies beyond the end of the file (${bytes.length >> 1} bytes)`);
    expect(err.message).not.toMatch(/sample type/);
  });

  it('leaves no open file descriptor after rejecting a corrupt, truncated or non-TIFF file', async () => {
    const good = join(dir, 'fd-good.tif');
    const grid: Grid = { ...utm, width: 512, height: 512 };
    await writeGeoTiffArrays(good, { grid, dtype: 'uint16', bands: randomBands(512 * 512, 2), tileSize: 64 });
    const bytes = readFileSync(good);
    const corrupt = join(dir, 'fd-corrupt.tif');
    const copy = Buffer.from(bytes);
    // Damage every other tile's deflate stream, so several decodes fail while others are in flight.
    copy.fill(0x55, 8, bytes.readUInt32LE(4) - 8);
    writeFileSync(corrupt, copy);
    const cut = join(dir, 'fd-cut.tif');
    writeFileSync(cut, bytes.subarray(0, 1000));
    const text = join(dir, 'fd-text.tif');
    writeFileSync(text, 'II not a tiff');

    const before = openFds().length;
    for (let k = 0; k < 3; k++) {
      const f = await openGeoTiff(corrupt);
      await expectCode(f.readWindow({ col: 0, row: 0, width: 512, height: 512 }, [0, 1]), 'TILE.UNREADABLE', corrupt);
      await f.close();
      await expectCode(openGeoTiff(cut), 'TILE.UNREADABLE', cut);
      await expectCode(openGeoTiff(text), 'TILE.UNREADABLE', text);
    }
    // Decodes still running when the first one failed must not reopen the file after close().
    await new Promise((r) => setTimeout(r, 300));
    expect(openFds().length).toBe(before);
  });

  it('decodes straight into shared arrays exactly as into plain ones, strip by strip with halos, and says when a read has NaNs', async () => {
    const path = join(dir, 'shared.tif');
    const bands = randomBands(utm.width * utm.height, 4, 11);
    bands[1][utm.width * 150 + 20] = 0; // one nodata pixel, in the strips from row 150
    await writeGeoTiffArrays(path, { grid: utm, dtype: 'uint16', bands, nodata: 0, tileSize: 64, compression: 'deflate' });
    const f = await openGeoTiff(path);
    const g = await openGeoTiff(path); // plain reads from a second handle: its own chunk cache
    const shared = (n: number) => Array.from({ length: 3 }, () => new Float32Array(new SharedArrayBuffer(n * 4)));
    // 25-row strips with 3 halo rows: most chunks are read in parts, by two or three strips.
    const rows = 25;
    const halo = 3;
    const slots = [shared(utm.width * (rows + 2 * halo)), shared(utm.width * (rows + 2 * halo))];
    for (let row = 0, k = 0; row < utm.height; row += rows, k++) {
      const top = Math.max(0, row - halo);
      const win = { col: 0, row: top, width: utm.width, height: Math.min(utm.height, row + rows + halo) - top };
      const info: { nan?: boolean } = {};
      const got = await f.readWindow(win, [3, 1, 0], slots[k % 2], info);
      const want = await g.readWindow(win, [3, 1, 0]);
      expect(got[0].buffer).toBeInstanceOf(SharedArrayBuffer);
      for (let b = 0; b < 3; b++) expect(Buffer.from(got[b].buffer, got[b].byteOffset, got[b].byteLength).equals(Buffer.from(want[b].buffer))).toBe(true);
      const hasNaN = want.some((a) => a.some((v) => Number.isNaN(v)));
      expect(info.nan).toBe(hasNaN);
      expect(hasNaN).toBe(top <= 150 && 150 < win.row + win.height);
    }
    // A window reaching outside the raster is NaN there, and says so.
    const info: { nan?: boolean } = {};
    const [edge] = await f.readWindow({ col: 290, row: 200, width: 20, height: 20 }, [0], shared(400), info);
    expect(info.nan).toBe(true);
    expect(edge[0]).toBe(bands[0][200 * 300 + 290]);
    expect(edge[15]).toBeNaN();
    await Promise.all([f.close(), g.close()]);
  });
});

/**
 * A big-endian ('MM') striped, uncompressed uint16 GeoTIFF, one row per strip, written byte by byte:
 * the layout of `gdal_translate -co TILED=NO -co ENDIANNESS=BIG`. With `rows` ≥ ~250 the strip
 * offset and byte-count arrays lie more than 1 KiB past the IFD, so geotiff.js defers reading them.
 */
function bigEndianStriped(grid: Grid, bands: Uint16Array[], opts: { deflatePredictor2?: boolean } = {}): Buffer {
  const { width, height } = grid;
  const spp = bands.length;
  const tags: Array<{ id: number; type: 3 | 4 | 12; values: number[] }> = [];
  const rowBytes = width * spp * 2;
  // Each strip (one row) as stored: plain, or horizontally differenced (predictor 2, modulo 2^16,
  // in big-endian samples as libtiff writes them) and deflated (`-co COMPRESS=DEFLATE -co PREDICTOR=2`).
  const strips = Array.from({ length: height }, (_, r) => {
    const row = Buffer.alloc(rowBytes);
    for (let c = 0, at = 0; c < width; c++) {
      for (let b = 0; b < spp; b++) {
        const v = bands[b][r * width + c];
        at = row.writeUInt16BE(opts.deflatePredictor2 && c > 0 ? (v - bands[b][r * width + c - 1]) & 0xffff : v, at);
      }
    }
    return opts.deflatePredictor2 ? deflateSync(row) : row;
  });
  const tagList = (offsets: number[]) => [
    { id: 256, type: 4 as const, values: [width] },
    { id: 257, type: 4 as const, values: [height] },
    { id: 258, type: 3 as const, values: Array(spp).fill(16) },
    { id: 259, type: 3 as const, values: [opts.deflatePredictor2 ? 8 : 1] },
    { id: 262, type: 3 as const, values: [1] },
    { id: 273, type: 4 as const, values: offsets },
    { id: 277, type: 3 as const, values: [spp] },
    { id: 278, type: 4 as const, values: [1] },
    { id: 279, type: 4 as const, values: strips.map((s) => s.length) },
    { id: 284, type: 3 as const, values: [1] },
    ...(opts.deflatePredictor2 ? [{ id: 317, type: 3 as const, values: [2] }] : []),
    { id: 338, type: 3 as const, values: Array(spp - 1).fill(0) },
    { id: 339, type: 3 as const, values: Array(spp).fill(1) },
    { id: 33550, type: 12 as const, values: [grid.transform[1], -grid.transform[5], 0] },
    { id: 33922, type: 12 as const, values: [0, 0, 0, grid.transform[0], grid.transform[3], 0] },
    { id: 34735, type: 3 as const, values: [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, Number(grid.crs.slice(5))] },
  ];
  const size = (t: { type: number; values: number[] }) => t.values.length * (t.type === 3 ? 2 : t.type === 4 ? 4 : 8);
  // IFD at 8, out-of-line values after it, then the pixels.
  const probe = tagList(Array(height).fill(0));
  const ifdBytes = 2 + probe.length * 12 + 4;
  const extra = probe.reduce((s, t) => s + (size(t) > 4 ? size(t) : 0), 0);
  const pixelsAt = 8 + ifdBytes + extra;
  const stripAt = strips.reduce<number[]>((at, s, r) => (at.push(r === 0 ? pixelsAt : at[r - 1] + strips[r - 1].length), at), []);
  tags.push(...tagList(stripAt));
  const buf = Buffer.alloc(pixelsAt + strips.reduce((n, s) => n + s.length, 0));
  buf.write('MM', 0, 'latin1');
  buf.writeUInt16BE(42, 2);
  buf.writeUInt32BE(8, 4);
  buf.writeUInt16BE(tags.length, 8);
  let extraAt = 8 + ifdBytes;
  tags.forEach((t, k) => {
    const e = 10 + k * 12;
    buf.writeUInt16BE(t.id, e);
    buf.writeUInt16BE(t.type, e + 2);
    buf.writeUInt32BE(t.values.length, e + 4);
    const inline = size(t) <= 4;
    let at = inline ? e + 8 : extraAt;
    if (!inline) buf.writeUInt32BE(extraAt, e + 8);
    for (const v of t.values) {
      if (t.type === 3) at = buf.writeUInt16BE(v, at);
      else if (t.type === 4) at = buf.writeUInt32BE(v, at);
      else at = buf.writeDoubleBE(v, at);
    }
    if (!inline) extraAt = at;
  });
  buf.writeUInt32BE(0, 8 + ifdBytes - 4);
  strips.forEach((strip, r) => strip.copy(buf, stripAt[r]));
  return buf;
}

describe('openGeoTiff on big-endian files', () => {
  it('reads a big-endian striped file whose strip index geotiff.js defers (was "chunk 0 lies beyond the end of the file")', async () => {
    const path = join(dir, 'big-endian-striped.tif');
    const grid: Grid = { width: 40, height: 300, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };
    const bands = randomBands(grid.width * grid.height, 4, 5);
    writeFileSync(path, bigEndianStriped(grid, bands));
    const f = await openGeoTiff(path);
    expect(f.grid).toEqual(grid);
    expect([f.dtype, f.samplesPerPixel, f.blockHeight]).toEqual(['uint16', 4, 1]);
    const [b3, b0] = await f.readWindow({ col: 3, row: 250, width: 30, height: 40 }, [3, 0]);
    for (const [r, c] of [[250, 3], [289, 32], [270, 17]]) {
      expect(b3[(r - 250) * 30 + (c - 3)]).toBe(bands[3][r * grid.width + c]);
      expect(b0[(r - 250) * 30 + (c - 3)]).toBe(bands[0][r * grid.width + c]);
    }
    await f.close();
  });
  it('reads a big-endian deflate file with the horizontal predictor (was read as other counts: geotiff.js undid the predictor on little-endian samples)', async () => {
    const path = join(dir, 'big-endian-predictor.tif');
    const grid: Grid = { width: 40, height: 30, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };
    const bands = randomBands(grid.width * grid.height, 4, 9);
    writeFileSync(path, bigEndianStriped(grid, bands, { deflatePredictor2: true }));
    const f = await openGeoTiff(path);
    expect([f.dtype, f.samplesPerPixel]).toEqual(['uint16', 4]);
    const got = await f.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, [0, 1, 2, 3]);
    for (let b = 0; b < 4; b++) expect(Array.from(got[b])).toEqual(Array.from(bands[b]));
    const part = await f.readWindow({ col: 7, row: 11, width: 20, height: 9 }, [2]);
    expect(part[0][3 * 20 + 5]).toBe(bands[2][14 * grid.width + 12]);
    await f.close();
  });
});

/**
 * `tiff` (little-endian, one IFD) with GDAL's internal mask appended, as `GDAL_TIFF_INTERNAL_MASK=YES`
 * or a COG writes it: a second IFD of NewSubfileType 4 (mask), 1 bit, photometric 4, one strip of
 * rows packed most significant bit first; `mask` holds 0 (no data) or 1 per pixel.
 */
function withInternalMask(tiff: Buffer, width: number, height: number, mask: Uint8Array): Buffer {
  const rowBytes = Math.ceil(width / 8);
  const bits = Buffer.alloc(rowBytes * height);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) if (mask[r * width + c]) bits[r * rowBytes + (c >> 3)] |= 0x80 >> (c & 7);
  const pixelsAt = tiff.length + (tiff.length % 2);
  const ifdAt = pixelsAt + bits.length + ((pixelsAt + bits.length) % 2);
  const tags: [number, number, number][] = [
    [254, 4, 4], [256, 4, width], [257, 4, height], [258, 3, 1], [259, 3, 1], [262, 3, 4],
    [273, 4, pixelsAt], [277, 3, 1], [278, 4, height], [279, 4, bits.length],
  ];
  const ifd = Buffer.alloc(2 + tags.length * 12 + 4);
  ifd.writeUInt16LE(tags.length, 0);
  tags.forEach(([id, type, value], k) => {
    ifd.writeUInt16LE(id, 2 + k * 12);
    ifd.writeUInt16LE(type, 4 + k * 12);
    ifd.writeUInt32LE(1, 6 + k * 12);
    if (type === 3) ifd.writeUInt16LE(value, 10 + k * 12);
    else ifd.writeUInt32LE(value, 10 + k * 12);
  });
  const out = Buffer.concat([tiff, Buffer.alloc(pixelsAt - tiff.length), bits, Buffer.alloc(ifdAt - pixelsAt - bits.length), ifd]);
  // Link the first IFD to the mask's.
  const first = out.readUInt32LE(4);
  out.writeUInt32LE(ifdAt, first + 2 + out.readUInt16LE(first) * 12);
  return out;
}

describe('openGeoTiff on a file with an internal mask', () => {
  it("reads where GDAL's internal mask is 0 as no data (was read as imagery: whatever the masked pixels hold)", async () => {
    const grid: Grid = { width: 40, height: 30, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };
    const bands = randomBands(grid.width * grid.height, 4, 11);
    const plain = join(dir, 'unmasked.tif');
    await writeGeoTiffArrays(plain, { grid, dtype: 'uint16', bands, compression: 'none' });
    const mask = new Uint8Array(grid.width * grid.height).fill(1);
    for (let r = 5; r < 20; r++) for (let c = 10; c < 33; c++) mask[r * grid.width + c] = 0;
    const path = join(dir, 'masked.tif');
    writeFileSync(path, withInternalMask(readFileSync(plain), grid.width, grid.height, mask));
    const f = await openGeoTiff(path);
    const info: { nan?: boolean } = {};
    const got = await f.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, [0, 3], undefined, info);
    for (let i = 0; i < mask.length; i++) {
      if (mask[i]) expect([got[0][i], got[1][i]]).toEqual([bands[0][i], bands[3][i]]);
      else expect([got[0][i], got[1][i]]).toEqual([NaN, NaN]);
    }
    expect(info.nan).toBe(true);
    // A window reaching past the raster: NaN outside it, the mask inside.
    const edge = await f.readWindow({ col: 30, row: 18, width: 15, height: 4 }, [1]);
    expect(edge[0][0]).toBeNaN(); // (30, 18): masked
    expect(edge[0][3]).toBe(bands[1][18 * grid.width + 33]); // (33, 18): clear
    expect(edge[0][12]).toBeNaN(); // (42, 18): outside
    expect(edge[0][2 * 15 + 0]).toBe(bands[1][20 * grid.width + 30]); // (30, 20): clear
    await f.close();
  });
});

describe('openGeoTiff on a file whose chain of image directories is broken past the first', () => {
  it('reads its first image as before (the look for an internal mask refused the tile: corrupt TIFF header)', async () => {
    const grid: Grid = { width: 40, height: 30, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };
    const bands = randomBands(grid.width * grid.height, 4, 12);
    const plain = join(dir, 'chain-plain.tif');
    await writeGeoTiffArrays(plain, { grid, dtype: 'uint16', bands, compression: 'none' });
    // The first IFD's "next" link leads to a directory of a field type no TIFF has (99): GDAL reads
    // the file, and Tuban did, until it looked for a mask there.
    const bad = Buffer.alloc(2 + 12 + 4);
    bad.writeUInt16LE(1, 0);
    bad.writeUInt16LE(256, 2);
    bad.writeUInt16LE(99, 4);
    bad.writeUInt32LE(1, 6);
    const plainBytes = readFileSync(plain);
    const at = plainBytes.length + (plainBytes.length % 2);
    const out = Buffer.concat([plainBytes, Buffer.alloc(at - plainBytes.length), bad]);
    const first = out.readUInt32LE(4);
    out.writeUInt32LE(at, first + 2 + out.readUInt16LE(first) * 12);
    const path = join(dir, 'chain-broken.tif');
    writeFileSync(path, out);
    const f = await openGeoTiff(path);
    const got = await f.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, [2]);
    expect(Array.from(got[0])).toEqual(Array.from(bands[2]));
    await f.close();
  });
});

describe('openGeoTiff on a file with a .msk mask beside it', () => {
  it("reads where GDAL's external mask (X.tif.msk, GDAL_TIFF_INTERNAL_MASK=NO) is 0 as no data (was ignored)", async () => {
    const grid: Grid = { width: 40, height: 30, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };
    const bands = randomBands(grid.width * grid.height, 4, 12);
    const path = join(dir, 'ext-masked.tif');
    await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands });
    const mask = new Uint8Array(grid.width * grid.height).fill(255);
    for (let r = 3; r < 12; r++) for (let c = 4; c < 21; c++) mask[r * grid.width + c] = 0;
    await writeGeoTiffArrays(`${path}.msk`, { grid, dtype: 'uint8', bands: [mask] });
    const f = await openGeoTiff(path);
    const got = await f.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, [2]);
    for (let i = 0; i < mask.length; i++) expect(got[0][i]).toEqual(mask[i] ? bands[2][i] : NaN);
    await f.close();
  });
});
