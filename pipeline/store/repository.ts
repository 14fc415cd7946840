/**
 * All of Tuban's database I/O for batches, tiles, detections and monitoring polygons. Every write is
 * idempotent (re-running a job rewrites the same rows) and all-or-nothing (one transaction or one
 * statement). Geometry (lon/lat, EPSG:4326) goes in as hex WKB and comes out as the column's hex EWKB
 * (wkb.ts: the very doubles, no decimal round trip), or as GeoJSON text where a caller wants text;
 * lists are sent as one jsonb array per statement, so a write is a few round trips whatever its size.
 */
import type { MultiPolygon, Polygon } from 'geojson';
import { bboxOf } from '../../geo/bbox.js';
import { TubanError } from '../../schemas/errors.js';
import type { TubanErrorJSON } from '../../schemas/errors.js';
import type { Detection, RejectedInput } from '../model.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import type { ChangeType } from '../../schemas/vocabulary.js';
import { shiftSerial } from '../codes.js';
import type { Database, Queryable } from './queryable.js';
import { inheritCodes } from './code-inheritance.js';
import { lockSerials, maxSerialSql, serialOffsets } from './serial-allocation.js';
import { geometryFromEwkbHex, wkbHex } from './wkb.js';
import { asJsonb } from './as-jsonb.js';

/** Rows per INSERT: bounds one statement's parameter size (a polygon is a few kB of GeoJSON). */
const CHUNK = 500;

/** Digits after the decimal point in GeoJSON output: PostGIS's maximum, so coordinates round-trip as the same doubles. */
const GEOJSON_DIGITS = 15;

function chunks<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

// ---------------------------------------------------------------- warm-up

/**
 * Call each PostGIS function the batch's statements use once, on a point, and the GiST index's
 * support functions through an index on a temporary table dropped at commit. PGlite (PostgreSQL in
 * WebAssembly) loads PostGIS on the first call of one of its functions and resolves each C function
 * on its first call (emscripten's dlsym: ~0.9-1.2 s in all on a full tile's batch); done here while
 * the first tile is scored, it is no longer in the batch's tail, where the tile's detections wait to
 * be stored. Reads and leaves nothing.
 */
export async function warmUpGeometry(db: Database): Promise<void> {
  const point = `ST_GeomFromWKB(decode('0101000000000000000000f03f000000000000f03f', 'hex'), 4326)`;
  await db.transaction(async (tx) => {
    await tx.query('CREATE TEMPORARY TABLE tuban_warm_up (geom geometry(Geometry, 4326)) ON COMMIT DROP');
    await tx.query('CREATE INDEX ON tuban_warm_up USING gist (geom)');
    // Enough rows to split a page (penalty, picksplit and union are called from the second page on).
    await tx.query('INSERT INTO tuban_warm_up SELECT ST_SetSRID(ST_MakePoint(i, i), 4326) FROM generate_series(1, 1000) AS i');
    await tx.query('SELECT count(*) FROM tuban_warm_up WHERE geom && ST_MakeEnvelope(0, 0, 2, 2, 4326)');
  });
  await db.query(
    `SELECT ST_AsGeoJSON(g, ${GEOJSON_DIGITS}) AS a, ST_AsGeoJSON(ST_Multi(g), 7) AS b, ST_X(ST_Centroid(g)) AS x, ST_Y(g) AS y,
            ST_Intersects(g, g) AS i, ST_Touches(g, g) AS t, ST_Distance(ST_Centroid(g), g) AS d, g && ST_MakeEnvelope(0, 0, 1, 1, 4326) AS e,
            ST_SetSRID(ST_MakePoint(0, 0), 4326) AS p, ST_SetSRID(ST_GeomFromGeoJSON('{"type":"Point","coordinates":[0,0]}'), 4326) AS j
     FROM (SELECT ${point} AS g) AS s`,
  );
}

// ---------------------------------------------------------------- batches

export type BatchStatus = 'planned' | 'running' | 'finalising' | 'done' | 'failed';

export interface BatchInput {
  /** Deterministic batch id (from epoch, inputs and parameters). */
  id: string;
  /** 'YYYY-MM'. */
  epoch: string;
  params: unknown;
  plan?: unknown;
  status?: BatchStatus;
}

export interface BatchRow {
  id: string;
  epoch: string;
  params: unknown;
  plan: unknown;
  status: BatchStatus;
  createdAt: Date;
  finishedAt: Date | null;
  report: unknown;
}

/**
 * Create the batch, or update it in place when it exists (same id = same inputs): params are
 * replaced, plan and status only when given, created_at kept. A finished batch planned again stays
 * 'done': on the queue its jobs are kept completed and run no more, so nothing would finish it again.
 */
export async function upsertBatch(db: Queryable, batch: BatchInput): Promise<void> {
  await db.query(
    `INSERT INTO batches (id, epoch, params, plan, status)
     VALUES ($1, $2, $3::jsonb, $4::jsonb, COALESCE($5, 'planned'))
     ON CONFLICT (id) DO UPDATE SET
       epoch = EXCLUDED.epoch,
       params = EXCLUDED.params,
       plan = COALESCE($4::jsonb, batches.plan),
       status = CASE WHEN $5::text = 'planned' AND batches.status = 'done' THEN batches.status ELSE COALESCE($5::text, batches.status) END`,
    [batch.id, batch.epoch, JSON.stringify(batch.params ?? {}), batch.plan === undefined ? null : JSON.stringify(batch.plan), batch.status ?? null],
  );
}

export async function loadBatch(db: Queryable, batchId: string): Promise<BatchRow | null> {
  const r = await db.query<{ id: string; epoch: string; params: unknown; plan: unknown; status: BatchStatus; created_at: Date; finished_at: Date | null; report: unknown }>(
    'SELECT id, epoch, params, plan, status, created_at, finished_at, report FROM batches WHERE id = $1',
    [batchId],
  );
  const row = r.rows[0];
  if (!row) return null;
  return { id: row.id, epoch: row.epoch, params: row.params, plan: row.plan, status: row.status, createdAt: row.created_at, finishedAt: row.finished_at, report: row.report };
}

/** When a batch was first planned, and when a run of it last finished (null: none has yet); null when there is no such batch. */
export async function batchRuns(db: Queryable, batchId: string): Promise<{ createdAt: Date; finishedAt: Date | null } | null> {
  const r = await db.query<{ created_at: Date; finished_at: Date | null }>('SELECT created_at, finished_at FROM batches WHERE id = $1', [batchId]);
  return r.rows[0] ? { createdAt: r.rows[0].created_at, finishedAt: r.rows[0].finished_at } : null;
}

