/**
 * Cataloguing input tiles: expand files / folders / simple globs, group Sentinel-2 per-band
 * files into one tile, read each tile's grid, bands, date and lon/lat footprint. Bad inputs are
 * reported by name (with their TubanError) instead of stopping the batch.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Polygon } from 'geojson';
import { BAND_NAMES, type BandName, type Grid } from '../geo/raster.js';
import { pixelSize, pixelToMap } from '../geo/raster.js';
import { LONLAT, transformer } from '../geo/crs.js';
import { openGeoTiff, parseIsoDate } from '../geo/tiff/open-geotiff.js';
import type { GeoTiffFile } from '../geo/tiff/open-geotiff.js';
import { tileFingerprint } from '../geo/tiff/imagery-fingerprint.js';
import type { RejectedInput } from './model.js';
import type { TileInfo } from '../geo/tile-reader.js';
import { TubanError, asTubanError } from '../schemas/errors.js';
import { dateFromName, parseUserDate, type TileDate } from './name-date.js';
import { isStacPath, readStacTiles, type StacTile } from './stac.js';
import { unsupportedInput } from './unsupported-input.js';
import { onceEach } from './duplicate-tiles.js';

export interface CatalogueOptions {
  /**
   * Band order of the samples in multiband files; default blue, green, red, nir. When given, it
   * also restricts which bands are read from per-band files and STAC items (`--bands`).
   */
  bands?: BandName[];
  /** `YYYY-MM-DD` or `YYYY-MM` for every tile, overriding tags and names (`--tiles-date`, `--prior-date`). */
  date?: string;
  /** `YYYY-MM` (the epoch) for tiles with no date at all; each use is a warning. */
  fallbackDate?: string;
  /**
   * Keep each tile's imagery fingerprint (the current tiles': TILE.ALREADY_FILED asks it; a prior's
   * is never asked), and refuse the same imagery given twice under other names, or the same names
   * with other pixels (`TILE.DUPLICATE`; the original used, `preferredCopy`).
   */
  fingerprint?: boolean;
}

export interface Catalogue {
  tiles: TileInfo[];
  rejected: RejectedInput[];
  warnings: string[];
}

type BandSource = { file: string; sample: number };
const DEFAULT_BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];
const S2_BANDS: Record<string, BandName> = { '02': 'blue', '03': 'green', '04': 'red', '08': 'nir', '11': 'swir1', '12': 'swir2' };
/**
 * Band descriptions (GDAL's, as `gdalinfo` shows them) that name a band: Sentinel-2 numbers and
 * plain or STAC common names. Landsat numbers are left out: B4 is red on Landsat 8/9 but nir on
 * Landsat 5/7 (SR_B4 likewise), which a description alone does not say.
 */
const DESCRIBED_BANDS: Record<string, BandName> = {
  b2: 'blue', b02: 'blue', blue: 'blue',
  b3: 'green', b03: 'green', green: 'green',
  b4: 'red', b04: 'red', red: 'red',
  b8: 'nir', b08: 'nir', nir: 'nir',
  b11: 'swir1', swir1: 'swir1', swir16: 'swir1',
  b12: 'swir2', swir2: 'swir2', swir22: 'swir2',
};
/**
 * Landsat band files as USGS delivers them, named by the Collection product id
 * (`LC08_L1TP_119038_20200105_20200113_02_T1_B4.TIF`, level 2 `…_SR_B4.TIF`): the id says the
 * sensor, and with it what a band number means. Landsat 8/9 (OLI) B2…B7 are blue, green, red, nir,
 * swir1, swir2; Landsat 4/5 (TM) and 7 (ETM+) B1…B5, B7 are the same six (B4 is red on one, nir on
 * the other). Panchromatic B8, thermal (B6, B10, B11, ST_B10), QA and angle files of the scene are
 * not tiles. Only a full product id is read so: a file renamed by hand says nothing of its sensor.
 */
const LANDSAT_FILE = /^(L[COTE]0([4-9])_[A-Z0-9]{4}_\d{6}_\d{8}_\d{8}_\d{2}_[A-Z0-9]{2})_(.+)\.tiff?$/i;
const LANDSAT_SCENE_FILE = /^((SR|ST)_)?(B\d{1,2}|B6_VCID_[12]|QA\w*|[SV][AZ]A|ATRAN|CDIST|DRAD|EMIS|EMSD|TRAD|URAD|ANG)$/i;
const LANDSAT_BANDS: Record<'oli' | 'tm', Record<string, BandName>> = {
  oli: { '2': 'blue', '3': 'green', '4': 'red', '5': 'nir', '6': 'swir1', '7': 'swir2' },
  tm: { '1': 'blue', '2': 'green', '3': 'red', '4': 'nir', '5': 'swir1', '7': 'swir2' },
};

