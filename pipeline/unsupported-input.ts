/**
 * Inputs people have that Tuban does not read, recognised by name so the message says what they are
 * and how to convert them instead of "no TIFF files match".
 *
 * Sentinel-2 `.SAFE` products (folder or zip) hold their bands as JPEG 2000. A JPEG 2000 decoder
 * from npm (@cornerstonejs/codec-openjpeg 1.3.6, OpenJPEG in WebAssembly, 2 MB) decodes losslessly
 * but at 0.9–1.4 Mpx/s on one thread and only whole images: a 10980² band would take ~85–130 s and
 * ~0.5 GiB, four bands per epoch 6–9 min per tile, against seconds for the same data as deflate COG
 * read by window (measured 2026-12-04; see README "Common mistakes"). Converting once with GDAL is
 * the better deal, so these inputs are rejected with the command to run.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { startsWithTiffByteOrder } from '../geo/tiff/tiff-header.js';
import { TubanError } from '../schemas/errors.js';

const CONVERT =
  'Tuban reads GeoTIFF/COG. Convert each band once with GDAL, e.g. ' +
  '`gdal_translate -of COG GRANULE/*/IMG_DATA/R10m/*_B02_10m.jp2 T50SMF_20261005_B02.tif` for B02, B03, B04, B08 (and B11, B12 from R20m), ' +
  'then pass the folder of .tif files with --tiles (or one multiband file: `gdalbuildvrt -separate bands.vrt B02.jp2 B03.jp2 B04.jp2 B08.jp2` ' +
  'then `gdal_translate -of COG bands.vrt tile.tif`)';

/**
 * A TILE.FORMAT_UNSUPPORTED error when `path` is a kind of input Tuban recognises but does not read;
 * else null. `named`: the user gave this path (or a glob matching it); a zip met while searching a
 * folder is only reported when it looks like a Sentinel-2 product, other archives there are not tiles.
 */
export function unsupportedInput(path: string, isDirectory: boolean, named: boolean): TubanError | null {
  const name = basename(path);
  if (isDirectory && /\.SAFE$/i.test(name)) {
    return new TubanError('TILE.FORMAT_UNSUPPORTED', `a Sentinel-2 .SAFE product (JPEG 2000 bands). ${CONVERT}`, path);
  }
  if (isDirectory) return null;
  if (/\.zip$/i.test(name)) {
    const isSafe = /\.SAFE\.zip$|^S2[ABC]_MSI/i.test(name);
    if (!isSafe && !named) return null;
    const safe = isSafe ? 'a zipped Sentinel-2 .SAFE product (JPEG 2000 bands)' : 'a zip archive';
    return new TubanError('TILE.FORMAT_UNSUPPORTED', `${safe}: unzip it first (or read from it with GDAL's /vsizip/ path). ${CONVERT}`, path);
  }
  if (/\.(jp2|j2k)$/i.test(name)) return new TubanError('TILE.FORMAT_UNSUPPORTED', `a JPEG 2000 band file. ${CONVERT}`, path);
  // What GDAL users have at hand (the stack CONVERT itself builds, ENVI/ERDAS scenes): named, they
  // used to be read as TIFFs and rejected as "not a TIFF: the file does not start with II or MM".
  // In a folder they are not looked at (a .vrt beside its band files is the user's own).
  if (!named) return null;
  const other = /\.vrt$/i.test(name)
    ? 'a GDAL virtual raster (.vrt, XML naming other files)'
    : /\.(hdr|img)$/i.test(name)
      ? 'an ENVI or ERDAS Imagine raster'
      : !/\.(tiff?|json)$/i.test(name) && !startsLikeTiff(path) && enviHeaderBeside(path) // ENVI software writes a .hdr beside GeoTIFFs it opens too
        ? `an ENVI raster (its header ${enviHeaderBeside(path)} beside it)`
        : null;
  if (other) {
    const source = /\.hdr$/i.test(name) ? name.replace(/\.hdr$/i, '') : name;
    return new TubanError('TILE.FORMAT_UNSUPPORTED', `${other}. Tuban reads GeoTIFF/COG: write it out once with GDAL, e.g. \`gdal_translate -of COG ${source} ${source.replace(/\.[^.]*$/, '')}.tif\`, and pass the .tif`, path);
  }
  return null;
}

/** The ENVI header of a data file (`2003TM` beside `2003TM.HDR`, `scene.dat` beside `scene.hdr`), or null. */
function enviHeaderBeside(path: string): string | null {
  const stem = path.replace(/\.[^./\\]*$/, '');
  for (const base of [path, stem]) for (const ext of ['.hdr', '.HDR', '.Hdr']) if (base + ext !== path && existsSync(base + ext)) return basename(base + ext);
  return null;
}

/** A TIFF under another extension (`.gtif`, `.cog`): read as one, whatever lies beside it. */
function startsLikeTiff(path: string): boolean {
  const head = Buffer.alloc(2);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return startsWithTiffByteOrder(head.subarray(0, readSync(fd, head, 0, 2, 0)));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