/** Set the status; 'done' and 'failed' stamp finished_at, other statuses clear it. Report replaced when given. */
export async function setBatchStatus(db: Queryable, batchId: string, status: BatchStatus, report?: unknown): Promise<void> {
  const r = await db.query<{ id: string }>(
    `UPDATE batches SET status = $2,
       finished_at = CASE WHEN $2 IN ('done', 'failed') THEN now() ELSE NULL END,
       report = COALESCE($3::jsonb, report)
     WHERE id = $1 RETURNING id`,
    [batchId, status, report === undefined ? null : JSON.stringify(report)],
  );
  if (r.rows.length === 0) throw new TubanError('INTERNAL', `no batch '${batchId}'`);
}

export async function setBatchReport(db: Queryable, batchId: string, report: unknown): Promise<void> {
  const r = await db.query<{ id: string }>('UPDATE batches SET report = $2::jsonb WHERE id = $1 RETURNING id', [batchId, JSON.stringify(report)]);
  if (r.rows.length === 0) throw new TubanError('INTERNAL', `no batch '${batchId}'`);
}

// ---------------------------------------------------------------- tiles

export type TileRole = 'current' | 'prior';
export type TileStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface TileRow {
  tileId: string;
  role: TileRole;
  info: unknown;
  status: TileStatus;
  error: TubanErrorJSON | null;
}

/**
 * Register tiles of a batch; existing rows keep their status and outcome (re-planning does not redo
 * finished tiles: a second `tuban batch --queue` of a running batch enqueues nothing, and the
 * finaliser's report reads every tile's stored outcome).
 */
export async function upsertTiles(db: Queryable, batchId: string, tiles: readonly { tileId: string; role: TileRole; info?: unknown }[]): Promise<void> {
  for (const part of chunks(tiles)) {
    await db.query(
      `INSERT INTO tiles (batch_id, tile_id, role, info)
       SELECT $1, e->>'tileId', e->>'role', e->'info' FROM jsonb_array_elements($2::jsonb) AS e
       ON CONFLICT (batch_id, tile_id) DO UPDATE SET role = EXCLUDED.role,
         info = CASE WHEN tiles.info ? 'outcome' AND jsonb_typeof(EXCLUDED.info) = 'object'
                THEN EXCLUDED.info || jsonb_build_object('outcome', tiles.info->'outcome') ELSE EXCLUDED.info END`,
      [batchId, JSON.stringify(part.map((t) => ({ tileId: t.tileId, role: t.role, info: t.info ?? null })))],
    );
  }
}

export async function setTileStatus(db: Queryable, batchId: string, tileId: string, status: TileStatus, error?: TubanErrorJSON): Promise<void> {
  await db.query(
    `INSERT INTO tiles (batch_id, tile_id, status, error) VALUES ($1, $2, $3, $4::jsonb)
     ON CONFLICT (batch_id, tile_id) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error, updated_at = now()`,
    [batchId, tileId, status, error ? JSON.stringify(error) : null],
  );
}

export async function loadTiles(db: Queryable, batchId: string): Promise<TileRow[]> {
  const r = await db.query<{ tile_id: string; role: TileRole; info: unknown; status: TileStatus; error: TubanErrorJSON | null }>(
    'SELECT tile_id, role, info, status, error FROM tiles WHERE batch_id = $1 ORDER BY tile_id',
    [batchId],
  );
  return r.rows.map((x) => ({ tileId: x.tile_id, role: x.role, info: x.info, status: x.status, error: x.error }));
}

// ---------------------------------------------------------------- rejected inputs

/** Record inputs the batch skipped; the same (subject, code) twice keeps one row with the latest error. */
export async function recordRejected(db: Queryable, batchId: string, rejected: readonly RejectedInput[]): Promise<void> {
  for (const part of chunks(rejected)) {
    await db.query(
      `INSERT INTO rejected_inputs (batch_id, subject, code, error)
       SELECT DISTINCT ON (e->>'subject', e->'error'->>'code') $1, e->>'subject', e->'error'->>'code', e->'error'
       FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(e, ord)
       ORDER BY e->>'subject', e->'error'->>'code', ord DESC
       ON CONFLICT (batch_id, subject, code) DO UPDATE SET error = EXCLUDED.error`,
      [batchId, JSON.stringify(part)],
    );
  }
}

export async function loadRejected(db: Queryable, batchId: string): Promise<RejectedInput[]> {
  const r = await db.query<{ subject: string; error: TubanErrorJSON }>('SELECT subject, error FROM rejected_inputs WHERE batch_id = $1 ORDER BY subject, code', [batchId]);
  return r.rows.map((x) => ({ subject: x.subject, error: x.error }));
}

// ---------------------------------------------------------------- detections

/** Area a tile could not observe (cloud, nodata), m², with its footprint when known. */
export interface NotObserved {
  areaM2: number;
  geometry: Polygon | MultiPolygon | null;
}

/** A rejected tile's footprint: ground the batch was given and never compared (`reason` is the error code). */
export interface RejectedFootprint {
  /** The tile id where the tile was catalogued, else its file. */
  tileId: string;
  file: string;
  reason: string;
  footprint: Polygon;
  areaM2: number;
  /**
   * A current tile rejected while planning: the accepted prior tiles that could have served it (the
   * plan's rule, `servingPriors`), where a rejected prior's ground over it counts as covered.
   * Absent in older plans (every accepted prior over it then).
   */
  priorIds?: string[];
}

/** Replaces each tile's not-observed row with its whole footprint, marked with why it was rejected. */
export async function writeRejectedFootprints(tx: Queryable, batchId: string, rejected: readonly RejectedFootprint[]): Promise<void> {
  for (const r of rejected) {
    await tx.query(
      `INSERT INTO not_observed (batch_id, tile_id, area_m2, geom, reason, file)
       VALUES ($1, $2, $3, ST_Multi(ST_GeomFromWKB(decode($4::text, 'hex'), 4326)), $5, $6)
       ON CONFLICT (batch_id, tile_id) DO UPDATE SET area_m2 = EXCLUDED.area_m2, geom = EXCLUDED.geom, reason = EXCLUDED.reason, file = EXCLUDED.file`,
      [batchId, r.tileId, r.areaM2, wkbHex(r.footprint), r.reason, r.file],
    );
  }
}

