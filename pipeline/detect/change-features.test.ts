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

/**
 * The learned gate as scorePixels ran it in JS before it moved into WebAssembly (box-mean.ts
 * gateSweep): the reference the kernel is held to. Returns the pixels asked.
 */
function gateSweepJs(type: Uint8Array, gateScore: Float32Array, score: Float32Array, n: number, gate: number, rescue: number, threshold: number, allTypes: boolean): number[] {
  const asked: number[] = [];
  const rescuable = (t: number) => {
    const c = t & ~0xc0;
    return allTypes ? c >= 1 && c <= 5 : c === 3 || c === 4 || c === 5;
  };
  for (let i = 0; i < n; i++) {
    const t = type[i];
    if (t >= 254) score[i] = NaN;
    else if (gate <= 0 || gateScore[i] >= gate) asked.push(i);
    else score[i] = rescue > 0 && score[i] >= rescue && rescuable(t) && 0 < threshold ? threshold : 0;
  }
  return asked;
}

describe('the learned gate in WebAssembly (gateSweep)', () => {
  const n = 5000;
  const cases: [string, number, number, number, boolean][] = [
    ['the 4-band model\'s settings', 1.5, 5, 0.37, true],
    ['rescue of vegetation loss and water only', 1.5, 8, 0.61, false],
    ['no gate (every observed pixel asked)', 0, 5, 0.5, true],
    ['no rescue', 2, 0, 0.5, true],
    ['a threshold that is not an f32 (rounded as a Float32Array store)', 1, 3, 0.1, false],
    ['a threshold of 0 (nothing to rescue to)', 1, 3, 0, true],
  ];
  for (const [name, gate, rescue, threshold, allTypes] of cases) {
    it(`asks the same pixels and writes the same score bits as the JS: ${name}`, () => {
      const rand = mulberry32(Math.round(gate * 100 + rescue * 10 + threshold * 1000) + (allTypes ? 1 : 0));
      const sc = createFeatureScratch(100, 50);
      const type = sc.type.subarray(0, n), gateScore = sc.plain.subarray(0, n), score = sc.score.subarray(0, n);
      for (let i = 0; i < n; i++) {
        const u = rand();
        // Every code with its flags, hidden ones often; evidence around the gate, NaN and ±0 included.
        type[i] = u < 0.1 ? (rand() < 0.5 ? 254 : 255) : (Math.floor(rand() * 7) | (rand() < 0.3 ? 0x40 : 0) | (rand() < 0.3 ? 0x80 : 0));
        const v = rand();
        gateScore[i] = v < 0.05 ? NaN : v < 0.1 ? (rand() < 0.5 ? 0 : -0) : v < 0.15 ? gate : rand() * 2 * (gate || 1);
        const w = rand();
        score[i] = w < 0.05 ? NaN : w < 0.1 ? rescue : rand() * 2 * (rescue || 1);
      }
      const want = Float32Array.from(score);
      const wantAsked = gateSweepJs(type, gateScore, want, n, gate, rescue, threshold, allTypes);
      const got = sc.kernel.gateSweep(type.byteOffset, gateScore.byteOffset, score.byteOffset, n, gate, rescue, threshold, allTypes ? 1 : 0, sc.asked.byteOffset);
      expect(got).toBe(wantAsked.length);
      expect([...sc.asked.subarray(0, got)]).toEqual(wantAsked);
      expect(bytes(score)).toEqual(bytes(want));
      // Each outcome occurs, so each branch was compared.
      expect(wantAsked.length).toBeGreaterThan(0);
      expect(want.some((v) => Number.isNaN(v))).toBe(true);
      if (gate > 0 && rescue > 0 && threshold > 0) expect(want.some((v, i) => v === Math.fround(threshold) && !wantAsked.includes(i))).toBe(true);
    });
  }
});
