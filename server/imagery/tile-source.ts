/**
 * One satellite tile as a source of display pixels (after rio-tiler's Reader): a decimated
 * overview held in memory, the true-colour stretch measured on it, and windowed full-resolution
 * reads for views finer than the overview.
 *
 * Why an overview: at the zoom where a whole 10980² Sentinel-2 tile fits one 256 px map tile,
 * a window read would decode the entire file (121 Mpx × 3 bands) for every request. The
 * overview is built once per tile (one streamed pass, box-averaged) and every coarse request
 * after that warps from a few hundred thousand pixels in memory.
 */
import type { BandName, Grid, Raster, Window } from '../../geo/raster.js';
import { openTile } from '../../geo/tile-reader.js';
import type { TileReader } from '../../geo/tile-reader.js';
import { transformer } from '../../geo/crs.js';
import { coarseMapBounds, gridCoarseMap, warpBilinear } from '../../geo/warp.js';
import type { CoarseMap } from '../../geo/warp.js';
import type { TileInfo } from '../../geo/tile-reader.js';
import { percentileStretch } from './stretch.js';
import { resampleOverview } from './tiff-overview.js';
import type { RgbStretch } from './stretch.js';

export const RGB: readonly BandName[] = ['red', 'green', 'blue'];

export interface TileSourceOptions {
  /** Longest side of the in-memory overview in pixels (default 1024). A tile no larger is held whole. */
  maxOverviewSide?: number;
  /** Cap on one full-resolution window read, bytes (default 256 MiB): a map request never allocates more. */
  maxWindowBytes?: number;
  /** Rows per strip while building the overview (rounded to the decimation factor; default 512). */
  stripRows?: number;
}

export interface Overview {
  /** Grid of the overview: the tile's extent at `factor` times coarser pixels. */
  readonly grid: Grid;
  /** Decimation factor (1 = the tile itself, held whole). */
  readonly factor: number;
  /** red, green, blue; NaN where no source pixel in the block had data. */
  readonly bands: readonly [Float32Array, Float32Array, Float32Array];
  readonly valid: Uint8Array;
  /** Null when the tile has no valid pixel at all. */
  readonly stretch: RgbStretch | null;
  /** True when read from the TIFF's internal overview rather than decimated from the full image. */
  readonly fromFile: boolean;
  /** Seconds spent building it (reported by the benchmark). */
  readonly buildSeconds: number;
}

/** How a paint call was served: from the overview, by a full-resolution window, or not at all (no overlap). */
export type PaintPath = 'overview' | 'full' | 'none';

/** Smallest power of two that brings the longest side to at most `maxSide`. */
export function overviewFactor(width: number, height: number, maxSide: number): number {
  let f = 1;
  while (Math.ceil(Math.max(width, height) / f) > maxSide) f *= 2;
  return f;
}

export class TileSource {
  private overviewPromise: Promise<Overview> | null = null;
  private inFlight = 0;
  private releaseWanted = false;
  private samplePromise: Promise<{ bands: [Float32Array, Float32Array, Float32Array]; valid: Uint8Array }> | null = null;
  private readerPromise: Promise<TileReader> | null = null;
  private readonly maxSide: number;
  private readonly maxWindowBytes: number;
  private readonly stripRows: number;
  readonly factor: number;
  readonly info: TileInfo;

  constructor(info: TileInfo, opts: TileSourceOptions = {}) {
    this.info = info;
    this.maxSide = opts.maxOverviewSide ?? 1024;
    this.maxWindowBytes = opts.maxWindowBytes ?? 256 * 1024 ** 2;
    this.stripRows = opts.stripRows ?? 512;
    this.factor = overviewFactor(info.grid.width, info.grid.height, this.maxSide);
  }

  /** Whether its overview is built or being built (for tests). */
  get hasOverview(): boolean {
    return this.overviewPromise !== null;
  }

  /** Bytes the overview holds once built (3 float bands + mask), for cache accounting. */
  get overviewBytes(): number {
    const w = Math.ceil(this.info.grid.width / this.factor);
    const h = Math.ceil(this.info.grid.height / this.factor);
    return w * h * 13;
  }

  /**
   * A sample of the tile's true-colour pixels for the month's pooled stretch: a 3×3 grid of
   * 256² full-resolution windows (nine block reads, not a whole-file decode), so the first map
   * tile of a month does not wait for every overview to be built. Cached.
   */
  sample(): Promise<{ bands: [Float32Array, Float32Array, Float32Array]; valid: Uint8Array }> {
    if (!this.samplePromise) {
      this.samplePromise = this.readSample();
      this.samplePromise.catch(() => (this.samplePromise = null));
    }
    return this.samplePromise;
  }

  private async readSample(): Promise<{ bands: [Float32Array, Float32Array, Float32Array]; valid: Uint8Array }> {
    const out = await this.withReader((reader) => this.readSampleWith(reader));
    this.releaseReader();
    return out;
  }

