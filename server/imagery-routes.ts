/**
 * HTTP routes of the imagery service (titiler's shape, thin handlers):
 *
 *   GET /api/imagery/epochs                               months with imagery and the lon/lat bounds of the caller's part
 *   GET /api/imagery/{epoch}/{after|before}/{z}/{x}/{y}.png|.webp   map tiles (204 outside the imagery or the caller's part)
 *   GET /api/polygons/{code}/chips/{before|after}.png      chips, the sensor date in `X-Sensor-Date`
 *
 * Register it inside the server's authenticated context (`app.register(imageryRoutes, {...})`, not
 * wrapped in fastify-plugin, so its error handler stays local), or hand `imageryPlugin(imagery)` to
 * the server's `plugins` option and `imagery.chipFor` to its `chips` option when the server serves
 * the chip route itself (`chips: false` here). Responses are `Cache-Control: private` (they sit
 * behind a login) with a content-hash ETag answered by 304.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z, type ZodType } from 'zod';
import { parseWith, strictQuery, type ApiRegistry, type RouteSpec } from './api-registry.js';
import { CREDENTIALS_VARY, sendPrivateCached } from './private-cache.js';
import type { ImageryService, TileFormat } from './imagery/imagery-service.js';
import { ImageryError } from './imagery/imagery-error.js';
import type { Side } from './imagery/epoch-scenes.js';
import { keepRects } from './imagery/tile-mask.js';
import { cachedImageryScope, tileView, type ImageryScope, type LonLatBox } from './access/imagery-scope.js';
import type { User } from './access/roles.js';
import type { Queryable } from '../pipeline/store/queryable.js';

export interface ImageryRoutesOptions {
  imagery: ImageryService;
  /**
   * ACCESS SEAM (the server's job): may the caller see polygon `code`? Answer with the same SQL
   * scope predicate as the polygon card (`scopePredicate(request.user, …)` in server/access/roles.ts),
   * so a chip of another bureau's polygon is a 404 exactly like its card. False → 404.
   */
  canSeePolygon?: (request: FastifyRequest, code: string) => Promise<boolean>;
  /** Serve the chip route here (default true); false when the server has its own (server/app.ts). */
  chips?: boolean;
  /**
   * ACCESS SEAM: may the caller read imagery at all (any signed-in role that reads polygons)?
   * Defaults to allowing, because the plugin is meant to be registered behind the auth hook.
   */
  canReadImagery?: (request: FastifyRequest) => Promise<boolean> | boolean;
  /**
   * ACCESS SEAM: the part of month `epoch` the caller may see (server/access/imagery-scope.ts); a
   * tile outside it is answered like one outside the imagery (204), one partly inside is served
   * with the rest transparent. Default: all of it.
   */
  tileScope?: (request: FastifyRequest, epoch: string) => Promise<ImageryScope>;
}

const SIDES = new Set(['after', 'before']);
const TILE_FILE = /^(\d{1,8})\.(png|webp)$/;
const CODE_RE = /^[A-Za-z0-9-]{1,64}$/;

export async function imageryRoutes(app: FastifyInstance, opts: ImageryRoutesOptions): Promise<void> {
  const { imagery } = opts;
  // No scope check given means no chip route: never serve chips unchecked.
  const canSeePolygon = opts.canSeePolygon ?? (async () => false);
  const canRead = opts.canReadImagery ?? (() => true);
  const tileScope = opts.tileScope ?? (async () => 'all' as const);

  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof ImageryError) return reply.code(err.statusCode).send({ statusCode: err.statusCode, code: err.code, message: err.message });
    throw err; // anything else goes to the server's own error handler
  });

  app.addHook('onRequest', async (request) => {
    if (!(await canRead(request))) throw new ImageryError('IMAGERY.POLYGON_UNKNOWN', 'no imagery for this account');
  });

  // Each month's bounds are those of the part the caller may see: the page fits its map there.
  app.get('/api/imagery/epochs', async (request) => {
    const epochs = await imagery.epochs();
    return { epochs: await Promise.all(epochs.map(async (epoch) => ({ epoch, bounds: within(await imagery.bounds(epoch), await tileScope(request, epoch)) }))) };
  });

  app.get<{ Params: { epoch: string; side: string; z: string; x: string; file: string } }>(
    '/api/imagery/:epoch/:side/:z/:x/:file',
    async (request, reply) => {
      const { epoch, side, z, x, file } = request.params;
      const m = TILE_FILE.exec(file);
      if (!SIDES.has(side) || !m || !/^\d{1,2}$/.test(z) || !/^\d{1,8}$/.test(x)) {
        throw new ImageryError('IMAGERY.BAD_REQUEST', `expected /api/imagery/{YYYY-MM}/{after|before}/{z}/{x}/{y}.png|.webp, got ${request.url}`);
      }
      // Outside the caller's part of the month: nothing, as outside the imagery (and nothing rendered).
      // Kept briefly, with the credentials: a later batch or reassignment can widen the part.
      const view = tileView(await tileScope(request, epoch), Number(z), Number(x), Number(m[1]));
      if (view === 'none') return reply.code(204).header('Cache-Control', 'private, max-age=60').header('Vary', CREDENTIALS_VARY).send();
      const format = m[2] as TileFormat;
      // A pan leaves many requests behind: a tile still waiting for a render worker when its client
      // goes is not cut (one already being cut still fills the cache).
      const gone = new AbortController();
      const onClose = () => reply.raw.writableFinished || gone.abort();
      reply.raw.once('close', onClose);
      let t;
      try {
        t = await imagery.tile(epoch, side as Side, Number(z), Number(x), Number(m[1]), format, gone.signal);
      } catch (err) {
        // Nobody is left to answer; nothing was cut or cached.
        if (gone.signal.aborted) return reply.code(204).header('Cache-Control', 'no-store').send();
        throw err;
      } finally {
        reply.raw.off('close', onClose);
      }
      if (!t.bytes) return reply.code(204).header('Cache-Control', 'private, max-age=3600').send();
      if (view === 'whole') return sendPrivateCached(request, reply, t.bytes, t.contentType, 86_400);
      // The edge of the caller's part: kept briefly too, for the same reason as above.
      return sendPrivateCached(request, reply, await keepRects(t.bytes, format, view), t.contentType, 60);
    },
  );

  if (opts.chips === false) return;
  app.get<{ Params: { code: string; file: string } }>('/api/polygons/:code/chips/:file', async (request, reply) => {
    const { code, file } = request.params;
    const side = /^(before|after)\.png$/.exec(file)?.[1] as Side | undefined;
    if (!side || !CODE_RE.test(code)) throw new ImageryError('IMAGERY.BAD_REQUEST', `expected /api/polygons/{code}/chips/before.png or after.png, got ${request.url}`);
    // Missing and forbidden answer alike, so a chip never reveals that a polygon exists.
    if (!(await canSeePolygon(request, code))) throw new ImageryError('IMAGERY.POLYGON_UNKNOWN', `no polygon ${code}`);
    const chip = await imagery.chip(code, side);
    if (chip.date) reply.header('X-Sensor-Date', chip.date);
    return sendPrivateCached(request, reply, chip.png, 'image/png', 3600);
  });
}

