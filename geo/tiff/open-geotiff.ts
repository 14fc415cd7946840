/**
 * Windowed GeoTIFF / COG reading. geotiff.js parses the header (IFD, GeoKeys); pixel chunks
 * are read by byte range through one file handle and decoded in worker threads
 * (see inflate-pool.ts), because geotiff.js's own per-sample copy loop is 4–5× slower than
 * native inflate (../shared/bench/MEASUREMENTS.md §7). Other compressions fall back to
 * geotiff.js `readRasters({ window })`.
 */
import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { fromFile, getDecoder } from 'geotiff';
type GeoTiffHandle = Awaited<ReturnType<typeof fromFile>>;
type GeoTIFFImage = Awaited<ReturnType<GeoTiffHandle['getImage']>>;
import type { GeoTransform, Grid, Window } from '../raster.js';
import { normaliseCrs } from '../crs.js';
import { TubanError } from '../../schemas/errors.js';
import { CACHE_MISS, sharedInflatePool } from './inflate-pool.js';
import { checkTiffHeader } from './tiff-header.js';
import { tiffDirectories } from './image-directories.js';
import type { TiffDirectory } from './image-directories.js';
import { pamSidecarError, readPamSidecar } from './pam-sidecar.js';
import { checkSidecarGeoreferencing } from './sidecar-georeferencing.js';
import type { PamSidecar } from './pam-sidecar.js';
import type { ChunkJob, ChunkResult } from './inflate-pool.js';

export type TiffDtype = 'uint8' | 'uint16' | 'int16' | 'float32' | 'float64';

/** Default cap on the bytes one window read may allocate (2 GiB). */
export const DEFAULT_MAX_WINDOW_BYTES = 2 * 1024 ** 3;

export interface OpenGeoTiffOptions {
  /** Largest allocation (bytes of Float32 output) one readWindow may make; default 2 GiB. */
  maxWindowBytes?: number;
  /**
   * Called with the grid as soon as it is read, before the checks that follow it (sidecar, chunk
   * index): a file rejected by those still has a footprint, its ground not observed.
   */
  onGrid?: (grid: Grid) => void;
}

export interface GeoTiffFile {
  readonly path: string;
  /** Full-resolution grid; transform in the units of `grid.crs`, pixel-is-area corners. */
  readonly grid: Grid;
  readonly samplesPerPixel: number;
  /**
   * The last sample where the TIFF's ExtraSamples say it is alpha (`gdalwarp -dstalpha`, an RGBA
   * export), else null. It is no band: a read of other samples gives NaN where it is 0 (transparent).
   */
  readonly alphaSample: number | null;
  /**
   * Why a sample the ExtraSamples call alpha is read as a band (an 8-bit 4-band file, whose 4th band
   * GDAL flags alpha whatever it holds), else null.
   */
  readonly alphaIgnored: string | null;
  /** TIFF PhotometricInterpretation: 2 (RGB) says samples 1–3 are red, green, blue; 1 (min-is-black) says nothing. */
  readonly photometric: number;
  /** Each sample's description (GDAL's band description, e.g. 'B4' or 'red'), null where none is written. */
  readonly bandDescriptions: (string | null)[];
  readonly dtype: TiffDtype;
  /**
   * Each sample's declared value = count · scale + offset (GDAL's SCALE/OFFSET, the file's own or
   * else its `.aux.xml` sidecar's), null where none (or 1 and 0) is declared.
   */
  readonly bandScaling: (BandScaling | null)[];
  /** One value for every sample: the GDAL_NODATA tag's, or the `.aux.xml` sidecar's where it gives one. */
  readonly nodata: number | null;
  /**
   * `bandScaling` and `nodata` as text where the `.aux.xml` sidecar made them other than the file's
   * own tags would, else null: the same TIFF read with other radiometry is another tile (its id).
   */
  readonly sidecarRadiometry: string | null;
  /** ISO yyyy-mm-dd from the TIFF DateTime tag or GDAL metadata, else null. */
  readonly date: string | null;
  /**
   * Whether `date` comes from an acquisition key of the GDAL metadata (ACQUISITION_DATE, SENSING_TIME,
   * DATATAKE…) rather than the TIFF DateTime tag or another DATE/TIME item, which are often when the
   * file was written (a clipped or converted copy).
   */
  readonly dateIsAcquisition: boolean;
  readonly blockWidth: number;
  readonly blockHeight: number;
  /** Where each stored chunk lies (TileOffsets/StripOffsets) and its bytes (TileByteCounts/StripByteCounts), in index order. */
  readonly chunks: { readonly offsets: readonly number[]; readonly counts: readonly number[] };
  /**
   * Read a window of the listed samples (0-based) as one Float32Array per sample, row-major,
   * `win.width * win.height` long. Pixels outside the raster and nodata pixels are NaN.
   * `into` (optional) supplies the output arrays to fill, so strip-by-strip readers reuse
   * memory instead of paying first-touch page faults (≈ 1 s per GiB) on every strip.
   */
  readWindow(win: Window, samples: number[], into?: Float32Array[], info?: ReadInfo): Promise<Float32Array[]>;
  /**
   * The listed samples of the coarsest of the file's internal overviews (gdaladdo's, a COG's) at least
   * `minWidth`×`minHeight`, read as `readWindow` reads the full image: NaN where the nodata value is,
   * where the alpha is 0, and where GDAL's mask says no data — the overview's own mask (an internal
   * one's overview, or one in the `.msk` file), so an overview without one is not used where the
   * image is masked. Null where no overview qualifies, the one that does would take more than the
   * cap on one read, or it cannot be decoded: the full image is then read instead. Like `readWindow`,
   * neither scaled nor told fill from 0 (geo/tile-reader.ts does both).
   */
  readOverview(minWidth: number, minHeight: number, samples: number[]): Promise<{ width: number; height: number; planes: Float32Array[] } | null>;
  close(): Promise<void>;
}

/** A band's declared linear scaling: value = count · scale + offset. */
export interface BandScaling {
  scale: number;
  offset: number;
}

/** What a read learned on the way, for callers that would otherwise scan the output again. */
export interface ReadInfo {
  /** Set by the read: false when no pixel of the output is NaN (no nodata, no NaN, nothing outside the raster). */
  nan?: boolean;
}