  private async readSampleWith(reader: TileReader): Promise<{ bands: [Float32Array, Float32Array, Float32Array]; valid: Uint8Array }> {
    const { width, height } = this.info.grid;
    const w = Math.min(256, width);
    const h = Math.min(256, height);
    const n = w * h;
    const bands: [Float32Array, Float32Array, Float32Array] = [new Float32Array(9 * n), new Float32Array(9 * n), new Float32Array(9 * n)];
    const valid = new Uint8Array(9 * n);
    let k = 0;
    for (let j = 0; j < 3; j++) {
      for (let i = 0; i < 3; i++, k++) {
        const col = Math.max(0, Math.min(width - w, Math.round(((i + 0.5) * width) / 3 - w / 2)));
        const row = Math.max(0, Math.min(height - h, Math.round(((j + 0.5) * height) / 3 - h / 2)));
        const r = await reader.readWindow({ col, row, width: w, height: h }, [...RGB]);
        RGB.forEach((b, q) => bands[q].set(r.bands[b]!, k * n));
        valid.set(r.valid, k * n);
      }
    }
    return { bands, valid };
  }

  overview(): Promise<Overview> {
    // The promise is kept, so concurrent first requests share one build; a failure is not kept.
    if (!this.overviewPromise) {
      this.overviewPromise = this.buildOverview();
      this.overviewPromise.catch(() => (this.overviewPromise = null));
    }
    return this.overviewPromise;
  }

  /**
   * Run `fn` with the open file reader, opening it if needed. Counted, so `releaseReader` never
   * closes files under a read in flight.
   */
  private async withReader<T>(fn: (reader: TileReader) => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      this.readerPromise ??= openTile(this.info, { maxWindowBytes: this.maxWindowBytes });
      return await fn(await this.readerPromise);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0 && this.releaseWanted) {
        this.releaseWanted = false;
        void this.closeReader();
      }
    }
  }

  /**
   * Close the files and drop their decoded-block cache (two block rows: ~140 MB for a 10980-wide
   * tile of 512 px blocks) while keeping the overview; the next full-resolution read reopens them
   * (a header parse). The service keeps only a few readers open; the overview and sample passes
   * release theirs when done.
   */
  releaseReader(): void {
    if (this.inFlight > 0) this.releaseWanted = true;
    else void this.closeReader();
  }

  /** True while the files are open (for tests and the service's accounting). */
  get readerOpen(): boolean {
    return this.readerPromise !== null;
  }

  private async closeReader(): Promise<void> {
    const r = this.readerPromise;
    this.readerPromise = null;
    if (r) await (await r).close().catch(() => undefined);
  }

  private async buildOverview(): Promise<Overview> {
    const out = await this.withReader((reader) => this.buildOverviewWith(reader));
    this.releaseReader();
    return out;
  }

  private async buildOverviewWith(reader: TileReader): Promise<Overview> {
    const t0 = performance.now();
    const { width, height, transform, crs } = this.info.grid;
    const f = this.factor;
    const ow = Math.ceil(width / f);
    const oh = Math.ceil(height / f);
    const n = ow * oh;
    const bands: [Float32Array, Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const valid = new Uint8Array(n);
    const own = f > 1 ? await reader.readOverview(ow, oh, [...RGB]) : null;
    if (own) {
      // The file's own overview: no pass over the full image.
      const r = resampleOverview(own, RGB, { ow, oh, factor: f, width, height });
      r.bands.forEach((b, k) => bands[k].set(b));
      valid.set(r.valid);
    } else if (f === 1) {
      const r = await reader.readWindow({ col: 0, row: 0, width, height }, [...RGB]);
      RGB.forEach((b, k) => bands[k].set(r.bands[b]!));
      valid.set(r.valid);
    } else {
      // Strips of whole overview rows; each output pixel is the mean of the valid pixels of its f×f block.
      const rowsPerStrip = Math.max(f, Math.floor(this.stripRows / f) * f);
      const s0 = new Float64Array(ow);
      const s1 = new Float64Array(ow);
      const s2 = new Float64Array(ow);
      const counts = new Uint32Array(ow);
      let reuse: Raster | undefined;
      for (let row0 = 0; row0 < height; row0 += rowsPerStrip) {
        const win: Window = { col: 0, row: row0, width, height: Math.min(rowsPerStrip, height - row0) };
        const r = await reader.readWindow(win, [...RGB], reuse);
        reuse = r;
        const [rb, gb, bb] = RGB.map((b) => r.bands[b]!);
        const rv = r.valid;
        for (let oy = 0; oy * f < win.height; oy++) {
          s0.fill(0);
          s1.fill(0);
          s2.fill(0);
          counts.fill(0);
          const yEnd = Math.min(win.height, (oy + 1) * f);
          for (let y = oy * f; y < yEnd; y++) {
            const base = y * width;
            // One f-wide run per output pixel, sums in locals: the hot loop of a 121 Mpx tile.
            for (let ox = 0, x0 = 0; ox < ow; ox++, x0 += f) {
              const x1 = Math.min(width, x0 + f);
              let a = 0, g = 0, b = 0, c = 0;
              for (let i = base + x0, end = base + x1; i < end; i++) {
                if (!rv[i]) continue;
                a += rb[i];
                g += gb[i];
                b += bb[i];
                c++;
              }
              s0[ox] += a;
              s1[ox] += g;
              s2[ox] += b;
              counts[ox] += c;
            }
          }
          const orow = row0 / f + oy;
          for (let ox = 0; ox < ow; ox++) {
            const o = orow * ow + ox;
            const c = counts[ox];
            if (c === 0) {
              bands[0][o] = bands[1][o] = bands[2][o] = NaN;
              continue;
            }
            bands[0][o] = s0[ox] / c;
            bands[1][o] = s1[ox] / c;
            bands[2][o] = s2[ox] / c;
            valid[o] = 1;
          }
        }
      }
    }
    const s = bands.map((b) => percentileStretch(b, valid));
    const stretch = s[0] && s[1] && s[2] ? ([s[0], s[1], s[2]] as const) : null;
    const grid: Grid = { width: ow, height: oh, crs, transform: [transform[0], transform[1] * f, transform[2] * f, transform[3], transform[4] * f, transform[5] * f] };
    return { grid, factor: f, bands, valid, stretch, fromFile: own !== null, buildSeconds: (performance.now() - t0) / 1000 };
  }

  /**
   * Warp this tile's red/green/blue onto `target` (any CRS) wherever `valid` is still 0, setting
   * `valid` where it wrote. Coarse targets (a target pixel spans at least half the overview's
   * factor in source pixels) are served from the overview; finer ones by a window read.
   */
  async paint(target: Grid, outs: readonly [Float32Array, Float32Array, Float32Array], valid: Uint8Array): Promise<PaintPath> {
    const { grid } = this.info;
    const toSource = target.crs === grid.crs ? null : transformer(target.crs, grid.crs);
    const map = gridCoarseMap(target, grid.transform, { col: 0, row: 0 }, toSource, 32);
    const b = coarseMapBounds(map);
    if (!b || b[2] < 0 || b[3] < 0 || b[0] > grid.width || b[1] > grid.height) return 'none';
    const ratio = sourcePixelsPerTargetPixel(map);
    if (this.factor === 1 || ratio >= this.factor / 2) {
      const ov = await this.overview();
      const ovMap = gridCoarseMap(target, ov.grid.transform, { col: 0, row: 0 }, toSource, 32);
      warpBilinear(ov.bands, ov.grid.width, ov.grid.height, ovMap, outs, target.width, target.height, valid);
      return 'overview';
    }
    const win = clippedWindow(b, grid);
    if (!win) return 'none';
    const r = await this.withReader((reader) => reader.readWindow(win, [...RGB]));
    shift(map, win);
    warpBilinear(RGB.map((k) => r.bands[k]!), win.width, win.height, map, outs, target.width, target.height, valid);
    return 'full';
  }

  async close(): Promise<void> {
    this.overviewPromise = null;
    this.samplePromise = null;
    if (this.inFlight > 0) this.releaseWanted = true;
    else await this.closeReader();
  }
}

