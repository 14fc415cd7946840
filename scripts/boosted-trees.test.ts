import { describe, expect, it } from 'vitest';
import { fitBoostedTrees, hash01, type BoostOptions } from './boosted-trees.js';

const OPTIONS: BoostOptions = { trees: 5, bins: 16, depth: 3, shrink: 0.3, leafL2: 1, minLeafHess: 1, rowSample: 0.8, seed: 11, quantileRows: Infinity, bias: 0 };

/** One informative feature (change when > 0.6) and one constant one. */
function separable(n: number): { x: Float32Array; y: Uint8Array; n: number; F: number } {
  const x = new Float32Array(n * 2), y = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    x[j * 2] = j / n;
    x[j * 2 + 1] = 5;
    y[j] = j / n > 0.6 ? 1 : 0;
  }
  return { x, y, n, F: 2 };
}

describe('hash01', () => {
  it('is deterministic and spreads over [0, 1)', () => {
    const v = Array.from({ length: 10_000 }, (_, i) => hash01(7919, i));
    expect(v.every((u) => u >= 0 && u < 1)).toBe(true);
    expect(hash01(7919, 123)).toBe(v[123]);
    expect(hash01(7920, 123)).not.toBe(v[123]);
    expect(v.filter((u) => u < 0.5).length / v.length).toBeCloseTo(0.5, 1);
  });
});

describe('fitBoostedTrees', () => {
  it('lays out complete trees and splits the informative feature at the class boundary', () => {
    const m = fitBoostedTrees(separable(400), OPTIONS);
    expect(m.treeFeature).toHaveLength(5 * 7);
    expect(m.treeThreshold).toHaveLength(5 * 7);
    expect(m.treeLeaf).toHaveLength(5 * 8);
    // The root of the first tree: feature 0, at the bin edge nearest 0.6.
    expect(m.treeFeature[0]).toBe(0);
    expect(Math.abs(m.treeThreshold[0] - 0.6)).toBeLessThan(1 / 16);
  });

  it('treats absent weights as 1 each, and heavier positives move the leaves up', () => {
    const s = separable(400);
    const plain = fitBoostedTrees(s, OPTIONS);
    expect(fitBoostedTrees({ ...s, weight: new Float64Array(s.n).fill(1) }, OPTIONS)).toEqual(plain);
    const heavy = fitBoostedTrees({ ...s, weight: Float64Array.from(s.y, (y) => (y ? 5 : 1)) }, OPTIONS);
    expect(Math.max(...heavy.treeLeaf.slice(0, 8))).toBeGreaterThan(Math.max(...plain.treeLeaf.slice(0, 8)));
  });

  it('feature sampling: 1 is no sampling; below 1 some trees may not split on the informative feature', () => {
    const s = separable(400);
    const plain = fitBoostedTrees(s, { ...OPTIONS, trees: 20 });
    expect(fitBoostedTrees(s, { ...OPTIONS, trees: 20, featureSample: 1 })).toEqual(plain);
    const sampled = fitBoostedTrees(s, { ...OPTIONS, trees: 20, featureSample: 0.5 });
    expect(fitBoostedTrees(s, { ...OPTIONS, trees: 20, featureSample: 0.5 })).toEqual(sampled);
    // Roots of the trees offered only the constant feature 1 find no split (threshold +∞).
    const roots = Array.from({ length: 20 }, (_, t) => sampled.treeThreshold[t * 7]);
    expect(roots.some((r) => r === 3e38)).toBe(true);
    expect(roots.some((r) => r < 1)).toBe(true);
  });

  it('grows deeper trees: 2^depth − 1 nodes and 2^depth leaves each', () => {
    const m = fitBoostedTrees(separable(400), { ...OPTIONS, depth: 5 });
    expect(m.treeFeature).toHaveLength(5 * 31);
    expect(m.treeLeaf).toHaveLength(5 * 32);
  });

  it('refuses more bins than a byte holds', () => {
    expect(() => fitBoostedTrees(separable(10), { ...OPTIONS, bins: 300 })).toThrow(/bins 300/);
  });
});
