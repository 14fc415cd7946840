/**
 * An evidence row whose file is not in the server's data directory (a restore whose backup lacked
 * it, a second server on another --data): the download is one JSON error naming the evidence, with
 * no file headers left on it, not Fastify's "invalid payload type" from a stream that failed. And an
 * upload as the first request after a batch finds its case (made by the server's pass, as for actions).
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { evidencePath } from './evidence/evidence-store.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const CODE = '370102-202610-0001';
let db: Database;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b1', '2026-10', [polygon(CODE, '2026-10', square(117, 36.6))], '2026-11-02');
  await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('an evidence file missing from --data', () => {
  it('answers 500 EVIDENCE.FILE_MISSING as JSON, uncached; the file present again is sent as before', async () => {
    const headers = { authorization: `Bearer ${await t.token('nr')}` };
    // The upload is the first request since the batch: it finds the polygon's case all the same.
    const pdf = Buffer.from('%PDF-1.4\n%\xe2\xe3\n1 0 obj <<>> endobj\n%%EOF\n', 'latin1');
    const up = await t.app.inject({ method: 'POST', url: `/api/polygons/${CODE}/evidence?name=a.pdf`, headers: { ...headers, 'content-type': 'application/pdf' }, payload: pdf });
    expect(up.statusCode, up.body).toBe(200);
    const { id, sha256 } = up.json().result as { id: number; sha256: string };
    const url = `/api/polygons/${CODE}/evidence/${id}`;

    await rm(evidencePath(t.dataDir, sha256));
    const r = await t.app.inject({ method: 'GET', url, headers });
    expect(r.statusCode).toBe(500);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['content-disposition']).toBeUndefined();
    expect(r.headers['cache-control']).toBe('private, no-store'); // not the file's year-long immutable one
    expect(r.json()).toMatchObject({ code: 'EVIDENCE.FILE_MISSING', message: expect.stringContaining(`evidence ${id} of ${CODE}`) });
    expect(r.body).not.toContain(t.dataDir); // the server's paths are for its log, not the client

    const again = await t.app.inject({ method: 'POST', url: `/api/polygons/${CODE}/evidence?name=a.pdf`, headers: { ...headers, 'content-type': 'application/pdf' }, payload: pdf });
    expect(again.statusCode, again.body).toBe(200);
    const ok = await t.app.inject({ method: 'GET', url, headers });
    expect([ok.statusCode, ok.headers['content-type'], ok.rawPayload.equals(pdf)]).toEqual([200, 'application/pdf', true]);
  });
});
