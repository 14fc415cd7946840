/**
 * A pool of no workers (TUBAN_INFLATE_WORKERS=0) decodes on the calling thread with the workers' own
 * code: the same planes, the same in-place writes and chunk cache, the same errors.
 */
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import { CACHE_MISS, InflatePool, defaultInflateWorkers, inflateWorkersFrom, type ChunkJob } from './inflate-pool.js';

/** A 4×3 chunk, 2 samples per pixel, uint16, horizontally differenced (predictor 2), deflated. */
function chunk(seed: number): { bytes: Uint8Array; values: Uint16Array } {
  const values = Uint16Array.from({ length: 4 * 3 * 2 }, (_, i) => (seed * 7919 + i * 37) % 65536);
  const diff = new Uint16Array(values);
  for (let r = 0; r < 3; r++) for (let i = r * 8 + 7; i >= r * 8 + 2; i--) diff[i] = (values[i] - values[i - 2]) & 0xffff;
  return { bytes: new Uint8Array(deflateSync(new Uint8Array(diff.buffer))), values };
}

const base = { compression: 8, predictor: 2, bps: 2, sampleFormat: 1, spp: 2, chunkWidth: 4, chunkRows: 3, nodata: null } as const;
const job = (c: { bytes: Uint8Array }, extra: Partial<ChunkJob> = {}): ChunkJob => ({ ...base, bytes: new Uint8Array(c.bytes), rect: [1, 0, 3, 3], samples: [1, 0], ...extra });

describe('inflate pool of no workers', () => {
  const inline = new InflatePool(0);
  const threads = new InflatePool(1);
  afterAll(() => Promise.all([inline.close(), threads.close()]));

  it('decodes planes, shared destinations and cached parts exactly as a worker does', async () => {
    const c = chunk(3);
    expect(await inline.decode(job(c))).toEqual(await threads.decode(job(c)));
    const dest = () => ({ planes: [new Float32Array(new SharedArrayBuffer(4 * 20)), new Float32Array(new SharedArrayBuffer(4 * 20))], offset: 6, stride: 5 });
    const [d0, d1] = [dest(), dest()];
    expect(await inline.run(job(c, { dest: d0, cache: { file: 7, index: 0, cap: 2 } }))).toEqual(await threads.run(job(c, { dest: d1, cache: { file: 7, index: 0, cap: 2 } }), 0));
    expect(d0.planes).toEqual(d1.planes);
    // The rest of the chunk from each one's cache, no bytes.
    const rest = job(c, { bytes: null, rect: [0, 0, 1, 3], cache: { file: 7, index: 0, cap: 2 } });
    expect(await inline.run(rest)).toEqual(await threads.run(rest, 0));
    inline.forget(7);
    await expect(inline.run(rest)).rejects.toThrow(CACHE_MISS);
  });

  it('rejects a corrupt chunk with the worker’s message', async () => {
    const bad = { bytes: new Uint8Array([1, 2, 3, 4]) };
    const [a, b] = await Promise.all([inline.decode(job(bad)).catch((e: Error) => e.message), threads.decode(job(bad)).catch((e: Error) => e.message)]);
    expect(a).toBe(b);
    expect(a.length).toBeGreaterThan(0);
  });

  it('takes its size from TUBAN_INFLATE_WORKERS: a whole number ≥ 0, else every core', () => {
    expect(inflateWorkersFrom('0')).toBe(0);
    expect(inflateWorkersFrom('3')).toBe(3);
    expect(inflateWorkersFrom(undefined)).toBe(defaultInflateWorkers());
    for (const v of ['-1', '1.5', 'two']) {
      const err = (() => { try { inflateWorkersFrom(v); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(TubanError);
      expect((err as TubanError).code).toBe('CONFIG.INVALID');
      expect((err as TubanError).message).toContain('TUBAN_INFLATE_WORKERS');
    }
  });
});
