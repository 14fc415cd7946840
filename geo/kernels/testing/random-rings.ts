/**
 * Seeded random polygons for tests of ring predicates and of the overlay's fast paths:
 * star-shaped rings (so simple) in lon/lat near Jinan. Imported by tests only.
 */
import type { Position } from 'geojson';

// Seeded, so a failure names a case that can be run again (the scene's PRNG).
export { mulberry32 as rng } from '../../../fixtures/scene-math.js';

/**
 * A star-shaped (so simple) ring of n ≥ 5 vertices around (cx, cy), radii in [rMin, rMax] degrees,
 * counter-clockwise unless `cw`. Angles are jittered steps, so with rMin ≥ rMax / 2 every edge stays
 * more than rMax / 5 from the centre (room for a hole of that radius).
 */
export function star(rand: () => number, cx: number, cy: number, rMin: number, rMax: number, n: number, cw = false): Position[] {
  const angles = Array.from({ length: n }, (_, i) => ((i + 0.8 * rand()) * 2 * Math.PI) / n);
  const ring = angles.map((t) => {
    const r = rMin + rand() * (rMax - rMin);
    return [cx + r * Math.cos(t), cy + r * Math.sin(t)];
  });
  if (cw) ring.reverse();
  ring.push(ring[0]);
  return ring;
}

/** Polygon rings: an outer star, and a hole (a smaller star inside it) when `hole`. */
export function starPolygon(rand: () => number, cx: number, cy: number, r: number, hole: boolean): Position[][] {
  const rings = [star(rand, cx, cy, 0.5 * r, r, 5 + Math.floor(rand() * 30))];
  if (hole) rings.push(star(rand, cx, cy, 0.1 * r, 0.2 * r, 5 + Math.floor(rand() * 8), true));
  return rings;
}
