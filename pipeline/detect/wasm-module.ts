/**
 * The compiled WebAssembly kernels (assembly/*.ts, built into dist/ by `npm run build`:
 * scripts/build-wasm.mjs), each compiled once per thread. There is no JS fallback: a missing module
 * is an error that says to build, so nothing is ever scored by another path without anyone knowing.
 */
import { readFileSync } from 'node:fs';

const modules = new Map<string, WebAssembly.Module>();

/** The kernels scripts/build-wasm.mjs builds. */
export type KernelName = 'predict-trees' | 'box-mean' | 'score-pass';

/** `name`.wasm beside this file in the build, or in dist/ when this runs from source (vitest). */
export function wasmModule(name: KernelName): WebAssembly.Module {
  let m = modules.get(name);
  if (m) return m;
  const candidates = [new URL(`./${name}.wasm`, import.meta.url), new URL(`../../dist/pipeline/detect/${name}.wasm`, import.meta.url)];
  for (const u of candidates) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(u));
    } catch {
      continue;
    }
    m = new WebAssembly.Module(bytes);
    modules.set(name, m);
    return m;
  }
  throw new Error(`${name}.wasm not found (looked in ${candidates.map((u) => u.pathname).join(', ')}): run npm run build`);
}

/**
 * An instance of kernel `name` over a memory of its own of at least `bytes` bytes, made at that size
 * and never grown: growing a memory detaches its old ArrayBuffer, and the first detached buffer in a
 * thread makes V8 check every typed-array access of that thread for detachment from then on (the
 * per-pixel pass measured ~10 % slower), besides leaving stale views.
 */
export function wasmInstance<T>(name: KernelName, bytes: number): { exports: T; memory: WebAssembly.Memory } {
  const memory = wasmMemory(bytes);
  return { exports: wasmInstanceOn<T>(name, memory), memory };
}

/** A memory of at least `bytes` bytes, made at that size, for kernels to share (never grown: see wasmInstance). */
export function wasmMemory(bytes: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
}

/** An instance of kernel `name` over an existing memory (another kernel's, whose planes it reads). */
export function wasmInstanceOn<T>(name: KernelName, memory: WebAssembly.Memory): T {
  return new WebAssembly.Instance(wasmModule(name), { env: { memory } }).exports as unknown as T;
}
