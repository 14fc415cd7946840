/**
 * Built cores carved out of components whose vote says vegetation loss or seasonal. A new building
 * beside a harvested strip joins it into one component; the strip's larger area then carries the
 * vote, and finalise sets the whole component aside as farming (the rule table's `seasonal`),
 * building included; beside a field whose crop only turned (still vegetated), the component is
 * not issued at all. Each 4-connected run of construction pixels inside such a component that is solid —
 * at least one of its pixels has all four neighbours in it — and reaches the minimum mapping unit
 * becomes a component of its own, with its own outline, vote and confidence; the rest of the
 * component stays as it was.
 *
 * Why solid: a harvested or ploughed strip also has construction-typed pixels, where its edge
 * mixes stubble, soil and a road or a neighbouring field within one pixel. Those lie in runs one
 * pixel wide or in specks; a roof seen in pure pixels has an interior.
 */
import { labelComponents, type ComponentStats } from '../../geo/kernels/label.js';
import { CHANGE_TYPE_CODES } from './score.js';

/** Slots per label in the type vote (type codes 0…7). */
export const TYPE_SLOTS = 8;

/** The components as vectorise holds them; `labels` is rewritten in place, the per-label arrays are replaced. */
export interface LabelledComponents {
  count: number;
  keep: Uint8Array;
  stats: ComponentStats;
  /** Seed pixels (at the threshold) and their score sum; may be the stats' own count and sum. */
  seeds: { count: Uint32Array; sum: Float64Array };
  /** The score-weighted type vote, TYPE_SLOTS per label. */
  typeCounts: Float64Array;
}

export interface CarveInput extends LabelledComponents {
  labels: Int32Array;
  width: number;
  type: Uint8Array;
  score: Float32Array;
  threshold: number;
  minPixels: number;
  /** Whether kept label l is to be searched for cores (its vote says vegetation loss or seasonal). */
  carvable: (l: number) => boolean;
}

const CONSTRUCTION = CHANGE_TYPE_CODES.construction;

/**
 * Relabels the cores as labels count+1…, in order of the label they came from and then of their
 * first pixel, and returns the per-label arrays grown to match (the input's own when there is no
 * core). Work is per searched component's bounding box.
 */
export function carveBuiltCores(input: CarveInput): LabelledComponents {
  const cores = findCores(input);
  if (cores.length === 0) return input;
  const { labels, width: w, score, threshold } = input;
  const count = input.count + cores.length;
  const grow = <T extends Uint8Array | Uint32Array | Int32Array | Float32Array | Float64Array>(a: T, slots = 1): T => {
    const out = new (a.constructor as new (n: number) => T)((count + 1) * slots);
    out.set(a.subarray(0, (input.count + 1) * slots));
    return out;
  };
  const { stats } = input;
  const s = {
    n: count,
    count: grow(stats.count),
    minCol: grow(stats.minCol),
    minRow: grow(stats.minRow),
    maxCol: grow(stats.maxCol),
    maxRow: grow(stats.maxRow),
    sum: stats.sum ? grow(stats.sum) : null,
    max: grow(stats.max ?? new Float32Array(input.count + 1).fill(-Infinity)),
  };
  // Without hysteresis the seeds are the stats' own arrays (components.ts), and stay so.
  const shared = input.seeds.count === stats.count;
  const seeds = shared ? { count: s.count, sum: s.sum! } : { count: grow(input.seeds.count), sum: grow(input.seeds.sum) };
  const keep = grow(input.keep);
  const typeCounts = grow(input.typeCounts, TYPE_SLOTS);

  const carvedFrom = new Set<number>();
  cores.forEach(({ from, pixels }, k) => {
    const l = input.count + 1 + k;
    carvedFrom.add(from);
    let minCol = w, minRow = Infinity, maxCol = -1, maxRow = -1;
    let sum = 0, max = -Infinity, vote = 0, seedN = 0, seedSum = 0;
    for (const i of pixels) {
      labels[i] = l;
      const x = i % w;
      const y = (i - x) / w;
      if (x < minCol) minCol = x;
      if (x > maxCol) maxCol = x;
      if (y < minRow) minRow = y;
      if (y > maxRow) maxRow = y;
      const v = score[i];
      if (v !== v) continue;
      sum += v;
      vote += v * v;
      if (v > max) max = v;
      if (v >= threshold) {
        seedN++;
        seedSum += v;
      }
    }
    s.count[l] = pixels.length;
    s.count[from] -= pixels.length;
    s.minCol[l] = minCol;
    s.minRow[l] = minRow;
    s.maxCol[l] = maxCol;
    s.maxRow[l] = maxRow;
    s.max[l] = max;
    if (s.sum) {
      s.sum[l] = sum;
      s.sum[from] -= sum;
    }
    if (!shared) {
      seeds.count[l] = seedN;
      seeds.sum[l] = seedSum;
      seeds.count[from] -= seedN;
      seeds.sum[from] -= seedSum;
    }
    typeCounts[l * TYPE_SLOTS + CONSTRUCTION] = vote;
    typeCounts[from * TYPE_SLOTS + CONSTRUCTION] -= vote;
    // Kept, like any component, when some of its pixels reach the threshold.
    keep[l] = seeds.count[l] > 0 ? 1 : 0;
  });
  // What is left of a component keeps its bounding box (a superset: polygonize reads the labels
  // inside it); its max score is taken again over what is left.
  for (const from of carvedFrom) {
    let max = -Infinity;
    for (let y = s.minRow[from]; y <= s.maxRow[from]; y++) {
      for (let i = y * w + s.minCol[from], end = y * w + s.maxCol[from]; i <= end; i++) if (labels[i] === from && score[i] > max) max = score[i];
    }
    s.max[from] = max;
    if (seeds.count[from] === 0) keep[from] = 0;
  }
  return { count, keep, stats: s, seeds, typeCounts };
}

