/**
 * Byte lanes of a 32-bit word, four pixels of a byte plane at a time (the type and mask planes of
 * the detector's serial passes).
 */

/** 0x80 in each byte lane of x that is zero, 0 elsewhere (exact: (lane & 0x7F) + 0x7F never carries out of its lane). */
export function zeroLanes(x: number): number {
  return ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f) & 0x80808080;
}

/** The first n bytes of `a` as whole Uint32 words (n >> 2 of them), or null when `a` is not 4-byte aligned. */
export function byteWords(a: Uint8Array, n: number): Uint32Array | null {
  return a.byteOffset % 4 === 0 ? new Uint32Array(a.buffer, a.byteOffset, n >>> 2) : null;
}

/** How many byte lanes of x are zero (0…4). */
export function zeroLaneCount(x: number): number {
  return Math.imul(zeroLanes(x) >>> 7, 0x01010101) >>> 24;
}
