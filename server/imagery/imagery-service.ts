/**
 * The imagery service: XYZ map tiles of a month's own imagery (after or before epoch) and
 * before/after chips of a polygon, with in-memory LRU caches for the encoded tiles, the open
 * tile sources (their overviews and file handles) and the months' scenes. No HTTP here: the
 * routes in server/imagery-routes.ts call it.
 */
import type { Feature, Geometry, MultiPolygon, Polygon } from 'geojson';
import { bboxPolygon } from '@turf/bbox-polygon';
import { booleanIntersects } from '@turf/boolean-intersects';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { config } from '../../pipeline/config.js';
import { LruCache } from './lru.js';
import { loadEpochScene } from './epoch-scenes.js';
import type { EpochScene, Side } from './epoch-scenes.js';
import type { RgbStretch } from './stretch.js';
import { chipGrid } from './chip.js';
import type { ChipOptions } from './chip.js';
import { isValidTile, tileBounds, MERCATOR_HALF } from './web-mercator.js';
import { ImageryError } from './imagery-error.js';
import { encodeTile } from './tile-encoding.js';
import { createTileRenderer, type TileFormat, type TileRenderer, type TileRendererOptions } from './tile-renderer.js';
import { RenderPool, defaultImageryWorkers } from './render-pool.js';

export type { TileFormat };
export const EPOCH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

export interface ImageryServiceOptions extends TileRendererOptions {
  /** Bytes of encoded map tiles kept (default 64 MiB). */
  tileCacheBytes?: number;
  /**
   * Worker threads that cut the imagery (render-pool.ts); 0 cuts it on the calling thread.
   * Default TUBAN_IMAGERY_WORKERS, else one fewer than the cores, 1 to 4.
   */
  workers?: number;
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
  /** Acquisition date of the side shown (ISO yyyy-mm-dd) — the sensor date the page prints; absent when unknown. */
  readonly date?: string;
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
  /**
   * Map tile z/x/y of a month's after or before imagery. `signal`: the request's; aborted while the
   * tile still waits for a worker, it is not cut (the promise rejects with an `AbortError`).
   */
  tile(epoch: string, side: Side, z: number, x: number, y: number, format?: TileFormat, signal?: AbortSignal): Promise<TileResult>;
  /** Chip of a polygon (by code) for one side. */
  chip(code: string, side: Side): Promise<ChipResult>;
  /**
   * Chip of a polygon given as the API's GeoJSON Feature (properties `code`, `epoch`, `tile_id`,
   * `before_date`, `after_date`; a clue's Point or Polygon too). Null when its month has no imagery.
   * The shape of the server's `ChipSource` (server/app.ts), so it plugs in directly.
   */
  chipFor(feature: Feature<Geometry | null>, side: Side): Promise<ChipResult | null>;
  /** The dates the chips of a polygon show, without rendering them. */
  chipInfo(code: string): Promise<ChipInfo>;
  /** lon/lat bounds of a month's imagery (for the map source's `bounds`), null when the month has none. */
  bounds(epoch: string): Promise<[number, number, number, number] | null>;
  /**
   * Build the month's overviews and stretches ahead of the first request (a 10980² tile's overview
   * takes one streamed decode, ~20 s on a busy 2-core machine). Call it in the background at start.
   */
  warm(epoch: string): Promise<void>;
  /** Months with imagery, newest first. */
  epochs(): Promise<string[]>;
  close(): Promise<void>;
}

