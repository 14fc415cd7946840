/**
 * Test helpers for the kernels: a seeded PRNG, random masks, and a brute-force OGC validity check
 * for polygons (quadratic in vertices; meant for small hand-made or random fixtures only).
 */
import { pointInRing, ringArea } from '../ring.js';

// The same seeded PRNG as the synthetic scene, so fixtures are identical across runs.
export { mulberry32 } from '../../../fixtures/scene-math.js';

/** A w×h 0/1 mask with foreground probability `density`. */
export function randomMask(w: number, h: number, density: number, rand: () => number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let i = 0; i < m.length; i++) m[i] = rand() < density ? 1 : 0;
  return m;
}

/** Build a mask from rows of '#' (foreground) and '.' (background). */
export function maskFromRows(rows: string[]): { mask: Uint8Array; w: number; h: number } {
  const h = rows.length;
  const w = rows[0].length;
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mask[y * w + x] = rows[y][x] === '#' ? 1 : 0;
  return { mask, w, h };
}

type Pt = readonly number[];

/** Intersection of closed segments a–b, c–d: null, a point, or 'overlap' (collinear, > a point). */
function intersect(a: Pt, b: Pt, c: Pt, d: Pt): Pt | 'overlap' | null {
  const rx = b[0] - a[0];
  const ry = b[1] - a[1];
  const sx = d[0] - c[0];
  const sy = d[1] - c[1];
  const den = rx * sy - ry * sx;
  const qx = c[0] - a[0];
  const qy = c[1] - a[1];
  if (den === 0) {
    if (qx * ry - qy * rx !== 0) return null; // parallel, not collinear
    // Projections onto a–b scaled by |r|², so integer inputs stay exact.
    const rr = rx * rx + ry * ry;
    const p0 = qx * rx + qy * ry;
    const p1 = p0 + sx * rx + sy * ry;
    const lo = Math.max(0, Math.min(p0, p1));
    const hi = Math.min(rr, Math.max(p0, p1));
    if (lo > hi) return null;
    if (lo < hi) return 'overlap';
    return [a[0] + (lo / rr) * rx, a[1] + (lo / rr) * ry];
  }
  const t = (qx * sy - qy * sx) / den;
  const u = (qx * ry - qy * rx) / den;
  if (t < 0 || t > 1 || u < 0 || u > 1) return null;
  return [a[0] + t * rx, a[1] + t * ry];
}

/**
 * Why `poly` (shell + holes, closed rings) is not a valid OGC polygon, or null when it is.
 * Also enforces the kernels' orientation: shell area > 0, holes < 0.
 */
export function polygonProblem(poly: number[][][]): string | null {
  if (poly.length === 0) return 'no rings';
  for (let r = 0; r < poly.length; r++) {
    const ring = poly[r];
    if (ring.length < 4) return `ring ${r} has ${ring.length} points`;
    const f = ring[0];
    const l = ring[ring.length - 1];
    if (f[0] !== l[0] || f[1] !== l[1]) return `ring ${r} not closed`;
    for (let k = 0; k + 1 < ring.length; k++) {
      if (ring[k][0] === ring[k + 1][0] && ring[k][1] === ring[k + 1][1]) return `ring ${r} repeats vertex ${k}`;
    }
    const a = ringArea(ring);
    if (r === 0 ? !(a > 0) : !(a < 0)) return `ring ${r} has area ${a} (wrong orientation or degenerate)`;
  }
  // Rings simple.
  for (let r = 0; r < poly.length; r++) {
    const ring = poly[r];
    const m = ring.length - 1;
    for (let i = 0; i < m; i++) {
      for (let j = i + 1; j < m; j++) {
        const x = intersect(ring[i], ring[i + 1], ring[j], ring[j + 1]);
        const adjacent = j === i + 1 || (i === 0 && j === m - 1);
        if (x === null) continue;
        if (x === 'overlap') return `ring ${r} segments ${i},${j} overlap`;
        if (!adjacent) return `ring ${r} self-intersects at ${x} (segments ${i},${j})`;
        const shared = j === i + 1 ? ring[j] : ring[0];
        if (x[0] !== shared[0] || x[1] !== shared[1]) return `ring ${r} adjacent segments ${i},${j} fold`;
      }
    }
  }
  // Ring pairs: meet in at most one point; touch graph acyclic (else the interior is split).
  const root = poly.map((_, i) => i);
  const find = (a: number): number => {
    while (root[a] !== a) a = root[a];
    return a;
  };
  for (let r = 0; r < poly.length; r++) {
    for (let s = r + 1; s < poly.length; s++) {
      const pts = new Set<string>();
      for (let i = 0; i + 1 < poly[r].length; i++) {
        for (let j = 0; j + 1 < poly[s].length; j++) {
          const x = intersect(poly[r][i], poly[r][i + 1], poly[s][j], poly[s][j + 1]);
          if (x === null) continue;
          if (x === 'overlap') return `rings ${r},${s} share a segment`;
          pts.add(`${x[0]},${x[1]}`);
        }
      }
      if (pts.size > 1) return `rings ${r},${s} touch at ${pts.size} points`;
      if (pts.size === 1) {
        const a = find(r);
        const b = find(s);
        if (a === b) return `rings ${r},${s} close a cycle of touching rings`;
        root[a] = b;
      }
    }
  }
  // Containment, tested at a vertex not on the other ring.
  const off = (ring: number[][], other: number[][]): number[] | null =>
    ring.find((p) => !other.some((q) => q[0] === p[0] && q[1] === p[1])) ?? null;
  for (let h = 1; h < poly.length; h++) {
    const p = off(poly[h], poly[0]);
    if (p && !pointInRing(p[0], p[1], poly[0])) return `hole ${h} outside the shell`;
    for (let g = 1; g < poly.length; g++) {
      if (g === h) continue;
      const q = off(poly[h], poly[g]);
      if (q && pointInRing(q[0], q[1], poly[g])) return `hole ${h} inside hole ${g}`;
    }
  }
  return null;
}

/** Whether a point is in the polygon's area (inside the shell, outside every hole). */
export function pointInPolygon(x: number, y: number, poly: number[][][]): boolean {
  if (!pointInRing(x, y, poly[0])) return false;
  for (let h = 1; h < poly.length; h++) if (pointInRing(x, y, poly[h])) return false;
  return true;
}
