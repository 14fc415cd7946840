/**
 * STAC items as tile input: an Item (`item.json`) or an ItemCollection (a FeatureCollection of
 * items), as the public archives (Earth Search, Planetary Computer, USGS) catalogue Sentinel-2 and
 * Landsat COGs. Each item becomes one tile: its date from `properties.datetime` (or
 * `start_datetime`), its bands from the assets, its cloud cover from `eo:cloud_cover`.
 *
 * Which asset holds which band, first rule that applies:
 * 1. the asset's band list, STAC 1.0 `eo:bands[].common_name` or STAC 1.1 `bands[].eo:common_name`
 *    (a multi-band asset maps each entry to its sample);
 * 2. else the asset key: a common name (`blue`, `nir`, `swir16`) or a Sentinel-2 band (`B02`, `B8A`).
 * Common names map to Tuban's bands as blue, green, red, nir, swir16 → swir1, swir22 → swir2;
 * `nir08` stands in for nir only when the item has no `nir` (Landsat's NIR is nir08; Sentinel-2's
 * nir08 is the 20 m red-edge B8A, not B08).
 *
 * Assets are read from local files: an absolute path, a `file://` URL or a path relative to the
 * item file. Remote hrefs (http, s3), JPEG 2000 and other non-TIFF assets, and thumbnails or
 * metadata (by role) are skipped with a note; a tile lacking a band says which assets were skipped.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BandName } from '../geo/raster.js';
import { TubanError } from '../schemas/errors.js';
import type { RejectedInput } from './model.js';
import type { TileDate } from './name-date.js';

export interface StacTile {
  /** The item, named as `file#id` so a report points at the right one in a collection. */
  item: string;
  id: string;
  date: TileDate | null;
  /** Percent, from `eo:cloud_cover`. */
  cloudCover?: number;
  /** Which local file and sample holds each band. */
  bands: Map<BandName, { file: string; sample: number; asset: string; href: string }>;
  /** Assets not used and why (`B01.jp2: JPEG 2000 …`), for the message when a band is missing. */
  skipped: string[];
}

export interface StacRead {
  tiles: StacTile[];
  rejected: RejectedInput[];
  warnings: string[];
}

/** A path that may hold STAC JSON (`.json`, not `.geojson`, which is zones). */
export function isStacPath(path: string): boolean {
  return /\.json$/i.test(path) && !/\.geojson$/i.test(path);
}

const COMMON: Record<string, BandName> = { blue: 'blue', green: 'green', red: 'red', nir: 'nir', swir16: 'swir1', swir22: 'swir2' };
const S2_KEYS: Record<string, string> = { B02: 'blue', B03: 'green', B04: 'red', B08: 'nir', B8A: 'nir08', B11: 'swir16', B12: 'swir22' };
const SKIP_ROLES = new Set(['thumbnail', 'overview', 'metadata', 'visual', 'cloud', 'snow-ice', 'water-mask']);

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Common names of an asset's bands, one per sample; [] when the asset lists none. */
function assetCommonNames(asset: Json): (string | undefined)[] {
  const list = Array.isArray(asset['eo:bands']) ? asset['eo:bands'] : Array.isArray(asset.bands) ? asset.bands : [];
  return list.map((b) => (isObj(b) ? String(b.common_name ?? b['eo:common_name'] ?? '') || undefined : undefined));
}

/** Why an asset cannot be a band source, or null when it can. */
function unusable(key: string, asset: Json, href: string): string | null {
  const type = typeof asset.type === 'string' ? asset.type.toLowerCase() : '';
  const roles = Array.isArray(asset.roles) ? asset.roles.map(String) : [];
  if (roles.some((r) => SKIP_ROLES.has(r)) && !roles.includes('data')) return null; // not data: not worth a note
  if (/jp2|jpeg2000/.test(type) || /\.jp2$/i.test(href)) return `${key}: JPEG 2000 is not read; convert it with gdal_translate -of COG`;
  if (type && !type.startsWith('image/tiff')) return `${key}: type '${asset.type}' is not a GeoTIFF`;
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(href) && !href.startsWith('file://')) return `${key}: '${href}' is remote; download it and point the href at the local file`;
  if (!type && !/\.tiff?$/i.test(href)) return `${key}: '${href}' is not a .tif`;
  return '';
}

