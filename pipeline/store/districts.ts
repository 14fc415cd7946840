/**
 * The district outlines a batch routed with (migration 12, `districts`), kept for the triage server:
 * only the batch reads the zone files, and a clue must lie in the district it names.
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
 * Upsert the batch's districts, one row per code (a district given as several features is their
 * union). The newest month's layer wins: a re-run of an older month's batch, with the layer of its
 * day, leaves a newer month's outline as it is; a district this layer lacks keeps its last outline
 * (a batch over part of the city does not forget the rest). Idempotent: a re-run writes the same rows.
 * One statement: a city's district layer is a few MB of WKB, parsed once.
 */
export async function storeDistricts(db: Queryable, batch: { batchId: string; epoch: string }, districts: readonly DistrictOutline[]): Promise<number> {
  const byCode = new Map<string, { name: string; polygons: Polygon['coordinates'][] }>();
  for (const d of districts) {
    const entry = byCode.get(d.code) ?? { name: '', polygons: [] };
    if (!entry.name && d.name) entry.name = d.name;
    entry.polygons.push(...(d.geometry.type === 'Polygon' ? [d.geometry.coordinates] : d.geometry.coordinates));
    byCode.set(d.code, entry);
  }
  if (byCode.size === 0) return 0;
  const rows = [...byCode].map(([code, { name, polygons }]) => ({
    code,
    name,
    // Several features of one code may touch or overlap: their union is one valid outline.
    parts: polygons.length,
    wkb: wkbHex(polygons.length === 1 ? { type: 'Polygon', coordinates: polygons[0] } : { type: 'MultiPolygon', coordinates: polygons }),
  }));
  const r = await db.query(
    `INSERT INTO districts (code, name, geom, batch_id, epoch, updated_at)
     SELECT e->>'code', e->>'name',
            CASE WHEN (e->>'parts')::int > 1 THEN ST_Multi(ST_CollectionExtract(ST_UnaryUnion(g), 3)) ELSE ST_Multi(g) END,
            $1, $2, now()
     FROM jsonb_array_elements($3::jsonb) e, LATERAL (SELECT ST_GeomFromWKB(decode(e->>'wkb', 'hex'), 4326) AS g) s
     ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom, batch_id = EXCLUDED.batch_id, epoch = EXCLUDED.epoch, updated_at = EXCLUDED.updated_at
     WHERE districts.epoch <= EXCLUDED.epoch
     RETURNING code`,
    [batch.batchId, batch.epoch, JSON.stringify(rows)],
  );
  return r.rows.length;
}
