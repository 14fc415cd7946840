/**
 * The first bytes of a TIFF, checked before geotiff.js sees the file. geotiff.js follows a first-IFD
 * offset past the end of a cut file and reads zeros as tags, so a truncated GDAL file (which writes
 * its image directory after the pixels) came out as "unsupported sample type (format 1, 0 bits)".
 * Checking the offset against the file size gives the real reason, and keeps geotiff.js from
 * opening a descriptor it cannot close when its own header parse throws.
 */
import { open } from 'node:fs/promises';

export interface TiffHeader {
  littleEndian: boolean;
  bigTiff: boolean;
  /** Byte offset of the first image file directory. */
  firstIfd: number;
}

/** The byte-order mark every TIFF starts with, II or MM. */
export function startsWithTiffByteOrder(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === bytes[1] && (bytes[0] === 0x49 || bytes[0] === 0x4d);
}

/** Why the header is unusable, as a sentence for TILE.UNREADABLE; null when it is sound. */
export function headerProblem(bytes: Uint8Array, fileSize: number): string | null {
  if (bytes.length < 8) return `not a TIFF: the file is ${fileSize} bytes, shorter than a TIFF header`;
  if (!startsWithTiffByteOrder(bytes)) return 'not a TIFF: the file does not start with II or MM';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[0] === 0x49;
  const magic = view.getUint16(2, le);
  if (magic !== 42 && magic !== 43) return `not a TIFF: version ${magic}, expected 42 (TIFF) or 43 (BigTIFF)`;
  if (magic === 43 && bytes.length < 16) return 'not a TIFF: the BigTIFF header is cut short';
  const ifd = magic === 43 ? Number(view.getBigUint64(8, le)) : view.getUint32(4, le);
  // An IFD needs at least its entry count (2 or 8 bytes) inside the file.
  if (ifd + (magic === 43 ? 8 : 2) > fileSize) {
    return `truncated: the image directory at offset ${ifd} lies beyond the end of the file (${fileSize} bytes); copy or download the file again`;
  }
  if (ifd < 8) return `not a TIFF: the image directory offset ${ifd} points into the header`;
  return null;
}

/** Read and check the header of `path` (`fileSize` from stat); throws nothing, returns the problem. */
export async function checkTiffHeader(path: string, fileSize: number): Promise<string | null> {
  const fh = await open(path, 'r');
  try {
    const bytes = new Uint8Array(16);
    const { bytesRead } = await fh.read(bytes, 0, 16, 0);
    return headerProblem(bytes.subarray(0, bytesRead), fileSize);
  } finally {
    await fh.close();
  }
}
