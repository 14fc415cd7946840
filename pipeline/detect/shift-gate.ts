/**
 * The learned gate's misregistration-tolerant evidence (LearnedParams.gateShift): per band, the
 * distance (σ units) of the normalised after value from the interval
 * [b − δ·(b − lo), b + δ·(hi − b)], where b is the before pixel and lo / hi the before band's
 * min / max over the range neighbourhood (rangeRadius: 3×3 on a 10 m grid), RMS over the bands.
 *
 * δ = 0 is the plain difference, δ = 1 the range distance. On flat ground lo ≈ b ≈ hi, so a
 * low-contrast change keeps its full plain evidence (the range gate lost 40–80 % of OSCD's changed
 * pixels); on a strong edge the tolerance grows with the edge's own contrast, which is what a
 * sub-pixel shift resampled bilinearly does to it (a 0.3 px shift moves a pixel 0.3 of the way to
 * its neighbour). The generated Shandong-like scene's false components were exactly that: field
 * edges beside greenhouse plastic, ~1500 DN steps, passing the plain gate.
 *
 * A post-pass over the plain plane score.ts's JS reference pass wrote (the WebAssembly pass,
 * score-pass.ts, does the same row by row inside the pass, assembly/score-pass.ts gateRow, bit for
 * bit this; score-pass.test.ts holds them to it): only pixels whose plain RMS is above RANGE_SKIP are revisited (the tolerant distance
 * is never larger than the plain one, so quieter pixels keep their value exactly, as the range
 * score does), so it costs nothing on quiet ground and both passes give the same bits.
 */

/** Plain RMS (σ units) at or below which a pixel keeps its plain value (score.ts's RANGE_SKIP is this value). */
export const SHIFT_SKIP = 1.5;

/** One strip's inputs: the bands compared (before, after) in one order, their fit, the plain plane. */
export interface ShiftGateJob {
  width: number;
  height: number;
  /** Rows [r0, r1) of the halo'd strip were scored by the pass; these are revisited. */
  r0: number;
  r1: number;
  /** Before-range radius, pixels (rangeRadius). */
  rangeR: number;
  /** Before validity (neighbours that are not valid are left out of lo / hi, as the range distance does). */
  v0: Uint8Array;
  /** After validity (bothWays: the after neighbours that count). */
  v1: Uint8Array;
  /**
   * Also measure from the after side (the before pixel against the tolerated interval of the after
   * pixel and its neighbours) and keep the smaller of the two distances: a thin road or edge that
   * resampling blurred in one epoch and not in the other is forgiven both ways.
   */
  bothWays: boolean;
  before: Float32Array[];
  after: Float32Array[];
  gain: number[];
  off: number[];
  /** 1 / σ per band. */
  isig: number[];
  /** Plain RMS difference per pixel, σ units (NaN where hidden): overwritten with the tolerant one. */
  plain: Float32Array;
}

/**
 * Replaces plain[i] by the tolerant RMS distance with tolerated shift `shift` (δ in [0, 1]) for
 * pixels of rows [r0, r1) whose plain value is above SHIFT_SKIP. Returns the pixels revisited.
 */
