/**
 * Session tokens: `base64url(JSON payload).base64url(HMAC-SHA256)` signed with the server secret.
 * The payload carries only the user name, the issue time and the expiry; role, scope and the user's
 * last sign-out are read from the database on every request, so disabling a user, changing a role or
 * signing out takes effect at once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../errors.js';

export interface TokenPayload {
  /** User name. */
  sub: string;
  /**
   * Issue time, milliseconds since the epoch: finer than `exp`, so a sign-in just after a sign-out
   * is told apart from the tokens that sign-out ended.
   */
  iat_ms: number;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/** Tokens live for a working day and a half; the page signs in again after that. */
export const TOKEN_TTL_S = 12 * 3600;

function mac(secret: Buffer, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

export function signToken(secret: Buffer, sub: string, nowMs: number, ttlS = TOKEN_TTL_S): string {
  const body = Buffer.from(JSON.stringify({ sub, iat_ms: nowMs, exp: Math.floor(nowMs / 1000) + ttlS } satisfies TokenPayload)).toString('base64url');
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

export function verifyToken(secret: Buffer, token: string, nowMs: number): TokenPayload {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 4096) throw new ApiError('AUTH.TOKEN_INVALID');
  const body = token.slice(0, dot);
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = mac(secret, body);
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) throw new ApiError('AUTH.TOKEN_INVALID');
  let payload: TokenPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenPayload;
  } catch {
    throw new ApiError('AUTH.TOKEN_INVALID');
  }
  if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number' || payload.exp * 1000 <= nowMs) throw new ApiError('AUTH.TOKEN_INVALID', 'expired');
  // Tokens signed before issue times were recorded: issued a lifetime before they expire.
  if (typeof payload.iat_ms !== 'number') payload.iat_ms = (payload.exp - TOKEN_TTL_S) * 1000;
  return payload;
}
