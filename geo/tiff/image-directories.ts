/**
 * The image directories (IFDs) of a TIFF, walked once and classified by their NewSubfileType:
 * what open-geotiff.ts reads to find GDAL's internal mask, and an internal overview with its mask
 * for the map's low zooms (GeoTiffFile.readOverview).
 *
 * The walk ends at the last directory, or at the first one after the first that cannot be parsed
 * (a broken "next" link, a field type no TIFF has, an offset past the end of the file): GDAL reads
 * such a file, and so does Tuban, as one without the directories past that point. An I/O error on
 * the way (an errno of the file system: EIO of a failing disk, a network share that went away) is
 * no such file: whether it has a mask is unknown, so the walk throws and the tile is refused by
 * name — read as unmasked, its masked pixels would be taken for imagery.
 */
import type { fromFile } from 'geotiff';
import { TubanError } from '../../schemas/errors.js';

type GeoTiffHandle = Awaited<ReturnType<typeof fromFile>>;
type GeoTIFFImage = Awaited<ReturnType<GeoTiffHandle['getImage']>>;

/**
 * NewSubfileType bit 1 (reduced resolution) and bit 4 (transparency mask): `image` a full-resolution
 * image (the first, or another page), `overview` a reduced-resolution one, `mask` GDAL's internal
 * mask of the full image, `overview-mask` the mask of an overview.
 */
export type DirectoryKind = 'image' | 'overview' | 'mask' | 'overview-mask';

export interface TiffDirectory {
  /** 0 for the first directory. */
  readonly index: number;
  readonly kind: DirectoryKind;
  readonly image: GeoTIFFImage;
}

export interface TiffDirectories {
  readonly directories: TiffDirectory[];
  /** Where the chain broke (a malformed directory, read as the end), else null. */
  readonly brokenAt: { index: number; error: unknown } | null;
}

export function directoryKind(newSubfileType: number): DirectoryKind {
  const reduced = (newSubfileType & 1) !== 0;
  if ((newSubfileType & 4) !== 0) return reduced ? 'overview-mask' : 'mask';
  return reduced ? 'overview' : 'image';
}

/**
 * Why a directory could not be read: `io` where the error is the file system's (Node's errors of a
 * system call carry `syscall`, a numeric `errno` and an E… `code`: EIO, EISDIR, EBADF, ENOENT…),
 * `malformed` for anything the file's own bytes caused — geotiff.js's parse errors, a TypeError or
 * RangeError of a bogus offset or count, Node refusing an out-of-range read position
 * (ERR_OUT_OF_RANGE carries no syscall). A read past the end of a shorter file is no error at all
 * (zeros come back): it is malformed too, as what it parses to.
 */
export function directoryReadFailure(err: unknown): 'malformed' | 'io' {
  if (typeof err !== 'object' || err === null) return 'malformed';
  const e = err as { syscall?: unknown; errno?: unknown; code?: unknown };
  return typeof e.syscall === 'string' && typeof e.errno === 'number' && typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)
    ? 'io'
    : 'malformed';
}

/**
 * Every directory of `tiff` (the file `path`), first to last, up to a malformed one past the first.
 * Throws TILE.UNREADABLE naming `path` where a directory cannot be read for an I/O error, and the
 * first directory's own error where that one cannot be read (no image at all).
 */
export async function tiffDirectories(tiff: GeoTiffHandle, path: string): Promise<TiffDirectories> {
  const directories: TiffDirectory[] = [];
  // Where each directory read so far lies: a "next" link back to one of them is a loop (GDAL: "IFD
  // looping … treating directory N as last directory"), which geotiff.js would follow for ever.
  const seen = new Set<number>([tiff.firstIFDOffset]);
  for (let index = 0; ; index++) {
    if (index > 0) {
      const next = directories[index - 1].image.fileDirectory.nextIFDByteOffset;
      if (next !== 0 && seen.has(next)) {
        return { directories, brokenAt: { index, error: new Error(`directory ${index} links back to an earlier one (a loop)`) } };
      }
      seen.add(next);
    }
    let image: GeoTIFFImage;
    let type: number;
    try {
      image = await tiff.getImage(index);
      type = Number((await image.fileDirectory.loadValue('NewSubfileType')) ?? 0);
    } catch (err) {
      // geotiff.js's own "No image at index n" where the last directory's link is 0.
      if (index > 0 && directoryReadFailure(err) === 'malformed') {
        return { directories, brokenAt: isEndOfChain(err) ? null : { index, error: err } };
      }
      if (index === 0) throw err;
      throw new TubanError(
        'TILE.UNREADABLE',
        `its image directory ${index + 1} could not be read (${err instanceof Error ? err.message : String(err)}): an error of the disk or share it is on, ` +
          'not of the file, so whether it has a mask is unknown; check where it is stored and run again',
        path,
        { cause: err },
      );
    }
    // A "next" link past the end of a shorter file (one cut short, one whose link is garbage) reads
    // zeros: a directory of no entries, which no TIFF has. The end of the chain as well.
    if (index > 0 && !image.fileDirectory.hasTag('ImageWidth')) {
      return { directories, brokenAt: { index, error: new Error('a directory without ImageWidth (past the end of the file?)') } };
    }
    directories.push({ index, kind: directoryKind(type), image });
  }
}

function isEndOfChain(err: unknown): boolean {
  return err instanceof Error && /^No image at index \d+$/.test(err.message);
}
