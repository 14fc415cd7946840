/**
 * Routes declared once with their zod schemas: registered on Fastify, validated in the handler
 * (a failed parse is `400 VALIDATION` with the issues), and listed in `/openapi.json`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { z, type ZodType } from 'zod';
import { API_ERRORS, ApiError } from './errors.js';

export interface RouteSpec<P extends ZodType, Q extends ZodType, B extends ZodType> {
  method: HTTPMethods;
  url: string;
  summary: string;
  tags: string[];
  params?: P;
  query?: Q;
  body?: B;
  /** Request headers the route reads (name → description), for the OpenAPI document only. */
  headers?: Record<string, string>;
  /** Raw upload content types (the body is not JSON). */
  rawBody?: string[];
  /** Documented responses besides the errors every route can give. */
  responses?: Record<number, string>;
  /** false: no sign-in needed (only the session routes and the health check; the OpenAPI document is public too). */
  auth?: boolean;
  bodyLimit?: number;
  /** The route's own log level (Fastify's): 'warn' keeps a monitoring probe's every request out of the log. */
  logLevel?: 'warn' | 'info';
}

export interface Parsed<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

/** Edit distance with adjacent transpositions (optimal string alignment): `stauts` is 1 from `status`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * What to say of a key the schema does not declare: its name, the declared key it is likely a
 * typo of (within 2 edits), else the keys there are. A dropped filter once answered with the
 * caller's whole scope; a refusal that names the key is the fix a script's author needs.
 */
export function unknownKeyMessage(part: 'query' | 'body', key: string, known: string[]): string {
  const what = part === 'query' ? 'query parameter' : 'field';
  const near = known
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
    .filter(({ k, d }) => d <= Math.min(2, Math.max(1, Math.floor(k.length / 3))))
    .sort((x, y) => x.d - y.d)[0];
  if (near) return `unknown ${what} '${key}' (did you mean '${near.k}'?)`;
  if (known.length === 0) return part === 'query' ? `unknown ${what} '${key}' (this route takes none)` : `unknown ${what} '${key}'`;
  return `unknown ${what} '${key}' (it takes ${known.join(', ')})`;
}

/** A query schema as a route checks it: strict, so an unknown key is refused rather than dropped; none at all when the route declares none. */
export function strictQuery(schema: ZodType | undefined): ZodType {
  if (schema === undefined) return z.object({}).strict();
  if (!(schema instanceof z.ZodObject)) throw new Error('a route query schema must be a z.object (its keys are what the route accepts)');
  return schema.strict();
}

/**
 * The body of a route that declares none: nothing, an empty text, or `{}` (the page sends one to accept). A field
 * is refused by name like any undeclared one: `{"role": "lead"}` to a route that takes no body
 * was once answered 200 as if it had been applied.
 */
const NO_BODY = z.object({}).strict();

/** A NUL, or half of a surrogate pair: JSON and a URL carry them, PostgreSQL's text and jsonb do not. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Fields never stored, skipped by the check: a password (the sign-in's, any new or current one a route
 * takes) is only hashed, so whatever it holds is checked by the hash. Refused here, an account whose
 * password holds a NUL (set by `tuban user add` before checkPasswordPolicy refused one) could not sign in.
 */
const NEVER_STORED = /^(?:.*_)?password$/;

/**
 * Where `data` (a parsed body, query or params) holds a string the database cannot store, each with why.
 * Walked with one stack of keys, joined into a path only at a find: a split's 95 000 coordinates
 * allocate no path each.
 */
function unstorableText(data: unknown, root: string, out: { path: string; message: string }[]): void {
  const at: (string | number)[] = [root];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = UNSTORABLE.exec(v);
      if (m) out.push({ path: at.join('.'), message: m[0] === '\u0000' ? `a NUL character (\\u0000) at position ${m.index}, which cannot be stored: remove it` : `half of a surrogate pair (\\u${m[0].charCodeAt(0).toString(16)}) at position ${m.index}: not Unicode text` });
    } else if (Array.isArray(v)) {
      const top = at.length;
      for (let i = 0; i < v.length; i++) {
        const e = v[i];
        if (typeof e !== 'string' && (typeof e !== 'object' || e === null)) continue; // a coordinate, a flag: nothing to read
        at[top] = i;
        walk(e);
      }
      at.length = top;
    } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      const top = at.length;
      for (const k of Object.keys(v)) {
        if (NEVER_STORED.test(k)) continue;
        at.length = top;
        if (UNSTORABLE.test(k)) out.push({ path: at.join('.'), message: 'a key with a NUL character or half of a surrogate pair' });
        at[top] = k;
        walk((v as Record<string, unknown>)[k]);
      }
      at.length = top;
    }
  };
  walk(data);
}

