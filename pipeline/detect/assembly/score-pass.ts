/**
 * AssemblyScript (compiled to WebAssembly by scripts/build-wasm.mjs, not by tsc): the per-pixel pass
 * of ../score.ts scorePixels, one row per call: raw score, type code, plain difference and the
 * learned base planes. Loaded by ../score-pass.ts, which copies the input rows into this module's
 * memory (a ring of before rows for the neighbourhood range, the after row) and calls scoreRow.
 *
 * Bit for bit the JS pass (score.ts scoreRows, kept as the reference and tested against this):
 * - every value is the f64 the JS computes, in the same order of operations (JS numbers are f64;
 *   a Float32Array load is the exact f32 → f64 promotion, a store the f64 → f32 rounding of
 *   f32.demote_f64: round to nearest even, as V8's store);
 * - Math.min / Math.max of the JS become f64.min / f64.max, which have the same semantics (NaN
 *   when either is NaN, −0 below +0); they only feed comparisons here;
 * - the 3×3 before-range is the f32 min / max of the nine values (exact on ordered values) with
 *   the JS's comparison scan where one is NaN, as score.ts rangeAt does with range3x3Row's rows;
 *   the general neighbourhood (raster edges, nodata nearby) is the same scan in the same order as
 *   score.ts rangeList; at radius > 1 the min / max of the (2R + 1)² valid neighbours come from
 *   the row's window rows (windowGroup), and only a NaN among them sends a pixel to that scan;
 * - Math.log1p is V8's: fdlibm's s_log1p.c (V8 src/base/ieee754.cc), ported below line for line
 *   (AssemblyScript's own Math.log1p is musl's, which differs in the last bit for some inputs).
 *
 * Byte addresses throughout; the parameters of a strip are in a block at `p` (score-pass.ts
 * writes it; the offsets below are its layout).
 */

// f64 slots (byte offset = 8 × slot): gain, offset and 1/σ per band slot (blue, green, red, nir,
// swir1, swir2), then 1/reflectance scale, ndviVegetated, vegetatedBothWeight.
const F_GAIN = 0;
const F_OFF = 6;
const F_ISIG = 12;
const F_INV = 18;
const F_NDVI_VEG = 19;
const F_VEG_BOTH = 20;
const F_SHIFT = 21; // the tolerant gate's δ (LearnedParams.gateShift)
// i32 slots (byte offset = I_AT + 4 × slot).
const I_AT = 8 * 24;
const I_WIDTH = 0;
const I_HEIGHT = 1;
const I_NB = 2;
const I_FLAGS = 3;
const I_R = 4;
const I_RING_ROWS = 5;
const I_RING = 6;
const I_RING_VALID = 7;
const I_AFTER = 8;
const I_AFTER_VALID = 9;
const I_RAW = 10;
const I_PLAIN = 11;
const I_TYPE = 12;
const I_NBR = 13;
const I_PLANES = 14; // 18 plane addresses, BASE_PLANES order
const I_OK3 = 33; // width u8: the pixel's 8 neighbours are all valid (fast rows)
// The after rows' ring (the tolerant gate's after-side range reads row ± R): row q's six band
// slots at I_AFTER_RING + ((q mod ringRows)·6 + slot)·width·4, validity at
// I_AFTER_VALID_RING + (q mod ringRows)·width. I_AFTER / I_AFTER_VALID point at the scored row's.
const I_AFTER_RING = 34;
const I_AFTER_VALID_RING = 35;
// Radius > 1 (grids finer than ~6.7 m): the window rows, the min / max of each band over the
// valid pixels of the (2R + 1)² neighbourhood of every pixel of the scored row (windowGroup): kind k
// (0 before lo, 1 before hi, 2 after lo, 3 after hi), slot s at I_WIN + (k·6 + s)·winRowBytes(width);
// the padded rows of the columns' min / max they are made from, kind k slot s at I_VTMP + (k·6 + s)·
// (I_VTB bytes); and which groups of four columns are made (I_MEMO: four rows of a byte per group,
// before columns, before groups, after columns, after groups). 0 where maxR = 1.
const I_WIN = 36;
const I_VTMP = 37;
const I_VTB = 38;
const I_MEMO = 39;
// Which base planes the learned pass writes (bit k: plane k, BASE_PLANES order): the ones the model
// reads (score.ts LearnedScoring.use); the others are left as they were.
const I_PLANE_MASK = 40;
// A width-long u8 row like I_OK3 for the after epoch's validity (the tolerant gate both ways).
const I_OK_AFTER = 41;

// I_FLAGS bits.
const HAS_S1 = 1;
const HAS_S2 = 2;
const USE_RANGE = 4;
const HAS_PLAIN = 8;
const LEARNED = 16;
const GATE_SHIFT = 32; // rewrite plain with the misregistration-tolerant distance (../shift-gate.ts)
const BOTH_WAYS = 64; // … measured from the after side too (LearnedParams.gateBothWays)
const SHIFT_SKIP: f32 = 1.5; // ../shift-gate.ts SHIFT_SKIP
const SLOTS = 6;

// BASE_PLANES order (change-features.ts).
const P_DBLUE = 0;
const P_DGREEN = 1;
const P_DRED = 2;
const P_DNIR = 3;
const P_DSWIR1 = 4;
const P_DSWIR2 = 5;
const P_NDBI0 = 6;
const P_NDBI1 = 7;
const P_LR = 8;
const P_NDVI0 = 9;
const P_NDVI1 = 10;
const P_NDWI0 = 11;
const P_NDWI1 = 12;
const P_BR0 = 13;
const P_BR1 = 14;
const P_BR0SQ = 15;
const P_BR1SQ = 16;
const P_DNDVI = 17;
const N_PLANES = 18;

// score.ts constants.
const CLOUD_VIS: f64 = 0.3;
const CLOUD_WHITENESS: f64 = 0.25;
const SHADOW_MAX: f64 = 0.04;
const NDWI_WATER: f64 = 0.05;
const MNDWI_WATER: f64 = 0.2;
const BSI_SOIL: f64 = 0.1;
const REDNESS_SOIL: f64 = 0.15;
const CLEARED_NDVI: f64 = 0.18;
const RANGE_SKIP: f64 = 1.5;
const FRINGE_MIN_BRIGHTEN: f64 = 0.03;
const D_CLIP: f64 = 30;
const CODE_CONSTRUCTION: u32 = 1;
const CODE_BARE_SOIL: u32 = 2;
const CODE_VEGETATION_LOSS: u32 = 3;
const CODE_WATER_FILL: u32 = 4;
const CODE_NEW_WATER: u32 = 5;
const STILL_VEGETATED: u32 = 6;
const NOT_OBSERVED: u8 = 255;
const CLOUD_FRINGE_FLAG: u32 = 0x40;
const CLOUD_CANDIDATE_FLAG: u32 = 0x80;

@inline function nd(a: f64, b: f64): f64 {
  return (a - b) / (a + b + 1e-9);
}

@inline function ldf(a: usize): f64 {
  return <f64>load<f32>(a);
}

@inline function stf(a: usize, v: f64): void {
  store<f32>(a, <f32>v);
}

/** score.ts cloudAt: bright and white in the visible, or dark in every band (swir1 < 0: none). */
@inline function cloudAt(blue: f64, green: f64, red: f64, nir: f64, swir1: f64): bool {
  const vis = (blue + green + red) / 3;
  if (vis > CLOUD_VIS) {
    const spread = (max(max(blue, green), red) - min(min(blue, green), red)) / vis;
    if (spread < CLOUD_WHITENESS && nir > 0.8 * vis && !(swir1 >= 0 && swir1 < 0.5 * vis)) return true;
  }
  return blue < SHADOW_MAX && green < SHADOW_MAX && red < SHADOW_MAX && nir < SHADOW_MAX && (swir1 >= 0 ? swir1 : 0) < SHADOW_MAX;
}

/** score.ts illumination, before (y…) → after (x…): 2 certain, 1 possible, 0 not. */
@inline function illumination(yb: f64, yg: f64, yr: f64, yn: f64, xb: f64, xg: f64, xr: f64, xn: f64): i32 {
  const db = xb - yb, dg = xg - yg, dr = xr - yr, dn = xn - yn;
  if (db > FRINGE_MIN_BRIGHTEN && dg > FRINGE_MIN_BRIGHTEN && dr > FRINGE_MIN_BRIGHTEN) {
    const lo = min(min(db, dg), dr), hi = max(max(db, dg), dr);
    if (lo > 0.5 * hi && db >= 0.8 * dr && dn > -0.03) return 1;
  }
  if ((xb >= yb && xb >= 1e-4) || (xg >= yg && xg >= 1e-4) || (xr >= yr && xr >= 1e-4) || (xn >= yn && xn >= 1e-4)) return 0;
  const mb = max(yb, 1e-4), mg = max(yg, 1e-4), mr = max(yr, 1e-4), mn = max(yn, 1e-4);
  const rb = xb / mb, rg = xg / mg;
  const rr = xr / mr, rn = xn / mn;
  const rlo = min(min(min(rb, rg), rr), rn), rhi = max(max(max(max(0, rb), rg), rr), rn);
  if (rhi < 0.93 && rhi < 1.3 * rlo) return rhi < 0.7 ? 2 : 1;
  return 0;
}

/** score.ts rangeDist: signed distance (× k) of `av` from [lo, hi]. */
@inline function rangeDist(av: f64, lo: f64, hi: f64, k: f64): f64 {
  return av < lo ? -((lo - av) * k) : av > hi ? (av - hi) * k : 0;
}

/**
 * The 3×3 range distance of band rows up/mid/down (f32) at byte offset o (the pixel's column × 4):
 * min and max of the nine by f32 min/max; where one is NaN, score.ts range9Scan's comparison scan
 * (centre first, then rows up, mid, down, columns left to right).
 */
@inline function range3(up: usize, mid: usize, down: usize, o: usize, av: f64, k: f64): f64 {
  const a0 = load<f32>(up + o - 4), a1 = load<f32>(up + o), a2 = load<f32>(up + o + 4);
  const b0 = load<f32>(mid + o - 4), b1 = load<f32>(mid + o), b2 = load<f32>(mid + o + 4);
  const c0 = load<f32>(down + o - 4), c1 = load<f32>(down + o), c2 = load<f32>(down + o + 4);
  const lo = min(min(min(a0, a1), min(a2, b0)), min(min(b1, b2), min(min(c0, c1), c2)));
  const hi = max(max(max(a0, a1), max(a2, b0)), max(max(b1, b2), max(max(c0, c1), c2)));
  if (lo != lo || hi != hi) return rangeScan(up, mid, down, o, av, k);
  return rangeDist(av, <f64>lo, <f64>hi, k);
}

/** score.ts range9Scan, then rangeDist: the centre, then rows up, mid, down, columns left to right; NaN never compares. */
function rangeScan(up: usize, mid: usize, down: usize, o: usize, av: f64, k: f64): f64 {
  let lo = ldf(mid + o), hi = lo;
  for (let r = 0; r < 3; r++) {
    const a = (r == 0 ? up : r == 1 ? mid : down) + o;
    for (let d: i32 = -4; d <= 4; d += 4) {
      const v = ldf(a + <usize>d);
      if (v < lo) lo = v;
      else if (v > hi) hi = v;
    }
  }
  return rangeDist(av, lo, hi, k);
}

/** score.ts rangeList: band `b` at the pixel (`centre`) and the `nn` valid neighbours at `nbr` (byte addresses, u32). */
@inline function rangeList(centre: usize, delta: usize, nbr: usize, nn: i32, av: f64, k: f64): f64 {
  let lo = ldf(centre), hi = lo;
  for (let t = 0; t < nn; t++) {
    const v = ldf(<usize>load<u32>(nbr + (<usize>t << 2)) + delta);
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  return rangeDist(av, lo, hi, k);
}

@inline function clip(d: f64): f64 {
  return d > D_CLIP ? D_CLIP : d < -D_CLIP ? -D_CLIP : d;
}

/** A pixel that cannot be compared: NaN everywhere, NOT_OBSERVED (score.ts hideRow). */
@inline function hide(i: usize, raw: usize, plain: usize, hasPlain: bool, type: usize, p: usize, learned: bool): void {
  store<f32>(raw + (i << 2), NaN);
  if (hasPlain) store<f32>(plain + (i << 2), NaN);
  store<u8>(type + i, NOT_OBSERVED);
  if (learned) {
    const pl = p + <usize>(I_AT + (I_PLANES << 2));
    const mask = load<i32>(p + I_AT + (I_PLANE_MASK << 2));
    for (let k = 0; k < N_PLANES; k++) if ((mask & (1 << k)) != 0) store<f32>(<usize>load<u32>(pl + (<usize>k << 2)) + (i << 2), NaN);
  }
}

/** Bytes of one window row (score-pass.ts winRowBytes): four spare lanes, 64-byte multiples. */
@inline function winRowBytes(width: i32): usize {
  return (<usize>(width + 4) * 4 + 63) & ~<usize>63;
}

/** Validity bytes c … c + 3 at `v` as an i32x4 mask (all ones where non-zero). */
@inline function validMask(v: usize): v128 {
  return i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(v))), i32x4.splat(0));
}

/** Bytes of one row of window bookkeeping (score-pass.ts memoRowBytes): a byte per group of four columns. */
@inline function memoRowBytes(width: i32): usize {
  return (<usize>(width + 16) + 63) & ~<usize>63;
}