/**
 * Undo TIFF horizontal differencing (predictor 2) in place on big-endian samples of `bytes` bytes
 * (2, 4 or 8), rows of `width` pixels of `stride` samples; modulo 2^bits, so signed data too.
 */
function undoPredictor2BigEndian(buf: ArrayBufferLike, width: number, stride: number, bytes: number): void {
  const view = new DataView(buf);
  const rowBytes = width * stride * bytes;
  const step = stride * bytes;
  for (let base = 0; base + rowBytes <= buf.byteLength; base += rowBytes) {
    for (let at = base + step; at < base + rowBytes; at += bytes) {
      if (bytes === 2) view.setUint16(at, view.getUint16(at) + view.getUint16(at - step));
      else if (bytes === 4) view.setUint32(at, view.getUint32(at) + view.getUint32(at - step));
      else view.setBigUint64(at, view.getBigUint64(at) + view.getBigUint64(at - step));
    }
  }
}

/** Files opened in this process, numbered: the key of their decoded chunks in the inflate workers. */
let fileSerial = 0;

const COMPRESSION_NONE = 1;
const DEFLATE = new Set([8, 32946]);

function unreadable(path: string, message: string, cause?: unknown): TubanError {
  return new TubanError('TILE.UNREADABLE', message, path, cause === undefined ? undefined : { cause });
}

function dtypeOf(sampleFormat: number, bits: number): TiffDtype | null {
  if (sampleFormat === 1 && bits === 8) return 'uint8';
  if (sampleFormat === 1 && bits === 16) return 'uint16';
  if (sampleFormat === 2 && bits === 16) return 'int16';
  if (sampleFormat === 3 && bits === 32) return 'float32';
  if (sampleFormat === 3 && bits === 64) return 'float64';
  return null;
}

