/**
 * The routes the page needs beside the workflow actions (server/page-routes.ts): the split preview
 * (cut lines and rough parcels, then a real split with what it returned), the clue form's districts,
 * and bureau names from the rule table the database's batches routed with — on a real database.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../pipeline/route/default-rules.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;
let dir: string;
const CODE = '370102-202610-0001';
const OTHER = '370103-202610-0002';
/** ~100 m × 111 m at 36.6°N. */
const POLY = square(117.0, 36.6);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-page-routes-'));
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(CODE, '2026-10', POLY), polygon(OTHER, '2026-10', square(117.01, 36.6), { leadBureau: 'forestry' })], '2026-11-02');
  await addUsers(db, [
    ['chief', 'lead'],
    ['nr', 'bureau', 'natural_resources'],
    ['fo', 'bureau', 'forestry'],
    ['d102', 'district', '370102'],
  ]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call(user: string | null, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return t.app.inject({ method, url, payload: payload as object, headers: user ? { authorization: `Bearer ${await t.token(user)}` } : {} });
}

/** The polygon's area on the spheroid (the fixture's area_m2 property is nominal). */
const areaOf = async (code: string) => (await db.query<{ a: number }>('SELECT ST_Area(geom::geography) AS a FROM polygons WHERE code = $1', [code])).rows[0].a;
const sum = (ps: { area_m2: number }[]) => ps.reduce((s, p) => s + p.area_m2, 0);

describe('POST /api/polygons/{code}/split-preview', () => {
  it('cuts along a line into two parcels whose areas add up to the polygon, which split then accepts', async () => {
    await call('nr', 'POST', `/api/polygons/${CODE}/accept`);
    const total = await areaOf(CODE);
    // A north–south line 30 % of the way across, drawn past both edges as a user would.
    const x = 117.0003;
    const r = await call('nr', 'POST', `/api/polygons/${CODE}/split-preview`, { lines: [{ type: 'LineString', coordinates: [[x, 36.5995], [x, 36.6015]] }] });
    expect(r.statusCode).toBe(200);
    const parcels = r.json().parcels as { geometry: { type: string }; area_m2: number; area_mu: number }[];
    expect(parcels.length).toBe(2);
    expect(Math.abs(sum(parcels) - total)).toBeLessThan(0.5);
    const small = Math.min(...parcels.map((p) => p.area_m2));
    expect(small / total).toBeGreaterThan(0.28);
    expect(small / total).toBeLessThan(0.32);
    for (const p of parcels) expect(p.area_mu).toBeCloseTo(p.area_m2 / (10000 / 15), 3);
    // Nothing was written by the preview.
    expect((await db.query('SELECT count(*)::int AS n FROM parcels WHERE code = $1', [CODE])).rows[0].n).toBe(0);
    const s = await call('nr', 'POST', `/api/polygons/${CODE}/split`, { parcels: parcels.map((p) => p.geometry) });
    expect(s.statusCode).toBe(200);
    expect((await db.query('SELECT count(*)::int AS n FROM parcels WHERE code = $1', [CODE])).rows[0].n).toBe(2);
  });

  it('clips a parcel drawn past the outline and makes the rest one more parcel', async () => {
    // West half drawn well beyond the polygon's west, south and north edges.
    const drawn = { type: 'Polygon', coordinates: [[[116.999, 36.599], [117.0005, 36.599], [117.0005, 36.602], [116.999, 36.602], [116.999, 36.599]]] };
    const r = await call('nr', 'POST', `/api/polygons/${CODE}/split-preview`, { parcels: [drawn] });
    expect(r.statusCode).toBe(200);
    const parcels = r.json().parcels as { area_m2: number }[];
    expect(parcels.length).toBe(2);
    expect(parcels[0].area_m2).toBeCloseTo(parcels[1].area_m2, -1);
    expect(Math.abs(sum(parcels) - (await areaOf(CODE)))).toBeLessThan(0.5);
  });

  it('refuses what is not the user\'s to split, and a body with both lines and parcels', async () => {
    const line = { type: 'LineString', coordinates: [[117.0103, 36.599], [117.0103, 36.602]] };
    expect((await call('nr', 'POST', `/api/polygons/${OTHER}/split-preview`, { lines: [line] })).statusCode).toBe(404);
    expect((await call('d102', 'POST', `/api/polygons/${CODE}/split-preview`, { lines: [line] })).json().code).toBe('AUTH.FORBIDDEN');
    const both = await call('nr', 'POST', `/api/polygons/${CODE}/split-preview`, { lines: [line], parcels: [POLY] });
    expect([both.statusCode, both.json().code]).toEqual([400, 'VALIDATION']);
    // A line that misses the polygon leaves it whole: one parcel, which the page does not offer to split.
    const miss = await call('nr', 'POST', `/api/polygons/${CODE}/split-preview`, { lines: [line] });
    expect(miss.json().parcels.length).toBe(1);
  });
});

describe('GET /api/districts', () => {
  it('lists the batches\' districts; a district user gets only its own', async () => {
    expect((await call('nr', 'GET', '/api/districts')).json()).toEqual([
      { code: '370102', name: '历下区' },
      { code: '370103', name: '市中区' },
    ]);
    expect((await call('d102', 'GET', '/api/districts')).json()).toEqual([{ code: '370102', name: '历下区' }]);
    expect((await call(null, 'GET', '/api/districts')).statusCode).toBe(401);
  });
});

describe('GET /api/months', () => {
  it('lists the months holding work in the caller\'s scope, a clue\'s month without imagery too', async () => {
    expect((await call('chief', 'GET', '/api/months')).json()).toEqual(['2026-10']);
    // Today is 2026-11-03: a clue found yesterday lands in November, a month no batch has imagery for.
    const clue = await call('d102', 'POST', '/api/clues', { source: 'patrol', district_code: '370102', geometry: { type: 'Point', coordinates: [117.005, 36.6005] }, description: '巡查发现', reported_on: '2026-11-02' });
    expect(clue.statusCode, clue.body).toBe(201);
    expect((await call('chief', 'GET', '/api/months')).json()).toEqual(['2026-11', '2026-10']);
    expect((await call('d102', 'GET', '/api/months')).json()).toEqual(['2026-11', '2026-10']);
    // forestry leads only the other district's polygon of October, and nothing of November.
    expect((await call('fo', 'GET', '/api/months')).json()).toEqual(['2026-10']);
    expect((await call(null, 'GET', '/api/months')).statusCode).toBe(401);
  });
});

describe('bureau names from the batches\' rule table', () => {
  it('the card, the list and the page labels use the name the batch\'s table gives, not the built-in one', async () => {
    const path = join(dir, 'rules.json');
    await writeFile(path, JSON.stringify({ ...DEFAULT_RULES, bureaus: { ...DEFAULT_RULES.bureaus, forestry: { name_zh: '市园林和林业绿化局' } } }));
    expect(DEFAULT_RULES.bureaus.forestry.name_zh).not.toBe('市园林和林业绿化局');
    await db.query(`UPDATE batches SET plan = jsonb_build_object('args', jsonb_build_object('rules', $1::text))`, [path]);
    const card = (await call('fo', 'GET', `/api/polygons/${OTHER}`)).json();
    expect(card.routing.lead_bureau_name).toBe('市园林和林业绿化局');
    const list = (await call('fo', 'GET', '/api/polygons?epoch=2026-10')).json();
    expect(list.features[0].properties.lead_bureau_name).toBe('市园林和林业绿化局');
    const labels = (await call(null, 'GET', '/workflow-labels.js')).body;
    expect(labels).toContain('"forestry":"市园林和林业绿化局"');
    // A table that moved away: back to the built-in names, no error.
    await db.query(`UPDATE batches SET plan = jsonb_build_object('args', jsonb_build_object('rules', $1::text))`, [join(dir, 'gone.json')]);
    expect((await call(null, 'GET', '/workflow-labels.js')).body).toContain(`"forestry":"${DEFAULT_RULES.bureaus.forestry.name_zh}"`);
  });
});
