/**
 * `GET /api/months` on a server that has not yet synced a batch's polygons into cases (just started,
 * or a batch finished since its last pass): the page asks for the month list before anything else,
 * and a month without imagery that is left out cannot be chosen (the page fell back to the current,
 * empty month and its inbox said 没有符合条件的图斑 over a month of thousands).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon('370102-202610-0001', '2026-10', square(117, 36.6))], '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('GET /api/months as the first request', () => {
  it("lists a batch's month before any other request has synced its cases", async () => {
    const r = await t.request('nr', '/api/months');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual(['2026-10']);
  });

  it('and a batch finished while the server runs', async () => {
    await writeBatch(db, 'b-2026-11', '2026-11', [polygon('370102-202611-0001', '2026-11', square(117.01, 36.6))], '2026-11-03');
    const r = await t.request('chief', '/api/months');
    expect(r.json()).toEqual(['2026-11', '2026-10']);
  });
});
