import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import { directoryKind, directoryReadFailure, tiffDirectories } from './image-directories.js';
import { openGeoTiff } from './open-geotiff.js';
import { writeGeoTiffArrays } from './write-geotiff.js';
import type { Grid } from '../raster.js';
import { TubanError } from '../../schemas/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tuban-ifd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const grid: Grid = { width: 16, height: 12, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };

/** A one-band uint16 GeoTIFF of `grid` with 8-bit directories of the given NewSubfileType and size chained after its first. */
async function tiffWith(name: string, extra: { sub: number; w: number; h: number }[]): Promise<{ path: string; bytes: Buffer }> {
  const path = join(dir, name);
  await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: [new Uint16Array(grid.width * grid.height).fill(300)], compression: 'none' });
  let out = readFileSync(path);
  let last = out.readUInt32LE(4);
  for (const d of extra) {
    const pixelsAt = out.length + (out.length % 2);
    const pixels = Buffer.alloc(d.w * d.h, 1);
    const ifdAt = pixelsAt + pixels.length + (pixels.length % 2);
    const tags: [number, number, number][] = [
      [254, 4, d.sub], [256, 4, d.w], [257, 4, d.h], [258, 3, 8], [259, 3, 1], [262, 3, d.sub & 4 ? 4 : 1],
      [273, 4, pixelsAt], [277, 3, 1], [278, 4, d.h], [279, 4, pixels.length],
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
    out = Buffer.concat([out, Buffer.alloc(pixelsAt - out.length), pixels, Buffer.alloc(ifdAt - pixelsAt - pixels.length), ifd]);
    out.writeUInt32LE(ifdAt, last + 2 + out.readUInt16LE(last) * 12);
    last = ifdAt;
  }
  writeFileSync(path, out);
  return { path, bytes: out };
}

/** The byte offset of the "next directory" link of the last directory of `bytes`. */
function lastLink(bytes: Buffer): number {
  let at = bytes.readUInt32LE(4);
  for (;;) {
    const link = at + 2 + bytes.readUInt16LE(at) * 12;
    const next = bytes.readUInt32LE(link);
    if (next === 0) return link;
    at = next;
  }
}

async function walk(path: string) {
  const tiff = await fromFile(path);
  try {
    const { directories, brokenAt } = await tiffDirectories(tiff, path);
    return { kinds: directories.map((d) => [d.kind, d.image.getWidth()]), brokenAt: brokenAt?.index ?? null };
  } finally {
    await tiff.close();
  }
}

describe('tiffDirectories', () => {
  it("classifies a COG's directories: the image, its mask, an overview and the overview's mask (NewSubfileType 0, 4, 1, 5)", async () => {
    const { path } = await tiffWith('cog-like.tif', [
      { sub: 4, w: 16, h: 12 },
      { sub: 1, w: 8, h: 6 },
      { sub: 5, w: 8, h: 6 },
    ]);
    expect(await walk(path)).toEqual({ kinds: [['image', 16], ['mask', 16], ['overview', 8], ['overview-mask', 8]], brokenAt: null });
    expect([0, 1, 2, 4, 5, 6, 7].map(directoryKind)).toEqual(['image', 'overview', 'image', 'mask', 'overview-mask', 'mask', 'overview-mask']);
  });

  it('ends at a malformed directory past the first (a field type no TIFF has), keeping those before it', async () => {
    const { path, bytes } = await tiffWith('broken.tif', [{ sub: 1, w: 8, h: 6 }]);
    const bad = Buffer.alloc(2 + 12 + 4);
    bad.writeUInt16LE(1, 0);
    bad.writeUInt16LE(256, 2);
    bad.writeUInt16LE(99, 4);
    bad.writeUInt32LE(1, 6);
    const at = bytes.length + (bytes.length % 2);
    const out = Buffer.concat([bytes, Buffer.alloc(at - bytes.length), bad]);
    out.writeUInt32LE(at, lastLink(bytes));
    writeFileSync(path, out);
    expect(await walk(path)).toEqual({ kinds: [['image', 16], ['overview', 8]], brokenAt: 2 });
  });

  it('ends at a link past the end of the file (a file cut short): no empty directory, no I/O error', async () => {
    const { path, bytes } = await tiffWith('cut.tif', [{ sub: 4, w: 16, h: 12 }]);
    bytes.writeUInt32LE(bytes.length + 100_000, lastLink(bytes));
    writeFileSync(path, bytes);
    expect(await walk(path)).toEqual({ kinds: [['image', 16], ['mask', 16]], brokenAt: 2 });
    // openGeoTiff reads it, as before.
    const f = await openGeoTiff(path);
    const [got] = await f.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, [0]);
    expect(Array.from(new Set(got))).toEqual([300]);
    await f.close();
  });

  it("ends where a directory's link leads back to an earlier one (a loop GDAL reads as the end; the walk never returned)", async () => {
    const { path, bytes } = await tiffWith('loop.tif', [{ sub: 4, w: 16, h: 12 }, { sub: 1, w: 8, h: 6 }]);
    // The overview's link back to the mask's directory: mask, overview, mask, … for ever.
    const maskAt = bytes.readUInt32LE(bytes.readUInt32LE(4) + 2 + bytes.readUInt16LE(bytes.readUInt32LE(4)) * 12);
    const link = lastLink(bytes);
    bytes.writeUInt32LE(maskAt, link);
    writeFileSync(path, bytes);
    expect(await walk(path)).toEqual({ kinds: [['image', 16], ['mask', 16], ['overview', 8]], brokenAt: 3 });
    // And to the first directory: the mask is still found, the tile read with it.
    bytes.writeUInt32LE(bytes.readUInt32LE(4), link);
    writeFileSync(path, bytes);
    expect(await walk(path)).toEqual({ kinds: [['image', 16], ['mask', 16], ['overview', 8]], brokenAt: 3 });
    const f = await openGeoTiff(path);
    const [got] = await f.readWindow({ col: 0, row: 0, width: grid.width, height: grid.height }, [0]);
    expect(Array.from(new Set(got))).toEqual([300]);
    await f.close();
  });

  it('refuses the file by name where a directory past the first fails with an I/O error (was read as one with no mask)', async () => {
    const { path } = await tiffWith('io.tif', [{ sub: 4, w: 16, h: 12 }]);
    const tiff = await fromFile(path);
    await tiff.getImage(0);
    // The handle's descriptor goes away under it: the next directory's read fails with a real EBADF.
    await tiff.close();
    const err = await tiffDirectories(tiff, path).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TubanError);
    expect((err as TubanError).code).toBe('TILE.UNREADABLE');
    expect((err as TubanError).message).toMatch(/image directory 2 could not be read \(EBADF.*disk or share/);
    expect(String(err)).toContain('io.tif');
    expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('EBADF');
  });
});

