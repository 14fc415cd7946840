/**
 * The dlsym patch (pglite-dlsym.ts): the patched lookup does what Emscripten's does, in a runtime
 * made of the same helpers as PGlite 0.5.8's (same addresses, symbol indices, errors, table
 * contents) while growing the table a chunk at a time; the installed runtime carries it; and real
 * PGlite + PostGIS calls each function it looks up.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DLSYM_PATCH_MARK, patchDlsym, pgliteRuntimeFiles } from './pglite-dlsym.js';
import { openDatabase } from './open-database.js';

/** `_dlsym_js` as PGlite 0.5.8 ships it in dist/index.js and dist/index.cjs (the minifier named them differently). */
const SHIPPED = {
  'index.js':
    '__dlsym_js=(e,t,r)=>{t=UTF8ToString(t);var a,o,_=LDSO.loadedLibsByHandle[e];if(!_.exports.hasOwnProperty(t)||_.exports[t].stub)return dlSetError(`Tried to lookup unknown symbol "${t}" in dynamic lib: ${_.name}`),0;if(o=Object.keys(_.exports).indexOf(t),a=_.exports[t],typeof a=="function"){var s=getFunctionAddress(a);s?a=s:(a=addFunction(a,a.sig),HEAPU32[r>>2]=o)}return a}',
  'index.cjs':
    '__dlsym_js=(e,t,r)=>{t=UTF8ToString(t);var a,o,s=LDSO.loadedLibsByHandle[e];if(!s.exports.hasOwnProperty(t)||s.exports[t].stub)return dlSetError(`Tried to lookup unknown symbol "${t}" in dynamic lib: ${s.name}`),0;if(o=Object.keys(s.exports).indexOf(t),a=s.exports[t],typeof a=="function"){var n=getFunctionAddress(a);n?a=n:(a=addFunction(a,a.sig),HEAPU32[r>>2]=o)}return a}',
};

interface Runtime {
  dlsym(handle: number, symbol: string, out: number): unknown;
  libs: Record<number, { name: string; exports: Record<string, unknown> }>;
  heap: Uint32Array;
  grows: number[];
  /** The table's functions by name (each runtime makes its own functions), undefined where a slot is empty. */
  table: () => (string | undefined)[];
  existing: (i: number) => unknown;
  errors: string[];
}

/**
 * A runtime around `dlsymSource` with Emscripten 0.5.8's own table helpers (getFunctionAddress,
 * getEmptyTableSlot, addFunction as PGlite ships them), over a table that records its growth.
 */
function runtime(dlsymSource: string, tableLength: number): Runtime {
  const make = new Function(
    'tableLength',
    `
    const errors = [], grows = [], slots = [];
    const wasmTable = {
      length: tableLength,
      grow(n) { const old = this.length; this.length += n; grows.push(n); return old; },
      set(i, f) { slots[i] = f; },
      get(i) { return slots[i] ?? null; },
    };
    for (let i = 1; i < tableLength; i++) slots[i] = { ['existing' + i]: function () {} }['existing' + i];
    const HEAPU32 = new Uint32Array(16);
    const UTF8ToString = (s) => s;
    const dlSetError = (m) => { errors.push(m); };
    let functionsInTableMap;
    const updateTableMap = (from, n) => { for (let i = from; i < from + n; i++) { const f = wasmTable.get(i); if (f) functionsInTableMap.set(f, i); } };
    const getFunctionAddress = (f) => (functionsInTableMap || (functionsInTableMap = new WeakMap(), updateTableMap(0, wasmTable.length)), functionsInTableMap.get(f) || 0);
    const freeTableIndexes = [];
    const getEmptyTableSlot = () => { if (freeTableIndexes.length) return freeTableIndexes.pop(); wasmTable.grow(1); return wasmTable.length - 1; };
    const addFunction = (f, sig) => { const r = getFunctionAddress(f); if (r) return r; const a = getEmptyTableSlot(); wasmTable.set(a, f); functionsInTableMap.set(f, a); return a; };
    const LDSO = { loadedLibsByHandle: {} };
    var ${dlsymSource};
    return { dlsym: __dlsym_js, libs: LDSO.loadedLibsByHandle, heap: HEAPU32, grows, table: () => Array.from({ length: wasmTable.length }, (_, i) => slots[i]?.name), errors, existing: (i) => slots[i] };
    `,
  ) as (n: number) => Runtime;
  return make(tableLength);
}

