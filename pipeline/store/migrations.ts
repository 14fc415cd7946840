/**
 * Append-only schema migrations, applied in version order by `migrate`. Never edit or reorder a
 * released entry: add a new one. SQL runs on PGlite (PostgreSQL 17+/PostGIS 3.6) and on servers
 * (PostgreSQL 15+/PostGIS 3); statements are split at a ';' ending a line, so keep bodies free of
 * dollar-quoted blocks (put such a statement in its own migration if ever needed).
 *
 * Geometries are lon/lat EPSG:4326; areas are m² (double precision). Dates are SQL `date`.
 */
import type { Database, Queryable } from './queryable.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'batches, tiles, detections, polygons',
    sql: `
CREATE TABLE batches (
  id text PRIMARY KEY,
  epoch text NOT NULL CHECK (epoch ~ '^[0-9]{4}-[0-9]{2}$'),
  params jsonb NOT NULL DEFAULT '{}'::jsonb,
  plan jsonb,
  status text NOT NULL DEFAULT 'planned',
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  report jsonb
);

CREATE TABLE tiles (
  batch_id text NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  tile_id text NOT NULL,
  role text NOT NULL DEFAULT 'current' CHECK (role IN ('current', 'prior')),
  info jsonb,
  status text NOT NULL DEFAULT 'pending',
  error jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch_id, tile_id)
);

CREATE TABLE rejected_inputs (
  batch_id text NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  subject text NOT NULL,
  code text NOT NULL,
  error jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (batch_id, subject, code)
);

CREATE TABLE detections (
  batch_id text NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  tile_id text NOT NULL,
  idx integer NOT NULL,
  geom geometry(Polygon, 4326) NOT NULL,
  area_m2 double precision NOT NULL,
  change_type text NOT NULL,
  confidence double precision NOT NULL,
  reasons jsonb NOT NULL DEFAULT '[]'::jsonb,
  before_date date NOT NULL,
  after_date date NOT NULL,
  pixel_count integer NOT NULL,
  PRIMARY KEY (batch_id, tile_id, idx)
);
CREATE INDEX detections_geom_gist ON detections USING gist (geom);

CREATE TABLE not_observed (
  batch_id text NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  tile_id text NOT NULL,
  area_m2 double precision NOT NULL,
  geom geometry(MultiPolygon, 4326),
  PRIMARY KEY (batch_id, tile_id)
);
CREATE INDEX not_observed_geom_gist ON not_observed USING gist (geom);

CREATE TABLE polygons (
  epoch text NOT NULL,
  code text NOT NULL,
  batch_id text NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  geom geometry(Polygon, 4326) NOT NULL,
  centroid geometry(Point, 4326) NOT NULL,
  area_m2 double precision NOT NULL,
  area_mu double precision NOT NULL,
  change_type text NOT NULL,
  change_class text NOT NULL,
  confidence double precision NOT NULL,
  reasons jsonb NOT NULL,
  before_date date NOT NULL,
  after_date date NOT NULL,
  land_class_before text,
  zone_overlaps jsonb NOT NULL,
  district_code text NOT NULL,
  district_name text NOT NULL,
  lead_bureau text NOT NULL,
  co_bureaus jsonb NOT NULL,
  routing_reason text NOT NULL,
  rule_id text NOT NULL,
  priority text NOT NULL CHECK (priority IN ('high', 'normal')),
  priority_reasons jsonb NOT NULL,
  previous_code text,
  detector jsonb NOT NULL,
  tile_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (epoch, code)
);
CREATE INDEX polygons_geom_gist ON polygons USING gist (geom);
CREATE INDEX polygons_centroid_gist ON polygons USING gist (centroid);
CREATE INDEX polygons_batch ON polygons (batch_id);
`,
  },
];

/** Arbitrary fixed key for the migration advisory lock (one migrator at a time per database). */
const MIGRATION_LOCK_KEY = 7_305_182_611;

function statements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Apply pending migrations in version order, all in one transaction under a transaction-scoped
 * advisory lock (PGlite supports `pg_advisory_xact_lock`; it is a single session anyway), recording
 * each in `schema_migrations`. Idempotent: a second run applies nothing. Returns the versions applied.
 */
export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].version === sorted[i - 1].version) throw new Error(`duplicate migration version ${sorted[i].version}`);
  }
  return db.transaction(async (tx: Queryable) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of sorted) {
      if (done.has(m.version)) continue;
      for (const stmt of statements(m.sql)) await tx.query(stmt);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
