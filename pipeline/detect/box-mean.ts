/**
 * Box means over finite values (NaN neighbours skipped): the smoothing kernel of the change score
 * and of the learned features' neighbourhood context.
 */

/**
 * Running-sum planes a box mean needs; `hsum`/`hcnt` hold a ring of rows read (2r + 2 rows of
 * the width used), `vsum`/`vcnt` one row.
 */
export interface BoxMeanScratch {
  hsum: Float64Array;
  hcnt: Float64Array;
  vsum: Float64Array;
  vcnt: Float64Array;
}

/**
 * Rows of horizontal sums the scratch is made with: the ring of a radius-6 box (the widest feature
 * window on a 10 m grid). A wider box grows the ring once, on first use.
 */
const RING_ROWS = 14;

/**
 * Box-mean scratch for strips of up to `pixels` pixels, `width` wide. The horizontal sums only ever
 * hold a ring of 2r + 2 rows, not the strip (on a 10980-wide strip of 196 rows: 0.5 MB instead of 34 MB).
 */
export function createBoxMeanScratch(width: number, pixels: number): BoxMeanScratch {
  const ring = Math.min(pixels, RING_ROWS * width);
  return { hsum: new Float64Array(ring), hcnt: new Float64Array(ring), vsum: new Float64Array(width), vcnt: new Float64Array(width) };
}

/**
 * Box mean of radius r over finite values (NaN neighbours skipped) for output rows
 * [first, first + count) of `src` (width × height), reading rows up to r beyond them: row-major
 * separable running sums, O(pixels) whatever r, no allocation (but once, for a box wider than the
 * scratch's ring). Writes `out` (count rows).
 */
export function boxMeanRows(
  src: Float32Array, width: number, height: number, r: number, first: number, count: number,
  sc: BoxMeanScratch, out: Float32Array,
): void {
  if (r <= 0) {
    out.set(src.subarray(first * width, (first + count) * width));
    return;
  }
  const r0 = Math.max(0, first - r);
  const r1 = Math.min(height, first + count + r);
  const ring = Math.min(2 * r + 2, r1 - r0);
  if (sc.hsum.length < ring * width) {
    sc.hsum = new Float64Array(ring * width);
    sc.hcnt = new Float64Array(ring * width);
  }
  const { hsum, hcnt, vsum, vcnt } = sc;
  // The horizontal sums of a row are made just before the vertical pass first adds it, into a
  // ring of 2r + 2 rows (every row the window holds, plus the one leaving it): they are read
  // back from cache instead of from a strip-sized plane. Same sums, same order.
  const slot = (q: number) => ((q - r0) % ring) * width;
  vsum.fill(0, 0, width);
  vcnt.fill(0, 0, width);
  // Vertical pass, row-major: running column sums over rows [row − r, row + r].
  for (let row = r0; row < Math.min(r1, first + r); row++) {
    const base = slot(row);
    horizontalRow(src, row * width, width, r, hsum, hcnt, base);
    for (let col = 0; col < width; col++) { vsum[col] += hsum[base + col]; vcnt[col] += hcnt[base + col]; }
  }
  // One loop per output row: add the row entering the window, remove the one leaving it (in
  // that order, as separate loops did), divide. `vs / (vc > 0 ? vc : NaN)` rather than
  // `vc > 0 ? vs / vc : NaN`: the same value, but V8 boxed the ternary's double result (a heap
  // number per pixel, ~30 MB of garbage per strip).
  for (let row = first; row < first + count; row++) {
    const add = row + r;
    const rem = row - r - 1;
    let ab = -1;
    if (add < r1) {
      ab = slot(add);
      horizontalRow(src, add * width, width, r, hsum, hcnt, ab);
    }
    const rb = rem >= r0 ? slot(rem) : -1;
    const ob = (row - first) * width;
    if (ab >= 0 && rb >= 0) {
      for (let col = 0; col < width; col++) {
        const vs = vsum[col] + hsum[ab + col] - hsum[rb + col];
        const vc = vcnt[col] + hcnt[ab + col] - hcnt[rb + col];
        vsum[col] = vs;
        vcnt[col] = vc;
        out[ob + col] = vs / (vc > 0 ? vc : NaN);
      }
    } else if (ab >= 0) {
      for (let col = 0; col < width; col++) {
        const vs = vsum[col] + hsum[ab + col];
        const vc = vcnt[col] + hcnt[ab + col];
        vsum[col] = vs;
        vcnt[col] = vc;
        out[ob + col] = vs / (vc > 0 ? vc : NaN);
      }
    } else if (rb >= 0) {
      for (let col = 0; col < width; col++) {
        const vs = vsum[col] - hsum[rb + col];
        const vc = vcnt[col] - hcnt[rb + col];
        vsum[col] = vs;
        vcnt[col] = vc;
        out[ob + col] = vs / (vc > 0 ? vc : NaN);
      }
    } else {
      for (let col = 0; col < width; col++) out[ob + col] = vsum[col] / (vcnt[col] > 0 ? vcnt[col] : NaN);
    }
  }
}

/**
 * Running sums (and counts) of the finite values of one row of `src` (starting at `sb`) over
 * [col − r, col + r], written at `hsum[ob + col]`. The column range is cut where the window's
 * leading edge leaves the row (col ≥ width − r: nothing to add) and where its trailing edge
 * enters it (col ≥ r + 1: something to remove), so no column asks; each sum still adds and
 * removes the same values in the same order as a loop that asks every column.
 */
function horizontalRow(src: Float32Array, sb: number, width: number, r: number, hsum: Float64Array, hcnt: Float64Array, ob: number): void {
  const e1 = Math.min(r + 1, width); // columns below e1 remove nothing
  const e2 = Math.max(width - r, 0); // columns below e2 add src[col + r]
  let s = 0, c = 0;
  for (let col = 0; col < Math.min(r, width); col++) {
    const v = src[sb + col];
    if (v === v) { s += v; c++; }
  }
  let col = 0;
  for (const end = Math.min(e1, e2); col < end; col++) {
    const v = src[sb + col + r];
    if (v === v) { s += v; c++; }
    hsum[ob + col] = s;
    hcnt[ob + col] = c;
  }
  if (e1 <= e2) {
    for (; col < e2; col++) {
      const v = src[sb + col + r];
      if (v === v) { s += v; c++; }
      const u = src[sb + col - r - 1];
      if (u === u) { s -= u; c--; }
      hsum[ob + col] = s;
      hcnt[ob + col] = c;
    }
  } else {
    for (; col < e1; col++) {
      hsum[ob + col] = s;
      hcnt[ob + col] = c;
    }
  }
  for (; col < width; col++) {
    const u = src[sb + col - r - 1];
    if (u === u) { s -= u; c--; }
    hsum[ob + col] = s;
    hcnt[ob + col] = c;
  }
}

/**
 * Box mean of radius r over finite values of a whole raster (NaN neighbours are skipped).
 * Writes into `out` (may not alias `src`). Allocates its scratch: for one-off use and tests.
 */
export function boxMeanFinite(src: Float32Array, width: number, height: number, r: number, out: Float32Array): void {
  const n = width * height;
  boxMeanRows(src, width, height, r, 0, height, createBoxMeanScratch(width, n), out);
}
