/**
 * Connected-component labelling of byte masks (w×h, row-major) and per-component statistics.
 */

/** Per-label statistics; every array is indexed by label (entry 0 = background, unused). */
export interface ComponentStats {
  /** Number of labels n; arrays have n + 1 entries. */
  readonly n: number;
  /** Pixels per label. */
  readonly count: Uint32Array;
  /** Inclusive bounding box, pixel col/row. Labels with count 0 keep minCol > maxCol. */
  readonly minCol: Int32Array;
  readonly minRow: Int32Array;
  readonly maxCol: Int32Array;
  readonly maxRow: Int32Array;
  /** Sum of `values` over the label's pixels (NaN values skipped); null without values. */
  readonly sum: Float64Array | null;
  /** Max of `values` (NaN skipped; −Infinity if none); null without values. */
  readonly max: Float32Array | null;
}

function find(parent: Int32Array, a: number): number {
  while (parent[a] !== a) {
    const g = parent[parent[a]];
    parent[a] = g; // path halving
    a = g;
  }
  return a;
}

/** Merge the sets of a and b, the smaller label becoming the root (keeps roots = first-seen labels). */
function union(parent: Int32Array, a: number, b: number): void {
  a = find(parent, a);
  b = find(parent, b);
  if (a < b) parent[b] = a;
  else if (b < a) parent[a] = b;
}

/** Optional settings of labelComponents. */
export interface LabelOptions {
  /** Caller-owned union-find scratch, grown (a new array) when a mask needs more provisional labels than it holds. */
  parent?: Int32Array;
  /**
   * `labels` holds 0 at every pixel already (a fresh buffer): it is not cleared, so only the
   * foreground's memory is written. A fresh 10980² Int32Array is 480 MB of untouched pages, and
   * clearing it made the kernel supply and zero every one of them: ~1 s inside a full tile's batch.
   */
  cleared?: boolean;
}

/**
 * Label the foreground (non-zero bytes) of `mask` into `labels` (≥ w·h): 0 = background,
 * components numbered 1…n in raster-scan order of their first pixel, so the result depends only
 * on the mask. Two passes with a union-find table (Int32Array). Returns n.
 */
export function labelComponents(
  mask: Uint8Array,
  w: number,
  h: number,
  labels: Int32Array,
  connectivity: 4 | 8,
  opts: LabelOptions = {},
): number {
  const size = w * h;
  if (mask.length < size || labels.length < size) {
    throw new Error(`labelComponents: mask (${mask.length}) and labels (${labels.length}) need ${size} entries for ${w}×${h}.`);
  }
  if (connectivity !== 4 && connectivity !== 8) throw new Error(`labelComponents: connectivity must be 4 or 8, got ${connectivity}.`);
  let par = opts.parent ?? new Int32Array(Math.min(size + 1, 1 << 16));
  // Background pixels are only ever written here, never read: the two passes read labels at
  // foreground pixels alone.
  if (opts.cleared !== true) labels.fill(0, 0, size);
  let next = 1;
  const eight = connectivity === 8;
  // Change masks are ~98 % background: when the mask is 4-byte aligned, skip zero runs a
  // Uint32 (4 pixels) at a time.
  const m32 = mask.byteOffset % 4 === 0 ? new Uint32Array(mask.buffer, mask.byteOffset, size >>> 2) : null;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const rowWordEnd = (row + w) >>> 2; // words wholly inside this row end before this one
    for (let x = 0; x < w; x++) {
      const i = row + x;
      if (mask[i] === 0) {
        if (m32 !== null && (i & 3) === 0) {
          let k = i >>> 2;
          while (k < rowWordEnd && m32[k] === 0) k++;
          if (k > i >>> 2) x = (k << 2) - row - 1;
        }
        continue;
      }
      let l = 0;
      if (y === 0) {
        if (x > 0 && mask[i - 1] !== 0) l = labels[i - 1];
      } else if (!eight) {
        const up = mask[i - w] !== 0;
        const left = x > 0 && mask[i - 1] !== 0;
        if (up) {
          l = labels[i - w];
          if (left) union(par, l, labels[i - 1]);
        } else if (left) l = labels[i - 1];
      } else {
        const u = i - w;
        if (mask[u] !== 0) {
          // Up-left, up-right and left are all 8-adjacent to up: already in its set.
          l = labels[u];
        } else {
          const upRight = x + 1 < w && mask[u + 1] !== 0;
          const upLeft = x > 0 && mask[u - 1] !== 0;
          const left = x > 0 && mask[i - 1] !== 0;
          if (upRight) {
            l = labels[u + 1];
            if (upLeft) union(par, l, labels[u - 1]);
            else if (left) union(par, l, labels[i - 1]);
          } else if (upLeft) l = labels[u - 1];
          else if (left) l = labels[i - 1];
        }
      }
      if (l === 0) {
        l = next++;
        if (l >= par.length) {
          const grown = new Int32Array(Math.min(Math.max(par.length * 2, 16), size + 1));
          grown.set(par);
          par = grown;
        }
        par[l] = l;
      }
      labels[i] = l;
    }
  }
  // Roots are the smallest provisional label of each set, and provisional labels were handed
  // out in scan order, so numbering roots in increasing order gives scan order of first pixels.
  // Each entry's parent is smaller than itself, hence already resolved to its final number.
  let n = 0;
  for (let l = 1; l < next; l++) par[l] = par[l] === l ? ++n : par[par[l]];
  for (let i = 0; i < size; i++) {
    if (mask[i] === 0) {
      if (m32 !== null && (i & 3) === 0) {
        let k = i >>> 2;
        while (k < m32.length && m32[k] === 0) k++;
        if (k > i >>> 2) i = (k << 2) - 1;
      }
      continue;
    }
    labels[i] = par[labels[i]];
  }
  return n;
}

