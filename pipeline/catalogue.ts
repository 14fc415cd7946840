/**
 * Cataloguing input tiles: expand files / folders / simple globs, group Sentinel-2 per-band
 * files into one tile, read each tile's grid, bands, date and lon/lat footprint. Bad inputs are
 * reported by name (with their TubanError) instead of stopping the batch.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Polygon } from 'geojson';
import type { BandName, Grid } from '../geo/raster.js';
import { pixelSize, pixelToMap } from '../geo/raster.js';
import { LONLAT, transformer } from '../geo/crs.js';
import { openGeoTiff, parseIsoDate } from '../geo/tiff/open-geotiff.js';
import type { GeoTiffFile } from '../geo/tiff/open-geotiff.js';
import type { RejectedInput } from './model.js';
import type { TileInfo } from '../geo/tile-reader.js';
import { TubanError, asTubanError } from '../schemas/errors.js';

export interface CatalogueOptions {
  /** Band order of the samples in multiband files; default blue, green, red, nir. */
  bands?: BandName[];
}

export interface Catalogue {
  tiles: TileInfo[];
  rejected: RejectedInput[];
}

const DEFAULT_BANDS: BandName[] = ['blue', 'green', 'red', 'nir'];
const S2_BANDS: Record<string, BandName> = { '02': 'blue', '03': 'green', '04': 'red', '08': 'nir', '11': 'swir1', '12': 'swir2' };
/** `…_B02.tif`, `B02.tif`, `…-B8A.tiff`: the band part of a Sentinel-2 per-band file name. */
const S2_FILE = /(^|[_\-.])B(\d{2}|8A)\.tiff?$/i;
const TIFF_FILE = /\.tiff?$/i;

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    // Symlinked files and folders count too (staged inputs, mounted archives): follow them with stat.
    const kind = e.isSymbolicLink() ? await stat(p).then((s) => (s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other'), () => 'other') : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
    if (kind === 'dir') await walk(p, out);
    else if (kind === 'file' && TIFF_FILE.test(e.name)) out.push(p);
  }
}

