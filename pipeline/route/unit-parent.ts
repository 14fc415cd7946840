/**
 * The unit of a coarser layer that holds a whole one: a township's district, a village's township.
 * Layers of administrative units nest (the 三调 boundaries), so a point inside the unit says which;
 * where a parent layer overlaps itself, the first of its zones in the file holds it.
 */
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import { interiorPoint } from '../../geo/interior-point.js';
import type { Zone } from '../model.js';
import type { ZoneIndex } from './zone-index.js';

/** The zone of kind `kind` holding `unit`'s interior point, or null (outside every one, or no such layer). */
export function parentZone(unit: Zone, zones: ZoneIndex<Zone>, kind: 'district' | 'township'): Zone | null {
  const p = interiorPoint(unit.geometry);
  if (!p) return null;
  return zones.candidates([p[0], p[1], p[0], p[1]], (z) => z.kind === kind).find((z) => booleanPointInPolygon(p, z.geometry)) ?? null;
}
