/**
 * Validity-preserving Douglas–Peucker for pixel polygons (or any valid polygon whose rings touch
 * each other at most at single shared vertices, as `polygonizeLabels` emits).
 */
import type { PixelPolygon } from './polygonize.js';
import { pointInRing, ringArea } from './ring.js';

/**
 * Simplify every ring with Douglas–Peucker at `tolerance` (coordinate units, e.g. pixels),
 * dropping first the holes whose |area| < `minHoleArea` (units², default 0 = keep all).
 *
 * A simplified ring is accepted only if it stays simple, keeps its orientation, has ≥ 4 points
 * (3 distinct vertices), crosses no other ring of the polygon (rings may meet only at vertices
 * they already shared), and keeps every hole inside the shell and outside the other holes.
 * Otherwise the tolerance is halved (up to 3 times) and then the ring is kept unsimplified.
 * Rings are handled one at a time against the current state of the others, so the result is
 * valid whenever the input is. Returns a new polygon; the input is not modified.
 */
export function simplifyPolygon(poly: PixelPolygon, tolerance: number, minHoleArea = 0): PixelPolygon {
  if (poly.length === 0) return [];
  const rings: number[][][] = [poly[0]];
  for (let i = 1; i < poly.length; i++) {
    if (minHoleArea > 0 && Math.abs(ringArea(poly[i])) < minHoleArea) continue;
    rings.push(poly[i]);
  }
  if (!(tolerance > 0)) return rings.map((r) => r.map((p) => [p[0], p[1]]));
  for (let i = 0; i < rings.length; i++) {
    const orig = rings[i];
    const sign = Math.sign(ringArea(orig));
    for (let attempt = 0, tol = tolerance; attempt < 4; attempt++, tol /= 2) {
      const cand = douglasPeucker(orig, tol);
      if (cand.length >= orig.length) break;
      if (cand.length < 4 || Math.sign(ringArea(cand)) !== sign) continue;
      if (!acceptable(cand, i, rings)) continue;
      rings[i] = cand;
      break;
    }
  }
  return rings.map((r) => r.map((p) => [p[0], p[1]]));
}

/** Douglas–Peucker on a closed ring (explicit stack). Returns a closed ring of kept vertices. */
export function douglasPeucker(ring: readonly (readonly number[])[], tolerance: number): number[][] {
  const m = ring.length - 1; // distinct vertices (ring[m] == ring[0])
  if (m < 4) return ring.map((p) => [p[0], p[1]]);
  // Anchor on vertex 0 and the vertex farthest from it: both halves are then open polylines.
  let far = 1;
  let farD = -1;
  for (let i = 1; i < m; i++) {
    const dx = ring[i][0] - ring[0][0];
    const dy = ring[i][1] - ring[0][1];
    const d = dx * dx + dy * dy;
    if (d > farD) {
      farD = d;
      far = i;
    }
  }
  const keepFlag = new Uint8Array(m + 1);
  keepFlag[0] = 1;
  keepFlag[far] = 1;
  keepFlag[m] = 1;
  const tol2 = tolerance * tolerance;
  const stack: number[] = [0, far, far, m];
  while (stack.length > 0) {
    const last = stack.pop()!;
    const first = stack.pop()!;
    let maxD = -1;
    let idx = -1;
    for (let i = first + 1; i < last; i++) {
      const d = segDist2(ring[i][0], ring[i][1], ring[first][0], ring[first][1], ring[last][0], ring[last][1]);
      if (d > maxD) {
        maxD = d;
        idx = i;
      }
    }
    if (idx >= 0 && maxD > tol2) {
      keepFlag[idx] = 1;
      stack.push(first, idx, idx, last);
    }
  }
  const out: number[][] = [];
  for (let i = 0; i < m; i++) if (keepFlag[i]) out.push([ring[i][0], ring[i][1]]);
  out.push([out[0][0], out[0][1]]);
  return out;
}

/** Squared distance from (px, py) to segment (ax, ay)–(bx, by). */
function segDist2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  let dx = bx - ax;
  let dy = by - ay;
  let x = ax;
  let y = ay;
  if (dx !== 0 || dy !== 0) {
    const t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy);
    if (t > 1) {
      x = bx;
      y = by;
    } else if (t > 0) {
      x += dx * t;
      y += dy * t;
    }
  }
  dx = px - x;
  dy = py - y;
  return dx * dx + dy * dy;
}

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  return Math.min(ax, bx) <= px && px <= Math.max(ax, bx) && Math.min(ay, by) <= py && py <= Math.max(ay, by);
}

/**
 * Whether closed segments a–b and c–d intersect other than in exactly one common endpoint
 * (a shared vertex where the segments are not collinear and overlapping).
 */
