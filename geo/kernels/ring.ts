/**
 * Small helpers over closed rings of [x, y] positions (pixel corners or map units).
 */

/**
 * Signed shoelace area of a ring, in squared coordinate units. The ring may be closed
 * (first == last) or open; the closing segment is implied either way.
 *
 * Sign convention, in the coordinates as given: positive when the ring turns from +x towards +y.
 * In pixel space (col right, row down) that is clockwise on screen, which is how
 * `polygonizeLabels` emits shells (holes come out negative); after a north-up geotransform
 * (negative row step) shells become counter-clockwise, as RFC 7946 asks.
 */
export function ringArea(ring: readonly (readonly number[])[]): number {
  const n = ring.length;
  if (n < 3) return 0;
  let sum = 0;
  let px = ring[n - 1][0];
  let py = ring[n - 1][1];
  for (let i = 0; i < n; i++) {
    const x = ring[i][0];
    const y = ring[i][1];
    sum += px * y - x * py;
    px = x;
    py = y;
  }
  return sum / 2;
}

/**
 * Whether point (x, y) lies strictly inside a closed ring (even–odd rule). Points exactly on the
 * boundary give an unspecified answer: callers pick a test point off the boundary.
 */
export function pointInRing(x: number, y: number, ring: readonly (readonly number[])[]): boolean {
  let inside = false;
  const n = ring.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = ring[i][0];
    const yi = ring[i][1];
    const xj = ring[j][0];
    const yj = ring[j][1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
