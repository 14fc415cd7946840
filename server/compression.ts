/**
 * Gzip for the server's text answers (one `onSend` hook, server/app.ts): the map's GeoJSON, inbox
 * pages, the field file's KML, OpenAPI, the page's JS/CSS and MapLibre shrink 3–30× for bureaus
 * on slow government VPNs. Imagery (PNG/WebP/JPEG), PDFs and xlsx/zip downloads are compressed
 * already and go as they are.
 *
 * A gzip body is another representation than the identity one (RFC 9110 §8.8.1): it gets its own
 * strong ETag, the identity tag with `-gzip` inside the quotes (as Apache does), and every
 * compressible answer says `Vary: Accept-Encoding` beside the credentials it varies on. The routes'
 * 304 checks (`ifNoneMatchHits`) accept either tag; a 304 answers with the tag the client holds.
 */
import { pipeline, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGzip, gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Level 3, measured (`node dist/server/bench-compression.js`, README "Bureau triage server"): the fast
 * levels 1–3 cost a fifth to a third of level 6's CPU for 10–30 % more bytes, and 3 is the smallest
 * of them (the lazy-matching level 4 came out larger than 3 on KML). The server has 2 cores for many users.
 */
export const GZIP_LEVEL = 3;
/** Below this a gzip body saves less than its headers and CPU cost. */
export const MIN_COMPRESS_BYTES = 1024;

const gzipAsync = promisify(gzip);

/** Types that compress: text, JSON/GeoJSON, XML/KML/SVG, JavaScript, and MVT tiles (uncompressed protobuf). */
export function isCompressible(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    /^application\/(?:json|javascript|xml|x-protobuf|vnd\.mapbox-vector-tile)$/.test(type) ||
    /\+(?:json|xml)$/.test(type)
  );
}

/**
 * Whether the client's Accept-Encoding takes gzip over identity: `gzip` (or `x-gzip`, or `*` when
 * gzip is not named) with q > 0, and not below an `identity` the client names with a higher q.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || header.trim() === '') return false;
  let gzipQ: number | undefined;
  let starQ: number | undefined;
  let identityQ = 0;
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.map((p) => /^q\s*=\s*([0-9.]+)$/.exec(p)).find((m) => m);
    const q = qParam ? Number(qParam[1]) : 1;
    if (Number.isNaN(q)) continue;
    if (name === 'gzip' || name === 'x-gzip') gzipQ = Math.max(gzipQ ?? 0, q);
    else if (name === '*') starQ = q;
    else if (name === 'identity') identityQ = q;
  }
  const q = gzipQ ?? starQ ?? 0;
  return q > 0 && q >= identityQ;
}

/** The gzip representation's tag of an identity ETag: `"abc"` → `"abc-gzip"`, `W/"abc"` → `W/"abc-gzip"`. */
export function gzipEtag(etag: string): string {
  return etag.replace(/"$/, '-gzip"');
}

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/**
 * Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 §13.1.2) in either of its
 * encodings: the identity tag or its gzip form. `*` names any.
 */
export function ifNoneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (typeof header !== 'string') return false;
  const want = opaque(etag);
  const wantGzip = opaque(gzipEtag(etag));
  return header.split(',').some((t) => {
    const tag = opaque(t);
    return tag === '*' || tag === want || tag === wantGzip;
  });
}

/** Adds Accept-Encoding to the answer's Vary, keeping what the route set (`Authorization, Cookie`). */
function varyOnEncoding(reply: FastifyReply): void {
  const vary = String(reply.getHeader('vary') ?? '');
  const names = vary.split(',').map((s) => s.trim().toLowerCase());
  if (names.includes('*') || names.includes('accept-encoding')) return;
  reply.header('vary', vary.trim() ? `${vary}, Accept-Encoding` : 'Accept-Encoding');
}

const isStream = (payload: unknown): payload is Readable => typeof (payload as Readable | null)?.pipe === 'function';

/**
 * The `onSend` hook: a compressible answer of at least MIN_COMPRESS_BYTES goes gzipped to a client
 * that accepts it, with the gzip ETag; a stream (page files, MapLibre) is gzipped as it flows, never
 * buffered whole. Every compressible answer varies on Accept-Encoding, whatever its size, so a 304
 * (which knows no size) says the same as the 200 it revalidates. A 304 keeps the tag the client
 * holds: the gzip one when its If-None-Match named that.
 */
export async function compressAnswer(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const etag = reply.getHeader('etag');
  const compressible = isCompressible(String(reply.getHeader('content-type') ?? ''));
  if (reply.statusCode === 304) {
    const inm = req.headers['if-none-match'];
    const heldGzip = typeof etag === 'string' && typeof inm === 'string' && inm.split(',').some((t) => opaque(t) === opaque(gzipEtag(etag)));
    if (heldGzip) reply.header('etag', gzipEtag(etag));
    if (heldGzip || compressible) varyOnEncoding(reply);
    return payload;
  }
  if (!compressible || reply.statusCode < 200 || reply.statusCode === 204 || reply.statusCode === 206 || reply.hasHeader('content-encoding')) return payload;
  const isBytes = typeof payload === 'string' || Buffer.isBuffer(payload);
  if (!isBytes && !isStream(payload)) return payload;
  varyOnEncoding(reply);
  if (isBytes && Buffer.byteLength(payload) < MIN_COMPRESS_BYTES) return payload;
  if (!acceptsGzip(req.headers['accept-encoding'])) return payload;
  reply.header('content-encoding', 'gzip').removeHeader('content-length');
  if (typeof etag === 'string') reply.header('etag', gzipEtag(etag));
  if (isBytes) return gzipAsync(payload, { level: GZIP_LEVEL });
  // HEAD: Fastify discards a stream unread; the headers are those GET sends, without gzipping the file for nothing.
  if (req.method === 'HEAD') return payload;
  // Errors of the file reach Fastify through the gzip stream, which pipeline destroys with them.
  return pipeline(payload, createGzip({ level: GZIP_LEVEL }), () => undefined);
}
