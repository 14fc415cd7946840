/**
 * First-run benchmark: how long a fresh embedded database directory takes to be ready (open +
 * migrate, what `tuban batch` waits for), without the template (initdb + PostGIS + migrations)
 * and with it (copy + start; also on the database's own thread, as `tuban batch` opens it), the
 * one-time template build, a reopen, and `npm run demo` wall time both ways. Prints min–max and median of each over `--reps` runs.
 *
 *   npm run bench:first-run -- [--reps 3] [--demo-reps 2] [--no-demo]
 *
 * Uses its own template cache in a temporary directory (TUBAN_CACHE_DIR for the demo), so the
 * numbers do not depend on what the user's cache holds, and removes it afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { flag } from './bench-lib.js';

const reps = Number(flag('reps', '3'));
const demoReps = Number(flag('demo-reps', '2'));
const withDemo = !process.argv.includes('--no-demo');
const work = await mkdtemp(join(tmpdir(), 'tuban-first-run-'));
const cache = join(work, 'cache');
let n = 0;

/** Seconds from nothing to a migrated database on `dir`, closed afterwards. */
async function ready(dir: string, templateCache: string | null, thread = false): Promise<number> {
  const t0 = performance.now();
  const db = await openDatabase(dir, { templateCache, log: () => {}, thread });
  await migrate(db);
  const s = (performance.now() - t0) / 1000;
  await db.close();
  return s;
}

const fresh = () => join(work, `db${n++}`);

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)} s (median ${med.toFixed(2)}, n=${s.length})`;
}

const rows: [string, number[]][] = [];
try {
  console.log(`First run of the embedded database: ${availableParallelism()} cores, load average ${loadavg()[0].toFixed(1)}`);
  const build = [await ready(fresh(), cache)];
  rows.push(['fresh directory, template missing (build + copy)', build]);
  const withT: number[] = [];
  const threaded: number[] = [];
  const without: number[] = [];
  const reopenT: number[] = [];
  const reopenNo: number[] = [];
  for (let i = 0; i < reps; i++) {
    // Interleaved, so a burst of load on the shared machine hits both sides alike.
    const a = fresh();
    withT.push(await ready(a, cache));
    reopenT.push(await ready(a, cache));
    threaded.push(await ready(fresh(), cache, true));
    const b = fresh();
    without.push(await ready(b, null));
    reopenNo.push(await ready(b, null));
  }
  rows.push(['fresh directory, no template (initdb)', without], ['fresh directory, from the template', withT]);
  // What `tuban batch` does: the same open on the database's own thread, beside the first tiles.
  rows.push(['fresh directory, from the template, own thread', threaded]);
  rows.push(['reopen, packaged PostGIS bundle', reopenNo], ['reopen, trimmed PostGIS bundle', reopenT]);

  if (withDemo) {
    const demo = fileURLToPath(new URL('./demo.js', import.meta.url));
    const run = (env: NodeJS.ProcessEnv) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [demo, '--dir', join(work, `demo${n++}`)], { env: { ...process.env, ...env }, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`demo exited ${r.status}`);
      return (performance.now() - t0) / 1000;
    };
    const demoWith: number[] = [];
    const demoWithout: number[] = [];
    for (let i = 0; i < demoReps; i++) {
      demoWithout.push(run({ TUBAN_DB_TEMPLATE: 'off' }));
      demoWith.push(run({ TUBAN_CACHE_DIR: cache }));
      process.stdout.write(`  demo run ${i + 1}: no template ${demoWithout.at(-1)!.toFixed(1)} s, template ${demoWith.at(-1)!.toFixed(1)} s (load ${loadavg()[0].toFixed(1)})\n`);
    }
    rows.push(['demo wall, no template', demoWithout], ['demo wall, template cached', demoWith]);
  }
  console.log('');
  for (const [name, xs] of rows) console.log(`${name.padEnd(52)}${summary(xs)}`);
  console.log(`\nload average after: ${loadavg()[0].toFixed(1)}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