export function tolerateShift(job: ShiftGateJob, shift: number): number {
  if (!(shift >= 0 && shift <= 1)) throw new Error(`tolerateShift: shift must be in [0, 1], got ${shift}`);
  const { width, height, r0, r1, rangeR: R, v0, v1, bothWays, before, after, gain, off, isig, plain } = job;
  const nb = before.length;
  const w = width;
  // The 3×3 fast path's neighbours (radius 1, all of them valid): offsets from the pixel.
  const ring = [-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1];
  let revisited = 0;
  for (let row = r0; row < r1; row++) {
    const rA = row >= R ? row - R : 0, rB = row + R < height ? row + R : height - 1;
    const innerRow = R === 1 && row > 0 && row + 1 < height;
    for (let col = 0; col < width; col++) {
      const i = row * width + col;
      // NaN (hidden) fails the comparison and is kept.
      if (!(plain[i] > SHIFT_SKIP)) continue;
      revisited++;
      const cA = col >= R ? col - R : 0, cB = col + R < width ? col + R : width - 1;
      // Min and max by comparisons (a NaN never compares, so it is left out) do not depend on the
      // order the neighbours are read in, so both paths give the same bits.
      const fast = innerRow && col > 0 && col + 1 < width && allValid(v0, i, ring) && (!bothWays || allValid(v1, i, ring));
      let m2 = 0, r2 = 0;
      for (let k = 0; k < nb; k++) {
        const a = before[k];
        const b = a[i];
        let lo = b, hi = b;
        if (fast) {
          // Math.min / max have no branch on the data (neighbours are noise: a compare per value
          // mispredicts half the time); a NaN among the nine makes them NaN, and then the scan.
          const p = a[i - w - 1], q = a[i - w], u = a[i - w + 1], l = a[i - 1], r = a[i + 1], x0 = a[i + w - 1], y0 = a[i + w], z0 = a[i + w + 1];
          lo = Math.min(b, p, q, u, l, r, x0, y0, z0);
          hi = Math.max(b, p, q, u, l, r, x0, y0, z0);
          if (lo !== lo || hi !== hi) {
            lo = b; hi = b;
            for (let t = 0; t < 8; t++) {
              const v = a[i + ring[t]];
              if (v < lo) lo = v;
              else if (v > hi) hi = v;
            }
          }
        } else {
          for (let rr = rA; rr <= rB; rr++) {
            for (let cc = cA; cc <= cB; cc++) {
              const j = rr * width + cc;
              if (!v0[j]) continue;
              const v = a[j];
              if (v < lo) lo = v;
              else if (v > hi) hi = v;
            }
          }
        }
        const g = gain[k], o = off[k], x = after[k];
        const av = g * x[i] + o;
        const tlo = b - shift * (b - lo), thi = b + shift * (hi - b);
        const d = av < tlo ? (tlo - av) * isig[k] : av > thi ? (av - thi) * isig[k] : 0;
        m2 += d * d;
        if (bothWays) {
          let alo = av, ahi = av;
          // g·x + o is monotone in x for g > 0 (each rounding is), so the min / max of the raw
          // values, mapped, are those of the mapped ones.
          const xl = fast && g > 0 ? Math.min(x[i - w - 1], x[i - w], x[i - w + 1], x[i - 1], x[i + 1], x[i + w - 1], x[i + w], x[i + w + 1]) : NaN;
          const xh = fast && g > 0 ? Math.max(x[i - w - 1], x[i - w], x[i - w + 1], x[i - 1], x[i + 1], x[i + w - 1], x[i + w], x[i + w + 1]) : NaN;
          if (xl === xl && xh === xh) {
            const ml = g * xl + o, mh = g * xh + o;
            if (ml < alo) alo = ml;
            if (mh > ahi) ahi = mh;
          } else if (fast) {
            for (let t = 0; t < 8; t++) {
              const v = g * x[i + ring[t]] + o;
              if (v < alo) alo = v;
              else if (v > ahi) ahi = v;
            }
          } else {
            for (let rr = rA; rr <= rB; rr++) {
              for (let cc = cA; cc <= cB; cc++) {
                const j = rr * width + cc;
                if (!v1[j]) continue;
                const v = g * x[j] + o;
                if (v < alo) alo = v;
                else if (v > ahi) ahi = v;
              }
            }
          }
          const ulo = av - shift * (av - alo), uhi = av + shift * (ahi - av);
          const e = b < ulo ? (ulo - b) * isig[k] : b > uhi ? (b - uhi) * isig[k] : 0;
          r2 += e * e;
        }
      }
      // A NaN (non-finite inputs only: ∞ − ∞) is stored as the one NaN: which sign arithmetic gives
      // it depends on the operand order the compiler picks, and the WebAssembly pass's port
      // (assembly/score-pass.ts gateRow) must give the same bits. Nothing reads a NaN's sign.
      const t = Math.sqrt(bothWays && r2 < m2 ? r2 / nb : m2 / nb);
      plain[i] = t === t ? t : NaN;
    }
  }
  return revisited;
}

/** Whether the 8 neighbours of pixel i (at the offsets `ring`) are all valid. */
function allValid(v: Uint8Array, i: number, ring: number[]): boolean {
  for (let t = 0; t < 8; t++) if (!v[i + ring[t]]) return false;
  return true;
}
