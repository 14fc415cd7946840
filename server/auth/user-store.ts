/**
 * Accounts in the `users` table: created and disabled by `tuban user` (or an admin through the API),
 * read at sign-in and per request, with the time their sessions were last ended (sign-out, disable).
 */
import type { Queryable } from '../../pipeline/store/queryable.js';
import { ROLES, type Role, type User } from '../access/roles.js';
import { ApiError } from '../errors.js';
import { hashPassword } from './password.js';

export interface UserRow extends User {
  password_hash: string;
  disabled: boolean;
  created_at: string;
  /** Tokens issued at or before this time (ms since the epoch) are refused; null: none ended. */
  sessions_valid_after_ms: number | null;
}

export interface NewUser {
  name: string;
  role: Role;
  bureau?: string | null;
  district?: string | null;
  /** A `township` bureau user's own 乡镇/街道 (its code): it sees that township's polygons only. */
  township?: string | null;
  password: string;
}

/** A township code: nine digits (三调, 行政区划), or twelve ending in 000 (统计用区划代码 of a 乡镇/街道; others name a village). */
export const TOWNSHIP_CODE_RE = /^\d{9}(000)?$/;

const NAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

export async function addUser(db: Queryable, u: NewUser, actor = 'cli'): Promise<User> {
  if (!NAME_RE.test(u.name)) throw new ApiError('USER.INVALID', `name '${u.name}' must be 1–64 of A–Z a–z 0–9 _ . @ -`);
  if (!ROLES.includes(u.role)) throw new ApiError('USER.INVALID', `role must be one of ${ROLES.join(', ')}`);
  if (u.role === 'bureau' && !u.bureau) throw new ApiError('USER.INVALID', 'a bureau user needs --bureau <id>');
  if (u.role === 'district' && !u.district) throw new ApiError('USER.INVALID', 'a district user needs --district <code>');
  if (u.township && (u.role !== 'bureau' || u.bureau !== 'township')) throw new ApiError('USER.INVALID', 'only a township bureau user (--role bureau --bureau township) has a township');
  if (u.township && !TOWNSHIP_CODE_RE.test(u.township)) throw new ApiError('USER.INVALID', `township '${u.township}' is not a 乡镇/街道 code (nine digits, or twelve ending in 000)`);
  const hash = await hashPassword(u.password);
  const bureau = u.role === 'bureau' ? u.bureau! : null;
  const district = u.role === 'district' ? u.district! : null;
  const township = u.township ?? null;
  const r = await db.query<{ name: string }>(
    `WITH ins AS (
       INSERT INTO users (name, role, bureau, district, township, password_hash) VALUES ($1, $2, $3, $4, $7, $5)
       ON CONFLICT (name) DO NOTHING RETURNING name, role, bureau, district, township
     ), audit AS (
       INSERT INTO audit_log (actor, action, code, before, after)
       SELECT $6, 'user.add', NULL, NULL, to_jsonb(ins) FROM ins
     )
     SELECT name FROM ins`,
    [u.name, u.role, bureau, district, hash, actor, township],
  );
  if (r.rows.length === 0) throw new ApiError('USER.EXISTS', u.name);
  return { name: u.name, role: u.role, bureau, district, township };
}

/**
 * Disable an account and end its sessions as of `at`, so enabling it again does not bring back
 * tokens issued before (a stolen one among them).
 */
export async function disableUser(db: Queryable, name: string, actor = 'cli', at = new Date()): Promise<void> {
  const r = await db.query<{ name: string }>(
    `WITH upd AS (UPDATE users SET disabled = true, sessions_valid_after = GREATEST(sessions_valid_after, $3::timestamptz) WHERE name = $1 RETURNING name, disabled),
          audit AS (INSERT INTO audit_log (actor, action, code, before, after) SELECT $2, 'user.disable', NULL, NULL, to_jsonb(upd) FROM upd)
     SELECT name FROM upd`,
    [name, actor, at.toISOString()],
  );
  if (r.rows.length === 0) throw new ApiError('USER.NOT_FOUND', name);
}

