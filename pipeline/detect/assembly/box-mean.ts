/**
 * AssemblyScript (compiled to WebAssembly SIMD by scripts/build-wasm.mjs, not by tsc): box means
 * over finite values for the learned features, the same algorithm as ../box-mean.ts boxMeanRows
 * on planes in this module's memory (the feature scratch of change-features.ts lives there).
 *
 * Bit-identical to the JS: the horizontal running sums are the same scalar f64 adds and subtracts
 * in the same order; the vertical pass does, per column, the same f64 (vsum + added) − removed
 * and the same division, two columns per step (f64x2 add, sub and div are the IEEE operations the
 * JS does one at a time), then rounds to f32 as a Float32Array store does (round to nearest even).
 * A column with no finite value gets the quiet NaN a JS `NaN` store writes.
 *
 * Addresses are byte addresses; planes are f32 (src, out), the sums f64.
 */

@inline function horizontalRow(src: usize, width: i32, r: i32, hsum: usize, hcnt: usize): void {
  // The JS horizontalRow: columns below e1 remove nothing, columns below e2 add src[col + r].
  const e1 = min(r + 1, width);
  const e2 = max(width - r, 0);
  let s: f64 = 0, c: f64 = 0;
  const lead = min(r, width);
  for (let col = 0; col < lead; col++) {
    const v = <f64>load<f32>(src + (<usize>col << 2));
    if (v == v) { s += v; c += 1; }
  }
  let col = 0;
  const end = min(e1, e2);
  for (; col < end; col++) {
    const v = <f64>load<f32>(src + (<usize>(col + r) << 2));
    if (v == v) { s += v; c += 1; }
    store<f64>(hsum + (<usize>col << 3), s);
    store<f64>(hcnt + (<usize>col << 3), c);
  }
  if (e1 <= e2) {
    for (; col < e2; col++) {
      const v = <f64>load<f32>(src + (<usize>(col + r) << 2));
      if (v == v) { s += v; c += 1; }
      const u = <f64>load<f32>(src + (<usize>(col - r - 1) << 2));
      if (u == u) { s -= u; c -= 1; }
      store<f64>(hsum + (<usize>col << 3), s);
      store<f64>(hcnt + (<usize>col << 3), c);
    }
  } else {
    for (; col < e1; col++) {
      store<f64>(hsum + (<usize>col << 3), s);
      store<f64>(hcnt + (<usize>col << 3), c);
    }
  }
  for (; col < width; col++) {
    const u = <f64>load<f32>(src + (<usize>(col - r - 1) << 2));
    if (u == u) { s -= u; c -= 1; }
    store<f64>(hsum + (<usize>col << 3), s);
    store<f64>(hcnt + (<usize>col << 3), c);
  }
}

/**
 * horizontalRow of two rows at once (A and B), each its own running sums in its own order, the two
 * chains interleaved: a running sum is a chain of dependent f64 adds (~8 cycles a pixel on the add
 * latency alone); two independent chains in one loop overlap, so a row costs about half.
 */
