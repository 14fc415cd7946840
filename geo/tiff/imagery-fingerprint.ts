/**
 * A fingerprint of a TIFF's imagery, cheap on a full Sentinel-2 tile: its chunk byte counts (the
 * TileByteCounts/StripByteCounts the header reader loaded) and slices of up to 256 chunks' stored
 * bytes. Two acquisitions of a tile compress to other byte counts, chunk for chunk; uncompressed,
 * every count is the same, and the sampled bytes tell them apart. Identical files, whatever their
 * names, dates or tags say, have the same fingerprint: an undated tile given again in a later month
 * is known by it (pipeline/batch/refiled-imagery.ts), where its date (the `--epoch`) says another.
 * Only the pixels' bytes count: a file whose tags alone changed (a date written in) keeps it.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { GeoTiffFile } from './open-geotiff.js';

/**
 * Chunks sampled, spread evenly over the chunk index, and the bytes read from each, at a place that
 * moves from chunk to chunk. Many small samples, not a few large ones: an uncompressed tile at a
 * swath's edge holds its pixels in a band of columns or chunks, and samples that all fell in its
 * nodata (each chunk's middle, or 16 chunks of 484) made two acquisitions one fingerprint.
 */
const SAMPLED_CHUNKS = 256;
const SAMPLE_BYTES = 4096;
/** The fractional parts of k·φ spread the place within the chunk over its whole length. */
const GOLDEN = 0.6180339887498949;

/** The fingerprint of one file's imagery: 16 hex digits. */
export async function imageryFingerprint(file: Pick<GeoTiffFile, 'path' | 'chunks'>): Promise<string> {
  const { offsets, counts } = file.chunks;
  const h = createHash('sha1');
  h.update(`${counts.length}:${counts.join(',')}\n`);
  const sampled = Math.min(SAMPLED_CHUNKS, counts.length);
  const picks = new Set<number>();
  for (let k = 0; k < sampled; k++) picks.add(Math.floor(((k + 0.5) * counts.length) / sampled));
  const fh = await open(file.path, 'r');
  try {
    const buf = new Uint8Array(SAMPLE_BYTES);
    for (const i of [...picks].sort((a, b) => a - b)) {
      const n = Math.min(SAMPLE_BYTES, counts[i]);
      if (n <= 0) continue; // a sparse chunk: nothing stored
      const at = Math.floor((((i + 1) * GOLDEN) % 1) * (counts[i] - n + 1));
      const { bytesRead } = await fh.read(buf, 0, n, offsets[i] + at);
      h.update(`${i}:`);
      h.update(buf.subarray(0, bytesRead));
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