/**
 * Starts row `row`'s window rows (windowGroup makes them, four columns at a time and only where a
 * reader asks): no group made yet, and the padded column rows' pads set to ±∞ (R on the left,
 * R + 4 on the right: the raster's edges, and the last group's overrun).
 */
function windowStart(p: usize, row: i32): void {
  const width = load<i32>(p + I_AT + (I_WIDTH << 2));
  const R = load<i32>(p + I_AT + (I_R << 2));
  const vt = <usize>load<u32>(p + I_AT + (I_VTMP << 2)), vtb = <usize>load<u32>(p + I_AT + (I_VTB << 2));
  const memo = <usize>load<u32>(p + I_AT + (I_MEMO << 2));
  const w = <usize>width, r = <usize>R;
  memory.fill(memo, 0, 4 * memoRowBytes(width));
  for (let k: usize = 0; k < 4 * <usize>SLOTS; k++) {
    const v = vt + k * vtb;
    const pad: f32 = (k / <usize>SLOTS) % 2 == 0 ? Infinity : -Infinity; // lo rows +∞, hi rows −∞
    for (let j: usize = 0; j < r; j++) store<f32>(v + (j << 2), pad);
    for (let j: usize = r + w; j < w + 2 * r + 4; j++) store<f32>(v + (j << 2), pad);
  }
}

/**
 * Makes group `g` (columns 4g … 4g + 3) of row `row`'s window rows for one epoch (after: the after
 * ring, else the before ring), unless made already: for each band slot in use, the f32 min and max
 * over the valid pixels of rows max(0, row − R) … min(height − 1, row + R) and columns
 * max(0, col − R) … min(width − 1, col + R), the neighbourhood score.ts rangeList and
 * shift-gate.ts tolerateShift scan. Separable: the columns' min / max over the rows (nodata as
 * +∞ / −∞; no mask where the four columns are valid in every row), each group of columns made once
 * per row, then the group's min / max over its 2R + 1 columns of those (the edges padded with ±∞).
 * f32x4.min / max are exact on ordered values and NaN where one of the values is NaN (the readers
 * send such a pixel to the scalar scan, as for R = 1); the order does not matter, and −0 against +0
 * never changes a distance made from them. Only the groups a reader asks for are made: on quiet
 * ground (plain difference under 1.5σ) no pixel reads them.
 */
function windowGroup(p: usize, row: i32, g: i32, after: bool): void {
  const width = load<i32>(p + I_AT + (I_WIDTH << 2));
  const memo = <usize>load<u32>(p + I_AT + (I_MEMO << 2));
  const mrb = memoRowBytes(width);
  const vDone = memo + (after ? 2 * mrb : 0), hDone = vDone + mrb;
  if (load<u8>(hDone + <usize>g) != 0) return;
  const height = load<i32>(p + I_AT + (I_HEIGHT << 2));
  const flags = load<i32>(p + I_AT + (I_FLAGS << 2));
  const R = load<i32>(p + I_AT + (I_R << 2));
  const ringRows = load<i32>(p + I_AT + (I_RING_ROWS << 2));
  const ring = <usize>load<u32>(p + I_AT + ((after ? I_AFTER_RING : I_RING) << 2));
  const valid = <usize>load<u32>(p + I_AT + ((after ? I_AFTER_VALID_RING : I_RING_VALID) << 2));
  const win = <usize>load<u32>(p + I_AT + (I_WIN << 2));
  const vtb = <usize>load<u32>(p + I_AT + (I_VTB << 2));
  const vt = <usize>load<u32>(p + I_AT + (I_VTMP << 2)) + (after ? 2 * <usize>SLOTS * vtb : 0); // lo rows, then hi rows
  const hasS1 = (flags & HAS_S1) != 0, hasS2 = (flags & HAS_S2) != 0;
  const w = <usize>width;
  const rowBytes = w << 2;
  const wrb = winRowBytes(width);
  // Before: slot s of ring row q at ring + s·ringRows·rowBytes + q·rowBytes; after: ring + q·6·rowBytes + s·rowBytes.
  const slotStride = after ? rowBytes : <usize>ringRows * rowBytes;
  const qStride = after ? <usize>SLOTS * rowBytes : rowBytes;
  const rA = row >= R ? row - R : 0, rB = row + R < height ? row + R : height - 1;
  const r = <usize>R;
  const inf = f32x4.splat(Infinity), ninf = f32x4.splat(-Infinity);
  const ng = (width + 3) >> 2;
  const c0 = (g << 2) - R, c1 = (g << 2) + 3 + R;
  const j0 = c0 < 0 ? 0 : c0 >> 2, j1 = (c1 >> 2) < ng - 1 ? c1 >> 2 : ng - 1;
  for (let j = j0; j <= j1; j++) {
    if (load<u8>(vDone + <usize>j) != 0) continue;
    store<u8>(vDone + <usize>j, 1);
    const col = <usize>j << 2;
    if (col + 4 <= w) {
      let allOk = true;
      for (let rr = rA; rr <= rB; rr++) {
        const x = load<u32>(valid + <usize>(rr % ringRows) * w + col);
        if (((x - 0x01010101) & ~x & 0x80808080) != 0) allOk = false; // a zero byte: nodata
      }
      for (let s = 0; s < SLOTS; s++) {
        if ((s == 4 && !hasS1) || (s == 5 && !hasS2)) continue;
        const band = ring + <usize>s * slotStride + (col << 2);
        let lo = inf, hi = ninf;
        if (allOk) {
          for (let rr = rA; rr <= rB; rr++) {
            const v = v128.load(band + <usize>(rr % ringRows) * qStride);
            lo = f32x4.min(lo, v);
            hi = f32x4.max(hi, v);
          }
        } else {
          for (let rr = rA; rr <= rB; rr++) {
            const q = <usize>(rr % ringRows);
            const v = v128.load(band + q * qStride);
            const ok = validMask(valid + q * w + col);
            lo = f32x4.min(lo, v128.bitselect(v, inf, ok));
            hi = f32x4.max(hi, v128.bitselect(v, ninf, ok));
          }
        }
        v128.store(vt + <usize>s * vtb + ((r + col) << 2), lo);
        v128.store(vt + <usize>(SLOTS + s) * vtb + ((r + col) << 2), hi);
      }
    } else {
      // The raster's last columns (width not a multiple of 4): one at a time, the rest stay pads.
      for (let cc = col; cc < w; cc++) {
        for (let s = 0; s < SLOTS; s++) {
          if ((s == 4 && !hasS1) || (s == 5 && !hasS2)) continue;
          const band = ring + <usize>s * slotStride + (cc << 2);
          let lo: f32 = Infinity, hi: f32 = -Infinity;
          for (let rr = rA; rr <= rB; rr++) {
            const q = <usize>(rr % ringRows);
            if (load<u8>(valid + q * w + cc) == 0) continue;
            const v = load<f32>(band + q * qStride);
            lo = min(lo, v);
            hi = max(hi, v);
          }
          store<f32>(vt + <usize>s * vtb + ((r + cc) << 2), lo);
          store<f32>(vt + <usize>(SLOTS + s) * vtb + ((r + cc) << 2), hi);
        }
      }
    }
  }
  // The group: min / max over columns col − R … col + R (padded index col … col + 2R).
  store<u8>(hDone + <usize>g, 1);
  const col = <usize>g << 2;
  const oLo = win + <usize>(after ? 2 * SLOTS : 0) * wrb, oHi = win + <usize>(after ? 3 * SLOTS : SLOTS) * wrb;
  for (let s = 0; s < SLOTS; s++) {
    if ((s == 4 && !hasS1) || (s == 5 && !hasS2)) continue;
    const vLo = vt + <usize>s * vtb + (col << 2), vHi = vt + <usize>(SLOTS + s) * vtb + (col << 2);
    let lo = v128.load(vLo), hi = v128.load(vHi);
    for (let k: usize = 1; k <= 2 * r; k++) {
      lo = f32x4.min(lo, v128.load(vLo + (k << 2)));
      hi = f32x4.max(hi, v128.load(vHi + (k << 2)));
    }
    v128.store(oLo + <usize>s * wrb + (col << 2), lo);
    v128.store(oHi + <usize>s * wrb + (col << 2), hi);
  }
}

/**
 * Scores row `row` of the halo'd strip (0 ≤ row < height) with the parameters at `p`: the before
 * rows row − R … row + R that exist are in the ring (band slot b, row q at
 * ring + ((b·ringRows + q mod ringRows)·width)·4; validity at ringValid + (q mod ringRows)·width),
 * the after row at after + b·width·4 (validity at afterValid). Writes pixel row·width + col of
 * raw, plain (when HAS_PLAIN), type and the 18 base planes (when LEARNED; those of I_PLANE_MASK).
 */