function globRegex(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Expand inputs to TIFF paths; inputs that match nothing are rejected as INPUT.NOT_FOUND. */
async function expand(inputs: string[], rejected: RejectedInput[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const before = files.length;
    try {
      if (/[*?]/.test(basename(input))) {
        const dir = dirname(input);
        const re = globRegex(basename(input));
        for (const name of (await readdir(dir)).sort()) if (re.test(name)) files.push(join(dir, name));
      } else {
        const s = await stat(input);
        if (s.isDirectory()) await walk(input, files);
        else files.push(input);
      }
    } catch {
      // fall through to the not-found report below
    }
    if (files.length === before) {
      rejected.push({ subject: input, error: new TubanError('INPUT.NOT_FOUND', 'no TIFF files match this input', input).toJSON() });
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

function nameDate(file: string): string | null {
  const m = /(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)/.exec(basename(file));
  return m ? parseIsoDate(`${m[1]}-${m[2]}-${m[3]}`) : null;
}

/**
 * Date of a tile: TIFF tags, else a dates.txt beside it, else its file name. The sidecar goes
 * before the name because names such as OSCD's `S2A_OPER_…_20160809T015434_…` carry the
 * processing date, not the acquisition date, while a dates.txt is a deliberate statement.
 */
async function tileDate(files: GeoTiffFile[]): Promise<string> {
  for (const f of files) if (f.date) return f.date;
  const fromSidecar = await sidecarDate(files[0].path);
  if (fromSidecar) return fromSidecar;
  for (const f of files) {
    const d = nameDate(f.path);
    if (d) return d;
  }
  throw new TubanError('TILE.DATE_MISSING', 'no acquisition date in TIFF tags, dates.txt or file name', files[0].path);
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

async function tileId(files: string[], grid: Grid): Promise<string> {
  const h = createHash('sha1');
  const entries = await Promise.all(files.map(async (f) => `${basename(f)}:${(await stat(f)).size}`));
  for (const e of entries.sort()) h.update(`${e}\n`);
  h.update(JSON.stringify([grid.width, grid.height, grid.transform, grid.crs]));
  return h.digest('hex').slice(0, 16);
}

async function describeTile(files: GeoTiffFile[], bands: TileInfo['bands']): Promise<TileInfo> {
  const finest = files.reduce((a, b) => (pixelSize(b.grid) < pixelSize(a.grid) ? b : a));
  const paths = files.map((f) => f.path);
  return {
    id: await tileId(paths, finest.grid),
    files: paths,
    bands,
    grid: finest.grid,
    date: await tileDate(files),
    footprint: footprintLonLat(finest.grid),
    dtype: finest.dtype,
    nodata: finest.nodata,
  };
}

async function withFiles<T>(paths: string[], fn: (files: GeoTiffFile[]) => Promise<T>): Promise<T> {
  const opened: GeoTiffFile[] = [];
  try {
    for (const p of paths) opened.push(await openGeoTiff(p));
    return await fn(opened);
  } finally {
    await Promise.all(opened.map((f) => f.close()));
  }
}

/**
 * Catalogue input tiles. `inputs` are files, folders (searched recursively for *.tif/*.tiff) or
 * simple globs in the last path segment (`dir/*.tif`). Sentinel-2 per-band files (`…_B02.tif` or
 * plain `B02.tif`) sharing a folder and name prefix form one tile on the grid of its finest band;
 * other files are multiband tiles whose samples are `opts.bands` in order.
 */
export async function catalogueTiles(inputs: string[], opts: CatalogueOptions = {}): Promise<Catalogue> {
  const wanted = opts.bands ?? DEFAULT_BANDS;
  const rejected: RejectedInput[] = [];
  const tiles: TileInfo[] = [];
  const files = await expand(inputs, rejected);
  const groups = new Map<string, Map<BandName, string>>();
  const multiband: string[] = [];
  for (const f of files) {
    const m = S2_FILE.exec(basename(f));
    if (!m) {
      multiband.push(f);
      continue;
    }
    const band = S2_BANDS[m[2].toUpperCase()];
    if (!band) continue; // coastal, red-edge, water-vapour… bands are not used
    const key = join(dirname(f), basename(f).slice(0, m.index));
    if (!groups.has(key)) groups.set(key, new Map());
    groups.get(key)!.set(band, f);
  }

  for (const [key, byBand] of groups) {
    const paths = [...new Set(byBand.values())].sort();
    try {
      const missing = wanted.filter((b) => !byBand.has(b));
      if (missing.length) throw new TubanError('TILE.BAND_MISMATCH', `per-band files ${key}* lack ${missing.join(', ')}`, paths[0]);
      tiles.push(
        await withFiles(paths, async (opened) => {
          const crs = opened[0].grid.crs;
          const odd = opened.find((f) => f.grid.crs !== crs);
          if (odd) throw new TubanError('TILE.BAND_MISMATCH', `band files disagree on CRS (${odd.grid.crs} vs ${crs})`, odd.path);
          const bands: TileInfo['bands'] = {};
          for (const [band, file] of byBand) bands[band] = { file, sample: 0 };
          return describeTile(opened, bands);
        }),
      );
    } catch (err) {
      const e = asTubanError(err, paths[0]);
      rejected.push({ subject: e.subject ?? paths[0], error: e.toJSON() });
    }
  }

  for (const path of multiband) {
    try {
      tiles.push(
        await withFiles([path], async ([f]) => {
          if (f.samplesPerPixel < wanted.length) {
            throw new TubanError('TILE.BAND_MISMATCH', `file has ${f.samplesPerPixel} bands, ${wanted.length} named (${wanted.join(', ')})`, path);
          }
          const bands: TileInfo['bands'] = {};
          wanted.forEach((b, k) => (bands[b] = { file: path, sample: k }));
          return describeTile([f], bands);
        }),
      );
    } catch (err) {
      const e = asTubanError(err, path);
      rejected.push({ subject: path, error: e.toJSON() });
    }
  }
  tiles.sort((a, b) => a.files[0].localeCompare(b.files[0]));
  return { tiles, rejected };
}
