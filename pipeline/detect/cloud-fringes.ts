/**
 * Cloud and shadow fringes: the haze and penumbra around a thick cloud or its shadow change the
 * ground like thin cloud (CLOUD_FRINGE_FLAG, set per pixel by scorePixels) but are no core
 * themselves. Once the whole tile is scored, the fringes connected to a core are hidden.
 */
import { byteWords, zeroLanes } from '../../geo/kernels/byte-lanes.js';
import { labelComponents } from '../../geo/kernels/label.js';
import { CLOUD_CANDIDATE_FLAG, CLOUD_FRINGE_FLAG, CLOUDED, NOT_OBSERVED } from './score.js';

export interface CloudMaskOptions {
  /** Hide flagged pixels connected to a core (see maskCloudFringes). */
  fringes: boolean;
  /** Cores: 8-connected cloud/shadow patches of at least this many pixels (≤ 1: all), hidden and grown from. */
  minCorePx: number;
  /** Ring hidden around those cores and their fringes, pixels (chessboard distance). */
  haloPx: number;
  /** Ring hidden around every cloud or shadow pixel, pixels. */
  bufferPx: number;
}

/**
 * Hides weather: the 8-connected patches of pixels scorePixels flagged CLOUD_CANDIDATE_FLAG that
 * hold at least `minCorePx` pixels (the cores; a smaller patch is a white roof or a building's
 * shadow and keeps its score), and what they spoil around them; hidden pixels end NOT_OBSERVED
 * with a NaN score, and both flags are cleared on the rest. Grown from cloud and shadow only:
 * nodata (already NOT_OBSERVED) is no weather and spoils nothing around it.
 * - fringes: pixels flagged CLOUD_FRINGE_FLAG that are 8-connected (through flagged pixels) to a
 *   core of at least `minCorePx` pixels. Thin cloud and penumbra surround the thick core, while a
 *   white roof or a shadowed field on its own keeps its score. The flag is cleared elsewhere.
 * - halo: a ring of `haloPx` around those cores and fringes, whatever the pixels changed like.
 *   Thin cloud fades out past where the per-pixel test still fires, and over a city the haze
 *   changes the spectrum's shape enough not to be flagged (OSCD paris: most false change is there).
 * - buffer: a ring of `bufferPx` around every cloud or shadow pixel, small cores included.
 * `scratch` (≥ width × height bytes, overwritten) is where the cores are drawn, allocated here when
 * not given. Returns the pixels hidden here.
 */
export function maskCloudFringes(type: Uint8Array, score: Float32Array, width: number, height: number, opts: CloudMaskOptions, scratch?: Uint8Array): number {
  const n = width * height;
  // The cores' labels and then the flood's queue: a fresh buffer, of which only the pages under the
  // cores and the queue's front are ever written (weather is a few % of a tile), so it costs no
  // clearing and little memory.
  const queue = new Int32Array(n);
  const hide = (j: number) => { type[j] = CLOUDED; score[j] = NaN; };
  let tail = seedCores(type, width, height, queue, opts.minCorePx, scratch);
  let hidden = 0;
  for (let k = 0; k < tail; k++) if (type[queue[k]] !== CLOUDED) { hide(queue[k]); hidden++; }
  let head = 0;
  if (opts.fringes) {
    while (head < tail) {
      const end = ring(type, score, width, height, queue, head, tail, true);
      hidden += end - tail;
      [head, tail] = [tail, end];
    }
  }
  // Halo: rings around the cores and everything the flood reached (head = 0: all of it).
  head = 0;
  for (let pass = 0; pass < opts.haloPx && head < tail; pass++) {
    const end = ring(type, score, width, height, queue, head, tail, false);
    hidden += end - tail;
    [head, tail] = [tail, end];
  }
  if (opts.bufferPx <= 0) {
    // No buffer pass between them: clear the flags and turn CLOUDED into NOT_OBSERVED in one pass
    // over the tile, writing only the pixels that change.
    finishTypes(type, n);
    return hidden;
  }
  for (let i = 0; i < n; i++) if (type[i] < CLOUDED) type[i] &= ~(CLOUD_FRINGE_FLAG | CLOUD_CANDIDATE_FLAG);
  // Buffer: the box-smoothed score of pixels next to a hidden one still carries the cloud's raw
  // difference, and cloud edges are uncertain anyway.
  for (let pass = 0; pass < opts.bufferPx; pass++) {
    let m = 0;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const i = r * width + c;
        if (type[i] >= CLOUDED) continue;
        let near = false;
        for (let dr = -1; dr <= 1 && !near; dr++) {
          const rr = r + dr;
          if (rr < 0 || rr >= height) continue;
          for (let dc = -1; dc <= 1; dc++) {
            const cc = c + dc;
            if (cc >= 0 && cc < width && type[rr * width + cc] === CLOUDED) { near = true; break; }
          }
        }
        if (near) queue[m++] = i;
      }
    }
    for (let k = 0; k < m; k++) hide(queue[k]);
    hidden += m;
  }
  for (let i = 0; i < n; i++) if (type[i] === CLOUDED) type[i] = NOT_OBSERVED;
  return hidden;
}

/**
 * One breadth-first ring: hides (CLOUDED, NaN score) the 8-neighbours of queue[from, to) that are
 * visible, and with `fringeOnly` flagged CLOUD_FRINGE_FLAG, appending them to the queue in
 * scan order around each; returns the new tail. Module-level with the test inline: a closure
 * per call and a predicate called per neighbour cost the halo of a full tile twice the time.
 */