/**
 * The key of a rejected prior tile's not_observed row: `prior:` and its file. A prior is no tile of
 * the batch (and its file may be a current tile's too, one folder given as both), so it gets a row
 * of its own beside the current tiles' rows, which are keyed by tile id.
 */
export const PRIOR_GROUND_KEY = 'prior:';

/**
 * The key of the row a tile's job writes for a prior that did not decode when the tile read it:
 * the tile id, `/prior:` and the prior's file. The tile's re-run replaces it (`tilePriorGroundPattern`),
 * a re-plan keeps it (the plan replaces only `prior:` rows, and a finished tile job is not run again).
 */
export const tilePriorGroundKey = (tileId: string, file: string): string => `${tileId}${TILE_PRIOR_GROUND_INFIX}${file}`;
const TILE_PRIOR_GROUND_INFIX = '/prior:';
/** LIKE pattern of one tile's rows of priors that did not decode (tile ids are hex: nothing to escape). */
const tilePriorGroundPattern = (tileId: string): string => `${tileId}${TILE_PRIOR_GROUND_INFIX}%`;
/** Whether a not_observed row (its key in `column`) is a rejected prior's ground, the plan's or a tile job's. */
export const PRIOR_GROUND_ROW = (column: string): string => `(${column} LIKE '${PRIOR_GROUND_KEY}%' OR ${column} LIKE '%${TILE_PRIOR_GROUND_INFIX}%')`;

/** The tile a tile job's prior row belongs to, else null (a plan's prior row, or a tile's own). */
export function tileOfPriorGround(key: string): string | null {
  if (key.startsWith(PRIOR_GROUND_KEY)) return null;
  const at = key.indexOf(TILE_PRIOR_GROUND_INFIX);
  return at < 0 ? null : key.slice(0, at);
}

/**
 * Overlays of footprints run on a 1e-9° grid (0.1 mm): left floating, the difference of two
 * footprints of one grid that differ in their last digits (a prior rejected under the tile it alone
 * serves) gave no row at all on PGlite, and no error either.
 */
const OVERLAY_GRID = 1e-9;

/** A current tile's ground and the footprints of the priors that could serve it (`servingPriors`). */
export interface ServedGround {
  footprint: Polygon;
  cover: readonly Polygon[];
}

/**
 * A rejected prior tile's ground: where its footprint lies over the current tiles' and no prior that
 * could serve the tile there covers it, no tile had imagery to compare with. An accepted prior
 * dated on or after a tile is never in its mosaic, so it covers nothing of it. Stored marked with its
 * error code and file, so "no polygon there" reads as "the prior file there is broken", not as
 * "no change" or as "no prior imagery". Measured in PostGIS on the ellipsoid, as `areaM2` measures
 * (equal-area).
 */
export async function writeRejectedPriorGround(
  tx: Queryable,
  batchId: string,
  priors: readonly Pick<RejectedFootprint, 'file' | 'reason' | 'footprint'>[],
  current: readonly ServedGround[],
): Promise<void> {
  // Rejected priors are not part of the batch id: a broken prior deleted, not fixed, leaves the id as it
  // was, so a re-plan's rows replace the last plan's rather than add to them.
  await tx.query(`DELETE FROM not_observed WHERE batch_id = $1 AND tile_id LIKE $2::text || '%'`, [batchId, PRIOR_GROUND_KEY]);
  await insertPriorGround(tx, batchId, (file) => `${PRIOR_GROUND_KEY}${file}`, priors, current);
}

/**
 * The ground of the priors that did not decode when tile `tileId` read them: over the tile, where no
 * prior it fell back to covers. Replaces the tile's earlier rows (a re-run of its job).
 */
export async function writeTilePriorGround(
  tx: Queryable,
  batchId: string,
  tileId: string,
  priors: readonly Pick<RejectedFootprint, 'file' | 'reason' | 'footprint'>[],
  tile: ServedGround | null,
): Promise<void> {
  await tx.query('DELETE FROM not_observed WHERE batch_id = $1 AND tile_id LIKE $2', [batchId, tilePriorGroundPattern(tileId)]);
  if (tile) await insertPriorGround(tx, batchId, (file) => tilePriorGroundKey(tileId, file), priors, [tile]);
}

async function insertPriorGround(
  tx: Queryable,
  batchId: string,
  keyOf: (file: string) => string,
  priors: readonly Pick<RejectedFootprint, 'file' | 'reason' | 'footprint'>[],
  current: readonly ServedGround[],
): Promise<void> {
  // One row per file: a STAC collection repeating an item names its file twice, and one INSERT … ON
  // CONFLICT DO UPDATE cannot touch a row twice.
  const files = new Set<string>();
  const byFile = priors.filter((p) => !files.has(p.file) && files.add(p.file));
  if (byFile.length === 0 || current.length === 0) return;
  // Ground some tile observed is observed: covered is each tile's footprint where a prior that could
  // serve it lies, over every tile.
  await tx.query(
    `WITH cur AS (SELECT ST_GeomFromWKB(decode(c->>'wkb', 'hex'), 4326) AS g, c->'cover' AS cover FROM jsonb_array_elements($3::jsonb) AS c),
          ground AS (SELECT ST_Union(g, $4::float8) AS g FROM cur),
          acc AS (
            SELECT ST_Union(ST_CollectionExtract(ST_Intersection(cur.g, ST_GeomFromWKB(decode(h, 'hex'), 4326), $4::float8), 3), $4::float8) AS g
            FROM cur, jsonb_array_elements_text(cur.cover) AS h),
          served AS (
            SELECT e->>'key' AS key, e->>'file' AS file, e->>'reason' AS reason, ST_Intersection(ST_GeomFromWKB(decode(e->>'wkb', 'hex'), 4326), ground.g, $4::float8) AS g, acc.g AS covered
            FROM jsonb_array_elements($2::jsonb) AS e, ground, acc),
          alone AS (
            SELECT key, file, reason, ST_CollectionExtract(CASE WHEN covered IS NULL OR ST_IsEmpty(covered) THEN g ELSE ST_Difference(g, covered, $4::float8) END, 3) AS g FROM served)
     INSERT INTO not_observed (batch_id, tile_id, area_m2, geom, reason, file)
     SELECT $1, key, ST_Area(g::geography), ST_Multi(g), reason, file FROM alone WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)
     ON CONFLICT (batch_id, tile_id) DO UPDATE SET area_m2 = EXCLUDED.area_m2, geom = EXCLUDED.geom, reason = EXCLUDED.reason, file = EXCLUDED.file`,
    [
      batchId,
      JSON.stringify(byFile.map((p) => ({ key: keyOf(p.file), file: p.file, reason: p.reason, wkb: wkbHex(p.footprint) }))),
      JSON.stringify(current.map((c) => ({ wkb: wkbHex(c.footprint), cover: c.cover.map((g) => wkbHex(g)) }))),
      OVERLAY_GRID,
    ],
  );
}

