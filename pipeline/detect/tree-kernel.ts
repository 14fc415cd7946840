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

/** Bytes per tree in the table: N = 2^depth − 1 u32 feature-row offsets, N f32 thresholds, 2^depth f32 leaves (88 at depth 3). */
const treeBytes = (depth: number) => 4 * (2 * ((1 << depth) - 1) + (1 << depth));
/** The table starts past the first page (the module's own, if its compiler ever puts data there). */
const TABLE_AT = 65536;

interface Exports {
  predictBlock(table: number, count: number, block: number, acc: number, lanes: number, bias: number): void;
  predictBlockDeep(table: number, count: number, depth: number, block: number, acc: number, lanes: number, bias: number, scratch: number): void;
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

/** Complete trees of one depth as FoldedModel holds them (feature = plane index). */
export interface TreeArrays {
  feature: Int32Array;
  threshold: Float32Array;
  leaf: Float32Array;
  count: number;
  /** 3: the unrolled kernel (predictBlock); 4 … 6: the level-by-level one (predictBlockDeep). */
  depth: number;
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
  const { feature, threshold, leaf, count, depth } = trees;
  if (!(depth >= 3 && depth <= 6)) throw new Error(`treeKernel: tree depth ${depth} outside 3..6`);
  const nodes = (1 << depth) - 1, leaves = 1 << depth, bytes = treeBytes(depth);
  for (let k = 0; k < feature.length; k++) {
    if (!(feature[k] >= 0 && feature[k] < planes)) throw new Error(`predictPlanes: a tree splits on feature ${feature[k]}, ${planes} planes given`);
  }
  // Layout from tableAt: the tree table, the gather's (plane, row) pairs, the block, the logits,
  // and (deeper trees) the choices of one level's nodes.
  const tableAt = host ? host.at : TABLE_AT;
  const pairsAt = tableAt + Math.ceil((count * bytes) / 64) * 64;
  const blockAt = pairsAt + Math.ceil((planes * 8) / 64) * 64;
  const accAt = blockAt + planes * block * 4;
  const scratchAt = accAt + block * 4;
  const end = scratchAt + (depth > 3 ? (leaves / 2) * 16 : 0);
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
  const u32 = new Uint32Array(mem.buffer, tableAt, count * (bytes / 4));
  const f32 = new Float32Array(mem.buffer, tableAt, count * (bytes / 4));
  for (let t = 0; t < count; t++) {
    const p = t * (bytes / 4);
    for (let k = 0; k < nodes; k++) {
      u32[p + k] = feature[t * nodes + k] * block * 4;
      f32[p + nodes + k] = threshold[t * nodes + k];
    }
    for (let j = 0; j < leaves; j++) f32[p + 2 * nodes + j] = leaf[t * leaves + j];
  }
  const { predictBlock, predictBlockDeep, gather } = ex;
  let nPairs = 0;
  let atAt = 0;
  return {
    block,
    features: new Float32Array(mem.buffer, blockAt, planes * block),
    logits: new Float32Array(mem.buffer, accAt, block),
    run: depth === 3
      ? (m: number) => predictBlock(tableAt, count, blockAt, accAt, (m + 3) & ~3, bias)
      : (m: number) => predictBlockDeep(tableAt, count, depth, blockAt, accAt, (m + 3) & ~3, bias, scratchAt),
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
