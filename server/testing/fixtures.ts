/**
 * Test fixtures for the server suites: a real database (in-memory PGlite, or a fresh schema on
 * TUBAN_TEST_DATABASE_URL), batch polygons written through the batch's own repository, users, an
 * app with a movable clock, and a JPEG carrying EXIF time, GPS and azimuth built byte by byte.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Polygon } from 'geojson';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { migrate } from '../../pipeline/store/migrations.js';
import { openDatabase } from '../../pipeline/store/open-database.js';
import type { Database } from '../../pipeline/store/queryable.js';
import { replaceBatchPolygons, setBatchStatus, upsertBatch } from '../../pipeline/store/repository.js';
import type { Role } from '../access/roles.js';
import { buildApp, type AppOptions } from '../app.js';
import { addUser } from '../auth/user-store.js';
import { loadCalendar } from '../deadlines/calendar.js';
import { DEFAULT_DEADLINES } from '../deadlines/rules.js';

export async function openTestDatabase(): Promise<Database> {
  const url = process.env.TUBAN_TEST_DATABASE_URL;
  const db = url ? await openDatabase(url, { schema: `tuban_srv_${process.pid}_${Date.now()}` }) : await openDatabase('memory://');
  await migrate(db);
  return db;
}

/** Square of `d` degrees with its south-west corner at (lon, lat). */
export function square(lon: number, lat: number, d = 0.001): Polygon {
  return { type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] };
}

export function polygon(code: string, epoch: string, geometry: Polygon, extra: Partial<MonitoringPolygon> = {}): MonitoringPolygon {
  const ring = geometry.coordinates[0];
  return {
    code,
    epoch,
    geometry,
    centroid: [(ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2],
    areaM2: 9000,
    areaMu: 13.5,
    changeType: 'construction',
    changeClass: 'JZ',
    confidence: 0.9,
    reasons: ['ndvi_drop'],
    beforeDate: '2026-09-03',
    afterDate: '2026-10-05',
    landClassBefore: '0103',
    overlaps: { drinking_water_source: { m2: 5670, share: 0.63 } },
    districtCode: code.slice(0, 6),
    districtName: code.startsWith('370102') ? '历下区' : '市中区',
    townshipCode: null,
    townshipName: null,
    villageCode: null,
    villageName: null,
    leadBureau: 'natural_resources',
    coBureaus: [],
    routingReason: '其他疑似违法用地',
    ruleId: 'default',
    priority: 'normal',
    priorityReasons: [],
    previousCode: null,
    detector: { name: 'spectral', version: '1.0.0', paramsHash: 'abc123' },
    tileId: 't1',
    ...extra,
  };
}

/** Write a finished batch of polygons as the batch does, issued on `issuedOn`. */
export async function writeBatch(db: Database, batchId: string, epoch: string, polys: MonitoringPolygon[], issuedOn: string): Promise<void> {
  await upsertBatch(db, { id: batchId, epoch, params: {} });
  await replaceBatchPolygons(db, batchId, polys);
  await setBatchStatus(db, batchId, 'done');
  await db.query(`UPDATE batches SET finished_at = $2::date + time '10:00' WHERE id = $1`, [batchId, issuedOn]);
}

export const PASSWORD = 'correct horse battery';

/** Users [name, role, bureau or district, township (a township bureau user's own)]. */
export async function addUsers(db: Database, users: [string, Role, string?, string?][]): Promise<void> {
  for (const [name, role, scope, township] of users) {
    await addUser(db, { name, role, bureau: role === 'bureau' ? scope : null, district: role === 'district' ? scope : null, township: township ?? null, password: PASSWORD }, 'test');
  }
}

export interface TestApp {
  app: FastifyInstance;
  dataDir: string;
  /** Set the clock (China civil date, at 10:00 CST). */
  setToday: (day: string) => void;
  token: (name: string) => Promise<string>;
  /** `url` as user `name`: a GET, or a POST of `payload` when one is given. */
  request: (name: string, url: string, payload?: unknown) => Promise<LightMyRequestResponse>;
}

export async function testApp(db: Database, opts: Partial<AppOptions> = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tuban-srv-'));
  let now = new Date('2026-11-03T02:00:00Z');
  const app = await buildApp({
    db,
    dataDir,
    secret: Buffer.from('test-secret-test-secret-test-secret!!'),
    deadlines: { rules: DEFAULT_DEADLINES, calendar: await loadCalendar() },
    now: () => now,
    maintainEveryMs: 0,
    ...opts,
  });
  // Tokens live 12 h of the app's clock, which tests move by days: one sign-in per user and day.
  const tokens = new Map<string, string>();
  const token = async (name: string): Promise<string> => {
    const key = `${name}@${now.toISOString().slice(0, 10)}`;
    if (!tokens.has(key)) {
      const r = await app.inject({ method: 'POST', url: '/api/session', payload: { name, password: PASSWORD } });
      if (r.statusCode !== 200) throw new Error(`sign-in of ${name} failed: ${r.body}`);
      tokens.set(key, r.json().token);
    }
    return tokens.get(key)!;
  };
  return {
    app,
    dataDir,
    setToday: (day) => {
      now = new Date(`${day}T02:00:00Z`);
    },
    token,
    request: async (name, url, payload) => {
      const headers = { authorization: `Bearer ${await token(name)}` };
      return payload === undefined ? app.inject({ method: 'GET', url, headers }) : app.inject({ method: 'POST', url, headers, payload: payload as object });
    },
  };
}

// ---------------------------------------------------------------- a JPEG with EXIF

function rationals(values: [number, number][]): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach(([n, d], i) => {
    b.writeUInt32LE(n, i * 8);
    b.writeUInt32LE(d, i * 8 + 4);
  });
  return b;
}