/** An ISO date from 'YYYY:MM:DD…', 'YYYY-MM-DD…' or 'YYYYMMDD…' text; null if none or impossible. */
export function parseIsoDate(text: string): string | null {
  const m = /(\d{4})[:\-]?(\d{2})[:\-]?(\d{2})/.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1970 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

async function readDate(img: GeoTIFFImage): Promise<{ date: string | null; acquisition: boolean }> {
  const fd = img.fileDirectory;
  const meta = (await img.getGDALMetadata().catch(() => null)) ?? {};
  // Acquisition-specific keys first: the DateTime tag is often the processing time.
  for (const [key, value] of Object.entries(meta)) {
    if (/ACQ|SENSING|DATE_ACQUIRED|DATATAKE/i.test(key) && typeof value === 'string') {
      const d = parseIsoDate(value);
      if (d) return { date: d, acquisition: true };
    }
  }
  if (fd.hasTag('DateTime')) {
    const d = parseIsoDate(String(await fd.loadValue('DateTime')));
    if (d) return { date: d, acquisition: false };
  }
  for (const [key, value] of Object.entries(meta)) {
    if (/DATE|TIME/i.test(key) && typeof value === 'string') {
      const d = parseIsoDate(value);
      if (d) return { date: d, acquisition: false };
    }
  }
  return { date: null, acquisition: false };
}

/** GDAL writes a band's description as `<Item name="DESCRIPTION" sample="N" role="description">` in GDAL_METADATA. */
async function readBandDescriptions(img: GeoTIFFImage, spp: number, pam: PamSidecar | null): Promise<(string | null)[]> {
  const out: (string | null)[] = Array(spp).fill(null);
  if (img.fileDirectory.hasTag('GDAL_METADATA')) {
    for (let s = 0; s < spp; s++) {
      const meta = (await img.getGDALMetadata(s).catch(() => null)) ?? {};
      const d = meta.DESCRIPTION;
      if (typeof d === 'string' && d.trim()) out[s] = unescapeXml(d).trim();
    }
  }
  // A band described on a file GDAL opened read-only (QGIS, Python's SetDescription) keeps its
  // description in the `.aux.xml` sidecar; gdalinfo shows it where the file itself has none.
  for (let s = 0; s < spp; s++) out[s] ??= pam?.bands.get(s)?.description ?? null;
  return out;
}

/**
 * GDAL's colour interpretation of `sample` where it is written beside the TIFF tags: the `.aux.xml`
 * sidecar's `<ColorInterp>` (set on a file opened read-only), else GDAL_METADATA's
 * `<Item name="COLORINTERP" sample="N" role="colorinterp">`; null where neither says.
 */
async function colorInterpOf(img: GeoTIFFImage, sample: number, pam: PamSidecar | null): Promise<string | null> {
  const own = pam?.bands.get(sample)?.colorInterp;
  if (own) return own;
  if (!img.fileDirectory.hasTag('GDAL_METADATA')) return null;
  const meta = (await img.getGDALMetadata(sample).catch(() => null)) ?? {};
  const c = meta.COLORINTERP;
  return typeof c === 'string' && c.trim() ? c.trim() : null;
}

/**
 * GDAL writes a band's scale and offset (`gdal_translate -a_scale/-a_offset`, SetScale/SetOffset) as
 * `<Item name="SCALE|OFFSET" sample="N" role="scale|offset">`, or, on a file it opened read-only, as
 * `<Scale>`/`<Offset>` in the `.aux.xml` sidecar; Sentinel-2 L2A of processing baseline 04.00 on,
 * converted with its metadata, carries `BOA_ADD_OFFSET` (−1000, in counts) instead.
 * As GDAL (3.6) reads them: a band's own SCALE/OFFSET, either, first (the sidecar's are not
 * looked at then); else the sidecar's pair, the one it leaves out 1 or 0. Metadata items (here
 * BOA_ADD_OFFSET) are the sidecar's over the file's, a band's over the dataset's.
 */
async function readBandScaling(img: GeoTIFFImage, spp: number, path: string, pam: PamSidecar | null): Promise<(BandScaling | null)[]> {
  const out: (BandScaling | null)[] = Array(spp).fill(null);
  const tagged = img.fileDirectory.hasTag('GDAL_METADATA');
  if (!tagged && !pam) return out;
  const num = (v: unknown): number | null => {
    if (typeof v !== 'string' || v.trim() === '') return null;
    const x = Number(v.trim());
    return Number.isFinite(x) ? x : null;
  };
  const dataset = (tagged ? await img.getGDALMetadata().catch(() => null) : null) ?? {};
  for (let s = 0; s < spp; s++) {
    const meta = (tagged ? await img.getGDALMetadata(s).catch(() => null) : null) ?? {};
    const side = pam?.bands.get(s);
    let scale: number;
    let offset: number;
    if (num(meta.SCALE) !== null || num(meta.OFFSET) !== null) {
      scale = num(meta.SCALE) ?? 1;
      offset = num(meta.OFFSET) ?? 0;
    } else if (side && (side.scale !== null || side.offset !== null)) {
      scale = side.scale ?? 1;
      offset = side.offset ?? 0;
    } else {
      scale = 1;
      offset = num(side?.metadata.BOA_ADD_OFFSET) ?? num(meta.BOA_ADD_OFFSET) ?? num(pam?.metadata.BOA_ADD_OFFSET) ?? num(dataset.BOA_ADD_OFFSET) ?? 0;
    }
    if (scale === 0) throw unreadable(path, `band ${s + 1} declares SCALE 0: every value would be its offset`);
    if (scale !== 1 || offset !== 0) out[s] = { scale, offset };
  }
  return out;
}

/**
 * The file's one nodata value: the GDAL_NODATA tag's, each band's replaced by the sidecar's
 * `<NoDataValue>` where it gives one, as GDAL does. Tuban masks every band with one value (the tag
 * holds one), so bands without one take the one declared (`gdal_edit.py -ro -a_nodata` puts it on
 * band 1 only), and two different values are refused rather than one of them ignored.
 */
function readNodata(fd: GeoTIFFImage['fileDirectory'], spp: number, path: string, pam: PamSidecar | null): number | null {
  const text = fd.hasTag('GDAL_NODATA') ? String(fd.getValue('GDAL_NODATA')).replace(/\0/g, '').trim() : '';
  const tagNum = text === '' ? null : Number(text);
  const tag = tagNum === null || Number.isNaN(tagNum) && !/nan/i.test(text) ? null : tagNum;
  if (!pam) return tag;
  let first: { band: number; value: number; from: string } | null = null;
  for (let s = 0; s < spp; s++) {
    const side = pam.bands.get(s)?.nodata ?? null;
    const value = side ?? tag;
    if (value === null) continue;
    const from = side !== null ? "the sidecar's" : "the file's GDAL_NODATA tag";
    if (!first) first = { band: s + 1, value, from };
    else if (!Object.is(value, first.value) && value !== first.value) {
      throw pamSidecarError(path, `leaves band ${first.band} nodata ${first.value} (${first.from}) and band ${s + 1} nodata ${value} (${from}); Tuban applies one nodata value to every band: write one into the file, e.g. gdal_translate -a_nodata ${first.value} in.tif out.tif`);
    }
  }
  return first?.value ?? null;
}

/** What the sidecar changed, as text (GeoTiffFile.sidecarRadiometry): null where the file's own tags read the same. */
async function sidecarRadiometryOf(img: GeoTIFFImage, spp: number, path: string, pam: PamSidecar | null, bandScaling: (BandScaling | null)[], nodata: number | null): Promise<string | null> {
  if (!pam) return null;
  const text = (scaling: (BandScaling | null)[], nd: number | null) => JSON.stringify({ bandScaling: scaling, nodata: nd === null ? null : String(nd) });
  const read = text(bandScaling, nodata);
  return read === text(await readBandScaling(img, spp, path, null), readNodata(img.fileDirectory, spp, path, null)) ? null : read;
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function readTransform(img: GeoTIFFImage, geoKeys: Record<string, unknown>, path: string): GeoTransform {
  const fd = img.fileDirectory;
  let t: [number, number, number, number, number, number];
  const mt = fd.getValue('ModelTransformation') as ArrayLike<number> | undefined;
  const tie = fd.getValue('ModelTiepoint') as ArrayLike<number> | undefined;
  const scale = fd.getValue('ModelPixelScale') as ArrayLike<number> | undefined;
  if (mt && mt.length >= 8) {
    t = [mt[3], mt[0], mt[1], mt[7], mt[4], mt[5]];
  } else if (tie && tie.length >= 6 && scale && scale.length >= 2) {
    const [i, j, , x, y] = Array.from(tie);
    t = [x - i * scale[0], scale[0], 0, y + j * scale[1], 0, -scale[1]];
  } else {
    throw new TubanError('TILE.CRS_MISSING', 'no georeferencing (ModelTiepoint/ModelPixelScale or ModelTransformation)', path);
  }
  if (geoKeys.GTRasterTypeGeoKey === 2) {
    // PixelIsPoint: the tie point is a pixel centre; shift to the corner as GDAL does.
    t = [t[0] - 0.5 * t[1] - 0.5 * t[2], t[1], t[2], t[3] - 0.5 * t[4] - 0.5 * t[5], t[4], t[5]];
  }
  return t;
}

function readCrs(geoKeys: Record<string, unknown> | null, path: string): string {
  if (!geoKeys) throw new TubanError('TILE.CRS_MISSING', 'no GeoKeyDirectory: the file has no coordinate system', path);
  const projected = geoKeys.ProjectedCSTypeGeoKey;
  const geographic = geoKeys.GeographicTypeGeoKey;
  const code = typeof projected === 'number' ? projected : typeof geographic === 'number' ? geographic : null;
  if (code === null) throw new TubanError('TILE.CRS_MISSING', 'GeoKeys name no ProjectedCSType or GeographicType', path);
  if (code === 32767) {
    throw new TubanError('TILE.CRS_UNSUPPORTED', 'user-defined CRS in GeoKeys; re-export the file with an EPSG code', path);
  }
  return normaliseCrs(code, path);
}

/** Open a GeoTIFF and read its header; pixels are read later by window. */
export async function openGeoTiff(path: string, opts: OpenGeoTiffOptions = {}): Promise<GeoTiffFile> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new TubanError('INPUT.NOT_FOUND', 'file not found', path, { cause: err });
  }
  const problem = await checkTiffHeader(path, size).catch((err: unknown) => `cannot be read (${err instanceof Error ? err.message : String(err)})`);
  if (problem) throw unreadable(path, problem);
  let tiff: GeoTiffHandle | null = null;
  let img: GeoTIFFImage;
  try {
    tiff = await fromFile(path);
    // geotiff.js 3.0.5 (and 3.1.0-beta.0) reads array tags it defers (a StripOffsets/StripByteCounts
    // list more than 1 KiB past the IFD) as little-endian whatever the file's byte order, so a
    // big-endian striped file's chunks "lay beyond the end of the file" (geotiffjs/geotiff.js#535,
    // fixed upstream by #536, unreleased). Eager parsing reads those tags with the file's byte order.
    if (!tiff.littleEndian) tiff.parser.eager = true;
    img = await tiff.getImage(0);
  } catch (err) {
    if (tiff) await Promise.resolve(tiff.close()).catch(() => undefined);
    throw unreadable(path, `not a readable TIFF (${err instanceof Error ? err.message : String(err)})`, err);
  }
  try {
    return await describe(path, size, tiff, img, opts);
  } catch (err) {
    await Promise.resolve(tiff.close()).catch(() => undefined);
    if (err instanceof TubanError) throw err;
    throw unreadable(path, `corrupt TIFF header (${err instanceof Error ? err.message : String(err)})`, err);
  }
}

