/**
 * Text the database cannot store: a NUL character (`\u0000`, which PostgreSQL's text and jsonb refuse)
 * or half of a surrogate pair (`\ud800` alone: not Unicode, refused by jsonb and not encodable as UTF-8).
 * JSON carries both; a pasted form field or a script's bad decoding sends them. Each was a 500
 * INTERNAL (`unsupported Unicode escape sequence`) on notes, rectification, verdicts, evidence notes
 * and the sign-in; now a 400 VALIDATION naming the field, with nothing written.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Database } from '../pipeline/store/queryable.js';
import { parseWith } from './api-registry.js';
import { ApiError } from './errors.js';
import { addUsers, jpegWithExif, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const CODE = '370102-202610-0001';
let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(CODE, '2026-10', square(117.0, 36.6))], '2026-11-02');
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const audits = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0].n;

describe('text the database cannot store', () => {
  it('is a 400 VALIDATION naming the field, never a 500, and writes nothing', async () => {
    expect((await t.request('nr', `/api/polygons/${CODE}/accept`, {})).statusCode).toBe(200);
    const before = await audits();
    for (const [url, body, path] of [
      [`/api/polygons/${CODE}/notes`, { text: 'a\u0000b' }, 'body.text'],
      [`/api/polygons/${CODE}/notes`, { text: '现场\ud800' }, 'body.text'],
      [`/api/polygons/${CODE}/notes`, { text: '\udc00现场' }, 'body.text'],
      [`/api/polygons/${CODE}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation', party: '张\u0000三' }, 'body.party'],
      [`/api/polygons/${CODE}/verdict`, { verdict: 'other', situation: 'other', reason: 'x\ud83d' }, 'body.reason'],
    ] as const) {
      const r = await t.request('nr', url, body);
      expect([r.statusCode, r.json().code], `${url} ${JSON.stringify(body)}: ${r.body}`).toEqual([400, 'VALIDATION']);
      expect(r.json().issues.map((i: { path: string }) => i.path)).toEqual([path]);
      expect(r.json().message).toMatch(/NUL|surrogate/);
    }
    // A whole surrogate pair (an emoji) is text like any other.
    const emoji = await t.request('nr', `/api/polygons/${CODE}/notes`, { text: '现场有挖掘机 🚜' });
    expect(emoji.statusCode, emoji.body).toBe(200);
    const after = await audits();
    expect(after).toBe(before + 1);

    // A query's text (an evidence note) likewise.
    const photo = jpegWithExif({ taken: '2026:11:01 10:00:00', lat: 36.6, lon: 117.0, azimuth: 90 });
    const upload = await t.app.inject({
      method: 'POST',
      url: `/api/polygons/${CODE}/evidence?name=a.jpg&note=x%00y`,
      headers: { authorization: `Bearer ${await t.token('nr')}`, 'content-type': 'image/jpeg' },
      payload: photo,
    });
    expect([upload.statusCode, upload.json().code], upload.body).toEqual([400, 'VALIDATION']);
    expect(upload.json().issues.map((i: { path: string }) => i.path)).toEqual(['query.note']);
    expect(await audits()).toBe(after);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence')).rows[0].n).toBe(0);
  });

  it('the sign-in: a name with a NUL is a 400, not a 500', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'n\u0000r', password: 'correct horse battery' } });
    expect([r.statusCode, r.json().code], r.body).toEqual([400, 'VALIDATION']);
  });

  it('the sign-in: a password is never stored, so one with a NUL is checked like any other (an account set so before keeps signing in)', async () => {
    // `printf 'pass\0word123\n' | tuban user add x` set such a password before the CLI refused a NUL:
    // its hash is made here as password.ts makes one (scrypt$N$r$p$salt$key).
    const salt = randomBytes(16);
    const key = scryptSync('pass\u0000word123'.normalize('NFKC'), salt, 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    await db.query(`INSERT INTO users (name, role, password_hash) VALUES ('x', 'lead', $1)`, [`scrypt$16384$8$1$${salt.toString('base64')}$${key.toString('base64')}`]);
    const ok = await t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'x', password: 'pass\u0000word123' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().user.name).toBe('x');
    // A wrong one (a lone surrogate too) is the usual 401, not a 400 telling what the password holds.
    for (const password of ['pass\u0000word124', 'pass\ud800word123']) {
      const r = await t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'x', password } });
      expect([r.statusCode, r.json().code], r.body).toEqual([401, 'AUTH.BAD_CREDENTIALS']);
    }
  });
});

describe('each such text is named by its path', () => {
  it('at any depth, in arrays and under keys, in the order met; a key by the object holding it; a password skipped', () => {
    const schema = z.object({
      parcels: z.array(z.object({ coordinates: z.array(z.array(z.union([z.number(), z.string()]))) })),
      notes: z.record(z.string(), z.array(z.string())),
      password: z.string(),
      old: z.object({ new_password: z.string() }),
    });
    const parcels = Array.from({ length: 3 }, () => ({ coordinates: [Array.from({ length: 1000 }, (_, i) => i)] }));
    parcels[1].coordinates[0][998] = 'a\u0000' as never;
    const body = { parcels, notes: { ok: ['fine', '现场 🚜'], ['k\ud800']: ['x', '\udc00y'] }, password: 'p\u0000w', old: { new_password: '\ud800' } };
    expect(parseWith(schema, { ...body, parcels: [parcels[0]], notes: { ok: ['fine'] }, password: 'p\u0000w' }, 'body').password).toBe('p\u0000w');
    let err: unknown;
    try {
      parseWith(schema, body, 'body');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('VALIDATION');
    expect((err as ApiError).extra).toEqual({
      issues: [
        { path: 'body.parcels.1.coordinates.0.998', message: 'a NUL character (\\u0000) at position 1, which cannot be stored: remove it' },
        { path: 'body.notes', message: 'a key with a NUL character or half of a surrogate pair' },
        { path: 'body.notes.k\ud800.1', message: 'half of a surrogate pair (\\udc00) at position 0: not Unicode text' },
      ],
    });
    expect((err as ApiError).message).toContain('body.parcels.1.coordinates.0.998: a NUL character');
  });
});
