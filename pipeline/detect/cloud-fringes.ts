/**
 * Cloud and shadow fringes: the haze and penumbra around a thick cloud or its shadow change the
 * ground like thin cloud (CLOUD_FRINGE_FLAG, set per pixel by scorePixels) but are no core
 * themselves. Once the whole tile is scored, the fringes connected to a core are hidden.
 */
import { labelComponents } from '../../geo/kernels/label.js';
import { CLOUD_FRINGE_FLAG, NOT_OBSERVED } from './score.js';

/**
 * Hides cloud and shadow fringes: pixels flagged CLOUD_FRINGE_FLAG that are 8-connected (through
 * flagged pixels) to a NOT_OBSERVED core of at least `minCorePx` pixels become NOT_OBSERVED with a
 * NaN score; the flag is cleared everywhere else. Thin cloud and penumbra surround the thick core,
 * while a white roof or a shadowed field on its own keeps its score. `queue` must hold
 * width × height entries.
 */
export function maskCloudFringes(type: Uint8Array, score: Float32Array, width: number, height: number, queue: Int32Array, bufferPx = 2, fringes = true, minCorePx = 0): number {
  const n = width * height;
  // Seeds: core pixels (whether a neighbour is flagged is checked when popped).
  let head = 0;
  let tail = fringes ? seedCores(type, width, height, queue, minCorePx) : 0;
  let hidden = 0;
  while (head < tail) {
    const i = queue[head++];
    const c = i % width, r = (i - c) / width;
    for (let dr = -1; dr <= 1; dr++) {
      const rr = r + dr;
      if (rr < 0 || rr >= height) continue;
      for (let dc = -1; dc <= 1; dc++) {
        const cc = c + dc;
        if (cc < 0 || cc >= width) continue;
        const j = rr * width + cc;
        const t = type[j];
        if (t === NOT_OBSERVED || !(t & CLOUD_FRINGE_FLAG)) continue;
        type[j] = NOT_OBSERVED;
        score[j] = NaN;
        hidden++;
        if (tail < n) queue[tail++] = j;
      }
    }
  }
  for (let i = 0; i < n; i++) if (type[i] !== NOT_OBSERVED) type[i] &= ~CLOUD_FRINGE_FLAG;
  // Buffer: the box-smoothed score of pixels next to a hidden one still carries the cloud's raw
  // difference, and cloud edges are uncertain anyway.
  for (let pass = 0; pass < bufferPx; pass++) {
    let m = 0;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const i = r * width + c;
        if (type[i] === NOT_OBSERVED) continue;
        let near = false;
        for (let dr = -1; dr <= 1 && !near; dr++) {
          const rr = r + dr;
          if (rr < 0 || rr >= height) continue;
          for (let dc = -1; dc <= 1; dc++) {
            const cc = c + dc;
            if (cc >= 0 && cc < width && type[rr * width + cc] === NOT_OBSERVED) { near = true; break; }
          }
        }
        if (near) queue[m++] = i;
      }
    }
    for (let k = 0; k < m; k++) { type[queue[k]] = NOT_OBSERVED; score[queue[k]] = NaN; }
    hidden += m;
  }
  return hidden;
}

/**
 * Writes to the front of `queue` every NOT_OBSERVED pixel, or with minPx > 1 those of 8-connected
 * cores of at least minPx pixels; returns how many. The cores are labelled into `queue` itself,
 * which the flood does not need until then.
 */
function seedCores(type: Uint8Array, width: number, height: number, queue: Int32Array, minPx: number): number {
  const n = width * height;
  let tail = 0;
  if (minPx <= 1) {
    for (let i = 0; i < n; i++) if (type[i] === NOT_OBSERVED) queue[tail++] = i;
    return tail;
  }
  const core = new Uint8Array(n);
  for (let i = 0; i < n; i++) core[i] = type[i] === NOT_OBSERVED ? 1 : 0;
  const count = labelComponents(core, width, height, queue, 8);
  const size = new Int32Array(count + 1);
  for (let i = 0; i < n; i++) size[queue[i]]++;
  // tail ≤ i: each seed is written at or behind the label just read.
  for (let i = 0; i < n; i++) {
    const l = queue[i];
    if (l && size[l] >= minPx) queue[tail++] = i;
  }
  return tail;
}
