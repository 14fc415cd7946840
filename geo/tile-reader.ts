/**
 * Reading catalogued tiles as `Raster`s: one tile on its own grid (`openTile`), and a mosaic of
 * prior-epoch tiles warped onto any target grid (`openMosaic`) — possibly from other CRSs.
 * Only the source window a target needs is read; resampling is bilinear (geo/warp.ts).
 */
import type { BandName, Grid, Raster, Window } from './raster.js';
import { windowGrid } from './raster.js';
import { transformer } from './crs.js';
import type { Polygon } from 'geojson';
import { TubanError } from '../schemas/errors.js';
import { openGeoTiff, DEFAULT_MAX_WINDOW_BYTES } from './tiff/open-geotiff.js';
import type { BandScaling, GeoTiffFile, ReadInfo } from './tiff/open-geotiff.js';
import { coarseMapBounds, gridCoarseMap, integerShift, warpBilinear } from './warp.js';
import { OneValueWatch } from './one-value-watch.js';
import type { CoarseMap } from './warp.js';

/** A tile as catalogued: one multiband file, or one file per Sentinel-2 band. */
export interface TileInfo {
  /** Deterministic: hash of sorted file paths' basenames + sizes (+ the radiometry an .aux.xml sidecar changed) + grid. */
  id: string;
  files: string[];
  /** Which file and which sample holds each band. */
  bands: Partial<Record<BandName, { file: string; sample: number }>>;
  grid: Grid;
  /** Acquisition date, ISO yyyy-mm-dd (the 1st for a month-precision date). */
  date: string;
  /** 'month' when only the month is known (`after-2026-10.tif`); outputs then show `2026-10`. Absent in older plans: day. */
  datePrecision?: 'day' | 'month';
  /**
   * Its imagery's content (tiff/imagery-fingerprint.ts): the same bytes whatever the names or date
   * say. Absent in plans stored before it was kept.
   */
  fingerprint?: string;
  /** The STAC item the tile came from, and its `eo:cloud_cover` (percent) when the item gives one. */
  stacItem?: string;
  cloudCover?: number;
  /** Footprint in lon/lat. */
  footprint: Polygon;
  dtype: 'uint8' | 'uint16' | 'int16' | 'float32' | 'float64';
  nodata: number | null;
}

export interface TileReader {
  readonly info: TileInfo;
  /**
   * Bands over `win` of the tile's own grid (finer bands read as is, 20 m bands resampled
   * bilinearly onto it). A band value is NaN where that band has no data; `valid` is 0 where any
   * requested band is nodata, NaN or outside the tile, and (files with no nodata value) where every
   * requested band is 0: such a pixel's bands are NaN too.
   * `reuse`: a raster from an earlier call whose arrays are big enough; they are overwritten and
   * returned (strip loops allocate once instead of per strip — GC, first-touch of fresh memory).
   */
  readWindow(win: Window, bands: BandName[], reuse?: Raster): Promise<Raster>;
  /**
   * Bands over the whole tile from its files' internal overviews (the coarsest at least
   * `minWidth`×`minHeight`), with the rules of `readWindow`: nodata, alpha and GDAL's masks, the
   * fill of files declaring no nodata, the declared scale/offset. The raster's grid is the tile's
   * extent at the overview's size. Null where some band's file has none that applies (see
   * GeoTiffFile.readOverview), lies on another grid than the tile, or the files' sizes differ:
   * read the full image then.
   */
  readOverview(minWidth: number, minHeight: number, bands: BandName[]): Promise<Raster | null>;
  /**
   * The one value of each band where every valid pixel read so far held it (at least `minPixels`
   * read): a file that is not imagery (one-value-watch.ts); null for imagery.
   */
  oneValueBands(minPixels: number): Partial<Record<BandName, number>> | null;
  close(): Promise<void>;
}

export interface AlignedSource {
  /**
   * Bands warped onto `target` (any CRS): bilinear, first tile with data wins where tiles
   * overlap; `valid` 0 where no tile has data for every band. `reuse` as for `readWindow`.
   */
  readAligned(target: Grid, bands: BandName[], reuse?: Raster): Promise<Raster>;
  /** The tiles read so far whose every valid pixel read held one value in each band (TileReader.oneValueBands); a source that does not watch has none. */
  oneValueTiles?(minPixels: number): { info: TileInfo; values: Partial<Record<BandName, number>> }[];
  close(): Promise<void>;
}

export interface TileReaderOptions {
  /** Cap on one read's allocation in bytes (default 2 GiB). */
  maxWindowBytes?: number;
  /** Coarse-map spacing in target pixels for reprojection (default 32). */
  warpStep?: number;
}