export function parseWith<T>(schema: ZodType<T> | undefined, data: unknown, part: string): T {
  if (!schema) return undefined as T;
  const r = schema.safeParse(data ?? (part === 'body' ? undefined : {}));
  if (r.success) {
    // Checked on what the route takes (unknown keys are refused above by name): such text once
    // reached the database and came back a 500 INTERNAL (`unsupported Unicode escape sequence`).
    const bad: { path: string; message: string }[] = [];
    unstorableText(r.data, part, bad);
    if (bad.length > 0) throw new ApiError('VALIDATION', bad.map((i) => `${i.path}: ${i.message}`).join('; '), { issues: bad });
    return r.data;
  }
  const known = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  // The first MAX_ISSUES named, the rest counted: a body of 100 000 unknown fields (1 MB) was answered
  // with each one named back, 14 MB and seconds of the server's one thread, to anyone (the sign-in).
  const issues: { path: string; message: string }[] = [];
  let more = 0;
  for (const i of r.error.issues) {
    const at = [part, ...i.path.map(String)];
    // One issue per unknown key, at its own path, saying which key it is and which was meant.
    const keyed = part === 'query' || part === 'body' ? part : null;
    const keys = i.code === 'unrecognized_keys' && keyed && i.path.length === 0 ? i.keys : null;
    for (const key of keys ?? [null]) {
      if (issues.length >= MAX_ISSUES) more++;
      else issues.push(key === null || !keyed ? { path: at.join('.'), message: i.message } : { path: [...at, key].join('.'), message: unknownKeyMessage(keyed, key, known) });
    }
  }
  const listed = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new ApiError('VALIDATION', more > 0 ? `${listed}; and ${more} more` : listed, { issues, ...(more > 0 ? { issues_left_off: more } : {}) });
}

/** How many problems a refusal names (the rest are counted). */
const MAX_ISSUES = 20;

export class ApiRegistry {
  private readonly specs: RouteSpec<ZodType, ZodType, ZodType>[] = [];

  route<P extends ZodType = ZodType, Q extends ZodType = ZodType, B extends ZodType = ZodType>(
    app: FastifyInstance,
    spec: RouteSpec<P, Q, B>,
    handler: (req: FastifyRequest, reply: FastifyReply, input: Parsed<z.output<P>, z.output<Q>, z.output<B>>) => Promise<unknown>,
  ): void {
    this.specs.push(spec as unknown as RouteSpec<ZodType, ZodType, ZodType>);
    // Every route's query is strict, one that declares none included: a mistyped filter is a 400, never "everything".
    const query = strictQuery(spec.query);
    app.route({
      method: spec.method,
      url: spec.url,
      ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
      ...(spec.logLevel ? { logLevel: spec.logLevel } : {}),
      handler: async (req, reply) => {
        // Raw bytes (a type only the evidence upload takes) are no JSON body: read as one they were an
        // object of as many fields as bytes, each refused by name (1 MB: 17 s and a 146 MB answer).
        if (!spec.rawBody && Buffer.isBuffer(req.body) && req.body.length > 0) {
          throw new ApiError('BODY.UNSUPPORTED_TYPE', `${String(req.headers['content-type']).slice(0, 100)}: send the body as application/json`);
        }
        const input = {
          params: parseWith(spec.params, req.params, 'params'),
          query: parseWith(query, req.query, 'query'),
          body: spec.rawBody ? req.body : spec.body ? parseWith(spec.body, req.body, 'body') : parseWith(NO_BODY, req.body === '' ? {} : (req.body ?? {}), 'body'),
        } as Parsed<z.output<P>, z.output<Q>, z.output<B>>;
        return handler(req, reply, input);
      },
    });
  }

  /**
   * Lists a route that a plugin registers with its own handler (the imagery tiles: binary bodies,
   * their own error shape) in `/openapi.json`, without registering or validating anything.
   */
  document(spec: RouteSpec<ZodType, ZodType, ZodType>): void {
    this.specs.push(spec);
  }

  /** OpenAPI 3.0 from the registered routes' zod schemas. */
  openapi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const json = (s: ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    const asParams = (s: ZodType | undefined, where: 'path' | 'query') => {
      if (!s) return [];
      const js = json(s) as { properties?: Record<string, unknown>; required?: string[] };
      return Object.entries(js.properties ?? {}).map(([name, schema]) => ({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema }));
    };
    for (const s of this.specs) {
      const path = s.url.replace(/:([A-Za-z_]+)/g, '{$1}');
      const errors = Object.fromEntries(
        Object.entries(API_ERRORS)
          .filter(([, e]) => e.status >= 400)
          .reduce((m, [code, e]) => m.set(e.status, [...(m.get(e.status) ?? []), code]), new Map<number, string[]>()),
      );
      const responses: Record<string, unknown> = { ...Object.fromEntries(Object.entries(s.responses ?? { 200: 'OK' }).map(([k, v]) => [k, { description: v }])) };
      for (const st of s.auth === false ? [400, 500, 503] : [400, 401, 403, 404, 409, 500, 503]) {
        responses[st] ??= { description: `error {code, message}; codes: ${(errors[st] ?? []).join(', ')}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      }
      paths[path] ??= {};
      paths[path][s.method.toString().toLowerCase()] = {
        summary: s.summary,
        tags: s.tags,
        ...(s.auth === false ? { security: [] } : {}),
        parameters: [
          ...asParams(s.params, 'path'),
          ...asParams(s.query, 'query'),
          ...Object.entries(s.headers ?? {}).map(([name, description]) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } })),
        ],
        ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(s.body) } } } } : {}),
        ...(s.rawBody ? { requestBody: { required: true, content: Object.fromEntries(s.rawBody.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) } } : {}),
        responses,
      };
    }
    return {
      openapi: '3.0.3',
      info,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, cookie: { type: 'apiKey', in: 'cookie', name: 'tuban_session' } },
        schemas: {
          Error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string', enum: Object.keys(API_ERRORS) }, message: { type: 'string' } },
          },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
      paths,
    };
  }
}