function scalarCols(p: usize, row: i32, c0: i32, c1: i32): void {
  const width = load<i32>(p + I_AT + (I_WIDTH << 2));
  const height = load<i32>(p + I_AT + (I_HEIGHT << 2));
  const nb = load<i32>(p + I_AT + (I_NB << 2));
  const flags = load<i32>(p + I_AT + (I_FLAGS << 2));
  const R = load<i32>(p + I_AT + (I_R << 2));
  const ringRows = load<i32>(p + I_AT + (I_RING_ROWS << 2));
  const ring = <usize>load<u32>(p + I_AT + (I_RING << 2));
  const ringValid = <usize>load<u32>(p + I_AT + (I_RING_VALID << 2));
  const after = <usize>load<u32>(p + I_AT + (I_AFTER << 2));
  const afterValid = <usize>load<u32>(p + I_AT + (I_AFTER_VALID << 2));
  const raw = <usize>load<u32>(p + I_AT + (I_RAW << 2));
  const plain = <usize>load<u32>(p + I_AT + (I_PLAIN << 2));
  const type = <usize>load<u32>(p + I_AT + (I_TYPE << 2));
  const nbr = <usize>load<u32>(p + I_AT + (I_NBR << 2));
  const hasS1 = (flags & HAS_S1) != 0, hasS2 = (flags & HAS_S2) != 0;
  const swir = hasS1 && hasS2;
  const useRange = (flags & USE_RANGE) != 0;
  const hasPlain = (flags & HAS_PLAIN) != 0;
  const learned = (flags & LEARNED) != 0;
  const gB = load<f64>(p, (F_GAIN + 0) << 3), gG = load<f64>(p, (F_GAIN + 1) << 3), gR = load<f64>(p, (F_GAIN + 2) << 3), gN = load<f64>(p, (F_GAIN + 3) << 3);
  const gS1 = load<f64>(p, (F_GAIN + 4) << 3), gS2 = load<f64>(p, (F_GAIN + 5) << 3);
  const oB = load<f64>(p, (F_OFF + 0) << 3), oG = load<f64>(p, (F_OFF + 1) << 3), oR = load<f64>(p, (F_OFF + 2) << 3), oN = load<f64>(p, (F_OFF + 3) << 3);
  const oS1 = load<f64>(p, (F_OFF + 4) << 3), oS2 = load<f64>(p, (F_OFF + 5) << 3);
  const kB = load<f64>(p, (F_ISIG + 0) << 3), kG = load<f64>(p, (F_ISIG + 1) << 3), kR = load<f64>(p, (F_ISIG + 2) << 3), kN = load<f64>(p, (F_ISIG + 3) << 3);
  const kS1 = load<f64>(p, (F_ISIG + 4) << 3), kS2 = load<f64>(p, (F_ISIG + 5) << 3);
  const inv = load<f64>(p, F_INV << 3);
  const ndviVegetated = load<f64>(p, F_NDVI_VEG << 3);
  const vegetatedBothWeight = load<f64>(p, F_VEG_BOTH << 3);
  const nbf = <f64>nb;
  const skip2 = RANGE_SKIP * RANGE_SKIP * nbf;
  const pl = p + I_AT + (I_PLANES << 2);
  const pDB = <usize>load<u32>(pl, P_DBLUE << 2), pDG = <usize>load<u32>(pl, P_DGREEN << 2), pDR = <usize>load<u32>(pl, P_DRED << 2), pDN = <usize>load<u32>(pl, P_DNIR << 2);
  const pDS1 = <usize>load<u32>(pl, P_DSWIR1 << 2), pDS2 = <usize>load<u32>(pl, P_DSWIR2 << 2);
  const pNdbi0 = <usize>load<u32>(pl, P_NDBI0 << 2), pNdbi1 = <usize>load<u32>(pl, P_NDBI1 << 2), pLr = <usize>load<u32>(pl, P_LR << 2);
  const pNdvi0 = <usize>load<u32>(pl, P_NDVI0 << 2), pNdvi1 = <usize>load<u32>(pl, P_NDVI1 << 2);
  const pNdwi0 = <usize>load<u32>(pl, P_NDWI0 << 2), pNdwi1 = <usize>load<u32>(pl, P_NDWI1 << 2);
  const pBr0 = <usize>load<u32>(pl, P_BR0 << 2), pBr1 = <usize>load<u32>(pl, P_BR1 << 2);
  const pBr0sq = <usize>load<u32>(pl, P_BR0SQ << 2), pBr1sq = <usize>load<u32>(pl, P_BR1SQ << 2), pDNdvi = <usize>load<u32>(pl, P_DNDVI << 2);

  const rowBytes = <usize>width << 2;
  const m = <usize>(row % ringRows);
  const b0 = ring + (<usize>0 * <usize>ringRows + m) * rowBytes, g0 = ring + (<usize>1 * <usize>ringRows + m) * rowBytes;
  const red0 = ring + (<usize>2 * <usize>ringRows + m) * rowBytes, n0 = ring + (<usize>3 * <usize>ringRows + m) * rowBytes;
  const s10 = ring + (<usize>4 * <usize>ringRows + m) * rowBytes, s20 = ring + (<usize>5 * <usize>ringRows + m) * rowBytes;
  const b1 = after, g1 = after + rowBytes, red1 = after + 2 * rowBytes, n1 = after + 3 * rowBytes, s11 = after + 4 * rowBytes, s21 = after + 5 * rowBytes;
  const v0 = ringValid + m * <usize>width;
  // The 3×3 fast path's rows above and below (only read where 0 < row < height − 1).
  const fast = useRange && R == 1 && row > 0 && row + 1 < height;
  const up: usize = fast ? <usize>((row - 1) % ringRows) : 0, down: usize = fast ? <usize>((row + 1) % ringRows) : 0;
  const vUp = ringValid + up * <usize>width, vDown = ringValid + down * <usize>width;
  const rowStride = <usize>ringRows * rowBytes; // from one band slot's ring to the next
  const upB = ring + up * rowBytes, downB = ring + down * rowBytes;
  const base = <usize>row * <usize>width;

  for (let col = c0; col < c1; col++) {
    const c = <usize>col;
    const i = base + c;
    const o = c << 2;
    if (load<u8>(v0 + c) == 0 || load<u8>(afterValid + c) == 0) {
      hide(i, raw, plain, hasPlain, type, p, learned);
      continue;
    }
    const aB = gB * ldf(b1 + o) + oB, yB = ldf(b0 + o) * inv, xB = aB * inv;
    const aG = gG * ldf(g1 + o) + oG, yG = ldf(g0 + o) * inv, xG = aG * inv;
    const aR = gR * ldf(red1 + o) + oR, yR = ldf(red0 + o) * inv, xR = aR * inv;
    const aN = gN * ldf(n1 + o) + oN, yN = ldf(n0 + o) * inv, xN = aN * inv;
    let dB = (aB - ldf(b0 + o)) * kB, dG = (aG - ldf(g0 + o)) * kG, dR = (aR - ldf(red0 + o)) * kR, dN = (aN - ldf(n0 + o)) * kN;
    let m2v = dB * dB + dG * dG + dR * dR + dN * dN;
    let m2 = m2v;
    let aS1: f64 = 0, aS2: f64 = 0, dS1: f64 = 0, dS2: f64 = 0, yS1: f64 = 0, yS2: f64 = 0, xS1: f64 = 0, xS2: f64 = 0;
    if (hasS1) { aS1 = gS1 * ldf(s11 + o) + oS1; dS1 = (aS1 - ldf(s10 + o)) * kS1; m2 += dS1 * dS1; yS1 = ldf(s10 + o) * inv; xS1 = aS1 * inv; }
    if (hasS2) { aS2 = gS2 * ldf(s21 + o) + oS2; dS2 = (aS2 - ldf(s20 + o)) * kS2; m2 += dS2 * dS2; yS2 = ldf(s20 + o) * inv; xS2 = aS2 * inv; }
    if (hasPlain) stf(plain + (i << 2), sqrt<f64>(m2 / nbf));
    const illum = illumination(yB, yG, yR, yN, xB, xG, xR, xN) | illumination(xB, xG, xR, xN, yB, yG, yR, yN);
    const cloud0 = cloudAt(yB, yG, yR, yN, hasS1 ? yS1 : -1);
    const cloud1 = cloudAt(xB, xG, xR, xN, hasS1 ? xS1 : -1);
    const candidate = illum >= 2 || cloud0 != cloud1;
    if (!candidate && cloud0 && cloud1) {
      hide(i, raw, plain, hasPlain, type, p, learned);
      continue;
    }
    if (useRange && m2 > skip2) {
      if (fast && col > 0 && col + 1 < width
        && load<u8>(vUp + c - 1) != 0 && load<u8>(vUp + c) != 0 && load<u8>(vUp + c + 1) != 0
        && load<u8>(v0 + c - 1) != 0 && load<u8>(v0 + c + 1) != 0
        && load<u8>(vDown + c - 1) != 0 && load<u8>(vDown + c) != 0 && load<u8>(vDown + c + 1) != 0) {
        dB = range3(upB, b0, downB, o, aB, kB);
        dG = range3(upB + rowStride, g0, downB + rowStride, o, aG, kG);
        dR = range3(upB + 2 * rowStride, red0, downB + 2 * rowStride, o, aR, kR);
        dN = range3(upB + 3 * rowStride, n0, downB + 3 * rowStride, o, aN, kN);
        if (hasS1) dS1 = range3(upB + 4 * rowStride, s10, downB + 4 * rowStride, o, aS1, kS1);
        if (hasS2) dS2 = range3(upB + 5 * rowStride, s20, downB + 5 * rowStride, o, aS2, kS2);
      } else {
        // Neighbours as byte addresses of their blue value in the ring; band b is + b·rowStride.
        const rA = row >= R ? row - R : 0, rB = row + R < height ? row + R : height - 1;
        const cA = col >= R ? col - R : 0, cB = col + R < width ? col + R : width - 1;
        let nn = 0;
        for (let rr = rA; rr <= rB; rr++) {
          const slot = <usize>(rr % ringRows);
          const vRow = ringValid + slot * <usize>width;
          const bRow = ring + slot * rowBytes;
          for (let cc = cA; cc <= cB; cc++) {
            if (load<u8>(vRow + <usize>cc) != 0) {
              store<u32>(nbr + (<usize>nn << 2), <u32>(bRow + (<usize>cc << 2)));
              nn++;
            }
          }
        }
        dB = rangeList(b0 + o, 0, nbr, nn, aB, kB);
        dG = rangeList(g0 + o, rowStride, nbr, nn, aG, kG);
        dR = rangeList(red0 + o, 2 * rowStride, nbr, nn, aR, kR);
        dN = rangeList(n0 + o, 3 * rowStride, nbr, nn, aN, kN);
        if (hasS1) dS1 = rangeList(s10 + o, 4 * rowStride, nbr, nn, aS1, kS1);
        if (hasS2) dS2 = rangeList(s20 + o, 5 * rowStride, nbr, nn, aS2, kS2);
      }
      m2v = dB * dB + dG * dG + dR * dR + dN * dN;
      m2 = m2v;
      if (hasS1) m2 += dS1 * dS1;
      if (hasS2) m2 += dS2 * dS2;
    }
    const ndvi0 = nd(yN, yR);
    const ndvi1 = nd(xN, xR);
    const water0 = hasS1 ? nd(yG, yS1) > MNDWI_WATER : nd(yG, yN) > NDWI_WATER;
    const water1 = hasS1 ? nd(xG, xS1) > MNDWI_WATER : nd(xG, xN) > NDWI_WATER;
    const veg0 = ndvi0 > ndviVegetated;
    const veg1 = ndvi1 > ndviVegetated;
    const soil1 = hasS1 ? nd(xS1 + xR, xN + xB) > BSI_SOIL : nd(xR, xB) > REDNESS_SOIL;
    let weighted = false;
    let code: u32;
    if (water0 && !water1) code = CODE_WATER_FILL;
    else if (!water0 && water1) code = CODE_NEW_WATER;
    else if (veg0 && veg1) {
      weighted = true;
      code = STILL_VEGETATED;
    } else if (veg1 && ndvi1 > ndvi0) {
      weighted = true;
      code = 0;
    } else if (veg0 && ndvi1 > CLEARED_NDVI) code = CODE_VEGETATION_LOSS;
    else code = soil1 ? CODE_BARE_SOIL : CODE_CONSTRUCTION;
    const rms = sqrt<f64>(m2 / nbf);
    stf(raw + (i << 2), weighted ? vegetatedBothWeight * rms : rms);
    store<u8>(type + i, <u8>((illum != 0 ? code | CLOUD_FRINGE_FLAG : code) | (candidate ? CLOUD_CANDIDATE_FLAG : 0)));
    if (learned) {
      const q = i << 2;
      const pm = load<i32>(p + I_AT + (I_PLANE_MASK << 2));
      if ((pm & (1 << P_DBLUE)) != 0) stf(pDB + q, clip(dB));
      if ((pm & (1 << P_DGREEN)) != 0) stf(pDG + q, clip(dG));
      if ((pm & (1 << P_DRED)) != 0) stf(pDR + q, clip(dR));
      if ((pm & (1 << P_DNIR)) != 0) stf(pDN + q, clip(dN));
      if ((pm & (1 << P_DSWIR1)) != 0) stf(pDS1 + q, !swir ? 0 : clip(dS1));
      if ((pm & (1 << P_DSWIR2)) != 0) stf(pDS2 + q, !swir ? 0 : clip(dS2));
      if ((pm & (1 << P_NDBI0)) != 0) stf(pNdbi0 + q, swir ? nd(yS1, yN) : 0);
      if ((pm & (1 << P_NDBI1)) != 0) stf(pNdbi1 + q, swir ? nd(xS1, xN) : 0);
      if ((pm & (1 << P_LR)) != 0) stf(pLr + q, log1p(sqrt<f64>(m2v / 4)));
      if ((pm & (1 << P_NDVI0)) != 0) stf(pNdvi0 + q, ndvi0);
      if ((pm & (1 << P_NDVI1)) != 0) stf(pNdvi1 + q, ndvi1);
      if ((pm & (1 << P_NDWI0)) != 0) stf(pNdwi0 + q, nd(yG, yN));
      if ((pm & (1 << P_NDWI1)) != 0) stf(pNdwi1 + q, nd(xG, xN));
      const br0 = (yB + yG + yR + yN) / 4;
      const br1 = (xB + xG + xR + xN) / 4;
      if ((pm & (1 << P_BR0)) != 0) stf(pBr0 + q, br0);
      if ((pm & (1 << P_BR1)) != 0) stf(pBr1 + q, br1);
      if ((pm & (1 << P_BR0SQ)) != 0) stf(pBr0sq + q, br0 * br0);
      if ((pm & (1 << P_BR1SQ)) != 0) stf(pBr1sq + q, br1 * br1);
      if ((pm & (1 << P_DNDVI)) != 0) stf(pDNdvi + q, ndvi1 - ndvi0);
    }
  }
}

// fdlibm s_log1p.c as V8 ships it (src/base/ieee754.cc), for Math.log1p's exact bits.
const LN2_HI: f64 = 6.93147180369123816490e-01; // 3fe62e42 fee00000
const LN2_LO: f64 = 1.90821492927058770002e-10; // 3dea39ef 35793c76
const TWO54: f64 = 1.80143985094819840000e+16; // 43500000 00000000
const LP1: f64 = 6.666666666666735130e-01; // 3FE55555 55555593
const LP2: f64 = 3.999999999940941908e-01; // 3FD99999 9997FA04
const LP3: f64 = 2.857142874366239149e-01; // 3FD24924 94229359
const LP4: f64 = 2.222219843214978396e-01; // 3FCC71C5 1D8E78AF
const LP5: f64 = 1.818357216161805012e-01; // 3FC74664 96CB03DE
const LP6: f64 = 1.531383769920937332e-01; // 3FC39A09 D078C69F
const LP7: f64 = 1.479819860511658591e-01; // 3FC2F112 DF3E5244

@inline function highWord(x: f64): i32 {
  return <i32>(reinterpret<u64>(x) >>> 32);
}

@inline function withHighWord(x: f64, hi: i32): f64 {
  return reinterpret<f64>((reinterpret<u64>(x) & 0xffffffff) | (<u64><u32>hi << 32));
}

/** log(1 + x), bit for bit V8's Math.log1p (exported for the identity test). */
export function log1p(x: f64): f64 {
  const hx = highWord(x);
  const ax = hx & 0x7fffffff;
  let k: i32 = 1;
  let f: f64 = 0, c: f64 = 0;
  let hu: i32 = 0;
  if (hx < 0x3fda827a) { // 1 + x < sqrt(2)+
    if (ax >= 0x3ff00000) { // x ≤ −1
      if (x == -1.0) return -TWO54 / 0.0; // −∞
      // NaN: V8 returns this one (the x86 signalling NaN its compiler makes of fdlibm's
      // (x − x) / (x − x)) for every x < −1 and every NaN with the sign bit set, not the quiet
      // NaN the division would give; a Float32Array store turns it into 0x7fe00000.
      return reinterpret<f64>(0x7ff4000000000000);
    }
    if (ax < 0x3e200000) { // |x| < 2^-29
      if (TWO54 + x > 0 && ax < 0x3c900000) return x; // |x| < 2^-54
      return x - x * x * 0.5;
    }
    if (hx > 0 || hx <= <i32>0xbfd2bec4) { // sqrt(2)/2− ≤ 1 + x < sqrt(2)+
      k = 0;
      f = x;
      hu = 1;
    }
  } else if (hx >= 0x7ff00000) {
    return x + x;
  }
  if (k != 0) {
    let u: f64;
    if (hx < 0x43400000) {
      u = 1.0 + x;
      hu = highWord(u);
      k = (hu >> 20) - 1023;
      c = k > 0 ? 1.0 - (u - x) : x - (u - 1.0); // correction term
      c /= u;
    } else {
      u = x;
      hu = highWord(u);
      k = (hu >> 20) - 1023;
      c = 0;
    }
    hu &= 0x000fffff;
    if (hu < 0x6a09e) { // u ~< sqrt(2)
      u = withHighWord(u, hu | 0x3ff00000); // normalise u
    } else {
      k += 1;
      u = withHighWord(u, hu | 0x3fe00000); // normalise u / 2
      hu = (0x00100000 - hu) >> 2;
    }
    f = u - 1.0;
  }
  const hfsq = 0.5 * f * f;
  const kf = <f64>k;
  if (hu == 0) { // |f| < 2^-20
    if (f == 0) {
      if (k == 0) return 0;
      c += kf * LN2_LO;
      return kf * LN2_HI + c;
    }
    const R = hfsq * (1.0 - 0.66666666666666666 * f);
    if (k == 0) return f - R;
    return kf * LN2_HI - ((R - (kf * LN2_LO + c)) - f);
  }
  const s = f / (2.0 + f);
  const z = s * s;
  const R = z * (LP1 + z * (LP2 + z * (LP3 + z * (LP4 + z * (LP5 + z * (LP6 + z * LP7))))));
  if (k == 0) return f - (hfsq - s * (hfsq + R));
  return kf * LN2_HI - ((hfsq - (s * (hfsq + R) + (kf * LN2_LO + c))) - f);
}