export async function enableUser(db: Queryable, name: string, actor = 'cli'): Promise<void> {
  const r = await db.query<{ name: string }>(
    `WITH upd AS (UPDATE users SET disabled = false WHERE name = $1 RETURNING name, disabled),
          audit AS (INSERT INTO audit_log (actor, action, code, before, after) SELECT $2, 'user.enable', NULL, NULL, to_jsonb(upd) FROM upd)
     SELECT name FROM upd`,
    [name, actor],
  );
  if (r.rows.length === 0) throw new ApiError('USER.NOT_FOUND', name);
}

/** Sign-out: every token of `name` issued at or before `at` stops working (never moves back). */
export async function endSessions(db: Queryable, name: string, at: Date): Promise<void> {
  await db.query(`UPDATE users SET sessions_valid_after = GREATEST(sessions_valid_after, $2::timestamptz) WHERE name = $1`, [name, at.toISOString()]);
}

/**
 * A new password for an existing account (`tuban user password`), under the same policy as addUser.
 * Sessions signed in before it end (as on disable): a reset is often because the old one leaked. The
 * audit log records the reset, not the hash.
 */
export async function setPassword(db: Queryable, name: string, password: string, actor = 'cli', at = new Date()): Promise<void> {
  const hash = await hashPassword(password);
  const r = await db.query<{ name: string }>(
    `WITH upd AS (UPDATE users SET password_hash = $2, sessions_valid_after = GREATEST(sessions_valid_after, $4::timestamptz) WHERE name = $1 RETURNING name),
          audit AS (INSERT INTO audit_log (actor, action, code, before, after) SELECT $3, 'user.password', NULL, NULL, to_jsonb(upd) FROM upd)
     SELECT name FROM upd`,
    [name, hash, actor, at.toISOString()],
  );
  if (r.rows.length === 0) throw new ApiError('USER.NOT_FOUND', name);
}

/** Whether any batch has placed a polygon in this township (same first nine digits as the scope compares). */
export async function townshipHasPolygons(db: Queryable, township: string): Promise<boolean> {
  const r = await db.query(`SELECT 1 FROM polygons WHERE left(township_code, 9) = $1 LIMIT 1`, [township.slice(0, 9)]);
  return r.rows.length > 0;
}

/**
 * Active `township` bureau accounts without a township: each sees every township's polygons in the
 * city (accounts from before townships could be given, or a city-wide township office).
 */
export async function citywideTownshipUsers(db: Queryable): Promise<string[]> {
  const r = await db.query<{ name: string }>(`SELECT name FROM users WHERE role = 'bureau' AND bureau = 'township' AND township IS NULL AND NOT disabled ORDER BY name`);
  return r.rows.map((u) => u.name);
}

/** Whether any batch has routed a polygon to this district code (a district user's scope is otherwise empty). */
export async function districtHasPolygons(db: Queryable, district: string): Promise<boolean> {
  const r = await db.query(`SELECT 1 FROM polygons WHERE district_code = $1 LIMIT 1`, [district]);
  return r.rows.length > 0;
}

export async function listUsers(db: Queryable): Promise<Omit<UserRow, 'password_hash' | 'sessions_valid_after_ms'>[]> {
  const r = await db.query<Omit<UserRow, 'password_hash' | 'sessions_valid_after_ms'>>(
    `SELECT name, role, bureau, district, township, disabled, created_at::text AS created_at FROM users ORDER BY name`,
  );
  return r.rows;
}

/** A user with its hash and disabled flag (sign-in, and every request's token check), or null. */
export async function findUser(db: Queryable, name: string): Promise<UserRow | null> {
  const r = await db.query<UserRow>(
    `SELECT name, role, bureau, district, township, password_hash, disabled, created_at::text AS created_at,
            (extract(epoch FROM sessions_valid_after) * 1000)::float8 AS sessions_valid_after_ms
     FROM users WHERE name = $1`,
    [name],
  );
  return r.rows[0] ?? null;
}
