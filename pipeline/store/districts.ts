/**
 * The district (migration 12, `districts`), township (migration 16, `townships`) and village
 * (migration 19, `villages`) outlines a batch routed with, kept for the triage server: only the batch
 * reads the zone files, a clue must lie in the district it names, and a clue takes the 乡镇/街道 and
 * the 村/社区 it lies in (as a polygon does).
 *
 * Stored exact, as the batch's overlay used them: the server refuses a clue by them, and a simplified
 * outline moves the boundary (both ways) by its tolerance.
 */
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
 * Upsert the batch's townships or villages as `storeDistricts` does its districts: one row per code
 * (per name for a unit the layer gives no code), the newest month's layer winning.
 */
function storeAdminUnits(db: Queryable, table: AdminUnitTable, batch: { batchId: string; epoch: string }, units: readonly AdminUnitOutline[]): Promise<number> {
  return storeOutlines(db, table, batch, units.map((u) => ({ key: u.code ?? `名称:${u.name}`, ...u })));
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
    // Several features of one code may touch or overlap: their union is one valid outline.
    parts: polygons.length,
    wkb: wkbHex(polygons.length === 1 ? { type: 'Polygon', coordinates: polygons[0] } : { type: 'MultiPolygon', coordinates: polygons }),
  }));
  // districts are keyed by their code; townships and villages by `key` (a code may be missing).
  const [keyColumns, keyValues, conflict] = table === 'districts' ? ['', '', 'code'] : ['key, ', "e->>'key', ", 'key'];
  const r = await db.query(
    `INSERT INTO ${table} (${keyColumns}code, name, geom, batch_id, epoch, updated_at)
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