/**
 * Ground of rejected inputs, m², counted once. `footprintsM2`: the rejected current tiles' footprints
 * where no used tile lies (it adds to the not-observed area: a used tile's ground is in its own
 * observed or not-observed area already, as where Sentinel-2 granules overlap, and two rejected files
 * over one ground are one ground). `priorOverUsedM2`: rejected prior tiles' ground outside the
 * footprints so counted, so over the tiles used, where it is nodata of theirs and in their not-observed area
 * already: it only says why.
 */
export async function loadRejectedGround(db: Queryable, batchId: string): Promise<{ footprintsM2: number; priorOverUsedM2: number }> {
  const r = await db.query<{ footprints: number | null; prior: number | null }>(
    `WITH rejected AS (SELECT ${PRIOR_GROUND_ROW('tile_id')} AS of_prior, area_m2, geom FROM not_observed WHERE batch_id = $1 AND reason IS NOT NULL),
          used AS (
            SELECT ST_Union(ST_SetSRID(ST_GeomFromGeoJSON(t.info->'tile'->>'footprint'), 4326), $2::float8) AS g FROM tiles t
            WHERE t.batch_id = $1 AND t.role = 'current' AND t.status = 'done' AND t.info->'tile'->'footprint' IS NOT NULL
              AND coalesce(t.info->'outcome'->>'status', 'done') = 'done'),
          footprints AS (SELECT ST_Union(geom, $2::float8) AS g FROM rejected WHERE NOT of_prior),
          prior_ground AS (SELECT ST_Union(geom, $2::float8) AS g FROM rejected WHERE of_prior),
          -- The footprints counted: where no used tile lies. The prior's ground is measured outside these
          -- (subtracting all of f, a prior's ground where a rejected tile overlaps a used one was lost).
          counted AS (SELECT CASE WHEN u.g IS NULL OR f.g IS NULL THEN f.g ELSE ST_Difference(f.g, u.g, $2::float8) END AS g FROM footprints f CROSS JOIN used u)
     SELECT ST_Area(c.g::geography)::float8 AS footprints,
            ST_Area((CASE WHEN c.g IS NULL OR ST_IsEmpty(c.g) THEN p.g ELSE ST_Difference(p.g, c.g, $2::float8) END)::geography)::float8 AS prior
     FROM counted c CROSS JOIN prior_ground p`,
    [batchId, OVERLAY_GRID],
  );
  const row = r.rows.at(0);
  if (!row) throw new TubanError('INTERNAL', `batch ${batchId}: the rejected inputs' not-observed ground could not be measured (no row from the overlay)`);
  return { footprintsM2: row.footprints ?? 0, priorOverUsedM2: row.prior ?? 0 };
}

/**
 * Replace everything one tile produced: its detections and its not-observed area, in one transaction,
 * then mark the tile done. Running it twice leaves exactly the second run's rows; a failure (e.g. an
 * invalid geometry anywhere in the list) leaves the previous rows untouched.
 */
export async function replaceTileDetections(
  db: Database,
  batchId: string,
  tileId: string,
  detections: readonly Detection[],
  notObserved: NotObserved | null,
): Promise<void> {
  await db.transaction((tx) => writeTileDetections(tx, batchId, tileId, detections, notObserved));
}

/**
 * replaceTileDetections's writes inside a transaction the caller holds, so a caller with more to
 * write for the tile (the batch's tile outcome) commits it all at once: one commit, not two.
 */
export async function writeTileDetections(
  tx: Queryable,
  batchId: string,
  tileId: string,
  detections: readonly Detection[],
  notObserved: NotObserved | null,
): Promise<void> {
  const stray = detections.find((d) => d.tileId !== tileId);
  if (stray) throw new TubanError('INTERNAL', `detection ${stray.tileId}#${stray.index} passed for tile ${tileId}`);
  await tx.query('DELETE FROM detections WHERE batch_id = $1 AND tile_id = $2', [batchId, tileId]);
  await tx.query('DELETE FROM not_observed WHERE batch_id = $1 AND tile_id = $2', [batchId, tileId]);
  for (const part of chunks(detections)) {
    await tx.query(
      `INSERT INTO detections (batch_id, tile_id, idx, geom, area_m2, change_type, confidence, reasons, before_date, after_date, pixel_count)
       SELECT $1, $2, (e->>'index')::int, ST_GeomFromWKB(decode(e->>'wkb', 'hex'), 4326), (e->>'areaM2')::float8,
              e->>'changeType', (e->>'confidence')::float8, e->'reasons', (e->>'beforeDate')::date, (e->>'afterDate')::date,
              (e->>'pixelCount')::int
       FROM jsonb_array_elements($3::jsonb) AS e`,
      [batchId, tileId, JSON.stringify(part.map(({ geometry, ...d }) => ({ ...d, wkb: wkbHex(geometry) })))],
    );
  }
  if (notObserved) {
    await tx.query(
      `INSERT INTO not_observed (batch_id, tile_id, area_m2, geom)
       VALUES ($1, $2, $3, CASE WHEN $4::text IS NULL THEN NULL ELSE ST_Multi(ST_GeomFromWKB(decode($4::text, 'hex'), 4326)) END)`,
      [batchId, tileId, notObserved.areaM2, notObserved.geometry ? wkbHex(notObserved.geometry) : null],
    );
  }
  await tx.query(
    `INSERT INTO tiles (batch_id, tile_id, status) VALUES ($1, $2, 'done')
     ON CONFLICT (batch_id, tile_id) DO UPDATE SET status = 'done', error = NULL, updated_at = now()`,
    [batchId, tileId],
  );
}

interface DetectionRow {
  tile_id: string;
  idx: number;
  geom: string;
  area_m2: number;
  change_type: ChangeType;
  confidence: number;
  reasons: string[];
  before_date: string;
  after_date: string;
  pixel_count: number;
}