/**
 * GDAL's internal mask of the image (`GDAL_TIFF_INTERNAL_MASK`, a COG's mask, `gdalwarp`/`gdal_translate`
 * of a masked source): an IFD of NewSubfileType 4 (mask, not an overview's) of the image's size,
 * where 0 is no data. GDAL reads the pixels there as nodata, whatever they hold (a JPEG COG's
 * masked pixels are anything). Null where the file has none, or where its chain of directories
 * breaks before one (see image-directories.ts); an I/O error on the way refuses the tile.
 */
function internalMask(directories: readonly TiffDirectory[], width: number, height: number): GeoTIFFImage | null {
  const mask = directories.find((d) => d.index > 0 && d.kind === 'mask' && d.image.getWidth() === width && d.image.getHeight() === height);
  return mask?.image ?? null;
}

/**
 * GDAL's external mask `<path>.msk` (written where GDAL_TIFF_INTERNAL_MASK=NO), read as GDAL does
 * where the file has no internal one: its first image, of the file's size. Null where there is none.
 */
async function externalMask(path: string, width: number, height: number): Promise<{ file: GeoTiffHandle; image: GeoTIFFImage } | null> {
  const mskPath = `${path}.msk`;
  if (!existsSync(mskPath)) return null;
  let file: GeoTiffHandle | null = null;
  try {
    file = await fromFile(mskPath);
    const image = await file.getImage(0);
    if (image.getWidth() !== width || image.getHeight() !== height) {
      throw new Error(`it is ${image.getWidth()}×${image.getHeight()}, the image ${width}×${height}`);
    }
    return { file, image };
  } catch (err) {
    if (file) await Promise.resolve(file.close()).catch(() => undefined);
    throw unreadable(path, `its mask ${basename(mskPath)} cannot be read (${err instanceof Error ? err.message : String(err)}): remove it, or write it again with GDAL`, err);
  }
}

