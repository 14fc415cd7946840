/**
 * The CPU-heavy half of the imagery service: window reads, decoding, warping, stretching and
 * encoding, given the tiles to read (no database, no HTTP, no caches of encoded tiles). It holds
 * the tile sources (overviews, open files). The service runs it in worker threads
 * (render-pool.ts, render-worker.ts) or, with no workers, on its own thread; either way the bytes
 * are the same, as both run this code.
 */
import type { MultiPolygon, Polygon } from 'geojson';
import type { Grid } from '../../geo/raster.js';
import type { TileInfo } from '../../geo/tile-reader.js';
import { LruCache } from './lru.js';
import { TileSource, type TileSourceOptions } from './tile-source.js';
import { renderGrid } from './render.js';
import { pooledStretch, type RgbStretch } from './stretch.js';
import { chipPng } from './chip.js';
import { tileGrid } from './web-mercator.js';
import { encodeTile } from './tile-encoding.js';

export type TileFormat = 'png' | 'webp';

export interface TileRendererOptions extends TileSourceOptions {
  /** Bytes of overviews kept across tile sources (default 512 MiB; a 10980² tile's is ~6 MiB). */
  sourceCacheBytes?: number;
  /** Tile sources whose files stay open for full-resolution reads (default 4; each holds up to two decoded block rows). */
  openReaders?: number;
}

export interface TileJob {
  /** The month's tiles of one side whose footprints meet the map tile, in the scene's order. */
  infos: TileInfo[];
  z: number;
  x: number;
  y: number;
  stretch: RgbStretch | null;
  format: TileFormat;
}

export interface ChipJob {
  /** The polygon's own tile(s) first, then the rest of the side. */
  infos: TileInfo[];
  grid: Grid;
  stretch: RgbStretch | null;
  geometry: Polygon | MultiPolygon;
}

export interface TileRenderer {
  /**
   * The encoded map tile; null when no source had a pixel and the format is png (the caller's shared
   * empty tile). `signal`: a pool drops the job if it is aborted before a worker takes it.
   */
  tile(job: TileJob, signal?: AbortSignal): Promise<Uint8Array | null>;
  /** The chip and the index (in `infos`) of the first source that painted any of it (-1: none). */
  chip(job: ChipJob): Promise<{ png: Uint8Array; firstPainted: number }>;
  /** The month's pooled stretch of one side, from a sample of each tile. */
  stretch(infos: readonly TileInfo[]): Promise<RgbStretch | null>;
  /**
   * Build a tile's overview ahead of the first request. `alongside`: the tiles whose footprints meet
   * its, which a map tile may ask for with it (a pool builds it also where such a job goes).
   */
  warm(info: TileInfo, alongside?: readonly TileInfo[]): Promise<void>;
  close(): Promise<void>;
}

export function createTileRenderer(opts: TileRendererOptions = {}): TileRenderer & { overviews(): string[] } {
  const sources = new LruCache<string, TileSource>(opts.sourceCacheBytes ?? 512 * 1024 ** 2, Infinity, (_k, s) => void s.close().catch(() => undefined));
  // Open files cost far more than overviews (decoded block rows): only the few in use stay open.
  const readers = new LruCache<string, TileSource>(Infinity, opts.openReaders ?? 4, (_k, s) => s.releaseReader());

  function source(info: TileInfo): TileSource {
    // Keyed by id: the same prior tile shared by several current tiles is opened once.
    let s = sources.get(info.id);
    if (!s) {
      s = new TileSource(info, opts);
      sources.set(info.id, s, s.overviewBytes);
    }
    return s;
  }

  async function render(infos: TileInfo[], grid: Grid, stretch: RgbStretch | null) {
    const srcs = infos.map(source);
    const r = await renderGrid(srcs, grid, stretch);
    r.paths.forEach((p, i) => p === 'full' && readers.set(srcs[i].info.id, srcs[i]));
    return r;
  }

  return {
    async tile(job) {
      const r = await render(job.infos, tileGrid(job.z, job.x, job.y), job.stretch);
      return r.filled === 0 && job.format === 'png' ? null : encodeTile(r.rgba, r.width, r.height, job.format);
    },
    async chip(job) {
      const r = await render(job.infos, job.grid, job.stretch);
      return { png: await chipPng(r.rgba, job.grid, job.geometry), firstPainted: r.paths.findIndex((p) => p !== 'none') };
    },
    async stretch(infos) {
      return pooledStretch(await Promise.all(infos.map((t) => source(t).sample())));
    },
    async warm(info) {
      await source(info).overview();
    },
    overviews() {
      return sources.values().filter((s) => s.hasOverview).map((s) => s.info.id);
    },
    async close() {
      readers.clear();
      sources.clear();
    },
  };
}
