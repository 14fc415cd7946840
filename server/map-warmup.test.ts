/**
 * The map layer's warm-up at server start (map-warmup.ts, serve-app.ts): it runs the map's own
 * query once the server listens, the server answering meanwhile (readiness never waits for it), and
 * a warm-up that fails is a logged warning, nothing more: the map still answers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { loadCalendar } from './deadlines/calendar.js';
import { DEFAULT_DEADLINES } from './deadlines/rules.js';
import { warmMapLayer } from './map-warmup.js';
import { buildServeApp } from './serve-app.js';
import { addUsers, openTestDatabase, PASSWORD, polygon, square, writeBatch } from './testing/fixtures.js';

/** Both map queries (GeoJSON and vector tile) join the items in view to their cases so. */
const MAP_QUERY = /items i JOIN cases c ON/;

/**
 * `db` with the statements matching MAP_QUERY seen, and the first of them held until `release()`
 * (`fail`: failed instead, with `err`); everything else passes straight through.
 */
function watched(db: Database, mode: 'hold' | 'fail' | 'none') {
  const seen: string[] = [];
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  let first = true;
  let reached = () => {};
  const held = new Promise<void>((r) => (reached = r));
  const wrapped: Database = {
    kind: db.kind,
    async query(text, params) {
      if (MAP_QUERY.test(text)) {
        seen.push(text);
        if (first && mode !== 'none') {
          first = false;
          reached();
          if (mode === 'fail') throw new Error('map statement failed on purpose');
          await released;
        }
      }
      return db.query(text, params);
    },
    transaction: (fn) => db.transaction(fn),
    close: () => db.close(),
  };
  return { db: wrapped, seen, release, held };
}

describe('the map layer warm-up', () => {
  let db: Database;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-map-warmup-'));
    db = await openTestDatabase();
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function serve(on: Database) {
    const lines: { level: number; msg: string; err?: { message: string } }[] = [];
    const stream = { write: (line: string) => void lines.push(JSON.parse(line)) };
    const served = await buildServeApp({
      db: on,
      dataDir: join(dir, 'data'),
      secret: Buffer.from('map-warmup-secret-map-warmup-secret-01'),
      deadlines: { rules: DEFAULT_DEADLINES, calendar: await loadCalendar() },
      webDir: 'web',
      logger: { level: 'debug', stream },
      now: () => new Date('2026-11-03T02:00:00Z'),
    });
    return { ...served, lines };
  }

  it('has nothing to warm on a database without polygons', async () => {
    expect(await warmMapLayer(db, '2026-11-03')).toBe('none');
  });

  it("runs the page's map query, the kind this database serves", async () => {
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon('370102-202610-0001', '2026-10', square(117, 36.6))], '2026-11-02');
    await addUsers(db, [['chief', 'lead']]);
    const w = watched(db, 'none');
    expect(await warmMapLayer(w.db, '2026-11-03')).toBe(db.kind === 'postgres' ? 'mvt' : 'geojson');
    // Outlines and centroids, as the first views ask.
    expect(w.seen).toHaveLength(2);
  });

  it('starts once the server listens and does not hold its readiness: health and sign-in answer while its query waits', async () => {
    const w = watched(db, 'hold');
    const s = await serve(w.db);
    try {
      const base = await s.app.listen({ host: '127.0.0.1', port: 0 });
      await w.held; // the warm-up's map query, held
      const health = await fetch(`${base}/api/health`);
      expect(health.status).toBe(200);
      const signIn = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chief', password: PASSWORD }) });
      expect(signIn.status).toBe(200);
      let done = false;
      void s.mapWarmed.then(() => (done = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(done).toBe(false);
      w.release();
      await s.mapWarmed;
      expect(s.lines.some((l) => l.msg === `map layer warmed (${db.kind === 'postgres' ? 'mvt' : 'geojson'})`)).toBe(true);
    } finally {
      w.release();
      await s.app.close();
    }
  });

  it('a warm-up that fails is logged as a warning and the map still answers', async () => {
    const w = watched(db, 'fail');
    const s = await serve(w.db);
    try {
      const base = await s.app.listen({ host: '127.0.0.1', port: 0 });
      await s.mapWarmed;
      const warning = s.lines.find((l) => l.msg.startsWith('map layer warm-up failed'));
      expect([warning?.level, warning?.err?.message]).toEqual([40, 'map statement failed on purpose']);
      const { token } = (await (await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chief', password: PASSWORD }) })).json()) as { token: string };
      const url = db.kind === 'postgres' ? '/api/map/tiles/0/0/0.pbf?epoch=2026-10' : '/api/map/polygons.geojson?bbox=116.99,36.59,117.01,36.61&zoom=13&epoch=2026-10';
      const r = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      if (db.kind === 'pglite') expect(((await r.json()) as { features: { id: string }[] }).features.map((f) => f.id)).toEqual(['370102-202610-0001']);
    } finally {
      await s.app.close();
    }
  });
});
