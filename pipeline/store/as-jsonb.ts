/**
 * A value as a jsonb column gives it back after `JSON.stringify(value)` was stored in it, without
 * asking the database: what JSON drops or turns (undefined, a Date, NaN) goes the same way, and
 * every object's keys come in jsonb's order, shorter keys first, then by their UTF-8 bytes.
 * Numbers come back the same: jsonb keeps a JSON number's decimal digits, and JavaScript writes the
 * shortest that parse to the same double. So a writer fed either gives the same bytes.
 */
export function asJsonb<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? inJsonbKeyOrder(v as Record<string, unknown>) : v)) as T;
}

/** Keys in jsonb's order (PostgreSQL's `lengthCompareJsonbString`). */
function inJsonbKeyOrder(o: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(o).map((k) => ({ k, bytes: Buffer.from(k) }));
  keys.sort((a, b) => a.bytes.length - b.bytes.length || Buffer.compare(a.bytes, b.bytes));
  return Object.fromEntries(keys.map(({ k }) => [k, o[k]]));
}