async function describe(
  path: string,
  fileSize: number,
  tiff: Awaited<ReturnType<typeof fromFile>>,
  img: GeoTIFFImage,
  opts: OpenGeoTiffOptions,
): Promise<GeoTiffFile> {
  const fd = img.fileDirectory;
  const width = img.getWidth();
  const height = img.getHeight();
  const spp = img.getSamplesPerPixel();
  const bits = img.getBitsPerSample(0);
  const sampleFormat = img.getSampleFormat(0);
  for (let s = 1; s < spp; s++) {
    if (img.getBitsPerSample(s) !== bits || img.getSampleFormat(s) !== sampleFormat) {
      throw unreadable(path, 'samples of mixed types are not supported');
    }
  }
  const dtype = dtypeOf(sampleFormat, bits);
  if (!dtype) throw unreadable(path, `unsupported sample type (format ${sampleFormat}, ${bits} bits)`);
  const geoKeys = img.getGeoKeys() as Record<string, unknown> | null;
  const crs = readCrs(geoKeys, path);
  const transform = readTransform(img, geoKeys ?? {}, path);
  const grid: Grid = { width, height, transform, crs };
  // The grid is known from here, but not where a sidecar puts the file elsewhere: that rejection
  // has no ground to name.
  const pam = await readPamSidecar(path, spp).catch((e: unknown) => {
    opts.onGrid?.(grid);
    throw e;
  });
  checkSidecarGeoreferencing(grid, path, pam);
  opts.onGrid?.(grid);
  const nodata = readNodata(fd, spp, path, pam);
  // ExtraSamples: 1 associated, 2 unassociated alpha (GDAL writes 2 for -dstalpha / -co ALPHA=YES), last.
  const extraSamples = fd.hasTag('ExtraSamples') ? Array.from((await fd.loadValue('ExtraSamples')) as ArrayLike<number>, Number) : [];
  const lastExtra = extraSamples[extraSamples.length - 1];
  const alphaFlagged = spp > 1 && (lastExtra === 1 || lastExtra === 2);
  const { date, acquisition: dateIsAcquisition } = await readDate(img);
  const bandDescriptions = await readBandDescriptions(img, spp, pam);
  const bandScaling = await readBandScaling(img, spp, path, pam);
  const sidecarRadiometry = await sidecarRadiometryOf(img, spp, path, pam, bandScaling, nodata);

  const tiled = img.isTiled;
  const blockWidth = tiled ? img.getTileWidth() : width;
  const blockHeight = tiled ? img.getTileHeight() : Math.min(Number(fd.getValue('RowsPerStrip') ?? height), height);
  const offsets = Array.from((await fd.loadValue(tiled ? 'TileOffsets' : 'StripOffsets')) as ArrayLike<number | bigint>, Number);
  const counts = Array.from((await fd.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts')) as ArrayLike<number | bigint>, Number);
  const planar = img.planarConfiguration;
  const nx = Math.ceil(width / blockWidth);
  const ny = Math.ceil(height / blockHeight);
  const expected = nx * ny * (planar === 2 ? spp : 1);
  if (offsets.length < expected || counts.length < expected) {
    throw unreadable(path, `index lists ${offsets.length} chunks, the image needs ${expected}`);
  }
  for (let i = 0; i < expected; i++) {
    if (counts[i] > 0 && offsets[i] + counts[i] > fileSize) {
      throw unreadable(path, `chunk ${i} lies beyond the end of the file (truncated?)`);
    }
  }
  const compression = Number(fd.getValue('Compression') ?? 1);
  const predictor = Number((fd.hasTag('Predictor') ? await fd.loadValue('Predictor') : 1) ?? 1);
  const bps = bits / 8;
  // Our decoder assumes little-endian data (all GDAL/COG output on x86/ARM); anything else goes to geotiff.js.
  const fast = tiff.littleEndian && (compression === COMPRESSION_NONE || DEFLATE.has(compression)) && [1, 2, 3].includes(predictor);
  const maxBytes = opts.maxWindowBytes ?? DEFAULT_MAX_WINDOW_BYTES;
  // The promise, not the handle: concurrent chunk reads must share one open().
  let handle: Promise<FileHandle> | null = null;
  let closed = false;

  async function fileHandle(): Promise<FileHandle> {
    // A decode still queued when a sibling failed and the caller closed must not reopen the file:
    // that handle would only be closed by the garbage collector (Node warns about it).
    if (closed) throw new TubanError('INTERNAL', 'read after close', path);
    handle ??= open(path, 'r');
    return handle;
  }

  async function readChunkBytes(index: number): Promise<Uint8Array> {
    const fh = await fileHandle();
    // A fresh, unpooled buffer so it can be transferred to a worker without copying.
    const bytes = new Uint8Array(counts[index]);
    const { bytesRead } = await fh.read(bytes, 0, bytes.length, offsets[index]);
    if (bytesRead !== bytes.length) throw unreadable(path, `chunk ${index} is cut short (truncated file)`);
    return bytes;
  }

  // Whole decoded chunks, most recent last. Strips that do not line up with the block rows (and
  // the halo rows a smoothing kernel needs) touch a block row twice; keeping the last two block rows
  // decoded means every chunk is inflated once per pass. In-flight decodes are shared too.
  const chunkCache = new Map<string, Promise<Float32Array[]>>();
  const chunkCacheCap = 2 * nx * (planar === 2 ? spp : 1);

  function decodedChunk(index: number, chunkSamples: number[], chunkRows: number): Promise<Float32Array[]> {
    const key = `${index}:${chunkSamples.join(',')}`;
    const hit = chunkCache.get(key);
    if (hit) {
      chunkCache.delete(key);
      chunkCache.set(key, hit);
      return hit;
    }
    const decoding = (async () => {
      if (counts[index] === 0) {
        // Sparse chunk (GDAL SPARSE_OK): no bytes stored, reads as nodata, else 0.
        return chunkSamples.map(() => new Float32Array(blockWidth * chunkRows).fill(nodata === null ? 0 : NaN));
      }
      const job: ChunkJob = {
        bytes: await readChunkBytes(index),
        compression, predictor, bps, sampleFormat,
        spp: planar === 2 ? 1 : spp,
        chunkWidth: blockWidth, chunkRows, rect: [0, 0, blockWidth, chunkRows], samples: chunkSamples, nodata,
      };
      try {
        return await sharedInflatePool().decode(job);
      } catch (err) {
        throw unreadable(path, `chunk ${index} cannot be decoded (${err instanceof Error ? err.message : String(err)})`, err);
      }
    })();
    chunkCache.set(key, decoding);
    // A failed decode must not be served from the cache to the next reader.
    decoding.catch(() => chunkCache.delete(key));
    while (chunkCache.size > chunkCacheCap) chunkCache.delete(chunkCache.keys().next().value!);
    return decoding;
  }

  // Chunks the inflate workers hold decoded (direct reads only), most recent last: which worker
  // (the least busy when it was first decoded) and when its decode is done. Same bound as chunkCache.
  const fileId = ++fileSerial;
  const workerHeld = new Map<number, { worker: number; decoded: Promise<unknown> }>();
  let workerCacheUsed = false;

  /**
   * One chunk's rect straight into `dest` (SharedArrayBuffers) by a worker; a chunk used only in part
   * is kept decoded there for the reads that want the rest. Resolves to the NaN pixels written.
   */
  async function decodeInto(index: number, chunkSamples: number[], chunkRows: number, rect: [number, number, number, number], dest: { planes: Float32Array[]; offset: number; stride: number }): Promise<number> {
    const pool = sharedInflatePool();
    const [rx, ry, rw, rh] = rect;
    if (counts[index] === 0) {
      // Sparse chunk (GDAL SPARSE_OK): no bytes stored, reads as nodata, else 0.
      for (const p of dest.planes) for (let r = 0; r < rh; r++) p.fill(nodata === null ? 0 : NaN, dest.offset + r * dest.stride, dest.offset + r * dest.stride + rw);
      return nodata === null ? 0 : rw * rh;
    }
    const job: ChunkJob = {
      bytes: null, compression, predictor, bps, sampleFormat,
      spp: planar === 2 ? 1 : spp,
      chunkWidth: blockWidth, chunkRows, rect, samples: chunkSamples, nodata, dest,
    };
    const whole = rx === 0 && ry === 0 && rw === blockWidth && rh === chunkRows;
    const fail = (err: unknown) => unreadable(path, `chunk ${index} cannot be decoded (${err instanceof Error ? err.message : String(err)})`, err);
    if (whole) {
      job.bytes = await readChunkBytes(index);
      const r = await pool.run(job).catch((err: unknown) => { throw fail(err); });
      return r.nan ?? 0;
    }
    job.cache = { file: fileId, index, cap: Math.ceil(chunkCacheCap / Math.max(1, pool.size)) + 2 };
    workerCacheUsed = true;
    const held = workerHeld.get(index);
    if (held) {
      workerHeld.delete(index);
      workerHeld.set(index, held);
      // Queued behind the decode that fills the worker's cache (a worker takes jobs in order).
      const ok = await held.decoded.then(() => true, () => false);
      if (ok) {
        try {
          return (await pool.run(job, held.worker)).nan ?? 0;
        } catch (err) {
          if (!(err instanceof Error && err.message === CACHE_MISS)) throw fail(err);
          // Evicted there meanwhile: decode it again below.
        }
      }
    }
    // The worker is picked once the bytes are in (the least busy then: picked when the read was
    // issued, a burst of reads would all name the same one); the reads that follow wait for the
    // decode, so they see it.
    const entry: { worker: number; decoded: Promise<ChunkResult> } = { worker: 0, decoded: Promise.resolve({}) };
    const decoding = readChunkBytes(index).then((bytes) => {
      entry.worker = pool.leastBusy();
      return pool.run({ ...job, bytes }, entry.worker);
    });
    entry.decoded = decoding;
    workerHeld.set(index, entry);
    decoding.catch(() => { if (workerHeld.get(index) === entry) workerHeld.delete(index); });
    while (workerHeld.size > chunkCacheCap) workerHeld.delete(workerHeld.keys().next().value!);
    const r = await decoding.catch((err: unknown) => { throw err instanceof TubanError ? err : fail(err); });
    return r.nan ?? 0;
  }

  async function readFast(x0: number, y0: number, x1: number, y1: number, win: Window, samples: number[], out: Float32Array[]): Promise<number> {
    const pool = sharedInflatePool();
    // Outputs a worker can write in place: the decoded rect goes straight there, no copy here. A pool
    // of no workers decodes on this thread and can write any array in place: whole chunks decoded
    // to Float32 planes for the copy were the largest fresh external memory of a `tuban worker`
    // (TUBAN_INFLATE_WORKERS=0: 15 MiB a tile on bench:scale's 256² tiles, every byte of it young
    // ArrayBuffers that schedule scavenges and, through what they promote, mark-compacts).
    const direct = pool.size === 0 || out.every((a) => a.buffer instanceof SharedArrayBuffer);
    let nan = 0;
    const tasks: Array<() => Promise<void>> = [];
    for (let ty = Math.floor(y0 / blockHeight); ty <= Math.floor((y1 - 1) / blockHeight); ty++) {
      for (let tx = Math.floor(x0 / blockWidth); tx <= Math.floor((x1 - 1) / blockWidth); tx++) {
        const cx0 = Math.max(x0, tx * blockWidth);
        const cy0 = Math.max(y0, ty * blockHeight);
        const cx1 = Math.min(x1, (tx + 1) * blockWidth);
        const cy1 = Math.min(y1, (ty + 1) * blockHeight);
        const rect: [number, number, number, number] = [cx0 - tx * blockWidth, cy0 - ty * blockHeight, cx1 - cx0, cy1 - cy0];
        // Strips at the bottom hold only the rows that exist; tiles are always padded to full size.
        const chunkRows = tiled ? blockHeight : Math.min(blockHeight, height - ty * blockHeight);
        const groups: Array<{ index: number; chunkSamples: number[]; outIdx: number[] }> = [];
        if (planar === 2) {
          samples.forEach((s, k) => groups.push({ index: s * nx * ny + ty * nx + tx, chunkSamples: [0], outIdx: [k] }));
        } else {
          groups.push({ index: ty * nx + tx, chunkSamples: samples, outIdx: samples.map((_, k) => k) });
        }
        const ox = cx0 - win.col;
        const oy = cy0 - win.row;
        for (const g of groups) {
          if (direct) {
            const dest = { planes: g.outIdx.map((k) => out[k]), offset: oy * win.width + ox, stride: win.width };
            tasks.push(async () => {
              // Not `nan += await …`: that reads `nan` before the await and loses the other tasks' counts.
              const hits = await decodeInto(g.index, g.chunkSamples, chunkRows, rect, dest);
              nan += hits;
            });
            continue;
          }
          tasks.push(async () => {
            const planes = await decodedChunk(g.index, g.chunkSamples, chunkRows);
            nan = copyRect(planes, out, g.outIdx, rect, blockWidth, (oy * win.width) + ox, win.width, nan);
          });
        }
      }
    }
    // Bounded concurrency: enough chunks in flight to keep every worker busy, not so many that
    // compressed bytes pile up in memory.
    // (A pool of no workers decodes on this thread: a few reads in flight still overlap the file I/O.)
    const limit = Math.max(1, pool.size) * 3;
    let next = 0;
    let failed: { err: unknown } | null = null;
    const runners = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length && !failed) {
        try {
          await tasks[next++]();
        } catch (err) {
          failed ??= { err };
        }
      }
    });
    // Every runner settles before the error surfaces: the caller closes the file on error, and a
    // read still in flight then would outlive the close.
    await Promise.all(runners);
    if (failed) throw (failed as { err: unknown }).err;
    return nan;
  }

  // geotiff.js 3.0.5 undoes the horizontal predictor on the samples as little-endian whatever the
  // file's byte order, so a big-endian 16/32/64-bit file with PREDICTOR=2 (`-co ENDIANNESS=BIG`) read
  // as other counts. There its decoder only decompresses, and the predictor is undone here.
  const bigEndianPredictor = !tiff.littleEndian && predictor === 2 && bits > 8;
  const pool = bigEndianPredictor
    ? {
        bindParameters(method: number, params: { predictor: number }) {
          const decoder = getDecoder(method, { ...params, predictor: 1 } as Parameters<typeof getDecoder>[1]);
          return {
            decode: async (slice: ArrayBuffer) => {
              const raw = await (await decoder).decode(slice);
              undoPredictor2BigEndian(raw, blockWidth, planar === 2 ? 1 : spp, bps);
              return raw;
            },
          };
        },
      }
    : undefined;

  async function readSlow(x0: number, y0: number, x1: number, y1: number, win: Window, samples: number[], out: Float32Array[]): Promise<number> {
    let data: ArrayLike<number>[];
    try {
      data = (await img.readRasters({ window: [x0, y0, x1, y1], samples, interleave: false, ...(pool ? { pool: pool as never } : {}) })) as unknown as ArrayLike<number>[];
    } catch (err) {
      throw unreadable(path, `cannot decode pixels (${err instanceof Error ? err.message : String(err)})`, err);
    }
    const w = x1 - x0;
    const nd = nodata === null ? null : dtype === 'float32' ? Math.fround(nodata) : nodata;
    for (let k = 0; k < samples.length; k++) {
      const src = data[k];
      const dst = out[k];
      for (let r = 0; r < y1 - y0; r++) {
        let o = (y0 - win.row + r) * win.width + (x0 - win.col);
        for (let c = 0, i = r * w; c < w; c++, i++) {
          const v = src[i];
          dst[o++] = v === nd ? NaN : v;
        }
      }
    }
    // Not counted here (a rare path): the caller scans for NaNs.
    return 1;
  }

  // GDAL's Create() flags the 4th band of every 4-band Byte file alpha (rasterio, gdal.Create, an 8-bit
  // GF-2 BGRN export): there the flag says nothing unless GDAL's colour interpretation (the
  // GDAL_METADATA tag's or the .aux.xml sidecar's) says Alpha too, or the band holds only 0 and 255.
  let alphaSample: number | null = alphaFlagged ? spp - 1 : null;
  let alphaIgnored: string | null = null;
  if (alphaSample !== null && dtype === 'uint8' && spp === 4) {
    const said = await colorInterpOf(img, alphaSample, pam);
    if (said !== null ? !/^alpha$/i.test(said) : !(await onlyAlphaValues(alphaSample))) {
      alphaIgnored = said !== null
        ? `its colour interpretation is ${said}`
        : 'it holds values other than 0 and 255 (GDAL flags the 4th band of every 4-band 8-bit file it creates as alpha)';
      alphaSample = null;
    }
  }

  /** Whether `sample` holds nothing but 0 and 255 (nodata, matched on the way, taken as its value): read strip by strip, stopping at the first other value. */
  async function onlyAlphaValues(sample: number): Promise<boolean> {
    const rows = Math.max(blockHeight, Math.floor((4 * 1024 ** 2) / width / blockHeight) * blockHeight);
    for (let row = 0; row < height; row += rows) {
      const h = Math.min(rows, height - row);
      const [a] = await readRaw({ col: 0, row, width, height: h }, [sample]);
      for (let i = 0; i < a.length; i++) {
        const v = Number.isNaN(a[i]) ? nodata : a[i];
        if (v !== 0 && v !== 255) return false;
      }
    }
    return true;
  }

  // Last of the checks: nothing after it throws, so an external mask's handle is always closed by close().
  const { directories } = await tiffDirectories(tiff, path);
  const ownMask = internalMask(directories, width, height);
  const outerMask = ownMask ? null : await externalMask(path, width, height);
  const maskImage = ownMask ?? outerMask?.image ?? null;
  let outerMaskDirs: Promise<TiffDirectory[]> | null = null;

  return {
    path,
    grid,
    samplesPerPixel: spp,
    alphaSample,
    alphaIgnored,
    photometric: Number(fd.getValue('PhotometricInterpretation') ?? 1),
    bandDescriptions,
    bandScaling,
    dtype,
    nodata,
    sidecarRadiometry,
    date,
    dateIsAcquisition,
    blockWidth,
    blockHeight,
    chunks: { offsets, counts },
    async readWindow(win: Window, samples: number[], into?: Float32Array[], info?: ReadInfo): Promise<Float32Array[]> {
      const got = await readAlpha(win, samples, into, info);
      if (maskImage && samples.length > 0) await applyMask(maskImage, win, got, info);
      return got;
    },
    readOverview,
    close,
  };

  async function readOverview(minWidth: number, minHeight: number, samples: number[]): Promise<{ width: number; height: number; planes: Float32Array[] } | null> {
    if (closed) throw new TubanError('INTERNAL', 'readOverview after close', path);
    for (const s of samples) {
      if (!Number.isInteger(s) || s < 0 || s >= spp) throw new TubanError('TILE.BAND_MISMATCH', `sample ${s} requested, file has ${spp}`, path);
    }
    // geotiff.js undoes a big-endian file's predictor wrongly (above): the full image's read corrects it, an overview's would not.
    if (bigEndianPredictor || samples.length === 0) return null;
    const candidates = directories
      .filter(({ index, kind, image: o }) => index > 0 && kind === 'overview' && o.getWidth() >= minWidth && o.getHeight() >= minHeight && sameSamples(o))
      .sort((a, b) => a.image.getWidth() - b.image.getWidth());
    for (const { image: o } of candidates) {
      const w = o.getWidth();
      const h = o.getHeight();
      // The coarsest first: past the cap on one read, so is every other (the full image is read in strips then).
      if (w * h * 4 * (samples.length + 1) > maxBytes) return null;
      let mask: GeoTIFFImage | null = null;
      if (maskImage) {
        const masks = ownMask ? directories.filter((d) => d.kind === 'overview-mask') : await outerMaskOverviews();
        mask = masks.find((d) => d.image.getWidth() === w && d.image.getHeight() === h)?.image ?? null;
        // Without the mask at this size the no-data pixels are unknown here.
        if (!mask) continue;
      }
      const withAlpha = alphaSample !== null && !samples.includes(alphaSample);
      let data: ArrayLike<number>[];
      let m: ArrayLike<number> | null = null;
      try {
        data = (await o.readRasters({ samples: withAlpha ? [...samples, alphaSample!] : samples, interleave: false })) as unknown as ArrayLike<number>[];
        if (mask) [m] = (await mask.readRasters({ samples: [0], interleave: false })) as unknown as ArrayLike<number>[];
      } catch {
        // An overview geotiff.js cannot decode (a sparse one, a broken one): the full image is read instead, as the batch reads it.
        return null;
      }
      const n = w * h;
      const nd = nodata === null ? null : dtype === 'float32' ? Math.fround(nodata) : nodata;
      const planes = data.map((src) => {
        const dst = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const v = src[i];
          dst[i] = v === nd ? NaN : v;
        }
        return dst;
      });
      if (withAlpha) blankTransparent(planes.slice(0, samples.length), planes[samples.length], nodata);
      if (m) {
        for (let i = 0; i < n; i++) if (m[i] === 0) for (let k = 0; k < samples.length; k++) planes[k][i] = NaN;
      }
      return { width: w, height: h, planes: planes.slice(0, samples.length) };
    }
    return null;
  }

  /** An overview laid out as the image is: the same samples, of the same type. */
  function sameSamples(o: GeoTIFFImage): boolean {
    if (o.getSamplesPerPixel() !== spp) return false;
    for (let s = 0; s < spp; s++) if (o.getBitsPerSample(s) !== bits || o.getSampleFormat(s) !== sampleFormat) return false;
    return true;
  }

  /** The reduced-resolution images of the external mask (`gdaladdo X.tif.msk`), walked once. */
  async function outerMaskOverviews(): Promise<TiffDirectory[]> {
    if (!outerMask) return [];
    outerMaskDirs ??= tiffDirectories(outerMask.file, `${path}.msk`).then((d) => d.directories.filter((x) => x.index > 0 && (x.kind === 'overview' || x.kind === 'overview-mask')));
    return outerMaskDirs;
  }

  /** Blank, in `planes` (the window `win`), the pixels GDAL's internal mask says are no data (0). */
  async function applyMask(mask: GeoTIFFImage, win: Window, planes: Float32Array[], info?: ReadInfo): Promise<void> {
    const x0 = Math.max(0, win.col);
    const y0 = Math.max(0, win.row);
    const x1 = Math.min(width, win.col + win.width);
    const y1 = Math.min(height, win.row + win.height);
    if (x1 <= x0 || y1 <= y0) return;
    let m: ArrayLike<number>;
    try {
      [m] = (await mask.readRasters({ window: [x0, y0, x1, y1], samples: [0], interleave: false })) as unknown as ArrayLike<number>[];
    } catch (err) {
      throw unreadable(path, `cannot decode its ${outerMask ? `mask ${basename(path)}.msk` : 'internal mask'} (${err instanceof Error ? err.message : String(err)})`, err);
    }
    const w = x1 - x0;
    let masked = false;
    for (let r = 0; r < y1 - y0; r++) {
      const o = (y0 - win.row + r) * win.width + (x0 - win.col);
      for (let c = 0; c < w; c++) {
        if (m[r * w + c] !== 0) continue;
        for (const p of planes) p[o + c] = NaN;
        masked = true;
      }
    }
    if (info && masked) info.nan = true;
  }

  async function readAlpha(win: Window, samples: number[], into?: Float32Array[], info?: ReadInfo): Promise<Float32Array[]> {
    if (alphaSample === null || samples.length === 0 || samples.includes(alphaSample)) return readRaw(win, samples, into, info);
    // Transparent pixels are no data: read the alpha with the bands and blank them there.
    const n = win.width * win.height;
    const outs = into ? into.slice(0, samples.length) : samples.map(() => new Float32Array(n));
    // Shared like the outputs where they are, so the inflate workers still decode in place.
    const alphaOut = outs[0].buffer instanceof SharedArrayBuffer ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n);
    const got = await readRaw(win, [...samples, alphaSample], [...outs, alphaOut], info);
    const masked = blankTransparent(got.slice(0, samples.length), got[samples.length], nodata);
    if (info && masked) info.nan = true;
    return got.slice(0, samples.length);
  }

  async function readRaw(win: Window, samples: number[], into?: Float32Array[], info?: ReadInfo): Promise<Float32Array[]> {
    if (closed) throw new TubanError('INTERNAL', 'readWindow after close', path);
    if (!(win.width > 0 && win.height > 0) || !Number.isInteger(win.col) || !Number.isInteger(win.row)) {
      throw new TubanError('INTERNAL', `bad window ${JSON.stringify(win)}`, path);
    }
    for (const s of samples) {
      if (!Number.isInteger(s) || s < 0 || s >= spp) throw new TubanError('TILE.BAND_MISMATCH', `sample ${s} requested, file has ${spp}`, path);
    }
    const bytes = win.width * win.height * 4 * samples.length;
    if (bytes > maxBytes) {
      throw new TubanError('RASTER.TOO_LARGE', `window ${win.width}×${win.height}×${samples.length} needs ${bytes} bytes, cap is ${maxBytes}; read smaller strips`, path);
    }
    const x0 = Math.max(0, win.col);
    const y0 = Math.max(0, win.row);
    const x1 = Math.min(width, win.col + win.width);
    const y1 = Math.min(height, win.row + win.height);
    const inside = x0 === win.col && y0 === win.row && x1 === win.col + win.width && y1 === win.row + win.height;
    const n = win.width * win.height;
    if (into && (into.length < samples.length || into.some((a) => a.length < n))) {
      throw new TubanError('INTERNAL', `readWindow: 'into' needs ${samples.length} arrays of ≥ ${n} values`, path);
    }
    const out = samples.map((_, k) => {
      const a = into ? (into[k].length === n ? into[k] : into[k].subarray(0, n)) : new Float32Array(n);
      return inside ? a : a.fill(NaN);
    });
    if (info) info.nan = !inside;
    if (x1 <= x0 || y1 <= y0 || samples.length === 0) return out;
    const nan = fast ? await readFast(x0, y0, x1, y1, win, samples, out) : await readSlow(x0, y0, x1, y1, win, samples, out);
    if (info) info.nan = !inside || nan > 0;
    return out;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    chunkCache.clear();
    if (workerCacheUsed) sharedInflatePool().forget(fileId);
    workerHeld.clear();
    const h = handle;
    handle = null;
    if (h) await (await h).close();
    await Promise.resolve(tiff.close()).catch(() => undefined);
    if (outerMask) await Promise.resolve(outerMask.file.close()).catch(() => undefined);
  }
}

