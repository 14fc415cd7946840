/**
 * Append-only schema migrations, applied in version order by `migrate`. Never edit or reorder a
 * released entry: add a new one. SQL runs on PGlite (PostgreSQL 17+/PostGIS 3.6) and on servers
 * (PostgreSQL 15+/PostGIS 3); statements are split at a ';' ending a line, so keep bodies free of
 * dollar-quoted blocks, or write such a block on one line (migration 2's trigger function).
 *
 * Geometries are lon/lat EPSG:4326; areas are m² (double precision). Dates are SQL `date`.
 */
import { TubanError } from '../../schemas/errors.js';
import type { Database, Queryable } from './queryable.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /**
   * The migration's step over rows (after `sql`), idempotent: run again by a restore over the rows of
   * a backup older than the migration, which go into a database already past it (a fresh embedded
   * one is a copy of the current template) and so would miss it.
   */
  dataFix?: string;
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
  {
    version: 2,
    name: 'workflow: users, cases, parcels, evidence, clues, escalations, append-only audit log',
    // Workflow rows key on the polygon code, never on a polygons row: a batch re-run deletes and
    // reinserts its polygons (replaceBatchPolygons), and the verdicts must survive that.
    sql: `
-- Cases, the card and the map look polygons up by code alone (the primary key leads with epoch).
CREATE INDEX polygons_code ON polygons (code);
CREATE INDEX polygons_created ON polygons (created_at);

CREATE TABLE users (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.@-]{1,64}$'),
  role text NOT NULL CHECK (role IN ('analyst', 'bureau', 'district', 'lead', 'admin')),
  bureau text,
  district text,
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (role <> 'bureau' OR bureau IS NOT NULL),
  CHECK (role <> 'district' OR district IS NOT NULL)
);

CREATE TABLE clues (
  code text PRIMARY KEY,
  epoch text NOT NULL CHECK (epoch ~ '^[0-9]{4}-[0-9]{2}$'),
  source text NOT NULL CHECK (source IN ('patrol', 'public_report', 'hotline')),
  geom geometry(Geometry, 4326) NOT NULL,
  area_m2 double precision NOT NULL,
  district_code text NOT NULL,
  district_name text NOT NULL,
  lead_bureau text NOT NULL,
  co_bureaus jsonb NOT NULL DEFAULT '[]'::jsonb,
  description text NOT NULL,
  reported_by text NOT NULL,
  reported_on date NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clues_geom_gist ON clues USING gist (geom);

CREATE TABLE cases (
  code text PRIMARY KEY,
  epoch text NOT NULL,
  source text NOT NULL DEFAULT 'satellite',
  status text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'accepted', 'verified', 'rectifying', 'closed', 'reviewed', 'reassignment_requested')),
  lead_bureau text NOT NULL,
  co_bureaus jsonb NOT NULL,
  district_code text NOT NULL,
  verdict text CHECK (verdict IN ('legal', 'illegal', 'other')),
  verdict_details jsonb,
  rectification jsonb,
  issued_on date NOT NULL,
  due_date date,
  due_rule text,
  geom_hash text NOT NULL,
  geometry_changed boolean NOT NULL DEFAULT false,
  escalation_level integer NOT NULL DEFAULT 0,
  version integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_status ON cases (status);
CREATE INDEX cases_due ON cases (due_date);
CREATE INDEX cases_lead ON cases (lead_bureau);
CREATE INDEX cases_district ON cases (district_code);

CREATE TABLE parcels (
  code text NOT NULL REFERENCES cases(code),
  idx integer NOT NULL,
  geom geometry(Polygon, 4326) NOT NULL,
  area_m2 double precision NOT NULL,
  area_mu double precision NOT NULL,
  verdict text CHECK (verdict IN ('legal', 'illegal', 'other')),
  verdict_details jsonb,
  PRIMARY KEY (code, idx)
);

CREATE TABLE evidence (
  id bigserial PRIMARY KEY,
  code text NOT NULL REFERENCES cases(code),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  file_name text NOT NULL,
  mime text NOT NULL,
  size_bytes integer NOT NULL,
  exif jsonb,
  note text,
  uploaded_by text NOT NULL,
  uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_code ON evidence (code);

CREATE TABLE escalations (
  id bigserial PRIMARY KEY,
  code text NOT NULL REFERENCES cases(code),
  kind text NOT NULL CHECK (kind IN ('overdue', 'construction_stage', 'manual')),
  rule text NOT NULL,
  level integer NOT NULL,
  due_date date,
  reason text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX escalations_once ON escalations (code, kind, rule, coalesce(due_date, '1970-01-01'::date)) WHERE kind <> 'manual';

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL,
  action text NOT NULL,
  code text,
  before jsonb,
  after jsonb
);
CREATE INDEX audit_log_code ON audit_log (code, id);

CREATE FUNCTION tuban_audit_log_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'P0001'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION tuban_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION tuban_audit_log_append_only();

-- Batch polygons and clues as one relation for the workflow. Each branch is a single table, so the
-- planner can push a join on code or a bounding box into both (index scans), which a join inside a
-- branch would prevent.
CREATE VIEW work_items AS
  SELECT p.code, p.epoch, 'satellite'::text AS source, p.geom::geometry AS geom, p.centroid::geometry AS centroid, p.area_m2, p.area_mu,
         p.change_type, p.change_class, p.confidence, p.reasons, p.before_date, p.after_date, p.land_class_before,
         p.zone_overlaps, p.district_code, p.district_name, p.lead_bureau, p.co_bureaus, p.routing_reason, p.rule_id,
         p.priority, p.priority_reasons, p.previous_code, p.detector, p.tile_id, NULL::text AS description,
         p.batch_id, NULL::date AS reported_on, p.created_at AS loaded_at
  FROM polygons p
  UNION ALL
  SELECT c.code, c.epoch, c.source, c.geom, ST_PointOnSurface(c.geom), c.area_m2, c.area_m2 / (10000.0 / 15),
         'clue', 'XS', 1.0, '[]'::jsonb, NULL, c.reported_on, NULL,
         '{}'::jsonb, c.district_code, c.district_name, c.lead_bureau, c.co_bureaus, '线索: ' || c.source, 'clue',
         'normal', '[]'::jsonb, NULL, jsonb_build_object('name', 'clue', 'version', '', 'paramsHash', ''), '', c.description,
         NULL, c.reported_on, c.created_at
  FROM clues c;
`,
  },
  {
    version: 3,
    name: 'the inbox sorted by confidence: polygons in confidence order, by month and overall',
    // A page is walked from the most confident polygon down, each looked up in cases under the
    // user's scope, so it costs about its own rows over the scope's share (polygon-queries.ts).
    sql: `
CREATE INDEX polygons_epoch_confidence ON polygons (epoch, confidence DESC, code);
CREATE INDEX polygons_confidence ON polygons (confidence DESC, code);
CREATE INDEX clues_epoch_code ON clues (epoch, code);
`,
  },
  {
    version: 4,
    name: 'sign-out ends sessions: tokens issued at or before users.sessions_valid_after are refused',
    // Set by signing out and by disabling an account; NULL: no session was ever ended.
    sql: `
ALTER TABLE users ADD COLUMN sessions_valid_after timestamptz;
`,
  },
  {
    version: 5,
    name: "a case whose polygon a batch re-run no longer finds can be withdrawn: status 'vanished' (图形灭失)",
    sql: `
ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check CHECK (status IN ('issued', 'accepted', 'verified', 'rectifying', 'closed', 'reviewed', 'reassignment_requested', 'vanished'));
`,
  },
  {
    version: 6,
    name: 'the inbox in deadline order: cases by month and deadline, walked in order a page at a time',
    // polygon-queries.ts pageByDue: the overdue by due_date, the rest by their due day (none last).
    sql: `
CREATE INDEX cases_epoch_due ON cases (epoch, due_date, code);
CREATE INDEX cases_epoch_due_day ON cases (epoch, (coalesce(due_date, DATE '9999-12-31')), code);
`,
  },
  {
    version: 7,
    name: "a polygon continuing a site whose case its bureau still has open joins that case: status 'merged' (已并入往期), cases.merged_into",
    // merged_into: the open case that carries the site (never a merged one: chains are flattened).
    // A site climbs the construction-stage ladder on that case month after month, one row per level,
    // so stage escalations are unique by level instead of by (rule, due date), which they lack.
    sql: `
ALTER TABLE cases ADD COLUMN merged_into text;
ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check CHECK (status IN ('issued', 'accepted', 'verified', 'rectifying', 'closed', 'reviewed', 'reassignment_requested', 'vanished', 'merged'));
ALTER TABLE cases ADD CONSTRAINT cases_merged_check CHECK ((status = 'merged') = (merged_into IS NOT NULL));
CREATE INDEX cases_merged_into ON cases (merged_into) WHERE merged_into IS NOT NULL;
DROP INDEX escalations_once;
CREATE UNIQUE INDEX escalations_once ON escalations (code, kind, rule, coalesce(due_date, '1970-01-01'::date)) WHERE kind NOT IN ('manual', 'construction_stage');
CREATE UNIQUE INDEX escalations_stage_once ON escalations (code, level) WHERE kind = 'construction_stage';
`,
  },
  {
    version: 8,
    name: 'a batch can replace an earlier batch of its month (--replaces): batches.replaced_by',
    sql: `
ALTER TABLE batches ADD COLUMN replaced_by text REFERENCES batches(id) ON DELETE SET NULL;
`,
  },
  {
    version: 9,
    name: 'handovers (移送): a case handed over to the discipline commission or the police, recorded when done',
    sql: `
CREATE TABLE handovers (
  id bigserial PRIMARY KEY,
  code text NOT NULL REFERENCES cases(code),
  recipient text NOT NULL CHECK (recipient IN ('discipline', 'police')),
  handed_on date NOT NULL,
  reference text,
  note text,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX handovers_code ON handovers (code);
`,
  },
  {
    version: 10,
    name: 'sign_in_failures: the sign-in throttle in the database, shared by every server process and kept across restarts',
    // name is cleared (not the row deleted) by a right password: the address's own count stays.
    sql: `
CREATE TABLE sign_in_failures (
  client text NOT NULL,
  name text,
  at timestamptz NOT NULL
);
CREATE INDEX sign_in_failures_client ON sign_in_failures (client, at);
CREATE INDEX sign_in_failures_pair ON sign_in_failures (client, name, at);
CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
`,
  },
  {
    version: 11,
    name: 'polygons_gone: the issued polygon of a case a batch re-run dropped, kept for the month ledger (图形灭失)',
    // The same columns as polygons (LIKE), and when it went: a later migration that adds a column to
    // polygons adds it here too, and to repository.ts's POLYGON_COLUMNS (the copy names its columns).
    sql: `
CREATE TABLE polygons_gone (LIKE polygons INCLUDING DEFAULTS);
ALTER TABLE polygons_gone ADD COLUMN gone_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE polygons_gone ADD PRIMARY KEY (epoch, code);
`,
  },
  {
    version: 12,
    name: 'districts: the district outlines the newest batch routed with, so a clue can be checked against the district it names',
    // One row per district code, exact (never simplified: a clue is refused by it). The newest month's
    // layer wins (epoch), a later batch of that month over an earlier one; a district a later layer
    // lacks keeps its last outline.
    sql: `
CREATE TABLE districts (
  code text PRIMARY KEY,
  name text NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  batch_id text NOT NULL,
  epoch text NOT NULL CHECK (epoch ~ '^[0-9]{4}-[0-9]{2}$'),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX districts_geom_gist ON districts USING gist (geom);
`,
  },
  {
    version: 13,
    name: 'not_observed.reason, file: a rejected tile\'s footprint is ground nobody looked at, with the error code that says why',
    sql: `
ALTER TABLE not_observed ADD COLUMN reason text;
ALTER TABLE not_observed ADD COLUMN file text;
`,
  },
  {
    version: 14,
    name: 'the township (乡镇/街道) of each polygon: polygons.township_code, township_name (and polygons_gone, work_items)',
    // NULL: no township layer was given, or the polygon lies outside it; clues have none. The view
    // gains the two columns at its end (CREATE OR REPLACE VIEW may only append).
    sql: `
ALTER TABLE polygons ADD COLUMN township_code text;
ALTER TABLE polygons ADD COLUMN township_name text;
ALTER TABLE polygons_gone ADD COLUMN township_code text;
ALTER TABLE polygons_gone ADD COLUMN township_name text;
CREATE OR REPLACE VIEW work_items AS
  SELECT p.code, p.epoch, 'satellite'::text AS source, p.geom::geometry AS geom, p.centroid::geometry AS centroid, p.area_m2, p.area_mu,
         p.change_type, p.change_class, p.confidence, p.reasons, p.before_date, p.after_date, p.land_class_before,
         p.zone_overlaps, p.district_code, p.district_name, p.lead_bureau, p.co_bureaus, p.routing_reason, p.rule_id,
         p.priority, p.priority_reasons, p.previous_code, p.detector, p.tile_id, NULL::text AS description,
         p.batch_id, NULL::date AS reported_on, p.created_at AS loaded_at, p.township_code, p.township_name
  FROM polygons p
  UNION ALL
  SELECT c.code, c.epoch, c.source, c.geom, ST_PointOnSurface(c.geom), c.area_m2, c.area_m2 / (10000.0 / 15),
         'clue', 'XS', 1.0, '[]'::jsonb, NULL, c.reported_on, NULL,
         '{}'::jsonb, c.district_code, c.district_name, c.lead_bureau, c.co_bureaus, '线索: ' || c.source, 'clue',
         'normal', '[]'::jsonb, NULL, jsonb_build_object('name', 'clue', 'version', '', 'paramsHash', ''), '', c.description,
         NULL, c.reported_on, c.created_at, NULL::text, NULL::text
  FROM clues c;
`,
  },
  {
    version: 15,
    name: "a township's own accounts: users.township (a 'township' bureau user limited to one 乡镇/街道), cases.township_code",
    // cases.township_code is the polygon's (a copy, as district_code is, so every scope predicate
    // stays on `cases`), kept current by syncCases when a re-run gives the polygon another township
    // (a township layer added later); clues have none. The scope compares the first nine digits, so
    // a nine-digit (三调/行政区划) account and a twelve-digit (统计用区划代码, …000) layer agree.
    sql: `
ALTER TABLE users ADD COLUMN township text;
ALTER TABLE users ADD CONSTRAINT users_township_check CHECK (township IS NULL OR role = 'bureau' AND bureau = 'township' AND township ~ '^[0-9]{9}([0-9]{3})?$');
ALTER TABLE cases ADD COLUMN township_code text;
CREATE INDEX cases_township ON cases ((left(township_code, 9)));
`,
    // (A restore of a pre-15 backup runs it again: its cases came without the column.)
    dataFix: `
UPDATE cases c SET township_code = p.township_code FROM polygons p WHERE p.code = c.code AND p.township_code IS NOT NULL;
UPDATE cases c SET township_code = g.township_code FROM polygons_gone g WHERE g.code = c.code AND c.township_code IS NULL AND g.township_code IS NOT NULL;
`,
  },
  {
    version: 16,
    name: 'townships: the 乡镇/街道 outlines the newest batch placed polygons with; clues.township_code, township_name (and work_items)',
    // As districts (migration 12): exact, the newest month's layer wins. Keyed by the code, or by
    // the name where the layer gives none (its polygons have a name and no code too). A clue takes
    // the township it lies in when registered (NULL outside every stored outline, or none stored);
    // clues from before keep NULL: the outlines they would be placed by were not kept.
    sql: `
CREATE TABLE townships (
  key text PRIMARY KEY,
  code text,
  name text NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  batch_id text NOT NULL,
  epoch text NOT NULL CHECK (epoch ~ '^[0-9]{4}-[0-9]{2}$'),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX townships_geom_gist ON townships USING gist (geom);
ALTER TABLE clues ADD COLUMN township_code text;
ALTER TABLE clues ADD COLUMN township_name text;
CREATE OR REPLACE VIEW work_items AS
  SELECT p.code, p.epoch, 'satellite'::text AS source, p.geom::geometry AS geom, p.centroid::geometry AS centroid, p.area_m2, p.area_mu,
         p.change_type, p.change_class, p.confidence, p.reasons, p.before_date, p.after_date, p.land_class_before,
         p.zone_overlaps, p.district_code, p.district_name, p.lead_bureau, p.co_bureaus, p.routing_reason, p.rule_id,
         p.priority, p.priority_reasons, p.previous_code, p.detector, p.tile_id, NULL::text AS description,
         p.batch_id, NULL::date AS reported_on, p.created_at AS loaded_at, p.township_code, p.township_name
  FROM polygons p
  UNION ALL
  SELECT c.code, c.epoch, c.source, c.geom, ST_PointOnSurface(c.geom), c.area_m2, c.area_m2 / (10000.0 / 15),
         'clue', 'XS', 1.0, '[]'::jsonb, NULL, c.reported_on, NULL,
         '{}'::jsonb, c.district_code, c.district_name, c.lead_bureau, c.co_bureaus, '线索: ' || c.source, 'clue',
         'normal', '[]'::jsonb, NULL, jsonb_build_object('name', 'clue', 'version', '', 'paramsHash', ''), '', c.description,
         NULL, c.reported_on, c.created_at, c.township_code, c.township_name
  FROM clues c;
`,
  },
  {
    version: 17,
    name: 'the village (村/社区) of each polygon: polygons.village_code, village_name (and polygons_gone, work_items)',
    // As the township's (migration 14): NULL without a village layer or outside it; clues have none
    // here (migration 19 stores the village outlines they are placed by). The view appends the two columns.
    sql: `
ALTER TABLE polygons ADD COLUMN village_code text;
ALTER TABLE polygons ADD COLUMN village_name text;
ALTER TABLE polygons_gone ADD COLUMN village_code text;
ALTER TABLE polygons_gone ADD COLUMN village_name text;
CREATE OR REPLACE VIEW work_items AS
  SELECT p.code, p.epoch, 'satellite'::text AS source, p.geom::geometry AS geom, p.centroid::geometry AS centroid, p.area_m2, p.area_mu,
         p.change_type, p.change_class, p.confidence, p.reasons, p.before_date, p.after_date, p.land_class_before,
         p.zone_overlaps, p.district_code, p.district_name, p.lead_bureau, p.co_bureaus, p.routing_reason, p.rule_id,
         p.priority, p.priority_reasons, p.previous_code, p.detector, p.tile_id, NULL::text AS description,
         p.batch_id, NULL::date AS reported_on, p.created_at AS loaded_at, p.township_code, p.township_name,
         p.village_code, p.village_name
  FROM polygons p
  UNION ALL
  SELECT c.code, c.epoch, c.source, c.geom, ST_PointOnSurface(c.geom), c.area_m2, c.area_m2 / (10000.0 / 15),
         'clue', 'XS', 1.0, '[]'::jsonb, NULL, c.reported_on, NULL,
         '{}'::jsonb, c.district_code, c.district_name, c.lead_bureau, c.co_bureaus, '线索: ' || c.source, 'clue',
         'normal', '[]'::jsonb, NULL, jsonb_build_object('name', 'clue', 'version', '', 'paramsHash', ''), '', c.description,
         NULL, c.reported_on, c.created_at, c.township_code, c.township_name, NULL::text, NULL::text
  FROM clues c;
`,
  },
  {
    version: 18,
    name: "status 'monitoring' (持续监测): judged 其他 as not yet judgeable, re-checked against later imagery",
    sql: `
ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check CHECK (status IN ('issued', 'accepted', 'verified', 'monitoring', 'rectifying', 'closed', 'reviewed', 'reassignment_requested', 'vanished', 'merged'));
`,
  },
  {
    version: 19,
    name: 'villages: the 村/社区 outlines the newest batch placed polygons with; clues.village_code, village_name (and work_items)',
    // As townships (migration 16): keyed by the code, or by the name where the layer gives none; a
    // clue takes the village it lies in when registered; clues from before keep NULL.
    sql: `
CREATE TABLE villages (
  key text PRIMARY KEY,
  code text,
  name text NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  batch_id text NOT NULL,
  epoch text NOT NULL CHECK (epoch ~ '^[0-9]{4}-[0-9]{2}$'),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX villages_geom_gist ON villages USING gist (geom);
ALTER TABLE clues ADD COLUMN village_code text;
ALTER TABLE clues ADD COLUMN village_name text;
CREATE OR REPLACE VIEW work_items AS
  SELECT p.code, p.epoch, 'satellite'::text AS source, p.geom::geometry AS geom, p.centroid::geometry AS centroid, p.area_m2, p.area_mu,
         p.change_type, p.change_class, p.confidence, p.reasons, p.before_date, p.after_date, p.land_class_before,
         p.zone_overlaps, p.district_code, p.district_name, p.lead_bureau, p.co_bureaus, p.routing_reason, p.rule_id,
         p.priority, p.priority_reasons, p.previous_code, p.detector, p.tile_id, NULL::text AS description,
         p.batch_id, NULL::date AS reported_on, p.created_at AS loaded_at, p.township_code, p.township_name,
         p.village_code, p.village_name
  FROM polygons p
  UNION ALL
  SELECT c.code, c.epoch, c.source, c.geom, ST_PointOnSurface(c.geom), c.area_m2, c.area_m2 / (10000.0 / 15),
         'clue', 'XS', 1.0, '[]'::jsonb, NULL, c.reported_on, NULL,
         '{}'::jsonb, c.district_code, c.district_name, c.lead_bureau, c.co_bureaus, '线索: ' || c.source, 'clue',
         'normal', '[]'::jsonb, NULL, jsonb_build_object('name', 'clue', 'version', '', 'paramsHash', ''), '', c.description,
         NULL, c.reported_on, c.created_at, c.township_code, c.township_name, c.village_code, c.village_name
  FROM clues c;
`,
  },
  {
    version: 20,
    name: "sign_in_failures.attempt: an attempt counted before its password is checked is taken back by its own id",
    // By its physical row (ctid) it was lost when a right password of the same name cleared the
    // name meanwhile (an UPDATE moves the row): the attempt stayed a failure of the address, and an
    // office's sign-ins behind one address added up to a lock-out.
    sql: `
ALTER TABLE sign_in_failures ADD COLUMN attempt text;
CREATE INDEX sign_in_failures_attempt ON sign_in_failures (attempt);
`,
  },
  {
    version: 21,
    name: 'tiles.stored_at: when a batch stored its result of the tile as the month\'s, kept when the batch is planned again',
    // It was a `storedAt` key of tiles.info, which planning the batch again (every `tuban batch` of
    // it: a resume after a crash between its store and its finish) rewrites: the take-over it
    // recorded was forgotten. Carried over from there.
    sql: `
ALTER TABLE tiles ADD COLUMN stored_at timestamptz;
`,
    dataFix: `
UPDATE tiles SET stored_at = (info->>'storedAt')::timestamptz, info = info - 'storedAt' WHERE jsonb_typeof(info) = 'object' AND info ? 'storedAt';
`,
  },
  {
    version: 22,
    name: 'database_identity: an id of the database, for tuban batch --queue and tuban worker to tell two databases of the same name apart',
    // The cluster's system_identifier is read by pg_control_system(), which managed services refuse
    // ordinary roles: two clusters each with database tuban, schema public passed as one (database-identity.ts).
    sql: `
CREATE TABLE database_identity (id uuid NOT NULL);
CREATE UNIQUE INDEX database_identity_one_row ON database_identity ((true));
`,
    dataFix: `
INSERT INTO database_identity (id) SELECT gen_random_uuid() WHERE NOT EXISTS (SELECT 1 FROM database_identity);
`,
  },
  {
    version: 23,
    name: 'escalation levels at most 5, the top of the form and of the ladder',
    // Sweeps before the cap climbed past 5 (6, 7, 8 … on a case late month after month); its
    // escalations keep the levels they were given, the case shows the top.
    sql: '',
    dataFix: `
UPDATE cases SET escalation_level = 5 WHERE escalation_level > 5;
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
 * A database with a version this code does not know is refused (`DB.TOO_NEW`), unchanged; so is one
 * with migrations to apply that a running `tuban serve` shares (`DB.SERVER_OLDER`): that server is of
 * an earlier Tuban (a server migrates before it shares), and would go on serving tables it does not know.
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
    // A database a later Tuban upgraded: this code would read and write tables it does not know
    // (and report "up to date"), so it stops before touching anything.
    const known = Math.max(0, ...MIGRATIONS.map((m) => m.version), ...sorted.map((m) => m.version));
    const newest = Math.max(0, ...done);
    if (newest > known) {
      throw new TubanError('DB.TOO_NEW', `the database is at schema version ${newest}, newer than this Tuban's ${known}: a later Tuban upgraded it; run that version or a later one (nothing was changed)`);
    }
    const pending = sorted.filter((m) => !done.has(m.version));
    if (pending.length > 0 && db.servedBy) {
      throw new TubanError(
        'DB.SERVER_OLDER',
        `the database is open in a running tuban serve of an earlier Tuban (${db.servedBy}), at schema version ${newest}; this Tuban's is ${known}. Upgrading it under that server would leave it serving tables it does not know: stop that server, then run this version's tuban migrate (or start this version's tuban serve, which upgrades it first) (nothing was changed)`,
      );
    }
    const applied: number[] = [];
    for (const m of pending) {
      for (const stmt of [...statements(m.sql), ...statements(m.dataFix ?? '')]) await tx.query(stmt);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

/**
 * Runs again the data steps (`dataFix`) of the migrations newer than `version` that `q`'s database
 * has applied: rows restored from a backup of schema `version` went in after them.
 */
export async function reapplyDataFixes(q: Queryable, version: number): Promise<void> {
  const done = new Set((await q.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
  for (const m of MIGRATIONS) {
    if (m.version > version && m.dataFix && done.has(m.version)) for (const stmt of statements(m.dataFix)) await q.query(stmt);
  }
}
