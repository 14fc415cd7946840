/**
 * A fingerprint of a TIFF's imagery, cheap on a full Sentinel-2 tile: its chunk byte counts (the
 * TileByteCounts/StripByteCounts the header reader loaded) and 4 KiB samples of its stored bytes
 * (samplePlaces). Two acquisitions of a tile compress to other byte counts, chunk for chunk; uncompressed,
 * every count is the same, and the sampled bytes tell them apart. Identical files, whatever their
 * names, dates or tags say, have the same fingerprint: an undated tile given again in a later month
 * is known by it (pipeline/batch/refiled-imagery.ts), where its date (the `--epoch`) says another.
 * Only the pixels' bytes count: a file whose tags alone changed (a date written in) keeps it.
 * A blank file (all nodata, or one value) has the fingerprint of every blank file of its layout, so
 * it is marked as telling nothing (`informative`): cheaply, from the samples uncompressed, from the
 * byte counts compressed (real imagery passes there, unread); only a file compressed like a blank
 * one has a chunk of each byte count decoded (a chunk of at most 64 MiB decoded: a one-strip file is not).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { GeoTiffFile } from './open-geotiff.js';

/**
 * Where the bytes hashed come from. Compressed, two acquisitions differ chunk for chunk in their byte
 * counts already, and 4 KiB of up to 256 chunks spread over the index are hashed besides. Uncompressed
 * (every count the same) the bytes alone tell them apart, and a tile at a swath's edge holds its
 * pixels in a sliver, the rest nodata: samples that all fell in the nodata (16 chunks' middles) made
 * two acquisitions one fingerprint. So 4096 places are sampled, spread over the file's whole image
 * data (a place moving within each stretch, by the fractional parts of k·φ): a sliver of 1 % of the
 * tile is missed by all of them about once in e^40.
 */
const SAMPLE_BYTES = 4096;
const COMPRESSED_SAMPLES = 256;
const UNCOMPRESSED_SAMPLES = 4096;
const GOLDEN = 0.6180339887498949;
const READS_AT_ONCE = 64;

/**
 * A file's fingerprint: 16 hex digits, and whether it tells anything of the acquisition. Where every
 * place sampled is one pixel repeated (a tile all nodata, or constant), every such file of that
 * layout has the same fingerprint, whatever was acquired: two months' blank tiles would read as one.
 */
export interface ImageryFingerprint {
  hex: string;
  informative: boolean;
}

type SampledFile = Pick<GeoTiffFile, 'path' | 'chunks' | 'grid' | 'blockWidth' | 'blockHeight' | 'samplesPerPixel' | 'dtype' | 'readWindow'>;

export interface FingerprintOptions {
  /**
   * The most a chunk decoded to check a compressed file blank may take (its pixels as float32, every
   * band); default MAX_BLANK_DECODE_BYTES. A file with a larger chunk is not checked: it counts as informative.
   */
  maxBlankDecodeBytes?: number;
}

/**
 * A blank file stored as one strip (GDAL's default for a deflate file written without tiling) is one
 * chunk of the whole image: ~1.9 GB decoded at 10980² × 4 bands, and over the 2 GiB window cap at 6
 * bands, which rejected the blank tile at planning (RASTER.TOO_LARGE). Above this such a file keeps its
 * fingerprint as informative, as before blank files were told: a COG's 512² or 1024² chunk is 4–24 MiB.
 */
export const MAX_BLANK_DECODE_BYTES = 64 * 1024 ** 2;

