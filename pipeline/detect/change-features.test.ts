import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../fixtures/scene-math.js';
import { boxMeanRows, createBoxMeanScratch } from './box-mean.js';
import { BASE, BASE_PLANES, FEATURE_COUNT, FEATURE_NAMES, contextFeatures, createFeaturePlanes, createFeatureScratch, featureRadii } from './change-features.js';

/**
 * Values a base plane can hold, the awkward ones often: NaN (not observed), ±∞ (bad input; an ∞
 * turns the running sums NaN from there on, in both implementations), ±0, ties.
 */
function fill(p: Float32Array, rand: () => number, inf: boolean): void {
  for (let i = 0; i < p.length; i++) {
    const u = rand();
    p[i] = u < 0.1 ? NaN : inf && u < 0.102 ? (rand() < 0.5 ? Infinity : -Infinity) : u < 0.12 ? (rand() < 0.5 ? 0 : -0) : u < 0.2 ? 0.25 : (rand() - 0.5) * 1e3 * rand();
  }
}

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('learned features', () => {
  // The box means run in WebAssembly (assembly/box-mean.ts); box-mean.ts is the JS they must match
  // bit for bit, NaN payloads and zero signs included, at any width (odd: the SIMD tail) and radius.
  for (const [width, height, first, count, pixelSizeM] of [[37, 40, 6, 28, 10], [64, 30, 0, 24, 10], [53, 60, 12, 36, 5], [9, 20, 3, 17, 10]] as const) {
    it(`box means are the JS boxMeanRows' bits: ${width}×${height}, rows ${first}+${count}, ${pixelSizeM} m`, () => {
      const rand = mulberry32(width * 1000 + height);
      const sc = createFeatureScratch(width, height, pixelSizeM);
      sc.base.forEach((p, k) => fill(p.subarray(0, width * height), rand, k === BASE.dBlue || k === BASE.dNdvi));
      const radii = featureRadii(pixelSizeM);
      // One set of planes made by createFeaturePlanes (written in place), one of the caller's own (through tmp).
      for (const out of [createFeaturePlanes(sc, width, count), Array.from({ length: FEATURE_COUNT }, () => new Float32Array(width * count))]) {
        contextFeatures(sc, width, height, first, count, out, radii);
        const js = createBoxMeanScratch(width, width * height);
        const expect1 = (name: string, plane: (typeof BASE_PLANES)[number], r: number) => {
          const want = new Float32Array(width * count);
          boxMeanRows(sc.base[BASE[plane]], width, height, r, first, count, js, want);
          expect(bytes(out[FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number])]), name).toEqual(bytes(want));
        };
        expect1('lr_b1', 'lr', radii.texture);
        expect1('lr_b3', 'lr', radii.mid);
        expect1('lr_b6', 'lr', radii.far);
        expect1('dSwir1_b2', 'dSwir1', radii.near);
        expect1('dBlue_b2', 'dBlue', radii.near);
        expect1('dNdvi_b3', 'dNdvi', radii.mid);
        expect1('dRed', 'dRed', 0);
        // The test compares something: the texture box is not all NaN.
        expect(out[FEATURE_NAMES.indexOf('lr_b1')].some((v) => Number.isFinite(v))).toBe(true);
      }
    });
  }

  it('refuses feature windows wider than the scratch was made for', () => {
    const sc = createFeatureScratch(20, 60, 10);
    const out = createFeaturePlanes(sc, 20, 30);
    expect(() => contextFeatures(sc, 20, 60, 15, 30, out, featureRadii(5))).toThrow(/pixel size/);
  });
});