/**
 * log1p of two lanes at once, bit for bit log1p above (V8's Math.log1p) lane by lane: the same f64
 * operations in the same order, the high-word arithmetic in i64 lanes, and each branch of the
 * scalar routine taken as a choice by masks. Covers x ≥ +0 below 2^53 (the pass feeds it
 * √(m²/4)); a lane outside that (sign bit set, NaN, ∞, huge) or on the |f| < 2^-20 branch sends
 * the pair to the scalar routine.
 */
function log1pV(x: v128): v128 {
  const bits = x; // the f64 lanes as i64
  const hx = i64x2.shr_u(bits, 32); // high word, zero-extended (the sign bit set: ≥ 2^31, sent to the scalar code)
  // Scalar: a sign bit, NaN or ∞ (hx ≥ 0x7ff00000 covers both), or x ≥ 2^53 (hx ≥ 0x43400000).
  let scalar = i64x2.ge_s(hx, i64x2.splat(0x43400000));
  const tiny = i64x2.lt_s(hx, i64x2.splat(0x3e200000)); // |x| < 2^-29
  const small = i64x2.lt_s(hx, i64x2.splat(0x3fda827a)); // 1 + x < √2+: k = 0, f = x
  // k ≠ 0 branch (x ≥ 0.4142…, below 2^53): u = 1 + x, k its exponent, c the correction term.
  const one = spl(1.0);
  let u = f64x2.add(one, x);
  let hu = i64x2.shr_u(u, 32);
  let k = i64x2.sub(i64x2.shr_s(hu, 20), i64x2.splat(1023));
  let c = f64x2.div(v128.bitselect(f64x2.sub(one, f64x2.sub(u, x)), f64x2.sub(x, f64x2.sub(u, one)), i64x2.gt_s(k, i64x2.splat(0))), u);
  hu = v128.and(hu, i64x2.splat(0x000fffff));
  const below = i64x2.lt_s(hu, i64x2.splat(0x6a09e)); // u ~< √2
  const low = v128.and(u, i64x2.splat(0xffffffff));
  u = v128.bitselect(v128.or(low, i64x2.shl(v128.or(hu, i64x2.splat(0x3ff00000)), 32)), v128.or(low, i64x2.shl(v128.or(hu, i64x2.splat(0x3fe00000)), 32)), below);
  k = v128.bitselect(k, i64x2.add(k, i64x2.splat(1)), below);
  hu = v128.bitselect(hu, i64x2.shr_s(i64x2.sub(i64x2.splat(0x00100000), hu), 2), below);
  // The k = 0 branch: f = x, c = 0, hu = 1 (never the |f| < 2^-20 case).
  const f = v128.bitselect(x, f64x2.sub(u, one), small);
  k = v128.bitselect(i64x2.splat(0), k, small);
  c = v128.bitselect(spl(0), c, small);
  // |f| < 2^-20 (hu = 0 on the k ≠ 0 branch): the scalar code.
  scalar = v128.or(scalar, v128.andnot(i64x2.eq(hu, i64x2.splat(0)), small));
  if (v128.any_true(v128.andnot(scalar, tiny))) {
    return f64x2.replace_lane(f64x2.splat(log1p(f64x2.extract_lane(x, 0))), 1, log1p(f64x2.extract_lane(x, 1)));
  }
  const hfsq = f64x2.mul(f64x2.mul(spl(0.5), f), f);
  const kf = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(k, k, 0, 2, 0, 2));
  const s = f64x2.div(f, f64x2.add(spl(2.0), f));
  const z = f64x2.mul(s, s);
  // z·(LP1 + z·(LP2 + z·(LP3 + z·(LP4 + z·(LP5 + z·(LP6 + z·LP7)))))), innermost first.
  let R = f64x2.mul(z, spl(LP7));
  R = f64x2.mul(z, f64x2.add(spl(LP6), R));
  R = f64x2.mul(z, f64x2.add(spl(LP5), R));
  R = f64x2.mul(z, f64x2.add(spl(LP4), R));
  R = f64x2.mul(z, f64x2.add(spl(LP3), R));
  R = f64x2.mul(z, f64x2.add(spl(LP2), R));
  R = f64x2.mul(z, f64x2.add(spl(LP1), R));
  const sR = f64x2.mul(s, f64x2.add(hfsq, R));
  const k0 = f64x2.sub(f, f64x2.sub(hfsq, sR));
  const kn = f64x2.sub(f64x2.mul(kf, spl(LN2_HI)), f64x2.sub(f64x2.sub(hfsq, f64x2.add(sR, f64x2.add(f64x2.mul(kf, spl(LN2_LO)), c))), f));
  const r = v128.bitselect(k0, kn, i64x2.eq(k, i64x2.splat(0)));
  // |x| < 2^-29 (x ≥ +0 here): x itself below 2^-54, else x − x²/2, as the scalar routine.
  const t = v128.bitselect(x, f64x2.sub(x, f64x2.mul(f64x2.mul(x, x), spl(0.5))), i64x2.lt_s(hx, i64x2.splat(0x3c900000)));
  return v128.bitselect(t, r, tiny);
}

/** log1pV of the pair (a, b), lane `lane` (exported for the identity test). */
export function log1pPair(a: f64, b: f64, lane: i32): f64 {
  const r = log1pV(f64x2.replace_lane(f64x2.splat(a), 1, b));
  return lane == 0 ? f64x2.extract_lane(r, 0) : f64x2.extract_lane(r, 1);
}

// ---------------------------------------------------------------------------------------------
// The same pass two pixels at a time (f64x2), without branches on the data: every test is computed
// for both lanes and the outcomes are chosen by masks (v128.bitselect), so the CPU never guesses
// wrong on noise. Each lane does exactly the scalar pass's IEEE operations (f64x2 add, sub, mul,
// div, sqrt, min, max are the scalar ones lane by lane; promote and demote round as the scalar
// conversions do). Pairs that need what the vector path does not do go through scalarCols: a
// nodata pixel beside a valid one, and a range distance off the 3×3 fast path (raster edge,
// nodata neighbour, NaN among the nine, a radius above 1).

/** f32 pair at `a` as f64x2 (exact). */
@inline function ld2(a: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(a));
}

/** f64x2 → two f32 at `a` (round to nearest even, as a Float32Array store). */
@inline function st2(a: usize, v: v128): void {
  v128.store64_lane(a, f32x4.demote_f64x2_zero(v), 0);
}

@inline function spl(x: f64): v128 {
  return f64x2.splat(x);
}

@inline function ndV(a: v128, b: v128): v128 {
  return f64x2.div(f64x2.sub(a, b), f64x2.add(f64x2.add(a, b), spl(1e-9)));
}

/** rangeDist per lane. */
@inline function rangeDistV(av: v128, lo: v128, hi: v128, k: v128): v128 {
  const below = f64x2.lt(av, lo), above = f64x2.gt(av, hi);
  const dLo = f64x2.neg(f64x2.mul(f64x2.sub(lo, av), k));
  const dHi = f64x2.mul(f64x2.sub(av, hi), k);
  return v128.bitselect(dLo, v128.bitselect(dHi, spl(0), above), below);
}

@inline function clipV(d: v128): v128 {
  return v128.bitselect(spl(D_CLIP), v128.bitselect(spl(-D_CLIP), d, f64x2.lt(d, spl(-D_CLIP))), f64x2.gt(d, spl(D_CLIP)));
}

// The vector path only ever sees finite inputs (scoreRow sends a pair with a NaN or ±∞ input to
// scalarCols), so its min and max take pmin / pmax (one instruction each; f64x2.min / max are a
// sequence of eight on x86, for NaN and ±0): on finite values they differ only in the sign of a
// zero result, and every min and max below feeds only comparisons (or a difference that does).

/** cloudAt per lane (mask). */
@inline function cloudV(b: v128, g: v128, r: v128, n: v128, s: v128): v128 {
  const vis = f64x2.div(f64x2.add(f64x2.add(b, g), r), spl(3));
  const bright = f64x2.gt(vis, spl(CLOUD_VIS));
  let white = bright;
  // Most pairs are not bright: skip the spread's division (a branch the CPU predicts).
  if (v128.any_true(bright)) {
    const spread = f64x2.div(f64x2.sub(f64x2.pmax(f64x2.pmax(b, g), r), f64x2.pmin(f64x2.pmin(b, g), r)), vis);
    const swirDark = v128.and(f64x2.ge(s, spl(0)), f64x2.lt(s, f64x2.mul(spl(0.5), vis)));
    white = v128.andnot(v128.and(v128.and(bright, f64x2.lt(spread, spl(CLOUD_WHITENESS))), f64x2.gt(n, f64x2.mul(spl(0.8), vis))), swirDark);
  }
  const s0 = v128.bitselect(s, spl(0), f64x2.ge(s, spl(0)));
  const dark = v128.and(v128.and(v128.and(f64x2.lt(b, spl(SHADOW_MAX)), f64x2.lt(g, spl(SHADOW_MAX))), v128.and(f64x2.lt(r, spl(SHADOW_MAX)), f64x2.lt(n, spl(SHADOW_MAX)))), f64x2.lt(s0, spl(SHADOW_MAX)));
  return v128.or(white, dark);
}

/**
 * illumination per lane, before (y…) → after (x…), as an i64 per lane: bit 0 set where it returns
 * 1, bit 1 where it returns 2 (never both).
 */
@inline function illuminationV(yb: v128, yg: v128, yr: v128, yn: v128, xb: v128, xg: v128, xr: v128, xn: v128): v128 {
  const db = f64x2.sub(xb, yb), dg = f64x2.sub(xg, yg), dr = f64x2.sub(xr, yr), dn = f64x2.sub(xn, yn);
  const fm = spl(FRINGE_MIN_BRIGHTEN);
  const bright = v128.and(v128.and(f64x2.gt(db, fm), f64x2.gt(dg, fm)), f64x2.gt(dr, fm));
  const lo = f64x2.pmin(f64x2.pmin(db, dg), dr), hi = f64x2.pmax(f64x2.pmax(db, dg), dr);
  const one = v128.and(v128.and(bright, f64x2.gt(lo, f64x2.mul(spl(0.5), hi))), v128.and(f64x2.ge(db, f64x2.mul(spl(0.8), dr)), f64x2.gt(dn, spl(-0.03))));
  const e = spl(1e-4);
  const notDarker = v128.or(
    v128.or(v128.and(f64x2.ge(xb, yb), f64x2.ge(xb, e)), v128.and(f64x2.ge(xg, yg), f64x2.ge(xg, e))),
    v128.or(v128.and(f64x2.ge(xr, yr), f64x2.ge(xr, e)), v128.and(f64x2.ge(xn, yn), f64x2.ge(xn, e))));
  let is1 = one, is2 = i64x2.splat(0);
  // Most pairs have a band that did not darken in both lanes: skip the four divisions then (the
  // scalar pass skips them per pixel; a branch per pair the CPU mostly predicts).
  if (!v128.all_true<i64>(notDarker)) {
    const rb = f64x2.div(xb, f64x2.pmax(yb, e)), rg = f64x2.div(xg, f64x2.pmax(yg, e));
    const rr = f64x2.div(xr, f64x2.pmax(yr, e)), rn = f64x2.div(xn, f64x2.pmax(yn, e));
    const rlo = f64x2.pmin(f64x2.pmin(f64x2.pmin(rb, rg), rr), rn);
    const rhi = f64x2.pmax(f64x2.pmax(f64x2.pmax(f64x2.pmax(spl(0), rb), rg), rr), rn);
    const darker = v128.andnot(v128.and(f64x2.lt(rhi, spl(0.93)), f64x2.lt(rhi, f64x2.mul(spl(1.3), rlo))), v128.or(one, notDarker));
    const deep = f64x2.lt(rhi, spl(0.7));
    is1 = v128.or(one, v128.andnot(darker, deep));
    is2 = v128.and(darker, deep);
  }
  return v128.or(v128.and(is1, i64x2.splat(1)), v128.and(is2, i64x2.splat(2)));
}

