/**
 * TEST STUB — TO BE REPLACED by the server's own app (server/app.ts `buildApp` on branch
 * i13-server) once it is merged: the browser test then builds that app with
 * `plugins: [imageryPlugin(imagery)]`, `chips: imagery.chipFor`, `webDir: 'web'`.
 *
 * A minimal Fastify server with just enough of the API the page calls, over the real batch rows
 * of a database: sign-in (two fixed users), /api/me, the polygon list and map GeoJSON (scoped to
 * the bureau in SQL), counts, the card, accept and verdict (workflow state kept in memory), the
 * imagery routes (server/imagery-routes.ts, the real thing) and the page's static files.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { DEFAULT_RULES } from '../../pipeline/route/default-rules.js';
import { imageryRoutes } from '../imagery-routes.js';
import type { ImageryService } from '../imagery/imagery-service.js';
import { vendorRoutes } from '../vendor-routes.js';

export interface StubUser {
  name: string;
  password: string;
  role: 'bureau' | 'lead';
  bureau: string | null;
  district: string | null;
}

interface CaseState {
  status: string;
  verdict: string | null;
  verdict_details: Record<string, unknown> | null;
  history: { at: string; actor: string; action: string; before: unknown; after: unknown }[];
}

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export async function buildStubApp(db: Queryable, imagery: ImageryService, users: StubUser[], webDir: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const sessions = new Map<string, StubUser>();
  const cases = new Map<string, CaseState>();
  const caseOf = (code: string): CaseState => {
    let c = cases.get(code);
    if (!c) cases.set(code, (c = { status: 'issued', verdict: null, verdict_details: null, history: [] }));
    return c;
  };
  const bureauName = (id: string) => (DEFAULT_RULES.bureaus as Record<string, { name_zh: string }>)[id]?.name_zh ?? id;

  const userOf = (req: FastifyRequest): StubUser => {
    const h = req.headers.authorization;
    const token = h?.startsWith('Bearer ') ? h.slice(7) : /tuban_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const u = token ? sessions.get(token) : undefined;
    if (!u) throw Object.assign(new Error('sign in first'), { statusCode: 401, code: 'AUTH.REQUIRED' });
    return u;
  };
  /** The scope as SQL, as the real server does it (never a JS filter afterwards). */
  const scope = (u: StubUser, params: unknown[]): string => {
    if (u.role === 'lead') return 'TRUE';
    params.push(u.bureau);
    return `(p.lead_bureau = $${params.length} OR p.co_bureaus @> jsonb_build_array($${params.length}::text))`;
  };
  const features = async (u: StubUser, q: Record<string, string | undefined>, code?: string) => {
    const params: unknown[] = [];
    const where = [scope(u, params)];
    if (q.epoch) where.push(`p.epoch = $${params.push(q.epoch)}`);
    if (q.priority) where.push(`p.priority = $${params.push(q.priority)}`);
    if (code) where.push(`p.code = $${params.push(code)}`);
    if (q.bbox) {
      const [w, s, e, n] = q.bbox.split(',').map(Number);
      where.push(`p.geom && ST_MakeEnvelope($${params.push(w)}, $${params.push(s)}, $${params.push(e)}, $${params.push(n)}, 4326)`);
    }
    const r = await db.query<Record<string, unknown> & { geometry: string; code: string; lead_bureau: string }>(
      `SELECT p.code, p.epoch, p.district_code, p.district_name, p.lead_bureau, p.co_bureaus, p.routing_reason, p.rule_id, p.priority,
              p.priority_reasons, p.area_m2, p.area_mu, ST_X(p.centroid) AS centroid_lon, ST_Y(p.centroid) AS centroid_lat, p.change_type,
              p.change_class, p.confidence, p.reasons, p.before_date::text AS before_date, p.after_date::text AS after_date,
              p.land_class_before, p.zone_overlaps AS overlaps, p.previous_code, p.tile_id, ST_AsGeoJSON(p.geom, 7) AS geometry
       FROM polygons p WHERE ${where.join(' AND ')} ORDER BY p.code LIMIT 10000`,
      params,
    );
    return r.rows
      .map(({ geometry, ...p }) => {
        const c = caseOf(p.code);
        return {
          type: 'Feature' as const,
          id: p.code,
          geometry: JSON.parse(geometry),
          properties: { ...p, lead_bureau_name: bureauName(p.lead_bureau), status: c.status, verdict: c.verdict, due_date: null, overdue: false },
        };
      })
      .filter((f) => !q.status || f.properties.status === q.status)
      .filter((f) => q.overdue !== 'true' || f.properties.overdue);
  };

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) =>
    reply.code(err.statusCode ?? 500).send({ code: err.code ?? 'INTERNAL', message: err.message }),
  );
  await app.register(vendorRoutes);
  app.post<{ Body: { name: string; password: string } }>('/api/session', async (req, reply) => {
    const u = users.find((x) => x.name === req.body?.name && x.password === req.body?.password);
    if (!u) throw Object.assign(new Error('unknown user or wrong password'), { statusCode: 401, code: 'AUTH.BAD_CREDENTIALS' });
    const token = randomBytes(16).toString('hex');
    sessions.set(token, u);
    reply.header('set-cookie', `tuban_session=${token}; HttpOnly; SameSite=Strict; Path=/`);
    return { token, expires_in: 43200, user: { name: u.name, role: u.role, bureau: u.bureau, district: u.district } };
  });
  app.delete('/api/session', async () => ({ ok: true }));
  app.get('/api/me', async (req) => {
    const u = userOf(req);
    return { name: u.name, role: u.role, bureau: u.bureau, district: u.district };
  });
  app.get<{ Querystring: Record<string, string> }>('/api/polygons', async (req) => {
    const fs = await features(userOf(req), req.query);
    return { type: 'FeatureCollection', features: fs, next_cursor: null, count: fs.length };
  });
  app.get<{ Querystring: Record<string, string> }>('/api/polygons.geojson', async (req) => ({ type: 'FeatureCollection', features: await features(userOf(req), req.query) }));
  app.get<{ Querystring: Record<string, string> }>('/api/inbox/counts', async (req) => {
    const fs = await features(userOf(req), { epoch: req.query.epoch });
    const by_status: Record<string, number> = {};
    for (const f of fs) by_status[f.properties.status] = (by_status[f.properties.status] ?? 0) + 1;
    return { by_status, total: fs.length, overdue: 0, geometry_changed: 0 };
  });
  app.get<{ Params: { code: string } }>('/api/polygons/:code', async (req) => {
    const [f] = await features(userOf(req), {}, req.params.code);
    if (!f) throw Object.assign(new Error('no such polygon'), { statusCode: 404, code: 'POLYGON.NOT_FOUND' });
    const p = f.properties as unknown as Record<string, unknown> & { code: string; lead_bureau: string; co_bureaus: string[] };
    const c = caseOf(p.code);
    const base = `/api/polygons/${encodeURIComponent(p.code)}`;
    return {
      ...f,
      case: { code: p.code, status: c.status, verdict: c.verdict, verdict_details: c.verdict_details, lead_bureau: p.lead_bureau, co_bureaus: p.co_bureaus, due_date: null },
      history: c.history,
      evidence: [],
      parcels: [],
      escalations: [],
      chips: { before: `${base}/chips/before.png`, after: `${base}/chips/after.png`, before_date: p.before_date, after_date: p.after_date },
      routing: {
        lead_bureau: p.lead_bureau,
        lead_bureau_name: bureauName(p.lead_bureau),
        co_bureaus: p.co_bureaus.map((id) => ({ id, name: bureauName(id) })),
        reason: p.routing_reason,
        rule_id: p.rule_id,
        overlaps: p.overlaps,
      },
    };
  });
  const transition = (action: string, from: string[], to: string) =>
    app.post<{ Params: { code: string }; Body: Record<string, unknown> }>(`/api/polygons/:code/${action}`, async (req) => {
      const u = userOf(req);
      const [f] = await features(u, {}, req.params.code);
      if (!f) throw Object.assign(new Error('no such polygon'), { statusCode: 404, code: 'POLYGON.NOT_FOUND' });
      if (u.role !== 'bureau' || f.properties.lead_bureau !== u.bureau) throw Object.assign(new Error('only the lead bureau'), { statusCode: 403, code: 'CASE.NOT_LEAD' });
      const c = caseOf(req.params.code);
      if (!from.includes(c.status)) throw Object.assign(new Error(`${c.status}: cannot ${action}`), { statusCode: 409, code: 'CASE.BAD_STATE' });
      const before = { status: c.status, verdict: c.verdict };
      c.status = to;
      if (action === 'verdict') {
        const { verdict, ...details } = req.body ?? {};
        c.verdict = String(verdict);
        c.verdict_details = details;
      }
      c.history.push({ at: new Date().toISOString(), actor: u.name, action, before, after: { status: c.status, verdict: c.verdict } });
      return { case: { code: req.params.code, status: c.status, verdict: c.verdict } };
    });
  transition('accept', ['issued'], 'accepted');
  transition('verdict', ['accepted', 'verified'], 'verified');

  await app.register(async (api) => {
    api.addHook('onRequest', async (req) => void userOf(req));
    await api.register(imageryRoutes, {
      imagery,
      canSeePolygon: async (req, code) => (await features(userOf(req), {}, code)).length > 0,
    });
  });

  const web = resolve(webDir);
  app.get('/*', async (req, reply) => {
    const path = decodeURIComponent(req.url.split('?')[0]);
    const file = resolve(web, '.' + (path === '/' ? '/index.html' : path));
    if (!file.startsWith(web + sep) || !existsSync(file) || !statSync(file).isFile()) return reply.code(404).send({ code: 'NOT_FOUND' });
    return reply.type(MIME[extname(file)] ?? 'application/octet-stream').send(createReadStream(file));
  });
  return app;
}
