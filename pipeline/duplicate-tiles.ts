/**
 * One tile given twice in a batch: which copy is used and how the others are named
 * (`TILE.DUPLICATE`), for the catalogue (`catalogue.ts`).
 */
import { basename, dirname } from 'node:path';
import type { TileInfo } from '../geo/tile-reader.js';
import { TubanError } from '../schemas/errors.js';
import type { RejectedInput } from './model.js';

/** A band file named by its band alone (`B02.tif`, as in a product folder), as the catalogue groups them. */
const PLAIN_BAND_FILE = /^[_\-.]?B(\d{2}|8A)\.tiff?$/i;

/**
 * A tile found twice (the same file names, sizes and grid: its id), say a copy in a subfolder, is
 * read once with a warning: counted twice it doubled its share of "tiles used" and of the observed
 * area. The same imagery under other names (`T50SMG (1).tif`; current tiles only, whose fingerprint
 * is taken) is read once too, and the other copy refused by name (`TILE.DUPLICATE`, exit 3): the
 * name may be another tile's, whose imagery is then missing from the month. The same names with
 * other pixels (an old delivery in `old/` beside a reprocessed one) are not one tile: the other is
 * refused too, both named. Tiles linked by either (a second delivery's bytes renamed as well: one
 * ground still) are one group, of which one is used: `preferredCopy`'s choice, never the input's
 * order. A blank tile has no fingerprint (every blank tile would share it): only its id tells.
 */
export function onceEach(tiles: TileInfo[], warnings: string[], rejected: RejectedInput[], fingerprinted: boolean): TileInfo[] {
  const sorted = [...tiles].sort(preferredCopy);
  const imageryOf = (t: TileInfo) => (fingerprinted ? t.fingerprint : undefined);
  // Groups of tiles sharing an id or imagery: one pass, merging the groups a tile links (B's id
  // links it to A, C's imagery to B); each group's first tile in preferred order is used.
  const group = new Map<string, string>();
  const root = (k: string): string => {
    const up = group.get(k) ?? k;
    return up === k ? k : root(up);
  };
  for (const t of sorted) {
    const keys = [`id ${t.id}`, ...(imageryOf(t) === undefined ? [] : [`imagery ${imageryOf(t)}`])];
    const roots = keys.map((k) => (group.has(k) ? root(k) : undefined)).filter((r) => r !== undefined);
    const first = roots[0] ?? keys[0];
    for (const k of [...keys, ...roots]) group.set(k, first);
  }
  const usedOf = new Map<string, TileInfo>();
  for (const t of sorted) if (!usedOf.has(root(`id ${t.id}`))) usedOf.set(root(`id ${t.id}`), t);

  for (const t of sorted) {
    const used = usedOf.get(root(`id ${t.id}`))!;
    if (used === t) continue;
    const subject = tileSubject(t);
    const [thisOne, usedName] = [`${whatOf(t)}, ${subject},`, tileSubject(used)];
    const refuse = (message: string) => rejected.push({ subject, error: new TubanError('TILE.DUPLICATE', message, subject).toJSON() });
    const sameImagery = imageryOf(t) !== undefined && imageryOf(t) === imageryOf(used);
    if (t.id === used.id && imageryOf(t) === imageryOf(used)) {
      warnings.push(`${t.files[0]}: the same tile as ${used.files[0]} (same file names, sizes and grid); ${used.files[0]} is read, this copy left out`);
    } else if (t.id === used.id) {
      refuse(
        `the same file names, sizes and grid as ${usedName} but other pixels (two deliveries of this tile?): ${usedName} is used and ${thisOne} is left out ` +
          `(of two copies the one whose name is not a copy's, then the shallower path, then the first in name order). ` +
          `Remove the delivery not wanted: if this one is the delivery wanted, remove ${usedName} and run again`,
      );
    } else if (sameImagery) {
      refuse(
        `the same imagery as ${usedName} (the same bytes under other file names), given twice in this batch: ${usedName} is used and ${thisOne} is left out ` +
          `(counted twice, it doubled the tiles used and the observed area). Remove ${subject}; if its name is another tile's, that tile's imagery is missing from the month: fetch it`,
      );
    } else {
      // Linked through a tile itself left out: the bytes of another delivery of the tile used, or
      // that delivery when its bytes came first under other names. One ground either way.
      const link = sorted.find((o) => o !== t && o !== used && (o.id === t.id || (imageryOf(t) !== undefined && imageryOf(o) === imageryOf(t))))!;
      const linkName = tileSubject(link);
      const how = link.id === t.id ? `the same file names, sizes and grid as ${linkName} but other pixels` : `the same imagery as ${linkName} (the same bytes under other file names)`;
      const rel = link.id === used.id ? `has the same file names as ${usedName} but other pixels` : imageryOf(link) === imageryOf(used) ? `is ${usedName}'s imagery under other names` : `is linked to ${usedName} (the same names or imagery as a tile linked to it)`;
      refuse(
        `${how}, and ${linkName} ${rel}: two deliveries of one ground in this batch. ${usedName} is used and ${thisOne} is left out ` +
          `(with ${usedName} it doubled the tiles used and the observed area). Remove the delivery not wanted (if this one is the delivery wanted, remove ${usedName}) and run again`,
      );
    }
  }
  return tiles.filter((t) => usedOf.get(root(`id ${t.id}`)) === t);
}