/**
 * The 3×3 min and max of one before band for the pair at byte offset o (cols c, c + 1) of rows
 * up/mid/down, as f32 [lo(c), lo(c + 1), hi(c), hi(c + 1)]: f32x4 min / max of the columns
 * c − 1 … c + 2, exact on ordered values (the order of the nine does not matter, −0 below +0)
 * and NaN where one of a lane's nine is NaN (there the scalar code scans, as score.ts does).
 * Reads one value either side of the pair: garbage at a raster edge, where ok3 sends a lane that
 * needs the range to the scalar code anyway.
 */
@inline function range2(up: usize, mid: usize, down: usize, o: usize): v128 {
  const a = v128.load(up + o - 4), b = v128.load(mid + o - 4), d = v128.load(down + o - 4);
  const mn = f32x4.min(f32x4.min(a, b), d), mx = f32x4.max(f32x4.max(a, b), d);
  const lo = f32x4.min(f32x4.min(mn, v128.shuffle<f32>(mn, mn, 1, 2, 3, 3)), v128.shuffle<f32>(mn, mn, 2, 3, 3, 3));
  const hi = f32x4.max(f32x4.max(mx, v128.shuffle<f32>(mx, mx, 1, 2, 3, 3)), v128.shuffle<f32>(mx, mx, 2, 3, 3, 3));
  return v128.shuffle<f32>(lo, hi, 0, 1, 4, 5);
}

/** NaN lanes of a pair's lo or hi (f64x2 mask). */
@inline function nanOf(lo: v128, hi: v128): v128 {
  return v128.or(f64x2.ne(lo, lo), f64x2.ne(hi, hi));
}

/** ok[col] ≠ 0 where the 8 neighbours of col are valid (cols 1 … width − 2; 0 at the two edges). */
function neighboursValidRow(up: usize, mid: usize, down: usize, width: i32, ok: usize): void {
  store<u8>(ok, 0);
  store<u8>(ok + <usize>(width - 1), 0);
  let col = 1;
  for (; col + 16 <= width - 1; col += 16) {
    const c = <usize>col;
    const m = i8x16.min_u(
      i8x16.min_u(i8x16.min_u(v128.load(up + c - 1), v128.load(up + c)), i8x16.min_u(v128.load(up + c + 1), v128.load(mid + c - 1))),
      i8x16.min_u(i8x16.min_u(v128.load(mid + c + 1), v128.load(down + c - 1)), i8x16.min_u(v128.load(down + c), v128.load(down + c + 1))));
    v128.store(ok + c, m);
  }
  for (; col < width - 1; col++) {
    const c = <usize>col;
    const m = min(min(min(load<u8>(up + c - 1), load<u8>(up + c)), min(load<u8>(up + c + 1), load<u8>(mid + c - 1))),
      min(min(load<u8>(mid + c + 1), load<u8>(down + c - 1)), min(load<u8>(down + c), load<u8>(down + c + 1))));
    store<u8>(ok + c, m);
  }
}

/**
 * Scores row `row` of the halo'd strip (0 ≤ row < height) with the parameters at `p`: the before
 * rows row − R … row + R that exist are in the ring (band slot b, row q at
 * ring + ((b·ringRows + q mod ringRows)·width)·4; validity at ringValid + (q mod ringRows)·width),
 * the after row at after + b·width·4 (validity at afterValid). Writes pixel row·width + col of
 * raw, plain (when HAS_PLAIN), type and the 18 base planes (when LEARNED; those of I_PLANE_MASK). Two pixels per step;
 * scalarCols where a pair needs it (see above).
 */
