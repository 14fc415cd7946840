/**
 * The server's defences, on the real app (inject) over a real database: sign-in throttling by
 * client address, sign-out that ends the session, cross-origin refusal of cookie-authenticated
 * changes, the proxy setting, response headers, what the page directory serves, and cache keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, PASSWORD, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

const CODE = '370102-202610-0001';

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(CODE, '2026-10', square(117.0, 36.6))], '2026-11-02');
  await addUsers(db, [
    ['chief', 'lead'],
    ['nr', 'bureau', 'natural_resources'],
    ['root', 'admin'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

function signIn(name: string, password: string, remoteAddress = '127.0.0.1') {
  return t.app.inject({ method: 'POST', url: '/api/session', payload: { name, password }, remoteAddress });
}

describe('sign-in throttling', () => {
  it("a stranger's failures lock the name out from his address only", async () => {
    for (let i = 0; i < 10; i++) expect((await signIn('chief', `guess-number-${i}`, '203.0.113.9')).statusCode).toBe(401);
    const there = await signIn('chief', PASSWORD, '203.0.113.9');
    expect([there.statusCode, there.json().code]).toEqual([429, 'AUTH.THROTTLED']);
    expect(there.json().message).toMatch(/retry after 15 min/);
    expect((await signIn('chief', PASSWORD, '10.20.30.40')).statusCode).toBe(200);
  });

  it('refuses an address that sprays guesses over many names, and only that address', async () => {
    for (let i = 0; i < 50; i++) expect((await signIn(`someone${i}`, 'spring2026!!', '198.51.100.7')).statusCode).toBe(401);
    const r = await signIn('nr', PASSWORD, '198.51.100.7');
    expect([r.statusCode, r.json().code]).toEqual([429, 'AUTH.THROTTLED']);
    expect((await signIn('nr', PASSWORD, '10.20.30.41')).statusCode).toBe(200);
  });
});
