/**
 * The imagery service: XYZ map tiles of a month's own imagery (after or before epoch) and
 * before/after chips of a polygon, with in-memory LRU caches for the encoded tiles, the open
 * tile sources (their overviews and file handles) and the months' scenes. No HTTP here: the
 * routes in server/imagery-routes.ts call it.
 */
import sharp from 'sharp';
import type { MultiPolygon, Polygon } from 'geojson';
import { booleanIntersects, bboxPolygon } from '@turf/turf';
import type { Queryable } from '../../pipeline/store/queryable.js';
import type { TileInfo } from '../../pipeline/model.js';
import { LruCache } from './lru.js';
import { TileSource } from './tile-source.js';
import type { TileSourceOptions } from './tile-source.js';
import { loadEpochScene } from './epoch-scenes.js';
import type { EpochScene, Side } from './epoch-scenes.js';
import { renderGrid } from './render.js';
import { chipGrid, chipPng } from './chip.js';
import type { ChipOptions } from './chip.js';
import { isValidTile, tileBounds, tileGrid, MERCATOR_HALF } from './web-mercator.js';
import { ImageryError } from './imagery-error.js';

export type TileFormat = 'png' | 'webp';
export const EPOCH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

export interface ImageryServiceOptions extends TileSourceOptions {
  /** Bytes of encoded map tiles kept (default 64 MiB). */
  tileCacheBytes?: number;
  /** Bytes of overviews kept across tile sources (default 512 MiB; a 10980² tile's is ~6 MiB). */
  sourceCacheBytes?: number;
  /** How long a month's scene (the list of its tiles) is trusted before the database is asked again, ms (default 60 s). */
  sceneTtlMs?: number;
  chip?: ChipOptions;
}

export interface TileResult {
  /** Encoded image; null when the tile lies outside every footprint (the route answers 204). */
  readonly bytes: Buffer | null;
  readonly contentType: string;
}

export interface ChipResult {
  readonly png: Buffer;
  /** Acquisition date of the side shown (ISO yyyy-mm-dd) — the sensor date the page prints. */
  readonly date: string | null;
  readonly epoch: string;
  readonly code: string;
}

export interface ChipInfo {
  readonly code: string;
  readonly epoch: string;
  readonly beforeDate: string | null;
  readonly afterDate: string | null;
}

export interface ImageryService {
  /** Map tile z/x/y of a month's after or before imagery. */
  tile(epoch: string, side: Side, z: number, x: number, y: number, format?: TileFormat): Promise<TileResult>;
  /** Chip of a polygon (by code) for one side. */
  chip(code: string, side: Side): Promise<ChipResult>;
  /** The dates the chips of a polygon show, without rendering them. */
  chipInfo(code: string): Promise<ChipInfo>;
  /** lon/lat bounds of a month's imagery (for the map source's `bounds`), null when the month has none. */
  bounds(epoch: string): Promise<[number, number, number, number] | null>;
  /** Months with imagery, newest first. */
  epochs(): Promise<string[]>;
  close(): Promise<void>;
}

