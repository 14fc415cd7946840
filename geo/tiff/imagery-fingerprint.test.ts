/**
 * The imagery fingerprint: the same pixels' bytes under another name or date tag are the same
 * imagery; another acquisition (other pixels) of the same grid is not, compressed or not (where
 * every chunk's byte count is the same).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Grid } from '../raster.js';
import { imageryFingerprint, tileFingerprint } from './imagery-fingerprint.js';
import { openGeoTiff } from './open-geotiff.js';
import { writeGeoTiffArrays } from './write-geotiff.js';

const grid: Grid = { width: 300, height: 210, crs: 'EPSG:32650', transform: [500000, 10, 0, 4000000, 0, -10] };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Seeded pseudo-random reflectance-like bands: each seed another acquisition. */
function bands(seed: number): Uint16Array[] {
  let a = seed;
  const rnd = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return [0, 1, 2, 3].map((b) => Uint16Array.from({ length: grid.width * grid.height }, (_, i) => 1000 + b * 400 + (i % 97) * 3 + ((rnd() * 200) | 0)));
}

async function fingerprintOf(path: string): Promise<string> {
  const f = await openGeoTiff(path);
  try {
    return (await imageryFingerprint(f)).hex;
  } finally {
    await f.close();
  }
}

describe('imageryFingerprint', () => {
  for (const compression of ['deflate', 'none'] as const) {
    it(`is the same for the same pixels under another name and date, another for other pixels (${compression})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tuban-fingerprint-'));
      dirs.push(dir);
      const write = (name: string, seed: number, date?: string) =>
        writeGeoTiffArrays(join(dir, name), { grid, dtype: 'uint16', bands: bands(seed), nodata: 0, tileSize: 64, compression, ...(date ? { date } : {}) });
      await write('a.tif', 1);
      await write('S2_20261008.tif', 1, '2026-10-08');
      await write('b.tif', 2);
      const [a, again, other] = await Promise.all(['a.tif', 'S2_20261008.tif', 'b.tif'].map((n) => fingerprintOf(join(dir, n))));
      expect(a).toMatch(/^[0-9a-f]{16}$/);
      expect(again).toBe(a);
      expect(other).not.toBe(a);
    });
  }

  it('tells uncompressed acquisitions apart that differ only in a band of columns, the rest nodata (a swath edge), wherever the band lies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-fingerprint-edge-'));
    dirs.push(dir);
    // Data only in a 64-pixel-wide band of columns (one column of 64² chunks), zero (nodata) elsewhere.
    const edge = (seed: number, col0: number) =>
      bands(seed).map((b) => b.map((v, i) => (i % grid.width >= col0 && i % grid.width < col0 + 64 ? v : 0)));
    for (const col0 of [0, 64, 128, 192, 236]) {
      const write = (name: string, seed: number) =>
        writeGeoTiffArrays(join(dir, name), { grid, dtype: 'uint16', bands: edge(seed, col0), nodata: 0, tileSize: 64, compression: 'none' });
      await write(`a${col0}.tif`, 1);
      await write(`b${col0}.tif`, 2);
      expect(await fingerprintOf(join(dir, `b${col0}.tif`)), `data in columns ${col0}–${col0 + 63}`).not.toBe(await fingerprintOf(join(dir, `a${col0}.tif`)));
    }
  });

  it('tells uncompressed acquisitions apart whose pixels are a corner sliver of the tile (0.5 %), the rest nodata', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-fingerprint-sliver-'));
    dirs.push(dir);
    // A triangle of ~25 × 25 px in one corner: a swath's edge across the tile's corner.
    const sliver = (seed: number, corner: 'nw' | 'se') =>
      bands(seed).map((b) =>
        b.map((v, i) => {
          const [x, y] = [i % grid.width, Math.floor(i / grid.width)];
          const [u, w] = corner === 'nw' ? [x, y] : [grid.width - 1 - x, grid.height - 1 - y];
          return u + w < 25 ? v : 0;
        }),
      );
    for (const corner of ['nw', 'se'] as const) {
      for (const [name, seed] of [[`a-${corner}.tif`, 1], [`b-${corner}.tif`, 2]] as const)
        await writeGeoTiffArrays(join(dir, name), { grid, dtype: 'uint16', bands: sliver(seed, corner), nodata: 0, tileSize: 64, compression: 'none' });
      expect(await fingerprintOf(join(dir, `b-${corner}.tif`)), corner).not.toBe(await fingerprintOf(join(dir, `a-${corner}.tif`)));
    }
  });

  it('carries no information where every place sampled is one pixel repeated (all nodata, a constant tile): compressed or not, whatever the tile size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-fingerprint-blank-'));
    dirs.push(dir);
    const n = grid.width * grid.height;
    const fills: Record<string, number[]> = { nodata: [0, 0, 0, 0], constant: [1200, 1500, 900, 3000] };
    const of = async (name: string) => {
      const f = await openGeoTiff(join(dir, name));
      try {
        return { one: await imageryFingerprint(f), tile: await tileFingerprint([f]) };
      } finally {
        await f.close();
      }
    };
    // 300 × 210 in 64² or 128² tiles: the edge tiles padded, other byte counts than the inner ones.
    for (const compression of ['deflate', 'none'] as const) {
      for (const tileSize of [64, 128]) {
        const how = `${compression}, ${tileSize}² tiles`;
        for (const [what, values] of Object.entries(fills)) {
          const name = `${what}-${compression}-${tileSize}.tif`;
          await writeGeoTiffArrays(join(dir, name), { grid, dtype: 'uint16', bands: values.map((v) => new Uint16Array(n).fill(v)), nodata: 0, compression, tileSize });
          const { one, tile } = await of(name);
          expect(one.informative, `${what} (${how})`).toBe(false);
          expect(tile, `${what} (${how})`).toBeUndefined();
        }
        // A real acquisition, and one whose pixels are a 0.5 % corner sliver, the rest nodata, still tell.
        const sliver = bands(3).map((b) => b.map((v, i) => (i % grid.width) + Math.floor(i / grid.width) < 25 ? v : 0));
        for (const [what, data] of [['imagery', bands(3)], ['sliver', sliver]] as const) {
          const name = `${what}-${compression}-${tileSize}.tif`;
          await writeGeoTiffArrays(join(dir, name), { grid, dtype: 'uint16', bands: data, nodata: 0, compression, tileSize });
          const { one, tile } = await of(name);
          expect(one.informative, `${what} (${how})`).toBe(true);
          expect(tile).toBe(one.hex);
        }
      }
    }
  });

  it('bounds the blank check of a compressed file stored in one chunk (a single strip): above the bound it is not decoded, and keeps its fingerprint as informative', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuban-fingerprint-strip-'));
    dirs.push(dir);
    const n = grid.width * grid.height;
    // One chunk holds the whole image (a blank deflate tile stored as one strip, ~1.9 GB decoded at 10980² × 4 bands).
    const path = join(dir, 'one-chunk.tif');
    await writeGeoTiffArrays(path, { grid, dtype: 'uint16', bands: [0, 1, 2, 3].map(() => new Uint16Array(n)), nodata: 0, compression: 'deflate', tileSize: 304 });
    const f = await openGeoTiff(path);
    try {
      expect(f.chunks.counts).toHaveLength(1);
      const windows: number[] = [];
      const counted = Object.assign(Object.create(f) as typeof f, {
        readWindow: (...args: Parameters<typeof f.readWindow>) => (windows.push(args[0].width * args[0].height), f.readWindow(...args)),
      });
      // Within the bound (the default: 64 MiB decoded), the chunk is decoded and the file is blank.
      const within = await imageryFingerprint(counted);
      expect([within.informative, windows]).toEqual([false, [300 * 210]]);
      // Above it (here 4 bands × 4 bytes × a 304 × 304 chunk, over 1 MB), nothing is decoded: informative, the same fingerprint.
      const above = await imageryFingerprint(counted, { maxBlankDecodeBytes: 1_000_000 });
      expect([above, windows.length]).toEqual([{ hex: within.hex, informative: true }, 1]);
      expect(await tileFingerprint([counted], { maxBlankDecodeBytes: 1_000_000 })).toBe(within.hex);
    } finally {
      await f.close();
    }
  });
});