/** The band (or null: another file of the scene) and group key of a Landsat product file; undefined when `name` is not one. */
function landsatBand(name: string): { band: BandName | null; key: string } | undefined {
  const m = LANDSAT_FILE.exec(name);
  if (!m || !LANDSAT_SCENE_FILE.test(m[3])) return undefined;
  const level = /^SR_/i.test(m[3]) ? 'SR_' : '';
  const number = /^(?:SR_)?B(\d{1,2})$/i.exec(m[3])?.[1];
  const table = Number(m[2]) >= 8 ? LANDSAT_BANDS.oli : LANDSAT_BANDS.tm;
  return { band: number === undefined ? null : table[number] ?? null, key: `${m[1]}_${level}` };
}

/**
 * `…_B02.tif`, `B02.tif`, `…-B8A.tiff`: the band part of a Sentinel-2 per-band file name; L2A's names
 * carry the band's resolution (`T31UDQ_20170829T105019_B02_10m.tif`, R20m's `…_B02_20m.tif`).
 */
const S2_FILE = /(^|[_\-.])B(\d{2}|8A)(?:_(10|20|60)m)?\.tiff?$/i;
/**
 * The other rasters of a Sentinel-2 product's IMG_DATA, converted along with its bands: the true-colour
 * preview (TCI, L1C and L2A) and L2A's aerosol, water-vapour and scene-classification layers. Beside
 * band files of the same name they are not tiles (read as tiles, each was a rejected 1- or 3-band image:
 * exit 3, and its footprint counted as not observed over the ground its own bands observed).
 */
const S2_PRODUCT_EXTRA = /(^|[_\-.])(TCI|AOT|WVP|SCL)(?:_(10|20|60)m)?\.tiff?$/i;
const TIFF_FILE = /\.tiff?$/i;
/** An L2A product's resolution folders (IMG_DATA/R10m, R20m, R60m), converted as they are: one granule's. */
const RESOLUTION_FOLDER = /^R(10|20|60)m$/i;

/** The folder a Sentinel-2 band file is grouped by: its own, less a trailing R10m/R20m/R60m (split by folder, R10m was a 4-band tile and R20m rejected). */
function granuleDir(f: string): string {
  const dir = dirname(f);
  return RESOLUTION_FOLDER.test(basename(dir)) ? dirname(dir) : dir;
}

/** Whether a TCI/AOT/WVP/SCL file is the product's: 1 band (TCI: 3 bands of 8 bits). A file that cannot be opened is read, and refused by its error. */
async function looksLikeSideFile(path: string, kind: string): Promise<boolean> {
  try {
    const f = await openGeoTiff(path);
    try {
      return kind === 'TCI' ? f.samplesPerPixel === 3 && f.dtype === 'uint8' : f.samplesPerPixel === 1;
    } finally {
      await f.close();
    }
  } catch {
    return false;
  }
}

