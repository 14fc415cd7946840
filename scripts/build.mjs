#!/usr/bin/env node
/**
 * The build (`npm run build`): tsc into dist/, the AssemblyScript kernels (build-wasm.mjs), then a stamp (dist/.build-stamp) whose time is when
 * that build started. With --if-stale it compiles only when a source is newer than the stamp, so
 * `npm run demo` right after `npm ci` (whose prepare built dist/) starts at once instead of spending
 * ~10 s of CPU type-checking an unchanged tree; any edit since the last build still rebuilds.
 * Plain JS: it runs before anything is built.
 *
 *   node scripts/build.mjs [--if-stale]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWasm } from './build-wasm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
/** What tsconfig.json includes, and the files that change how it compiles. */
const SOURCE_DIRS = ['schemas', 'geo', 'pipeline', 'workers', 'server', 'cli', 'fixtures', 'scripts', 'evaluation'];
const CONFIG_FILES = ['tsconfig.json', 'package.json', 'package-lock.json'];

/** Newest mtime (ms) of the sources, or Infinity when one cannot be read (then build). */
function newestSource() {
  let newest = 0;
  const visit = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  try {
    for (const d of SOURCE_DIRS) visit(join(root, d));
    for (const f of CONFIG_FILES) newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  } catch {
    return Infinity;
  }
  return newest;
}

function stampTime() {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return -Infinity;
  }
}

if (process.argv.includes('--if-stale') && newestSource() < stampTime()) process.exit(0);

const started = new Date();
rmSync(stamp, { force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
// The WebAssembly kernels beside the JS that loads them (tsc knows nothing of them).
buildWasm();
closeSync(openSync(stamp, 'w'));
// The build's start, not its end: a source saved while tsc ran is newer, so the next run rebuilds.
utimesSync(stamp, started, started);
