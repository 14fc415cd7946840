/**
 * Holes in a component's outline, filled. A new surface that changed as one (a construction pad on
 * a fallow field, a yard) is often found at its rim only: the learned model reads edges and
 * texture, and the even inside scores under the cut. Its polygon is then a ring round a hole, and a
 * bureau sees a sliver where a parcel was taken. A hole is a 4-connected region of unlabelled
 * pixels that the component's 8-connected pixels enclose; it is given to the outline when every
 * pixel of it was observed (no cloud, shadow or nodata) and it is at most HOLE_TO_RING times the
 * component's own pixels. A hole holding another component stays (polygons never overlap), and so
 * does a ring round something much larger than itself: a field's edge lit by misregistration is a
 * thin ring round a large unchanged field, and filling it would issue the field.
 *
 * Outline only: the change type, the confidence and the seeds were read from the component's own
 * pixels before, and are not touched.
 */
import type { LabelBoxes } from '../../geo/kernels/polygonize.js';

/** Largest hole filled, in multiples of the component's own pixel count. */
export const HOLE_TO_RING = 4;

/** Grid states while one component's box is searched. */
const OTHER = 0;
const OWN = 1;
const OUTSIDE = 2;
const HOLE = 3;

/**
 * Fills the holes described above of every kept component in `labels`, and sets them in `mask`
 * (non-zero at every labelled pixel). `score` is NaN where a pixel was not observed. The boxes
 * do not change. Work is per component's bounding box. Returns the pixels filled.
 */
export function fillEnclosedHoles(labels: Int32Array, mask: Uint8Array, score: Float32Array, w: number, count: number, keep: Uint8Array, boxes: LabelBoxes): number {
  let filled = 0;
  let grid = new Uint8Array(0);
  let queue = new Int32Array(0);
  for (let l = 1; l <= count; l++) {
    if (!keep[l]) continue;
    const c0 = boxes.minCol[l];
    const r0 = boxes.minRow[l];
    const bw = boxes.maxCol[l] - c0 + 1;
    const bh = boxes.maxRow[l] - r0 + 1;
    if (bw < 3 || bh < 3) continue; // nothing can be enclosed
    const size = bw * bh;
    if (grid.length < size) {
      grid = new Uint8Array(size);
      queue = new Int32Array(size);
    }
    let own = 0;
    for (let y = 0; y < bh; y++) {
      const src = (r0 + y) * w + c0;
      for (let x = 0; x < bw; x++) {
        const mine = labels[src + x] === l;
        grid[y * bw + x] = mine ? OWN : OTHER;
        if (mine) own++;
      }
    }
    if (own === size) continue;
    // Everything not the component's that the box's edge reaches, 4-connected, is outside.
    let tail = 0;
    for (let i = 0; i < size; i++) {
      const x = i % bw;
      const edge = i < bw || i >= size - bw || x === 0 || x === bw - 1;
      if (edge && grid[i] === OTHER) {
        grid[i] = OUTSIDE;
        queue[tail++] = i;
      }
    }
    for (let head = 0; head < tail; head++) {
      const i = queue[head];
      const x = i % bw;
      if (x > 0) tail = claim(grid, queue, tail, i - 1, OUTSIDE);
      if (x < bw - 1) tail = claim(grid, queue, tail, i + 1, OUTSIDE);
      if (i >= bw) tail = claim(grid, queue, tail, i - bw, OUTSIDE);
      if (i < size - bw) tail = claim(grid, queue, tail, i + bw, OUTSIDE);
    }
    // What is left is enclosed: each 4-connected region of it is one hole. An enclosed region never
    // touches the box's edge, so the neighbours of its pixels lie inside the box.
    for (let start = 0; start < size; start++) {
      if (grid[start] !== OTHER) continue;
      grid[start] = HOLE;
      queue[0] = start;
      let n = 1;
      let fillable = true;
      for (let head = 0; head < n; head++) {
        const i = queue[head];
        const x = i % bw;
        const p = (r0 + (i - x) / bw) * w + c0 + x;
        if (labels[p] !== 0 || score[p] !== score[p]) fillable = false;
        n = claim(grid, queue, n, i - 1, HOLE);
        n = claim(grid, queue, n, i + 1, HOLE);
        n = claim(grid, queue, n, i - bw, HOLE);
        n = claim(grid, queue, n, i + bw, HOLE);
      }
      if (!fillable || n > HOLE_TO_RING * own) continue;
      for (let k = 0; k < n; k++) {
        const i = queue[k];
        const x = i % bw;
        const p = (r0 + (i - x) / bw) * w + c0 + x;
        labels[p] = l;
        mask[p] = 1;
      }
      filled += n;
    }
  }
  return filled;
}

/** Marks cell j as `state` and queues it when it is still OTHER; returns the new queue length. */
function claim(grid: Uint8Array, queue: Int32Array, tail: number, j: number, state: number): number {
  if (grid[j] !== OTHER) return tail;
  grid[j] = state;
  queue[tail] = j;
  return tail + 1;
}