/** Every detection of a batch, ordered by tile id then index. */
export async function loadDetections(db: Queryable, batchId: string): Promise<Detection[]> {
  const r = await db.query<DetectionRow>(
    `SELECT tile_id, idx, geom, area_m2, change_type, confidence, reasons,
            before_date::text AS before_date, after_date::text AS after_date, pixel_count
     FROM detections WHERE batch_id = $1 ORDER BY tile_id, idx`,
    [batchId],
  );
  return r.rows.map((x) => ({
    tileId: x.tile_id,
    index: x.idx,
    geometry: geometryFromEwkbHex(x.geom) as Polygon,
    areaM2: x.area_m2,
    changeType: x.change_type,
    confidence: x.confidence,
    reasons: x.reasons,
    beforeDate: x.before_date,
    afterDate: x.after_date,
    pixelCount: x.pixel_count,
  }));
}

/**
 * Total not-observed area of a batch's tiles, m², and how many tiles reported some. A rejected prior's
 * ground is left out: it lies on the tiles' own (`loadRejectedGround`).
 */
export async function loadNotObservedSummary(db: Queryable, batchId: string): Promise<{ areaM2: number; tiles: number }> {
  const r = await db.query<{ a: number | null; n: number }>(
    `SELECT sum(area_m2)::float8 AS a, count(*)::int AS n FROM not_observed WHERE batch_id = $1 AND NOT ${PRIOR_GROUND_ROW('tile_id')}`,
    [batchId],
  );
  return { areaM2: r.rows[0].a ?? 0, tiles: r.rows[0].n };
}

// ---------------------------------------------------------------- polygons

/**
 * Replace a batch's monitoring polygons in one transaction. A batch supersedes earlier batches of the
 * same epoch on the same tiles (a re-run with corrected zones or parameters): their polygons on
 * `supersedes` tile ids go in the same transaction. Codes are unique per epoch across batches: a
 * code still held by another batch fails the whole write (nothing is replaced).
 */
export async function replaceBatchPolygons(
  db: Database,
  batchId: string,
  polys: readonly MonitoringPolygon[],
  supersedes: { epoch: string; tileIds: readonly string[] } | null = null,
): Promise<void> {
  await db.transaction((tx) => writeBatchPolygons(tx, batchId, polys, supersedes));
}

/**
 * Store a finalised batch's polygons, numbering them in the same transaction: `polys` carry serials
 * from 1 per district (`assignCodes` with no start), which move past the serials other batches of
 * the month hold on other tiles, under a lock per (epoch, district) (`serial-allocation.ts`); a
 * re-run keeps its codes, and a re-run over tiles holding the month's polygons gives every site it
 * finds again the code it had (`code-inheritance.ts`), so a case never passes to another site.
 * Supersedes earlier batches on `tileIds` as `replaceBatchPolygons` does.
 * Returns the polygons with the codes stored.
 */
export async function storeBatchPolygons(
  db: Database,
  batchId: string,
  polys: readonly MonitoringPolygon[],
  batchScope: { epoch: string; tileIds: readonly string[]; replaces?: readonly string[] },
  /** Told, in the storing transaction, the month's polygons this store replaces (the batch's summary says what became of them). */
  onHeld?: (held: HeldPolygon[]) => void,
  /**
   * Asked first in the storing transaction: tiles of `tileIds` this store must leave as they are
   * (their polygons here are dropped, the month's there stay), decided under that transaction.
   */
  leaveOut?: (tx: Queryable) => Promise<readonly string[]>,
): Promise<MonitoringPolygon[]> {
  return db.transaction(async (tx) => {
    const districtsOf = (ps: readonly MonitoringPolygon[]) => new Set(ps.map((p) => p.districtCode));
    // Locked before leaveOut is asked (a superset when it leaves tiles out): a batch storing over the
    // same districts meanwhile has committed by then, and what it took is seen.
    await lockSerials(tx, batchScope.epoch, await serialLockDistricts(tx, batchScope, districtsOf(polys)));
    const left = new Set(leaveOut ? await leaveOut(tx) : []);
    if (left.size > 0) {
      polys = polys.filter((p) => !left.has(p.tileId));
      const tileIds = batchScope.tileIds.filter((id) => !left.has(id));
      // A batch none of whose tiles is compared replaces no other (as finalising decides before).
      batchScope = { ...batchScope, tileIds, replaces: tileIds.length > 0 ? batchScope.replaces : undefined };
    }
    const counts = new Map<string, number>();
    for (const p of polys) counts.set(p.districtCode, (counts.get(p.districtCode) ?? 0) + 1);
    const scope = await withReplacedTiles(tx, batchId, batchScope);
    await stampStoredTiles(tx, batchId, batchScope.tileIds);
    if (onHeld) onHeld(await heldPolygons(tx, batchId, scope));
    // A re-run over tiles that hold the month's polygons: the sites found again keep their codes.
    const inherited = await inheritCodes(tx, scope.epoch, batchId, scope.tileIds, polys);
    if (inherited) {
      const coded = polys.map((p, i) => ({ ...p, code: inherited[i] }));
      await writeBatchPolygons(tx, batchId, coded, scope);
      return coded;
    }
    const offsets = await serialOffsets(tx, scope.epoch, batchId, counts, await serialsInUse(tx, scope.epoch, batchId, scope.tileIds));
    const coded = polys.map((p) => ({ ...p, code: shiftSerial(p.code, offsets.get(p.districtCode) ?? 0) }));
    await writeBatchPolygons(tx, batchId, coded, scope);
    return coded;
  });
}

/**
 * Marks the batch's compared tiles with when its result of them became the month's (`stored_at`; a
 * column, which planning the batch again leaves alone): with no polygon there, nothing else says so
 * before the batch is marked finished (`TAKEN_OVER_BY`, pipeline/batch/batch-store.ts). The clock's
 * time, not the transaction's: a store that waited on another's district lock comes after it.
 */
async function stampStoredTiles(tx: Queryable, batchId: string, tileIds: readonly string[]): Promise<void> {
  await tx.query('UPDATE tiles SET stored_at = clock_timestamp() WHERE batch_id = $1 AND tile_id = ANY($2::text[])', [batchId, [...tileIds]]);
}

/** A polygon of the month a batch's store replaces: its code, the batch that held it, whether the server opened a case for it. */
export interface HeldPolygon {
  code: string;
  batchId: string;
  hasCase: boolean;
}

