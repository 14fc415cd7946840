/**
 * Certain answers about segments of lon/lat (or any planar) rings, in doubles: the sign of a turn,
 * whether two segments share no point, whether rings are simple. "Certain" means the answer is the
 * exact one: a determinant's sign is trusted only when it exceeds 1e-9 of its terms' magnitude, far
 * above double rounding (≤ 3.3e-16, Shewchuk) and above the inexactness of turf's clipper
 * (polyclip-ts: quotients to 20 decimal places) and of turf's kinks; anything closer is "unsure".
 */
import type { Position } from 'geojson';

/** Relative tolerance under which an orientation determinant is "too close to call". */
const REL_TOL = 1e-9;

/**
 * Sign of the turn a→b→c: 1 when c is left of a→b, -1 right, 0 when the determinant is too close to
 * zero to be sure of its sign (collinear, nearly so, or NaN).
 */
export function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const l = (ax - cx) * (by - cy);
  const r = (ay - cy) * (bx - cx);
  const det = l - r;
  const bound = REL_TOL * (Math.abs(l) + Math.abs(r));
  if (det > bound) return 1;
  if (det < -bound) return -1;
  return 0;
}

/** True only when segments a–b and c–d certainly share no point. */
export function segmentsApart(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, dx: number, dy: number): boolean {
  const s1 = orient(ax, ay, bx, by, cx, cy);
  if (s1 !== 0 && s1 === orient(ax, ay, bx, by, dx, dy)) return true;
  const s2 = orient(cx, cy, dx, dy, ax, ay);
  return s2 !== 0 && s2 === orient(cx, cy, dx, dy, bx, by);
}

/**
 * True only when the rings are closed, of at least 4 positions, and no two of their edges meet
 * except consecutive edges of one ring at their shared vertex: no repeated vertex, no vertex on
 * another edge, no crossing, within a ring or between rings.
 */
export function ringsSimple(rings: readonly Position[][]): boolean {
  let count = 0;
  for (const ring of rings) {
    const n = ring.length;
    if (n < 4 || ring[0][0] !== ring[n - 1][0] || ring[0][1] !== ring[n - 1][1]) return false;
    for (const p of ring) if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) return false;
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
      // Consecutive edges of one ring share a vertex by construction; whether they overlap beyond it
      // depends on the turn there, which callers check when it matters to them.
      if (ringOf[e] === ringOf[f] && (jf === (ie + 1) % ne || ie === (jf + 1) % ne)) continue;
      if (!segmentsApart(a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1])) return false;
    }
  }
  return true;
}
