/**
 * Co-registration of two epochs that should lie on one grid but do not: a prior scene
 * orthorectified differently, another sensor, an old archive. A misregistration of two pixels or
 * more reads as change along every edge of a city (`npm run bench:stability`), so it is measured
 * and, where it is clear, taken out before differencing.
 *
 * The shift is the peak of the normalised cross-correlation of gradient magnitudes (edges move with
 * the ground; gains, haze and season do not move them) over integer offsets, pooled over the
 * sample windows, refined to sub-pixel by a parabola through the peak and its neighbours.
 */
import type { Grid } from './raster.js';
import type { AlignedSource } from './tile-reader.js';

export interface ShiftEstimate {
  /** Offset in pixels: prior(x + dx, y + dy) ≈ current(x, y). */
  dx: number;
  dy: number;
  /** Correlation at the peak, [-1, 1]: how much the two epochs' edges agree once shifted. */
  peak: number;
  /** Correlation with no shift, for comparison. */
  atZero: number;
  /** Pixels compared at the peak. */
  pixels: number;
}

export interface ShiftSample {
  width: number;
  height: number;
  current: Float32Array;
  prior: Float32Array;
  /** 1 where both epochs hold data. */
  valid: Uint8Array;
}

/** Gradient magnitude (|∂x| + |∂y|, central differences); NaN where a neighbour is invalid. */
function gradient(src: Float32Array, valid: Uint8Array, w: number, h: number): Float32Array {
  const g = new Float32Array(w * h).fill(NaN);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (!valid[i - 1] || !valid[i + 1] || !valid[i - w] || !valid[i + w]) continue;
      g[i] = Math.abs(src[i + 1] - src[i - 1]) + Math.abs(src[i + w] - src[i - w]);
    }
  }
  return g;
}

/** Adds one window's moments at one offset (n, Σa, Σb, Σa², Σb², Σab) into the pooled sums at acc[o…o+5]. */
function addMoments(acc: Float64Array, o: number, n: number, sa: number, sb: number, saa: number, sbb: number, sab: number): void {
  acc[o] += n;
  acc[o + 1] += sa;
  acc[o + 2] += sb;
  acc[o + 3] += saa;
  acc[o + 4] += sbb;
  acc[o + 5] += sab;
}

/** True when g has no NaN in rows and columns [m, size − m). */
function allFinite(g: Float32Array, w: number, h: number, m: number): boolean {
  for (let y = m; y < h - m; y++) {
    for (let i = y * w + m, end = y * w + w - m; i < end; i++) if (g[i] !== g[i]) return false;
  }
  return true;
}

/**
 * The per-offset sums of one window where no gradient is missing (the common case: a window wholly
 * inside both epochs' data), adding exactly what the general loop adds, in the same order, so the
 * sums are the same bits. Every pixel then counts at every offset, so n, Σa and Σa² do not depend
 * on the offset: they are summed once (the general loop sums the same a's in the same order at each
 * offset) and only Σb, Σb² and Σab are summed per offset. ~40 % of the work of the general loop.
 */
function accumulateComplete(ga: Float32Array, gb: Float32Array, w: number, h: number, R: number, acc: Float64Array): void {
  let n = 0, sa = 0, saa = 0;
  for (let y = R + 1; y < h - R - 1; y++) {
    for (let x = R + 1, i = y * w + R + 1; x < w - R - 1; x++, i++) {
      const a = ga[i];
      n++;
      sa += a;
      saa += a * a;
    }
  }
  for (let sy = -R; sy <= R; sy++) {
    let sx = -R;
    // Three offsets per pass: each load of a serves three sums, and each offset's sums still add
    // its pixels in the same order (so the same bits as one offset per pass, ~2× faster).
    for (; sx + 2 <= R; sx += 3) accumulateThree(ga, gb, w, h, R, sy, sx, n, sa, saa, acc);
    for (; sx <= R; sx++) accumulateOne(ga, gb, w, h, R, sy, sx, n, sa, saa, acc);
  }
}

/** One offset's Σb, Σb², Σab over the window's interior, added at its slot of acc (accumulateComplete). */
function accumulateOne(ga: Float32Array, gb: Float32Array, w: number, h: number, R: number, sy: number, sx: number, n: number, sa: number, saa: number, acc: Float64Array): void {
  let sb = 0, sbb = 0, sab = 0;
  for (let y = R + 1; y < h - R - 1; y++) {
    let i = y * w + R + 1;
    let j = (y + sy) * w + R + 1 + sx;
    for (let x = R + 1; x < w - R - 1; x++, i++, j++) {
      const b = gb[j];
      sb += b;
      sbb += b * b;
      sab += ga[i] * b;
    }
  }
  addMoments(acc, offsetSlot(R, sy, sx), n, sa, sb, saa, sbb, sab);
}

