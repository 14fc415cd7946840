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
import { orient, segmentsApart } from './zone-relation.js';

/** The polygon's rings as polyclip would return them, or null when that is not certain. */
export function asClipperWrites(rings: readonly Position[][]): Position[][] | null {
  if (rings.length === 0 || !isSimple(rings)) return null;
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

/**
 * Closed rings of at least 4 positions whose edges meet only where consecutive edges share their
 * vertex: no repeated vertex, no vertex on another edge, no crossing, within a ring or between rings.
 */
function isSimple(rings: readonly Position[][]): boolean {
  let count = 0;
  for (const ring of rings) {
    const n = ring.length;
    if (n < 4 || ring[0][0] !== ring[n - 1][0] || ring[0][1] !== ring[n - 1][1]) return false;
    count += n - 1;
  }
  // Edges as (ring, index) pairs sorted by their least x, then swept: only x-overlapping pairs are tested.
  const ringOf = new Int32Array(count);
  const idxOf = new Int32Array(count);
  const minX = new Float64Array(count);
  let k = 0;
  rings.forEach((ring, r) => {
    for (let i = 0; i < ring.length - 1; i++, k++) {
      ringOf[k] = r;
      idxOf[k] = i;
      minX[k] = Math.min(ring[i][0], ring[i + 1][0]);
    }
  });
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => minX[a] - minX[b]);
  for (let oi = 0; oi < count; oi++) {
    const e = order[oi];
    const re = rings[ringOf[e]];
    const ne = re.length - 1;
    const ie = idxOf[e];
    const a = re[ie];
    const b = re[ie + 1];
    const maxX = Math.max(a[0], b[0]);
    const y0 = Math.min(a[1], b[1]);
    const y1 = Math.max(a[1], b[1]);
    for (let oj = oi + 1; oj < count && minX[order[oj]] <= maxX; oj++) {
      const f = order[oj];
      const rf = rings[ringOf[f]];
      const jf = idxOf[f];
      const c = rf[jf];
      const d = rf[jf + 1];
      if (Math.max(c[1], d[1]) < y0 || Math.min(c[1], d[1]) > y1) continue;
      // Consecutive edges of one ring share a vertex by construction; their certain turn there
      // (walkRing) keeps them from overlapping.
      if (ringOf[e] === ringOf[f] && (jf === (ie + 1) % ne || ie === (jf + 1) % ne)) continue;
      if (!segmentsApart(a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1])) return false;
    }
  }
  return true;
}
