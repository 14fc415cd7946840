/**
 * Responses that only a signed-in user may see, cached by that user's browser alone: `private` (a
 * shared cache must not hand one bureau's bytes to another), `Vary` on the credentials (a browser
 * shared by two users keys its cache on who asked), and a content-hash ETag answered by 304.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ifNoneMatchHits } from './compression.js';

export const CREDENTIALS_VARY = 'Authorization, Cookie';

export function sendPrivateCached(request: FastifyRequest, reply: FastifyReply, bytes: Buffer, type: string, maxAgeS: number): FastifyReply {
  const etag = `"${createHash('sha1').update(bytes).digest('base64url')}"`;
  reply.header('Cache-Control', `private, max-age=${maxAgeS}`).header('Vary', CREDENTIALS_VARY).header('ETag', etag);
  // The tag of either encoding (compression.ts): a text answer gzipped went out with the `-gzip` one.
  if (ifNoneMatchHits(request.headers['if-none-match'], etag)) return reply.code(304).send();
  return reply.type(type).send(bytes);
}
