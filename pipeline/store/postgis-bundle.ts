/**
 * The PostGIS extension for embedded PGlite, optionally loaded from a trimmed bundle.
 *
 * Every PGlite start unpacks the extension's whole bundle (95 MB of tar) and compiles every `.so`
 * in it to WebAssembly: postgis-3 (17 MB), but also postgis_raster-3 (16 MB) and
 * postgis_topology-3 (15 MB), which Tuban never loads. Measured on the 2-core machine, a start
 * (template copy or reopen) takes 1.3-1.5 s with those two left out against 2.6-4.8 s with them.
 * So the template cache (`database-template.ts`) keeps a copy of the bundle without them, and every
 * embedded open uses it when present. PostGIS itself (`CREATE EXTENSION postgis`, its SQL, PROJ
 * data) is unchanged; only `CREATE EXTENSION postgis_raster` / `postgis_topology` become
 * unavailable in the embedded database ("extension is not available").
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { postgis } from '@electric-sql/pglite-postgis';
import type { Extension } from '@electric-sql/pglite';

/** Entries left out of the trimmed bundle: the extensions Tuban never creates. */
const LEFT_OUT = /(^|\/)(lib\/postgresql\/postgis_(raster|topology)-3\.so|share\/postgresql\/extension\/postgis_(raster|topology)[-.][^/]*)$/;

/** PostGIS for `PGlite.create({ extensions })`, from `bundle` (a .tar.gz) instead of the packaged one when given. */
export function postgisExtension(bundle?: string): Extension {
  if (!bundle) return postgis;
  const url = pathToFileURL(bundle);
  return {
    name: postgis.name,
    // The packaged setup sets PostGIS's environment (PROJ data path, GDAL drivers); only the bundle differs.
    setup: async (pg, emscriptenOpts) => ({ ...(await postgis.setup(pg, emscriptenOpts)), bundlePath: url }),
  };
}

/**
 * Write the trimmed bundle to `dest`: the packaged tar with the raster and topology entries left
 * out, everything else byte for byte. Returns the number of entries left out (0 when a future
 * bundle names them differently: the copy is then simply the whole bundle, still correct).
 */
export async function writeTrimmedPostgisBundle(dest: string): Promise<number> {
  const packaged = await packagedBundlePath();
  const tar = gunzipSync(await readFile(packaged));
  const { kept, dropped } = filterTar(tar, (name) => LEFT_OUT.test(name));
  // Level 1: the bundle is inflated on every start and deflated once; size matters little here.
  await writeFile(dest, gzipSync(kept, { level: 1 }));
  return dropped;
}

async function packagedBundlePath(): Promise<string> {
  // pglite-postgis's own setup knows where its bundle is; ask it rather than guess the layout.
  const { bundlePath } = await postgis.setup({} as never, { PGLITE_ENV: {} } as never);
  if (!bundlePath) throw new Error('pglite-postgis returned no bundle path');
  return fileURLToPath(bundlePath);
}

/**
 * Copy a ustar archive without the entries `drop` names. Headers and data blocks are copied as
 * they are; the archive ends with the usual two zero blocks. Extended headers (pax 'x', GNU 'L')
 * travel with the entry they describe.
 */
export function filterTar(tar: Uint8Array, drop: (name: string) => boolean): { kept: Uint8Array; dropped: number } {
  const parts: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let dropped = 0;
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(header, 124, 12).trim() || '0', 8);
    const span = 512 + Math.ceil(size / 512) * 512;
    const entry = tar.subarray(at, at + span);
    at += span;
    const type = String.fromCharCode(header[156] || 48);
    if (type === 'x' || type === 'L' || type === 'g') {
      pending.push(entry);
      continue;
    }
    const prefix = text(header, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + text(header, 0, 100);
    if (drop(name)) dropped++;
    else parts.push(...pending, entry);
    pending = [];
  }
  parts.push(new Uint8Array(1024));
  return { kept: Buffer.concat(parts), dropped };
}

function text(buf: Uint8Array, offset: number, length: number): string {
  const field = buf.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('utf8');
}
