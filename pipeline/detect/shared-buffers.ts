/**
 * SharedArrayBuffers kept for the next tile: a process's free list, by exact size.
 *
 * A tile's sample windows and strips are read into SharedArrayBuffers (the inflate workers decode
 * straight into them). Allocated anew per tile, they are external memory to V8, and external memory
 * is what schedules its major GCs: a `tuban worker` on small tiles ran more than one full mark-compact
 * per tile, most of it on V8's helper threads, i.e. CPU the other workers of a full machine lose.
 * Tiles of one batch have the same sizes, so the buffers of one tile fit the next exactly.
 *
 * Only a buffer that nothing references any more may be given back: a reader that failed half-way
 * may still have inflate jobs writing into its buffers, so callers give back on success only.
 * The list holds at most MAX_KEPT_BYTES; a set that does not fit is left to the garbage collector.
 */

/**
 * Kept at most, all sizes together: a few small tiles' samples and strips (a 300² tile's samples
 * are ~5 MB). A large tile's (52 MB on a 1024² or 10980² tile) are not kept: there the fixed cost
 * is small beside the tile, and memory held through the tile would only raise its peak.
 */
const MAX_KEPT_BYTES = 16 * 2 ** 20;

const free = new Map<number, SharedArrayBuffer[]>();
let keptBytes = 0;

/** A SharedArrayBuffer of `bytes`: a kept one (stale contents: the caller writes every byte it reads) or a new one (zeros). */
export function takeShared(bytes: number): SharedArrayBuffer {
  const list = free.get(bytes);
  const kept = list?.pop();
  if (kept) {
    keptBytes -= bytes;
    return kept;
  }
  return new SharedArrayBuffer(bytes);
}

/** Gives buffers back for later takeShared calls, all or (over the cap) none; each must be unreferenced from now on. */
export function giveBackShared(buffers: readonly SharedArrayBuffer[]): void {
  if (keptBytes + buffers.reduce((a, b) => a + b.byteLength, 0) > MAX_KEPT_BYTES) return;
  for (const b of buffers) {
    let list = free.get(b.byteLength);
    if (!list) free.set(b.byteLength, (list = []));
    // A buffer given back twice would be handed to two owners at once.
    if (list.includes(b)) throw new Error('giveBackShared: buffer given back twice');
    list.push(b);
    keptBytes += b.byteLength;
  }
}

/** Bytes kept now (tests, diagnostics). */
export function sharedKeptBytes(): number {
  return keptBytes;
}
