import { describe, expect, it } from 'vitest';
import { collectGarbage } from './collect-garbage.js';

describe('collectGarbage', () => {
  it('frees a large buffer that nothing references any more, now', async () => {
    // A tile's rasters in small: shared, outside the heap, every page touched.
    let ref: WeakRef<SharedArrayBuffer> | undefined;
    (() => {
      const sab = new SharedArrayBuffer(64 * 2 ** 20);
      new Uint8Array(sab).fill(1);
      ref = new WeakRef(sab);
    })();
    // A WeakRef's target is kept alive until the current job ends. (Without the collection the
    // buffer outlives the test: nothing else in it makes V8 collect.)
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(collectGarbage()).toBe(true);
    expect(ref!.deref()).toBeUndefined();
  });

  it('leaves what is still referenced', async () => {
    const kept = new Float32Array(1024).fill(7);
    const ref = new WeakRef(kept);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(collectGarbage()).toBe(true);
    expect(ref.deref()).toBe(kept);
    expect(kept[1023]).toBe(7);
  });
});