/** `bounds` cut to the box around the caller's part (null when they do not meet). */
function within(bounds: LonLatBox | null, scope: ImageryScope): LonLatBox | null {
  if (!bounds || scope === 'all') return bounds;
  if (scope === null) return null;
  const part = scope.bounds;
  const cut: LonLatBox = [Math.max(bounds[0], part[0]), Math.max(bounds[1], part[1]), Math.min(bounds[2], part[2]), Math.min(bounds[3], part[3])];
  return cut[0] < cut[2] && cut[1] < cut[3] ? cut : null;
}

/** How `/openapi.json` lists the routes the plugin serves (they answer binary tiles, so they are not parsed by the registry). */
const IMAGERY_API: RouteSpec<ZodType, ZodType, ZodType>[] = [
  { method: 'GET', url: '/api/imagery/epochs', summary: "Months with imagery and the lon/lat bounds of the caller's part of each", tags: ['imagery'], responses: { 200: '{epochs: [{epoch, bounds}]}' } },
  {
    method: 'GET',
    url: '/api/imagery/:epoch/:side/:z/:x/:file',
    summary: "A web-mercator map tile of the month's imagery ({file} is {y}.png or {y}.webp), privately cached with a content-hash ETag",
    tags: ['imagery'],
    params: z.object({ epoch: z.string().regex(/^\d{4}-\d{2}$/), side: z.enum(['after', 'before']), z: z.string().regex(/^\d{1,2}$/), x: z.string().regex(/^\d{1,8}$/), file: z.string().regex(TILE_FILE) }),
    responses: { 200: 'PNG or WebP tile', 204: "outside the imagery or the caller's part of it (server/access/imagery-scope.ts)", 304: 'not modified (If-None-Match)' },
  },
];

/**
 * The tile and epoch routes as a plugin of the server's authenticated context (server/app.ts
 * `plugins`: `(api, deps) => Promise<void>`), checked with the server's own permission test.
 * Registered as a child context, so this file's error handler does not replace the API's.
 */
export function imageryPlugin(
  imagery: ImageryService,
): (api: FastifyInstance, deps: { db: Queryable; requireUser: (req: FastifyRequest, permission?: 'polygons.read') => User; registry?: Pick<ApiRegistry, 'document'> }) => Promise<void> {
  return async (api, deps) => {
    for (const spec of IMAGERY_API) deps.registry?.document(spec);
    const scopeOf = cachedImageryScope(deps.db);
    await api.register(async (scoped) => {
      // These routes take no query, as every /api route the registry parses: a key is the API's 400
      // VALIDATION naming it (after the credentials are checked), not ignored. MapLibre appends none.
      const noQuery = strictQuery(undefined);
      scoped.addHook('preValidation', async (request) => {
        parseWith(noQuery, request.query, 'query');
      });
      await scoped.register(imageryRoutes, {
        imagery,
        chips: false,
        canReadImagery: (request) => {
          deps.requireUser(request, 'polygons.read'); // throws the server's own 401/403
          return true;
        },
        tileScope: (request, epoch) => scopeOf(deps.requireUser(request, 'polygons.read'), epoch),
      });
    });
  };
}