function checkBytes(pixels: number, bands: number, cap: number, subject: string): void {
  const bytes = pixels * (bands * 4 + 1);
  if (bytes > cap) throw new TubanError('RASTER.TOO_LARGE', `raster of ${pixels} px × ${bands} bands needs ${bytes} bytes, cap is ${cap}; read smaller strips`, subject);
}

/**
 * Fill `outs` (one per sample, `target` sized) from `file` wherever `outValid` is 0 and every
 * sample has data, then set `outValid` there. Aligned grids are copied exactly; others warped.
 */
async function readOnto(
  file: GeoTiffFile,
  samples: number[],
  target: Grid,
  outs: Float32Array[],
  outValid: Uint8Array,
  step: number,
): Promise<void> {
  const n = target.width * target.height;
  const shift = file.grid.crs === target.crs ? integerShift(target.transform, file.grid.transform) : null;
  if (shift) {
    const src = await file.readWindow({ col: shift[0], row: shift[1], width: target.width, height: target.height }, samples);
    for (let i = 0; i < n; i++) {
      if (outValid[i]) continue;
      let ok = true;
      for (let k = 0; k < src.length; k++) if (src[k][i] !== src[k][i]) { ok = false; break; }
      if (!ok) continue;
      for (let k = 0; k < src.length; k++) outs[k][i] = src[k][i];
      outValid[i] = 1;
    }
    return;
  }
  const toSource = file.grid.crs === target.crs ? null : transformer(target.crs, file.grid.crs);
  const map = gridCoarseMap(target, file.grid.transform, { col: 0, row: 0 }, toSource, step);
  const win = sourceWindow(map, file.grid);
  if (!win) return;
  shiftMap(map, win);
  const src = await file.readWindow(win, samples);
  warpBilinear(src, win.width, win.height, map, outs, target.width, target.height, outValid);
}

/** The source window (clipped to `grid`, 2 px margin for the bilinear footprint) a map touches; null if none. */
function sourceWindow(map: CoarseMap, grid: Grid): Window | null {
  const b = coarseMapBounds(map);
  if (!b) return null;
  const col0 = Math.max(0, Math.floor(b[0]) - 2);
  const row0 = Math.max(0, Math.floor(b[1]) - 2);
  const col1 = Math.min(grid.width, Math.ceil(b[2]) + 2);
  const row1 = Math.min(grid.height, Math.ceil(b[3]) + 2);
  if (col1 <= col0 || row1 <= row0) return null;
  return { col: col0, row: row0, width: col1 - col0, height: row1 - row0 };
}

function shiftMap(map: CoarseMap, win: Window): void {
  for (let k = 0; k < map.x.length; k++) {
    map.x[k] -= win.col;
    map.y[k] -= win.row;
  }
}

function emptyRaster(grid: Grid, bands: BandName[], fill = NaN, reuse?: Raster): { raster: Raster; outs: Float32Array[] } {
  const n = grid.width * grid.height;
  const fits = (a: ArrayLike<number> | undefined): boolean => a !== undefined && a.length >= n;
  const recycle = reuse && fits(reuse.valid) && bands.every((b) => fits(reuse.bands[b]));
  // fill 0 = every pixel is about to be written: no fill pass (recycled arrays keep stale values).
  const outs = bands.map((b) => {
    const a = recycle ? reuse.bands[b]!.subarray(0, n) : new Float32Array(n);
    return fill === fill ? a : a.fill(NaN);
  });
  const record: Partial<Record<BandName, Float32Array>> = {};
  bands.forEach((b, k) => (record[b] = outs[k]));
  const valid = recycle ? reuse.valid.subarray(0, n).fill(0) : new Uint8Array(n);
  return { raster: { ...grid, bands: record, valid }, outs };
}

