/**
 * AssemblyScript (compiled to WebAssembly SIMD by scripts/build-wasm.mjs, not by tsc): the inflate
 * worker's fused scatter (../inflate-worker.js fusedScatter) for the layouts tiles come in: 16-bit
 * unsigned samples, horizontally differenced (TIFF predictor 2), 4 to 8 interleaved, all wanted in
 * file order. Rows of the chunk are undone and de-interleaved into Float32 planes in this module's
 * memory; the worker copies them to their destination.
 *
 * Bit-identical to the JS: the running sums are the same adds mod 2^16 from the chunk's left edge
 * (i16x8.add wraps per lane), a u16 converts to f32 exactly, and a nodata value is written as the
 * quiet NaN a JS `NaN` store writes (0x7fc00000).
 *
 * Addresses are byte addresses. `src`: rows of the chunk (chunkWidth × spp u16), the first wanted
 * row first, padded with 16 readable bytes at the end; `out`: spp planes of w × h f32, one after
 * another.
 */

const QNAN: u32 = 0x7fc00000;

/** Pixels [x, x + n) of row `y` already written to the planes: the samples equal to `nd` become NaN; returns how many. */
function fixNodata(spp: i32, w: i32, y: i32, nd: i32, out: usize, plane: usize, c: i32, n: i32): i32 {
  let nan = 0;
  for (let p = c; p < c + n; p++) {
    for (let k = 0; k < spp; k++) {
      const o = out + <usize>k * plane + ((<usize>y * <usize>w + <usize>p) << 2);
      if (<i32>load<f32>(o) == nd) {
        store<u32>(o, QNAN);
        nan++;
      }
    }
  }
  return nan;
}

/**
 * Four samples: each row's running sums two pixels per step (the pair's first pixel added into its
 * second, then the previous pixel into both), then four pixels at a time transposed into the four
 * planes. `nd` < 0: no nodata. Returns the pixels written as NaN.
 */
export function scatter4(src: usize, chunkWidth: i32, x0: i32, w: i32, h: i32, nd: i32, out: usize): i32 {
  const plane = <usize>w * <usize>h * 4;
  const rowBytes = <usize>chunkWidth * 8;
  const end = x0 + w;
  const ndv = i16x8.splat(<i16>nd);
  let nan = 0;
  for (let y = 0; y < h; y++) {
    const row = src + <usize>y * rowBytes;
    // Undo the predictor in place over [0, end): pairs, then an odd last pixel.
    let acc = i16x8.splat(0);
    let x = 0;
    for (; x + 2 <= end; x += 2) {
      const p = row + (<usize>x << 3);
      let v = v128.load(p);
      // Lanes 4-7 (the second pixel) += lanes 0-3 (the first); then + the pixel before the pair.
      v = i16x8.add(v, i8x16.shuffle(i16x8.splat(0), v, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
      v = i16x8.add(v, acc);
      v128.store(p, v);
      acc = i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
    }
    if (x < end) {
      // Four lanes' worth: the pixel plus the previous pixel's sums in acc's low half (the high half
      // is read and written back unchanged, 8 bytes that belong to the next row or the padding).
      const p = row + (<usize>x << 3);
      const v = v128.load(p);
      v128.store(p, v128.bitselect(i16x8.add(v, acc), v, i16x8(-1, -1, -1, -1, 0, 0, 0, 0)));
      x++;
    }
    // De-interleave [x0, end) into the planes.
    const o0 = out + ((<usize>y * <usize>w) << 2);
    let c = 0;
    for (; c + 4 <= w; c += 4) {
      const p = row + (<usize>(x0 + c) << 3);
      const va = v128.load(p);
      const vb = v128.load(p, 16);
      const p0 = f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(va));
      const p1 = f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(va));
      const p2 = f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(vb));
      const p3 = f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(vb));
      const t0 = v128.shuffle<f32>(p0, p1, 0, 4, 1, 5);
      const t1 = v128.shuffle<f32>(p0, p1, 2, 6, 3, 7);
      const t2 = v128.shuffle<f32>(p2, p3, 0, 4, 1, 5);
      const t3 = v128.shuffle<f32>(p2, p3, 2, 6, 3, 7);
      const o = o0 + (<usize>c << 2);
      v128.store(o, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      v128.store(o + plane, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
      v128.store(o + 2 * plane, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
      v128.store(o + 3 * plane, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
      if (nd >= 0 && v128.any_true(v128.or(i16x8.eq(va, ndv), i16x8.eq(vb, ndv)))) {
        nan += fixNodata(4, w, y, nd, out, plane, c, 4);
      }
    }
    for (; c < w; c++) {
      const p = row + (<usize>(x0 + c) << 3);
      const o = o0 + (<usize>c << 2);
      for (let k = 0; k < 4; k++) {
        const v = <i32>load<u16>(p + (<usize>k << 1));
        if (v == nd) {
          store<u32>(o + <usize>k * plane, QNAN);
          nan++;
        } else store<f32>(o + <usize>k * plane, <f32>v);
      }
    }
  }
  return nan;
}

/**
 * Five to eight samples: one pixel per step, its samples loaded as eight lanes (those past `spp`
 * belong to the next pixel and are ignored), added to the running sums, converted and stored lane
 * by lane. `nd` < 0: no nodata. Returns the pixels written as NaN.
 */
export function scatterWide(src: usize, spp: i32, chunkWidth: i32, x0: i32, w: i32, h: i32, nd: i32, out: usize): i32 {
  const plane = <usize>w * <usize>h * 4;
  const rowBytes = <usize>chunkWidth * <usize>spp * 2;
  const pixBytes = <usize>spp * 2;
  const ndv = i16x8.splat(<i16>nd);
  // Lanes that are this pixel's samples: all ones in the first spp lanes.
  const lanes = i16x8.lt_u(i16x8(0, 1, 2, 3, 4, 5, 6, 7), i16x8.splat(<i16>spp));
  let nan = 0;
  for (let y = 0; y < h; y++) {
    const row = src + <usize>y * rowBytes;
    let acc = i16x8.splat(0);
    for (let x = 0; x < x0; x++) acc = i16x8.add(acc, v128.load(row + <usize>x * pixBytes));
    let o = out + ((<usize>y * <usize>w) << 2);
    for (let c = 0; c < w; c++, o += 4) {
      acc = i16x8.add(acc, v128.load(row + <usize>(x0 + c) * pixBytes));
      const lo = f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(acc));
      const hi = f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(acc));
      store<f32>(o, f32x4.extract_lane(lo, 0));
      store<f32>(o + plane, f32x4.extract_lane(lo, 1));
      store<f32>(o + 2 * plane, f32x4.extract_lane(lo, 2));
      store<f32>(o + 3 * plane, f32x4.extract_lane(lo, 3));
      store<f32>(o + 4 * plane, f32x4.extract_lane(hi, 0));
      if (spp > 5) store<f32>(o + 5 * plane, f32x4.extract_lane(hi, 1));
      if (spp > 6) store<f32>(o + 6 * plane, f32x4.extract_lane(hi, 2));
      if (spp > 7) store<f32>(o + 7 * plane, f32x4.extract_lane(hi, 3));
      if (nd >= 0 && v128.any_true(v128.and(i16x8.eq(acc, ndv), lanes))) {
        for (let k = 0; k < spp; k++) {
          const q = o + <usize>k * plane;
          if (<i32>load<f32>(q) == nd) {
            store<u32>(q, QNAN);
            nan++;
          }
        }
      }
    }
  }
  return nan;
}