export function segmentsConflict(
  ax: number, ay: number, bx: number, by: number,
  cx: number, cy: number, dx: number, dy: number,
): boolean {
  const o1 = orient(ax, ay, bx, by, cx, cy);
  const o2 = orient(ax, ay, bx, by, dx, dy);
  const o3 = orient(cx, cy, dx, dy, ax, ay);
  const o4 = orient(cx, cy, dx, dy, bx, by);
  const shared =
    (ax === cx && ay === cy) || (ax === dx && ay === dy) || (bx === cx && by === cy) || (bx === dx && by === dy);
  if (o1 === 0 && o2 === 0) {
    // Collinear: conflict if they overlap in more than a shared endpoint.
    const useX = ax !== bx || cx !== dx;
    const a0 = useX ? Math.min(ax, bx) : Math.min(ay, by);
    const a1 = useX ? Math.max(ax, bx) : Math.max(ay, by);
    const c0 = useX ? Math.min(cx, dx) : Math.min(cy, dy);
    const c1 = useX ? Math.max(cx, dx) : Math.max(cy, dy);
    const lo = Math.max(a0, c0);
    const hi = Math.min(a1, c1);
    if (lo > hi) return false;
    return lo < hi || !shared;
  }
  if (shared) return false; // non-collinear segments meeting at a common endpoint meet only there
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(ax, ay, bx, by, cx, cy)) ||
    (o2 === 0 && onSegment(ax, ay, bx, by, dx, dy)) ||
    (o3 === 0 && onSegment(cx, cy, dx, dy, ax, ay)) ||
    (o4 === 0 && onSegment(cx, cy, dx, dy, bx, by))
  );
}

/**
 * Checks candidate ring `cand` replacing rings[i]: simple, no conflicts with the other rings,
 * containment unchanged (hole inside shell, holes outside each other).
 */
function acceptable(cand: number[][], i: number, rings: number[][][]): boolean {
  // Segments sorted by min x; a sweep compares only x-overlapping pairs.
  const segs: { ring: number; k: number; x0: number; x1: number }[] = [];
  for (let r = 0; r < rings.length; r++) {
    const ring = r === i ? cand : rings[r];
    for (let k = 0; k + 1 < ring.length; k++) {
      const a = ring[k];
      const b = ring[k + 1];
      segs.push({ ring: r, k, x0: Math.min(a[0], b[0]), x1: Math.max(a[0], b[0]) });
    }
  }
  segs.sort((s, t) => s.x0 - t.x0);
  const nc = cand.length - 1;
  for (let s = 0; s < segs.length; s++) {
    const S = segs[s];
    for (let t = s + 1; t < segs.length && segs[t].x0 <= S.x1; t++) {
      const T = segs[t];
      if (S.ring !== i && T.ring !== i) continue;
      const rs = S.ring === i ? cand : rings[S.ring];
      const rt = T.ring === i ? cand : rings[T.ring];
      const a = rs[S.k];
      const b = rs[S.k + 1];
      const c = rt[T.k];
      const d = rt[T.k + 1];
      if (Math.max(a[1], b[1]) < Math.min(c[1], d[1]) || Math.max(c[1], d[1]) < Math.min(a[1], b[1])) continue;
      if (S.ring === T.ring) {
        // Adjacent segments of the ring share one vertex; they conflict only by folding back.
        const diff = Math.abs(S.k - T.k);
        if (diff === 1 || diff === nc - 1) {
          if (segmentsConflict(a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1])) return false;
          continue;
        }
        if (segmentsConflict(a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1])) return false;
        // Non-adjacent segments of one ring may not even share a vertex (no self-touching).
        if ((a[0] === c[0] && a[1] === c[1]) || (a[0] === d[0] && a[1] === d[1]) || (b[0] === c[0] && b[1] === c[1]) || (b[0] === d[0] && b[1] === d[1])) {
          return false;
        }
        continue;
      }
      if (segmentsConflict(a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1])) return false;
      // A shared endpoint with another ring is fine only where the original rings met:
      // `cand`'s vertices are original vertices, the other ring's are too, so equal points were shared.
    }
  }
  // Containment: no crossings, so one vertex off the other ring decides on which side it lies.
  for (let r = 0; r < rings.length; r++) {
    if (r === i) continue;
    const other = rings[r];
    if (i === 0 || r === 0) {
      const shell = i === 0 ? cand : other;
      const hole = i === 0 ? other : cand;
      const p = vertexOff(hole, shell);
      if (p !== null && !pointInRing(p[0], p[1], shell)) return false;
    } else {
      const p = vertexOff(cand, other);
      if (p !== null && pointInRing(p[0], p[1], other)) return false;
      const q = vertexOff(other, cand);
      if (q !== null && pointInRing(q[0], q[1], cand)) return false;
    }
  }
  return true;
}

/** A vertex of `ring` that is not a vertex of `other` (rings meet only at shared vertices). */
function vertexOff(ring: number[][], other: number[][]): number[] | null {
  outer: for (let k = 0; k + 1 < ring.length; k++) {
    const p = ring[k];
    for (let j = 0; j + 1 < other.length; j++) if (other[j][0] === p[0] && other[j][1] === p[1]) continue outer;
    return p;
  }
  return null;
}
