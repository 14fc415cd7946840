/**
 * A fingerprint of a TIFF's imagery, cheap on a full Sentinel-2 tile: its chunk byte counts (the
 * TileByteCounts/StripByteCounts the header reader loaded) and a slice of a few chunks' stored
 * bytes. Two acquisitions of a tile compress to other byte counts, chunk for chunk; uncompressed,
 * every count is the same, and the sampled bytes tell them apart. Identical files, whatever their
 * names, dates or tags say, have the same fingerprint: an undated tile given again in a later month
 * is known by it (pipeline/batch/refiled-imagery.ts), where its date (the `--epoch`) says another.
 * Only the pixels' bytes count: a file whose tags alone changed (a date written in) keeps it.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { GeoTiffFile } from './open-geotiff.js';

/** Chunks sampled, spread evenly over the chunk index, and the bytes read from the middle of each. */
const SAMPLED_CHUNKS = 16;
const SAMPLE_BYTES = 16 * 1024;

/** The fingerprint of one file's imagery: 16 hex digits. */
export async function imageryFingerprint(file: Pick<GeoTiffFile, 'path' | 'chunks'>): Promise<string> {
  const { offsets, counts } = file.chunks;
  const h = createHash('sha1');
  h.update(`${counts.length}:${counts.join(',')}\n`);
  const picks = new Set<number>();
  for (let k = 0; k < SAMPLED_CHUNKS && k < counts.length; k++) picks.add(Math.floor(((k + 0.5) * counts.length) / Math.min(SAMPLED_CHUNKS, counts.length)));
  const fh = await open(file.path, 'r');
  try {
    const buf = new Uint8Array(SAMPLE_BYTES);
    for (const i of [...picks].sort((a, b) => a - b)) {
      const n = Math.min(SAMPLE_BYTES, counts[i]);
      if (n <= 0) continue; // a sparse chunk: nothing stored
      const { bytesRead } = await fh.read(buf, 0, n, offsets[i] + Math.floor((counts[i] - n) / 2));
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
