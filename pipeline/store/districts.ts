/**
 * The district (migration 12, `districts`), township (migration 16, `townships`) and village
 * (migration 19, `villages`) outlines a batch routed with, kept for the triage server: only the batch
 * reads the zone files, a clue must lie in the district it names, and a clue takes the 乡镇/街道 and
 * the 村/社区 it lies in (as a polygon does).
 *
 * Stored exact, as the batch's overlay used them: the server refuses a clue by them, and a simplified
 * outline moves the boundary (both ways) by its tolerance.
 */
import { createHash } from 'node:crypto';
import type { MultiPolygon, Polygon } from 'geojson';
import type { Queryable } from './queryable.js';
import { wkbHex } from './wkb.js';

export interface DistrictOutline {
  code: string;
  name: string;
  geometry: Polygon | MultiPolygon;
}

/**
 * A 乡镇/街道 or 村/社区 of its layer: an administrative unit below the district that a clue is placed
 * in. A layer may name one without a code (the ledger shows the name).
 */
export interface AdminUnitOutline {
  code: string | null;
  name: string;
  geometry: Polygon | MultiPolygon;
  /**
   * For a unit without a code, the key of the unit one level up holding it (a township's district
   * code; a village's township key, or its district's code outside every township), null in none:
   * the batch's `adminUnitOutlines` sets it.
   */
  parent?: string | null;
}

/**
 * Upsert the batch's districts, one row per code (a district given as several features is their
 * union). The newest month's layer wins: a re-run of an older month's batch, with the layer of its
 * day, leaves a newer month's outline as it is; a district this layer lacks keeps its last outline
 * (a batch over part of the city does not forget the rest). Idempotent: a re-run writes the same rows.
 * One statement: a city's district layer is a few MB of WKB, parsed once.
 */
export function storeDistricts(db: Queryable, batch: { batchId: string; epoch: string }, districts: readonly DistrictOutline[]): Promise<number> {
  return storeOutlines(db, 'districts', batch, districts.map((d) => ({ key: d.code, ...d })));
}

/** The tables of the administrative units below the district, one per zone kind (`AdminUnitOutline`). */
export type AdminUnitTable = 'townships' | 'villages';

/**
 * The row key of each unit (in order): its code; without one, the unit above it and its name
 * (`370102001/王庄村`, `370102/城关镇/王庄村`), and where the layer has several features of that name
 * there, each also by its geometry (`…/王庄村#<hash of its WKB>`).
 *
 * A name recurs across a city (a 王庄村 in many townships, a 城关镇 in many counties), so the name
 * alone would make them one row: one outline for two places, and a later batch over part of the
 * city would replace both by the one its layer holds. The unit above tells them apart and stays the
 * same when a later month's layer moves the boundary, so that outline replaces the old one. Two
 * features of one name in one unit above are one unit in pieces or two units (both occur) and no
 * attribute says which: each piece is its own row, keyed by what is the same in every run of the
 * same layer. A clue in either gets the same name and the same unit above, and is placed by the
 * piece holding most of it, as the batch's overlay places a polygon (feature by feature).
 */
export function adminUnitKeys(units: readonly AdminUnitOutline[]): string[] {
  const named = (u: AdminUnitOutline) => `${u.parent ?? ''}/${u.name}`;
  const count = new Map<string, number>();
  for (const u of units) if (u.code === null) count.set(named(u), (count.get(named(u)) ?? 0) + 1);
  return units.map((u) => {
    if (u.code !== null) return u.code;
    const key = named(u);
    return count.get(key)! > 1 ? `${key}#${createHash('sha256').update(wkbHex(u.geometry)).digest('hex').slice(0, 16)}` : key;
  });
}

/**
 * Upsert the batch's townships or villages as `storeDistricts` does its districts: one row per key
 * (`adminUnitKeys`), the newest month's layer winning.
 */
function storeAdminUnits(db: Queryable, table: AdminUnitTable, batch: { batchId: string; epoch: string }, units: readonly AdminUnitOutline[]): Promise<number> {
  const keys = adminUnitKeys(units);
  return storeOutlines(db, table, batch, units.map((u, i) => ({ key: keys[i], code: u.code, name: u.name, geometry: u.geometry })));
}

/** The batch's 乡镇/街道 (`townships`), and its 村/社区 (`villages`): the same kind of rows. */
export const storeTownships = (db: Queryable, batch: { batchId: string; epoch: string }, townships: readonly AdminUnitOutline[]) => storeAdminUnits(db, 'townships', batch, townships);
export const storeVillages = (db: Queryable, batch: { batchId: string; epoch: string }, villages: readonly AdminUnitOutline[]) => storeAdminUnits(db, 'villages', batch, villages);

async function storeOutlines(
  db: Queryable,
  table: 'districts' | AdminUnitTable,
  batch: { batchId: string; epoch: string },
  outlines: readonly { key: string; code: string | null; name: string; geometry: Polygon | MultiPolygon }[],
): Promise<number> {
  const byKey = new Map<string, { code: string | null; name: string; polygons: Polygon['coordinates'][] }>();
  for (const d of outlines) {
    const entry = byKey.get(d.key) ?? { code: d.code, name: '', polygons: [] };
    if (!entry.name && d.name) entry.name = d.name;
    entry.polygons.push(...(d.geometry.type === 'Polygon' ? [d.geometry.coordinates] : d.geometry.coordinates));
    byKey.set(d.key, entry);
  }
  if (byKey.size === 0) return 0;
  const rows = [...byKey].map(([key, { code, name, polygons }]) => ({
    key,
    code,
    name,
    // Several features of one key may touch or overlap: their union is one valid outline.
    parts: polygons.length,
    wkb: wkbHex(polygons.length === 1 ? { type: 'Polygon', coordinates: polygons[0] } : { type: 'MultiPolygon', coordinates: polygons }),
  }));
  // districts are keyed by their code; townships and villages by `key` (a code may be missing).
  const [keyColumns, keyValues, conflict] = table === 'districts' ? ['', '', 'code'] : ['key, ', "e->>'key', ", 'key'];
  // A row keyed by the name alone (before stop 39: '名称:王庄村', every 王庄村 of its layer as one) goes
  // when a batch of its month or later stores units of that name apart; other names keep theirs.
  const legacy = table === 'districts' ? '' : `WITH legacy AS (DELETE FROM ${table} WHERE key IN (SELECT '名称:' || (e->>'name') FROM jsonb_array_elements($3::jsonb) e WHERE e->>'code' IS NULL) AND epoch <= $2) `;
  const r = await db.query(
    `${legacy}INSERT INTO ${table} (${keyColumns}code, name, geom, batch_id, epoch, updated_at)
     SELECT ${keyValues}e->>'code', e->>'name',
            CASE WHEN (e->>'parts')::int > 1 THEN ST_Multi(ST_CollectionExtract(ST_UnaryUnion(g), 3)) ELSE ST_Multi(g) END,
            $1, $2, now()
     FROM jsonb_array_elements($3::jsonb) e, LATERAL (SELECT ST_GeomFromWKB(decode(e->>'wkb', 'hex'), 4326) AS g) s
     ON CONFLICT (${conflict}) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name, geom = EXCLUDED.geom, batch_id = EXCLUDED.batch_id, epoch = EXCLUDED.epoch, updated_at = EXCLUDED.updated_at
     WHERE ${table}.epoch <= EXCLUDED.epoch
     RETURNING code`,
    [batch.batchId, batch.epoch, JSON.stringify(rows)],
  );
  return r.rows.length;
}