function localPath(href: string, itemFile: string): string {
  if (href.startsWith('file://')) return fileURLToPath(href);
  return isAbsolute(href) ? href : resolve(dirname(itemFile), href);
}

/** Date of an item: `datetime`, else `start_datetime` (UTC calendar day). */
function itemDate(props: Json): TileDate | null {
  const text = typeof props.datetime === 'string' ? props.datetime : typeof props.start_datetime === 'string' ? props.start_datetime : null;
  if (!text) return null;
  const t = Date.parse(text);
  return Number.isFinite(t) ? { date: new Date(t).toISOString().slice(0, 10), precision: 'day' } : null;
}

function tileOf(item: Json, file: string, index: number): StacTile {
  const id = typeof item.id === 'string' ? item.id : `#${index}`;
  const props = isObj(item.properties) ? item.properties : {};
  const assets = isObj(item.assets) ? item.assets : {};
  const byCommon = new Map<string, { file: string; sample: number; asset: string; href: string }>();
  const skipped: string[] = [];
  for (const [key, asset] of Object.entries(assets)) {
    if (!isObj(asset) || typeof asset.href !== 'string') continue;
    const listed = assetCommonNames(asset);
    const names = listed.length > 0 ? listed : [S2_KEYS[key.toUpperCase()] ?? key.toLowerCase()];
    if (!names.some((n) => n !== undefined && (n in COMMON || n === 'nir08'))) continue; // not a band we use
    const why = unusable(key, asset, asset.href);
    if (why === null) continue;
    if (why) {
      skipped.push(why);
      continue;
    }
    const path = localPath(asset.href, file);
    names.forEach((n, sample) => {
      if (n && !byCommon.has(n)) byCommon.set(n, { file: path, sample, asset: key, href: asset.href as string });
    });
  }
  if (!byCommon.has('nir') && byCommon.has('nir08')) byCommon.set('nir', byCommon.get('nir08')!);
  const bands = new Map<BandName, { file: string; sample: number; asset: string; href: string }>();
  for (const [common, band] of Object.entries(COMMON)) if (byCommon.has(common)) bands.set(band, byCommon.get(common)!);
  const cc = props['eo:cloud_cover'];
  return { item: `${file}#${id}`, id, date: itemDate(props), ...(typeof cc === 'number' ? { cloudCover: cc } : {}), bands, skipped };
}

/** Read one STAC JSON file: an Item or an ItemCollection. Anything else is rejected by name. */
export async function readStacTiles(file: string): Promise<StacRead> {
  const rejected: RejectedInput[] = [];
  const reject = (message: string, subject = file) => rejected.push({ subject, error: new TubanError('TILE.UNREADABLE', message, subject).toJSON() });
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    reject(`not a readable STAC JSON file (${err instanceof Error ? err.message : String(err)})`);
    return { tiles: [], rejected, warnings: [] };
  }
  const items = isObj(doc) && doc.type === 'Feature' ? [doc] : isObj(doc) && doc.type === 'FeatureCollection' && Array.isArray(doc.features) ? doc.features : null;
  if (!items || !items.every((i) => isObj(i) && isObj(i.assets))) {
    reject("not a STAC Item or ItemCollection (a Feature, or a FeatureCollection of Features, with 'assets')");
    return { tiles: [], rejected, warnings: [] };
  }
  const tiles = (items as Json[]).map((item, k) => tileOf(item, file, k));
  const warnings = tiles.flatMap((t) => (t.skipped.length ? [`STAC item ${t.item}: assets skipped: ${t.skipped.join('; ')}`] : []));
  return { tiles, rejected, warnings };
}
