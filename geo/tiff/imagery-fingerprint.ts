/**
 * A fingerprint of a TIFF's imagery, cheap on a full Sentinel-2 tile: its chunk byte counts (the
 * TileByteCounts/StripByteCounts the header reader loaded) and 4 KiB samples of its stored bytes
 * (samplePlaces). Two acquisitions of a tile compress to other byte counts, chunk for chunk; uncompressed,
 * every count is the same, and the sampled bytes tell them apart. Identical files, whatever their
 * names, dates or tags say, have the same fingerprint: an undated tile given again in a later month
 * is known by it (pipeline/batch/refiled-imagery.ts), where its date (the `--epoch`) says another.
 * Only the pixels' bytes count: a file whose tags alone changed (a date written in) keeps it.
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

/** The fingerprint of one file's imagery: 16 hex digits. */
export async function imageryFingerprint(file: Pick<GeoTiffFile, 'path' | 'chunks'>): Promise<string> {
  const { offsets, counts } = file.chunks;
  const h = createHash('sha1');
  h.update(`${counts.length}:${counts.join(',')}\n`);
  const places = samplePlaces(counts);
  const fh = await open(file.path, 'r');
  try {
    // Read a batch of places at once (one by one, 4096 reads took ~90 ms warm), hashed in order.
    const bufs = Array.from({ length: Math.min(READS_AT_ONCE, places.length) }, () => new Uint8Array(SAMPLE_BYTES));
    for (let start = 0; start < places.length; start += READS_AT_ONCE) {
      const batch = places.slice(start, start + READS_AT_ONCE);
      const read = await Promise.all(batch.map(([chunk, at, n], j) => fh.read(bufs[j], 0, n, offsets[chunk] + at)));
      batch.forEach(([chunk, at], j) => {
        h.update(`${chunk}:${at}:`);
        h.update(bufs[j].subarray(0, read[j].bytesRead));
      });
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex').slice(0, 16);
}

/** A tile's fingerprint from its files' (per-band files: in any order, as their content sorts). */
export async function tileFingerprint(files: readonly Pick<GeoTiffFile, 'path' | 'chunks'>[]): Promise<string> {
  const each = await Promise.all(files.map(imageryFingerprint));
  if (each.length === 1) return each[0];
  return createHash('sha1').update(each.sort().join('\n')).digest('hex').slice(0, 16);
}

/** The [chunk, byte within it, length] of each sample, in file order within chunks. */
function samplePlaces(counts: readonly number[]): [number, number, number][] {
  const places: [number, number, number][] = [];
  const jitter = (k: number) => ((k + 1) * GOLDEN) % 1;
  const size = counts[0] ?? 0;
  if (size > 0 && counts.every((c) => c === size)) {
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