/** The month's polygons `writeBatchPolygons` deletes for this batch: its own, and those on the tiles it supersedes. */
async function heldPolygons(tx: Queryable, batchId: string, scope: { epoch: string; tileIds: readonly string[] }): Promise<HeldPolygon[]> {
  const r = await tx.query<{ code: string; batch_id: string; has_case: boolean }>(
    `SELECT p.code, p.batch_id, EXISTS (SELECT 1 FROM cases c WHERE c.code = p.code) AS has_case
     FROM polygons p WHERE p.batch_id = $1 OR (p.epoch = $2 AND p.tile_id = ANY($3::text[])) ORDER BY p.code`,
    [batchId, scope.epoch, [...scope.tileIds]],
  );
  return r.rows.map((row) => ({ code: row.code, batchId: row.batch_id, hasCase: row.has_case }));
}

/**
 * The districts whose serials a batch's store locks: those it numbers polygons in, and those of the
 * month's polygons it deletes (on its own tiles, or held by a batch it replaces), whose codes a
 * concurrent batch in that district must not decide on while they are going.
 */
export async function serialLockDistricts(tx: Queryable, scope: { epoch: string; tileIds: readonly string[]; replaces?: readonly string[] }, numbered: Iterable<string>): Promise<Set<string>> {
  const r = await tx.query<{ district_code: string }>(
    'SELECT DISTINCT district_code FROM polygons WHERE epoch = $1 AND (tile_id = ANY($2::text[]) OR batch_id = ANY($3::text[]))',
    [scope.epoch, [...scope.tileIds], [...(scope.replaces ?? [])]],
  );
  return new Set([...numbered, ...r.rows.map((row) => row.district_code)]);
}

/**
 * The tiles a batch supersedes: its own, and those holding the month's polygons of the batches it
 * replaces (`--replaces`). Those batches, and every other batch of the month whose tiles all lie
 * in that set (an earlier run over the same files), are marked replaced by it: their imagery leaves
 * the month's map. A batch run again is current again.
 */
async function withReplacedTiles(tx: Queryable, batchId: string, scope: { epoch: string; tileIds: readonly string[]; replaces?: readonly string[] }): Promise<{ epoch: string; tileIds: readonly string[] }> {
  const replaces = [...(scope.replaces ?? [])];
  let tileIds = scope.tileIds;
  if (replaces.length > 0) {
    // Checked again here, under the rows' locks: two queued batches replacing one batch at once both
    // passed the check at planning, and the second would take nothing and leave the month's sites twice.
    const held = await tx.query<{ id: string; by: string | null }>('SELECT id, replaced_by AS by FROM batches WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [replaces]);
    const taken = held.rows.filter((b) => b.by !== null && b.by !== batchId);
    if (taken.length) throw new TubanError('BATCH.CANNOT_REPLACE', `--replaces: ${taken.map((b) => `${b.id} was replaced by batch ${b.by} meanwhile`).join('; ')}: replace that one`);
    const r = await tx.query<{ tile_id: string }>('SELECT DISTINCT tile_id FROM polygons WHERE epoch = $1 AND batch_id = ANY($2::text[])', [scope.epoch, replaces]);
    tileIds = [...new Set([...scope.tileIds, ...r.rows.map((t) => t.tile_id)])];
  }
  await tx.query(
    `UPDATE batches b SET replaced_by = CASE WHEN b.id = $1 THEN NULL ELSE $1 END
     WHERE b.id = $1 OR b.id = ANY($3::text[]) OR (b.epoch = $2 AND b.replaced_by IS NULL
       AND EXISTS (SELECT 1 FROM tiles t WHERE t.batch_id = b.id AND t.role = 'current')
       AND NOT EXISTS (SELECT 1 FROM tiles t WHERE t.batch_id = b.id AND t.role = 'current' AND NOT (t.tile_id = ANY($4::text[]))))`,
    [batchId, scope.epoch, replaces, [...tileIds]],
  );
  return { epoch: scope.epoch, tileIds };
}

/** The month's polygon codes each of `batchIds` holds (an id holding none is absent). */
export async function codesOfBatches(db: Queryable, epoch: string, batchIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (batchIds.length === 0) return out;
  const r = await db.query<{ batch_id: string; code: string }>('SELECT batch_id, code FROM polygons WHERE epoch = $1 AND batch_id = ANY($2::text[]) ORDER BY batch_id, code', [epoch, [...batchIds]]);
  for (const row of r.rows) out.set(row.batch_id, [...(out.get(row.batch_id) ?? []), row.code]);
  return out;
}

/**
 * Other batches of the same month holding sites this batch's polygons lie on (overlapping, not only
 * touching): the same ground run again from other tile files (a re-prepared copy, another name or
 * CRS, a neighbouring granule's overlap), which a batch does not supersede. For each, how many of
 * this batch's polygons and the other batch's first tile file.
 */
export async function sitesHeldByOtherBatches(db: Queryable, batchId: string, epoch: string): Promise<{ batchId: string; polygons: number; file: string | null }[]> {
  // The month's only batch (the usual case) is told so by the epoch index at once; the spatial join
  // below probes every polygon's neighbours (0.3–0.45 s for a full tile's 5 330, cold).
  const others = await db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM polygons WHERE epoch = $1 AND batch_id <> $2) AS any', [epoch, batchId]);
  if (!others.rows[0].any) return [];
  const r = await db.query<{ batch_id: string; n: number; file: string | null }>(
    `SELECT o.batch_id, o.n,
       (SELECT t.info->'tile'->'files'->>0 FROM tiles t WHERE t.batch_id = o.batch_id AND t.role = 'current'
        ORDER BY t.tile_id = o.tile_id DESC, t.tile_id LIMIT 1) AS file
     FROM (
       -- The tile most of its polygons there came from: its first tile by id may be one both batches
       -- share (superseded there), not the one delivered again.
       SELECT p.batch_id, count(DISTINCT q.code)::int AS n, mode() WITHIN GROUP (ORDER BY p.tile_id) AS tile_id
       FROM polygons q JOIN polygons p
         ON p.epoch = q.epoch AND p.batch_id <> q.batch_id AND ST_Intersects(p.geom, q.geom) AND NOT ST_Touches(p.geom, q.geom)
       WHERE q.batch_id = $1 AND q.epoch = $2
       GROUP BY p.batch_id
     ) o ORDER BY o.batch_id`,
    [batchId, epoch],
  );
  return r.rows.map((row) => ({ batchId: row.batch_id, polygons: row.n, file: row.file }));
}