/**
 * A tiny JPEG (SOI, APP1 Exif little-endian, EOI) with DateTimeOriginal, GPS lat/lon and
 * GPSImgDirection — enough for the type sniffing and the EXIF reader; not a decodable image.
 */
export function jpegWithExif(opts: { taken: string; lat: number; lon: number; azimuth: number }): Buffer {
  type E = { tag: number; type: number; count: number; data: Buffer };
  const dms = (v: number): [number, number][] => {
    const d = Math.floor(v);
    const m = Math.floor((v - d) * 60);
    const s = Math.round(((v - d) * 60 - m) * 60 * 10000);
    return [[d, 1], [m, 1], [s, 10000]];
  };
  const ascii = (s: string) => Buffer.from(s + '\0', 'latin1');
  // Layout: header(8) | IFD0 | ExifIFD | GPSIFD | data area
  const ifdSize = (n: number) => 2 + n * 12 + 4;
  const ifd0: E[] = [
    { tag: 0x8769, type: 4, count: 1, data: Buffer.alloc(4) },
    { tag: 0x8825, type: 4, count: 1, data: Buffer.alloc(4) },
  ];
  const exif: E[] = [{ tag: 0x9003, type: 2, count: opts.taken.length + 1, data: ascii(opts.taken) }];
  const gps: E[] = [
    { tag: 1, type: 2, count: 2, data: ascii(opts.lat >= 0 ? 'N' : 'S') },
    { tag: 2, type: 5, count: 3, data: rationals(dms(Math.abs(opts.lat))) },
    { tag: 3, type: 2, count: 2, data: ascii(opts.lon >= 0 ? 'E' : 'W') },
    { tag: 4, type: 5, count: 3, data: rationals(dms(Math.abs(opts.lon))) },
    { tag: 0x10, type: 2, count: 2, data: ascii('T') },
    { tag: 0x11, type: 5, count: 1, data: rationals([[Math.round(opts.azimuth * 100), 100]]) },
  ];
  const off0 = 8;
  const offExif = off0 + ifdSize(ifd0.length);
  const offGps = offExif + ifdSize(exif.length);
  let dataOff = offGps + ifdSize(gps.length);
  ifd0[0].data.writeUInt32LE(offExif);
  ifd0[1].data.writeUInt32LE(offGps);
  const blobs: Buffer[] = [];
  const ifd = (entries: E[]) => {
    const b = Buffer.alloc(ifdSize(entries.length));
    b.writeUInt16LE(entries.length, 0);
    entries.forEach((e, i) => {
      const o = 2 + i * 12;
      b.writeUInt16LE(e.tag, o);
      b.writeUInt16LE(e.type, o + 2);
      b.writeUInt32LE(e.count, o + 4);
      if (e.data.length <= 4) e.data.copy(b, o + 8);
      else {
        b.writeUInt32LE(dataOff, o + 8);
        blobs.push(e.data);
        dataOff += e.data.length;
      }
    });
    return b;
  };
  const header = Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0]);
  const tiff = Buffer.concat([header, ifd(ifd0), ifd(exif), ifd(gps), ...blobs]);
  const app1Body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(app1Body.length + 2);
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), len, app1Body, Buffer.from([0xff, 0xd9])]);
}

/**
 * `n` synthetic polygons in one batch of 2026-10 on a 300-column grid of 0.001° cells near Jinan
 * (from `[lon0, lat0]`, 117 E 36 N unless given), ten districts, lead bureaus natural_resources / forestry / water / urban_management in turn,
 * confidences spread over 0.05–0.95 (for the inbox sorted by confidence).
 */
export async function insertSyntheticPolygons(db: Database, n: number, [lon0, lat0]: [number, number] = [117, 36]): Promise<void> {
  await db.query(`INSERT INTO batches (id, epoch, status, finished_at) VALUES ('b', '2026-10', 'done', now())`);
  await db.query(`INSERT INTO polygons (epoch, code, batch_id, geom, centroid, area_m2, area_mu, change_type, change_class, confidence, reasons, before_date, after_date, zone_overlaps, district_code, district_name, lead_bureau, co_bureaus, routing_reason, rule_id, priority, priority_reasons, detector, tile_id)
    SELECT '2026-10', '3701' || lpad((i % 10)::text, 2, '0') || '-202610-' || lpad(i::text, 6, '0'), 'b',
      ST_MakeEnvelope(${lon0} + (i % 300) * 0.001, ${lat0} + (i / 300) * 0.001, ${lon0} + (i % 300) * 0.001 + 0.0008, ${lat0} + (i / 300) * 0.001 + 0.0008, 4326),
      ST_SetSRID(ST_MakePoint(${lon0} + (i % 300) * 0.001, ${lat0} + (i / 300) * 0.001), 4326), 5000, 7.5, 'construction', 'JZ', round((0.05 + (i * 7919 % 1000) * 0.0009)::numeric, 4)::float8, '[]', '2026-09-01', '2026-10-01', '{}',
      '3701' || lpad((i % 10)::text, 2, '0'), 'x', (ARRAY['natural_resources','forestry','water','urban_management'])[1 + i % 4], '[]', 'r', 'r', 'normal', '[]', '{"name":"s","version":"1","paramsHash":"h"}', 't'
    FROM generate_series(1, ${n}) i`);
}
