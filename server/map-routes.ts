/**
 * The map's polygon layer over HTTP (inside the authenticated /api context):
 *
 *   GET /api/map/layer?epoch=                         which source the page should use, and its URLs
 *   GET /api/map/tiles/{z}/{x}/{y}.pbf?epoch=         vector tile (ST_AsMVT; PostgreSQL server only)
 *   GET /api/map/polygons.geojson?bbox=&zoom=&epoch=  GeoJSON by bounding box (both databases)
 *
 * Caching as a tile server does it, per scope: `ETag` = hash of the data version (the snapshot the
 * body was read in, which every committed write changes: map-layer.ts `VERSION_SQL`), today's date (the overdue flag),
 * the user's scope (role, bureau, district) and the request; `Cache-Control: private, no-cache` so
 * the browser revalidates every time, `Vary: Authorization, Cookie`, and `304` when the client's
 * `If-None-Match` matches — answered after one tiny query, without building the tile. The scope is
 * inside the hash, so one bureau's tag never validates for another: it gets its own tile.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../pipeline/store/queryable.js';
import { scopeKey, type Permission, type User } from './access/roles.js';
import type { ApiRegistry } from './api-registry.js';
import { ApiError } from './errors.js';
import { ifNoneMatchHits } from './compression.js';
import * as S from '../schemas/api.js';
import { dataVersion, MAP_PROPERTIES, MVT_CENTROID_MAXZOOM, polygonLayerGeoJson, polygonTileMvt, supportsMvt } from './workflow/map-layer.js';

export interface MapRouteDeps {
  db: Database;
  registry: ApiRegistry;
  today: () => string;
  /** The server's case sync / deadline sweep that every read triggers when due. */
  maintain: () => Promise<void>;
  requireUser: (req: FastifyRequest, permission?: Permission) => User;
}

const etagOf = (version: string, user: User, today: string, key: string) =>
  `"${createHash('sha256').update(`${version}\n${today}\n${scopeKey(user)}\n${key}`).digest('base64url').slice(0, 27)}"`;

/**
 * Serve `key` for `user`: 304 when the client's If-None-Match is this response's tag at the data
 * version now (one tiny query, nothing built), else the body `build` returns with the tag of the
 * snapshot it was read in. Always private and revalidated, varying by credentials.
 */
async function cached(
  db: Database,
  req: FastifyRequest,
  reply: FastifyReply,
  user: User,
  today: string,
  key: string,
  type: string,
  build: () => Promise<{ body: Buffer | string; version: string }>,
): Promise<FastifyReply> {
  // The type on the 304 too: compression.ts says Vary: Accept-Encoding on it as on the 200.
  reply.header('cache-control', 'private, no-cache').header('vary', 'Authorization, Cookie').type(type);
  const inm = req.headers['if-none-match'];
  if (inm) {
    const etag = etagOf(await dataVersion(db), user, today, key);
    // Either encoding's tag (compression.ts adds `-gzip` to the gzipped answer's).
    if (ifNoneMatchHits(inm, etag)) return reply.code(304).header('etag', etag).send();
  }
  const { body, version } = await build();
  return reply.header('etag', etagOf(version, user, today, key)).send(body);
}

export async function registerMapRoutes(api: FastifyInstance, deps: MapRouteDeps): Promise<void> {
  const { db, registry, today, maintain, requireUser } = deps;
  let mvt: Promise<boolean> | null = null;
  const hasMvt = () => (mvt ??= supportsMvt(db));

  registry.route(
    api,
    {
      method: 'GET',
      url: '/api/map/layer',
      summary: 'The map polygon layer: vector tiles (PostgreSQL server: ST_AsMVT) or GeoJSON by bounding box (embedded PGlite, whose PostGIS lacks protobuf-c)',
      tags: ['map'],
      query: S.MapLayerQuery,
    },
    async (req, reply, { query }) => {
      requireUser(req, 'polygons.read');
      const qs = query.epoch ? `?epoch=${encodeURIComponent(query.epoch)}` : '';
      reply.header('cache-control', 'private, no-cache');
      if (await hasMvt()) {
        return {
          format: 'mvt',
          tiles: [`/api/map/tiles/{z}/{x}/{y}.pbf${qs}`],
          layers: { polygons: 'polygons', centroids: 'centroids', truncated: 'truncated' },
          centroid_maxzoom: MVT_CENTROID_MAXZOOM,
          properties: MAP_PROPERTIES,
        };
      }
      return { format: 'geojson', url: `/api/map/polygons.geojson${qs}`, params: ['bbox', 'zoom'], properties: [...MAP_PROPERTIES, 'centroid_lon', 'centroid_lat'] };
    },
  );

  registry.route(
    api,
    { method: 'GET', url: '/api/map/tiles/:z/:x/:file', summary: 'Vector tile {z}/{x}/{y}.pbf of the polygons in your scope (layers polygons, centroids); ETag + 304', tags: ['map'], params: S.MapTileParams, query: S.MapLayerQuery },
    async (req, reply, { params, query }) => {
      const user = requireUser(req, 'polygons.read');
      if (!(await hasMvt())) throw new ApiError('MAP.NO_MVT');
      const y = Number(params.file.slice(0, -4));
      await maintain();
      const day = today();
      return cached(db, req, reply, user, day, `mvt/${params.z}/${params.x}/${y}/${query.epoch ?? ''}`, 'application/vnd.mapbox-vector-tile', async () => {
        const { tile, version } = await polygonTileMvt(db, user, params.z, params.x, y, query, day);
        return { body: tile, version };
      });
    },
  );

  registry.route(
    api,
    { method: 'GET', url: '/api/map/polygons.geojson', summary: 'Map layer as GeoJSON by bounding box: code, status, overdue, priority, centroid; outlines simplified to the zoom; ETag + 304', tags: ['map'], query: S.MapBboxQuery },
    async (req, reply, { query }) => {
      const user = requireUser(req, 'polygons.read');
      const bbox = query.bbox.split(',').map(Number) as [number, number, number, number];
      await maintain();
      const day = today();
      const key = `geojson/${bbox.join(',')}/${query.zoom ?? ''}/${query.limit}/${query.epoch ?? ''}`;
      return cached(db, req, reply, user, day, key, 'application/geo+json; charset=utf-8', () => polygonLayerGeoJson(db, user, bbox, query, day));
    },
  );
}
