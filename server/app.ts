/**
 * The Tuban HTTP app as a function of its dependencies (database, data directory, secret,
 * deadlines, clock), so tests build the same app and call `app.inject()`. `tuban serve` only adds
 * the listening socket (server/cli/serve-command.ts).
 *
 * Contexts: public routes (sign-in, OpenAPI, the page) and the authenticated API are siblings; the
 * `onRequest` hook that resolves the user lives only in the API's context, so what needs a token
 * follows from where a route is registered, not from URL string tests.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { CREDENTIALS_VARY, sendPrivateCached } from './private-cache.js';
import { compressAnswer } from './compression.js';
import type { Feature, Geometry } from 'geojson';
import type { z, ZodType } from 'zod';
import type { Database } from '../pipeline/store/queryable.js';
import { batchRulePaths, ruleNames, ruleTablesOfPaths, ruleTablesOfPlans, type RuleNames } from '../pipeline/route/batch-rule-tables.js';
import { workflowLabelsModule } from './workflow-labels.js';
import { exportLedger } from '../pipeline/outputs/ledger-exports.js';
import { quarterReport, reportCsvBytes, reportXlsxBytes } from '../pipeline/reports/quarter-report.js';
import type { LedgerFormat } from '../schemas/api.js';
import { can, townshipKey, type Permission, type User } from './access/roles.js';
import { ApiRegistry } from './api-registry.js';
import * as S from '../schemas/api.js';
import { DUMMY_HASH, verifyPassword } from './auth/password.js';
import { SignInThrottle, throttleClient } from './auth/sign-in-throttle.js';
import { signToken, TOKEN_TTL_S, verifyToken } from './auth/token.js';
import { disableUser, enableUser, endSessions, findUser, listUsers } from './auth/user-store.js';
import { holidaysUnknownFor, ruleText, type DeadlineRuleId, type Deadlines } from './deadlines/rules.js';
import { API_ERRORS, ApiError } from './errors.js';
import { TubanError } from '../schemas/errors.js';
import { checkFileName, discardUnrecorded, downloadName, evidencePath, MAX_EVIDENCE_BYTES, storeEvidence } from './evidence/evidence-store.js';
import * as A from './workflow/actions.js';
import { assertActor, assertAllowed, loadCase, sweepDeadlines, syncCases, type ActionContext } from './workflow/case-store.js';
import { inboxCounts, listPolygonsJson, polygonCard, polygonFeatureByCode } from './workflow/polygon-queries.js';
import { fieldKml } from './workflow/field-kml.js';
import { recheckLatest, verdictRecheckWindow } from './workflow/recheck-date.js';
import { allowedFrom } from './workflow/state-machine.js';
import { registerMapRoutes } from './map-routes.js';
import { checkDatabase, packageVersion } from './health.js';
import { trackStatements } from './statements-in-flight.js';
import { pageRoutes } from './page-routes.js';
import { chinaDate } from '../pipeline/iso-date.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: User | null;
  }
}

/** Before/after image chips of a polygon, provided by the imagery module (server/imagery/). */
export type ChipSource = (feature: Feature<Geometry>, which: 'before' | 'after') => Promise<{ png: Buffer; date?: string } | null>;

/** What a plugin registered inside the authenticated API context may use. */
export interface ServerDeps {
  db: Database;
  dataDir: string;
  today: () => string;
  /** The polygon as a GeoJSON Feature if `user` may see it, else POLYGON.NOT_FOUND (scope applied in SQL). */
  visiblePolygon: (user: User, code: string) => Promise<Feature<Geometry>>;
  requireUser: (req: FastifyRequest, permission?: Permission) => User;
  /** The case sync and deadline sweep every read of cases runs first when due (a batch's polygons become cases). */
  maintain: () => Promise<void>;
  /** The API's route list, for plugins that register routes of their own (`ApiRegistry.document`). */
  registry: ApiRegistry;
}

export interface AppOptions {
  db: Database;
  dataDir: string;
  secret: Buffer;
  deadlines: Deadlines;
  /** The clock; tests move it to cross deadlines. */
  now?: () => Date;
  /** Directory of the page (index.html …), served at `/` when it exists. */
  webDir?: string | null;
  logger?: FastifyServerOptions['logger'];
  /** How often reads first create missing cases and sweep deadlines (ms; 0 = before every read). */
  maintainEveryMs?: number;
  maxEvidenceBytes?: number;
  chips?: ChipSource;
  /**
   * Reverse proxies whose X-Forwarded-For/-Proto/-Host are honoured (Fastify's `trustProxy`, as
   * `TUBAN_TRUST_PROXY` lists them): the client address the sign-in throttle counts, https for the
   * cookie's Secure flag, and the host the cross-origin check compares.
   */
  trustProxy?: string;
  /** How long `GET /api/health` waits for the database (ms; default HEALTH_TIMEOUT_MS). */
  healthTimeoutMs?: number;
  /** How long the oldest of this server's own work may hold a busy embedded database before `GET /api/health` says `stuck` (ms; default HEALTH_STUCK_MS). */
  healthStuckMs?: number;
  /**
   * How long a stopping server (close(): SIGTERM/SIGINT in `tuban serve`) waits for the requests in
   * flight before it cuts their connections (ms; default STOP_GRACE_MS).
   */
  stopGraceMs?: number;
  /** Extra routes (imagery tiles …), registered inside the authenticated /api context. */
  plugins?: ((api: FastifyInstance, deps: ServerDeps) => Promise<void>)[];
}

export const SESSION_COOKIE = 'tuban_session';

/** Under systemd's default TimeoutStopSec (90 s), so the server closes its database itself before a SIGKILL. */
export const STOP_GRACE_MS = 20_000;

