#!/usr/bin/env node
/**
 * Compiles the AssemblyScript kernels (the assembly/ folders under pipeline/ and geo/) into WebAssembly beside their
 * compiled JS in dist/ (pipeline/detect/assembly/predict-trees.ts → dist/pipeline/detect/predict-trees.wasm).
 * `npm run build` runs it after tsc; the vitest setup runs it with --if-stale, so tests from source
 * load the same module. No binary is committed: the .wasm is always built from the source here.
 * Plain JS: it runs before anything is built.
 *
 *   node scripts/build-wasm.mjs [--if-stale]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Source → output, relative to the repository root. */
export const WASM_KERNELS = [
  ['pipeline/detect/assembly/predict-trees.ts', 'dist/pipeline/detect/predict-trees.wasm'],
  ['pipeline/detect/assembly/box-mean.ts', 'dist/pipeline/detect/box-mean.wasm'],
  ['pipeline/detect/assembly/score-pass.ts', 'dist/pipeline/detect/score-pass.wasm'],
  ['geo/tiff/assembly/unpredict.ts', 'dist/geo/tiff/unpredict.wasm'],
];

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -Infinity;
  }
};

/** Builds every kernel (only those older than their source with `ifStale`); throws when asc fails. */
export function buildWasm({ ifStale = false } = {}) {
  const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
  for (const [src, out] of WASM_KERNELS) {
    const s = join(root, src), o = join(root, out);
    if (ifStale && mtime(o) >= mtime(s) && mtime(o) >= mtime(fileURLToPath(import.meta.url))) continue;
    mkdirSync(dirname(o), { recursive: true });
    // SIMD on (every Node ≥ 16 runs it); the stub runtime: the kernels allocate nothing. The memory
    // is imported: the caller makes it at its final size (wasm-module.ts), so it is never grown.
    const r = spawnSync(process.execPath, [asc, s, '--enable', 'simd', '-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '--initialMemory', '1', '-o', o], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`asc failed on ${src} (exit ${r.status})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildWasm({ ifStale: process.argv.includes('--if-stale') });

/**
 * vitest's globalSetup (vitest.config.ts): tests run the TypeScript sources, which load the kernels
 * from dist/; build them first when missing or older than their source.
 */
export function setup() {
  buildWasm({ ifStale: true });
}