/** Source pixel window covering coarse-map bounds, 2 px margin for the bilinear footprint, clipped to the grid. */
function clippedWindow(b: [number, number, number, number], grid: Grid): Window | null {
  const col0 = Math.max(0, Math.floor(b[0]) - 2);
  const row0 = Math.max(0, Math.floor(b[1]) - 2);
  const col1 = Math.min(grid.width, Math.ceil(b[2]) + 2);
  const row1 = Math.min(grid.height, Math.ceil(b[3]) + 2);
  return col1 > col0 && row1 > row0 ? { col: col0, row: row0, width: col1 - col0, height: row1 - row0 } : null;
}

/**
 * How many source pixels one target pixel spans: the mean distance between neighbouring
 * coarse-map nodes over their spacing (nodes that failed to transform are skipped).
 */
export function sourcePixelsPerTargetPixel(map: CoarseMap): number {
  let sum = 0;
  let n = 0;
  for (let j = 0; j < map.rows; j++) {
    for (let i = 0; i < map.cols; i++) {
      const k = j * map.cols + i;
      if (i + 1 < map.cols) {
        const d = Math.hypot(map.x[k + 1] - map.x[k], map.y[k + 1] - map.y[k]);
        if (d === d) { sum += d; n++; }
      }
      if (j + 1 < map.rows) {
        const d = Math.hypot(map.x[k + map.cols] - map.x[k], map.y[k + map.cols] - map.y[k]);
        if (d === d) { sum += d; n++; }
      }
    }
  }
  return n === 0 ? Infinity : sum / n / map.step;
}

function shift(map: CoarseMap, win: Window): void {
  for (let k = 0; k < map.x.length; k++) {
    map.x[k] -= win.col;
    map.y[k] -= win.row;
  }
}