/** Open a catalogued tile for windowed reads on its own grid. */
export async function openTile(info: TileInfo, opts: TileReaderOptions = {}): Promise<TileReader> {
  const cap = opts.maxWindowBytes ?? DEFAULT_MAX_WINDOW_BYTES;
  const step = opts.warpStep ?? 32;
  const files = new Map<string, Promise<GeoTiffFile>>();
  let closed = false;
  const watch = new OneValueWatch();
  const fileFor = (path: string): Promise<GeoTiffFile> => {
    let f = files.get(path);
    if (!f) {
      f = openGeoTiff(path, { maxWindowBytes: cap });
      files.set(path, f);
    }
    return f;
  };
  return {
    info,
    async readWindow(win: Window, bands: BandName[], reuse?: Raster): Promise<Raster> {
      if (closed) throw new TubanError('INTERNAL', 'readWindow after close', info.id);
      checkBytes(win.width * win.height, bands.length, cap, info.files[0] ?? info.id);
      const grid = windowGrid(info.grid, win);
      // No NaN pre-fill: a file on the tile's grid writes every pixel of the window (NaN outside it),
      // and a resampled one pre-fills its own bands below.
      const { raster, outs } = emptyRaster(grid, bands, 0, reuse);
      const byFile = new Map<string, number[]>();
      bands.forEach((b, k) => {
        const src = info.bands[b];
        if (!src) throw new TubanError('TILE.BAND_MISMATCH', `tile has no ${b} band`, info.files[0] ?? info.id);
        byFile.set(src.file, [...(byFile.get(src.file) ?? []), k]);
      });
      // Whether any band may hold a NaN: the decoder counts them, so a clean read needs no scan.
      let maybeNaN = false;
      let declaresNodata = false;
      const scaled: [Float32Array, BandScaling][] = [];
      await Promise.all(
        [...byFile].map(async ([path, ks]) => {
          const file = await fileFor(path);
          if (file.nodata !== null) declaresNodata = true;
          const fileOuts = ks.map((k) => outs[k]);
          const samples = ks.map((k) => info.bands[bands[k]]!.sample);
          samples.forEach((sample, j) => {
            const scaling = file.bandScaling[sample];
            if (scaling) scaled.push([fileOuts[j], scaling]);
          });
          const shift = file.grid.crs === grid.crs ? integerShift(grid.transform, file.grid.transform) : null;
          // A band file on the tile's own grid (the usual case) decodes straight into the output
          // arrays: no staging copy. Validity is derived from NaNs below.
          if (shift) {
            const info: ReadInfo = {};
            await file.readWindow({ col: shift[0], row: shift[1], width: grid.width, height: grid.height }, samples, fileOuts, info);
            if (info.nan !== false) maybeNaN = true;
          } else {
            maybeNaN = true;
            for (const a of fileOuts) a.fill(NaN);
            await readOnto(file, samples, grid, fileOuts, new Uint8Array(grid.width * grid.height), step);
          }
        }),
      );
      finishRead(outs, raster.valid, declaresNodata, scaled, maybeNaN);
      watch.see(win, bands, outs, raster.valid);
      return raster;
    },
    async readOverview(minWidth: number, minHeight: number, bands: BandName[]): Promise<Raster | null> {
      if (closed) throw new TubanError('INTERNAL', 'readOverview after close', info.id);
      const outs: Float32Array[] = [];
      let size: [number, number] | null = null;
      let declaresNodata = false;
      const scaled: [Float32Array, BandScaling][] = [];
      const byFile = new Map<string, number[]>();
      bands.forEach((b, k) => {
        const src = info.bands[b];
        if (!src) throw new TubanError('TILE.BAND_MISMATCH', `tile has no ${b} band`, info.files[0] ?? info.id);
        byFile.set(src.file, [...(byFile.get(src.file) ?? []), k]);
      });
      for (const [path, ks] of byFile) {
        const file = await fileFor(path);
        const g = file.grid;
        const shift = g.crs === info.grid.crs ? integerShift(info.grid.transform, g.transform) : null;
        if (!shift || shift[0] !== 0 || shift[1] !== 0 || g.width !== info.grid.width || g.height !== info.grid.height) return null;
        const samples = ks.map((k) => info.bands[bands[k]]!.sample);
        const r = await file.readOverview(minWidth, minHeight, samples);
        if (!r || (size && (size[0] !== r.width || size[1] !== r.height))) return null;
        size = [r.width, r.height];
        if (file.nodata !== null) declaresNodata = true;
        ks.forEach((k, j) => {
          outs[k] = r.planes[j];
          const scaling = file.bandScaling[samples[j]];
          if (scaling) scaled.push([r.planes[j], scaling]);
        });
      }
      if (!size) return null;
      const [w, h] = size;
      const valid = new Uint8Array(w * h);
      finishRead(outs, valid, declaresNodata, scaled, true);
      const record: Partial<Record<BandName, Float32Array>> = {};
      bands.forEach((b, k) => (record[b] = outs[k]));
      const [t0, t1, t2, t3, t4, t5] = info.grid.transform;
      const sx = info.grid.width / w;
      const sy = info.grid.height / h;
      return { width: w, height: h, crs: info.grid.crs, transform: [t0, t1 * sx, t2 * sy, t3, t4 * sx, t5 * sy], bands: record, valid };
    },
    oneValueBands: (minPixels) => watch.oneValue(minPixels),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await closeOpened(files.values());
    },
  };
}

