/**
 * AssemblyScript (compiled to WebAssembly SIMD by scripts/build-wasm.mjs, not by tsc): the
 * boosted trees of the learned change model over one block of pixels, four pixels per step.
 * Loaded by ../tree-kernel.ts, which fills the tree table and the feature block in this module's
 * memory and calls predictBlock.
 *
 * Layout (byte addresses chosen by the caller):
 * - table: per tree TREE_BYTES bytes: 7 u32 byte offsets of each node's feature row in the block
 *   (breadth-first), 7 f32 thresholds, 8 f32 leaves;
 * - block: feature-major f32 rows, each `lanes` (a multiple of 4) pixels long;
 * - acc: `lanes` f32, the logit of each pixel.
 *
 * Why it is bit-identical to the scalar walk (change-model.ts): a complete depth-3 tree sends a
 * pixel left at a node when x ≤ threshold (f32 against f32; NaN compares false and goes right);
 * computing all seven comparisons and picking the leaf by masks selects the same leaf the walk
 * reaches. The logit starts at f32(bias) and adds the leaves tree after tree, in tree order, as
 * f32 adds — the scalar code adds in double and rounds to f32 on each store, which gives the same
 * f32 (a double holds more than 2·24 + 2 bits, so rounding twice cannot differ from rounding once).
 */

const TREE_BYTES: i32 = 88;

export function predictBlock(table: usize, count: i32, block: usize, acc: usize, lanes: i32, bias: f32): void {
  const end = acc + (<usize>lanes << 2);
  const b = f32x4.splat(bias);
  for (let a = acc; a < end; a += 16) v128.store(a, b);
  for (let t = 0; t < count; t++) {
    const p = table + <usize>(t * TREE_BYTES);
    // Each node's feature row, made relative to acc so one index walks all eight arrays.
    const d0 = block + <usize>load<u32>(p, 0) - acc;
    const d1 = block + <usize>load<u32>(p, 4) - acc;
    const d2 = block + <usize>load<u32>(p, 8) - acc;
    const d3 = block + <usize>load<u32>(p, 12) - acc;
    const d4 = block + <usize>load<u32>(p, 16) - acc;
    const d5 = block + <usize>load<u32>(p, 20) - acc;
    const d6 = block + <usize>load<u32>(p, 24) - acc;
    const t0 = f32x4.splat(load<f32>(p, 28));
    const t1 = f32x4.splat(load<f32>(p, 32));
    const t2 = f32x4.splat(load<f32>(p, 36));
    const t3 = f32x4.splat(load<f32>(p, 40));
    const t4 = f32x4.splat(load<f32>(p, 44));
    const t5 = f32x4.splat(load<f32>(p, 48));
    const t6 = f32x4.splat(load<f32>(p, 52));
    const l0 = f32x4.splat(load<f32>(p, 56));
    const l1 = f32x4.splat(load<f32>(p, 60));
    const l2 = f32x4.splat(load<f32>(p, 64));
    const l3 = f32x4.splat(load<f32>(p, 68));
    const l4 = f32x4.splat(load<f32>(p, 72));
    const l5 = f32x4.splat(load<f32>(p, 76));
    const l6 = f32x4.splat(load<f32>(p, 80));
    const l7 = f32x4.splat(load<f32>(p, 84));
    for (let a = acc; a < end; a += 16) {
      const c0 = f32x4.le(v128.load(a + d0), t0);
      const c1 = f32x4.le(v128.load(a + d1), t1);
      const c2 = f32x4.le(v128.load(a + d2), t2);
      const c3 = f32x4.le(v128.load(a + d3), t3);
      const c4 = f32x4.le(v128.load(a + d4), t4);
      const c5 = f32x4.le(v128.load(a + d5), t5);
      const c6 = f32x4.le(v128.load(a + d6), t6);
      // bitselect(x, y, m): x where m is set, y elsewhere (m is all ones or all zeros per lane).
      const left = v128.bitselect(v128.bitselect(l0, l1, c3), v128.bitselect(l2, l3, c4), c1);
      const right = v128.bitselect(v128.bitselect(l4, l5, c5), v128.bitselect(l6, l7, c6), c2);
      v128.store(a, f32x4.add(v128.load(a), v128.bitselect(left, right, c0)));
    }
  }
}

/**
 * Complete trees of any depth (4 to 6 in the shipped builds), four pixels per step. Per tree the
 * table holds N = 2^depth − 1 u32 feature-row offsets, N f32 thresholds, then 2^depth f32 leaves.
 * The leaf is picked as in predictBlock, by masks: the deepest nodes choose between their two
 * leaves, each node above between the values its two children chose, up to the root — the leaf
 * the walk reaches (x ≤ threshold left, NaN right). `scratch` holds 2^(depth−1) v128 of the
 * children's choices. Same f32 accumulation, tree after tree, as predictBlock.
 */
export function predictBlockDeep(table: usize, count: i32, depth: i32, block: usize, acc: usize, lanes: i32, bias: f32, scratch: usize): void {
  const end = acc + (<usize>lanes << 2);
  const b = f32x4.splat(bias);
  for (let a = acc; a < end; a += 16) v128.store(a, b);
  const nodes = (1 << depth) - 1;
  const half = 1 << (depth - 1);
  const treeBytes = <usize>(4 * (2 * nodes + nodes + 1));
  for (let t = 0; t < count; t++) {
    const offs = table + <usize>t * treeBytes;
    const ths = offs + (<usize>nodes << 2);
    const leaves = ths + (<usize>nodes << 2);
    for (let a = acc; a < end; a += 16) {
      const rel = block + (a - acc);
      // Deepest nodes (half − 1 … nodes − 1): each chooses between its two leaves.
      for (let k = 0; k < half; k++) {
        const node = half - 1 + k;
        const c = f32x4.le(v128.load(rel + <usize>load<u32>(offs + (<usize>node << 2))), v128.load32_splat(ths + (<usize>node << 2)));
        const l = leaves + (<usize>k << 3);
        v128.store(scratch + (<usize>k << 4), v128.bitselect(v128.load32_splat(l), v128.load32_splat(l + 4), c));
      }
      // Each level above: node first + k chooses between its children's choices (scratch 2k, 2k + 1).
      for (let width = half >> 1; width >= 1; width >>= 1) {
        const first = width - 1;
        for (let k = 0; k < width; k++) {
          const node = first + k;
          const c = f32x4.le(v128.load(rel + <usize>load<u32>(offs + (<usize>node << 2))), v128.load32_splat(ths + (<usize>node << 2)));
          const s = scratch + (<usize>k << 5);
          v128.store(scratch + (<usize>k << 4), v128.bitselect(v128.load(s), v128.load(s + 16), c));
        }
      }
      v128.store(a, f32x4.add(v128.load(a), v128.load(scratch)));
    }
  }
}

/**
 * Gathers one block's features: for each of `n` (plane, row) pairs at `pairs` (u32 byte address of
 * a feature plane, u32 byte offset of its row in the block), row[j] = plane[at[j]] for j < m. A copy
 * of the f32 bits (the trees only compare them).
 */
export function gather(pairs: usize, n: i32, at: usize, m: i32, block: usize): void {
  for (let u = 0; u < n; u++) {
    const plane = <usize>load<u32>(pairs + (<usize>u << 3));
    const row = block + <usize>load<u32>(pairs + (<usize>u << 3), 4);
    for (let j = 0; j < m; j++) {
      store<u32>(row + (<usize>j << 2), load<u32>(plane + (<usize>load<u32>(at + (<usize>j << 2)) << 2)));
    }
  }
}