/**
 * The columns a batch writes, by name: the polygons_gone copy names them too, so a column a later
 * migration adds to both tables (and here) is copied by name, never by position.
 */
const POLYGON_COLUMNS = `epoch, code, batch_id, geom, centroid, area_m2, area_mu, change_type, change_class, confidence,
         reasons, before_date, after_date, land_class_before, zone_overlaps, district_code, district_name, lead_bureau, co_bureaus,
         routing_reason, rule_id, priority, priority_reasons, previous_code, detector, tile_id, township_code, township_name, village_code, village_name`;

/**
 * Delete the polygons `where` selects, keeping in polygons_gone those a case was opened for: the
 * bureaus were sent them, so the month's ledger still lists them (图形灭失 once withdrawn) after a
 * re-run no longer finds them. A code stored again (found again) leaves polygons_gone in
 * writeBatchPolygons.
 */
async function dropPolygons(tx: Queryable, where: string, params: unknown[]): Promise<void> {
  // A code already kept from an earlier drop is kept as it is now.
  await tx.query(`DELETE FROM polygons_gone WHERE (epoch, code) IN (SELECT epoch, code FROM polygons WHERE ${where})`, params);
  await tx.query(
    `WITH gone AS (DELETE FROM polygons WHERE ${where} RETURNING *)
     INSERT INTO polygons_gone (${POLYGON_COLUMNS}, created_at, gone_at)
     SELECT ${POLYGON_COLUMNS}, created_at, now() FROM gone WHERE EXISTS (SELECT 1 FROM cases c WHERE c.code = gone.code)`,
    params,
  );
}

async function writeBatchPolygons(
  tx: Queryable,
  batchId: string,
  polys: readonly MonitoringPolygon[],
  supersedes: { epoch: string; tileIds: readonly string[] } | null,
): Promise<void> {
  await dropPolygons(tx, 'batch_id = $1', [batchId]);
  if (supersedes && supersedes.tileIds.length > 0) {
    await dropPolygons(tx, 'epoch = $1 AND tile_id = ANY($2::text[])', [supersedes.epoch, [...supersedes.tileIds]]);
  }
  for (const part of chunks(polys)) {
    await tx.query(
      `INSERT INTO polygons (${POLYGON_COLUMNS})
       SELECT e->>'epoch', e->>'code', $1, ST_GeomFromWKB(decode(e->>'wkb', 'hex'), 4326),
         ST_SetSRID(ST_MakePoint((e->'centroid'->>0)::float8, (e->'centroid'->>1)::float8), 4326),
         (e->>'areaM2')::float8, (e->>'areaMu')::float8, e->>'changeType', e->>'changeClass', (e->>'confidence')::float8,
         e->'reasons', (e->>'beforeDate')::date, (e->>'afterDate')::date, e->>'landClassBefore', e->'overlaps',
         e->>'districtCode', e->>'districtName', e->>'leadBureau', e->'coBureaus', e->>'routingReason', e->>'ruleId',
         e->>'priority', e->'priorityReasons', e->>'previousCode', e->'detector', e->>'tileId', e->>'townshipCode', e->>'townshipName', e->>'villageCode', e->>'villageName'
       FROM jsonb_array_elements($2::jsonb) AS e`,
      [batchId, JSON.stringify(part.map(({ geometry, ...p }) => ({ ...p, wkb: wkbHex(geometry) })))],
    );
  }
  // Found again: the polygon is back, no longer gone.
  await tx.query('DELETE FROM polygons_gone WHERE (epoch, code) IN (SELECT epoch, code FROM polygons WHERE batch_id = $1)', [batchId]);
}

/** A polygons row as loadPolygons selects it: the record's own fields (columns aliased), the geometry as GeoJSON text. */
type PolygonRow = Omit<MonitoringPolygon, 'geometry' | 'centroid'> & { geom: string | Polygon; lon: number; lat: number };

/** A batch's monitoring polygons, ordered by district then serial (length first, so 10000 follows 9999). */
/** A polygons (or polygons_gone) row as a MonitoringPolygon. */
const POLYGON_SELECT = `SELECT epoch, code, geom, ST_X(centroid) AS lon, ST_Y(centroid) AS lat,
            area_m2 AS "areaM2", area_mu AS "areaMu", change_type AS "changeType", change_class AS "changeClass", confidence, reasons,
            before_date::text AS "beforeDate", after_date::text AS "afterDate", land_class_before AS "landClassBefore",
            zone_overlaps AS overlaps, district_code AS "districtCode", district_name AS "districtName", lead_bureau AS "leadBureau",
            co_bureaus AS "coBureaus", routing_reason AS "routingReason", rule_id AS "ruleId", priority, priority_reasons AS "priorityReasons",
            previous_code AS "previousCode", detector, tile_id AS "tileId", township_code AS "townshipCode", township_name AS "townshipName",
            village_code AS "villageCode", village_name AS "villageName"`;

const asPolygons = (rows: PolygonRow[]): MonitoringPolygon[] =>
  rows.map(({ epoch, code, geom, lon, lat, ...rest }) => ({ code, epoch, geometry: typeof geom === 'string' ? (geometryFromEwkbHex(geom) as Polygon) : geom, centroid: [lon, lat], ...rest }));

export async function loadPolygons(db: Queryable, batchId: string): Promise<MonitoringPolygon[]> {
  const r = await db.query<PolygonRow>(`${POLYGON_SELECT} FROM polygons WHERE batch_id = $1 ORDER BY district_code COLLATE "C", length(code), code COLLATE "C"`, [batchId]);
  return asPolygons(r.rows);
}

/**
 * What `loadPolygons` reads back of the polygons `storeBatchPolygons` returned, without the read:
 * the rows POLYGON_SELECT gives for what `writeBatchPolygons` sends (each polygon as jsonb, its
 * geometry as WKB), in its ORDER BY, through the same `asPolygons`. So the embedded run writes its
 * outputs from the polygons finalise holds, byte for byte as the queue path writes them from the
 * database (the equivalence test, export-held.test.ts, compares the files).
 */