/**
 * What every read of a tile's bands does once the files' samples are in `outs` (nodata, alpha and
 * masked pixels NaN): the fill of files declaring no nodata, the declared scalings, and `valid`.
 * `maybeNaN` false: the decoder saw no NaN, so no scan for them.
 */
function finishRead(outs: Float32Array[], valid: Uint8Array, declaresNodata: boolean, scaled: [Float32Array, BandScaling][], maybeNaN: boolean): void {
  // Files that declare no nodata value still carry fill: exporters write 0 in every band outside
  // the imaged area. Reflectance is never 0 in every band at once, so such a pixel is no data
  // (a 200-row zero strip counted as observed skewed the epoch fit and lost polygons elsewhere).
  if (!declaresNodata && zeroFillToNaN(outs)) maybeNaN = true;
  // After the fill test, which reads the file's own counts; nothing to do (no pass) without a declared scaling.
  for (const [band, scaling] of scaled) applyScaling(band, scaling);
  // Band by band, so each pass streams through one array.
  valid.fill(1);
  if (maybeNaN) {
    for (const band of outs) {
      for (let i = 0; i < band.length; i++) if (band[i] !== band[i]) valid[i] = 0;
    }
  }
}

/**
 * The counts a band's declared scaling stands for, in the units of a file without one (the detector
 * reads any such file alike, telling reflectance ×10000, ×255 or [0, 1] by its values): an offset
 * with scale 1 is in counts (`gdal_translate -a_offset -1000`, BOA_ADD_OFFSET: count − 1000); a
 * scale below 1 gives reflectance in [0, 1] (Sentinel-2's 0.0001 and −0.1, Landsat Collection 2's
 * 0.0000275 and −0.2), read ×10000 as Sentinel-2 counts are (0.0001 · 10000 and −0.1 · 10000 are
 * exactly 1 and −1000: the same floats as the offset in counts). NaN (nodata) stays NaN.
 */
export function countsPerValue(s: BandScaling): { gain: number; bias: number } {
  return s.scale < 1 ? { gain: s.scale * REFLECTANCE_COUNTS, bias: s.offset * REFLECTANCE_COUNTS } : { gain: s.scale, bias: s.offset };
}

/** Counts of reflectance 1 in Sentinel-2 L1C/L2A products (QUANTIFICATION_VALUE). */
const REFLECTANCE_COUNTS = 10_000;

function applyScaling(band: Float32Array, s: BandScaling): void {
  const { gain, bias } = countsPerValue(s);
  if (gain === 1 && bias === 0) return;
  if (gain === 1) for (let i = 0; i < band.length; i++) band[i] += bias;
  else for (let i = 0; i < band.length; i++) band[i] = band[i] * gain + bias;
}

/** Set every band to NaN where all of them are exactly 0; whether any pixel was. */
function zeroFillToNaN(outs: Float32Array[]): boolean {
  if (outs.length === 0) return false;
  const first = outs[0];
  // The first band's bits, sign cleared: 0 exactly for ±0.0, an integer test where a float compare
  // cost ~40 % more (every pixel of every strip passes here, on the reading thread).
  const bits = new Int32Array(first.buffer, first.byteOffset, first.length);
  let any = false;
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & 0x7fffffff) !== 0) continue;
    let k = 1;
    while (k < outs.length && outs[k][i] === 0) k++;
    if (k < outs.length) continue;
    for (const band of outs) band[i] = NaN;
    any = true;
  }
  return any;
}