export function createImageryService(db: Queryable, opts: ImageryServiceOptions = {}): ImageryService {
  const tiles = new LruCache<string, TileResult>(opts.tileCacheBytes ?? 64 * 1024 ** 2);
  const workers = opts.workers ?? config().imageryWorkers ?? defaultImageryWorkers();
  const renderer: TileRenderer = workers > 0 ? new RenderPool(workers, opts) : createTileRenderer(opts);
  const scenes = new Map<string, { at: number; scene: Promise<EpochScene | null> }>();
  const ttl = opts.sceneTtlMs ?? 60_000;
  const stretches = new Map<string, Promise<RgbStretch | null>>();
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

  /**
   * The month's stretch for one side, pooled over a sample of every tile (nine 256² windows each,
   * computed once). One stretch per side means no seams between satellite tiles and no jump in
   * tone between a chip and the map around it.
   */
  function sideStretch(s: EpochScene, side: Side): Promise<RgbStretch | null> {
    const key = `${s.epoch}/${side}/${(side === 'after' ? s.after : s.before).map((t) => t.id).join(',')}`;
    let p = stretches.get(key);
    if (!p) {
      p = renderer.stretch(side === 'after' ? s.after : s.before);
      stretches.set(key, p);
      p.catch(() => stretches.delete(key));
    }
    return p;
  }

  function checkSide(side: string): asserts side is Side {
    if (side !== 'after' && side !== 'before') throw new ImageryError('IMAGERY.BAD_REQUEST', `side '${side}' is neither after nor before`);
  }

  async function emptyPng(): Promise<Buffer> {
    empty ??= await encodeTile(new Uint8Array(256 * 256 * 4), 256, 256, 'png');
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

  interface ChipSubject {
    code: string;
    epoch: string;
    /** The current tile the polygon was detected on; null for clues (every tile of the month is tried). */
    tileId: string | null;
    geometry: Polygon | MultiPolygon;
    beforeDate: string | null;
    afterDate: string | null;
  }

  async function cutChip(subject: ChipSubject, side: Side): Promise<ChipResult> {
    const s = await requireScene(subject.epoch);
    const pair = subject.tileId ? s.forTile(subject.tileId) : null;
    if (subject.tileId && !pair) throw new ImageryError('IMAGERY.NO_SOURCE', `polygon ${subject.code}: tile ${subject.tileId} is in no stored batch plan`);
    const grid = chipGrid(subject.geometry, opts.chip);
    // The polygon's own tile (or its paired priors) first, then neighbours for chips that cross a tile edge.
    const own = !pair ? [] : side === 'after' ? [pair.tile] : pair.priors;
    const rest = (side === 'after' ? s.after : s.before).filter((t) => !own.some((o) => o.id === t.id));
    const infos = [...own, ...rest];
    const r = await renderer.chip({ infos, grid, stretch: await sideStretch(s, side), geometry: subject.geometry });
    const png = Buffer.from(r.png.buffer, r.png.byteOffset, r.png.byteLength);
    // The detection's own dates; for a clue, the date of the first tile that painted any of the chip.
    const date = (side === 'after' ? subject.afterDate : subject.beforeDate) ?? (infos[r.firstPainted]?.date ?? null);
    return { png, ...(date ? { date } : {}), epoch: subject.epoch, code: subject.code };
  }

  return {
    async tile(epoch, side, z, x, y, format = 'png', signal) {
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
        const cut = await renderer.tile({ infos, z, x, y, stretch: await sideStretch(s, side), format }, signal);
        const bytes = cut ? Buffer.from(cut.buffer, cut.byteOffset, cut.byteLength) : await emptyPng();
        result = { bytes, contentType };
      }
      tiles.set(key, result, result.bytes?.length ?? 64);
      return result;
    },

    async chip(code, side) {
      checkSide(side);
      const row = await polygonRow(code);
      return cutChip({ code, epoch: row.epoch, tileId: row.tile_id, geometry: JSON.parse(row.geom) as Polygon | MultiPolygon, beforeDate: row.before_date, afterDate: row.after_date }, side);
    },

    async chipFor(feature, side) {
      checkSide(side);
      const p = feature.properties ?? {};
      const code = String(p.code ?? feature.id ?? '');
      const epoch = String(p.epoch ?? '');
      const g = feature.geometry;
      if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon' && g.type !== 'Point')) return null;
      // A clue given as a point gets a chip around a 50 m square.
      const geometry = g.type === 'Point' ? pointSquare(g.coordinates[0], g.coordinates[1], 25) : g;
      const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
      try {
        return await cutChip({ code, epoch, tileId: str(p.tile_id), geometry, beforeDate: str(p.before_date), afterDate: str(p.after_date) }, side);
      } catch (err) {
        if (err instanceof ImageryError && (err.code === 'IMAGERY.EPOCH_UNKNOWN' || err.code === 'IMAGERY.NO_SOURCE')) return null;
        throw err;
      }
    },

    async chipInfo(code) {
      const row = await polygonRow(code);
      return { code, epoch: row.epoch, beforeDate: row.before_date, afterDate: row.after_date };
    },

    async warm(epoch) {
      const s = await scene(epoch);
      if (!s) return;
      for (const side of ['after', 'before'] as const) {
        await sideStretch(s, side);
        // One tile at a time: warming must not take every core from the requests being served.
        // With the tiles whose footprints meet its: a pool builds it also where map tiles over both go.
        const tiles = side === 'after' ? s.after : s.before;
        for (const t of tiles) await renderer.warm(t, tiles.filter((o) => o !== t && booleanIntersects(o.footprint, t.footprint)));
      }
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
      scenes.clear();
      stretches.clear();
      await renderer.close();
    },
  };
}

/** A lon/lat square of half-side `halfM` metres around a point. */
function pointSquare(lon: number, lat: number, halfM: number): Polygon {
  const dLat = halfM / 111_320;
  const dLon = dLat / Math.cos((lat * Math.PI) / 180);
  return { type: 'Polygon', coordinates: [[[lon - dLon, lat - dLat], [lon + dLon, lat - dLat], [lon + dLon, lat + dLat], [lon - dLon, lat + dLat], [lon - dLon, lat - dLat]]] };
}

function mercToLon(x: number): number {
  return (x / MERCATOR_HALF) * 180;
}

function mercToLat(y: number): number {
  return (Math.atan(Math.exp((y / MERCATOR_HALF) * Math.PI)) * 360) / Math.PI - 90;
}