/** The fingerprint of one file's imagery. */
export async function imageryFingerprint(file: SampledFile, opts: FingerprintOptions = {}): Promise<ImageryFingerprint> {
  const { offsets, counts } = file.chunks;
  const h = createHash('sha1');
  h.update(`${counts.length}:${counts.join(',')}\n`);
  const places = samplePlaces(counts);
  const layout = chunkLayout(file);
  const uncompressed = storedRaw(file, layout);
  const mayBeBlank = !uncompressed && counts.every((c) => c * BLANK_COMPRESSION <= layout.chunkBytes);
  // Uncompressed: whether some sample is other than one pixel repeated. Compressed: the chunks' sampled bytes.
  let varied = false;
  const streams = new Map<string, Buffer>();
  let differing = false;
  const fh = await open(file.path, 'r');
  try {
    // Read a batch of places at once (one by one, 4096 reads took ~90 ms warm), hashed in order.
    const bufs = Array.from({ length: Math.min(READS_AT_ONCE, places.length) }, () => Buffer.alloc(SAMPLE_BYTES));
    for (let start = 0; start < places.length; start += READS_AT_ONCE) {
      const batch = places.slice(start, start + READS_AT_ONCE);
      const read = await Promise.all(batch.map(([chunk, at, n], j) => fh.read(bufs[j], 0, n, offsets[chunk] + at)));
      batch.forEach(([chunk, at], j) => {
        const bytes = bufs[j].subarray(0, read[j].bytesRead);
        h.update(`${chunk}:${at}:`);
        h.update(bytes);
        if (uncompressed) varied ||= !onePixelRepeated(file, layout, chunk, at, bytes);
        else if (mayBeBlank && !differing) {
          // Chunks of one byte count whose bytes at one place differ hold other pixels.
          const key = `${counts[chunk]}:${at}:${bytes.length}`;
          const seen = streams.get(key);
          if (seen) differing = !seen.equals(bytes);
          else if (streams.size < MAX_BLANK_STREAMS) streams.set(key, Buffer.from(bytes));
        }
      });
    }
  } finally {
    await fh.close();
  }
  const hex = h.digest('hex').slice(0, 16);
  const maxDecode = opts.maxBlankDecodeBytes ?? MAX_BLANK_DECODE_BYTES;
  return { hex, informative: uncompressed ? varied : !mayBeBlank || differing || !(await compressedBlank(file, layout, maxDecode)) };
}

/**
 * A tile's fingerprint from its files' (per-band files: in any order, as their content sorts);
 * undefined where none of them tells anything of the acquisition (all nodata, or constant).
 */
export async function tileFingerprint(files: readonly SampledFile[], opts: FingerprintOptions = {}): Promise<string | undefined> {
  const each = await Promise.all(files.map((f) => imageryFingerprint(f, opts)));
  if (!each.some((f) => f.informative)) return undefined;
  if (each.length === 1) return each[0].hex;
  return createHash('sha1').update(each.map((f) => f.hex).sort().join('\n')).digest('hex').slice(0, 16);
}

const BYTES: Record<GeoTiffFile['dtype'], number> = { uint8: 1, uint16: 2, int16: 2, float32: 4, float64: 8 };

/** Uncompressed (for samplePlaces): every chunk's byte count the same; compressed, two chunks of other content differ in theirs. */
const isUncompressed = (counts: readonly number[]) => counts.length > 0 && counts[0] > 0 && counts.every((c) => c === counts[0]);

interface ChunkLayout {
  /** Chunks across, and chunks in one plane (separate planes: one per sample). */
  nx: number;
  cells: number;
  planes: number;
  /** A pixel's bytes in a chunk (separate planes: one sample's), and a full chunk's. */
  pixelBytes: number;
  chunkBytes: number;
}

function chunkLayout(file: SampledFile): ChunkLayout {
  const nx = Math.ceil(file.grid.width / file.blockWidth);
  const cells = nx * Math.ceil(file.grid.height / file.blockHeight);
  const planes = Math.max(1, Math.round(file.chunks.counts.length / cells));
  const pixelBytes = BYTES[file.dtype] * (planes > 1 ? 1 : file.samplesPerPixel);
  return { nx, cells, planes, pixelBytes, chunkBytes: file.blockWidth * file.blockHeight * pixelBytes };
}

/** Every chunk stored as its pixels' bytes: a full chunk's, or (the last strip) its rows'. */
function storedRaw(file: SampledFile, { nx, cells, chunkBytes }: ChunkLayout): boolean {
  const lastRows = file.grid.height - (Math.ceil(file.grid.height / file.blockHeight) - 1) * file.blockHeight;
  const lastRowBytes = (chunkBytes / file.blockHeight) * lastRows;
  return file.chunks.counts.every((c, i) => c === chunkBytes || (c === lastRowBytes && i % cells >= cells - nx));
}

/**
 * Whether an uncompressed sample is one pixel repeated: its bytes equal themselves shifted by a
 * pixel (planar files repeat one sample, a pixel of theirs). An edge tile is padded to full size
 * with the writer's fill (0, say, under a constant 1200): only its pixels in the image count.
 */
function onePixelRepeated(file: SampledFile, { nx, cells, pixelBytes }: ChunkLayout, chunk: number, at: number, bytes: Buffer): boolean {
  const cell = chunk % cells;
  const width = Math.min(file.blockWidth, file.grid.width - (cell % nx) * file.blockWidth);
  const height = Math.min(file.blockHeight, file.grid.height - Math.floor(cell / nx) * file.blockHeight);
  if (width === file.blockWidth && height === file.blockHeight) return repeats(bytes, pixelBytes);
  const rowBytes = file.blockWidth * pixelBytes;
  let pixel: Buffer | null = null;
  for (let r = Math.floor(at / rowBytes); r < height && r * rowBytes < at + bytes.length; r++) {
    const start = Math.max(at, r * rowBytes);
    const from = start + ((pixelBytes - ((start - r * rowBytes) % pixelBytes)) % pixelBytes);
    const end = Math.min(at + bytes.length, r * rowBytes + width * pixelBytes);
    const to = end - ((end - r * rowBytes) % pixelBytes);
    if (to <= from) continue;
    const run = bytes.subarray(from - at, to - at);
    pixel ??= run.subarray(0, pixelBytes);
    if (!run.subarray(0, pixelBytes).equals(pixel) || !repeats(run, pixelBytes)) return false;
  }
  return true;
}

