/**
 * `npm run demo`: generate a seeded synthetic area (two epochs of 4-band tiles with planted
 * changes, zone layers and districts), run the real `tuban batch` command on it with the
 * embedded database, and say how well it found what was planted.
 *
 *   node dist/scripts/demo.js [--dir out/demo] [--size 1024] [--seed 7] [--tiles 2]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { booleanIntersects } from '@turf/boolean-intersects';
import type { FeatureCollection, Polygon } from 'geojson';
import { generateScene } from '../fixtures/synthetic-scene.js';
import { parseFlags, one } from '../cli/args.js';
import { EXIT_DB_LOCKED } from '../cli/db-lock.js';
import { acquireDirectoryLock } from '../pipeline/store/directory-lock.js';
import { TubanError } from '../schemas/errors.js';

const { flags } = parseFlags(process.argv.slice(2));
const dir = resolve(one(flags, 'dir') ?? 'out/demo');
const size = Number(one(flags, 'size') ?? '1024');
const seed = Number(one(flags, 'seed') ?? '7');
const tiles = Number(one(flags, 'tiles') ?? '2');

const sceneDir = join(dir, 'scene');
// A `tuban serve --db out/demo/db` (or any tuban command) holding the last demo's database keeps it:
// removing it under the server would lose its users and verdicts and leave it on deleted files.
// Checked before a word about generating, so the refusal is the first and only thing said.
try {
  await (await acquireDirectoryLock(join(dir, 'db'))).release();
} catch (err) {
  if (!(err instanceof TubanError && err.code === 'DB.LOCKED')) throw err;
  // The lock's own advice is a command's (wait for a batch, or stop the server, run the command and
  // start it again): the demo takes no --wait-db, and replaces the database the server would reopen.
  const held = err.message.replace(/\s*(?:Wait for it to finish, pass --wait-db|A server holds it|A second tuban serve) .*$/s, '');
  process.stderr.write(`demo: DB.LOCKED ${held}\nStop it (the demo replaces ${dir}, its users and verdicts included), or give the demo another --dir.\n`);
  process.exit(EXIT_DB_LOCKED);
}
console.log(`Generating a ${size}×${size} px two-epoch scene (seed ${seed}, ${tiles}×${tiles} tiles, prior in CGCS2000 Gauss-Krüger) in ${sceneDir} …`);
await rm(dir, { recursive: true, force: true });
const scene = await generateScene({ dir: sceneDir, size, seed, tilesPerSide: tiles, priorCrs: 'EPSG:4527', clouds: true, parallel: true });
console.log(`  ${scene.planted.length} planted changes, epoch ${scene.epoch} (${scene.beforeDate} → ${scene.afterDate})\n`);

const cli = fileURLToPath(new URL('../cli/tuban.js', import.meta.url));
const out = join(dir, 'out');
const argv = ['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', out, '--db', join(dir, 'db')];
console.log(`$ tuban ${argv.join(' ')}\n`);
const run = spawnSync(process.execPath, [cli, ...argv], { stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);

// How the run compares with what was planted: the same check the end-to-end test makes.
const polys = JSON.parse(await readFile(join(out, 'polygons.geojson'), 'utf8')) as FeatureCollection<Polygon>;
// Vegetation loss planted on farmland is farming (expectedLead null): the rule table sets it aside.
const issuable = scene.planted.filter((p) => p.expectedLead !== null);
const farming = scene.planted.length - issuable.length;
const found = issuable.filter((p) => polys.features.some((f) => booleanIntersects(f.geometry, p.geometry)));
const routed = found.filter((p) => {
  const f = polys.features.find((g) => booleanIntersects(g.geometry, p.geometry));
  return f?.properties?.lead_bureau === p.expectedLead && f?.properties?.district_code === p.expectedDistrictCode;
});
const falsePolys = polys.features.filter((f) => !scene.planted.some((p) => booleanIntersects(f.geometry, p.geometry)));
console.log(`\nAgainst the planted truth: found ${found.length}/${issuable.length}, routed as expected ${routed.length}/${found.length}, polygons with no planted change ${falsePolys.length}/${polys.features.length} (${farming} planted farming changes are not issued by design)`);
if (!existsSync(join(out, 'ledger.xlsx'))) process.exit(1);
const db = relative(process.cwd(), join(dir, 'db')) || '.';
console.log(`\nTo triage them on the page (README, "Bureau triage server"), on the demo's database:
  echo 'a long pass phrase' | npx tuban user add chief --role lead --db ${db}
  npx tuban serve --db ${db}        # then open http://127.0.0.1:8080 and sign in as chief
(npm run demo starts afresh: it replaces ${relative(process.cwd(), dir) || '.'}, users included.)`);