@inline function horizontalRow2(srcA: usize, srcB: usize, width: i32, r: i32, hsumA: usize, hcntA: usize, hsumB: usize, hcntB: usize): void {
  const e1 = min(r + 1, width);
  const e2 = max(width - r, 0);
  let sA: f64 = 0, cA: f64 = 0, sB: f64 = 0, cB: f64 = 0;
  const lead = min(r, width);
  for (let col = 0; col < lead; col++) {
    const o = <usize>col << 2;
    const v = <f64>load<f32>(srcA + o), w = <f64>load<f32>(srcB + o);
    if (v == v) { sA += v; cA += 1; }
    if (w == w) { sB += w; cB += 1; }
  }
  let col = 0;
  const end = min(e1, e2);
  for (; col < end; col++) {
    const o = <usize>(col + r) << 2, q = <usize>col << 3;
    const v = <f64>load<f32>(srcA + o), w = <f64>load<f32>(srcB + o);
    if (v == v) { sA += v; cA += 1; }
    if (w == w) { sB += w; cB += 1; }
    store<f64>(hsumA + q, sA);
    store<f64>(hcntA + q, cA);
    store<f64>(hsumB + q, sB);
    store<f64>(hcntB + q, cB);
  }
  if (e1 <= e2) {
    for (; col < e2; col++) {
      const o = <usize>(col + r) << 2, ou = <usize>(col - r - 1) << 2, q = <usize>col << 3;
      const v = <f64>load<f32>(srcA + o), w = <f64>load<f32>(srcB + o);
      if (v == v) { sA += v; cA += 1; }
      if (w == w) { sB += w; cB += 1; }
      const u = <f64>load<f32>(srcA + ou), x = <f64>load<f32>(srcB + ou);
      if (u == u) { sA -= u; cA -= 1; }
      if (x == x) { sB -= x; cB -= 1; }
      store<f64>(hsumA + q, sA);
      store<f64>(hcntA + q, cA);
      store<f64>(hsumB + q, sB);
      store<f64>(hcntB + q, cB);
    }
  } else {
    for (; col < e1; col++) {
      const q = <usize>col << 3;
      store<f64>(hsumA + q, sA);
      store<f64>(hcntA + q, cA);
      store<f64>(hsumB + q, sB);
      store<f64>(hcntB + q, cB);
    }
  }
  for (; col < width; col++) {
    const ou = <usize>(col - r - 1) << 2, q = <usize>col << 3;
    const u = <f64>load<f32>(srcA + ou), x = <f64>load<f32>(srcB + ou);
    if (u == u) { sA -= u; cA -= 1; }
    if (x == x) { sB -= x; cB -= 1; }
    store<f64>(hsumA + q, sA);
    store<f64>(hcntA + q, cA);
    store<f64>(hsumB + q, sB);
    store<f64>(hcntB + q, cB);
  }
}

/**
 * One output row: vsum += added (when `add`), −= removed (when `rem`), in that order; out = vsum / vcnt
 * where vcnt > 0, else NaN. `a`/`ac` and `b`/`bc`: the ring rows of sums and counts added and removed.
 */
@inline function verticalRow(width: i32, vsum: usize, vcnt: usize, a: usize, ac: usize, b: usize, bc: usize, add: bool, rem: bool, out: usize): void {
  const zero = f64x2.splat(0);
  const nan = f64x2.splat(NaN);
  let col = 0;
  for (; col + 2 <= width; col += 2) {
    const o = <usize>col << 3;
    let vs = v128.load(vsum + o), vc = v128.load(vcnt + o);
    if (add) { vs = f64x2.add(vs, v128.load(a + o)); vc = f64x2.add(vc, v128.load(ac + o)); }
    if (rem) { vs = f64x2.sub(vs, v128.load(b + o)); vc = f64x2.sub(vc, v128.load(bc + o)); }
    v128.store(vsum + o, vs);
    v128.store(vcnt + o, vc);
    const q = v128.bitselect(f64x2.div(vs, vc), nan, f64x2.gt(vc, zero));
    v128.store64_lane(out + (<usize>col << 2), f32x4.demote_f64x2_zero(q), 0);
  }
  for (; col < width; col++) {
    const o = <usize>col << 3;
    let vs = load<f64>(vsum + o), vc = load<f64>(vcnt + o);
    if (add) { vs = vs + load<f64>(a + o); vc = vc + load<f64>(ac + o); }
    if (rem) { vs = vs - load<f64>(b + o); vc = vc - load<f64>(bc + o); }
    store<f64>(vsum + o, vs);
    store<f64>(vcnt + o, vc);
    store<f32>(out + (<usize>col << 2), vc > 0 ? <f32>(vs / vc) : <f32>NaN);
  }
}

/**
 * Makes the horizontal sums of row `row` (r0 ≤ row < r1) in its ring slot unless made already
 * (`done`: the last row made), and of the row after it in the same sweep (horizontalRow2) where
 * there is one: rows are asked in order, so the next ask finds it made. Returns the new `done`.
 */
