/**
 * Where the epoch fit samples a tile: up to 4 × 4 windows of at most 256², never sampling a pixel
 * more than a little more than once, so small tiles do not pay for ~1 Mpx of samples.
 *
 * Each axis is chosen on its own. An axis of 1024 px or more keeps the spread the fit always used:
 * four 256-px windows centred in four equal bands, and from 1280 px on (every Sentinel-2 or Landsat
 * tile, the 4096² and 10980² benches) snapped to multiples of 512 px (COG blocks are 256 or 512 px,
 * so each window decodes one block instead of up to four). Those windows never overlap from
 * 1280 px on, and by at most a quarter of a window from 1024 px on (OSCD beirut, 1070 × 1180,
 * keeps its fit). On a shorter axis the old windows overlapped mostly; the span they covered (the
 * first one's start to the last one's end) is cut into k = ⌈span / 256⌉ windows of ⌊span / k⌋ px
 * with no overlap: the same pixels, each sampled once instead of up to four times. (Cutting the
 * whole axis instead moved the OSCD regression's polygon precision under its floor: the fit then
 * saw the image borders the old windows left out.)
 *
 * The old rule used the long-axis spread on every axis longer than 256 px with a window as wide as
 * the tile's shorter side (up to 256): on a 300² tile its 16 windows of 256² overlapped almost
 * wholly, ~1 Mpx of samples for 0.09 Mpx of tile, so the fit (co-registration over 81 offsets,
 * the normalisation's medians) cost ~65 % of the tile's CPU and its allocations most of the GC.
 */
import type { Grid, Window } from '../../geo/raster.js';

/** The largest sample window side, px. */
export const SAMPLE_SIDE = 256;
/** Windows per axis at most. */
const STEPS = 4;
/** From this axis length on (STEPS windows), the old spread: its windows overlap by at most a quarter there, and not at all from (STEPS + 1) windows on. */
export const SPREAD_FROM = STEPS * SAMPLE_SIDE;

/** One axis's sample windows: starts in order (distinct) and their common length. */
export interface AxisSamples {
  starts: number[];
  size: number;
}

/** The sample windows along an axis of `length` px. */
export function axisSamples(length: number): AxisSamples {
  if (length >= SPREAD_FROM) {
    const size = SAMPLE_SIDE;
    const starts: number[] = [];
    for (let j = 0; j < STEPS; j++) {
      const s = snap(Math.round(((length - size) * (j + 0.5)) / STEPS), length - size);
      if (!starts.includes(s)) starts.push(s);
    }
    return { starts, size };
  }
  // The span the old windows covered (from the first one's start to the last one's end), cut into
  // k windows: the same pixels, each sampled once instead of up to four times.
  const first = Math.max(0, Math.round(((length - SAMPLE_SIDE) * 0.5) / STEPS));
  const end = Math.min(length, Math.round(((length - SAMPLE_SIDE) * (STEPS - 0.5)) / STEPS) + SAMPLE_SIDE);
  const span = end - first;
  const k = Math.max(1, Math.ceil(span / SAMPLE_SIDE));
  const size = Math.floor(span / k);
  const starts: number[] = [];
  // Spacing (span − size) / (k − 1) ≥ size since size ≤ span / k, so rounding keeps them apart.
  for (let j = 0; j < k; j++) starts.push(first + (k === 1 ? 0 : Math.round((j * (span - size)) / (k - 1))));
  return { starts, size };
}

/** The tile's sample windows, row by row (the order the fit pools them in). */
export function sampleWindows(grid: Pick<Grid, 'width' | 'height'>): Window[] {
  const cols = axisSamples(grid.width);
  const rows = axisSamples(grid.height);
  const wins: Window[] = [];
  for (const row of rows.starts) for (const col of cols.starts) wins.push({ col, row, width: cols.size, height: rows.size });
  return wins;
}

/** `v` moved to the nearest multiple of 512 where that stays inside [0, max] and the axis is long enough. */
function snap(v: number, max: number): number {
  const snapped = Math.round(v / 512) * 512;
  return max >= 1024 && snapped <= max ? snapped : v;
}