/**
 * Set `planes` to NaN where `alpha` (read with them, the nodata value matched to NaN) is transparent
 * (0 or less); whether any pixel was. A NaN alpha is the nodata value (0 for a file declaring nodata
 * 0: transparent), or NaN in a float file (transparent too).
 */
function blankTransparent(planes: Float32Array[], alpha: Float32Array, nodata: number | null): boolean {
  const nanAlpha = nodata === null ? NaN : nodata;
  let masked = false;
  for (let i = 0; i < alpha.length; i++) {
    const a = alpha[i];
    if ((Number.isNaN(a) ? nanAlpha : a) > 0) continue;
    for (let k = 0; k < planes.length; k++) planes[k][i] = NaN;
    masked = true;
  }
  return masked;
}

/**
 * Copies a decoded chunk's rect into the window's planes (rows `stride` apart from `offset`) and
 * returns `nan` plus one if a NaN was seen while none had been (the caller only needs to know
 * whether any pixel is NaN). A module-level function, not a closure per chunk: V8 keeps optimised
 * code of a closure only while one of its instances lives, so per-chunk closures were compiled
 * anew after every major GC (several per tile).
 */
function copyRect(planes: Float32Array[], out: Float32Array[], outIdx: number[], rect: [number, number, number, number], blockWidth: number, offset: number, stride: number, nan: number): number {
  const [rx, ry, rw, rh] = rect;
  for (let k = 0; k < planes.length; k++) {
    const dst = out[outIdx[k]];
    const src = planes[k];
    for (let r = 0; r < rh; r++) {
      const s0 = (ry + r) * blockWidth + rx;
      dst.set(src.subarray(s0, s0 + rw), offset + r * stride);
      if (!nan) for (let i = s0; i < s0 + rw; i++) if (src[i] !== src[i]) { nan++; break; }
    }
  }
  return nan;
}
