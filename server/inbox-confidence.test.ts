/**
 * The inbox sorted by confidence (`GET /api/polygons?sort=confidence`): most confident first, ties
 * by code, keyset pages that neither skip nor repeat a polygon (ties across a page boundary
 * included), and the user's scope enforced in the same query. Real database, the app `tuban serve`
 * runs.
 */
import type { FeatureCollection } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

/** code → [confidence, lead bureau]; two pairs of ties, one of them across the boundary of 2-polygon pages. */
const POLYGONS: Record<string, [number, string]> = {
  '370102-202610-0001': [0.41, 'natural_resources'],
  '370102-202610-0002': [0.93, 'natural_resources'],
  '370102-202610-0003': [0.62, 'forestry'],
  '370102-202610-0004': [0.62, 'natural_resources'],
  '370102-202610-0005': [0.07, 'natural_resources'],
  '370103-202610-0001': [0.93, 'forestry'],
  '370103-202610-0002': [0.805, 'natural_resources'],
};

/** The expected order: confidence descending, then code. */
function expectedOrder(codes: string[]): string[] {
  return [...codes].sort((a, b) => POLYGONS[b][0] - POLYGONS[a][0] || (a < b ? -1 : 1));
}

beforeAll(async () => {
  db = await openTestDatabase();
  const polys = Object.entries(POLYGONS).map(([code, [confidence, leadBureau]], i) =>
    polygon(code, '2026-10', square(117 + i * 0.01, 36.6), { confidence, leadBureau }),
  );
  await writeBatch(db, 'b-2026-10', '2026-10', polys, '2026-11-02');
  await addUsers(db, [
    ['chief', 'lead'],
    ['nr', 'bureau', 'natural_resources'],
    ['d102', 'district', '370102'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

async function call(user: string, method: 'GET' | 'POST', url: string, payload?: object) {
  return t.app.inject({ method, url, headers: { authorization: `Bearer ${await t.token(user)}` }, ...(payload ? { payload } : {}) });
}
const get = (user: string, url: string) => call(user, 'GET', url);

/** Every page of the user's inbox sorted by confidence, `limit` at a time (the month's, or all with `epoch` ''): codes, confidences and page sizes. */
async function allPages(user: string, limit: number, epoch = '2026-10'): Promise<{ codes: string[]; confidences: number[]; pages: number[] }> {
  const codes: string[] = [], confidences: number[] = [], pages: number[] = [];
  let cursor: string | null = null;
  do {
    const r = await get(user, `/api/polygons?${epoch ? `epoch=${epoch}&` : ''}sort=confidence&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.statusCode, r.body).toBe(200);
    const fc = r.json() as FeatureCollection & { next_cursor: string | null };
    pages.push(fc.features.length);
    for (const f of fc.features) {
      codes.push(String(f.id));
      confidences.push(Number(f.properties?.confidence));
    }
    cursor = fc.next_cursor;
    expect(pages.length).toBeLessThan(20);
  } while (cursor);
  return { codes, confidences, pages };
}

describe('inbox sorted by confidence', () => {
  it('lists the most confident first, ties by code, over pages that skip and repeat nothing', async () => {
    for (const limit of [1, 2, 3, 100]) {
      const { codes, confidences, pages } = await allPages('chief', limit);
      expect(codes).toEqual(expectedOrder(Object.keys(POLYGONS)));
      expect(confidences).toEqual(codes.map((c) => POLYGONS[c][0]));
      expect(pages.every((n) => n <= limit)).toBe(true);
    }
  });

  it('keeps a bureau to its own polygons in the same order', async () => {
    const own = Object.keys(POLYGONS).filter((c) => POLYGONS[c][1] === 'natural_resources');
    const { codes } = await allPages('nr', 2);
    expect(codes).toEqual(expectedOrder(own));
    expect(codes).not.toContain('370103-202610-0001');
  });

  it('puts a clue (reported by a person: confidence 1) first, over every month or in its own', async () => {
    const r = await call('d102', 'POST', '/api/clues', { source: 'hotline', district_code: '370102', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: '12345 举报' });
    expect(r.statusCode, r.body).toBe(201);
    const clue = r.json().code as string;
    for (const limit of [1, 3]) {
      const all = await allPages('chief', limit, '');
      expect(all.codes).toEqual([clue, ...expectedOrder(Object.keys(POLYGONS))]);
      expect(all.confidences[0]).toBe(1);
    }
    const month = clue.split('-')[1];
    expect((await allPages('chief', 2, `${month.slice(0, 4)}-${month.slice(4)}`)).codes).toEqual([clue]);
  });

  it('sorts by code without sort, and refuses a cursor of the other order or a forged one', async () => {
    const byCode = (await get('chief', '/api/polygons?epoch=2026-10&limit=2')).json() as FeatureCollection & { next_cursor: string };
    expect(byCode.features.map((f) => f.id)).toEqual(Object.keys(POLYGONS).sort().slice(0, 2));
    const crossed = await get('chief', `/api/polygons?epoch=2026-10&sort=confidence&cursor=${byCode.next_cursor}`);
    expect([crossed.statusCode, crossed.json().code]).toEqual([400, 'CURSOR.INVALID']);
    const forged = Buffer.from("0.5|x' OR 1=1", 'utf8').toString('base64url');
    const r = await get('chief', `/api/polygons?epoch=2026-10&sort=confidence&cursor=${forged}`);
    expect([r.statusCode, r.json().code]).toEqual([400, 'CURSOR.INVALID']);
    const badSort = await get('chief', '/api/polygons?sort=area');
    expect([badSort.statusCode, badSort.json().code]).toEqual([400, 'VALIDATION']);
  });
});