/**
 * Count, bbox and optional value sum/max per label (labels outside 1…n are ignored).
 * `values` (w·h, e.g. the change score) is read at labelled pixels only. `mask`, when given, is
 * non-zero at every labelled pixel (the mask the labels were drawn from): labels are then read
 * only there, and its zero runs skipped 4 pixels a step (at 10980² a 120 MB scan instead of 480 MB).
 */
export function componentStats(labels: Int32Array, w: number, h: number, n: number, values?: Float32Array, mask?: Uint8Array): ComponentStats {
  const count = new Uint32Array(n + 1);
  const minCol = new Int32Array(n + 1).fill(0x7fffffff);
  const minRow = new Int32Array(n + 1).fill(0x7fffffff);
  const maxCol = new Int32Array(n + 1).fill(-1);
  const maxRow = new Int32Array(n + 1).fill(-1);
  const sum = values ? new Float64Array(n + 1) : null;
  const max = values ? new Float32Array(n + 1).fill(-Infinity) : null;
  if (mask !== undefined && mask.length < w * h) throw new Error(`componentStats: mask (${mask.length}) needs ${w * h} entries for ${w}×${h}.`);
  const m = mask ?? null;
  const m32 = m !== null && m.byteOffset % 4 === 0 ? new Uint32Array(m.buffer, m.byteOffset, (w * h) >>> 2) : null;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const rowWordEnd = (row + w) >>> 2; // words wholly inside this row end before this one
    for (let x = 0; x < w; x++) {
      if (m !== null && m[row + x] === 0) {
        const i = row + x;
        if (m32 !== null && (i & 3) === 0) {
          let k = i >>> 2;
          while (k < rowWordEnd && m32[k] === 0) k++;
          if (k > i >>> 2) x = (k << 2) - row - 1;
        }
        continue;
      }
      const l = labels[row + x];
      if (l <= 0 || l > n) continue;
      count[l]++;
      if (x < minCol[l]) minCol[l] = x;
      if (x > maxCol[l]) maxCol[l] = x;
      if (y < minRow[l]) minRow[l] = y;
      maxRow[l] = y; // rows only grow during the scan
      if (values !== undefined) {
        const v = values[row + x];
        if (v === v) {
          sum![l] += v;
          if (v > max![l]) max![l] = v;
        }
      }
    }
  }
  return { n, count, minCol, minRow, maxCol, maxRow, sum, max };
}

/**
 * Per label (1…n), how many of its pixels reach `cut` in `values` and the sum of those values:
 * the seeds of a hysteresis component, whose outline was drawn at a lower cut. `mask`, when given,
 * is non-zero at every labelled pixel (as in componentStats): labels are read only there.
 */
export function seedStats(labels: Int32Array, values: Float32Array, cut: number, n: number, mask?: Uint8Array): { count: Uint32Array; sum: Float64Array } {
  const count = new Uint32Array(n + 1);
  const sum = new Float64Array(n + 1);
  const size = labels.length;
  // With the mask the labels came from (non-zero at every labelled pixel), its zero runs are skipped 4 pixels a step.
  const m32 = mask !== undefined && mask.length >= size && mask.byteOffset % 4 === 0 ? new Uint32Array(mask.buffer, mask.byteOffset, size >>> 2) : null;
  for (let i = 0; i < size; i++) {
    if (m32 !== null && (i & 3) === 0 && i + 4 <= size && m32[i >>> 2] === 0) {
      i += 3;
      continue;
    }
    const l = labels[i];
    if (l <= 0 || l > n || !(values[i] >= cut)) continue;
    count[l]++;
    sum[l] += values[i];
  }
  return { count, sum };
}

/**
 * Set to 0 the pixels of every label with fewer than `minPixels` pixels (the sieve), working
 * inside each removed label's bbox. Updates `stats.count` of removed labels to 0. When `keep`
 * (≥ n + 1 bytes) is given, writes keep[l] = 1 for kept labels, 0 otherwise (keep[0] = 0).
 * Returns the number of labels kept. Labels are not renumbered.
 */
export function removeSmallComponents(
  labels: Int32Array,
  w: number,
  h: number,
  stats: ComponentStats,
  minPixels: number,
  keep?: Uint8Array,
): number {
  const { n, count, minCol, minRow, maxCol, maxRow } = stats;
  let kept = 0;
  if (keep) keep[0] = 0;
  for (let l = 1; l <= n; l++) {
    const c = count[l];
    if (c >= minPixels && c > 0) {
      kept++;
      if (keep) keep[l] = 1;
      continue;
    }
    if (keep) keep[l] = 0;
    if (c === 0) continue;
    const c0 = minCol[l];
    const c1 = maxCol[l];
    for (let y = minRow[l], y1 = maxRow[l]; y <= y1 && y < h; y++) {
      const row = y * w;
      for (let x = c0; x <= c1; x++) if (labels[row + x] === l) labels[row + x] = 0;
    }
    count[l] = 0;
  }
  return kept;
}