export function createImageryService(db: Queryable, opts: ImageryServiceOptions = {}): ImageryService {
  const tiles = new LruCache<string, TileResult>(opts.tileCacheBytes ?? 64 * 1024 ** 2);
  const sources = new LruCache<string, TileSource>(opts.sourceCacheBytes ?? 512 * 1024 ** 2, Infinity, (_k, s) => void s.close().catch(() => undefined));
  const scenes = new Map<string, { at: number; scene: Promise<EpochScene | null> }>();
  const ttl = opts.sceneTtlMs ?? 60_000;
  let empty: Buffer | null = null;

  function scene(epoch: string): Promise<EpochScene | null> {
    if (!EPOCH_RE.test(epoch)) throw new ImageryError('IMAGERY.BAD_REQUEST', `epoch '${epoch}' is not YYYY-MM`);
    const hit = scenes.get(epoch);
    if (hit && Date.now() - hit.at < ttl) return hit.scene;
    const p = loadEpochScene(db, epoch);
    scenes.set(epoch, { at: Date.now(), scene: p });
    p.catch(() => scenes.delete(epoch));
    return p;
  }

  async function requireScene(epoch: string): Promise<EpochScene> {
    const s = await scene(epoch);
    if (!s) throw new ImageryError('IMAGERY.EPOCH_UNKNOWN', `no batch with imagery for ${epoch}`);
    return s;
  }

  function source(info: TileInfo): TileSource {
    // Keyed by id: the same prior tile shared by several current tiles is opened once.
    let s = sources.get(info.id);
    if (!s) {
      s = new TileSource(info, opts);
      sources.set(info.id, s, s.overviewBytes);
    }
    return s;
  }

  function checkSide(side: string): asserts side is Side {
    if (side !== 'after' && side !== 'before') throw new ImageryError('IMAGERY.BAD_REQUEST', `side '${side}' is neither after nor before`);
  }

  async function encode(rgba: Uint8Array, width: number, height: number, format: TileFormat): Promise<Buffer> {
    const img = sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), { raw: { width, height, channels: 4 } });
    // Imagery compresses poorly with zlib; level 6 without adaptive filtering is most of the gain at a fraction of the time.
    return format === 'webp' ? img.webp({ quality: 82, alphaQuality: 100 }).toBuffer() : img.png({ compressionLevel: 6 }).toBuffer();
  }

  async function emptyPng(): Promise<Buffer> {
    empty ??= await encode(new Uint8Array(256 * 256 * 4), 256, 256, 'png');
    return empty;
  }

  async function polygonRow(code: string): Promise<{ epoch: string; tile_id: string; geom: string; before_date: string | null; after_date: string | null }> {
    const r = await db.query<{ epoch: string; tile_id: string; geom: string; before_date: string | null; after_date: string | null }>(
      `SELECT epoch, tile_id, ST_AsGeoJSON(geom) AS geom, before_date::text AS before_date, after_date::text AS after_date
       FROM polygons WHERE code = $1 ORDER BY epoch DESC LIMIT 1`,
      [code],
    );
    const row = r.rows[0];
    if (!row) throw new ImageryError('IMAGERY.POLYGON_UNKNOWN', `no polygon ${code}`);
    return row;
  }

  return {
    async tile(epoch, side, z, x, y, format = 'png') {
      checkSide(side);
      if (!isValidTile(z, x, y)) throw new ImageryError('IMAGERY.BAD_TILE', `tile ${z}/${x}/${y} is outside the web-mercator pyramid`);
      const key = `${epoch}/${side}/${z}/${x}/${y}.${format}`;
      const hit = tiles.get(key);
      if (hit) return hit;
      const s = await requireScene(epoch);
      const [minX, minY, maxX, maxY] = tileBounds(z, x, y);
      const box = bboxPolygon([mercToLon(minX), mercToLat(minY), mercToLon(maxX), mercToLat(maxY)]);
      // Only tiles whose footprint meets the map tile: a z5 request must not touch a tile 1000 km away.
      const infos = (side === 'after' ? s.after : s.before).filter((t) => booleanIntersects(t.footprint, box));
      const contentType = format === 'webp' ? 'image/webp' : 'image/png';
      let result: TileResult;
      if (infos.length === 0) result = { bytes: null, contentType };
      else {
        const r = await renderGrid(infos.map(source), tileGrid(z, x, y));
        const bytes = r.filled === 0 && format === 'png' ? await emptyPng() : await encode(r.rgba, r.width, r.height, format);
        result = { bytes, contentType };
      }
      tiles.set(key, result, result.bytes?.length ?? 64);
      return result;
    },

    async chip(code, side) {
      checkSide(side);
      const row = await polygonRow(code);
      const s = await requireScene(row.epoch);
      const pair = s.forTile(row.tile_id);
      if (!pair) throw new ImageryError('IMAGERY.NO_SOURCE', `polygon ${code}: tile ${row.tile_id} is in no stored batch plan`);
      const geom = JSON.parse(row.geom) as Polygon | MultiPolygon;
      const grid = chipGrid(geom, opts.chip);
      // The polygon's own tile (or its paired priors) first, then neighbours for chips that cross a tile edge.
      const own = side === 'after' ? [pair.tile] : pair.priors;
      const rest = (side === 'after' ? s.after : s.before).filter((t) => !own.some((o) => o.id === t.id));
      const r = await renderGrid([...own, ...rest].map(source), grid);
      const png = await chipPng(r.rgba, grid, geom);
      return { png, date: side === 'after' ? row.after_date : row.before_date, epoch: row.epoch, code };
    },

    async chipInfo(code) {
      const row = await polygonRow(code);
      return { code, epoch: row.epoch, beforeDate: row.before_date, afterDate: row.after_date };
    },

    async bounds(epoch) {
      return (await scene(epoch))?.bounds ?? null;
    },

    async epochs() {
      const r = await db.query<{ epoch: string }>(`SELECT DISTINCT epoch FROM batches WHERE plan IS NOT NULL AND status <> 'failed' ORDER BY epoch DESC`);
      return r.rows.map((x) => x.epoch);
    },

    async close() {
      tiles.clear();
      sources.clear();
      scenes.clear();
    },
  };
}

function mercToLon(x: number): number {
  return (x / MERCATOR_HALF) * 180;
}

function mercToLat(y: number): number {
  return (Math.atan(Math.exp((y / MERCATOR_HALF) * Math.PI)) * 360) / Math.PI - 90;
}