describe('openGeoTiff where the look for an internal mask meets an I/O error', () => {
  it('refuses the tile by name (its masked pixels were read as imagery: the error was taken for "no mask")', async () => {
    const { path, bytes } = await tiffWith('io-open.tif', [{ sub: 4, w: 16, h: 12 }]);
    // Mask 0 over the whole image: read as unmasked, every pixel would be imagery.
    const maskAt = bytes.readUInt32LE(lastLink(bytes) - 10 * 12 + 6 * 12 + 8);
    bytes.fill(0, maskAt, maskAt + grid.width * grid.height);
    writeFileSync(path, bytes);
    const masked = await openGeoTiff(path);
    expect(Array.from(new Set((await masked.readWindow({ col: 0, row: 0, width: 16, height: 12 }, [0]))[0]))).toEqual([NaN]);
    await masked.close();
    // Once the grid is read, the descriptor geotiff.js reads the directories through goes away (a real EBADF next).
    const onGrid = () => {
      for (const fd of readdirSync('/proc/self/fd')) {
        let target = '';
        try {
          target = readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          continue;
        }
        if (target === path) closeSync(Number(fd));
      }
    };
    const err = await openGeoTiff(path, { onGrid }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TubanError);
    expect([(err as TubanError).code, String(err)]).toEqual(['TILE.UNREADABLE', expect.stringContaining('io-open.tif')]);
    expect((err as TubanError).message).toMatch(/image directory 2 could not be read \(EBADF/);
  });
});

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('directoryReadFailure', () => {
  it("calls the file system's errors of real reads io", async () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    const fd = openSync(sub, 'r');
    try {
      expect(directoryReadFailure(thrown(() => readSync(fd, Buffer.alloc(8), 0, 8, 0)))).toBe('io'); // EISDIR
    } finally {
      closeSync(fd);
    }
    const gone = join(dir, 'gone.tif');
    writeFileSync(gone, 'II*\0');
    unlinkSync(gone);
    expect(directoryReadFailure(await open(gone).then(() => null, (e: unknown) => e))).toBe('io'); // ENOENT
    expect(directoryReadFailure(thrown(() => readSync(2 ** 30, Buffer.alloc(8), 0, 8, 0)))).toBe('io'); // EBADF
  });

  it.skipIf(process.getuid?.() === 0)('calls EACCES of a file made unreadable io (not as root: root reads it)', () => {
    const locked = join(dir, 'locked.tif');
    writeFileSync(locked, 'II*\0');
    chmodSync(locked, 0o000);
    expect(directoryReadFailure(thrown(() => openSync(locked, 'r')))).toBe('io');
  });

  it("calls what a file's own bytes cause malformed: geotiff.js's parse errors, an out-of-range read position, the end of the chain", async () => {
    const { path } = await tiffWith('plain.tif', []);
    const fd = openSync(path, 'r');
    try {
      // A BigTIFF offset past 2^53: Node refuses the position (ERR_OUT_OF_RANGE, no system call).
      expect(directoryReadFailure(thrown(() => readSync(fd, Buffer.alloc(8), 0, 8, 2 ** 60)))).toBe('malformed');
    } finally {
      closeSync(fd);
    }
    const tiff = await fromFile(path);
    try {
      expect(directoryReadFailure(await tiff.getImage(1).then(() => null, (e: unknown) => e))).toBe('malformed'); // No image at index 1
    } finally {
      await tiff.close();
    }
    expect(directoryReadFailure(new RangeError('Invalid field type: 99'))).toBe('malformed');
    expect(directoryReadFailure('a string')).toBe('malformed');
    expect(directoryReadFailure(null)).toBe('malformed');
  });
});