@inline function horizontalUpTo(src: usize, width: i32, r: i32, row: i32, done: i32, r0: i32, r1: i32, ring: i32, hsum: usize, hcnt: usize): i32 {
  if (row <= done) return done;
  const rowBytes = <usize>width << 3;
  const a = <usize>((row - r0) % ring) * rowBytes;
  const srcA = src + (<usize>row * <usize>width << 2);
  if (row + 1 < r1) {
    const b = <usize>((row + 1 - r0) % ring) * rowBytes;
    horizontalRow2(srcA, srcA + (<usize>width << 2), width, r, hsum + a, hcnt + a, hsum + b, hcnt + b);
    return row + 1;
  }
  horizontalRow(srcA, width, r, hsum + a, hcnt + a);
  return row;
}

/**
 * Box mean of radius r ≥ 1 over the finite values of `src` (width × height f32) for output rows
 * [first, first + count), into `out` (count rows). hsum/hcnt: a ring of min(2r + 3, rows read)
 * rows of f64 (the rows the vertical sums hold, and one made ahead: rows are made two at a
 * time); vsum/vcnt: one row of f64.
 */
export function boxMeanRows(src: usize, width: i32, height: i32, r: i32, first: i32, count: i32, hsum: usize, hcnt: usize, vsum: usize, vcnt: usize, out: usize): void {
  const r0 = max(0, first - r);
  const r1 = min(height, first + count + r);
  const ring = min(2 * r + 3, r1 - r0);
  const rowBytes = <usize>width << 3;
  memory.fill(vsum, 0, rowBytes);
  memory.fill(vcnt, 0, rowBytes);
  const lead = min(r1, first + r);
  let done = r0 - 1;
  for (let row = r0; row < lead; row++) {
    const slot = <usize>((row - r0) % ring) * rowBytes;
    done = horizontalUpTo(src, width, r, row, done, r0, r1, ring, hsum, hcnt);
    verticalAdd(width, vsum, vcnt, hsum + slot, hcnt + slot);
  }
  for (let row = first; row < first + count; row++) {
    const add = row + r;
    const rem = row - r - 1;
    let a: usize = 0, b: usize = 0;
    const hasAdd = add < r1, hasRem = rem >= r0;
    if (hasAdd) {
      a = <usize>((add - r0) % ring) * rowBytes;
      done = horizontalUpTo(src, width, r, add, done, r0, r1, ring, hsum, hcnt);
    }
    if (hasRem) b = <usize>((rem - r0) % ring) * rowBytes;
    const o = out + (<usize>(row - first) * <usize>width << 2);
    if (hasAdd && hasRem) verticalRow(width, vsum, vcnt, hsum + a, hcnt + a, hsum + b, hcnt + b, true, true, o);
    else if (hasAdd) verticalRow(width, vsum, vcnt, hsum + a, hcnt + a, 0, 0, true, false, o);
    else if (hasRem) verticalRow(width, vsum, vcnt, 0, 0, hsum + b, hcnt + b, false, true, o);
    else verticalRow(width, vsum, vcnt, 0, 0, 0, 0, false, false, o);
  }
}

/** vsum += row, vcnt += counts (the lead-in rows: sums of one term each, order does not arise). */
@inline function verticalAdd(width: i32, vsum: usize, vcnt: usize, a: usize, ac: usize): void {
  let col = 0;
  for (; col + 2 <= width; col += 2) {
    const o = <usize>col << 3;
    v128.store(vsum + o, f64x2.add(v128.load(vsum + o), v128.load(a + o)));
    v128.store(vcnt + o, f64x2.add(v128.load(vcnt + o), v128.load(ac + o)));
  }
  for (; col < width; col++) {
    const o = <usize>col << 3;
    store<f64>(vsum + o, load<f64>(vsum + o) + load<f64>(a + o));
    store<f64>(vcnt + o, load<f64>(vcnt + o) + load<f64>(ac + o));
  }
}