/** Two libraries: functions (one already in the table), a data symbol, a stub; PostGIS-like in count. */
function loadLibraries(rt: Runtime): void {
  const named = (name: string) => ({ [name]: function () {} })[name]!;
  const fns = (prefix: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, Object.assign(named(`${prefix}${i}`), { sig: 'ii' })]));
  const postgis: Record<string, unknown> = { ...fns('lwgeom_', 40), gserialized_version: 3, stubbed: Object.assign(named('stubbed'), { stub: true }) };
  postgis.already = rt.existing(5);
  rt.libs[1] = { name: 'postgis-3.so', exports: postgis };
  rt.libs[2] = { name: 'plpgsql.so', exports: fns('plpgsql_', 6) };
}

/** Every answer of a sequence of lookups: value returned, the symbol index written back, errors so far. */
function lookUp(rt: Runtime, symbols: [number, string][]): unknown[] {
  return symbols.map(([handle, symbol], k) => {
    rt.heap[k % 16] = 0xffffffff;
    const value = rt.dlsym(handle, symbol, (k % 16) * 4);
    return { symbol, value, written: rt.heap[k % 16], errors: rt.errors.length };
  });
}

const SEQUENCE: [number, string][] = [
  [1, 'lwgeom_7'], [1, 'lwgeom_0'], [1, 'gserialized_version'], [1, 'missing'], [1, 'stubbed'], [1, 'already'],
  [2, 'plpgsql_3'], [1, 'lwgeom_7'], [2, 'plpgsql_0'],
  ...Array.from({ length: 30 }, (_, i): [number, string] => [i % 3 === 0 ? 2 : 1, i % 3 === 0 ? `plpgsql_${i % 6}` : `lwgeom_${39 - i}`]),
];

