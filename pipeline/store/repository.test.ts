/**
 * Store tests on one in-memory PGlite (PostGIS takes ~15 s to start, so the whole file shares it).
 * Each test uses its own batch id, so tests do not see each other's rows. Set TUBAN_TEST_DATABASE_URL
 * (postgres://…) to run the same tests on a server, in a fresh schema.
 */
import type { MultiPolygon, Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '../model.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { SQM_PER_MU } from '../../schemas/vocabulary.js';
import { areaM2 } from '../../geo/area.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { openDatabase } from './open-database.js';
import type { Database } from './queryable.js';
import {
  findPreviousSites,
  loadBatch,
  loadDetections,
  loadGonePolygons,
  loadNotObservedSummary,
  loadRejectedGround,
  loadPolygons,
  loadRejected,
  loadTiles,
  recordRejected,
  replaceBatchPolygons,
  replaceTileDetections,
  setBatchReport,
  setBatchStatus,
  setTileStatus,
  upsertBatch,
  serialsInUse,
  serialLockDistricts,
  storeBatchPolygons,
  upsertTiles,
  warmUpGeometry,
  writeRejectedPriorGround,
  writeTilePriorGround,
} from './repository.js';

let db: Database;

beforeAll(async () => {
  const url = process.env.TUBAN_TEST_DATABASE_URL;
  db = url ? await openDatabase(url, { schema: `tuban_test_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
  await migrate(db);
}, 120_000);

afterAll(async () => {
  await db?.close();
});

/** Square of `d` degrees with its south-west corner at (lon, lat). */
function square(lon: number, lat: number, d = 0.001): Polygon {
  return { type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] };
}

function detection(tileId: string, index: number, lon = 117 + index * 0.01): Detection {
  return {
    tileId,
    index,
    geometry: square(lon, 36.6),
    areaM2: 8900 + index,
    changeType: 'construction',
    confidence: 0.8,
    reasons: ['ndvi_drop', 'bsi_rise'],
    beforeDate: '2026-09-03',
    afterDate: '2026-10-05',
    pixelCount: 89,
  };
}

function polygon(code: string, epoch: string, geometry: Polygon, extra: Partial<MonitoringPolygon> = {}): MonitoringPolygon {
  const ring = geometry.coordinates[0];
  return {
    code,
    epoch,
    geometry,
    centroid: [(ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2],
    areaM2: 9000,
    areaMu: 9000 / SQM_PER_MU,
    changeType: 'construction',
    changeClass: 'JZ',
    confidence: 0.9,
    reasons: ['ndvi_drop'],
    beforeDate: '2026-09-03',
    afterDate: '2026-10-05',
    landClassBefore: '0103',
    overlaps: { drinking_water_source: { m2: 5670, share: 0.63 } },
    districtCode: '370102',
    districtName: '历下区',
    townshipCode: '370102001',
    townshipName: '解放路街道',
    villageCode: '370102001002',
    villageName: '文化东路社区',
    leadBureau: 'ecology_environment',
    coBureaus: ['natural_resources', 'township'],
    routingReason: '饮用水水源保护区 占 63%',
    ruleId: 'drinking_water_source',
    priority: 'high',
    priorityReasons: ['面积 9000 m² 超过 500 m²'],
    previousCode: null,
    detector: { name: 'spectral', version: '1.0.0', paramsHash: 'abc123' },
    tileId: 't1',
    ...extra,
  };
}

async function count(sql: string, params: unknown[]): Promise<number> {
  return (await db.query<{ n: number }>(sql, params)).rows[0].n;
}

describe('migrate', () => {
  it('is idempotent: a second run applies nothing and keeps one record per migration', async () => {
    expect(await migrate(db)).toEqual([]);
    const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('creates GiST indexes on the geometry columns', async () => {
    const r = await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE indexdef ILIKE '%USING gist%' ORDER BY indexname`);
    expect(r.rows.map((x) => x.indexname)).toEqual(expect.arrayContaining(['detections_geom_gist', 'polygons_geom_gist', 'not_observed_geom_gist']));
  });

  it('refuses a database a later Tuban upgraded (DB.TOO_NEW) and changes nothing', async () => {
    const future = Math.max(...MIGRATIONS.map((m) => m.version)) + 1;
    await db.query(`INSERT INTO schema_migrations (version, name) VALUES ($1, 'from a later Tuban')`, [future]);
    try {
      await expect(migrate(db)).rejects.toMatchObject({ code: 'DB.TOO_NEW', message: expect.stringContaining(`schema version ${future}, newer than this Tuban's ${future - 1}`) });
      expect(await count('SELECT count(*)::int AS n FROM schema_migrations WHERE version = $1', [future])).toBe(1);
    } finally {
      await db.query('DELETE FROM schema_migrations WHERE version = $1', [future]);
    }
  });

  it('adds the township (乡镇/街道) to a database of the migrations before it: old rows blank, clues too, then stored, kept when gone and read through work_items', async () => {
    // Found by what it adds, not by number: migrations merged beside it may renumber it.
    const township = MIGRATIONS.find((m) => m.sql.includes('ADD COLUMN township_code'))!;
    const url = process.env.TUBAN_TEST_DATABASE_URL;
    const old = url ? await openDatabase(url, { schema: `tuban_township_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
    try {
      await migrate(old, MIGRATIONS.filter((m) => m.version < township.version));
      await upsertBatch(old, { id: 'b-old', epoch: '2026-09', params: {} });
      await old.query(`INSERT INTO polygons (epoch, code, batch_id, geom, centroid, area_m2, area_mu, change_type, change_class, confidence, reasons, before_date, after_date, zone_overlaps, district_code, district_name, lead_bureau, co_bureaus, routing_reason, rule_id, priority, priority_reasons, detector, tile_id)
        VALUES ('2026-09', '370102-202609-0001', 'b-old', ST_MakeEnvelope(117, 36, 117.001, 36.001, 4326), ST_SetSRID(ST_MakePoint(117.0005, 36.0005), 4326), 100, 0.15, 'construction', 'JZ', 0.9, '[]', '2026-08-01', '2026-09-01', '{}', '370102', '历下区', 'natural_resources', '[]', 'r', 'r', 'normal', '[]', '{}', 't')`);
      await old.query(`INSERT INTO clues (code, epoch, source, geom, area_m2, district_code, district_name, lead_bureau, description, reported_by, reported_on)
        VALUES ('370102-202609-X001', '2026-09', 'patrol', ST_SetSRID(ST_MakePoint(117.2, 36.2), 4326), 0, '370102', '历下区', 'natural_resources', '堆土', 'd1', '2026-09-12')`);
      expect(await migrate(old)).toEqual(MIGRATIONS.filter((m) => m.version >= township.version).map((m) => m.version));
      const items = await old.query<{ code: string; township_code: string | null; township_name: string | null }>('SELECT code, township_code, township_name FROM work_items ORDER BY code');
      expect(items.rows).toEqual([
        { code: '370102-202609-0001', township_code: null, township_name: null },
        { code: '370102-202609-X001', township_code: null, township_name: null },
      ]);
      expect((await loadPolygons(old, 'b-old'))[0]).toMatchObject({ townshipCode: null, townshipName: null });
      // A batch stores its townships; one a case was opened for keeps its township when a re-run drops it.
      await upsertBatch(old, { id: 'b-new', epoch: '2026-10', params: {} });
      await replaceBatchPolygons(old, 'b-new', [polygon('370102-202610-0001', '2026-10', square(117, 36.6))]);
      expect((await old.query('SELECT township_code, township_name FROM work_items WHERE code = $1', ['370102-202610-0001'])).rows).toEqual([{ township_code: '370102001', township_name: '解放路街道' }]);
      await old.query(`INSERT INTO cases (code, epoch, lead_bureau, co_bureaus, district_code, issued_on, geom_hash) VALUES ('370102-202610-0001', '2026-10', 'natural_resources', '[]', '370102', '2026-10-20', 'h')`);
      await replaceBatchPolygons(old, 'b-new', []);
      expect((await loadGonePolygons(old, '2026-10')).map((p) => [p.code, p.townshipCode, p.townshipName])).toEqual([['370102-202610-0001', '370102001', '解放路街道']]);
    } finally {
      await old.close();
    }
  }, 120_000);

  it('adds the village (村/社区) to a database of the migrations before it: old rows and clues blank, then stored, kept when gone and read through work_items', async () => {
    const village = MIGRATIONS.find((m) => m.sql.includes('ADD COLUMN village_code'))!;
    const url = process.env.TUBAN_TEST_DATABASE_URL;
    const old = url ? await openDatabase(url, { schema: `tuban_village_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
    try {
      await migrate(old, MIGRATIONS.filter((m) => m.version < village.version));
      await upsertBatch(old, { id: 'b-old', epoch: '2026-09', params: {} });
      await old.query(`INSERT INTO polygons (epoch, code, batch_id, geom, centroid, area_m2, area_mu, change_type, change_class, confidence, reasons, before_date, after_date, zone_overlaps, district_code, district_name, lead_bureau, co_bureaus, routing_reason, rule_id, priority, priority_reasons, detector, tile_id, township_code, township_name)
        VALUES ('2026-09', '370102-202609-0001', 'b-old', ST_MakeEnvelope(117, 36, 117.001, 36.001, 4326), ST_SetSRID(ST_MakePoint(117.0005, 36.0005), 4326), 100, 0.15, 'construction', 'JZ', 0.9, '[]', '2026-08-01', '2026-09-01', '{}', '370102', '历下区', 'natural_resources', '[]', 'r', 'r', 'normal', '[]', '{}', 't', '370102001', '解放路街道')`);
      await old.query(`INSERT INTO clues (code, epoch, source, geom, area_m2, district_code, district_name, lead_bureau, description, reported_by, reported_on)
        VALUES ('370102-202609-X001', '2026-09', 'patrol', ST_SetSRID(ST_MakePoint(117.2, 36.2), 4326), 0, '370102', '历下区', 'natural_resources', '堆土', 'd1', '2026-09-12')`);
      expect(await migrate(old)).toEqual(MIGRATIONS.filter((m) => m.version >= village.version).map((m) => m.version));
      const items = await old.query('SELECT code, township_name, village_code, village_name FROM work_items ORDER BY code');
      expect(items.rows).toEqual([
        { code: '370102-202609-0001', township_name: '解放路街道', village_code: null, village_name: null },
        { code: '370102-202609-X001', township_name: null, village_code: null, village_name: null },
      ]);
      expect((await loadPolygons(old, 'b-old'))[0]).toMatchObject({ townshipName: '解放路街道', villageCode: null, villageName: null });
      await upsertBatch(old, { id: 'b-new', epoch: '2026-10', params: {} });
      await replaceBatchPolygons(old, 'b-new', [polygon('370102-202610-0001', '2026-10', square(117, 36.6))]);
      expect((await old.query('SELECT village_code, village_name FROM work_items WHERE code = $1', ['370102-202610-0001'])).rows).toEqual([{ village_code: '370102001002', village_name: '文化东路社区' }]);
      await old.query(`INSERT INTO cases (code, epoch, lead_bureau, co_bureaus, district_code, issued_on, geom_hash) VALUES ('370102-202610-0001', '2026-10', 'natural_resources', '[]', '370102', '2026-10-20', 'h')`);
      await replaceBatchPolygons(old, 'b-new', []);
      expect((await loadGonePolygons(old, '2026-10')).map((p) => [p.code, p.villageCode, p.villageName])).toEqual([['370102-202610-0001', '370102001002', '文化东路社区']]);
    } finally {
      await old.close();
    }
  }, 120_000);

  it("adds the village outlines a clue is placed by to a database of the migrations before it: an old clue keeps none, a new one's read through work_items", async () => {
    const villages = MIGRATIONS.find((m) => m.sql.includes('CREATE TABLE villages'))!;
    const url = process.env.TUBAN_TEST_DATABASE_URL;
    const old = url ? await openDatabase(url, { schema: `tuban_village_clue_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
    const clue = (code: string, extra: string, values: string) =>
      old.query(`INSERT INTO clues (code, epoch, source, geom, area_m2, district_code, district_name, lead_bureau, description, reported_by, reported_on${extra})
        VALUES ('${code}', '2026-09', 'patrol', ST_SetSRID(ST_MakePoint(117.2, 36.2), 4326), 0, '370102', '历下区', 'natural_resources', '堆土', 'd1', '2026-09-12'${values})`);
    try {
      await migrate(old, MIGRATIONS.filter((m) => m.version < villages.version));
      await clue('370102-202609-X0001', ', township_code, township_name', ", '370102001', '解放路街道'");
      expect(await migrate(old)).toEqual(MIGRATIONS.filter((m) => m.version >= villages.version).map((m) => m.version));
      await clue('370102-202609-X0002', ', village_code, village_name', ", '370102001002', '文化东路社区'");
      expect((await old.query('SELECT code, township_name, village_code, village_name FROM work_items ORDER BY code')).rows).toEqual([
        { code: '370102-202609-X0001', township_name: '解放路街道', village_code: null, village_name: null },
        { code: '370102-202609-X0002', township_name: null, village_code: '370102001002', village_name: '文化东路社区' },
      ]);
      expect((await old.query(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'villages' AND indexdef ILIKE '%USING gist%'`)).rows).toEqual([{ indexname: 'villages_geom_gist' }]);
    } finally {
      await old.close();
    }
  }, 120_000);

  it('rolls back a failing migration entirely and records nothing', async () => {
    const broken = [...MIGRATIONS, { version: 9999, name: 'broken', sql: 'CREATE TABLE tmp_ok (x int);\nSELECT no_such_function();\n' }];
    await expect(migrate(db, broken)).rejects.toThrow();
    expect(await count(`SELECT count(*)::int AS n FROM schema_migrations WHERE version = 9999`, [])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'tmp_ok'`, [])).toBe(0);
  });
});

describe('warmUpGeometry', () => {
  it('can run more than once and leaves no table and no row behind', async () => {
    const before = await count("SELECT count(*)::int AS n FROM pg_class WHERE relkind IN ('r', 'i')", []);
    await warmUpGeometry(db);
    await warmUpGeometry(db);
    expect(await count("SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'tuban_warm_up%'", [])).toBe(0);
    expect(await count("SELECT count(*)::int AS n FROM pg_class WHERE relkind IN ('r', 'i')", [])).toBe(before);
  });
});

describe('batches and tiles', () => {
  it('upserts a batch without losing its plan or creation time', async () => {
    await upsertBatch(db, { id: 'b-batch', epoch: '2026-10', params: { k: 1 }, plan: { tiles: ['t1'] } });
    const first = await loadBatch(db, 'b-batch');
    await upsertBatch(db, { id: 'b-batch', epoch: '2026-10', params: { k: 2 } });
    const second = await loadBatch(db, 'b-batch');
    expect(second).toMatchObject({ epoch: '2026-10', params: { k: 2 }, plan: { tiles: ['t1'] }, status: 'planned', finishedAt: null });
    expect(second!.createdAt.getTime()).toBe(first!.createdAt.getTime());
    expect(await loadBatch(db, 'nope')).toBeNull();
  });

  it('stamps finished_at on done and stores the report', async () => {
    await upsertBatch(db, { id: 'b-status', epoch: '2026-10', params: {} });
    await setBatchStatus(db, 'b-status', 'running');
    expect((await loadBatch(db, 'b-status'))!.finishedAt).toBeNull();
    await setBatchStatus(db, 'b-status', 'done', { polygons: 3 });
    const b = await loadBatch(db, 'b-status');
    expect(b!.status).toBe('done');
    expect(b!.finishedAt).toBeInstanceOf(Date);
    expect(b!.report).toEqual({ polygons: 3 });
    await setBatchReport(db, 'b-status', { polygons: 4 });
    expect((await loadBatch(db, 'b-status'))!.report).toEqual({ polygons: 4 });
    await expect(setBatchStatus(db, 'missing', 'done')).rejects.toThrow(/no batch/);
  });

  it('registers tiles idempotently and keeps their status on re-plan', async () => {
    await upsertBatch(db, { id: 'b-tiles', epoch: '2026-10', params: {} });
    await upsertTiles(db, 'b-tiles', [{ tileId: 't1', role: 'current', info: { date: '2026-10-05' } }, { tileId: 'p1', role: 'prior' }]);
    await setTileStatus(db, 'b-tiles', 't1', 'failed', { code: 'TILE.UNREADABLE', message: 'truncated', subject: 'a.tif' });
    await upsertTiles(db, 'b-tiles', [{ tileId: 't1', role: 'current', info: { date: '2026-10-05' } }]);
    const tiles = await loadTiles(db, 'b-tiles');
    expect(tiles).toEqual([
      { tileId: 'p1', role: 'prior', info: null, status: 'pending', error: null },
      { tileId: 't1', role: 'current', info: { date: '2026-10-05' }, status: 'failed', error: { code: 'TILE.UNREADABLE', message: 'truncated', subject: 'a.tif' } },
    ]);
  });

  it('records each rejected input once per (subject, code)', async () => {
    await upsertBatch(db, { id: 'b-rej', epoch: '2026-10', params: {} });
    const rej = { subject: 'zones/x.shp', error: { code: 'ZONES.CRS_MISSING' as const, message: 'no .prj' } };
    await recordRejected(db, 'b-rej', [rej, { ...rej, error: { ...rej.error, message: 'still no .prj' } }]);
    await recordRejected(db, 'b-rej', [{ subject: 'a.tif', error: { code: 'TILE.UNREADABLE', message: 'bad' } }]);
    expect(await loadRejected(db, 'b-rej')).toEqual([
      { subject: 'a.tif', error: { code: 'TILE.UNREADABLE', message: 'bad' } },
      { subject: 'zones/x.shp', error: { code: 'ZONES.CRS_MISSING', message: 'still no .prj' } },
    ]);
  });
});

describe('replaceTileDetections', () => {
  it('round-trips detections and leaves no duplicates when run twice', async () => {
    await upsertBatch(db, { id: 'b-det', epoch: '2026-10', params: {} });
    const dets = [detection('t1', 0), detection('t1', 1)];
    await replaceTileDetections(db, 'b-det', 't1', dets, { areaM2: 1234.5, geometry: square(117.5, 36.5, 0.01) });
    await replaceTileDetections(db, 'b-det', 't1', dets, { areaM2: 1234.5, geometry: square(117.5, 36.5, 0.01) });
    await replaceTileDetections(db, 'b-det', 't2', [detection('t2', 0)], null);
    const loaded = await loadDetections(db, 'b-det');
    expect(loaded).toEqual([...dets, detection('t2', 0)]);
    expect(await loadNotObservedSummary(db, 'b-det')).toEqual({ areaM2: 1234.5, tiles: 1 });
    expect((await loadTiles(db, 'b-det')).map((t) => [t.tileId, t.status])).toEqual([['t1', 'done'], ['t2', 'done']]);
  });

  it('replaces a tile whose second run found fewer polygons', async () => {
    await upsertBatch(db, { id: 'b-fewer', epoch: '2026-10', params: {} });
    await replaceTileDetections(db, 'b-fewer', 't1', [detection('t1', 0), detection('t1', 1), detection('t1', 2)], null);
    await replaceTileDetections(db, 'b-fewer', 't1', [detection('t1', 0)], null);
    expect((await loadDetections(db, 'b-fewer')).map((d) => d.index)).toEqual([0]);
  });

  it('leaves the previous rows untouched when a geometry deep in the list is invalid', async () => {
    await upsertBatch(db, { id: 'b-atomic', epoch: '2026-10', params: {} });
    const good = [detection('t1', 0), detection('t1', 1)];
    await replaceTileDetections(db, 'b-atomic', 't1', good, { areaM2: 10, geometry: null });
    // 1200 rows span three INSERT chunks; the bad one sits in the third, after two chunks went in.
    const many = Array.from({ length: 1200 }, (_, i) => detection('t1', i, 117 + i * 1e-3));
    many[1100] = { ...many[1100], geometry: { type: 'Point', coordinates: [117, 36] } as unknown as Polygon };
    await expect(replaceTileDetections(db, 'b-atomic', 't1', many, { areaM2: 99, geometry: null })).rejects.toThrow();
    expect(await loadDetections(db, 'b-atomic')).toEqual(good);
    expect(await loadNotObservedSummary(db, 'b-atomic')).toEqual({ areaM2: 10, tiles: 1 });
    // The shared instance is still usable after the rolled-back transaction.
    expect(await count('SELECT count(*)::int AS n FROM detections WHERE batch_id = $1', ['b-atomic'])).toBe(2);
  });

  it('refuses detections that belong to another tile', async () => {
    await expect(replaceTileDetections(db, 'b-det', 't1', [detection('t9', 0)], null)).rejects.toThrow(/passed for tile t1/);
  });
});

describe('polygons', () => {
  it('round-trips every MonitoringPolygon field and replaces a batch without duplicates', async () => {
    await upsertBatch(db, { id: 'b-poly', epoch: '2026-10', params: {} });
    const polys = [
      polygon('370102-202610-0001', '2026-10', square(117, 36.6)),
      // Outside every township (or no township layer): both null.
      polygon('370102-202610-0002', '2026-10', square(117.1, 36.6), { previousCode: '370102-202609-0004', landClassBefore: null, priority: 'normal', priorityReasons: [], townshipCode: null, townshipName: null }),
      // In a village of a layer that names its villages only.
      polygon('370102-202610-0009', '2026-10', square(117.2, 36.6), { villageCode: null, villageName: '无码村' }),
    ];
    await replaceBatchPolygons(db, 'b-poly', polys);
    await replaceBatchPolygons(db, 'b-poly', polys);
    const loaded = await loadPolygons(db, 'b-poly');
    expect(loaded).toHaveLength(3);
    expect(loaded).toEqual(polys);
  });

  it('lets a re-run batch of the month supersede the old one on its tiles, and numbers after other batches', async () => {
    const epoch = '2026-07';
    await upsertBatch(db, { id: 'b-jul-1', epoch, params: {} });
    await upsertBatch(db, { id: 'b-jul-2', epoch, params: {} });
    await upsertBatch(db, { id: 'b-jul-east', epoch, params: {} });
    await replaceBatchPolygons(db, 'b-jul-1', [polygon('370102-202607-0001', epoch, square(119, 36.6), { tileId: 'west' }), polygon('370102-202607-0002', epoch, square(119.1, 36.6), { tileId: 'west' })]);
    await replaceBatchPolygons(db, 'b-jul-east', [polygon('370102-202607-0003', epoch, square(119.5, 36.6), { tileId: 'east' })]);
    // The corrected re-run over the west tile continues after the east batch's serial, not after its own predecessor's.
    expect(await serialsInUse(db, epoch, 'b-jul-2', ['west'])).toEqual({ '370102': 3 });
    await replaceBatchPolygons(db, 'b-jul-2', [polygon('370102-202607-0004', epoch, square(119, 36.6), { tileId: 'west' })], { epoch, tileIds: ['west'] });
    expect(await loadPolygons(db, 'b-jul-1')).toEqual([]);
    expect((await loadPolygons(db, 'b-jul-2')).map((p) => p.code)).toEqual(['370102-202607-0004']);
    expect((await loadPolygons(db, 'b-jul-east')).map((p) => p.code)).toEqual(['370102-202607-0003']);
  });

  it('keeps the codes of the sites a re-run of the month finds again, and never gives a dropped code to another site', async () => {
    // A month run, then run again with other parameters (another batch id) over the same tile: the
    // north polygon is no longer found, a new one appears in the south. Cases are keyed by code, so
    // renumbering from 0001 would hand the dropped polygon's verdict to its neighbour.
    const epoch = '2026-05';
    const tile = { epoch, tileIds: ['t-may'] };
    const at = (lat: number, code: string) => polygon(code, epoch, square(119, lat), { tileId: 't-may' });
    for (const id of ['b-may-1', 'b-may-2', 'b-may-3']) await upsertBatch(db, { id, epoch, params: {} });
    const first = await storeBatchPolygons(db, 'b-may-1', [at(36.9, '370102-202605-0001'), at(36.8, '370102-202605-0002'), at(36.7, '370102-202605-0003')], tile);
    expect(first.map((p) => p.code)).toEqual(['370102-202605-0001', '370102-202605-0002', '370102-202605-0003']);
    await db.query(
      `INSERT INTO cases (code, epoch, lead_bureau, co_bureaus, district_code, issued_on, geom_hash, verdict, status)
       VALUES ('370102-202605-0001', $1, 'forestry', '[]', '370102', '2026-06-02', 'x', 'illegal', 'verified')`,
      [epoch],
    );
    // Batch-local codes from 0001, as finalise gives them.
    const rerun = await storeBatchPolygons(db, 'b-may-2', [at(36.8, '370102-202605-0001'), at(36.7, '370102-202605-0002'), at(36.6, '370102-202605-0003')], tile);
    expect(rerun.map((p) => p.code)).toEqual(['370102-202605-0002', '370102-202605-0003', '370102-202605-0004']);
    expect((await loadPolygons(db, 'b-may-2')).map((p) => p.code)).toEqual(['370102-202605-0002', '370102-202605-0003', '370102-202605-0004']);
    expect(await loadPolygons(db, 'b-may-1')).toEqual([]);
    // The dropped site is found again by a third run: it is a new serial, 0001 stays its case's.
    const third = await storeBatchPolygons(db, 'b-may-3', [at(36.95, '370102-202605-0001'), at(36.8, '370102-202605-0002'), at(36.7, '370102-202605-0003'), at(36.6, '370102-202605-0004')], tile);
    expect(third.map((p) => p.code)).toEqual(['370102-202605-0005', '370102-202605-0002', '370102-202605-0003', '370102-202605-0004']);
    // The same batch again keeps every code.
    const again = await storeBatchPolygons(db, 'b-may-3', [at(36.95, '370102-202605-0001'), at(36.8, '370102-202605-0002'), at(36.7, '370102-202605-0003'), at(36.6, '370102-202605-0004')], tile);
    expect(again.map((p) => p.code)).toEqual(third.map((p) => p.code));
  });

  it('never gives a case of a code a --replaces batch dropped to a site of the replaced batch run again', async () => {
    // A over tile a (0001, 0002; 0002 judged illegal); B (re-prepared imagery, tile b) replaces A and
    // finds only 0001's site: 0002's polygon goes, its case stays. A run again holds nothing of the
    // month any more and numbers as a first run: after B's serials (0001), so it handed 0002 back out.
    const epoch = '2026-03';
    const code = (s: number) => `370102-202603-${String(s).padStart(4, '0')}`;
    const at = (lat: number, c: string, tileId: string) => polygon(c, epoch, square(119, lat), { tileId });
    for (const id of ['b-mar-a', 'b-mar-b']) await upsertBatch(db, { id, epoch, params: {} });
    await upsertTiles(db, 'b-mar-a', [{ tileId: 'a', role: 'current' }]);
    await upsertTiles(db, 'b-mar-b', [{ tileId: 'b', role: 'current' }]);
    await storeBatchPolygons(db, 'b-mar-a', [at(36.9, code(1), 'a'), at(36.8, code(2), 'a')], { epoch, tileIds: ['a'] });
    await db.query(
      `INSERT INTO cases (code, epoch, lead_bureau, co_bureaus, district_code, issued_on, geom_hash, verdict, status)
       VALUES ($1, $2, 'forestry', '[]', '370102', '2026-04-02', 'x', 'illegal', 'verified')`,
      [code(2), epoch],
    );
    const b = await storeBatchPolygons(db, 'b-mar-b', [at(36.9, code(1), 'b')], { epoch, tileIds: ['b'], replaces: ['b-mar-a'] });
    expect(b.map((p) => p.code)).toEqual([code(1)]);
    expect(await loadPolygons(db, 'b-mar-a')).toEqual([]);
    const again = await storeBatchPolygons(db, 'b-mar-a', [at(36.9, code(1), 'a'), at(36.8, code(2), 'a')], { epoch, tileIds: ['a'] });
    expect(again.map((p) => p.code)).not.toContain(code(2));
    expect(again.map((p) => p.code)).toEqual([code(3), code(4)]);
    // A third batch that was planned to replace A while B was still running finds it replaced by B
    // when it stores its polygons (the check at planning passed then): refused, B's polygons kept.
    await upsertBatch(db, { id: 'b-mar-c', epoch, params: {} });
    await db.query("UPDATE batches SET replaced_by = 'b-mar-b' WHERE id = 'b-mar-a'");
    await expect(storeBatchPolygons(db, 'b-mar-c', [at(36.9, code(1), 'c')], { epoch, tileIds: ['c'], replaces: ['b-mar-a'] })).rejects.toMatchObject({
      code: 'BATCH.CANNOT_REPLACE',
      message: expect.stringContaining('b-mar-a was replaced by batch b-mar-b meanwhile'),
    });
    expect((await loadPolygons(db, 'b-mar-b')).map((p) => p.code)).toEqual([code(1)]);
  });

  it('locks the serials of the districts whose polygons a store deletes, not only those it numbers in', async () => {
    // A holds polygons in two districts on tile a; B replaces A with a polygon in the first only:
    // the second district's codes leave the month in B's transaction, so its lock is taken too.
    const epoch = '2026-02';
    const at = (lat: number, c: string, tileId: string, districtCode: string) => polygon(c, epoch, square(119.5, lat), { tileId, districtCode });
    await upsertBatch(db, { id: 'b-feb-a', epoch, params: {} });
    await upsertTiles(db, 'b-feb-a', [{ tileId: 'a', role: 'current' }]);
    await storeBatchPolygons(db, 'b-feb-a', [at(36.9, '370102-202602-0001', 'a', '370102'), at(36.8, '370112-202602-0001', 'a', '370112')], { epoch, tileIds: ['a'] });
    const locked = (scope: { tileIds: string[]; replaces?: string[] }, numbered: string[]) => db.transaction(async (tx) => [...(await serialLockDistricts(tx, { epoch, ...scope }, numbered))].sort());
    expect(await locked({ tileIds: ['b'], replaces: ['b-feb-a'] }, ['370102'])).toEqual(['370102', '370112']);
    expect(await locked({ tileIds: ['a'] }, ['370103'])).toEqual(['370102', '370103', '370112']);
    expect(await locked({ tileIds: ['c'] }, ['370102'])).toEqual(['370102']);
  });

  it('keeps the old polygons when a replacement fails half-way', async () => {
    await upsertBatch(db, { id: 'b-poly-atomic', epoch: '2026-08', params: {} });
    const before = [polygon('370102-202608-0001', '2026-08', square(118, 36.6))];
    await replaceBatchPolygons(db, 'b-poly-atomic', before);
    const bad = [polygon('370102-202608-0001', '2026-08', square(118, 36.6)), polygon('370102-202608-0002', '2026-08', square(118.1, 36.6), { priority: 'urgent' as 'high' })];
    await expect(replaceBatchPolygons(db, 'b-poly-atomic', bad)).rejects.toThrow();
    expect(await loadPolygons(db, 'b-poly-atomic')).toEqual(before);
  });

  it('finds the earlier-epoch polygon a new one overlaps, preferring the latest epoch', async () => {
    await upsertBatch(db, { id: 'b-2026-08', epoch: '2026-08', params: {} });
    await upsertBatch(db, { id: 'b-2026-09', epoch: '2026-09', params: {} });
    await replaceBatchPolygons(db, 'b-2026-08', [polygon('370103-202608-0001', '2026-08', square(116.5, 36.5, 0.01))]);
    await replaceBatchPolygons(db, 'b-2026-09', [
      polygon('370103-202609-0007', '2026-09', square(116.505, 36.505, 0.01)),
      polygon('370103-202609-0008', '2026-09', square(116.6, 36.5, 0.01)),
    ]);
    const found = await findPreviousSites(db, '2026-10', [
      square(116.506, 36.506, 0.002), // inside both the August and September sites: September wins
      square(116.502, 36.5005, 0.001), // only inside August's
      JSON.stringify(square(116.605, 36.505, 0.001)),
      square(116.8, 36.5, 0.001), // nowhere
      square(116.61, 36.5, 0.01), // shares only an edge with 0008: touching is not continuing
    ]);
    expect(found).toEqual(['370103-202609-0007', '370103-202608-0001', '370103-202609-0008', null, null]);
    // Same-epoch and later polygons are never "previous".
    expect(await findPreviousSites(db, '2026-08', [square(116.501, 36.501, 0.002)])).toEqual([null]);
    // Far from every earlier polygon (the box pre-check answers), and then one near again.
    expect(await findPreviousSites(db, '2026-10', [square(100, 20, 0.001), square(100.5, 20.5, 0.001)])).toEqual([null, null]);
    expect(await findPreviousSites(db, '2026-10', [square(100, 20, 0.001), square(116.506, 36.506, 0.002)])).toEqual([null, '370103-202609-0007']);
  });

  it('uses the GiST index for the site lookup', async () => {
    // One transaction pins one connection on a server, so SET LOCAL applies to the EXPLAIN.
    const plan = await db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      return tx.query<Record<string, string>>(
        `EXPLAIN SELECT code FROM polygons WHERE epoch < '2026-10' AND ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))`,
        [JSON.stringify(square(116.5, 36.5))],
      );
    });
    expect(plan.rows.map((r) => Object.values(r)[0]).join('\n')).toMatch(/polygons_geom_gist/);
  });
});

describe('geometries written as WKB', () => {
  /** A polygon with full-precision coordinates (the 17 digits a double prints with), one hole. */
  function ragged(seed: number): Polygon {
    const at = (k: number, r: number): number[] => [117 + seed * 0.01 + r * Math.cos(k + seed / 7), 36.6 + r * Math.sin(k + seed / 7) * 0.987654321];
    const outer = [0, 1, 2, 3, 4, 5].map((k) => at(k, 0.003 + (k % 2) * 0.000123456789));
    const hole = [5, 4, 3, 2, 1, 0].map((k) => at(k, 0.0007));
    return { type: 'Polygon', coordinates: [[...outer, outer[0]], [...hole, hole[0]]] };
  }

  /** Rows whose stored geometry is not, byte for byte, what ST_GeomFromGeoJSON gives for the same GeoJSON. */
  async function mismatches(table: string, key: string, geoms: Record<string, Polygon | MultiPolygon>, batchId: string): Promise<number> {
    return count(
      `SELECT count(*)::int AS n FROM ${table} t JOIN jsonb_each_text($2::jsonb) AS g(k, v) ON t.${key}::text = g.k
       WHERE t.batch_id = $1 AND ST_AsEWKB(t.geom) <> ST_AsEWKB(ST_SetSRID(ST_GeomFromGeoJSON(g.v), 4326))`,
      [batchId, JSON.stringify(Object.fromEntries(Object.entries(geoms).map(([k, g]) => [k, JSON.stringify(g)])))],
    );
  }

  it('stores the very geometry the GeoJSON text gave: detections, not-observed outline, polygons', async () => {
    await upsertBatch(db, { id: 'b-wkb', epoch: '2026-10', params: {} });
    const dets = [0, 1, 2].map((i) => ({ ...detection('t-wkb', i), geometry: ragged(i) }));
    const outline: MultiPolygon = { type: 'MultiPolygon', coordinates: [ragged(5).coordinates, ragged(9).coordinates] };
    await replaceTileDetections(db, 'b-wkb', 't-wkb', dets, { areaM2: 1234.5, geometry: outline });
    expect(await count('SELECT count(*)::int AS n FROM detections WHERE batch_id = $1', ['b-wkb'])).toBe(3);
    expect(await mismatches('detections', 'idx', Object.fromEntries(dets.map((d) => [String(d.index), d.geometry])), 'b-wkb')).toBe(0);
    expect(await mismatches('not_observed', 'tile_id', { 't-wkb': outline }, 'b-wkb')).toBe(0);
    // Read back through the normal path: the same coordinates.
    expect((await loadDetections(db, 'b-wkb')).map((d) => d.geometry)).toEqual(dets.map((d) => d.geometry));

    const polys = [3, 4].map((i) => polygon(`370102-202610-000${i}`, '2026-10', ragged(i), { tileId: 't-wkb' }));
    await replaceBatchPolygons(db, 'b-wkb', polys);
    expect(await mismatches('polygons', 'code', Object.fromEntries(polys.map((p) => [p.code, p.geometry])), 'b-wkb')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM polygons WHERE batch_id = $1', ['b-wkb'])).toBe(2);
  });

  it('refuses a coordinate that is not finite or a geometry that is not a polygon, storing nothing', async () => {
    await upsertBatch(db, { id: 'b-wkb-bad', epoch: '2026-10', params: {} });
    const nan = { ...detection('t-bad', 0), geometry: { type: 'Polygon', coordinates: [[[117, 36], [Number.NaN, 36], [117, 37], [117, 36]]] } as Polygon };
    await expect(replaceTileDetections(db, 'b-wkb-bad', 't-bad', [nan], null)).rejects.toThrow(/not finite/);
    const point = { ...detection('t-bad', 0), geometry: { type: 'Point', coordinates: [117, 36] } as unknown as Polygon };
    await expect(replaceTileDetections(db, 'b-wkb-bad', 't-bad', [point], null)).rejects.toThrow(/got Point/);
    expect(await count('SELECT count(*)::int AS n FROM detections WHERE batch_id = $1', ['b-wkb-bad'])).toBe(0);
  });
});

describe('writeRejectedPriorGround', () => {
  const rows = async (id: string) =>
    (await db.query<{ tile_id: string; file: string }>('SELECT tile_id, file FROM not_observed WHERE batch_id = $1 ORDER BY tile_id', [id])).rows.map((r) => [r.tile_id, r.file]);

  it('stores a file named twice (a STAC collection repeating an item) once, and a re-plan replaces the last plan\'s rows', async () => {
    await upsertBatch(db, { id: 'b-prior-ground', epoch: '2026-10', params: {} });
    const ground = [{ footprint: square(117, 36, 0.01), cover: [square(117, 36, 0.005)] }];
    const broken = { file: '/prior/items.json#S2_0906', reason: 'TILE.UNREADABLE' as const, footprint: square(117.004, 36.004, 0.01) };
    await writeRejectedPriorGround(db, 'b-prior-ground', [broken, { ...broken }], ground);
    expect(await rows('b-prior-ground')).toEqual([['prior:/prior/items.json#S2_0906', '/prior/items.json#S2_0906']]);
    // The broken prior deleted, not fixed (the batch id does not move): its ground is no longer reported.
    await writeRejectedPriorGround(db, 'b-prior-ground', [], ground);
    expect(await rows('b-prior-ground')).toEqual([]);
  });

  it("keeps a tile job's rows of a prior that did not decode (a re-plan does not run a finished tile again); the tile's re-run replaces them", async () => {
    await upsertBatch(db, { id: 'b-tile-prior', epoch: '2026-10', params: {} });
    const tile = { footprint: square(117, 36, 0.01), cover: [square(117, 36, 0.005)] };
    const broken = { file: '/prior/b.tif', reason: 'TILE.UNREADABLE' as const, footprint: square(117, 36, 0.01) };
    await writeTilePriorGround(db, 'b-tile-prior', 'abc123', [broken], tile);
    await writeRejectedPriorGround(db, 'b-tile-prior', [], [tile]);
    expect(await rows('b-tile-prior')).toEqual([['abc123/prior:/prior/b.tif', '/prior/b.tif']]);
    // A quarter of the tile is covered by the prior it fell back to: three quarters are left.
    const ground = await loadRejectedGround(db, 'b-tile-prior');
    expect(ground.footprintsM2).toBe(0);
    expect(ground.priorOverUsedM2 / areaM2(tile.footprint)).toBeCloseTo(0.75, 2);
    expect((await loadNotObservedSummary(db, 'b-tile-prior')).tiles).toBe(0);
    await writeTilePriorGround(db, 'b-tile-prior', 'abc123', [], null);
    expect(await rows('b-tile-prior')).toEqual([]);
  });
});

describe('loadRejectedGround', () => {
  const box = (w: number, e: number): Polygon => ({ type: 'Polygon', coordinates: [[[w, 36], [e, 36], [e, 36.05], [w, 36.05], [w, 36]]] });
  const put = async (batch: string, key: string, reason: string | null, g: Polygon) =>
    db.query(`INSERT INTO not_observed (batch_id, tile_id, area_m2, geom, reason, file) VALUES ($1, $2, $3, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($4), 4326)), $5, $6)`, [batch, key, areaM2(g), JSON.stringify(g), reason, key]);
  const used = async (batch: string, id: string, g: Polygon) =>
    db.query(`INSERT INTO tiles (batch_id, tile_id, role, info, status) VALUES ($1, $2, 'current', $3::jsonb, 'done')`, [batch, id, JSON.stringify({ tile: { footprint: g } })]);

  it("counts a rejected prior's ground over the strip where a rejected current tile overlaps a used one as over the used tile", async () => {
    // Used U: 120.0–120.1; rejected current R: 120.05–120.15 (its 120.1–120.15 half counted); the rejected
    // prior's ground the 120.05–120.1 strip, under U. Subtracting all of R's footprint, it was 0.
    await upsertBatch(db, { id: 'b-rej-ground', epoch: '2026-10', params: {} });
    await used('b-rej-ground', 'u1', box(120, 120.1));
    await put('b-rej-ground', 'r1', 'TILE.DATE_MISMATCH', box(120.05, 120.15));
    await put('b-rej-ground', 'prior:/prior/p.tif', 'TILE.UNREADABLE', box(120.05, 120.1));
    const ground = await loadRejectedGround(db, 'b-rej-ground');
    expect(ground.footprintsM2 / areaM2(box(120.1, 120.15))).toBeCloseTo(1, 3);
    expect(ground.priorOverUsedM2 / areaM2(box(120.05, 120.1))).toBeCloseTo(1, 3);
  });

  it('without a used tile subtracts the whole rejected footprint; without rejected current tiles keeps the whole prior ground', async () => {
    await upsertBatch(db, { id: 'b-rej-nouse', epoch: '2026-10', params: {} });
    await put('b-rej-nouse', 'r1', 'TILE.DATE_MISMATCH', box(120.05, 120.15));
    await put('b-rej-nouse', 'prior:/prior/p.tif', 'TILE.UNREADABLE', box(120.0, 120.1));
    const a = await loadRejectedGround(db, 'b-rej-nouse');
    expect(a.footprintsM2 / areaM2(box(120.05, 120.15))).toBeCloseTo(1, 3);
    expect(a.priorOverUsedM2 / areaM2(box(120.0, 120.05))).toBeCloseTo(1, 3);
    await upsertBatch(db, { id: 'b-rej-nocur', epoch: '2026-10', params: {} });
    await used('b-rej-nocur', 'u1', box(120, 120.1));
    await put('b-rej-nocur', 'prior:/prior/p.tif', 'TILE.UNREADABLE', box(120.05, 120.1));
    const b = await loadRejectedGround(db, 'b-rej-nocur');
    expect(b.footprintsM2).toBe(0);
    expect(b.priorOverUsedM2 / areaM2(box(120.05, 120.1))).toBeCloseTo(1, 3);
    // R wholly under U: nothing of R counted, the prior's ground all over U.
    await upsertBatch(db, { id: 'b-rej-under', epoch: '2026-10', params: {} });
    await used('b-rej-under', 'u1', box(120, 120.1));
    await put('b-rej-under', 'r1', 'TILE.DATE_MISMATCH', box(120.02, 120.08));
    await put('b-rej-under', 'prior:/prior/p.tif', 'TILE.UNREADABLE', box(120.05, 120.1));
    const c = await loadRejectedGround(db, 'b-rej-under');
    expect(c.footprintsM2).toBeCloseTo(0, 0);
    expect(c.priorOverUsedM2 / areaM2(box(120.05, 120.1))).toBeCloseTo(1, 3);
  });
});