/** Never log credentials: the Authorization header, cookies, and any `password` field. */
export const LOG_REDACT = {
  paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'password', '*.password', 'body.password', 'token', '*.token'],
  censor: '[redacted]',
};

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.pbf': 'application/x-protobuf',
};

/**
 * The page's Content-Security-Policy: its own modules, styles, API and tiles only, no inline script.
 * Styles allow inline because the page's templates colour status dots with style attributes;
 * MapLibre starts its workers from a blob: URL and draws images from blob: and data: URLs (its CSS
 * icons, object URLs of chips and photos fetched with the token).
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "worker-src 'self' blob:",
  "child-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Whether `file` is one of the page's own assets under `web`: a file of a type the page loads (the
 * MIME table), not a test source (`*.test.*`, which sit beside the modules) nor a hidden file.
 */
function isPageAsset(web: string, file: string): boolean {
  if (!file.startsWith(web + sep)) return false;
  const parts = file.slice(web.length + 1).split(sep);
  if (parts.some((p) => p.startsWith('.')) || /\.test\./.test(parts[parts.length - 1])) return false;
  return Object.hasOwn(MIME, extname(file)) && existsSync(file) && statSync(file).isFile();
}

/** A file the lead bureau downloads (ledger, report): computed for this request, never cached. */
function sendDownload(reply: FastifyReply, bytes: Uint8Array, type: string, filename: string): FastifyReply {
  return reply.type(type).header('content-disposition', `attachment; filename="${filename}"`).header('cache-control', 'private, no-store').send(Buffer.from(bytes));
}

/** How the action routes document their optional If-Match (openapi.json). */
const IF_MATCH_DOC = {
  'If-Match': 'optional: the case `version` the caller acted on (the card\'s case.version), as "7"; a case changed since is 409 CASE.STALE instead of being overwritten',
};

/**
 * The case version an action's If-Match names: `"7"` (an entity tag), `W/"7"` or `7`; `*` or none
 * is no condition. Anything else is a 400: a page that meant to guard its change must not go unguarded.
 */
function caseVersionIn(header: string | string[] | undefined): number | undefined {
  if (header === undefined || header === '*') return undefined;
  const m = typeof header === 'string' ? /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header) : null;
  if (!m) throw new ApiError('VALIDATION', `If-Match: ${String(header)} is not a case version (send the card's case.version, as "7")`);
  return Number(m[1]);
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether the page that sent `req` is this server's own: its Origin (else its Referer) names the
 * request's host. Browsers stamp Origin on every POST/PUT/PATCH/DELETE, same-origin fetches
 * included; a 'null' or unparsable source counts as foreign.
 */