/**
 * What the analyst removes to leave a tile out: its file, its STAC item, or for per-band files the
 * whole set (removing only B02 left B03… to fail as TILE.BAND_MISMATCH the next run): the folder
 * when the files are plain `B02.tif`… (a product folder), else every file.
 */
function tileSubject(t: TileInfo): string {
  if (t.stacItem !== undefined || t.files.length === 1) return t.stacItem ?? t.files[0];
  return plainBandFolder(t) ?? t.files.join(', ');
}

function plainBandFolder(t: TileInfo): string | undefined {
  const dir = dirname(t.files[0]);
  return t.stacItem === undefined && t.files.length > 1 && t.files.every((f) => dirname(f) === dir && PLAIN_BAND_FILE.test(basename(f))) ? dir : undefined;
}

function whatOf(t: TileInfo): string {
  if (t.stacItem !== undefined) return 'this STAC item';
  if (t.files.length === 1) return 'this file';
  return plainBandFolder(t) === undefined ? 'these files' : 'this folder';
}

/**
 * Marks a file manager or a second download puts at the end of a copy's name, one or more
 * (`T50SMG - Copy (2)`): ` (1)`, `(1)` (never a year: `imagery (2026)` is no copy); GNOME's
 * ` (copy)`, ` (another copy)`, ` (3rd copy)`; `_copy`, ` - Copy`, ` copy 2` and Spanish/Italian
 * `copia`, Portuguese `cópia`, German/Dutch `Kopie`, French `Copie`, Russian `копия`, Japanese
 * `コピー`, Chinese `副本`, `拷贝`. Only at the end: `x_copy_y` is no copy.
 */
const COPY_MARK = String.raw`(?:\s?\([1-9]\d?\)|\s?\((?:another |\d{1,3}(?:st|nd|rd|th) )?copy\)|(?:\s-\s|[\s_.-])(?:copy|copia|cópia|kopie|copie|копия|コピー)(?:[\s_-]?\d{1,2})?|(?:\s-\s|[\s_-])?(?:副本|拷贝)(?:\s?\d{1,2})?)`;
/** A copy's name at its start: Windows XP's `Copy of T50SMG.tif`, `Copy (2) of …`, Chinese `复件 T50SMG.tif`. */
const COPY_PREFIX = String.raw`^(?:copy(?: \([1-9]\d?\))? of |复件 ?)`;
const COPY_FOLDER = new RegExp(`${COPY_PREFIX}|(?:${COPY_MARK})+$`, 'i');
/**
 * A file's name (less its extension) may also end in macOS Finder's "keep both" number, ` 2`
 * (after a space only, 2 to 99: product names end `_02_T1`, `_B02_10m`). Not a folder's: `Sentinel 2`,
 * `Landsat 8` are folders' real names.
 */
const COPY_FILE = new RegExp(`${COPY_PREFIX}|(?:${COPY_MARK}|\\s(?:[2-9]|[1-9]\\d))+$`, 'i');

/** Whether any file or folder name of the path is a copy's. */
function copyNamed(path: string): boolean {
  const parts = path.split(/[\\/]/);
  const file = parts.pop()!.replace(/\.[^.\s]+$/, '');
  return COPY_FILE.test(file) || parts.some((p) => COPY_FOLDER.test(p));
}

/**
 * Which of two copies of a tile is used: the one whose file and folder names are not a copy's, then
 * the shallower path (`T50SMG.tif` before `old/T50SMG.tif`), then the first in code-point order (not
 * the locale's, which varies by machine; not UTF-16 units either, which put U+1F600 before U+FF21).
 * The original is kept whatever the input's order, so the tile id (its base names) stays when the
 * copy is removed, and the month's batch with it.
 */
function preferredCopy(a: TileInfo, b: TileInfo): number {
  const rank = (t: TileInfo) => [copyNamed(t.files[0]) ? 1 : 0, t.files[0].split(/[\\/]/).length];
  const [ra, rb] = [rank(a), rank(b)];
  return ra[0] - rb[0] || ra[1] - rb[1] || byCodePoint(a.files[0], b.files[0]);
}

function byCodePoint(a: string, b: string): number {
  const [ca, cb] = [[...a], [...b]];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i].codePointAt(0)! - cb[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}
