/**
 * Routes the page needs beside the workflow actions (registered in the authenticated API context):
 * the districts a clue can be filed under, the months that hold work, and the preview of a split drawn on the map.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiRegistry } from './api-registry.js';
import type { ServerDeps } from './app.js';
import * as S from '../schemas/api.js';
import { scopePredicate } from './access/roles.js';
import { ApiError } from './errors.js';
import { splitPreview } from './workflow/split-preview.js';

export async function pageRoutes(api: FastifyInstance, registry: ApiRegistry, deps: ServerDeps): Promise<void> {
  registry.route(
    api,
    { method: 'GET', url: '/api/districts', summary: 'The districts (区县) of the batches, for the clue form: [{code, name}]', tags: ['polygons'] },
    async (req) => {
      const user = deps.requireUser(req, 'polygons.read');
      // A district user files clues in its own district only (the clue route checks it too).
      // The district layer's (stored by the batches, a district with no polygon yet included), and
      // the districts polygons were routed to before the outlines were stored.
      const r = await deps.db.query<{ code: string; name: string }>(
        `SELECT code, min(name) AS name FROM (
           SELECT code, name FROM districts
           UNION ALL SELECT district_code, district_name FROM polygons WHERE district_code NOT IN (SELECT code FROM districts)
         ) s ${user.role === 'district' ? 'WHERE code = $1' : ''} GROUP BY code ORDER BY code`,
        user.role === 'district' ? [user.district] : [],
      );
      if (user.role === 'district' && r.rows.length === 0) return [{ code: user.district, name: user.district }];
      return r.rows;
    },
  );
  registry.route(
    api,
    { method: 'GET', url: '/api/months', summary: 'The months (YYYY-MM) that hold polygons or clues in your scope, newest first: the page\'s month list beside the months with imagery', tags: ['polygons'] },
    async (req) => {
      const user = deps.requireUser(req, 'polygons.read');
      // The page's first read: a month whose batch is not yet synced into cases would be missing.
      await deps.maintain();
      const params: unknown[] = [];
      const r = await deps.db.query<{ epoch: string }>(`SELECT DISTINCT c.epoch FROM cases c WHERE ${scopePredicate(user, params)} ORDER BY c.epoch DESC`, params);
      return r.rows.map((row) => row.epoch);
    },
  );
  registry.route(
    api,
    {
      method: 'POST',
      url: '/api/polygons/:code/split-preview',
      summary: 'Preview a split drawn on the map (cut lines, or rough parcels clipped to the polygon): the parcels with m² and 亩; writes nothing',
      tags: ['workflow'],
      params: S.CodeParams,
      body: S.SplitPreview,
    },
    async (req, _reply, { params, body }) => {
      const user = deps.requireUser(req, 'case.handle');
      await deps.visiblePolygon(user, params.code); // 404 outside the user's scope
      const parcels = await splitPreview(deps.db, params.code, body);
      if (parcels.length === 0) throw new ApiError('SPLIT.INVALID_GEOMETRY', `${params.code} is not a polygon, or the drawing misses it`);
      return { parcels };
    },
  );
}
