/**
 * The inflate worker's decode on its own: a chunk read in parts is kept decoded per file and served
 * again without its bytes, exactly; one it no longer holds answers CACHE_MISS (the reader then sends
 * the bytes again), and a destination gets the rect at its offset and stride with NaN counted.
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CACHE_MISS } from './inflate-pool.js';
import { decodeChunk } from './inflate-worker.js';

/** A 4×3 chunk, 2 samples per pixel, uint16, horizontally differenced (predictor 2), deflated. */
function chunk(seed: number): { bytes: Uint8Array; values: Uint16Array } {
  const values = Uint16Array.from({ length: 4 * 3 * 2 }, (_, i) => (seed * 1000 + i * 37) % 65536);
  const diff = new Uint16Array(values);
  for (let r = 0; r < 3; r++) for (let i = r * 8 + 7; i >= r * 8 + 2; i--) diff[i] = (values[i] - values[i - 2]) & 0xffff;
  return { bytes: new Uint8Array(deflateSync(new Uint8Array(diff.buffer))), values };
}

const base = { compression: 8, predictor: 2, bps: 2, sampleFormat: 1, spp: 2, chunkWidth: 4, chunkRows: 3, nodata: null };

describe('inflate worker', () => {
  it('serves a cached chunk without bytes, misses one it evicted, and writes rects at their offset', () => {
    const a = chunk(1);
    const b = chunk(2);
    const file = 9001;
    const dest = { planes: [new Float32Array(20)], offset: 6, stride: 5 };
    // Rows 1–2, columns 1–3, sample 1, into a 5-wide destination from pixel 6.
    const first = decodeChunk({ ...base, bytes: a.bytes, rect: [1, 1, 3, 2], samples: [1], cache: { file, index: 0, cap: 1 }, dest });
    expect(first).toEqual({ nan: 0 });
    const want = (x: number, y: number) => a.values[(y * 4 + x) * 2 + 1];
    expect(Array.from(dest.planes[0].subarray(6, 9))).toEqual([want(1, 1), want(2, 1), want(3, 1)]);
    expect(Array.from(dest.planes[0].subarray(11, 14))).toEqual([want(1, 2), want(2, 2), want(3, 2)]);
    expect(dest.planes[0][5]).toBe(0); // outside the rect: untouched
    // The rest of the chunk, from the cache: no bytes sent.
    const again = decodeChunk({ ...base, bytes: null, rect: [0, 0, 4, 1], samples: [0, 1], cache: { file, index: 0, cap: 1 } }) as { planes: Float32Array[] };
    expect(Array.from(again.planes[0])).toEqual([0, 1, 2, 3].map((x) => a.values[x * 2]));
    // A second chunk of the same file, cap 1: the first is evicted and misses.
    decodeChunk({ ...base, bytes: b.bytes, rect: [0, 0, 1, 1], samples: [0], cache: { file, index: 1, cap: 1 } });
    expect(() => decodeChunk({ ...base, bytes: null, rect: [0, 0, 1, 1], samples: [0], cache: { file, index: 0, cap: 1 } })).toThrow(CACHE_MISS);
  });

  it('counts nodata written as NaN', () => {
    const a = chunk(3);
    const nodata = a.values[2 * 2]; // pixel (2, 0), sample 0
    const out = decodeChunk({ ...base, nodata, bytes: a.bytes, rect: [0, 0, 4, 3], samples: [0], dest: { planes: [new Float32Array(12)], offset: 0, stride: 4 } });
    expect(out).toEqual({ nan: 1 });
  });

  it('decodes four interleaved samples in one fused pass exactly as one sample at a time', () => {
    // 8×5 chunk, 4 samples, random uint16 differenced per row; nodata = one of its values.
    let seed = 5;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % 65536;
    const values = Uint16Array.from({ length: 8 * 5 * 4 }, rnd);
    const diff = new Uint16Array(values);
    for (let r = 0; r < 5; r++) for (let i = r * 32 + 31; i >= r * 32 + 4; i--) diff[i] = (values[i] - values[i - 4]) & 0xffff;
    const bytes = new Uint8Array(deflateSync(new Uint8Array(diff.buffer)));
    const job = { ...base, spp: 4, chunkWidth: 8, chunkRows: 5, nodata: values[2 * 32 + 3 * 4 + 1], rect: [2, 1, 5, 3] as const };
    const fused = decodeChunk({ ...job, bytes: bytes.slice(), samples: [0, 1, 2, 3] }) as { planes: Float32Array[] };
    for (let s = 0; s < 4; s++) {
      const one = decodeChunk({ ...job, bytes: bytes.slice(), samples: [s] }) as { planes: Float32Array[] };
      expect(Array.from(fused.planes[s])).toEqual(Array.from(one.planes[0]));
      for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) {
        const v = values[((y + 1) * 8 + x + 2) * 4 + s];
        if (v === job.nodata) expect(fused.planes[s][y * 5 + x]).toBeNaN();
        else expect(fused.planes[s][y * 5 + x]).toBe(v);
      }
    }
    const dest = { planes: [0, 1, 2, 3].map(() => new Float32Array(15)), offset: 0, stride: 5 };
    expect(decodeChunk({ ...job, bytes: bytes.slice(), samples: [0, 1, 2, 3], dest })).toEqual({ nan: 1 });
    expect(dest.planes.map((p) => Array.from(p))).toEqual(fused.planes.map((p) => Array.from(p)));
  });
});