function fromOwnPage(req: FastifyRequest): boolean {
  const source = req.headers.origin ?? req.headers.referer;
  if (!source || source === 'null') return false;
  try {
    const from = new URL(source);
    // Parsed with the source's scheme, so a default port written out ('host:80') compares equal.
    return from.host === new URL(`${from.protocol}//${req.host}`).host;
  } catch {
    return false;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/**
 * A request Node's HTTP parser refuses before Fastify sees it (most often a URL with raw, not
 * percent-encoded, non-ASCII text such as `?name=现场.jpg`): answered in the API's own error shape,
 * with what to do, instead of Fastify's bare `Client Error`.
 */
function answerMalformedRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ code: 'REQUEST.MALFORMED', message: `${API_ERRORS['REQUEST.MALFORMED'].message} (${err.code ?? err.message})` });
  socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export async function buildApp(given: AppOptions): Promise<FastifyInstance> {
  // Every statement counted, so the health check can tell the database busy with ours from gone.
  const opts: AppOptions = { ...given, db: trackStatements(given.db) };
  const now = opts.now ?? (() => new Date());
  const today = () => chinaDate(now());
  const maxEvidence = opts.maxEvidenceBytes ?? MAX_EVIDENCE_BYTES;
  // Bureau and zone names from the rule tables the database's batches routed with (refreshed with
  // the case sync), so the page and the card say what the city's table says.
  let names: RuleNames = ruleNames(await ruleTablesOfPlans([]));
  let namesKey: string | null = null;
  const refreshNames = async () => {
    // One small query per pass; the files are read again only when the batches name other ones.
    const paths = await batchRulePaths(opts.db);
    if (paths.join('\n') === namesKey) return;
    names = ruleNames(await ruleTablesOfPaths(paths));
    namesKey = paths.join('\n');
  };
  await refreshNames();
  const bureauName = (id: string) => names.bureaus[id] ?? id;
  const ctx: ActionContext = { db: opts.db, deadlines: opts.deadlines, today };
  const registry = new ApiRegistry();
  const throttle = new SignInThrottle(opts.db);

  const app = Fastify({
    logger: opts.logger ?? false,
    // JSON bodies are small (a split is the largest); uploads set their own limit on their route.
    bodyLimit: 2 * 1024 * 1024,
    return503OnClosing: true,
    trustProxy: opts.trustProxy ?? false,
    clientErrorHandler: answerMalformedRequest,
  });
  app.decorateRequest('user', null);
  // Stopping (close): Fastify stops accepting, answers 503 to new requests on open connections and
  // lets the requests in flight finish, but a keep-alive connection whose request finishes after
  // that stays open for its keep-alive timeout (72 s) and holds the stop up. So the answers sent
  // while stopping say `Connection: close`, idle connections are closed as they come, and after
  // the grace period the connections still busy are cut.
  let stopping = false;
  const stopTimers: NodeJS.Timeout[] = [];
  app.addHook('preClose', async () => {
    stopping = true;
    const server = app.server;
    if (!server.listening) return;
    stopTimers.push(setInterval(() => server.closeIdleConnections(), 100).unref());
    const graceMs = opts.stopGraceMs ?? STOP_GRACE_MS;
    stopTimers.push(
      setTimeout(() => {
        app.log.warn(`stopping: requests still in flight after ${graceMs / 1000} s; their connections are cut`);
        server.closeAllConnections();
      }, graceMs).unref(),
    );
  });
  app.addHook('onClose', async () => {
    for (const t of stopTimers) clearTimeout(t);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (stopping) reply.header('connection', 'close');
    // Evidence and page files are served with their own types; browsers must not guess others.
    reply.header('x-content-type-options', 'nosniff');
    // No other site may frame the page (clickjacking); CSP's frame-ancestors says it to newer browsers.
    reply.header('x-frame-options', 'DENY');
    // The page's URL names a case and a month: a link out of it does not send them (its own requests do,
    // so the cross-origin check's Referer stays).
    reply.header('referrer-policy', 'same-origin');
    // An API answer that says nothing of caching (the card, the list, counts, accounts, an error, the
    // sign-in's token) is one user's scope: kept by no cache, neither a shared proxy (the page signs in
    // by cookie, which RFC 9111 does not keep a shared cache from storing) nor the disk of an office
    // PC that two bureaus share. Those that say their own (the map, tiles, chips, evidence) keep it.
    // The route's own path where one matched: the router decodes `/%61pi/me` to /api/me, the raw URL does not.
    const api = req.url.startsWith('/api/') || req.routeOptions.url?.startsWith('/api/') === true;
    if (api && !reply.hasHeader('cache-control')) reply.header('cache-control', 'private, no-store');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.header('content-security-policy', PAGE_CSP);
    return payload;
  });
  // Text answers gzipped for clients that take it, with their own ETag and Vary (compression.ts):
  // one hook for every context, the public page and MapLibre included; after the routes' auth hooks.
  app.addHook('onSend', compressAnswer);
  app.addContentTypeParser(['image/jpeg', 'application/pdf', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // ------------------------------------------------------------------ maintenance on read
  let lastMaintained = -Infinity;
  let lastFull = -Infinity;
  let watermark: string | null = null;
  let maintaining: Promise<void> | null = null;
  const maintainEvery = opts.maintainEveryMs ?? 10_000;
  /**
   * How far before the last watermark the incremental pass looks. On a server, a batch transaction
   * that began before the watermark (its rows carry its start time) may commit after it: an hour.
   * The embedded database is one session held by this process: the commands it serves through its
   * socket (`shared-database.ts`) take turns with a pass on that session, so no transaction is open
   * across a pass's watermark, and rows committed later carry a later start time: none. With
   * the hour, every 10 s pass re-hashed all polygons of a batch younger than an hour, holding
   * PGlite's only session for 0.8 s or more (issue 13: PGlite's p95 with users pausing was 0.4–1.5 s).
   */
  const lookbackMs = opts.db.kind === 'pglite' ? 0 : 3600_000;
  /**
   * New batch polygons get their cases, re-run geometry changes get flagged, deadlines get swept.
   * Incremental from the last run's watermark, less `lookbackMs`: a batch transaction that began
   * before it (its rows carry its start time) and committed after is still seen. A full pass runs hourly.
   */
  const maintain = async (force = false): Promise<void> => {
    if (!force && Date.now() - lastMaintained < maintainEvery) return;
    // Reads do not queue behind a pass already running (only the first, and forced ones, wait).
    if (maintaining && !force && lastMaintained > -Infinity) return;
    const pass = (maintaining ??= (async () => {
      try {
        const full = force || Date.now() - lastFull > 3600_000;
        const since = full || !watermark ? null : new Date(Date.parse(watermark) - lookbackMs).toISOString();
        const r = await syncCases(opts.db, opts.deadlines, since, today());
        if (full) lastFull = Date.now();
        watermark = r.watermark;
        await sweepDeadlines(opts.db, today(), opts.deadlines);
        await refreshNames();
        lastMaintained = Date.now();
      } finally {
        maintaining = null;
      }
    })());
    // Once a pass has completed, a periodic one runs behind the read that started it instead of in
    // front of it (issue 13): that read waited for the whole pass, every 10 s under load. The very first
    // read, forced passes (POST /api/sweep) and maintainEveryMs 0 ("before every read") still wait.
    if (!force && maintainEvery > 0 && lastMaintained > -Infinity) {
      pass.catch((err: unknown) => app.log.error({ err }, 'case sync / deadline sweep failed; the next read retries'));
      return;
    }
    await pass;
  };
  // A pass still running behind a read finishes before the database is closed after the app.
  app.addHook('onClose', async () => {
    await maintaining?.catch(() => undefined);
  });

  // ------------------------------------------------------------------ errors
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    const onEvidence = /\/evidence(\?|$)/.test(req.url);
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new ApiError(onEvidence ? 'EVIDENCE.TOO_LARGE' : 'BODY.TOO_LARGE', onEvidence ? `limit ${maxEvidence} bytes` : undefined);
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') e = new ApiError(onEvidence ? 'EVIDENCE.BAD_TYPE' : 'BODY.UNSUPPORTED_TYPE');
    else if (err.code?.startsWith('FST_ERR_CTP') || (err.statusCode === 400 && err instanceof SyntaxError)) e = new ApiError('BODY.MALFORMED', err.message);
    else if (err.code === 'FST_ERR_VALIDATION') e = new ApiError('VALIDATION', err.message);
    else if (err instanceof TubanError && err.code === 'DB.TRANSIENT') {
      // PostgreSQL stopped, restarting or failing over (or a deadlock its retries did not outlast):
      // the client should come back, not report a bug; the operator's log says what the connection said.
      req.log.error({ code: err.code, reason: err.message, err }, 'the database did not answer');
      e = new ApiError('DB.UNAVAILABLE');
      reply.header('retry-after', '30');
    } else {
      req.log.error({ err }, 'unhandled error');
      e = new ApiError('INTERNAL', `request ${req.id}`);
    }
    if (e.status >= 500 && err instanceof ApiError) req.log.error({ err }, e.message);
    // A route may have set a file's type and headers before failing: the error is JSON, never cached.
    reply.removeHeader('content-disposition');
    reply.removeHeader('cache-control');
    return reply.code(e.status).type('application/json; charset=utf-8').send({ code: e.code, message: e.message, ...(e.extra ?? {}) });
  });

  const authenticate = async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const token = bearer ?? cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!token) throw new ApiError('AUTH.REQUIRED');
    // A browser sends the cookie with requests other sites make it send (CSRF): changes riding on
    // the cookie must come from this server's page. A bearer header is never added by a browser.
    if (!bearer && UNSAFE_METHODS.has(req.method) && !fromOwnPage(req)) throw new ApiError('AUTH.CROSS_ORIGIN', `${req.method} with the session cookie from ${req.headers.origin ?? req.headers.referer ?? 'no Origin or Referer'}`);
    const payload = verifyToken(opts.secret, token, now().getTime());
    // The same read also says whether this token's session was ended (sign-out, disable).
    const row = await findUser(opts.db, payload.sub);
    if (!row || row.disabled) throw new ApiError('AUTH.TOKEN_INVALID', 'the account is disabled or gone');
    if (row.sessions_valid_after_ms !== null && payload.iat_ms <= row.sessions_valid_after_ms) throw new ApiError('AUTH.TOKEN_INVALID', 'signed out');
    req.user = { name: row.name, role: row.role, bureau: row.bureau, district: row.district, township: row.township };
  };

  /** The user the request's credentials name, or null when it has none or none valid (sign-out). */
  const signedInUser = async (req: FastifyRequest): Promise<User | null> => {
    try {
      await authenticate(req);
      return req.user;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  };

  const requireUser = (req: FastifyRequest, permission?: Permission): User => {
    if (!req.user) throw new ApiError('AUTH.REQUIRED');
    if (permission && !can(req.user, permission)) throw new ApiError('AUTH.FORBIDDEN', `${req.user.role}${req.user.township ? ` of township ${req.user.township}` : ''} lacks ${permission}`);
    return req.user;
  };

  app.setNotFoundHandler(async (req) => {
    // Unknown routes under /api say 401 to the anonymous: probing paths tells nothing without signing
    // in. (The route list itself is public: /openapi.json documents the API; no data is in it.)
    if (req.url.startsWith('/api/') || req.url === '/api') await authenticate(req);
    throw new ApiError('NOT_FOUND', `${req.method} ${req.url.split('?')[0]}`);
  });

  // ------------------------------------------------------------------ public
  await app.register(async (pub) => {
    registry.route(
      pub,
      { method: 'POST', url: '/api/session', summary: 'Sign in: a token (also set as an HttpOnly SameSite cookie for the page)', tags: ['session'], body: S.Session, auth: false, responses: { 200: '{token, expires_in, user}' } },
      async (req, reply, { body }) => {
        // Password guessing, counted per client address (a stranger's failures never lock the
        // owner out from elsewhere) and refused before the password is checked. Counted as a
        // failure until the password proves right, so a burst of guesses at once passes no more.
        const client = throttleClient(req.ip);
        const { retryAfterMs: wait, attempt } = await throttle.attempt(client, body.name, Date.now());
        if (wait > 0) throw new ApiError('AUTH.THROTTLED', `retry after ${Math.ceil(wait / 60_000)} min`);
        const row = await findUser(opts.db, body.name);
        // Verify against a dummy hash when the user is missing, so timing does not reveal names.
        const ok = await verifyPassword(body.password, row?.password_hash ?? DUMMY_HASH);
        if (!row || !ok || row.disabled) throw new ApiError('AUTH.BAD_CREDENTIALS');
        await throttle.takeBack(attempt);
        await throttle.recordSuccess(client, body.name);
        // A sign-in always postdates the last sign-out, even within its millisecond (or a stopped test clock).
        const issued = Math.max(now().getTime(), (row.sessions_valid_after_ms ?? -Infinity) + 1);
        const token = signToken(opts.secret, row.name, issued);
        const secure = req.protocol === 'https' ? '; Secure' : '';
        reply.header('set-cookie', `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${TOKEN_TTL_S}${secure}`);
        return { token, expires_in: TOKEN_TTL_S, user: { name: row.name, role: row.role, bureau: row.bureau, district: row.district, township: row.township } };
      },
    );
    registry.route(
      pub,
      { method: 'DELETE', url: '/api/session', summary: "Sign out: ends every session of the token's or cookie's user (tokens issued until now are refused) and clears the cookie", tags: ['session'], auth: false },
      async (req, reply) => {
        const user = await signedInUser(req);
        if (user) await endSessions(opts.db, user.name, now());
        reply.header('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
        return { ok: true };
      },
    );
    // For monitoring, without a sign-in: one trivial query, never the case sync (maintain) nor the
    // sign-in throttle; a probe's requests are logged only when the database does not answer.
    let databaseAnswered = true;
    registry.route(
      pub,
      {
        method: 'GET',
        url: '/api/health',
        summary: 'For monitoring, no sign-in: 200 when the database answers a trivial query within 2 s (or is busy with this server\'s own work, the oldest of it under way for at most 5 min), else 503 with the class of the problem (reason: timeout, unreachable, closed, error, stuck)',
        tags: ['health'],
        auth: false,
        logLevel: 'warn',
        responses: {
          200: '{status: "ok", database: "ok", version, schema}: version is this Tuban\'s, schema the database\'s migration version; database "busy" (schema null): this server\'s own work has kept the database for longer than 2 s (a long export; on PostgreSQL also a request waiting on a lock, or every pool connection in use)',
          503: '{status: "unavailable", database: "unavailable", reason, version, schema: null}',
        },
      },
      async (req, reply) => {
        const health = await checkDatabase(opts.db, opts.healthTimeoutMs, opts.healthStuckMs);
        reply.header('cache-control', 'no-store');
        if ('busy' in health) {
          // Alive and at work: no alarm, but a line, so a busy database that never frees shows in the
          // log. Through the server's logger: this route's own (logLevel warn) drops info lines.
          req.server.log.info({ reqId: req.id }, `health: ${health.detail}: busy`);
          return { status: 'ok', database: 'busy', version: packageVersion(), schema: null };
        }
        if (health.ok) {
          if (!databaseAnswered) req.log.warn('health: the database answers again');
          databaseAnswered = true;
          return { status: 'ok', database: 'ok', version: packageVersion(), schema: health.schema };
        }
        // The detail (a host, a port, a path) is for the log only; the answer says the class.
        req.log.warn(`health: the database is unavailable (${health.problem}): ${health.detail}`);
        databaseAnswered = false;
        return reply.code(503).send({ status: 'unavailable', database: 'unavailable', reason: health.problem, version: packageVersion(), schema: null });
      },
    );
    pub.get('/openapi.json', async () => registry.openapi({ title: 'Tuban bureau triage API', version: '1.0.0' }));
    // The page's labels, generated from schemas/ and the batches' rule tables (web/labels.js re-exports them).
    pub.get('/workflow-labels.js', async (_req, reply) => {
      await refreshNames(); // one small query; a batch routed with another table since the last read shows at once
      return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(workflowLabelsModule(names));
    });

    const web = opts.webDir && existsSync(opts.webDir) ? resolve(opts.webDir) : null;
    if (web) {
      pub.get('/*', async (req, reply) => {
        const path = decodeURIComponent(req.url.split('?')[0]);
        if (path.startsWith('/api/')) {
          await authenticate(req);
          throw new ApiError('NOT_FOUND', path);
        }
        const file = resolve(web, '.' + (path === '/' ? '/index.html' : path));
        if (!isPageAsset(web, file)) throw new ApiError('NOT_FOUND', path);
        return reply.type(MIME[extname(file)] ?? 'application/octet-stream').send(createReadStream(file));
      });
    }
  });

  // ------------------------------------------------------------------ authenticated API
  await app.register(async (api) => {
    api.addHook('onRequest', authenticate);

    const visiblePolygon = async (user: User, code: string) => {
      await maintain();
      return polygonFeatureByCode(opts.db, user, code, today(), bureauName, opts.deadlines);
    };

    registry.route(api, { method: 'GET', url: '/api/me', summary: "The signed-in user; a district user's district also by the name its layer gives it (district_name), a township user's township likewise (township_name) and whether a batch stored its outline (township_outline: it registers clues there)", tags: ['session'] }, async (req) => {
      const user = requireUser(req);
      if (user.township) {
        // The name the batches' township layer gives it (null before any batch placed a polygon there
        // or stored its outline); with its outline stored, its clues can be placed in it (clue-township.ts).
        const r = await opts.db.query<{ name: string | null; outline: boolean }>(
          `SELECT coalesce((SELECT name FROM townships WHERE left(code, 9) = $1 ORDER BY epoch DESC, key LIMIT 1),
                           (SELECT township_name FROM polygons WHERE left(township_code, 9) = $1 AND township_name IS NOT NULL LIMIT 1)) AS name,
                  EXISTS (SELECT 1 FROM townships WHERE left(code, 9) = $1) AS outline`,
          [townshipKey(user.township)],
        );
        return { ...user, township_name: r.rows[0].name, township_outline: r.rows[0].outline };
      }
      if (!user.district) return user;
      // The name the batches' district layer gives the code (null before any batch routed there).
      const r = await opts.db.query<{ name: string }>('SELECT district_name AS name FROM work_items WHERE district_code = $1 AND district_name IS NOT NULL LIMIT 1', [user.district]);
      return { ...user, district_name: r.rows[0]?.name ?? null };
    });

    registry.route(api, { method: 'GET', url: '/api/deadlines', summary: 'The deadline rules (kind, days, label; text: the name and clock the page shows) and the years the holiday calendar covers: a working-day due date in another year counted weekends only', tags: ['session'] }, async (req) => {
      requireUser(req);
      const rules = Object.fromEntries(Object.entries(opts.deadlines.rules).map(([id, r]) => [id, { ...r, text: ruleText(id as DeadlineRuleId, r) }]));
      return { rules, calendar_years: opts.deadlines.calendar.coveredYears };
    });

    registry.route(
      api,
      { method: 'GET', url: '/api/polygons', summary: 'Polygons and clues in your scope, as GeoJSON with workflow properties; keyset-paged by code, or most confident first (sort=confidence)', tags: ['polygons'], query: S.PolygonQuery },
      async (req, reply, { query }) => {
        const user = requireUser(req, 'polygons.read');
        await maintain();
        // The database writes the document; it is sent as it comes (polygon-queries.ts).
        return reply.type('application/json; charset=utf-8').send(await listPolygonsJson(opts.db, user, query, today(), names.bureaus, opts.deadlines));
      },
    );
    registry.route(
      api,
      { method: 'GET', url: '/api/polygons.geojson', summary: 'Map layer: polygons in a bounding box (same scope and filters, up to 10 000 by default)', tags: ['polygons'], query: S.MapQuery },
      async (req, reply, { query }) => {
        const user = requireUser(req, 'polygons.read');
        await maintain();
        const fc = await listPolygonsJson(opts.db, user, query, today(), names.bureaus, opts.deadlines);
        return reply.type('application/geo+json; charset=utf-8').header('cache-control', 'private, no-cache').header('vary', CREDENTIALS_VARY).send(fc);
      },
    );
    registry.route(
      api,
      { method: 'GET', url: '/api/polygons.kml', summary: "Field file (外业核查): every polygon of the filter in your scope as KML (a pin and the outline each, the facts in Chinese), for a phone map app; at most 20 000", tags: ['polygons'], query: S.FieldKmlQuery },
      async (req, reply, { query }) => {
        const user = requireUser(req, 'polygons.read');
        await maintain();
        const scope = user.township ?? user.bureau ?? user.district ?? 'all';
        const title = `${query.epoch ?? '全部月份'} ${user.bureau ? bureauName(user.bureau) : (user.district ?? '')} ${user.township ?? ''} 外业核查图斑`.replace(/\s+/g, ' ');
        const { kml } = await fieldKml(opts.db, user, query, today(), names.bureaus, opts.deadlines, title);
        return sendDownload(reply, Buffer.from(kml, 'utf8'), 'application/vnd.google-earth.kml+xml; charset=utf-8', `tuban-${query.epoch ?? 'all'}-${scope}.kml`);
      },
    );
    registry.route(
      api,
      { method: 'GET', url: '/api/inbox/counts', summary: 'Inbox counts in your scope: by status, overdue, geometry changed; the codes of open cases whose polygon a re-run no longer finds (vanished). lead_bureau: of the cases that bureau leads (the list\'s 主办 filter)', tags: ['polygons'], query: S.PolygonQuery.pick({ epoch: true, lead_bureau: true }) },
      async (req, _reply, { query }) => {
        const user = requireUser(req, 'polygons.read');
        await maintain();
        return inboxCounts(opts.db, user, today(), query.epoch, query.lead_bureau);
      },
    );
    registry.route(
      api,
      { method: 'GET', url: '/api/polygons/:code', summary: 'The polygon card: properties, case, history, evidence, parcels, escalations, chips, routing; for a continuing site, where its earlier case stands (previous_case, when in your scope) and, on a case that carries a site, the later polygons merged into it (sightings); later polygons of the site issued as their own cases (later_cases: the re-detection a 持续监测 case is re-checked against); previous_case.monitoring {watch, recheck_by} when the earlier case is under 持续监测', tags: ['polygons'], params: S.CodeParams },
      async (req, _reply, { params }) => {
        const user = requireUser(req, 'polygons.read');
        await maintain();
        // One statement: the feature, its case and the card's sections, under the scope predicate.
        const { feature, case: c, ...details } = await polygonCard(opts.db, user, params.code, today(), bureauName, opts.deadlines);
        const p = feature.properties as Record<string, unknown>;
        const base = `/api/polygons/${encodeURIComponent(params.code)}`;
        return {
          ...feature,
          // A working-day due date in a year whose holidays no calendar gave counted weekends only.
          case: {
            ...c,
            due_holidays_unknown: holidaysUnknownFor(opts.deadlines, c.due_rule, c.due_date),
            // 持续监测's re-check dates the page offers: a verdict's today (where one may be given), and how far the current one may move.
            recheck_window: allowedFrom('verdict', c.status) ? verdictRecheckWindow(opts.deadlines, today()) : null,
            recheck_latest: c.status === 'monitoring' ? await recheckLatest(opts.db, opts.deadlines, c) : null,
            // The 纪委 case files' day (rectification.files_due) passed with no handover recorded: a report
            // dropping that clock needs files_clock_correction (the page asks for the reason then).
            files_overdue: typeof c.rectification?.files_due === 'string' && c.rectification.files_due < today() && !(await A.filesHandedOver(opts.db, c)),
          },
          ...details,
          chips: { before: `${base}/chips/before.png`, after: `${base}/chips/after.png`, before_date: p.before_date, after_date: p.after_date },
          routing: {
            lead_bureau: c.lead_bureau,
            lead_bureau_name: bureauName(c.lead_bureau),
            co_bureaus: c.co_bureaus.map((id) => ({ id, name: bureauName(id) })),
            reason: p.routing_reason,
            rule_id: p.rule_id,
            overlaps: p.overlaps,
            routed_lead_bureau: p.lead_bureau,
          },
        };
      },
    );
    registry.route(
      api,
      { method: 'GET', url: '/api/polygons/:code/chips/:file', summary: 'Before/after image chip (PNG) cut from the batch imagery', tags: ['polygons'], params: S.CodeParams.extend({ file: S.ChipFile }) },
      async (req, reply, { params }) => {
        const user = requireUser(req, 'polygons.read');
        const feature = await visiblePolygon(user, params.code);
        const which = params.file.replace(/\.png$/, '') as 'before' | 'after';
        const chip = opts.chips ? await opts.chips(feature, which) : null;
        if (!chip) throw new ApiError('NOT_FOUND', `no ${which} chip for ${params.code}`);
        if (chip.date) reply.header('x-sensor-date', chip.date);
        return sendPrivateCached(req, reply, chip.png, 'image/png', 86_400);
      },
    );

    // One route per workflow action, run on the case version the caller's card showed when it sends one (If-Match).
    const action = <B extends ZodType>(url: string, summary: string, body: B | undefined, run: (actx: ActionContext, user: User, code: string, body: z.output<B>) => Promise<unknown>) =>
      registry.route(
        api,
        { method: 'POST', url: `/api/polygons/:code/${url}`, summary, tags: ['workflow'], params: S.CodeParams, headers: IF_MATCH_DOC, body, responses: { 200: '{case, result}' } },
        async (req, _reply, input) => {
          const user = requireUser(req);
          const expectedVersion = caseVersionIn(req.headers['if-match']);
          await maintain();
          return run({ ...ctx, expectedVersion }, user, input.params.code, input.body as z.output<B>);
        },
      );
    action('accept', 'Lead bureau signs for the polygon (issued → accepted)', undefined, (x, u, c) => A.accept(x, u, c));
    registry.route(
      api,
      {
        method: 'POST',
        url: '/api/polygons/accept',
        summary: 'Lead bureau signs for many polygons at once: each is accepted as POST …/{code}/accept would be (its own transaction and audit row); the others are listed with why not',
        tags: ['workflow'],
        body: S.AcceptMany,
        responses: { 200: '{accepted: [code], refused: [{code, error, message}]}' },
      },
      async (req, _reply, { body }) => {
        const user = requireUser(req);
        await maintain();
        return A.acceptMany(ctx, user, [...new Set(body.codes)]);
      },
    );
    action('verdict', 'Lead bureau records the verdict: legal (approval no.), illegal (violation type), other (reason); per parcel after a split', S.Verdict, (x, u, c, b) => A.recordVerdict(x, u, c, b));
    action('recheck-date', 'The bureau handling the case moves the re-check date of a case under 持续监测 (monitoring): not before today, at most recheck_max_months past the monitoring rule\'s date counted from the day it was put under monitoring; recorded in the history with the old and new dates', S.RecheckDate, (x, u, c, b) => A.moveRecheck(x, u, c, b));
    action('split', 'Split into parcels inside the polygon (areas recomputed in m² and 亩)', S.Split, (x, u, c, b) => A.split(x, u, c, b));
    action('rectification', 'Report rectification progress of an illegal finding', S.Rectification, (x, u, c, b) => A.rectify(x, u, c, b));
    action('close', 'Close (销号): legal/other verdicts, or illegal ones rectified to 100 %', S.Close, (x, u, c, b) => A.close(x, u, c, b));
    action('request-reassignment', 'Ask the lead bureau to route the polygon elsewhere', S.RequestReassignment, (x, u, c, b) => A.requestReassignment(x, u, c, b));
    action('reassign', 'Lead bureau (role lead) routes the polygon to another bureau', S.Reassign, (x, u, c, b) => A.reassign(x, u, c, b));
    action('review', 'Lead bureau reviews a closure (approve → reviewed; refuse → back)', S.Review, (x, u, c, b) => A.review(x, u, c, b));
    action('escalate', 'Lead bureau escalates (hand-over to the discipline commission within 15 days)', S.Escalate, (x, u, c, b) => A.escalate(x, u, c, b));
    action('hand-over', 'Lead bureau records a handover done (移送): to the discipline commission (纪委监委) or the police, with its date and reference; the ledger\'s 是否移送纪委监委 reads it', S.HandOver, (x, u, c, b) => A.handOver(x, u, c, b));
    action('urge', 'Lead bureau urges the bureau handling an open case (督办): a comment and optionally a day to act by; recorded in the history, changes no state or clock', S.Urge, (x, u, c, b) => A.urge(x, u, c, b));
    action('notes', 'Add a note (lead or co-handling bureau, lead role)', S.Note, (x, u, c, b) => A.addNote(x, u, c, b));
    action('confirm-geometry', 'Lead bureau confirms the verdict after a batch re-run changed the outline', S.ConfirmGeometry, (x, u, c, b) => A.confirmGeometry(x, u, c, b));
    action('withdraw', 'Lead bureau withdraws a case whose polygon a batch re-run no longer finds (图形灭失, any open state → vanished)', S.Withdraw, (x, u, c, b) => A.withdraw(x, u, c, b));
    action('separate', 'Lead bureau issues a polygon merged into an earlier site\'s case as its own case (another site after all: merged → issued)', S.Separate, (x, u, c, b) => A.separate(x, u, c, b));

    registry.route(
      api,
      {
        method: 'POST',
        url: '/api/polygons/:code/evidence',
        summary: `Upload evidence: the raw file as the body (JPEG photo or PDF, checked by content, ≤ ${maxEvidence} bytes), ?name=file name; EXIF time/GPS/azimuth read from photos`,
        tags: ['workflow'],
        params: S.CodeParams,
        headers: IF_MATCH_DOC,
        query: S.EvidenceQuery,
        rawBody: ['image/jpeg', 'application/pdf', 'application/octet-stream'],
        bodyLimit: maxEvidence,
      },
      async (req, _reply, { params, query, body }) => {
        const user = requireUser(req, 'case.contribute');
        const name = checkFileName(query.name);
        const expectedVersion = caseVersionIn(req.headers['if-match']);
        await maintain(); // a new batch's polygon has its case before its first upload, as before its first action
        // Check the actor and state before touching the disk, so a refused upload leaves nothing behind.
        const c = await loadCase(opts.db, user, params.code);
        assertActor(user, 'evidence', c);
        assertAllowed('evidence', c);
        if (!Buffer.isBuffer(body)) throw new ApiError('EVIDENCE.BAD_TYPE', 'send the file as the request body (image/jpeg, application/pdf or application/octet-stream)');
        const stored = await storeEvidence(opts.dataDir, body, maxEvidence);
        let recorded;
        try {
          recorded = await A.attachEvidence({ ...ctx, expectedVersion }, user, params.code, stored, name, query.note);
        } catch (e) {
          // The state changed between the check and the locked action: take the file back.
          await discardUnrecorded(opts.db, opts.dataDir, stored);
          throw e;
        }
        // An identical file found on disk may have been taken back by a refused upload meanwhile.
        if (!stored.created) await storeEvidence(opts.dataDir, body, maxEvidence);
        return recorded;
      },
    );
    registry.route(
      api,
      { method: 'GET', url: '/api/polygons/:code/evidence/:id', summary: 'One evidence file: a photo inline, anything else as a download', tags: ['workflow'], params: S.EvidenceParams },
      async (req, reply, { params }) => {
        const user = requireUser(req, 'polygons.read');
        await loadCase(opts.db, user, params.code);
        const r = await opts.db.query<{ sha256: string; mime: string; file_name: string }>('SELECT sha256, mime, file_name FROM evidence WHERE code = $1 AND id = $2', [params.code, params.id]);
        if (r.rows.length === 0) throw new ApiError('NOT_FOUND', `evidence ${params.id}`);
        const e = r.rows[0];
        // A photo (a JPEG by its magic bytes, sent with nosniff) opens in the browser from its thumbnail;
        // anything else is saved, never rendered under the server's origin.
        const disposition = e.mime === 'image/jpeg' ? 'inline' : 'attachment';
        // Opened before any header is set: a file missing from --data (restored without its evidence,
        // a second server on another data directory) is one clear error, not a stream failing mid-reply.
        const path = evidencePath(opts.dataDir, e.sha256);
        const file = await open(path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
          req.log.error(`evidence ${params.id} of ${params.code}: ${path} is missing from the data directory (--data); restore it from a backup (tuban restore) or point --data at the directory that holds it`);
          throw new ApiError('EVIDENCE.FILE_MISSING', `evidence ${params.id} of ${params.code}`);
        });
        return reply
          .type(e.mime)
          .header('content-disposition', `${disposition}; filename*=UTF-8''${encodeURIComponent(downloadName(e.file_name, e.mime))}`)
          // Were a browser to render it anyway (an old one, a PDF viewer), with no script and no origin of ours.
          .header('content-security-policy', "default-src 'none'; sandbox")
          .header('cache-control', 'private, max-age=31536000, immutable')
          .header('vary', CREDENTIALS_VARY)
          .send(file.createReadStream());
      },
    );
    registry.route(
      api,
      { method: 'POST', url: '/api/clues', summary: "Add a clue (patrol, public report, hotline) as a point or polygon; it enters the same workflow. warnings: its township's or village's code not under the unit above it (the layers disagree; kept as they say)", tags: ['workflow'], body: S.Clue, responses: { 201: "{code, warnings, code_mismatches}: warnings in English (as the log has them); code_mismatches the same, one each, as {unit, parent}, each unit {kind: district|township|village, code, name} (the page says them in Chinese)" } },
      async (req, reply, { body }) => {
        const user = requireUser(req, 'clue.add');
        const { code, warnings, mismatches } = await A.addClue(opts.db, opts.deadlines, user, body, today());
        // The layers are the operator's to fix, as a batch's report tells them.
        for (const w of warnings) req.log.warn({ code }, w);
        reply.code(201);
        return { code, warnings, code_mismatches: mismatches };
      },
    );
    registry.route(
      api,
      {
        method: 'GET',
        url: '/api/ledger/:file',
        summary: 'Lead bureau: the month ledger with each item\'s one disposition (ledger/{YYYY-MM}.xlsx|csv|gpkg|shp.zip|geojson), as `tuban ledger` writes it',
        tags: ['ledger'],
        params: S.LedgerParams,
      },
      async (req, reply, { params }) => {
        requireUser(req, 'case.oversee');
        await maintain(); // the newest batch's polygons get their cases before the ledger reads them
        const [, epoch, format] = S.LEDGER_FILE.exec(params.file)!;
        const out = await exportLedger(opts.db, epoch, format as LedgerFormat, { asOf: today() });
        return sendDownload(reply, out.bytes, out.contentType, out.filename);
      },
    );
    registry.route(
      api,
      {
        method: 'GET',
        url: '/api/report/:file',
        summary: "Lead bureau: the quarterly report (report/{YYYY}Q{n}.xlsx|csv: by district and lead bureau, with 零报告 lines), as `tuban report` writes it",
        tags: ['ledger'],
        params: S.ReportParams,
      },
      async (req, reply, { params }) => {
        requireUser(req, 'case.oversee');
        await maintain();
        const [, quarter, format] = S.REPORT_FILE.exec(params.file)!;
        const report = await quarterReport(opts.db, quarter, { asOf: today() });
        const [bytes, type] = format === 'xlsx' ? [await reportXlsxBytes(report), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'] : [reportCsvBytes(report), 'text/csv; charset=utf-8'];
        return sendDownload(reply, bytes, type, `report-${quarter}.${format}`);
      },
    );
    registry.route(api, { method: 'POST', url: '/api/sweep', summary: 'Lead bureau: create cases for new batch polygons and sweep deadlines now', tags: ['workflow'] }, async (req) => {
      requireUser(req, 'case.oversee');
      await maintain(true);
      return { ok: true, today: today() };
    });
    registry.route(api, { method: 'GET', url: '/api/users', summary: 'Admin: list accounts', tags: ['users'] }, async (req) => {
      requireUser(req, 'users.manage');
      return listUsers(opts.db);
    });
    // The embedded database is locked while the server runs, so `tuban user disable` cannot reach it: these can.
    registry.route(api, { method: 'POST', url: '/api/users/:name/disable', summary: 'Admin: disable an account; its sessions end at once', tags: ['users'], params: S.UserParams }, async (req, _reply, { params }) => {
      const admin = requireUser(req, 'users.manage');
      if (params.name === admin.name) throw new ApiError('USER.INVALID', 'you cannot disable your own account');
      await disableUser(opts.db, params.name, admin.name, now());
      return { name: params.name, disabled: true };
    });
    registry.route(api, { method: 'POST', url: '/api/users/:name/enable', summary: 'Admin: enable a disabled account (its old sessions stay ended)', tags: ['users'], params: S.UserParams }, async (req, _reply, { params }) => {
      const admin = requireUser(req, 'users.manage');
      await enableUser(opts.db, params.name, admin.name);
      return { name: params.name, disabled: false };
    });

    await registerMapRoutes(api, { db: opts.db, registry, today, maintain: () => maintain(), requireUser });

    const deps: ServerDeps = { db: opts.db, dataDir: opts.dataDir, today, visiblePolygon, requireUser, maintain: () => maintain(), registry };
    await pageRoutes(api, registry, deps);
    for (const plugin of opts.plugins ?? []) await plugin(api, deps);
  });

  return app;
}