/** accumulateOne for the offsets sx, sx + 1 and sx + 2 in one pass. */
function accumulateThree(ga: Float32Array, gb: Float32Array, w: number, h: number, R: number, sy: number, sx: number, n: number, sa: number, saa: number, acc: Float64Array): void {
  let sb0 = 0, sbb0 = 0, sab0 = 0, sb1 = 0, sbb1 = 0, sab1 = 0, sb2 = 0, sbb2 = 0, sab2 = 0;
  for (let y = R + 1; y < h - R - 1; y++) {
    let i = y * w + R + 1;
    let j = (y + sy) * w + R + 1 + sx;
    for (let x = R + 1; x < w - R - 1; x++, i++, j++) {
      const a = ga[i];
      const b0 = gb[j], b1 = gb[j + 1], b2 = gb[j + 2];
      sb0 += b0;
      sbb0 += b0 * b0;
      sab0 += a * b0;
      sb1 += b1;
      sbb1 += b1 * b1;
      sab1 += a * b1;
      sb2 += b2;
      sbb2 += b2 * b2;
      sab2 += a * b2;
    }
  }
  addMoments(acc, offsetSlot(R, sy, sx), n, sa, sb0, saa, sbb0, sab0);
  addMoments(acc, offsetSlot(R, sy, sx + 1), n, sa, sb1, saa, sbb1, sab1);
  addMoments(acc, offsetSlot(R, sy, sx + 2), n, sa, sb2, saa, sbb2, sab2);
}

/** Where an offset's six moments start in the pooled sums. */
function offsetSlot(R: number, sy: number, sx: number): number {
  return ((sy + R) * (2 * R + 1) + sx + R) * 6;
}

/**
 * Estimates the shift between the epochs within ±maxShift px, or null when the windows hold too
 * little texture to say (fewer than 10 000 comparable pixels, or the peak at the edge of the search).
 */
export function estimateShift(samples: ShiftSample[], maxShift = 4): ShiftEstimate | null {
  const R = maxShift;
  const side = 2 * R + 1;
  // Per offset: n, Σa, Σb, Σa², Σb², Σab, pooled over windows.
  const acc = new Float64Array(side * side * 6);
  for (const s of samples) {
    const { width: w, height: h } = s;
    if (w <= 2 * R + 2 || h <= 2 * R + 2) continue;
    const ga = gradient(s.current, s.valid, w, h);
    const gb = gradient(s.prior, s.valid, w, h);
    if (allFinite(ga, w, h, R + 1) && allFinite(gb, w, h, 1)) {
      accumulateComplete(ga, gb, w, h, R, acc);
      continue;
    }
    for (let sy = -R; sy <= R; sy++) {
      for (let sx = -R; sx <= R; sx++) {
        let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (let y = R + 1; y < h - R - 1; y++) {
          let i = y * w + R + 1;
          let j = (y + sy) * w + R + 1 + sx;
          for (let x = R + 1; x < w - R - 1; x++, i++, j++) {
            const a = ga[i], b = gb[j];
            if (a !== a || b !== b) continue;
            n++;
            sa += a;
            sb += b;
            saa += a * a;
            sbb += b * b;
            sab += a * b;
          }
        }
        addMoments(acc, offsetSlot(R, sy, sx), n, sa, sb, saa, sbb, sab);
      }
    }
  }
  const ncc = new Float64Array(side * side);
  let best = 0;
  for (let k = 0; k < side * side; k++) {
    const [n, sa, sb, saa, sbb, sab] = acc.subarray(k * 6, k * 6 + 6);
    const va = saa - (sa * sa) / n, vb = sbb - (sb * sb) / n;
    ncc[k] = n > 0 && va > 0 && vb > 0 ? (sab - (sa * sb) / n) / Math.sqrt(va * vb) : -1;
    if (ncc[k] > ncc[best]) best = k;
  }
  const py = Math.floor(best / side) - R, px = (best % side) - R;
  const pixels = acc[best * 6];
  if (pixels < 10_000 || Math.abs(px) === R || Math.abs(py) === R) return null;
  const at = (x: number, y: number) => ncc[(y + R) * side + x + R];
  const vertex = (l: number, c: number, r: number) => {
    const d = l - 2 * c + r;
    return d < 0 ? Math.max(-0.5, Math.min(0.5, (l - r) / (2 * d))) : 0;
  };
  return {
    dx: px + vertex(at(px - 1, py), at(px, py), at(px + 1, py)),
    dy: py + vertex(at(px, py - 1), at(px, py), at(px, py + 1)),
    peak: at(px, py),
    atZero: at(0, 0),
    pixels,
  };
}

/** `grid` moved by (dx, dy) of its own pixels. */
export function translateGrid(grid: Grid, dx: number, dy: number): Grid {
  const [t0, t1, t2, t3, t4, t5] = grid.transform;
  return { ...grid, transform: [t0 + dx * t1 + dy * t2, t1, t2, t3 + dx * t4 + dy * t5, t4, t5] };
}

/** `src` read (dx, dy) pixels further along every target grid: prior'(x, y) = prior(x + dx, y + dy). */
export function offsetSource(src: AlignedSource, dx: number, dy: number): AlignedSource {
  return {
    async readAligned(target, bands, reuse) {
      const r = await src.readAligned(translateGrid(target, dx, dy), bands, reuse);
      return { ...r, transform: target.transform };
    },
    close: () => src.close(),
  };
}
