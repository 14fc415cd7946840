/**
 * 8-connected component labelling over a binary mask (harness-local until geo/kernels
 * lands; the product path uses that one). Explicit stack, no recursion.
 */

/**
 * Labels `mask` (non-zero = foreground) into `out` (0 = background, 1..n = component).
 * @returns n, the number of components.
 */
export function labelComponents(mask: Uint8Array, width: number, height: number, out: Int32Array): number {
  out.fill(0);
  const stack = new Int32Array(width * height);
  let n = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || out[start]) continue;
    n++;
    let sp = 0;
    stack[sp++] = start;
    out[start] = n;
    while (sp > 0) {
      const p = stack[--sp];
      const r = (p / width) | 0;
      const c = p - r * width;
      for (let dr = -1; dr <= 1; dr++) {
        const rr = r + dr;
        if (rr < 0 || rr >= height) continue;
        for (let dc = -1; dc <= 1; dc++) {
          const cc = c + dc;
          if (cc < 0 || cc >= width) continue;
          const q = rr * width + cc;
          if (mask[q] && !out[q]) {
            out[q] = n;
            stack[sp++] = q;
          }
        }
      }
    }
  }
  return n;
}