describe('the patched dlsym', () => {
  for (const [file, shipped] of Object.entries(SHIPPED)) {
    it(`answers as ${file}'s does, growing the table ${4} slots at a time`, () => {
      const { source, outcome } = patchDlsym(shipped, 4);
      expect(outcome).toBe('patched');
      expect(source).toContain(DLSYM_PATCH_MARK);
      expect(source).not.toContain('Object.keys(_.exports).indexOf');

      const before = runtime(shipped, 12);
      const after = runtime(source, 12);
      loadLibraries(before);
      loadLibraries(after);
      const expected = lookUp(before, SEQUENCE);
      const got = lookUp(after, SEQUENCE);
      expect(got).toEqual(expected);
      expect(after.errors).toEqual(before.errors);
      expect(before.errors).toEqual(['Tried to lookup unknown symbol "missing" in dynamic lib: postgis-3.so', 'Tried to lookup unknown symbol "stubbed" in dynamic lib: postgis-3.so']);

      // The same functions at the same addresses; the patched table only has spare slots at its end.
      const added = before.grows.length;
      expect(added).toBeGreaterThan(20);
      expect(before.grows.every((n) => n === 1)).toBe(true);
      expect(after.grows).toEqual(Array(Math.ceil(added / 4)).fill(4));
      expect(after.table().slice(0, before.table().length)).toEqual(before.table());
      expect(after.table().slice(before.table().length).every((f) => f === undefined)).toBe(true);
    });
  }

  it('finds the position of a symbol added to the exports of a library after its first lookup', () => {
    // The main module's exports (handle 0 in Emscripten) gain each side module's symbols as it loads.
    const { source } = patchDlsym(SHIPPED['index.js'], 4);
    const [before, after] = [runtime(SHIPPED['index.js'], 12), runtime(source, 12)];
    for (const rt of [before, after]) loadLibraries(rt);
    const first = [lookUp(before, [[1, 'lwgeom_3']]), lookUp(after, [[1, 'lwgeom_3']])];
    expect(first[1]).toEqual(first[0]);
    for (const rt of [before, after]) rt.libs[1]!.exports.merged_later = Object.assign(function mergedLater() {}, { sig: 'v' });
    const later = lookUp(before, [[1, 'merged_later'], [1, 'lwgeom_9']]);
    expect(later.map((l) => (l as { written: number }).written)).toEqual([43, 9]);
    expect(lookUp(after, [[1, 'merged_later'], [1, 'lwgeom_9']])).toEqual(later);
  });

  it('is applied once, and leaves a runtime of another shape alone', () => {
    const once = patchDlsym(SHIPPED['index.js']).source;
    expect(patchDlsym(once)).toEqual({ source: once, outcome: 'already' });
    const other = SHIPPED['index.js'].replace('Object.keys(_.exports).indexOf(t)', 'lookupIndex(_,t)');
    expect(patchDlsym(other)).toEqual({ source: other, outcome: 'absent' });
    expect(() => patchDlsym(SHIPPED['index.js'], 0)).toThrow(RangeError);
    const earlier = once.replace(DLSYM_PATCH_MARK, '/*tuban:dlsym*/');
    expect(patchDlsym(earlier)).toEqual({ source: earlier, outcome: 'stale' });
  });

  it('is in the installed PGlite (npm ci runs scripts/patch-pglite through prepare)', () => {
    for (const file of pgliteRuntimeFiles()) expect(readFileSync(file, 'utf8').includes(DLSYM_PATCH_MARK), `${file} carries the patch`).toBe(true);
  });

  it('calls, in real PGlite, the PostGIS function each first call looks up', async () => {
    const db = await openDatabase('memory://');
    try {
      const r = await db.query<Record<string, unknown>>(`
        WITH g AS (SELECT ST_GeomFromText('POLYGON((0 0,4 0,4 2,0 2,0 0))') AS a, ST_GeomFromText('POLYGON((2 0,6 0,6 2,2 2,2 0))') AS b)
        SELECT ST_Area(a) AS area, ST_Perimeter(a) AS perimeter, ST_NPoints(a) AS npoints, ST_X(ST_Centroid(a)) AS cx, ST_Y(ST_Centroid(a)) AS cy,
               ST_Area(ST_Intersection(a, b)) AS inter, ST_Area(ST_Union(a, b)) AS uni, ST_Area(ST_Difference(a, b)) AS diff,
               ST_Intersects(a, b) AS intersects, ST_Touches(a, b) AS touches, ST_Contains(a, ST_MakePoint(1, 1)) AS contains,
               ST_AsText(ST_Envelope(b)) AS envelope, ST_XMax(b) AS xmax, ST_Length(ST_Boundary(a)) AS boundary,
               ST_SRID(ST_SetSRID(a, 4326)) AS srid, round(ST_Distance(ST_MakePoint(0, 0), ST_MakePoint(3, 4))::numeric, 6) AS dist,
               GeometryType(ST_Buffer(ST_MakePoint(0, 0), 1)) AS buffered, ST_NumGeometries(ST_Collect(a, b)) AS collected
        FROM g`);
      expect(r.rows[0]).toEqual({
        area: 8, perimeter: 12, npoints: 5, cx: 2, cy: 1, inter: 4, uni: 12, diff: 4, intersects: true, touches: false, contains: true,
        envelope: 'POLYGON((2 0,2 2,6 2,6 0,2 0))', xmax: 6, boundary: 12, srid: 4326, dist: '5.000000', buffered: 'POLYGON', collected: 2,
      });
    } finally {
      await db.close();
    }
  });
});
