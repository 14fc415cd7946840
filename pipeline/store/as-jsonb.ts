/**
 * A value as a jsonb column gives it back after `JSON.stringify(value)` was stored in it, without
 * asking the database: what JSON drops or turns (undefined, a Date, NaN) goes the same way, and
 * every object's keys come in jsonb's order, shorter keys first, then by their UTF-8 bytes.
 * Numbers come back the same: jsonb keeps a JSON number's decimal digits, and JavaScript writes the
 * shortest that parse to the same double. So a writer fed either gives the same bytes.
 */
export function asJsonb<T>(value: T): T {
  return inJsonbKeyOrder(JSON.parse(JSON.stringify(value)) as unknown) as T;
}

/** A value just parsed (so its own to change), every object's keys in jsonb's order (PostgreSQL's `lengthCompareJsonbString`). */
function inJsonbKeyOrder(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = inJsonbKeyOrder(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  for (const k of keys) o[k] = inJsonbKeyOrder(o[k]);
  const sorted = [...keys].sort(jsonbKeyOrder);
  // Most objects are in that order already (one key, or built so): kept as they are.
  return sorted.every((k, i) => k === keys[i]) ? o : Object.fromEntries(sorted.map((k) => [k, o[k]]));
}

/** Shorter first, then by bytes: for ASCII keys (the usual) their length and code units are their bytes. */
function jsonbKeyOrder(a: string, b: string): number {
  if (!NON_ASCII.test(a) && !NON_ASCII.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length - y.length || Buffer.compare(x, y);
}

const NON_ASCII = /[^\x00-\x7f]/;