export function asStoredPolygons(polys: readonly MonitoringPolygon[]): MonitoringPolygon[] {
  // Column by column as the INSERT reads them from each polygon's jsonb: an absent field is a NULL
  // column, a jsonb column's objects come back in jsonb's key order. Text, float8 and date columns
  // give back what was sent (ISO dates, read as `::text`; a JSON number's digits parse to the same double).
  // In POLYGON_SELECT's order: the order of the objects' keys.
  const rows = polys.map((p): PolygonRow => ({
    epoch: p.epoch, code: p.code,
    // WKB keeps the 2D doubles as they are: the polygon as held, without encoding and decoding it.
    // (`+ 0`: the INSERT reads numbers from JSON, where -0 is written 0.)
    geom: { type: 'Polygon', coordinates: p.geometry.coordinates }, lon: p.centroid[0] + 0, lat: p.centroid[1] + 0,
    areaM2: p.areaM2 + 0, areaMu: p.areaMu + 0, changeType: p.changeType, changeClass: p.changeClass, confidence: p.confidence + 0, reasons: asJsonb(p.reasons),
    beforeDate: p.beforeDate, afterDate: p.afterDate, landClassBefore: p.landClassBefore ?? null,
    overlaps: asJsonb(p.overlaps), districtCode: p.districtCode, districtName: p.districtName, leadBureau: p.leadBureau,
    coBureaus: asJsonb(p.coBureaus), routingReason: p.routingReason, ruleId: p.ruleId, priority: p.priority, priorityReasons: asJsonb(p.priorityReasons),
    previousCode: p.previousCode ?? null, detector: asJsonb(p.detector), tileId: p.tileId, townshipCode: p.townshipCode ?? null, townshipName: p.townshipName ?? null,
    villageCode: p.villageCode ?? null, villageName: p.villageName ?? null,
  }));
  // loadPolygons' ORDER BY; "C" collation there is this comparison of the (ASCII) codes.
  const before = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  rows.sort((a, b) => before(a.districtCode, b.districtCode) || a.code.length - b.code.length || before(a.code, b.code));
  return asPolygons(rows);
}

/**
 * The month's issued polygons a batch re-run dropped since (a case was opened for each; see
 * dropPolygons), as they were issued; none that a batch holds again.
 */
export async function loadGonePolygons(db: Queryable, epoch: string): Promise<MonitoringPolygon[]> {
  const r = await db.query<PolygonRow>(
    `${POLYGON_SELECT} FROM polygons_gone g WHERE epoch = $1 AND NOT EXISTS (SELECT 1 FROM polygons p WHERE p.epoch = g.epoch AND p.code = g.code)
     ORDER BY district_code COLLATE "C", length(code), code COLLATE "C"`,
    [epoch],
  );
  return asPolygons(r.rows);
}

/**
 * For each geometry (lon/lat GeoJSON object or text), the code of an earlier-epoch polygon whose
 * interior it overlaps (ST_Intersects and not merely touching, using the GiST index), so a site
 * continues across months; null when none. Several candidates: the latest epoch wins, then the
 * nearest centroid, then the smallest code. Result is aligned with `geoms`.
 */
export async function findPreviousSites(db: Queryable, epoch: string, geoms: readonly (Polygon | MultiPolygon | string)[]): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (const part of chunks(geoms)) {
    if (!(await anyEarlierPolygonNear(db, epoch, part))) {
      for (let i = 0; i < part.length; i++) out.push(null);
      continue;
    }
    const r = await db.query<{ ord: number; code: string | null }>(
      `WITH q AS (
         SELECT t.ord::int AS ord, ST_GeomFromWKB(decode(t.g, 'hex'), 4326) AS geom
         FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS t(g, ord)
       )
       SELECT q.ord, (
         SELECT p.code FROM polygons p
         WHERE p.epoch < $1 AND ST_Intersects(p.geom, q.geom) AND NOT ST_Touches(p.geom, q.geom)
         ORDER BY p.epoch DESC, ST_Distance(p.centroid, ST_Centroid(q.geom)), p.code
         LIMIT 1
       ) AS code
       FROM q ORDER BY q.ord`,
      [epoch, JSON.stringify(part.map((g) => wkbHex(typeof g === 'string' ? (JSON.parse(g) as Polygon | MultiPolygon) : g)))],
    );
    for (const row of r.rows) out.push(row.code);
  }
  return out;
}

/**
 * Whether any earlier-epoch polygon's box meets the box around `geoms`: when none does (a first
 * month, or a new area) no geometry of them can have a previous site, and parsing them all in the
 * database (9 377 polygons: ~1 s of PGlite's time) is skipped. PostGIS boxes are rounded outwards,
 * so this can only say yes too often, never no.
 */
async function anyEarlierPolygonNear(db: Queryable, epoch: string, geoms: readonly (Polygon | MultiPolygon | string)[]): Promise<boolean> {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const g of geoms) {
    const [a, b, c, d] = bboxOf(typeof g === 'string' ? (JSON.parse(g) as Polygon | MultiPolygon) : g);
    if (a < x0) x0 = a;
    if (b < y0) y0 = b;
    if (c > x1) x1 = c;
    if (d > y1) y1 = d;
  }
  // No finite box (empty geometries): let the full query decide.
  if (!(x0 <= x1 && y0 <= y1)) return true;
  const r = await db.query<{ near: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM polygons WHERE epoch < $1 AND geom && ST_MakeEnvelope($2, $3, $4, $5, 4326)) AS near',
    [epoch, x0, y0, x1, y1],
  );
  return r.rows[0].near;
}

/**
 * Highest serial per district already used in `epoch` by other batches on other tiles (their codes
 * stay; this batch continues after them), and by cases whose polygon is gone (a code a re-run or a
 * `--replaces` batch dropped keeps its case, so it is never handed to another site). Tiles of this
 * batch are excluded: it supersedes them.
 */
export async function serialsInUse(db: Queryable, epoch: string, batchId: string, tileIds: readonly string[]): Promise<Record<string, number>> {
  const r = await db.query<{ district_code: string; serial: number }>(
    maxSerialSql(
      `SELECT district_code, split_part(code, '-', 3) AS s FROM polygons
       WHERE epoch = $1 AND batch_id <> $2 AND NOT (tile_id = ANY($3::text[]))
       UNION ALL
       SELECT c.district_code, split_part(c.code, '-', 3) FROM cases c
       WHERE c.epoch = $1 AND NOT EXISTS (SELECT 1 FROM polygons p WHERE p.code = c.code AND p.epoch = $1 AND (p.batch_id = $2 OR p.tile_id = ANY($3::text[])))`,
    ),
    [epoch, batchId, [...tileIds]],
  );
  return Object.fromEntries(r.rows.map((row) => [row.district_code, Number(row.serial)]));
}