async function walk(dir: string, out: string[], rejected: RejectedInput[], seen = new Set<string>()): Promise<void> {
  // A folder reached again through a link (`up -> ..`, a link to a folder already walked) adds
  // nothing and, followed, loops until the system refuses (~40 levels, every tile found each time).
  const id = await stat(dir).then((s) => `${s.dev}:${s.ino}`, () => dir);
  if (seen.has(id)) return;
  seen.add(id);
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    // Symlinked files and folders count too (staged inputs, mounted archives): follow them with stat.
    const kind = e.isSymbolicLink() ? await stat(p).then((s) => (s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other'), () => 'dangling') : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
    if (kind === 'dangling') {
      // A staged tile whose target is gone (or a link loop) is a tile missing from the month: say so.
      if (TIFF_FILE.test(e.name) || isStacPath(e.name)) {
        rejected.push({ subject: p, error: new TubanError('INPUT.NOT_FOUND', 'a symbolic link to a file that does not exist (or a loop of links)', p).toJSON() });
      }
      continue;
    }
    const unsupported = kind === 'other' ? null : unsupportedInput(p, kind === 'dir', false);
    if (unsupported) rejected.push({ subject: p, error: unsupported.toJSON() });
    else if (kind === 'dir') await walk(p, out, rejected, seen);
    else if (kind === 'file' && (TIFF_FILE.test(e.name) || isStacPath(e.name))) out.push(p);
  }
}

function globRegex(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/**
 * Expand inputs to TIFF and STAC JSON paths; inputs that match nothing are rejected as INPUT.NOT_FOUND.
 * `named` holds the paths the user named (directly or by glob), as opposed to found in a folder.
 */
async function expand(inputs: string[], rejected: RejectedInput[], named: Set<string>): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const before = files.length;
    const rejectedBefore = rejected.length;
    let missing = false;
    try {
      if (/[*?]/.test(basename(input))) {
        const dir = dirname(input);
        const re = globRegex(basename(input));
        for (const name of (await readdir(dir)).sort()) {
          if (!re.test(name)) continue;
          const p = join(dir, name);
          const unsupported = unsupportedInput(p, (await stat(p)).isDirectory(), true);
          if (unsupported) rejected.push({ subject: p, error: unsupported.toJSON() });
          else {
            files.push(p);
            named.add(resolve(p));
          }
        }
      } else {
        const s = await stat(input);
        const unsupported = unsupportedInput(input, s.isDirectory(), true);
        if (unsupported) rejected.push({ subject: input, error: unsupported.toJSON() });
        else if (s.isDirectory()) await walk(input, files, rejected);
        else {
          files.push(input);
          named.add(resolve(input));
        }
      }
    } catch (err) {
      // reported as not found below; a path that is not there is said so plainly
      missing = ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');
    }
    // Nothing found and nothing already reported by name (a .SAFE product, a zip): not found.
    if (files.length === before && rejected.length === rejectedBefore) {
      const why = missing ? 'does not exist' : 'no TIFF files or STAC items (.json) match this input';
      rejected.push({ subject: input, error: new TubanError('INPUT.NOT_FOUND', why, input).toJSON() });
    }
  }
  return [...new Set(files.map((f) => resolve(f)))];
}

