/**
 * A faster `dlsym` for PGlite's Emscripten runtime, applied to the installed package by
 * `scripts/patch-pglite.ts` (run by `npm ci` through `prepare`).
 *
 * Postgres looks each C function up with `dlsym` the first time a session calls it: ~70 PostGIS
 * functions in a batch, each first call of a PostGIS function in `tuban serve`. Emscripten's
 * `_dlsym_js` (PGlite 0.5.8) spent 3-16 ms on each of them, ~0.5-0.7 s of the database thread per
 * batch, all of it in two steps that do not depend on the symbol looked up:
 * - `Object.keys(lib.exports).indexOf(symbol)` lists PostGIS's 23 265 exports again on every lookup;
 * - `addFunction` grows the function table by one slot, and V8 grows a table by copying it (35 605
 *   entries) into every instance that uses it.
 * The patched lookup lists a library's exports once (a map from name to the same position, made again
 * when a symbol is not in it) and grows the table `chunk` slots at a time, handing the slots out in
 * the order single growth would: the same symbol index written back, the same functions called, at
 * the same addresses unless a library is loaded between two lookups (it then lands after the spare
 * slots; nothing depends on an address).
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Marks a patched runtime (the patch is applied once; the version changes with the patch). */
export const DLSYM_PATCH_MARK = '/*tuban:dlsym v2*/';

/**
 * Emscripten's `_dlsym_js` as PGlite 0.5.8 ships it, minified: the names of its parameters and locals
 * differ between index.js and index.cjs, the runtime's own names (LDSO, addFunction...) do not.
 */
const DLSYM = new RegExp(
  [
    String.raw`__dlsym_js=\((\w+),(\w+),(\w+)\)=>\{\2=UTF8ToString\(\2\);var (\w+),(\w+),(\w+)=LDSO\.loadedLibsByHandle\[\1\];`,
    String.raw`if\(!\6\.exports\.hasOwnProperty\(\2\)\|\|\6\.exports\[\2\]\.stub\)return (dlSetError\(\x60Tried to lookup unknown symbol "\$\{\2\}" in dynamic lib: \$\{\6\.name\}\x60\)),0;`,
    String.raw`if\(\5=Object\.keys\(\6\.exports\)\.indexOf\(\2\),\4=\6\.exports\[\2\],typeof \4=="function"\)\{`,
    String.raw`var (\w+)=getFunctionAddress\(\4\);\8\?\4=\8:\(\4=addFunction\(\4,\4\.sig\),HEAPU32\[\3>>2\]=\5\)\}return \4\}`,
  ].join(''),
);

export type DlsymPatchOutcome = 'patched' | 'already' | 'stale' | 'absent';

/**
 * `source` (a PGlite runtime file) with `_dlsym_js` replaced; 'stale' when an earlier version of
 * this patch is in it (left as it is: only a fresh copy, `npm ci`, can take this one); 'absent' when
 * the file has no `_dlsym_js` of 0.5.8's shape (another PGlite version: left as it is, only slower).
 */
export function patchDlsym(source: string, chunk = 256): { source: string; outcome: DlsymPatchOutcome } {
  if (source.includes(DLSYM_PATCH_MARK)) return { source, outcome: 'already' };
  if (source.includes('/*tuban:dlsym')) return { source, outcome: 'stale' };
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunk must be a whole number ≥ 1, not ${chunk}`);
  const m = DLSYM.exec(source);
  if (!m) return { source, outcome: 'absent' };
  const [, handle, sym, out, value, index, lib, unknown, address] = m as unknown as string[];
  const replacement =
    `__dlsym_js=(${handle},${sym},${out})=>{${DLSYM_PATCH_MARK}${sym}=UTF8ToString(${sym});var ${value},${index},${lib}=LDSO.loadedLibsByHandle[${handle}];` +
    `if(!${lib}.exports.hasOwnProperty(${sym})||${lib}.exports[${sym}].stub)return ${unknown},0;` +
    `if(${value}=${lib}.exports[${sym}],typeof ${value}=="function"){var ${address}=getFunctionAddress(${value});if(${address})${value}=${address};else{` +
    // Object.keys(exports).indexOf(symbol), from a map made once per exports object, and again when
    // it lacks the symbol (the main module's exports gain the symbols of each side module loaded).
    `var __tk=${lib}.__tubanKeys;if(!__tk||__tk.exports!==${lib}.exports||!__tk.at.has(${sym})){__tk={exports:${lib}.exports,at:new Map};Object.keys(${lib}.exports).forEach((__k,__i)=>__tk.at.set(__k,__i));${lib}.__tubanKeys=__tk}` +
    `${index}=__tk.at.has(${sym})?__tk.at.get(${sym}):-1;` +
    // getEmptyTableSlot pops a free slot before it grows the table by one: give it `chunk` in one growth, lowest first.
    `if(!freeTableIndexes.length){var __tn=wasmTable.length;wasmTable.grow(${chunk});for(var __ti=__tn+${chunk - 1};__ti>=__tn;__ti--)freeTableIndexes.push(__ti)}` +
    `${value}=addFunction(${value},${value}.sig),HEAPU32[${out}>>2]=${index}}}return ${value}}`;
  return { source: source.slice(0, m.index) + replacement + source.slice(m.index + m[0].length), outcome: 'patched' };
}

/** The runtime files of the installed PGlite (its package entry points, beside each other in dist/). */
export function pgliteRuntimeFiles(): string[] {
  const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  return [join(dist, 'index.js'), join(dist, 'index.cjs')];
}
