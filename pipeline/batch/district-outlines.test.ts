/**
 * Finalising stores the district outlines the batch routed with (`districts`, migration 12), which
 * the triage server checks a clue's place against, and the township outlines (`townships`,
 * migration 16) and village outlines (`villages`, migration 19) a clue takes its 乡镇/街道 and 村
 * from: exact (not simplified), one row per code, the same after a re-run, the newest month's layer
 * winning. On PGlite, or on the PostgreSQL server of TUBAN_TEST_DATABASE_URL in a fresh schema. The
 * queue runner stores the same rows (workers/queue/queue-equivalence.test.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Feature, FeatureCollection, Polygon } from 'geojson';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../../fixtures/synthetic-scene.js';
import { writeSceneTownships, writeSceneVillages } from '../../fixtures/scene-townships.js';
import { storeDistricts, storeTownships } from '../store/districts.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { BatchArgsSchema } from './batch-args.js';
import { runBatch } from './run-batch.js';

let db: Database;
let dir: string;
let scene: SceneManifest;
const log = pino({ level: 'silent' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-districts-'));
  scene = await generateScene({ dir, size: 256, seed: 7, tilesPerSide: 1 });
  const url = process.env.TUBAN_TEST_DATABASE_URL;
  db = url ? await openDatabase(url, { schema: `tuban_districts_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
  await migrate(db);
}, 120_000);

afterAll(async () => {
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Row {
  code: string;
  name: string;
  geom: string;
  batch_id: string;
  epoch: string;
}
const stored = async () => (await db.query<Row>('SELECT code, name, geom::text AS geom, batch_id, epoch FROM districts ORDER BY code')).rows;
const batch = (zones: string | string[], out: string) =>
  runBatch(BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: typeof zones === 'string' ? [zones] : zones }), { db, log, out: join(dir, out) });

describe('a batch stores its district outlines', () => {
  it('exact, one per code, named as the layer names them; a re-run writes the same rows', async () => {
    const layer = JSON.parse(await readFile(scene.zonesPath, 'utf8')) as FeatureCollection;
    const districts = layer.features.filter((f) => f.properties?.kind === 'district') as Feature<Polygon>[];
    expect(districts.length).toBe(3);
    const first = await batch(scene.zonesPath, 'first');
    const rows = await stored();
    expect(rows.map((r) => [r.code, r.name, r.batch_id, r.epoch])).toEqual(
      districts.map((f) => [f.properties!.code, f.properties!.name, first.plan.batchId, scene.epoch]).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    );
    // The very outline of the file: as many vertices, and the same shape.
    for (const f of districts) {
      const same = await db.query<{ equal: boolean; points: number }>(
        'SELECT ST_Equals(geom, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)) AS equal, ST_NPoints(geom) AS points FROM districts WHERE code = $1',
        [f.properties!.code, JSON.stringify(f.geometry)],
      );
      expect(same.rows[0]).toEqual({ equal: true, points: f.geometry.coordinates.reduce((n, ring) => n + ring.length, 0) });
    }
    // Every polygon's district is an outline stored (the clue check and the routing agree).
    const polygons = await db.query<{ code: string }>('SELECT DISTINCT district_code AS code FROM polygons WHERE district_code NOT IN (SELECT code FROM districts)');
    expect(polygons.rows).toEqual([]);

    const again = await batch(scene.zonesPath, 'again');
    expect(again.plan.batchId).toBe(first.plan.batchId);
    expect(await stored()).toEqual(rows);
  });

  it('a later batch of the month with a corrected layer replaces them', async () => {
    const layer = JSON.parse(await readFile(scene.zonesPath, 'utf8')) as FeatureCollection;
    const renamed = layer.features.find((f) => f.properties?.kind === 'district')!;
    const code = renamed.properties!.code as string;
    renamed.properties!.name = '新区';
    const corrected = join(dir, 'zones-corrected.geojson');
    await writeFile(corrected, JSON.stringify(layer));
    const run = await batch(corrected, 'corrected');
    const row = (await stored()).find((r) => r.code === code)!;
    expect([row.name, row.batch_id]).toEqual(['新区', run.plan.batchId]);
  });
});

describe('a batch with a township layer stores its township outlines', () => {
  interface TownshipRow { key: string; code: string | null; name: string; batch_id: string }
  const townships = async () => (await db.query<TownshipRow>('SELECT key, code, name, batch_id FROM townships ORDER BY key')).rows;

  it('exact, one per code, named as the layer names them; none without the layer; a re-run writes the same rows', async () => {
    expect(await townships()).toEqual([]); // the batches above had no township layer
    const path = join(dir, 'townships.geojson');
    const layer = await writeSceneTownships(scene.zonesPath, path);
    expect(layer.features.length).toBeGreaterThan(2);
    const run = await batch([scene.zonesPath, path], 'townships');
    expect(await townships()).toEqual(
      layer.features.map((f) => ({ key: f.properties!.XZQDM, code: f.properties!.XZQDM, name: f.properties!.XZQMC, batch_id: run.plan.batchId })).sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    for (const f of layer.features) {
      const same = await db.query<{ equal: boolean }>('SELECT ST_Equals(geom, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)) AS equal FROM townships WHERE code = $1', [f.properties!.XZQDM, JSON.stringify(f.geometry)]);
      expect(same.rows[0], f.properties!.XZQDM).toEqual({ equal: true });
    }
    // Every polygon's township is an outline stored (a clue and a polygon in one place get one township).
    const placed = await db.query<{ n: number; stored: number }>('SELECT count(*)::int AS n, count(*) FILTER (WHERE township_code IN (SELECT code FROM townships))::int AS stored FROM polygons WHERE batch_id = $1 AND township_code IS NOT NULL', [run.plan.batchId]);
    expect(placed.rows[0].n).toBeGreaterThan(0);
    expect(placed.rows[0].stored).toBe(placed.rows[0].n);
    const rows = await db.query('SELECT key, geom::text AS geom, updated_at FROM townships ORDER BY key');
    await batch([scene.zonesPath, path], 'townships-again');
    expect((await db.query('SELECT key, geom::text AS geom FROM townships ORDER BY key')).rows).toEqual(rows.rows.map(({ key, geom }) => ({ key, geom })));
  });
});

describe('a batch with a village layer stores its village outlines', () => {
  it('exact, one per code, named as the layer names them, beside the townships; every polygon\'s village among them', async () => {
    expect((await db.query('SELECT key FROM villages')).rows).toEqual([]); // the batches above had no village layer
    const townships = join(dir, 'townships-v.geojson');
    await writeSceneTownships(scene.zonesPath, townships);
    const path = join(dir, 'villages.geojson');
    const layer = await writeSceneVillages(scene.zonesPath, path);
    expect(layer.features.length).toBeGreaterThan(2);
    const run = await batch([scene.zonesPath, townships, path], 'villages');
    expect((await db.query('SELECT key, code, name, batch_id FROM villages ORDER BY key')).rows).toEqual(
      layer.features.map((f) => ({ key: f.properties!.XZQDM, code: f.properties!.XZQDM, name: f.properties!.XZQMC, batch_id: run.plan.batchId })).sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    for (const f of layer.features) {
      const same = await db.query<{ equal: boolean }>('SELECT ST_Equals(geom, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)) AS equal FROM villages WHERE code = $1', [f.properties!.XZQDM, JSON.stringify(f.geometry)]);
      expect(same.rows[0], f.properties!.XZQDM).toEqual({ equal: true });
    }
    // The townships are the township layer's, not the villages' (a kindless file's codes say which).
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM townships WHERE code IN (SELECT code FROM villages)')).rows[0].n).toBe(0);
    const placed = await db.query<{ n: number; stored: number }>('SELECT count(*)::int AS n, count(*) FILTER (WHERE village_code IN (SELECT code FROM villages))::int AS stored FROM polygons WHERE batch_id = $1 AND village_code IS NOT NULL', [run.plan.batchId]);
    expect(placed.rows[0].n).toBeGreaterThan(0);
    expect(placed.rows[0].stored).toBe(placed.rows[0].n);
  });
});

describe('storeDistricts', () => {
  const square = (lon: number, lat: number, d: number): Polygon => ({ type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] });

  it('keeps the newest month\'s outline when an older month\'s batch is run again with its older layer', async () => {
    await storeDistricts(db, { batchId: 'b-new', epoch: '2031-05' }, [{ code: '379901', name: '新', geometry: square(100, 30, 0.1) }]);
    expect(await storeDistricts(db, { batchId: 'b-old', epoch: '2031-04' }, [{ code: '379901', name: '旧', geometry: square(101, 30, 0.1) }])).toBe(0);
    const row = (await stored()).find((r) => r.code === '379901')!;
    expect([row.name, row.batch_id, row.epoch]).toEqual(['新', 'b-new', '2031-05']);
  });

  it('stores a district given as several features as their union, valid', async () => {
    // Two halves that share an edge, and a third part apart.
    await storeDistricts(db, { batchId: 'b-parts', epoch: '2031-05' }, [
      { code: '379902', name: '', geometry: square(110, 30, 0.1) },
      { code: '379902', name: '分区', geometry: square(110.1, 30, 0.1) },
      { code: '379902', name: '分区', geometry: { type: 'MultiPolygon', coordinates: [square(111, 30, 0.1).coordinates] } },
    ]);
    const r = await db.query<{ name: string; valid: boolean; parts: number; type: string }>(
      "SELECT name, ST_IsValid(geom) AS valid, ST_NumGeometries(geom) AS parts, GeometryType(geom) AS type FROM districts WHERE code = '379902'",
    );
    expect(r.rows[0]).toEqual({ name: '分区', valid: true, parts: 2, type: 'MULTIPOLYGON' });
  });
});

describe('storeTownships', () => {
  const square = (lon: number, lat: number, d: number): Polygon => ({ type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] });
  const row = async (key: string) => (await db.query<{ code: string | null; name: string; epoch: string }>('SELECT code, name, epoch FROM townships WHERE key = $1', [key])).rows[0];

  it("keeps the newest month's outline, and keys a township the layer gives no code by its name", async () => {
    await storeTownships(db, { batchId: 'b-new', epoch: '2031-05' }, [{ code: '379901001', name: '新镇', geometry: square(100, 30, 0.1) }, { code: null, name: '无码街道', geometry: square(100.2, 30, 0.1) }]);
    expect(await storeTownships(db, { batchId: 'b-old', epoch: '2031-04' }, [{ code: '379901001', name: '旧镇', geometry: square(101, 30, 0.1) }])).toBe(0);
    expect(await row('379901001')).toEqual({ code: '379901001', name: '新镇', epoch: '2031-05' });
    expect(await row('/无码街道')).toEqual({ code: null, name: '无码街道', epoch: '2031-05' });
  });

  it('keys a township without a code by the unit above and its name, and two of one name there each by its geometry; a re-run writes the same rows', async () => {
    const layer = [
      { code: null, name: '城关镇', parent: '379903', geometry: square(102, 30, 0.1) },
      { code: null, name: '城关镇', parent: '379904', geometry: square(102.2, 30, 0.1) },
      // One name twice in one district: two places, or one in two pieces.
      { code: null, name: '新村镇', parent: '379903', geometry: square(102, 30.2, 0.05) },
      { code: null, name: '新村镇', parent: '379903', geometry: square(102.05, 30.2, 0.05) },
    ];
    expect(await storeTownships(db, { batchId: 'b-names', epoch: '2031-05' }, layer)).toBe(4);
    const keys = async () => (await db.query<{ key: string; geom: string }>("SELECT key, geom::text AS geom FROM townships WHERE name IN ('城关镇', '新村镇') ORDER BY key")).rows;
    const first = await keys();
    expect(first.map((r) => r.key.replace(/#[0-9a-f]{16}$/, '#…'))).toEqual(['379903/城关镇', '379903/新村镇#…', '379903/新村镇#…', '379904/城关镇']);
    expect(await storeTownships(db, { batchId: 'b-names', epoch: '2031-05' }, layer)).toBe(4);
    expect(await keys()).toEqual(first);
  });

  it('drops a row keyed by the name alone (before units of one name were kept apart) when a batch of its month or later stores that name', async () => {
    await db.query(
      `INSERT INTO townships (key, code, name, geom, batch_id, epoch) VALUES
         ('名称:旧名镇', NULL, '旧名镇', ST_Multi(ST_MakeEnvelope(103, 30, 103.1, 30.1, 4326)), 'b-legacy', '2031-04'),
         ('名称:他名镇', NULL, '他名镇', ST_Multi(ST_MakeEnvelope(103.2, 30, 103.3, 30.1, 4326)), 'b-legacy', '2031-04')`,
    );
    // An older month's batch leaves it; one of its month replaces it; another name keeps its row.
    await storeTownships(db, { batchId: 'b-older', epoch: '2031-03' }, [{ code: null, name: '旧名镇', parent: '379905', geometry: square(103, 30, 0.1) }]);
    expect(await row('名称:旧名镇')).toEqual({ code: null, name: '旧名镇', epoch: '2031-04' });
    await storeTownships(db, { batchId: 'b-legacy', epoch: '2031-04' }, [{ code: null, name: '旧名镇', parent: '379905', geometry: square(103, 30, 0.1) }]);
    expect(await row('名称:旧名镇')).toBeUndefined();
    expect(await row('379905/旧名镇')).toEqual({ code: null, name: '旧名镇', epoch: '2031-04' });
    expect(await row('名称:他名镇')).toEqual({ code: null, name: '他名镇', epoch: '2031-04' });
  });
});