/** Acquisition date from a dates.txt beside the file (or its parent), when the choice is unambiguous. */
async function sidecarDate(file: string): Promise<string | null> {
  const dir = dirname(file);
  for (const candidate of [join(dir, 'dates.txt'), join(dirname(dir), 'dates.txt')]) {
    let text: string;
    try {
      text = await readFile(candidate, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    const dates = lines.map((l) => parseIsoDate(l)).filter((d): d is string => d !== null);
    if (dates.length === 1) return dates[0];
    // OSCD layout: `date_1: 20150704` / `date_2: …` beside imgs_1/ and imgs_2/.
    const n = /_(\d+)$/.exec(basename(dir))?.[1];
    if (n) {
      const line = lines.find((l) => new RegExp(`^date_?${n}\\s*[:=]`, 'i').test(l));
      const d = line ? parseIsoDate(line.split(/[:=]/).slice(1).join(':')) : null;
      if (d) return d;
    }
  }
  return null;
}

const DATE_MISSING = 'no acquisition date in TIFF tags, dates.txt or file name';

/**
 * Date of a tile: TIFF tags, else a dates.txt beside it, else its file name (name-date.ts has the
 * rules, month-precision names included). The sidecar goes before the name because names such as
 * OSCD's `S2A_OPER_…_20160809T015434_…` carry the processing date, not the acquisition date, while
 * a dates.txt is a deliberate statement. A tag that names no acquisition (the TIFF DateTime tag, by
 * the TIFF spec when the file was written: a clipped or converted copy gets the day it was made)
 * gives way to a dates.txt or a file name that says another day (another month for a month's
 * name), with a warning naming both: read first, it filed a tile under the day it was clipped
 * (后时相 wrong, exit 0), or rejected a prior clipped after its tile as "not earlier".
 */
async function tileDate(files: GeoTiffFile[], warnings: string[]): Promise<TileDate | null> {
  for (const f of files) if (f.date && f.dateIsAcquisition) return { date: f.date, precision: 'day' };
  const tagged = files.find((f) => f.date);
  const fromSidecar = await sidecarDate(files[0].path);
  let stated: { date: TileDate; from: string } | null = fromSidecar ? { date: { date: fromSidecar, precision: 'day' }, from: 'its dates.txt' } : null;
  for (const f of files) {
    if (stated) break;
    const d = dateFromName(basename(f.path));
    if (d) stated = { date: d, from: `its file name ${basename(f.path)}` };
  }
  if (tagged?.date) {
    const tag: TileDate = { date: tagged.date, precision: 'day' };
    if (!stated) return tag;
    const agrees = stated.date.precision === 'day' ? stated.date.date === tag.date : stated.date.date.slice(0, 7) === tag.date.slice(0, 7);
    if (agrees) return tag;
    const said = stated.date.precision === 'day' ? stated.date.date : stated.date.date.slice(0, 7);
    warnings.push(
      `${tagged.path}: its TIFF date tag (DateTime or a DATE/TIME metadata item) says ${tag.date}, ${stated.from} says ${said}; dated ${said}: ` +
        'such a tag is usually when the file was written (a clipped or converted copy), not acquired; pass --tiles-date / --prior-date if the tag is right',
    );
    return stated.date;
  }
  return stated?.date ?? null;
}

/** The grid's outline in lon/lat, 16 points per edge so curved edges of a reprojection survive. */
export function footprintLonLat(grid: Grid, perEdge = 16): Polygon {
  const toLonLat = transformer(grid.crs, LONLAT);
  const { width: w, height: h } = grid;
  const corners: [number, number][] = [[0, 0], [0, h], [w, h], [w, 0]];
  const ring: [number, number][] = [];
  for (let e = 0; e < 4; e++) {
    const [c0, r0] = corners[e];
    const [c1, r1] = corners[(e + 1) % 4];
    for (let k = 0; k < perEdge; k++) {
      const f = k / perEdge;
      const [x, y] = pixelToMap(grid.transform, c0 + (c1 - c0) * f, r0 + (r1 - r0) * f);
      ring.push(toLonLat(x, y));
    }
  }
  ring.push([...ring[0]]);
  // Counter-clockwise exterior ring (RFC 7946); a south-up grid would give a clockwise one.
  let area2 = 0;
  for (let i = 0; i + 1 < ring.length; i++) area2 += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  if (area2 < 0) ring.reverse();
  return { type: 'Polygon', coordinates: [ring] };
}

/** The footprint of a rejected tile whose header was read (the finest grid's), else nothing. */
function footprintOf(grids: readonly Grid[]): { footprint?: Polygon } {
  if (grids.length === 0) return {};
  try {
    const footprint = footprintLonLat(grids.reduce((a, b) => (pixelSize(b) < pixelSize(a) ? b : a)));
    return onGlobe(footprint) ? { footprint } : {}; // off the globe: no ground to name
  } catch {
    return {}; // a grid whose CRS cannot be transformed has no footprint to give
  }
}

/** Metres under a lon/lat CRS tag put a tile's corners off the globe. */
function onGlobe(footprint: Polygon): boolean {
  return footprint.coordinates[0].every(([lon, lat]) => Math.abs(lon) <= 180 && Math.abs(lat) <= 90);
}

/**
 * What the files' own radiometry a `.aux.xml` sidecar changed counts too (a tag that changes it
 * changes the file's size): the same TIFF read another way is another tile, and another batch.
 */
async function tileId(files: GeoTiffFile[], grid: Grid): Promise<string> {
  const h = createHash('sha1');
  const entries = await Promise.all(files.map(async (f) => `${basename(f.path)}:${(await stat(f.path)).size}${f.sidecarRadiometry === null ? '' : `:${f.sidecarRadiometry}`}`));
  for (const e of entries.sort()) h.update(`${e}\n`);
  h.update(JSON.stringify([grid.width, grid.height, grid.transform, grid.crs]));
  return h.digest('hex').slice(0, 16);
}

interface DateChoice {
  /** The user's date for every tile of this side (wins over everything). */
  override: TileDate | null;
  fallback: TileDate | null;
  fallbackText?: string;
  warnings: string[];
}

async function describeTile(files: GeoTiffFile[], bands: TileInfo['bands'], dates: DateChoice, fingerprint: boolean, stac?: StacTile): Promise<TileInfo> {
  const finest = files.reduce((a, b) => (pixelSize(b.grid) < pixelSize(a.grid) ? b : a));
  const paths = files.map((f) => f.path);
  let date = dates.override ?? stac?.date ?? (await tileDate(files, dates.warnings));
  if (!date && dates.fallback) {
    date = dates.fallback;
    dates.warnings.push(`${stac?.item ?? paths[0]}: ${DATE_MISSING}; dated by the epoch ${dates.fallbackText} (pass --tiles-date to set it)`);
  }
  if (!date) throw new TubanError('TILE.DATE_MISSING', `${DATE_MISSING}; name the file like after-2026-10.tif or pass --tiles-date / --prior-date`, paths[0]);
  const footprint = footprintLonLat(finest.grid);
  if (!onGlobe(footprint)) {
    const [x, y] = footprint.coordinates[0][0];
    throw new TubanError('TILE.CRS_UNSUPPORTED', `its corner falls off the globe in ${finest.grid.crs} (${x}, ${y}): coordinates in metres under a lon/lat CRS tag? Set the file's true CRS (gdal_edit.py -a_srs EPSG:n)`, paths[0]);
  }
  // A blank tile's (all nodata, or constant) tells nothing of its acquisition: none is kept.
  const print = fingerprint ? await tileFingerprint(files) : undefined;
  return {
    id: await tileId(files, finest.grid),
    ...(print ? { fingerprint: print } : {}),
    files: paths,
    bands,
    grid: finest.grid,
    date: date.date,
    datePrecision: date.precision,
    footprint,
    dtype: finest.dtype,
    nodata: finest.nodata,
    ...(stac ? { stacItem: stac.item, ...(stac.cloudCover !== undefined ? { cloudCover: stac.cloudCover } : {}) } : {}),
  };
}

/** `grids` collects each file's grid as it opens: a tile rejected after a header was read still has a footprint. */
async function withFiles<T>(paths: string[], fn: (files: GeoTiffFile[]) => Promise<T>, grids: Grid[] = []): Promise<T> {
  const opened: GeoTiffFile[] = [];
  try {
    for (const p of paths) opened.push(await openGeoTiff(p, { onGrid: (g) => grids.push(g) }));
    return await fn(opened);
  } finally {
    await Promise.all(opened.map((f) => f.close()));
  }
}

/**
 * Catalogue input tiles. `inputs` are files, folders (searched recursively for *.tif/*.tiff and
 * STAC *.json) or simple globs in the last path segment (`dir/*.tif`, `items/*.json`).
 * Sentinel-2 per-band files (`…_B02.tif` or plain `B02.tif`) sharing a folder and name prefix form
 * one tile on the grid of its finest band; a STAC item (or each item of an ItemCollection) forms
 * one tile from its assets (stac.ts); other files are multiband tiles whose samples are
 * `opts.bands` in order. When `opts.bands` is given, per-band files and STAC assets of other bands
 * are not read.
 */
export async function catalogueTiles(inputs: string[], opts: CatalogueOptions = {}): Promise<Catalogue> {
  const wanted = opts.bands ?? DEFAULT_BANDS;
  const keep = (b: BandName) => opts.bands === undefined || opts.bands.includes(b);
  const rejected: RejectedInput[] = [];
  const warnings: string[] = [];
  const tiles: TileInfo[] = [];
  const dates: DateChoice = {
    override: opts.date === undefined ? null : userDate(opts.date, '--tiles-date/--prior-date'),
    fallback: opts.fallbackDate === undefined ? null : userDate(opts.fallbackDate, '--epoch'),
    fallbackText: opts.fallbackDate,
    warnings,
  };
  const named = new Set<string>();
  const found = await expand(inputs, rejected, named);

  // STAC items first: the files their assets name are tiles of the item, not tiles of their own.
  const stacTiles: StacTile[] = [];
  for (const json of found.filter(isStacPath)) {
    const read = await readStacTiles(json);
    // A folder may hold other JSON (product metadata): only files named on the command line must be STAC.
    if (!named.has(json)) {
      read.rejected = read.rejected.filter((r) => !/not a STAC Item/.test(r.error.message));
    }
    rejected.push(...read.rejected);
    warnings.push(...read.warnings);
    stacTiles.push(...read.tiles);
  }
  const usedByStac = new Set(stacTiles.flatMap((t) => [...t.bands.values()].map((b) => b.file)));
  const files = found.filter((f) => !isStacPath(f) && !usedByStac.has(f));
  const groups = new Map<string, Map<BandName, BandSource>>();
  const resolutionOf = new Map<string, number>();
  const multiband: string[] = [];
  const extras: { file: string; key: string; kind: string }[] = [];
  const namings = new Map<string, Map<boolean, string>>();
  const narrowNir = new Map<string, string>();
  for (const f of files) {
    const landsat = landsatBand(basename(f));
    if (landsat) {
      if (!landsat.band || !keep(landsat.band)) continue; // panchromatic, thermal, QA… and bands not asked for
      const key = join(dirname(f), landsat.key);
      if (!groups.has(key)) groups.set(key, new Map());
      groups.get(key)!.set(landsat.band, { file: f, sample: 0 });
      continue;
    }
    const m = S2_FILE.exec(basename(f));
    if (!m) {
      const extra = S2_PRODUCT_EXTRA.exec(basename(f));
      if (extra) extras.push({ file: f, key: join(granuleDir(f), basename(f).slice(0, extra.index)), kind: extra[2].toUpperCase() });
      else multiband.push(f);
      continue;
    }
    const band = S2_BANDS[m[2].toUpperCase()];
    const key = join(granuleDir(f), basename(f).slice(0, m.index));
    if (m[2].toUpperCase() === '8A') narrowNir.set(key, f);
    if (!band || !keep(band)) continue; // coastal, red-edge, water-vapour… and bands not asked for
    if (!groups.has(key)) groups.set(key, new Map());
    // L1C names its bands …_B02.tif, L2A …_B02_10m.tif, with one granule prefix: both in one folder, the
    // L1C file (no suffix) beat the L2A one and a tile mixed top-of-atmosphere and surface reflectance.
    if (!namings.has(key)) namings.set(key, new Map());
    if (!namings.get(key)!.has(m[3] === undefined)) namings.get(key)!.set(m[3] === undefined, f);
    // An L2A product's R10m, R20m and R60m folders converted into one give B02 three times: the finest is read.
    const metres = Number(m[3] ?? 0);
    const had = groups.get(key)!.get(band);
    if (had && (resolutionOf.get(had.file) ?? 0) <= metres) continue;
    resolutionOf.set(f, metres);
    groups.get(key)!.set(band, { file: f, sample: 0 });
  }
  // A TCI.tif (or SCL…) with no band files beside it is what it is: a file to read, and refuse by its bands.
  // Beside band files it is left out only when it is what the product's is (1 band; TCI 3 bands of 8 bits):
  // a user's own 4-band SCL.tif or TCI.tif was left out by its name alone, with no word.
  for (const { file, key, kind } of extras) {
    if (groups.has(key) && (await looksLikeSideFile(file, kind))) continue;
    multiband.push(file);
  }

  const perBandTile = async (byBand: Map<BandName, BandSource>, what: string, stac?: StacTile, b8a?: string, naming?: Map<boolean, string>): Promise<void> => {
    const paths = [...new Set([...byBand.values()].map((b) => b.file))].sort();
    const subject = stac?.item ?? paths[0];
    const grids: Grid[] = [];
    try {
      const refusal = bandRefusal();
      if (refusal) {
        // The files it has still say where its ground is: without a footprint, a tile refused before it
        // was read (a band file missing, two products mixed) was left out of not-observed.geojson
        // ("not observable 0.0 %" with the tile unread).
        await withFiles(paths, async () => undefined, grids).catch(() => undefined);
        throw refusal;
      }
      if (stac) {
        for (const [band, src] of stac.bands) {
          if (!byBand.has(band)) continue;
          const there = await stat(src.file).then((st) => st.isFile(), () => false);
          if (!there) throw new TubanError('INPUT.NOT_FOUND', `asset '${src.asset}' (${band}): file ${src.file} does not exist (href '${src.href}', relative hrefs are read from the item's folder)`, subject);
        }
      }
      tiles.push(
        await withFiles(paths, async (opened) => {
          const crs = opened[0].grid.crs;
          const odd = opened.find((f) => f.grid.crs !== crs);
          if (odd) throw new TubanError('TILE.BAND_MISMATCH', `band files disagree on CRS (${odd.grid.crs} vs ${crs})`, odd.path);
          const byPath = new Map(opened.map((f) => [f.path, f]));
          const bands: TileInfo['bands'] = {};
          for (const [band, { file, sample }] of byBand) {
            const spp = byPath.get(file)!.samplesPerPixel;
            if (sample >= spp) throw new TubanError('TILE.BAND_MISMATCH', `${band} is sample ${sample + 1} of ${file}, which has ${spp}`, subject);
            bands[band] = { file, sample };
          }
          return describeTile(opened, bands, dates, opts.fingerprint ?? false, stac);
        }, grids),
      );
    } catch (err) {
      const e = asTubanError(err, subject);
      rejected.push({ subject: stac ? subject : e.subject ?? subject, error: e.toJSON(), ...footprintOf(grids) });
    }

    /** Why the files cannot be one tile, before any is read: two products' band files mixed, or a band missing. */
    function bandRefusal(): TubanError | undefined {
      if (naming?.size === 2) {
        const [l1c, l2a] = [basename(naming.get(true)!), basename(naming.get(false)!)];
        return new TubanError(
          'TILE.BAND_MISMATCH',
          `${what} mix the band files of two products of one granule: ${l1c} (no resolution in its name: L1C, top of atmosphere) and ${l2a} (L2A, surface reflectance); ` +
            `one tile does not mix them: keep one product's band files here and move the other's to a folder of its own (a prior and a current month read from one product level)`,
          subject,
        );
      }
      const missing = wanted.filter((b) => !byBand.has(b));
      if (missing.length === 0) return undefined;
      const skipped = stac?.skipped.length ? ` (skipped: ${stac.skipped.join('; ')})` : '';
      // An L2A product's R20m folder has B8A and no B08: say why the nir band there is not taken.
      const narrow = b8a && missing.includes('nir')
        ? ` (${basename(b8a)} is B8A, the narrow nir band, not read as nir: B08 is; convert the product's B08, in R10m for L2A, into this folder beside the other bands)`
        : '';
      return new TubanError('TILE.BAND_MISMATCH', `${what} lack ${missing.join(', ')}${narrow}${skipped}`, subject);
    }
  };

  for (const [key, byBand] of groups) await perBandTile(byBand, `per-band files ${key}*`, undefined, narrowNir.get(key), namings.get(key));
  for (const item of stacTiles) {
    const byBand = new Map<BandName, BandSource>([...item.bands].filter(([b]) => keep(b)).map(([b, v]) => [b, { file: v.file, sample: v.sample }]));
    await perBandTile(byBand, `STAC item ${item.id}: assets`, item);
  }

  for (const path of multiband) {
    const grids: Grid[] = [];
    try {
      tiles.push(await withFiles([path], async ([f]) => describeTile([f], multibandBands(f, opts.bands, warnings), dates, opts.fingerprint ?? false), grids));
    } catch (err) {
      const e = asTubanError(err, path);
      rejected.push({ subject: path, error: e.toJSON(), ...footprintOf(grids) });
    }
  }
  tiles.sort((a, b) => a.files[0].localeCompare(b.files[0]));
  return { tiles: onceEach(tiles, warnings, rejected, opts.fingerprint ?? false), rejected, warnings };
}

/**
 * Which sample of a multiband file is which band. Band descriptions that name every band asked
 * for (all of `asked`; without `--bands`, every band they name, at least blue, green, red, nir) are
 * followed; else a file with exactly as many bands as asked is read in that order (`--bands`,
 * default blue, green, red, nir). A file with more bands and no such descriptions is rejected:
 * taking its first four would read a 13-band Sentinel-2 stack's coastal band as blue.
 */
function multibandBands(f: GeoTiffFile, asked: BandName[] | undefined, warnings: string[]): TileInfo['bands'] {
  const wanted = asked ?? DEFAULT_BANDS;
  // An alpha sample (gdalwarp -dstalpha) is the file's mask, not a band: counted, a 6-band file with
  // one was "7 bands, no band descriptions say which is which" and rejected.
  const spp = f.samplesPerPixel - (f.alphaSample === null ? 0 : 1);
  if (f.alphaIgnored) warnings.push(`${f.path}: band ${f.samplesPerPixel} is flagged alpha (TIFF ExtraSamples) but read as a band: ${f.alphaIgnored}`);
  const descs = f.bandDescriptions.slice(0, spp).map((d) => d ?? '');
  const keys = descs.map((d) => d.toLowerCase().replace(/[\s_-]/g, ''));
  // Landsat stacks numbered B1…: 8/9 with thermal B10 and no B12 or B8A, 7 with thermal B6_VCID_1/2.
  // There B8 is panchromatic and B11 thermal, so their numbers are not read as Sentinel-2's.
  const landsat = (keys.includes('b10') && !keys.includes('b12') && !keys.includes('b8a')) || keys.some((k) => /^b6(vcid)?[12]$/.test(k));
  const bySample = keys.map((k) => (landsat && /^b\d/.test(k) ? null : DESCRIBED_BANDS[k] ?? null));
  const byDesc = new Map<BandName, number>();
  const twice = new Set<BandName>();
  bySample.forEach((b, k) => {
    if (!b) return;
    if (byDesc.has(b)) twice.add(b);
    byDesc.set(b, k);
  });
  for (const b of twice) byDesc.delete(b); // two samples called 'nir': neither is taken on trust
  const described = asked ?? BAND_NAMES.filter((b) => byDesc.has(b));
  const take = (names: BandName[], sample: (b: BandName, k: number) => number): TileInfo['bands'] => {
    const bands: TileInfo['bands'] = {};
    names.forEach((b, k) => (bands[b] = { file: f.path, sample: sample(b, k) }));
    return bands;
  };
  if (DEFAULT_BANDS.every((b) => described.includes(b)) && described.every((b) => byDesc.has(b))) {
    if (spp === wanted.length && wanted.some((b, k) => byDesc.get(b) !== k)) {
      const order = wanted.map((b) => `${b}=${descs[byDesc.get(b)!]}`).join(', ');
      warnings.push(`${f.path}: bands taken by their descriptions (${order}), not in the order ${wanted.join(', ')}`);
    }
    return take(described, (b) => byDesc.get(b)!);
  }
  if (spp === wanted.length) return colourOrder(f, wanted, asked !== undefined, warnings) ?? take(wanted, (_, k) => k);
  const named = `${wanted.length} named (${wanted.join(', ')})`;
  if (spp < wanted.length) {
    const short = spp < DEFAULT_BANDS.length
      ? `; Tuban needs at least ${DEFAULT_BANDS.slice(0, -1).join(', ')} and nir: a ${spp}-band ${spp === 3 ? 'RGB ' : ''}image (a web-map or drone download) has no nir, without which vegetation and water changes cannot be told apart, and is not read`
      // Four or five bands under a --bands of six (a 4-band stack as the prior of Sentinel-2 band files): say what to do.
      : `; --bands names bands this file does not have: leave --bands out (the bands both epochs have are used) or name only the file's ${spp}, e.g. --bands ${wanted.slice(0, spp).join(',')}`;
    throw new TubanError('TILE.BAND_MISMATCH', `file has ${spp} bands, ${named}${short}`, f.path);
  }
  const said = descs.some(Boolean)
    ? `its band descriptions (${descs.map((d) => d || '-').join(', ')}) do not name ${wanted.filter((b) => !byDesc.has(b)).join(', ')}${landsat ? ' (Landsat band numbers are not read: B4 is red on Landsat 8/9, nir on Landsat 5/7)' : ''}`
    : 'no band descriptions say which is which';
  const picks = wanted.map((b) => `-b <${b}>`).join(' ');
  throw new TubanError(
    'TILE.BAND_MISMATCH',
    `file has ${spp} bands, ${named}, and ${said}; rather than guess, write the ${wanted.length} bands in that order ` +
      `(gdal_translate ${picks} in.tif out.tif, band numbers from 1) or describe the bands (B2, B3, B4, B8 or blue, green, red, nir)` +
      // A 6-band file may well be in Tuban's own band order: one flag says so.
      (spp === BAND_NAMES.length ? `; if its bands are ${BAND_NAMES.join(', ')} in that order, say so: --bands ${BAND_NAMES.join(',')}` : ''),
    f.path,
  );
}

const PHOTOMETRIC_RGB = 2;
const RGB: BandName[] = ['red', 'green', 'blue'];

/**
 * A file whose TIFF says its first three samples are red, green, blue (photometric RGB): a true-colour
 * stack (bands 4, 3, 2, 8), read in the default band order, had red and blue swapped with no word. Its other
 * samples keep `--bands` order. Not for 8-bit files: GDAL makes every 3- or 4-band Byte file it creates
 * RGB, whatever its bands hold (a BGRN GF-2 export too), so there the tag says nothing.
 */
function colourOrder(f: GeoTiffFile, wanted: BandName[], askedFor: boolean, warnings: string[]): TileInfo['bands'] | null {
  if (f.photometric !== PHOTOMETRIC_RGB || f.dtype === 'uint8' || !RGB.every((b) => wanted.includes(b))) return null;
  const rest = wanted.filter((b) => !RGB.includes(b));
  const sample = (b: BandName) => (RGB.includes(b) ? RGB.indexOf(b) : RGB.length + rest.indexOf(b));
  if (wanted.every((b, k) => sample(b) === k)) return null; // the order asked is the file's: nothing to say
  // `--bands` given in another order: either the tag is stale (a BGRN file converted to 16 bits
  // keeps GDAL's RGB) or the flag was typed as usual (it names the bands of every file): which one,
  // the file must say, not a guess that swaps red and blue.
  if (askedFor) {
    throw new TubanError(
      'TILE.BAND_MISMATCH',
      `--bands says ${wanted.join(', ')}, but the TIFF says its bands 1-3 are red, green, blue (photometric RGB) and names no bands: ` +
        `if the tag is right, leave --bands out or give it in the file's order (red, green, blue, …); if it is wrong, ` +
        `rewrite the file with gdal_translate -co PHOTOMETRIC=MINISBLACK or give its bands descriptions`,
      f.path,
    );
  }
  const others = rest.map((b) => `${b} band ${sample(b) + 1}`).join(', ');
  warnings.push(
    `${f.path}: bands taken by the file's colour interpretation (TIFF photometric RGB: band 1 red, 2 green, 3 blue${others ? `; ${others}` : ''}), not in the order ${wanted.join(', ')}`,
  );
  return Object.fromEntries(wanted.map((b) => [b, { file: f.path, sample: sample(b) }]));
}

function userDate(text: string, flag: string): TileDate {
  const d = parseUserDate(text);
  if (!d) throw new TubanError('INTERNAL', `${flag}: '${text}' is not YYYY-MM-DD or YYYY-MM`);
  return d;
}