export function scoreRow(p: usize, row: i32): void {
  const width = load<i32>(p + I_AT + (I_WIDTH << 2));
  const height = load<i32>(p + I_AT + (I_HEIGHT << 2));
  const nb = load<i32>(p + I_AT + (I_NB << 2));
  const flags = load<i32>(p + I_AT + (I_FLAGS << 2));
  const R = load<i32>(p + I_AT + (I_R << 2));
  const ringRows = load<i32>(p + I_AT + (I_RING_ROWS << 2));
  const ring = <usize>load<u32>(p + I_AT + (I_RING << 2));
  const ringValid = <usize>load<u32>(p + I_AT + (I_RING_VALID << 2));
  const after = <usize>load<u32>(p + I_AT + (I_AFTER << 2));
  const afterValid = <usize>load<u32>(p + I_AT + (I_AFTER_VALID << 2));
  const raw = <usize>load<u32>(p + I_AT + (I_RAW << 2));
  const plain = <usize>load<u32>(p + I_AT + (I_PLAIN << 2));
  const type = <usize>load<u32>(p + I_AT + (I_TYPE << 2));
  const ok3 = <usize>load<u32>(p + I_AT + (I_OK3 << 2));
  const hasS1 = (flags & HAS_S1) != 0, hasS2 = (flags & HAS_S2) != 0;
  const swir = hasS1 && hasS2;
  const useRange = (flags & USE_RANGE) != 0;
  const hasPlain = (flags & HAS_PLAIN) != 0;
  const learned = (flags & LEARNED) != 0;
  const gB = spl(load<f64>(p, (F_GAIN + 0) << 3)), gG = spl(load<f64>(p, (F_GAIN + 1) << 3)), gR = spl(load<f64>(p, (F_GAIN + 2) << 3)), gN = spl(load<f64>(p, (F_GAIN + 3) << 3));
  const gS1 = spl(load<f64>(p, (F_GAIN + 4) << 3)), gS2 = spl(load<f64>(p, (F_GAIN + 5) << 3));
  const oB = spl(load<f64>(p, (F_OFF + 0) << 3)), oG = spl(load<f64>(p, (F_OFF + 1) << 3)), oR = spl(load<f64>(p, (F_OFF + 2) << 3)), oN = spl(load<f64>(p, (F_OFF + 3) << 3));
  const oS1 = spl(load<f64>(p, (F_OFF + 4) << 3)), oS2 = spl(load<f64>(p, (F_OFF + 5) << 3));
  const kB = spl(load<f64>(p, (F_ISIG + 0) << 3)), kG = spl(load<f64>(p, (F_ISIG + 1) << 3)), kR = spl(load<f64>(p, (F_ISIG + 2) << 3)), kN = spl(load<f64>(p, (F_ISIG + 3) << 3));
  const kS1 = spl(load<f64>(p, (F_ISIG + 4) << 3)), kS2 = spl(load<f64>(p, (F_ISIG + 5) << 3));
  const inv = spl(load<f64>(p, F_INV << 3));
  const ndviVegetated = spl(load<f64>(p, F_NDVI_VEG << 3));
  const vegetatedBothWeight = spl(load<f64>(p, F_VEG_BOTH << 3));
  const nbv = spl(<f64>nb);
  const skip2 = spl(RANGE_SKIP * RANGE_SKIP * <f64>nb);
  const pl = p + I_AT + (I_PLANES << 2);
  const pm = load<i32>(p + I_AT + (I_PLANE_MASK << 2)); // the planes written (I_PLANE_MASK)
  const pDB = <usize>load<u32>(pl, P_DBLUE << 2), pDG = <usize>load<u32>(pl, P_DGREEN << 2), pDR = <usize>load<u32>(pl, P_DRED << 2), pDN = <usize>load<u32>(pl, P_DNIR << 2);
  const pDS1 = <usize>load<u32>(pl, P_DSWIR1 << 2), pDS2 = <usize>load<u32>(pl, P_DSWIR2 << 2);
  const pNdbi0 = <usize>load<u32>(pl, P_NDBI0 << 2), pNdbi1 = <usize>load<u32>(pl, P_NDBI1 << 2), pLr = <usize>load<u32>(pl, P_LR << 2);
  const pNdvi0 = <usize>load<u32>(pl, P_NDVI0 << 2), pNdvi1 = <usize>load<u32>(pl, P_NDVI1 << 2);
  const pNdwi0 = <usize>load<u32>(pl, P_NDWI0 << 2), pNdwi1 = <usize>load<u32>(pl, P_NDWI1 << 2);
  const pBr0 = <usize>load<u32>(pl, P_BR0 << 2), pBr1 = <usize>load<u32>(pl, P_BR1 << 2);
  const pBr0sq = <usize>load<u32>(pl, P_BR0SQ << 2), pBr1sq = <usize>load<u32>(pl, P_BR1SQ << 2), pDNdvi = <usize>load<u32>(pl, P_DNDVI << 2);

  const rowBytes = <usize>width << 2;
  const rowStride = <usize>ringRows * rowBytes;
  const m = <usize>(row % ringRows);
  const b0 = ring + m * rowBytes, g0 = b0 + rowStride, red0 = b0 + 2 * rowStride, n0 = b0 + 3 * rowStride, s10 = b0 + 4 * rowStride, s20 = b0 + 5 * rowStride;
  const b1 = after, g1 = after + rowBytes, red1 = after + 2 * rowBytes, n1 = after + 3 * rowBytes, s11 = after + 4 * rowBytes, s21 = after + 5 * rowBytes;
  const v0 = ringValid + m * <usize>width;
  const fast = useRange && R == 1 && row > 0 && row + 1 < height;
  const up = fast ? <usize>((row - 1) % ringRows) : m, down = fast ? <usize>((row + 1) % ringRows) : m;
  const upB = ring + up * rowBytes, downB = ring + down * rowBytes;
  if (fast) neighboursValidRow(ringValid + up * <usize>width, v0, ringValid + down * <usize>width, width, ok3);
  // Radius > 1: the before window rows, read here by the range distance and by gateRow.
  const win = R > 1 && (useRange || (flags & GATE_SHIFT) != 0);
  if (win) windowStart(p, row);
  const wrb = winRowBytes(width);
  const wLo = <usize>load<u32>(p + I_AT + (I_WIN << 2)), wHi = wLo + <usize>SLOTS * wrb;
  const base = <usize>row * <usize>width;
  const zero = spl(0);
  const nanV = spl(NaN);
  const noMask = i64x2.splat(0);

  let col = 0;
  for (; col + 2 <= width; col += 2) {
    const c = <usize>col;
    const valid2 = (load<u8>(v0 + c) != 0 && load<u8>(afterValid + c) != 0 ? 1 : 0) + (load<u8>(v0 + c + 1) != 0 && load<u8>(afterValid + c + 1) != 0 ? 1 : 0);
    if (valid2 != 2) {
      if (valid2 == 0) {
        hide(base + c, raw, plain, hasPlain, type, p, learned);
        hide(base + c + 1, raw, plain, hasPlain, type, p, learned);
      } else scalarCols(p, row, col, col + 2);
      continue;
    }
    const o = c << 2;
    const i = base + c;
    const q = i << 2;
    const bb0 = ld2(b0 + o), gg0 = ld2(g0 + o), rr0 = ld2(red0 + o), nn0 = ld2(n0 + o);
    const aB = f64x2.add(f64x2.mul(gB, ld2(b1 + o)), oB), yB = f64x2.mul(bb0, inv), xB = f64x2.mul(aB, inv);
    const aG = f64x2.add(f64x2.mul(gG, ld2(g1 + o)), oG), yG = f64x2.mul(gg0, inv), xG = f64x2.mul(aG, inv);
    const aR = f64x2.add(f64x2.mul(gR, ld2(red1 + o)), oR), yR = f64x2.mul(rr0, inv), xR = f64x2.mul(aR, inv);
    const aN = f64x2.add(f64x2.mul(gN, ld2(n1 + o)), oN), yN = f64x2.mul(nn0, inv), xN = f64x2.mul(aN, inv);
    let dB = f64x2.mul(f64x2.sub(aB, bb0), kB), dG = f64x2.mul(f64x2.sub(aG, gg0), kG), dR = f64x2.mul(f64x2.sub(aR, rr0), kR), dN = f64x2.mul(f64x2.sub(aN, nn0), kN);
    let m2v = f64x2.add(f64x2.add(f64x2.add(f64x2.mul(dB, dB), f64x2.mul(dG, dG)), f64x2.mul(dR, dR)), f64x2.mul(dN, dN));
    let m2 = m2v;
    let aS1 = zero, aS2 = zero, dS1 = zero, dS2 = zero, yS1 = zero, yS2 = zero, xS1 = zero, xS2 = zero;
    if (hasS1) {
      const s = ld2(s10 + o);
      aS1 = f64x2.add(f64x2.mul(gS1, ld2(s11 + o)), oS1); dS1 = f64x2.mul(f64x2.sub(aS1, s), kS1); m2 = f64x2.add(m2, f64x2.mul(dS1, dS1));
      yS1 = f64x2.mul(s, inv); xS1 = f64x2.mul(aS1, inv);
    }
    if (hasS2) {
      const s = ld2(s20 + o);
      aS2 = f64x2.add(f64x2.mul(gS2, ld2(s21 + o)), oS2); dS2 = f64x2.mul(f64x2.sub(aS2, s), kS2); m2 = f64x2.add(m2, f64x2.mul(dS2, dS2));
      yS2 = f64x2.mul(s, inv); xS2 = f64x2.mul(aS2, inv);
    }
    // A non-finite input (NaN, ±∞: m2 is then not finite) goes through scalarCols: where a NaN
    // read from the data (+) meets one that arithmetic makes (−), which sign comes out is up to
    // the operand order the compiler picks, and V8 picks it differently for scalar and vector
    // code (and for interpreted and optimised JS). With finite inputs every NaN made is the
    // same default NaN, and that question never arises.
    const m2z = f64x2.sub(m2, m2);
    if (v128.any_true(f64x2.ne(m2z, m2z))) {
      scalarCols(p, row, col, col + 2);
      continue;
    }
    // The range distance where the scalar pass takes it: the 3×3 fast path here, else scalarCols.
    const needR = useRange ? f64x2.gt(m2, skip2) : noMask;
    let usedRange = false;
    // Pairs where neither lane is past RANGE_SKIP skip the range (most pairs on quiet ground).
    if (v128.any_true(needR)) {
      if (!fast && !win) {
        scalarCols(p, row, col, col + 2);
        continue;
      }
      let lB = zero, hB = zero, lG = zero, hG = zero, lR = zero, hR = zero, lN = zero, hN = zero;
      let rS1 = zero, rS2 = zero;
      let nan = noMask;
      if (fast) {
        const pB = range2(upB, b0, downB, o), pG = range2(upB + rowStride, g0, downB + rowStride, o);
        const pR = range2(upB + 2 * rowStride, red0, downB + 2 * rowStride, o), pN = range2(upB + 3 * rowStride, n0, downB + 3 * rowStride, o);
        lB = f64x2.promote_low_f32x4(pB); hB = f64x2.promote_low_f32x4(v128.shuffle<f32>(pB, pB, 2, 3, 2, 3));
        lG = f64x2.promote_low_f32x4(pG); hG = f64x2.promote_low_f32x4(v128.shuffle<f32>(pG, pG, 2, 3, 2, 3));
        lR = f64x2.promote_low_f32x4(pR); hR = f64x2.promote_low_f32x4(v128.shuffle<f32>(pR, pR, 2, 3, 2, 3));
        lN = f64x2.promote_low_f32x4(pN); hN = f64x2.promote_low_f32x4(v128.shuffle<f32>(pN, pN, 2, 3, 2, 3));
        nan = v128.or(v128.or(nanOf(lB, hB), nanOf(lG, hG)), v128.or(nanOf(lR, hR), nanOf(lN, hN)));
        if (hasS1) {
          const ps = range2(upB + 4 * rowStride, s10, downB + 4 * rowStride, o);
          const l = f64x2.promote_low_f32x4(ps), h = f64x2.promote_low_f32x4(v128.shuffle<f32>(ps, ps, 2, 3, 2, 3));
          nan = v128.or(nan, nanOf(l, h));
          rS1 = rangeDistV(aS1, l, h, kS1);
        }
        if (hasS2) {
          const ps = range2(upB + 5 * rowStride, s20, downB + 5 * rowStride, o);
          const l = f64x2.promote_low_f32x4(ps), h = f64x2.promote_low_f32x4(v128.shuffle<f32>(ps, ps, 2, 3, 2, 3));
          nan = v128.or(nan, nanOf(l, h));
          rS2 = rangeDistV(aS2, l, h, kS2);
        }
      } else {
        // Radius > 1: the window rows hold the (2R + 1)² min / max over the valid neighbours.
        windowGroup(p, row, col >> 2, false);
        lB = ld2(wLo + o); hB = ld2(wHi + o);
        lG = ld2(wLo + wrb + o); hG = ld2(wHi + wrb + o);
        lR = ld2(wLo + 2 * wrb + o); hR = ld2(wHi + 2 * wrb + o);
        lN = ld2(wLo + 3 * wrb + o); hN = ld2(wHi + 3 * wrb + o);
        nan = v128.or(v128.or(nanOf(lB, hB), nanOf(lG, hG)), v128.or(nanOf(lR, hR), nanOf(lN, hN)));
        if (hasS1) {
          const l = ld2(wLo + 4 * wrb + o), h = ld2(wHi + 4 * wrb + o);
          nan = v128.or(nan, nanOf(l, h));
          rS1 = rangeDistV(aS1, l, h, kS1);
        }
        if (hasS2) {
          const l = ld2(wLo + 5 * wrb + o), h = ld2(wHi + 5 * wrb + o);
          nan = v128.or(nan, nanOf(l, h));
          rS2 = rangeDistV(aS2, l, h, kS2);
        }
      }
      // The window rows count only valid neighbours; the 3×3 path needs all eight valid.
      const okBits = fast ? (load<u8>(ok3 + c) != 0 ? 1 : 0) | (load<u8>(ok3 + c + 1) != 0 ? 2 : 0) : 3;
      const needBits = i64x2.bitmask(needR);
      if ((needBits & ((~okBits) | i64x2.bitmask(nan))) != 0) {
        scalarCols(p, row, col, col + 2);
        continue;
      }
      dB = v128.bitselect(rangeDistV(aB, lB, hB, kB), dB, needR);
      dG = v128.bitselect(rangeDistV(aG, lG, hG, kG), dG, needR);
      dR = v128.bitselect(rangeDistV(aR, lR, hR, kR), dR, needR);
      dN = v128.bitselect(rangeDistV(aN, lN, hN, kN), dN, needR);
      if (hasS1) dS1 = v128.bitselect(rS1, dS1, needR);
      if (hasS2) dS2 = v128.bitselect(rS2, dS2, needR);
      usedRange = true;
    }
    // The plain difference is the one before the range distance.
    const plainV = hasPlain ? f64x2.sqrt(f64x2.div(m2, nbv)) : zero;
    if (usedRange) {
      // Where the range was not taken the d's are the plain ones, and so are these sums.
      m2v = f64x2.add(f64x2.add(f64x2.add(f64x2.mul(dB, dB), f64x2.mul(dG, dG)), f64x2.mul(dR, dR)), f64x2.mul(dN, dN));
      m2 = m2v;
      if (hasS1) m2 = f64x2.add(m2, f64x2.mul(dS1, dS1));
      if (hasS2) m2 = f64x2.add(m2, f64x2.mul(dS2, dS2));
    }
    const ill = v128.or(illuminationV(yB, yG, yR, yN, xB, xG, xR, xN), illuminationV(xB, xG, xR, xN, yB, yG, yR, yN));
    const illumNZ = v128.not(i64x2.eq(ill, noMask));
    const illum2 = v128.not(i64x2.eq(v128.and(ill, i64x2.splat(2)), noMask));
    const cloud0 = cloudV(yB, yG, yR, yN, hasS1 ? yS1 : spl(-1));
    const cloud1 = cloudV(xB, xG, xR, xN, hasS1 ? xS1 : spl(-1));
    const candidate = v128.or(illum2, v128.xor(cloud0, cloud1));
    const hidden = v128.andnot(v128.and(cloud0, cloud1), candidate);
    const ndvi0 = ndV(yN, yR);
    const ndvi1 = ndV(xN, xR);
    // NDWI (green against nir): the water test's index without swir, and a learned feature.
    const ndwi0 = hasS1 && !learned ? zero : ndV(yG, yN), ndwi1 = hasS1 && !learned ? zero : ndV(xG, xN);
    const water0 = hasS1 ? f64x2.gt(ndV(yG, yS1), spl(MNDWI_WATER)) : f64x2.gt(ndwi0, spl(NDWI_WATER));
    const water1 = hasS1 ? f64x2.gt(ndV(xG, xS1), spl(MNDWI_WATER)) : f64x2.gt(ndwi1, spl(NDWI_WATER));
    const veg0 = f64x2.gt(ndvi0, ndviVegetated);
    const veg1 = f64x2.gt(ndvi1, ndviVegetated);
    const soil1 = hasS1 ? f64x2.gt(ndV(f64x2.add(xS1, xR), f64x2.add(xN, xB)), spl(BSI_SOIL)) : f64x2.gt(ndV(xR, xB), spl(REDNESS_SOIL));
    const cWf = v128.andnot(water0, water1);
    const cNw = v128.andnot(water1, water0);
    const cSv = v128.and(veg0, veg1);
    const cRg = v128.and(veg1, f64x2.gt(ndvi1, ndvi0));
    const cVl = v128.and(veg0, f64x2.gt(ndvi1, spl(CLEARED_NDVI)));
    let code = v128.bitselect(i64x2.splat(CODE_BARE_SOIL), i64x2.splat(CODE_CONSTRUCTION), soil1);
    code = v128.bitselect(i64x2.splat(CODE_VEGETATION_LOSS), code, cVl);
    code = v128.bitselect(i64x2.splat(0), code, cRg);
    code = v128.bitselect(i64x2.splat(STILL_VEGETATED), code, cSv);
    code = v128.bitselect(i64x2.splat(CODE_NEW_WATER), code, cNw);
    code = v128.bitselect(i64x2.splat(CODE_WATER_FILL), code, cWf);
    const weighted = v128.andnot(v128.or(cSv, cRg), v128.or(cWf, cNw));
    // Without the range distance m2 is the plain sum, and the RMS the plain value already made.
    const rms = usedRange || !hasPlain ? f64x2.sqrt(f64x2.div(m2, nbv)) : plainV;
    const rawV = v128.bitselect(f64x2.mul(vegetatedBothWeight, rms), rms, weighted);
    st2(raw + q, v128.bitselect(nanV, rawV, hidden));
    let t = v128.or(code, v128.and(illumNZ, i64x2.splat(CLOUD_FRINGE_FLAG)));
    t = v128.or(t, v128.and(candidate, i64x2.splat(CLOUD_CANDIDATE_FLAG)));
    t = v128.bitselect(i64x2.splat(NOT_OBSERVED), t, hidden);
    store<u8>(type + i, <u8>i64x2.extract_lane(t, 0));
    store<u8>(type + i + 1, <u8>i64x2.extract_lane(t, 1));
    if (hasPlain) st2(plain + q, v128.bitselect(nanV, plainV, hidden)); // NaN where hidden (hideRow)
    if (learned) {
      if ((pm & (1 << P_DBLUE)) != 0) st2(pDB + q, v128.bitselect(nanV, clipV(dB), hidden));
      if ((pm & (1 << P_DGREEN)) != 0) st2(pDG + q, v128.bitselect(nanV, clipV(dG), hidden));
      if ((pm & (1 << P_DRED)) != 0) st2(pDR + q, v128.bitselect(nanV, clipV(dR), hidden));
      if ((pm & (1 << P_DNIR)) != 0) st2(pDN + q, v128.bitselect(nanV, clipV(dN), hidden));
      if ((pm & (1 << P_DSWIR1)) != 0) st2(pDS1 + q, v128.bitselect(nanV, swir ? clipV(dS1) : zero, hidden));
      if ((pm & (1 << P_DSWIR2)) != 0) st2(pDS2 + q, v128.bitselect(nanV, swir ? clipV(dS2) : zero, hidden));
      if ((pm & (1 << P_NDBI0)) != 0) st2(pNdbi0 + q, v128.bitselect(nanV, swir ? ndV(yS1, yN) : zero, hidden));
      if ((pm & (1 << P_NDBI1)) != 0) st2(pNdbi1 + q, v128.bitselect(nanV, swir ? ndV(xS1, xN) : zero, hidden));
      const x = f64x2.sqrt(f64x2.mul(m2v, spl(0.25)));
      const lr = log1pV(x);
      if ((pm & (1 << P_LR)) != 0) st2(pLr + q, v128.bitselect(nanV, lr, hidden));
      if ((pm & (1 << P_NDVI0)) != 0) st2(pNdvi0 + q, v128.bitselect(nanV, ndvi0, hidden));
      if ((pm & (1 << P_NDVI1)) != 0) st2(pNdvi1 + q, v128.bitselect(nanV, ndvi1, hidden));
      if ((pm & (1 << P_NDWI0)) != 0) st2(pNdwi0 + q, v128.bitselect(nanV, ndwi0, hidden));
      if ((pm & (1 << P_NDWI1)) != 0) st2(pNdwi1 + q, v128.bitselect(nanV, ndwi1, hidden));
      // x / 4 as x · 0.25: one correctly rounded operation on the same exact quotient (a power of two), so the same bits.
      const br0 = f64x2.mul(f64x2.add(f64x2.add(f64x2.add(yB, yG), yR), yN), spl(0.25));
      const br1 = f64x2.mul(f64x2.add(f64x2.add(f64x2.add(xB, xG), xR), xN), spl(0.25));
      if ((pm & (1 << P_BR0)) != 0) st2(pBr0 + q, v128.bitselect(nanV, br0, hidden));
      if ((pm & (1 << P_BR1)) != 0) st2(pBr1 + q, v128.bitselect(nanV, br1, hidden));
      if ((pm & (1 << P_BR0SQ)) != 0) st2(pBr0sq + q, v128.bitselect(nanV, f64x2.mul(br0, br0), hidden));
      if ((pm & (1 << P_BR1SQ)) != 0) st2(pBr1sq + q, v128.bitselect(nanV, f64x2.mul(br1, br1), hidden));
      if ((pm & (1 << P_DNDVI)) != 0) st2(pDNdvi + q, v128.bitselect(nanV, f64x2.sub(ndvi1, ndvi0), hidden));
    }
  }
  if (col < width) scalarCols(p, row, col, width);
  if ((flags & GATE_SHIFT) != 0) gateRow(p, row);
}

/** Where scanRing and scanWindow leave their min and max (gateCols' scalar scans; a function returns one value). */
let scanLo: f64 = 0;
let scanHi: f64 = 0;

