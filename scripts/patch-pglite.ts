/**
 * Apply `patchDlsym` (pipeline/store/pglite-dlsym.ts: why) to the installed PGlite runtime,
 * index.js and index.cjs. `npm ci` runs it through `prepare`, after the build. Never fails an
 * install: a PGlite whose runtime is not 0.5.8's shape is left as it is (correct, only slower), and
 * says so.
 *
 *   node dist/scripts/patch-pglite.js
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { patchDlsym, pgliteRuntimeFiles } from '../pipeline/store/pglite-dlsym.js';

for (const file of pgliteRuntimeFiles()) {
  try {
    const { source, outcome } = patchDlsym(readFileSync(file, 'utf8'));
    if (outcome === 'patched') writeFileSync(file, source);
    console.log(
      {
        patched: `tuban: ${file}: dlsym patched`,
        already: `tuban: ${file}: dlsym already patched`,
        stale: `tuban: ${file}: dlsym patched by an earlier Tuban, left as it is (npm ci installs a fresh copy to patch)`,
        absent: `tuban: ${file}: no dlsym of PGlite 0.5.8's shape, left as it is (PostGIS's first calls stay slower)`,
      }[outcome],
    );
  } catch (err) {
    console.log(`tuban: ${file}: not patched (${err instanceof Error ? err.message : String(err)})`);
  }
}
