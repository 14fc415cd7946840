/**
 * The learned model's trees in WebAssembly SIMD (assembly/predict-trees.ts, built into
 * predict-trees.wasm by `npm run build`): one instance per thread, its memory holding the tree
 * table, one feature-major block of pixels and their logits. predictPlanes (change-model.ts)
 * gathers each block's features into it and runs every tree over the block, four pixels per step.
 *
 * There is no scalar fallback: a missing or unloadable module is an error that says to build, so a
 * tile is never scored by a slower path without anyone knowing. The scalar walk is kept as
 * predictTreesScalar, the reference the kernel is tested against bit for bit.
 */
import { wasmInstance, wasmInstanceOn } from './wasm-module.js';

/** Bytes per tree in the table: 7 u32 feature-row offsets, 7 f32 thresholds, 8 f32 leaves. */
const TREE_BYTES = 88;
/** The table starts past the first page (the module's own, if its compiler ever puts data there). */
const TABLE_AT = 65536;

interface Exports {
  predictBlock(table: number, count: number, block: number, acc: number, lanes: number, bias: number): void;
  gather(pairs: number, n: number, at: number, m: number, block: number): void;
}

/**
 * Bytes [at, at + bytes) of a memory the tree kernel may use: the learned feature scratch's
 * (change-features.ts), whose feature planes and asked-pixel list then gather in WebAssembly too.
 */
export interface KernelHost {
  memory: WebAssembly.Memory;
  at: number;
  bytes: number;
}

/** Complete depth-3 trees as FoldedModel holds them (feature = plane index). */
export interface TreeArrays {
  feature: Int32Array;
  threshold: Float32Array;
  leaf: Float32Array;
  count: number;
}

/** A thread's kernel with a table laid out for one model and one block size. */
export interface TreeKernel {
  /** Pixels per block (a multiple of 4). */
  block: number;
  /** Feature-major block: row f (plane f) at f·block. Write the block's features here. */
  features: Float32Array;
  /** Runs every tree over the first `m` pixels of the block; their logits are in `logits[0..m)`. */
  run(m: number): void;
  logits: Float32Array;
  /**
   * Sets up gathering in WebAssembly from `planes` (the `used` ones) at pixels `at`: true when they
   * all lie in the kernel's memory (a hosted kernel, the feature scratch's planes), else false and
   * the caller gathers into `features` itself.
   */
  prepareGather(planes: Float32Array[], used: Int32Array, at: Int32Array): boolean;
  /** Gathers pixels at[k0 … k0 + m) into the block (after prepareGather returned true). */
  gather(k0: number, m: number): void;
}

let instance: { exports: Exports; memory: WebAssembly.Memory } | null = null;
/** Kernels bound to a host's memory, one per memory. */
const hosted = new WeakMap<WebAssembly.Memory, Exports>();

/**
 * This thread's kernel set up for `trees` over `planes` feature planes, blocks of `block` pixels.
 * The table is written on every call (≈ 2,600 numbers for 120 trees, nothing beside a strip's
 * work), so a model changed in place or another model on the same thread is never stale. With a
 * `host`, the kernel works in the host's memory region (and can gather there); else in this
 * thread's own instance.
 */
export function treeKernel(trees: TreeArrays, bias: number, planes: number, block: number, host?: KernelHost): TreeKernel {
  if (block % 4 !== 0) throw new Error(`treeKernel: block ${block} is not a multiple of 4`);
  const { feature, threshold, leaf, count } = trees;
  for (let k = 0; k < feature.length; k++) {
    if (!(feature[k] >= 0 && feature[k] < planes)) throw new Error(`predictPlanes: a tree splits on feature ${feature[k]}, ${planes} planes given`);
  }
  // Layout from tableAt: the tree table, the gather's (plane, row) pairs, the block, the logits.
  const tableAt = host ? host.at : TABLE_AT;
  const pairsAt = tableAt + Math.ceil((count * TREE_BYTES) / 64) * 64;
  const blockAt = pairsAt + Math.ceil((planes * 8) / 64) * 64;
  const accAt = blockAt + planes * block * 4;
  const end = accAt + block * 4;
  let ex: Exports;
  let mem: WebAssembly.Memory;
  if (host) {
    if (end > host.at + host.bytes) throw new Error(`treeKernel: ${count} trees over ${planes} planes need ${end - host.at} bytes, the host region has ${host.bytes}`);
    mem = host.memory;
    ex = hosted.get(mem) ?? wasmInstanceOn<Exports>('predict-trees', mem);
    hosted.set(mem, ex);
  } else {
    // A memory too small for this model and block: a new instance (never a grown memory: wasmInstance).
    if (!instance || instance.memory.buffer.byteLength < end) instance = wasmInstance<Exports>('predict-trees', end);
    mem = instance.memory;
    ex = instance.exports;
  }
  const u32 = new Uint32Array(mem.buffer, tableAt, count * (TREE_BYTES / 4));
  const f32 = new Float32Array(mem.buffer, tableAt, count * (TREE_BYTES / 4));
  for (let t = 0; t < count; t++) {
    const p = t * (TREE_BYTES / 4);
    for (let k = 0; k < 7; k++) {
      u32[p + k] = feature[t * 7 + k] * block * 4;
      f32[p + 7 + k] = threshold[t * 7 + k];
    }
    for (let j = 0; j < 8; j++) f32[p + 14 + j] = leaf[t * 8 + j];
  }
  const { predictBlock, gather } = ex;
  let nPairs = 0;
  let atAt = 0;
  return {
    block,
    features: new Float32Array(mem.buffer, blockAt, planes * block),
    logits: new Float32Array(mem.buffer, accAt, block),
    run: (m: number) => predictBlock(tableAt, count, blockAt, accAt, (m + 3) & ~3, bias),
    prepareGather: (ps: Float32Array[], used: Int32Array, at: Int32Array) => {
      if (!host || at.buffer !== mem.buffer) return false;
      for (let u = 0; u < used.length; u++) if (ps[used[u]].buffer !== mem.buffer) return false;
      const pairs = new Uint32Array(mem.buffer, pairsAt, 2 * used.length);
      for (let u = 0; u < used.length; u++) {
        pairs[2 * u] = ps[used[u]].byteOffset;
        pairs[2 * u + 1] = used[u] * block * 4;
      }
      nPairs = used.length;
      atAt = at.byteOffset;
      return true;
    },
    gather: (k0: number, m: number) => gather(pairsAt, nPairs, atAt + 4 * k0, m, blockAt),
  };
}
