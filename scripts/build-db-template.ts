/**
 * Build the embedded database template now rather than on the first batch (`npm ci` runs it
 * through `prepare`, after the build), so a fresh machine's first `tuban batch` / `npm run demo`
 * starts its database in about a second instead of ~15 s. It opens a throwaway directory through
 * the real `openDatabase`, which builds the template into the cache (`TUBAN_CACHE_DIR`,
 * `$XDG_CACHE_HOME/tuban`, `~/.cache/tuban`) and checks a copy of it. Never fails an install:
 * without a template every fresh directory simply runs initdb as before.
 *
 *   node dist/scripts/build-db-template.js
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTemplate, templateCacheRoot } from '../pipeline/store/database-template.js';
import { openDatabase } from '../pipeline/store/open-database.js';

const root = templateCacheRoot();
if (!root) {
  console.log('tuban: TUBAN_DB_TEMPLATE=off, no database template built');
} else if (await findTemplate(root)) {
  console.log(`tuban: database template present in ${root}`);
} else {
  const dir = await mkdtemp(join(tmpdir(), 'tuban-template-check-'));
  try {
    const t0 = performance.now();
    const db = await openDatabase(join(dir, 'db'), { log: (_level, m) => console.log(`tuban: ${m}`) });
    await db.close();
    const ok = (await findTemplate(root)) !== null;
    console.log(ok ? `tuban: database template ready in ${root} (${((performance.now() - t0) / 1000).toFixed(1)} s)` : 'tuban: no database template; fresh databases will run initdb (~15 s)');
  } catch (err) {
    console.log(`tuban: could not build the database template (${(err as Error).message}); fresh databases will run initdb (~15 s)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
