/**
 * Stable monitoring-polygon codes: `${districtCode}-${yyyymm}-${serial}` (e.g. '370102-202610-0007').
 * Serials count per district in a spatial order that does not depend on input order, so re-running a
 * batch (or processing tiles in another order, on other workers) gives every polygon the same code.
 */

export interface CodeItem {
  districtCode: string;
  /** Centroid [lon, lat] in degrees (EPSG:4326). */
  centroid: [number, number];
  tileId: string;
  /** Detection index within its tile. */
  index: number;
}

/** 1e-6° ≈ 0.1 m: sub-decimetre float noise between runs must not reorder polygons. */
const ROUND = 1e6;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Codes for `items`, aligned with the input (result[i] is items[i]'s code). Within a district,
 * serials run north to south (rounded latitude descending), then west to east, then by tile id and
 * index; they start after `startAfter[district]` (default 0, so at 0001) and are zero-padded to four
 * digits (more digits past 9999). `startAfter` lets a second batch of the same month over other
 * tiles of a district continue its numbering instead of colliding with the first.
 * @param epoch 'YYYY-MM', e.g. '2026-10'.
 */
export function assignCodes(items: readonly CodeItem[], epoch: string, startAfter: Readonly<Record<string, number>> = {}): string[] {
  const m = /^(\d{4})-(\d{2})$/.exec(epoch);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new RangeError(`epoch must be 'YYYY-MM', got '${epoch}'`);
  const yyyymm = `${m[1]}${m[2]}`;
  const keys = items.map((it) => ({ lat: Math.round(it.centroid[1] * ROUND), lon: Math.round(it.centroid[0] * ROUND) }));
  const order = items.map((_, i) => i);
  order.sort((i, j) => {
    const a = items[i], b = items[j];
    return (
      cmp(a.districtCode, b.districtCode) ||
      keys[j].lat - keys[i].lat ||
      keys[i].lon - keys[j].lon ||
      cmp(a.tileId, b.tileId) ||
      a.index - b.index
    );
  });
  const codes = new Array<string>(items.length);
  let district: string | null = null;
  let serial = 0;
  for (const i of order) {
    if (items[i].districtCode !== district) {
      district = items[i].districtCode;
      serial = startAfter[district] ?? 0;
    }
    serial += 1;
    codes[i] = `${district}-${yyyymm}-${String(serial).padStart(4, '0')}`;
  }
  return codes;
}

/**
 * The same code moved `offset` serials on ('370102-202610-0002' + 5 → '370102-202610-0007'): codes
 * are numbered from 1 per district first, and the finalising transaction moves them past the
 * serials other batches of the month hold, once it has locked that district's numbering.
 */
export function shiftSerial(code: string, offset: number): string {
  const m = /^(.*)-(\d+)$/.exec(code);
  if (!m || !Number.isInteger(offset) || offset < 0) throw new RangeError(`cannot shift '${code}' by ${offset}`);
  return `${m[1]}-${String(Number(m[2]) + offset).padStart(4, '0')}`;
}
