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
import { labelComponents } from '../../geo/kernels/label.js';
import type { LabelBoxes } from '../../geo/kernels/polygonize.js';

/** Largest hole filled, in multiples of the component's own pixel count. */
export const HOLE_TO_RING = 4;

/**
 * Fills the holes described above of every kept component in `labels`, and sets them in `mask`
 * (non-zero at every labelled pixel). `score` is NaN where a pixel was not observed. The boxes
 * do not change. Work is per component's bounding box. Returns the pixels filled.
 */
export function fillEnclosedHoles(labels: Int32Array, mask: Uint8Array, score: Float32Array, w: number, count: number, keep: Uint8Array, boxes: LabelBoxes): number {
  let filled = 0;
  let grid = new Uint8Array(0);
  let regions = new Int32Array(0);
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
      regions = new Int32Array(size);
    }
    // The box's pixels that are not the component's, in 4-connected regions: those that reach the
    // box's edge are outside, the others are its holes.
    let own = 0;
    for (let y = 0; y < bh; y++) {
      const src = (r0 + y) * w + c0;
      for (let x = 0; x < bw; x++) {
        const mine = labels[src + x] === l;
        grid[y * bw + x] = mine ? 0 : 1;
        if (mine) own++;
      }
    }
    if (own === size) continue;
    const n = labelComponents(grid, bw, bh, regions, 4);
    const pixels = new Uint32Array(n + 1);
    const fillable = new Uint8Array(n + 1).fill(1);
    fillable[0] = 0; // the component itself
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const k = regions[y * bw + x];
        if (k === 0) continue;
        pixels[k]++;
        const p = (r0 + y) * w + c0 + x;
        if (x === 0 || y === 0 || x === bw - 1 || y === bh - 1 || labels[p] !== 0 || score[p] !== score[p]) fillable[k] = 0;
      }
    }
    let any = false;
    for (let k = 1; k <= n; k++) {
      if (fillable[k] && pixels[k] > HOLE_TO_RING * own) fillable[k] = 0;
      if (fillable[k]) any = true;
    }
    if (!any) continue;
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        if (!fillable[regions[y * bw + x]]) continue;
        const p = (r0 + y) * w + c0 + x;
        labels[p] = l;
        mask[p] = 1;
        filled++;
      }
    }
  }
  return filled;
}