/**
 * scorePixels' learned gate over output pixels i < n (score.ts, bit for bit the JS it replaced):
 * type code ≥ 254 (CLOUDED, NOT_OBSERVED: hidden) → score NaN (the quiet NaN a JS `NaN` store
 * writes); past the gate (gate ≤ 0, or gateScore ≥ gate, the f32 promoted as the JS compares it) →
 * i appended to `asked` (i32), its score kept for the rescue; else the final probability: the
 * model's threshold (rounded to f32 as a Float32Array store does) where rescued (rescue > 0,
 * score ≥ rescue, the type a rescuable one: any change type with `allTypes`, else vegetation loss
 * and water; and 0 < threshold), else 0. Returns the number asked. `type` u8, the rest f32 planes.
 */
export function gateSweep(type: usize, gateScore: usize, score: usize, n: i32, gate: f64, rescue: f64, threshold: f64, allTypes: i32, asked: usize): i32 {
  const thr = <f32>threshold;
  const canRescue = rescue > 0 && 0 < threshold;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const t = <u32>load<u8>(type + <usize>i);
    const q = <usize>i << 2;
    if (t >= 254) {
      store<f32>(score + q, NaN);
      continue;
    }
    if (gate <= 0 || <f64>load<f32>(gateScore + q) >= gate) {
      store<i32>(asked + (<usize>k << 2), i);
      k++;
      continue;
    }
    let v: f32 = 0;
    if (canRescue && <f64>load<f32>(score + q) >= rescue) {
      const c = t & ~(<u32>0xc0); // CLOUD_FRINGE_FLAG | CLOUD_CANDIDATE_FLAG
      if (allTypes != 0 ? c >= 1 && c <= 5 : c == 3 || c == 4 || c == 5) v = thr;
    }
    store<f32>(score + q, v);
  }
  return k;
}

/**
 * The 3×3 range of one before band at one row: lo[col] and hi[col] = min and max of the nine values
 * around col over rows `up`, `mid` and `down` (f32 rows `width` long), for cols 1 … width − 2
 * (scorePixels' fast path asks no edge column). f32x4.min/max are exact on ordered values and give
 * NaN when one of the nine is NaN, where scorePixels falls back to its comparison scan, as its
 * arithmetic range9 does (see score.ts rangeAt).
 */
export function range3x3Row(up: usize, mid: usize, down: usize, width: i32, lo: usize, hi: usize): void {
  let col = 1;
  for (; col + 4 <= width - 1; col += 4) {
    const o = <usize>(col - 1) << 2;
    const a0 = v128.load(up + o), a1 = v128.load(up + o + 4), a2 = v128.load(up + o + 8);
    const b0 = v128.load(mid + o), b1 = v128.load(mid + o + 4), b2 = v128.load(mid + o + 8);
    const c0 = v128.load(down + o), c1 = v128.load(down + o + 4), c2 = v128.load(down + o + 8);
    const mn = f32x4.min(f32x4.min(f32x4.min(a0, a1), f32x4.min(a2, b0)), f32x4.min(f32x4.min(b1, b2), f32x4.min(f32x4.min(c0, c1), c2)));
    const mx = f32x4.max(f32x4.max(f32x4.max(a0, a1), f32x4.max(a2, b0)), f32x4.max(f32x4.max(b1, b2), f32x4.max(f32x4.max(c0, c1), c2)));
    v128.store(lo + o + 4, mn);
    v128.store(hi + o + 4, mx);
  }
  for (; col < width - 1; col++) {
    let mn = load<f32>(mid + (<usize>col << 2)), mx = mn;
    for (let d = -1; d <= 1; d++) {
      const o = <usize>(col + d) << 2;
      mn = min(mn, min(load<f32>(up + o), min(load<f32>(mid + o), load<f32>(down + o))));
      mx = max(mx, max(load<f32>(up + o), max(load<f32>(mid + o), load<f32>(down + o))));
    }
    store<f32>(lo + (<usize>col << 2), mn);
    store<f32>(hi + (<usize>col << 2), mx);
  }
}
