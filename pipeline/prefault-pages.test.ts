import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PREFAULT_MIN_BYTES, prefaultPages } from './prefault-pages.js';

/** Resident anonymous memory of this process, bytes (Linux). */
function rssAnon(): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no RssAnon in /proc/self/status');
  return Number(m[1]) * 1024;
}

/**
 * The first test's buffer, kept alive to the end of the file: collected during the second test, its
 * pages went back to the system between two readings there and read as a negative growth (a CI run
 * failed so).
 */
const held: SharedArrayBuffer[] = [];

describe('prefaultPages', () => {
  it('makes a fresh buffer resident and leaves it all zeros', async () => {
    const size = 2 * PREFAULT_MIN_BYTES;
    const buffer = new SharedArrayBuffer(size);
    held.push(buffer);
    const before = rssAnon();
    await prefaultPages(buffer);
    // The worker wrote every page: they are this process's memory now (a fresh buffer is not).
    expect(rssAnon() - before).toBeGreaterThan(0.75 * size);
    const words = new Int32Array(buffer);
    let nonZero = 0;
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) nonZero++;
    expect(nonZero).toBe(0);
  });

  it('leaves a buffer under the floor to be faulted in where it is first written', async () => {
    const buffer = new SharedArrayBuffer(PREFAULT_MIN_BYTES / 2);
    const before = rssAnon();
    await prefaultPages(buffer);
    expect(rssAnon() - before).toBeLessThan(PREFAULT_MIN_BYTES / 4);
    // With a lower floor the same buffer is touched (its last page included).
    const untouched = rssAnon();
    await prefaultPages(buffer, 0);
    expect(rssAnon() - untouched).toBeGreaterThan(0.75 * buffer.byteLength);
    expect(held).toHaveLength(1);
  });
});