/**
 * [lo, hi] widened by the eight neighbours v0…v7 in tolerateShift's ring order (up left, up, up
 * right, left, right, down left, down, down right), each either below lo or else above hi, as its
 * scan takes them (NaN neighbours change nothing); into scanLo / scanHi.
 */
@inline function scanRing(lo: f64, hi: f64, v0: f64, v1: f64, v2: f64, v3: f64, v4: f64, v5: f64, v6: f64, v7: f64): void {
  if (v0 < lo) lo = v0; else if (v0 > hi) hi = v0;
  if (v1 < lo) lo = v1; else if (v1 > hi) hi = v1;
  if (v2 < lo) lo = v2; else if (v2 > hi) hi = v2;
  if (v3 < lo) lo = v3; else if (v3 > hi) hi = v3;
  if (v4 < lo) lo = v4; else if (v4 > hi) hi = v4;
  if (v5 < lo) lo = v5; else if (v5 > hi) hi = v5;
  if (v6 < lo) lo = v6; else if (v6 > hi) hi = v6;
  if (v7 < lo) lo = v7; else if (v7 > hi) hi = v7;
  scanLo = lo;
  scanHi = hi;
}

/**
 * [lo, hi] widened by the valid pixels of ring rows rA…rB, columns cA…cB, in scan order: row
 * rr's values start at values + (rr % ringRows)·stride, its validity bytes at valid + (rr % ringRows)·w;
 * each value mapped to g·v + ob where `mapped` (the after side); into scanLo / scanHi.
 */
@inline function scanWindow(lo: f64, hi: f64, valid: usize, values: usize, stride: usize, w: usize, ringRows: i32, rA: i32, rB: i32, cA: i32, cB: i32, g: f64, ob: f64, mapped: bool): void {
  for (let rr = rA; rr <= rB; rr++) {
    const slot = <usize>(rr % ringRows);
    const vRow = valid + slot * w;
    const aRow = values + slot * stride;
    for (let cc = cA; cc <= cB; cc++) {
      if (load<u8>(vRow + <usize>cc) == 0) continue;
      const x = ldf(aRow + (<usize>cc << 2));
      const v = mapped ? g * x + ob : x;
      if (v < lo) lo = v;
      else if (v > hi) hi = v;
    }
  }
  scanLo = lo;
  scanHi = hi;
}

/**
 * ../shift-gate.ts tolerateShift for columns [c0, c1) of row `row`, bit for bit (the same f64
 * operations in the same order; Math.min / Math.max are f64.min / f64.max; a NaN result is stored
 * as the canonical NaN, as tolerateShift does): the plain value the pass wrote is replaced by the
 * tolerant distance where it is above SHIFT_SKIP. The scalar code: gateRow takes four pixels at a
 * time and leaves the ones it cannot to this (raster edges, nodata or a NaN nearby, a gain ≤ 0).
 */
function gateCols(p: usize, row: i32, c0: i32, c1: i32): void {
  const width = load<i32>(p + I_AT + (I_WIDTH << 2));
  const height = load<i32>(p + I_AT + (I_HEIGHT << 2));
  const nb = load<i32>(p + I_AT + (I_NB << 2));
  const flags = load<i32>(p + I_AT + (I_FLAGS << 2));
  const R = load<i32>(p + I_AT + (I_R << 2));
  const ringRows = load<i32>(p + I_AT + (I_RING_ROWS << 2));
  const ring = <usize>load<u32>(p + I_AT + (I_RING << 2));
  const ringValid = <usize>load<u32>(p + I_AT + (I_RING_VALID << 2));
  const aRing = <usize>load<u32>(p + I_AT + (I_AFTER_RING << 2));
  const aValid = <usize>load<u32>(p + I_AT + (I_AFTER_VALID_RING << 2));
  const plain = <usize>load<u32>(p + I_AT + (I_PLAIN << 2));
  const hasS1 = (flags & HAS_S1) != 0, hasS2 = (flags & HAS_S2) != 0;
  const both = (flags & BOTH_WAYS) != 0;
  const shift = load<f64>(p, F_SHIFT << 3);
  const nbf = <f64>nb;
  const w = <usize>width;
  const rowBytes = w << 2;
  const m = <usize>(row % ringRows);
  const innerRow = R == 1 && row > 0 && row + 1 < height;
  const up = innerRow ? <usize>((row - 1) % ringRows) : m, down = innerRow ? <usize>((row + 1) % ringRows) : m;
  const rA = row >= R ? row - R : 0, rB = row + R < height ? row + R : height - 1;
  const bStride = <usize>ringRows * rowBytes; // before: one band slot's ring to the next
  const aStride = <usize>SLOTS * rowBytes; // after: one ring row to the next
  const v0u = ringValid + up * w, v0m = ringValid + m * w, v0d = ringValid + down * w;
  const v1u = aValid + up * w, v1m = aValid + m * w, v1d = aValid + down * w;
  const base = <usize>row * w;
  for (let col = c0; col < c1; col++) {
    const c = <usize>col;
    const pa = plain + ((base + c) << 2);
    // NaN (hidden) fails the comparison and is kept.
    if (!(load<f32>(pa) > SHIFT_SKIP)) continue;
    const cA = col >= R ? col - R : 0, cB = col + R < width ? col + R : width - 1;
    const fast = innerRow && col > 0 && col + 1 < width
      && ok8(v0u, v0m, v0d, c) && (!both || ok8(v1u, v1m, v1d, c));
    const o = c << 2;
    let m2: f64 = 0, r2: f64 = 0;
    for (let s = 0; s < SLOTS; s++) {
      if ((s == 4 && !hasS1) || (s == 5 && !hasS2)) continue;
      const bs = ring + <usize>s * bStride;
      const bU = bs + up * rowBytes + o, bM = bs + m * rowBytes + o, bD = bs + down * rowBytes + o;
      const b = ldf(bM);
      let lo = b, hi = b;
      if (fast) {
        const p0 = ldf(bU - 4), p1 = ldf(bU), p2 = ldf(bU + 4), l = ldf(bM - 4), r = ldf(bM + 4), q0 = ldf(bD - 4), q1 = ldf(bD), q2 = ldf(bD + 4);
        lo = min(min(min(min(b, p0), min(p1, p2)), min(min(l, r), min(q0, q1))), q2);
        hi = max(max(max(max(b, p0), max(p1, p2)), max(max(l, r), max(q0, q1))), q2);
        if (lo != lo || hi != hi) {
          scanRing(b, b, p0, p1, p2, l, r, q0, q1, q2);
          lo = scanLo; hi = scanHi;
        }
      } else {
        scanWindow(b, b, ringValid, bs, rowBytes, w, ringRows, rA, rB, cA, cB, 1, 0, false);
        lo = scanLo; hi = scanHi;
      }
      const ps = p + (<usize>s << 3);
      const g = load<f64>(ps, F_GAIN << 3), ob = load<f64>(ps, F_OFF << 3), k = load<f64>(ps, F_ISIG << 3);
      const xs = aRing + <usize>s * rowBytes; // slot s of ring row 0; + ring row · aStride
      const xU = xs + up * aStride + o, xM = xs + m * aStride + o, xD = xs + down * aStride + o;
      const av = g * ldf(xM) + ob;
      const tlo = b - shift * (b - lo), thi = b + shift * (hi - b);
      const d = av < tlo ? (tlo - av) * k : av > thi ? (av - thi) * k : 0;
      m2 += d * d;
      if (both) {
        let alo = av, ahi = av;
        let xl: f64 = NaN, xh: f64 = NaN;
        if (fast && g > 0) {
          // g·x + o is monotone in x for g > 0, so the raw min / max, mapped, are the mapped ones.
          const p0 = ldf(xU - 4), p1 = ldf(xU), p2 = ldf(xU + 4), l = ldf(xM - 4), r = ldf(xM + 4), q0 = ldf(xD - 4), q1 = ldf(xD), q2 = ldf(xD + 4);
          xl = min(min(min(p0, p1), min(p2, l)), min(min(r, q0), min(q1, q2)));
          xh = max(max(max(p0, p1), max(p2, l)), max(max(r, q0), max(q1, q2)));
        }
        if (xl == xl && xh == xh) {
          const ml = g * xl + ob, mh = g * xh + ob;
          if (ml < alo) alo = ml;
          if (mh > ahi) ahi = mh;
        } else if (fast) {
          scanRing(alo, ahi, g * ldf(xU - 4) + ob, g * ldf(xU) + ob, g * ldf(xU + 4) + ob, g * ldf(xM - 4) + ob,
            g * ldf(xM + 4) + ob, g * ldf(xD - 4) + ob, g * ldf(xD) + ob, g * ldf(xD + 4) + ob);
          alo = scanLo; ahi = scanHi;
        } else {
          scanWindow(alo, ahi, aValid, xs, aStride, w, ringRows, rA, rB, cA, cB, g, ob, true);
          alo = scanLo; ahi = scanHi;
        }
        const ulo = av - shift * (av - alo), uhi = av + shift * (ahi - av);
        const e = b < ulo ? (ulo - b) * k : b > uhi ? (b - uhi) * k : 0;
        r2 += e * e;
      }
    }
    const t = sqrt<f64>(both && r2 < m2 ? r2 / nbf : m2 / nbf);
    store<f32>(pa, t == t ? <f32>t : <f32>NaN);
  }
}

/**
 * The tolerant gate (../shift-gate.ts tolerateShift) for row `row`, fused into the pass: the before
 * and after rings are in this memory already and the row is still in cache. Four pixels at a time:
 * each band's 3×3 min / max by f32x4.min / max (the f32 values exactly, NaN when one is: the same
 * as Math.min / Math.max of their f64 promotions), the arithmetic in f64x2 in tolerateShift's order
 * of operations (the same bits); lanes where that does not hold (not the 3×3 fast case, a NaN among
 * the neighbours) and the row's ends go through gateCols, the scalar port. On a 10 m grid with
 * valid data that is almost none, and scalar min / max of noisy values mispredict a branch each.
 */