function ring(type: Uint8Array, score: Float32Array, width: number, height: number, queue: Int32Array, from: number, to: number, fringeOnly: boolean): number {
  let end = to;
  for (let head = from; head < to; head++) {
    const i = queue[head];
    const c = i % width, r = (i - c) / width;
    const r1 = r + 1 < height ? r + 1 : height - 1;
    const c0 = c > 0 ? c - 1 : 0, c1 = c + 1 < width ? c + 1 : width - 1;
    for (let rr = r > 0 ? r - 1 : 0; rr <= r1; rr++) {
      for (let cc = c0; cc <= c1; cc++) {
        const j = rr * width + cc;
        const t = type[j];
        if (t >= CLOUDED || (fringeOnly && (t & CLOUD_FRINGE_FLAG) === 0)) continue;
        type[j] = CLOUDED;
        score[j] = NaN;
        queue[end++] = j;
      }
    }
  }
  return end;
}

/** Both flags cleared on visible pixels, CLOUDED become NOT_OBSERVED: maskCloudFringes' last two passes in one. */
function finishTypes(type: Uint8Array, n: number): void {
  const flags = CLOUD_FRINGE_FLAG | CLOUD_CANDIDATE_FLAG;
  let from = 0;
  const t32 = byteWords(type, n);
  if (t32 !== null) {
    // Four pixels a step (byte lanes of a Uint32, no carry between them): a byte ≥ 0xFE (CLOUDED,
    // NOT_OBSERVED) becomes 0xFF, any other loses its two flag bits (0xC0). `full` is 0xFF on the
    // lanes ≥ 0xFE: those whose complement has no bit but the lowest.
    for (let k = 0; k < t32.length; k++) {
      const x = t32[k];
      const m = zeroLanes(~x & 0xfefefefe);
      const full = (m | ((m >>> 0) - (m >>> 7))) >>> 0;
      const y = ((x & 0x3f3f3f3f & ~full) | full) >>> 0;
      if (y !== x) t32[k] = y;
    }
    from = t32.length << 2;
  }
  for (let i = from; i < n; i++) {
    const t = type[i];
    if (t < CLOUDED) {
      if ((t & flags) !== 0) type[i] = t & ~flags;
    } else if (t === CLOUDED) type[i] = NOT_OBSERVED;
  }
}

/**
 * Cloud or shadow in one epoch: hidden already (CLOUDED) or scored and flagged (CLOUD_CANDIDATE_FLAG).
 * With CLOUDED = 254 and the flag 0x80 these are exactly the codes 128…254 (coreMask relies on it).
 */
const isCore = (t: number): boolean => t === CLOUDED || (t < CLOUDED && (t & CLOUD_CANDIDATE_FLAG) !== 0);

/** core[i] = isCore(type[i]) ? 1 : 0 for i < n; four pixels a step where both arrays are 4-byte aligned. */
function coreMask(type: Uint8Array, core: Uint8Array, n: number): void {
  let from = 0;
  const t32 = byteWords(type, n);
  const c32 = byteWords(core, n);
  if (t32 !== null && c32 !== null && CLOUDED === 254 && CLOUD_CANDIDATE_FLAG === 0x80) {
    // Lanes with the top bit set (≥ 128) and not 0xFF (NOT_OBSERVED, whose complement is zero).
    for (let k = 0; k < t32.length; k++) {
      const x = t32[k];
      c32[k] = ((x & 0x80808080 & ~zeroLanes(~x)) >>> 7) >>> 0;
    }
    from = t32.length << 2;
  }
  for (let i = from; i < n; i++) core[i] = isCore(type[i]) ? 1 : 0;
}

/**
 * Writes to the front of `queue` (all zero on entry) every CLOUDED pixel, or with minPx > 1 those
 * of 8-connected cores of at least minPx pixels; returns how many. The cores are drawn into
 * `scratch` (allocated when not given) and labelled into `queue` itself, which the flood does not
 * need until then.
 */
function seedCores(type: Uint8Array, width: number, height: number, queue: Int32Array, minPx: number, scratch?: Uint8Array): number {
  const n = width * height;
  let tail = 0;
  if (minPx <= 1) {
    for (let i = 0; i < n; i++) if (isCore(type[i])) queue[tail++] = i;
    return tail;
  }
  if (scratch !== undefined && scratch.length < n) throw new Error(`maskCloudFringes: scratch has ${scratch.length} bytes, need ${n}`);
  const core = scratch ?? new Uint8Array(n);
  coreMask(type, core, n);
  const count = labelComponents(core, width, height, queue, 8, { cleared: true });
  const size = new Int32Array(count + 1);
  // Only core pixels carry a label: both passes below visit those alone, skipping four background
  // pixels a step where `core` is aligned (cores are a few % of a tile).
  const c32 = byteWords(core, n);
  const from = c32 !== null ? c32.length << 2 : 0;
  if (c32 !== null) {
    for (let k = 0; k < c32.length; k++) {
      if (c32[k] === 0) continue;
      for (let i = k << 2, e = i + 4; i < e; i++) if (core[i] !== 0) size[queue[i]]++;
    }
  }
  for (let i = from; i < n; i++) if (core[i] !== 0) size[queue[i]]++;
  // tail ≤ i: each seed is written at or behind the label just read.
  if (c32 !== null) {
    for (let k = 0; k < c32.length; k++) {
      if (c32[k] === 0) continue;
      for (let i = k << 2, e = i + 4; i < e; i++) if (core[i] !== 0 && size[queue[i]] >= minPx) queue[tail++] = i;
    }
  }
  for (let i = from; i < n; i++) if (core[i] !== 0 && size[queue[i]] >= minPx) queue[tail++] = i;
  return tail;
}