/** The solid construction runs of every searched component: the label they lie in and their pixels. */
function findCores(input: CarveInput): { from: number; pixels: number[] }[] {
  const { labels, width: w, type, stats, minPixels } = input;
  const cores: { from: number; pixels: number[] }[] = [];
  let grid = new Uint8Array(0);
  let runs = new Int32Array(0);
  for (let l = 1; l <= input.count; l++) {
    if (!input.keep[l] || input.typeCounts[l * TYPE_SLOTS + CONSTRUCTION] === 0 || !input.carvable(l)) continue;
    const c0 = stats.minCol[l];
    const r0 = stats.minRow[l];
    const bw = stats.maxCol[l] - c0 + 1;
    const bh = stats.maxRow[l] - r0 + 1;
    // A solid run has a pixel with four neighbours in it, so it needs a 3×3 box.
    if (bw < 3 || bh < 3) continue;
    const size = bw * bh;
    if (grid.length < size) {
      grid = new Uint8Array(size);
      runs = new Int32Array(size);
    }
    for (let y = 0; y < bh; y++) {
      const src = (r0 + y) * w + c0;
      for (let x = 0; x < bw; x++) grid[y * bw + x] = labels[src + x] === l && (type[src + x] & (TYPE_SLOTS - 1)) === CONSTRUCTION ? 1 : 0;
    }
    const n = labelComponents(grid, bw, bh, runs, 4);
    if (n === 0) continue;
    const pixels = new Uint32Array(n + 1);
    const solid = new Uint8Array(n + 1);
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const i = y * bw + x;
        const k = runs[i];
        if (k === 0) continue;
        pixels[k]++;
        if (x > 0 && x < bw - 1 && y > 0 && y < bh - 1 && runs[i - 1] === k && runs[i + 1] === k && runs[i - bw] === k && runs[i + bw] === k) solid[k] = 1;
      }
    }
    const found: (number[] | null)[] = new Array(n + 1).fill(null);
    for (let k = 1; k <= n; k++) if (solid[k] && pixels[k] >= minPixels) found[k] = [];
    if (!found.some((f) => f !== null)) continue;
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) found[runs[y * bw + x]]?.push((r0 + y) * w + c0 + x);
    }
    for (let k = 1; k <= n; k++) if (found[k]) cores.push({ from: l, pixels: found[k]! });
  }
  return cores;
}