function gateRow(p: usize, row: i32): void {
  const width = load<i32>(p + I_AT + (I_WIDTH << 2));
  const height = load<i32>(p + I_AT + (I_HEIGHT << 2));
  const nb = load<i32>(p + I_AT + (I_NB << 2));
  const flags = load<i32>(p + I_AT + (I_FLAGS << 2));
  const R = load<i32>(p + I_AT + (I_R << 2));
  const ringRows = load<i32>(p + I_AT + (I_RING_ROWS << 2));
  const ring = <usize>load<u32>(p + I_AT + (I_RING << 2));
  const ringValid = <usize>load<u32>(p + I_AT + (I_RING_VALID << 2));
  const aRing = <usize>load<u32>(p + I_AT + (I_AFTER_RING << 2));
  const aValid = <usize>load<u32>(p + I_AT + (I_AFTER_VALID_RING << 2));
  const plain = <usize>load<u32>(p + I_AT + (I_PLAIN << 2));
  const hasS1 = (flags & HAS_S1) != 0, hasS2 = (flags & HAS_S2) != 0;
  const both = (flags & BOTH_WAYS) != 0;
  const innerRow = R == 1 && row > 0 && row + 1 < height;
  // The after side's shortcut (min / max of the raw values, then mapped) needs every gain > 0 (NaN: not).
  let gainsPos = true;
  for (let s = 0; s < SLOTS; s++) {
    if ((s == 4 && !hasS1) || (s == 5 && !hasS2)) continue;
    if (!(load<f64>(p + (<usize>s << 3), F_GAIN << 3) > 0)) gainsPos = false;
  }
  if (R > 1 && !(both && !gainsPos)) {
    gateWindow(p, row);
    return;
  }
  if (!innerRow || (both && !gainsPos) || width < 6) {
    gateCols(p, row, 0, width);
    return;
  }
  const shiftV = spl(load<f64>(p, F_SHIFT << 3));
  const nbv = spl(<f64>nb);
  const skip = f32x4.splat(SHIFT_SKIP);
  const zero = spl(0);
  const canon = f32x4.splat(NaN);
  const w = <usize>width;
  const rowBytes = w << 2;
  const m = <usize>(row % ringRows);
  const up = <usize>((row - 1) % ringRows), down = <usize>((row + 1) % ringRows);
  const bStride = <usize>ringRows * rowBytes;
  const aStride = <usize>SLOTS * rowBytes;
  const v0u = ringValid + up * w, v0m = ringValid + m * w, v0d = ringValid + down * w;
  const v1u = aValid + up * w, v1m = aValid + m * w, v1d = aValid + down * w;
  const base = <usize>row * w;
  // Which pixels have all 8 neighbours valid (ok8), a row at a time, sixteen per step: the before
  // row is scoreRow's where it made it (the range's fast path), the after row always made here.
  const okB = <usize>load<u32>(p + I_AT + (I_OK3 << 2)), okA = <usize>load<u32>(p + I_AT + (I_OK_AFTER << 2));
  if ((flags & USE_RANGE) == 0) neighboursValidRow(v0u, v0m, v0d, width, okB);
  if (both) neighboursValidRow(v1u, v1m, v1d, width, okA);
  // Column 0 has no left neighbour; then four at a time while the right neighbour of the last exists.
  gateCols(p, row, 0, 1);
  let col = 1;
  for (; col + 5 <= width; col += 4) {
    const c = <usize>col;
    const pa = plain + ((base + c) << 2);
    const pv = v128.load(pa);
    const need = f32x4.gt(pv, skip);
    if (!v128.any_true(need)) continue;
    // Lanes whose 8 neighbours are all valid (in both epochs where both ways).
    const fastMask = both ? v128.and(validMask(okB + c), validMask(okA + c)) : validMask(okB + c);
    let bad = f32x4.splat(0); // lanes with a NaN among the neighbours: gateCols
    let m2a = zero, m2b = zero, r2a = zero, r2b = zero;
    const o = c << 2;
    for (let s = 0; s < SLOTS; s++) {
      if ((s == 4 && !hasS1) || (s == 5 && !hasS2)) continue;
      const bs = ring + <usize>s * bStride;
      const bU = bs + up * rowBytes + o, bM = bs + m * rowBytes + o, bD = bs + down * rowBytes + o;
      const ul = v128.load(bU - 4), uc = v128.load(bU), ur = v128.load(bU + 4);
      const ml = v128.load(bM - 4), ctr = v128.load(bM), mr = v128.load(bM + 4);
      const dl = v128.load(bD - 4), dc = v128.load(bD), dr = v128.load(bD + 4);
      const lo = f32x4.min(f32x4.min(f32x4.min(f32x4.min(ul, uc), f32x4.min(ur, ml)), f32x4.min(f32x4.min(ctr, mr), f32x4.min(dl, dc))), dr);
      const hi = f32x4.max(f32x4.max(f32x4.max(f32x4.max(ul, uc), f32x4.max(ur, ml)), f32x4.max(f32x4.max(ctr, mr), f32x4.max(dl, dc))), dr);
      bad = v128.or(bad, v128.or(f32x4.ne(lo, lo), f32x4.ne(hi, hi)));
      const ps = p + (<usize>s << 3);
      const g = spl(load<f64>(ps, F_GAIN << 3)), ob = spl(load<f64>(ps, F_OFF << 3)), k = spl(load<f64>(ps, F_ISIG << 3));
      const xs = aRing + <usize>s * rowBytes;
      const aU = xs + up * aStride + o, aM = xs + m * aStride + o, aD = xs + down * aStride + o;
      const actr = v128.load(aM);
      let aLo = zero, aHi = zero;
      if (both) {
        // The after side's 8 neighbours (not the centre, as tolerateShift).
        const al = v128.load(aU - 4), ac = v128.load(aU), ar = v128.load(aU + 4), bl = v128.load(aM - 4), br = v128.load(aM + 4);
        const cl = v128.load(aD - 4), cc = v128.load(aD), cr = v128.load(aD + 4);
        aLo = f32x4.min(f32x4.min(f32x4.min(al, ac), f32x4.min(ar, bl)), f32x4.min(f32x4.min(br, cl), f32x4.min(cc, cr)));
        aHi = f32x4.max(f32x4.max(f32x4.max(al, ac), f32x4.max(ar, bl)), f32x4.max(f32x4.max(br, cl), f32x4.max(cc, cr)));
        bad = v128.or(bad, v128.or(f32x4.ne(aLo, aLo), f32x4.ne(aHi, aHi)));
      }
      // Lanes 0, 1 (h = 0), then 2, 3, in f64.
      for (let h = 0; h < 2; h++) {
        const b = half(ctr, h), av = f64x2.add(f64x2.mul(g, half(actr, h)), ob);
        const d2 = forwardSq(b, half(lo, h), half(hi, h), av, shiftV, k, zero);
        if (h == 0) m2a = f64x2.add(m2a, d2);
        else m2b = f64x2.add(m2b, d2);
        if (both) {
          const e2 = backwardSq(av, half(aLo, h), half(aHi, h), g, ob, b, shiftV, k, zero);
          if (h == 0) r2a = f64x2.add(r2a, e2);
          else r2b = f64x2.add(r2b, e2);
        }
      }
    }
    storeGate(p, row, col, pa, pv, gateValue(m2a, m2b, r2a, r2b, nbv, both, canon), need, v128.andnot(v128.and(need, fastMask), bad));
  }
  gateCols(p, row, col, width);
}

/**
 * gateRow for radius > 1 (grids finer than ~6.7 m), four pixels at a time over the whole row: the
 * before side's (2R + 1)² min / max from the window rows scoreRow made, the after side's made here
 * (windowGroup of the after ring, the raw values: with every gain > 0, g·x + o is monotone in x, so
 * the mapped min / max are the raw ones mapped, as gateRow's 3×3 shortcut). The windows count only
 * valid pixels and stop at the raster's edges, as gateCols's scan does, so no lane needs the scalar
 * code for an edge or nodata nearby; a lane with a NaN among its neighbours still does (gateCols).
 * The arithmetic is gateRow's, in tolerateShift's order. The after window includes the centre,
 * which the scan starts from (alo = ahi = av): the min of the two is the same value either way.
 */
function gateWindow(p: usize, row: i32): void {
  const width = load<i32>(p + I_AT + (I_WIDTH << 2));
  const nb = load<i32>(p + I_AT + (I_NB << 2));
  const flags = load<i32>(p + I_AT + (I_FLAGS << 2));
  const ringRows = load<i32>(p + I_AT + (I_RING_ROWS << 2));
  const ring = <usize>load<u32>(p + I_AT + (I_RING << 2));
  const aRing = <usize>load<u32>(p + I_AT + (I_AFTER_RING << 2));
  const plain = <usize>load<u32>(p + I_AT + (I_PLAIN << 2));
  const win = <usize>load<u32>(p + I_AT + (I_WIN << 2));
  const hasS1 = (flags & HAS_S1) != 0, hasS2 = (flags & HAS_S2) != 0;
  const both = (flags & BOTH_WAYS) != 0;
  const shiftV = spl(load<f64>(p, F_SHIFT << 3));
  const nbv = spl(<f64>nb);
  const skip = f32x4.splat(SHIFT_SKIP);
  const zero = spl(0);
  const canon = f32x4.splat(NaN);
  const w = <usize>width;
  const rowBytes = w << 2;
  const wrb = winRowBytes(width);
  const m = <usize>(row % ringRows);
  const bStride = <usize>ringRows * rowBytes;
  const aStride = <usize>SLOTS * rowBytes;
  const base = <usize>row * w;
  let col = 0;
  for (; col + 4 <= width; col += 4) {
    const c = <usize>col;
    const pa = plain + ((base + c) << 2);
    const pv = v128.load(pa);
    const need = f32x4.gt(pv, skip);
    if (!v128.any_true(need)) continue;
    windowGroup(p, row, col >> 2, false);
    if (both) windowGroup(p, row, col >> 2, true);
    let bad = f32x4.splat(0); // lanes with a NaN among the neighbours: gateCols
    let m2a = zero, m2b = zero, r2a = zero, r2b = zero;
    const o = c << 2;
    for (let s = 0; s < SLOTS; s++) {
      if ((s == 4 && !hasS1) || (s == 5 && !hasS2)) continue;
      const ws = win + <usize>s * wrb + o;
      const lo = v128.load(ws), hi = v128.load(ws + <usize>SLOTS * wrb);
      const ctr = v128.load(ring + <usize>s * bStride + m * rowBytes + o);
      bad = v128.or(bad, v128.or(f32x4.ne(lo, lo), f32x4.ne(hi, hi)));
      const ps = p + (<usize>s << 3);
      const g = spl(load<f64>(ps, F_GAIN << 3)), ob = spl(load<f64>(ps, F_OFF << 3)), k = spl(load<f64>(ps, F_ISIG << 3));
      const actr = v128.load(aRing + <usize>s * rowBytes + m * aStride + o);
      let aLo = zero, aHi = zero;
      if (both) {
        aLo = v128.load(ws + <usize>(2 * SLOTS) * wrb);
        aHi = v128.load(ws + <usize>(3 * SLOTS) * wrb);
        bad = v128.or(bad, v128.or(f32x4.ne(aLo, aLo), f32x4.ne(aHi, aHi)));
      }
      // Lanes 0, 1 (h = 0), then 2, 3, in f64.
      for (let h = 0; h < 2; h++) {
        const b = half(ctr, h), av = f64x2.add(f64x2.mul(g, half(actr, h)), ob);
        const d2 = forwardSq(b, half(lo, h), half(hi, h), av, shiftV, k, zero);
        if (h == 0) m2a = f64x2.add(m2a, d2);
        else m2b = f64x2.add(m2b, d2);
        if (both) {
          const e2 = backwardSq(av, half(aLo, h), half(aHi, h), g, ob, b, shiftV, k, zero);
          if (h == 0) r2a = f64x2.add(r2a, e2);
          else r2b = f64x2.add(r2b, e2);
        }
      }
    }
    storeGate(p, row, col, pa, pv, gateValue(m2a, m2b, r2a, r2b, nbv, both, canon), need, v128.andnot(need, bad));
  }
  gateCols(p, row, col, width);
}

/**
 * tolerateShift's distance for two lanes in f64x2: how far x lies outside [c − δ(c − lo),
 * c + δ(hi − c)], times k (0 inside). The forward gate passes the before pixel as c and the after
 * value as x; both ways, the after side passes them the other way round.
 */
@inline function tolerated(c: v128, lo: v128, hi: v128, x: v128, shiftV: v128, k: v128, zero: v128): v128 {
  const tlo = f64x2.sub(c, f64x2.mul(shiftV, f64x2.sub(c, lo)));
  const thi = f64x2.add(c, f64x2.mul(shiftV, f64x2.sub(hi, c)));
  return v128.bitselect(f64x2.mul(f64x2.sub(tlo, x), k),
    v128.bitselect(f64x2.mul(f64x2.sub(x, thi), k), zero, f64x2.gt(x, thi)), f64x2.lt(x, tlo));
}

/**
 * The gate's value of four lanes from their sums of squared distances (lanes 0, 1 in m2a / r2a,
 * 2, 3 in m2b / r2b): √(Σ / nb), both ways the smaller side's, a NaN stored as the one canonical NaN.
 */
@inline function gateValue(m2a: v128, m2b: v128, r2a: v128, r2b: v128, nbv: v128, both: bool, canon: v128): v128 {
  let ta = f64x2.div(m2a, nbv), tb = f64x2.div(m2b, nbv);
  if (both) {
    ta = v128.bitselect(f64x2.div(r2a, nbv), ta, f64x2.lt(r2a, m2a));
    tb = v128.bitselect(f64x2.div(r2b, nbv), tb, f64x2.lt(r2b, m2b));
  }
  const fa = f32x4.demote_f64x2_zero(f64x2.sqrt(ta)), fb = f32x4.demote_f64x2_zero(f64x2.sqrt(tb));
  const t = v128.shuffle<f32>(fa, fb, 0, 1, 4, 5);
  return v128.bitselect(canon, t, f32x4.ne(t, t));
}

/** tolerated's squared distance of the forward gate: the before pixel c against the after value x. */
@inline function forwardSq(c: v128, lo: v128, hi: v128, x: v128, shiftV: v128, k: v128, zero: v128): v128 {
  const d = tolerated(c, lo, hi, x, shiftV, k, zero);
  return f64x2.mul(d, d);
}

/**
 * tolerated's squared distance the other way round (LearnedParams.gateBothWays): the after value av
 * against the before value b, the after side's raw neighbour min / max mapped (g·x + o) and widened
 * to include av, as the scan from the centre does.
 */
@inline function backwardSq(av: v128, rawLo: v128, rawHi: v128, g: v128, ob: v128, b: v128, shiftV: v128, k: v128, zero: v128): v128 {
  const ml2 = f64x2.add(f64x2.mul(g, rawLo), ob);
  const mh2 = f64x2.add(f64x2.mul(g, rawHi), ob);
  const alo = v128.bitselect(ml2, av, f64x2.lt(ml2, av)), ahi = v128.bitselect(mh2, av, f64x2.gt(mh2, av));
  const e = tolerated(av, alo, ahi, b, shiftV, k, zero);
  return f64x2.mul(e, e);
}

/**
 * Stores the gate's value t of the lanes `take` (the rest keep the plain value pv at pa), and sends
 * the lanes needed that the vector did not take to the scalar code (it reads the plain value left in place).
 */
@inline function storeGate(p: usize, row: i32, col: i32, pa: usize, pv: v128, t: v128, need: v128, take: v128): void {
  v128.store(pa, v128.bitselect(t, pv, take));
  const rest = i32x4.bitmask(v128.andnot(need, take));
  if (rest != 0) {
    for (let l = 0; l < 4; l++) if ((rest & (1 << l)) != 0) gateCols(p, row, col + l, col + l + 1);
  }
}

/** Lanes 0, 1 (h = 0) or 2, 3 of four f32 lanes, in f64. */
@inline function half(v: v128, h: i32): v128 {
  return h == 0 ? lo64(v) : hi64(v);
}

@inline function lo64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

@inline function hi64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

/** Whether the 8 neighbours of column c in validity rows up / mid / down are all valid. */
@inline function ok8(u: usize, mid: usize, d: usize, c: usize): bool {
  return load<u8>(u + c - 1) != 0 && load<u8>(u + c) != 0 && load<u8>(u + c + 1) != 0
    && load<u8>(mid + c - 1) != 0 && load<u8>(mid + c + 1) != 0
    && load<u8>(d + c - 1) != 0 && load<u8>(d + c) != 0 && load<u8>(d + c + 1) != 0;
}
