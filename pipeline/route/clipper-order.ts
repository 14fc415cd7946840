/**
 * A polygon written the way polyclip-ts (under turf's `intersect`) writes it back when the
 * intersection is the whole polygon: each ring starts at its sweep-first vertex (least x, then least
 * y), the outer ring runs counter-clockwise and holes clockwise, holes in the order of their first
 * vertices. Areas are sums over the vertices in order, so measuring this copy gives, to the last
 * bit, what measuring turf's result gives: the fast path of zone-relation.ts changes no output.
 *
 * polyclip also drops vertices where the outline does not turn and splits edges where rings touch;
 * such polygons, and any whose turns are too slight to be sure of, get null (ask turf instead).
 */
import type { Position } from 'geojson';
import { orient, ringsSimple } from '../../geo/kernels/segments.js';

/** The polygon's rings as polyclip would return them, or null when that is not certain. */
export function asClipperWrites(rings: readonly Position[][]): Position[][] | null {
  if (rings.length === 0 || !ringsSimple(rings)) return null;
  const outer = walkRing(rings[0]);
  if (!outer) return null;
  const holes: { first: Position; ring: Position[] }[] = [];
  for (let h = 1; h < rings.length; h++) {
    const walked = walkRing(rings[h]);
    if (!walked) return null;
    holes.push({ first: walked[0], ring: walked.reverse() });
  }
  holes.sort((a, b) => a.first[0] - b.first[0] || a.first[1] - b.first[1]);
  return [outer, ...holes.map((h) => h.ring)];
}

/**
 * The ring from its sweep-first vertex, along the lower of its two edges there (the edge the sweep
 * meets first, where polyclip starts its output ring), closed; null when a turn is uncertain.
 */
function walkRing(ring: Position[]): Position[] | null {
  const n = ring.length - 1; // closed: the last position repeats the first
  let first = 0;
  for (let i = 1; i < n; i++) {
    const p = ring[i];
    const q = ring[first];
    if (p[0] < q[0] || (p[0] === q[0] && p[1] < q[1])) first = i;
  }
  // Every vertex must turn for sure, or polyclip might drop it.
  for (let i = 0; i < n; i++) {
    const a = ring[(i + n - 1) % n];
    const b = ring[i];
    const c = ring[(i + 1) % n];
    if (orient(a[0], a[1], b[0], b[1], c[0], c[1]) === 0) return null;
  }
  const l = ring[first];
  const next = ring[(first + 1) % n];
  const prev = ring[(first + n - 1) % n];
  // prev left of first→next: the edge to next is the lower one.
  const step = orient(l[0], l[1], next[0], next[1], prev[0], prev[1]) > 0 ? 1 : n - 1;
  const out: Position[] = [];
  for (let k = 0, i = first; k <= n; k++, i = (i + step) % n) out.push(ring[i]);
  return out;
}