/** Bytes that equal themselves shifted by `period`. */
function repeats(bytes: Buffer, period: number): boolean {
  return bytes.length <= period || bytes.compare(bytes, period, bytes.length, 0, bytes.length - period) === 0;
}

/**
 * A blank file's chunks compress alike: a few byte counts (inner, right-edge, bottom-edge and corner
 * tiles, for each plane) at a fraction of their pixels' size. Real imagery differs chunk by chunk,
 * so this is known from the index without decoding; only a file that passes is decoded, one chunk
 * of each byte count, and is blank when each of them is one pixel repeated.
 */
const MAX_BLANK_COUNTS_PER_PLANE = 4;
/** A blank chunk's stored bytes are at most this share of its pixels' (deflate of a repeated pixel: ~1/1000). */
const BLANK_COMPRESSION = 32;
/** Sampled bytes kept to compare, one per byte count and place: a blank file has a few. */
const MAX_BLANK_STREAMS = 64;

async function compressedBlank(file: SampledFile, { nx, cells, planes }: ChunkLayout, maxDecodeBytes: number): Promise<boolean> {
  // A chunk is decoded whole, every band of it read as float32: too large, and the file is not checked.
  if (file.blockWidth * file.blockHeight * file.samplesPerPixel * 4 > maxDecodeBytes) return false;
  const { counts } = file.chunks;
  const { width, height } = file.grid;
  const firstOfCount = new Map<number, number>();
  for (let i = 0; i < counts.length; i++) {
    if (!firstOfCount.has(counts[i])) {
      if (firstOfCount.size === MAX_BLANK_COUNTS_PER_PLANE * planes) return false;
      firstOfCount.set(counts[i], i);
    }
  }
  for (const chunk of firstOfCount.values()) {
    const cell = chunk % cells;
    const col = (cell % nx) * file.blockWidth;
    const row = Math.floor(cell / nx) * file.blockHeight;
    const win = { col, row, width: Math.min(file.blockWidth, width - col), height: Math.min(file.blockHeight, height - row) };
    const bands = await file.readWindow(win, Array.from({ length: file.samplesPerPixel }, (_, s) => s));
    if (!bands.every(oneValue)) return false;
  }
  return true;
}

/** Every value the first's (nodata reads as NaN). */
function oneValue(values: Float32Array): boolean {
  const v = values[0];
  if (Number.isNaN(v)) return values.every(Number.isNaN);
  return values.every((x) => x === v);
}

/** The [chunk, byte within it, length] of each sample, in file order within chunks. */
function samplePlaces(counts: readonly number[]): [number, number, number][] {
  const places: [number, number, number][] = [];
  const jitter = (k: number) => ((k + 1) * GOLDEN) % 1;
  const size = counts[0] ?? 0;
  if (isUncompressed(counts)) {
    // Uncompressed: the image data as one run of equal chunks, sampled evenly along it.
    const total = size * counts.length;
    const k = Math.min(UNCOMPRESSED_SAMPLES, Math.ceil(total / SAMPLE_BYTES));
    for (let i = 0; i < k; i++) {
      const p = Math.floor(((i + jitter(i)) / k) * total);
      const chunk = Math.min(counts.length - 1, Math.floor(p / size));
      const at = Math.min(p - chunk * size, Math.max(0, size - SAMPLE_BYTES));
      places.push([chunk, at, Math.min(SAMPLE_BYTES, size - at)]);
    }
    return places;
  }
  // Spread evenly over the index: with sampled ≤ chunks each step moves at least one chunk on, so no chunk twice.
  const sampled = Math.min(COMPRESSED_SAMPLES, counts.length);
  for (let i = 0; i < sampled; i++) {
    const chunk = Math.floor(((i + 0.5) * counts.length) / sampled);
    const n = Math.min(SAMPLE_BYTES, counts[chunk]);
    if (n > 0) places.push([chunk, Math.floor(jitter(chunk) * (counts[chunk] - n + 1)), n]); // count 0: a sparse chunk, nothing stored
  }
  return places;
}