/** A mosaic of tiles (e.g. the prior epoch) readable on any target grid; tiles earlier in `infos` win overlaps. */
export async function openMosaic(infos: TileInfo[], opts: TileReaderOptions = {}): Promise<AlignedSource> {
  const cap = opts.maxWindowBytes ?? DEFAULT_MAX_WINDOW_BYTES;
  const step = opts.warpStep ?? 32;
  const readers = new Map<string, Promise<TileReader>>();
  const opened: { info: TileInfo; reader: TileReader }[] = [];
  let closed = false;
  const readerFor = (info: TileInfo): Promise<TileReader> => {
    let r = readers.get(info.id);
    if (!r) {
      r = openTile(info, opts);
      r.then((reader) => opened.push({ info, reader }), () => {});
      readers.set(info.id, r);
    }
    return r;
  };
  return {
    async readAligned(target: Grid, bands: BandName[], reuse?: Raster): Promise<Raster> {
      if (closed) throw new TubanError('INTERNAL', 'readAligned after close');
      checkBytes(target.width * target.height, bands.length, cap, 'mosaic');
      type Placement = { info: TileInfo; shift: [number, number] | null; map: CoarseMap | null; win: Window };
      const placements: Placement[] = [];
      for (const info of infos) {
        const toSource = info.grid.crs === target.crs ? null : transformer(target.crs, info.grid.crs);
        const shift = toSource ? null : integerShift(target.transform, info.grid.transform);
        const map = shift ? null : gridCoarseMap(target, info.grid.transform, { col: 0, row: 0 }, toSource, step);
        const win = shift
          ? clipWindow({ col: shift[0], row: shift[1], width: target.width, height: target.height }, info.grid)
          : sourceWindow(map!, info.grid);
        if (win) placements.push({ info, shift, map, win });
      }
      // The usual case: the first tile is on the same grid and covers the whole target, so its window
      // read (into the caller's reused arrays) IS the aligned raster; later tiles only fill its holes.
      const p0 = placements[0];
      const direct = p0?.shift && p0.win.width === target.width && p0.win.height === target.height;
      let raster: Raster;
      let outs: Float32Array[];
      if (direct) {
        const src = await (await readerFor(p0.info)).readWindow(p0.win, bands, reuse);
        raster = { ...target, bands: src.bands, valid: src.valid };
        outs = bands.map((b) => src.bands[b]!);
      } else {
        ({ raster, outs } = emptyRaster(target, bands, NaN, reuse));
      }
      for (const { info, shift, map, win } of direct ? placements.slice(1) : placements) {
        // A later tile only fills holes: where the target is already valid over all of its aligned
        // footprint it would change nothing, so it is not read (an epoch fit's sample window on a
        // tile edge touched the neighbours' overlap: 81 reads of 58 KB a tile of bench:scale's
        // 256² tiles, all of them discarded, fresh memory that scheduled a worker's GCs).
        if (shift && coveredAlready(raster.valid, win, shift, target)) continue;
        const src = await (await readerFor(info)).readWindow(win, bands);
        const srcBands = bands.map((b) => src.bands[b]!);
        if (shift) {
          copyShifted(srcBands, src.valid, win, shift, outs, raster.valid, target);
        } else {
          shiftMap(map!, win);
          warpBilinear(srcBands, win.width, win.height, map!, outs, target.width, target.height, raster.valid);
        }
      }
      return raster;
    },
    oneValueTiles(minPixels: number) {
      return opened.flatMap(({ info, reader }) => {
        const values = reader.oneValueBands(minPixels);
        return values ? [{ info, values }] : [];
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await closeOpened(readers.values());
    },
  };
}

function clipWindow(win: Window, grid: Grid): Window | null {
  const col0 = Math.max(0, win.col);
  const row0 = Math.max(0, win.row);
  const col1 = Math.min(grid.width, win.col + win.width);
  const row1 = Math.min(grid.height, win.row + win.height);
  return col1 > col0 && row1 > row0 ? { col: col0, row: row0, width: col1 - col0, height: row1 - row0 } : null;
}

/** Whether every target pixel an aligned source window would land on is valid already (copyShifted would write none). */
function coveredAlready(outValid: Uint8Array, win: Window, shift: [number, number], target: Grid): boolean {
  const dc = win.col - shift[0];
  const dr = win.row - shift[1];
  for (let r = 0; r < win.height; r++) {
    const o = (r + dr) * target.width + dc;
    for (let c = 0; c < win.width; c++) if (!outValid[o + c]) return false;
  }
  return true;
}

/** Copy an aligned source window into the target where the target has no data yet. */
function copyShifted(
  src: Float32Array[],
  srcValid: Uint8Array,
  win: Window,
  shift: [number, number],
  outs: Float32Array[],
  outValid: Uint8Array,
  target: Grid,
): void {
  const dc = win.col - shift[0];
  const dr = win.row - shift[1];
  for (let r = 0; r < win.height; r++) {
    let i = r * win.width;
    let o = (r + dr) * target.width + dc;
    for (let c = 0; c < win.width; c++, i++, o++) {
      if (outValid[o] || !srcValid[i]) continue;
      for (let k = 0; k < src.length; k++) outs[k][o] = src[k][i];
      outValid[o] = 1;
    }
  }
}

/** Close every handle that opened (one that failed to open has nothing to close), each once. */
async function closeOpened(opening: Iterable<Promise<{ close(): Promise<void> }>>): Promise<void> {
  const all = await Promise.allSettled(opening);
  await Promise.all(all.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
}
