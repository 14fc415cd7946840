/**
 * Codes a re-run of a month gives the polygons it finds again. The triage workflow keys a case (its
 * verdict, rectification, evidence, history) by the polygon code, so a re-run over tiles that
 * already hold polygons of the month (the same batch again, or one with a corrected zone file or
 * other parameters) must not renumber from 0001: a serial would then name another site, and a
 * verdict would silently pass to it.
 *
 * A new polygon that overlaps an earlier polygon of the same month, district and tiles keeps that
 * polygon's code (largest overlaps paired first, one to one). Every other new polygon gets a serial
 * after every serial the district's month has used: by polygons still stored, by the ones this
 * re-run replaces, and by cases (a code whose polygon a re-run dropped keeps its case). A dropped
 * code is therefore never handed to another site; the serials may have gaps where one was.
 *
 * Runs inside the storing transaction, under the per-district serial lock (`serial-allocation.ts`).
 */
import type { MultiPolygon, Polygon } from 'geojson';
import type { Queryable } from './queryable.js';
import { maxSerialSql } from './serial-allocation.js';
import { wkbHex } from './wkb.js';

export interface InheritItem {
  districtCode: string;
  geometry: Polygon | MultiPolygon;
  /** The batch-local code (`assignCodes` from 0001): its serial gives the order of new serials. */
  code: string;
}

/**
 * The code each item is stored with, aligned with `items`; null when no polygon of `epoch` is
 * stored on `tileIds` or by `batchId` (a first run: number as usual).
 */
export async function inheritCodes(
  tx: Queryable,
  epoch: string,
  batchId: string,
  tileIds: readonly string[],
  items: readonly InheritItem[],
): Promise<string[] | null> {
  const mine = `p.epoch = $1 AND (p.batch_id = $2 OR p.tile_id = ANY($3::text[]))`;
  const held = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM polygons p WHERE ${mine}`, [epoch, batchId, [...tileIds]]);
  if (held.rows[0].n === 0) return null;

  const pairs: { ord: number; code: string; m2: number }[] = [];
  for (let start = 0; start < items.length; start += 500) {
    const part = items.slice(start, start + 500);
    const r = await tx.query<{ ord: number; code: string; m2: number }>(
      `WITH q AS (
         SELECT t.ord::int - 1 AS ord, e->>'d' AS district, ST_GeomFromWKB(decode(e->>'g', 'hex'), 4326) AS geom
         FROM jsonb_array_elements($4::jsonb) WITH ORDINALITY AS t(e, ord)
       )
       SELECT q.ord, p.code, ST_Area(ST_Intersection(p.geom, q.geom)::geography) AS m2
       FROM q JOIN polygons p ON p.district_code = q.district AND ST_Intersects(p.geom, q.geom) AND NOT ST_Touches(p.geom, q.geom)
       WHERE ${mine}`,
      [epoch, batchId, [...tileIds], JSON.stringify(part.map((it) => ({ d: it.districtCode, g: wkbHex(it.geometry) })))],
    );
    for (const row of r.rows) pairs.push({ ord: start + Number(row.ord), code: row.code, m2: Number(row.m2) });
  }
  // Largest overlap first; ties by item order, then code, so the pairing does not depend on row order.
  pairs.sort((a, b) => b.m2 - a.m2 || a.ord - b.ord || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  const out = new Array<string | null>(items.length).fill(null);
  const taken = new Set<string>();
  for (const p of pairs) {
    if (out[p.ord] !== null || taken.has(p.code)) continue;
    out[p.ord] = p.code;
    taken.add(p.code);
  }

  const districts = [...new Set(items.map((it) => it.districtCode))];
  const used = await tx.query<{ district_code: string; serial: number }>(
    maxSerialSql(
      `SELECT district_code, split_part(code, '-', 3) AS s FROM polygons WHERE epoch = $1 AND district_code = ANY($2::text[])
       UNION ALL
       SELECT district_code, split_part(code, '-', 3) FROM cases WHERE epoch = $1 AND district_code = ANY($2::text[])`,
    ),
    [epoch, districts],
  );
  const next = new Map(used.rows.map((r) => [r.district_code, Number(r.serial ?? 0)]));
  const order = items.map((_, i) => i).filter((i) => out[i] === null);
  order.sort((i, j) => serialOf(items[i].code) - serialOf(items[j].code) || (items[i].districtCode < items[j].districtCode ? -1 : 1));
  for (const i of order) {
    const d = items[i].districtCode;
    const s = (next.get(d) ?? 0) + 1;
    next.set(d, s);
    out[i] = `${items[i].code.replace(/-\d+$/, '')}-${String(s).padStart(4, '0')}`;
  }
  return out as string[];
}

function serialOf(code: string): number {
  return Number(/-(\d+)$/.exec(code)?.[1] ?? 0);
}
