import { describe, expect, it } from 'vitest';
import type { BandName, Raster } from '../../geo/raster.js';
import { mulberry32 } from '../../fixtures/scene-math.js';
import { DEFAULT_DETECTOR_PARAMS, type DetectorParams } from './detector-params.js';
import type { NormFit } from './normalise.js';
import { createScoreScratch, scorePixels, type LearnedScoring, type ScoreScratch } from './score.js';
import { BASE_PLANES, FEATURE_COUNT, createFeaturePlanes, createFeatureScratch } from './change-features.js';
import { foldModel, shippedChangeModel, shippedChangeModel4Band } from './change-model.js';

/**
 * The WebAssembly pass (assembly/score-pass.ts) against the JS pass it replaces (score.ts
 * scoreRows, run with ScoreScratch.referencePass): every output bit the same (raw score, plain
 * difference, type codes, the 18 learned base planes, and the scores, types and feature planes
 * scorePixels makes from them; a NaN only as a NaN: ECMAScript leaves the bits of a NaN stored
 * into a Float32Array to the engine, and V8's JS reference gives 0x7fc00000 or 0xffc00000 by tier,
 * which failed this test once in a fresh-clone CI run of stop 25), on random planes built to reach every
 * branch: nodata, NaN and ±∞ at valid pixels, ±0 and subnormals, clouds, shadows, water,
 * vegetation, brightening and darkening, odd widths, 4 and 6 bands, both detectors.
 */

const SCALE = 10_000;

/**
 * One random value of a band: mostly land-like reflectances, some special ones (NaN and ±∞ only
 * with `nonFinite`: the WebAssembly pass scores a pixel with one in its scalar code, the rest two at a time).
 */
function value(rand: () => number, kind: number, nonFinite = true): number {
  const u = rand();
  if (u < 0.004) return nonFinite ? NaN : 1e-40;
  if (u < 0.006) return nonFinite ? Infinity : 3e38;
  if (u < 0.008) return nonFinite ? -Infinity : -1e-30;
  if (u < 0.012) return -0;
  if (u < 0.016) return 0;
  if (u < 0.018) return 1e-42; // f32 subnormal
  if (u < 0.02) return -3;
  // kind: 0 land, 1 cloud (bright white), 2 shadow (dark), 3 water, 4 vegetation.
  const r = rand();
  switch (kind) {
    case 1: return 3500 + 4000 * r;
    case 2: return 30 + 400 * r;
    case 3: return 200 + 800 * r;
    case 4: return 300 + 5000 * r;
    default: return 500 + 3000 * r;
  }
}

/** A width × height raster of `bands`: patches of one kind, per-pixel noise, a nodata share. */
function randomRaster(rand: () => number, width: number, height: number, bands: readonly BandName[], nodata: number, nonFinite = true): Raster {
  const n = width * height;
  const kind = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    // Patches 4 px wide (neighbours share a kind) so the range distance sees both flat and edgy ground.
    const pr = Math.floor(i / width / 4), pc = Math.floor((i % width) / 4);
    kind[i] = Math.floor(mulberry32(pr * 7919 + pc)() * 5);
    if (rand() < 0.1) kind[i] = Math.floor(rand() * 5);
  }
  const out: Partial<Record<BandName, Float32Array>> = {};
  for (const b of bands) {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = value(rand, kind[i], nonFinite);
    out[b] = a;
  }
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) valid[i] = rand() < nodata ? 0 : rand() < 0.5 ? 1 : 7; // any non-zero byte is valid
  return { width, height, crs: 'EPSG:32650', transform: [500_000, 10, 0, 4_060_000, 0, -10], bands: out, valid };
}

/** `after` = a gain/offset of `before` plus noise, with some pixels changed outright (new kinds). */
function afterOf(rand: () => number, before: Raster, nonFinite = true): Raster {
  const bands: Partial<Record<BandName, Float32Array>> = {};
  const n = before.width * before.height;
  const changed = new Uint8Array(n);
  for (let i = 0; i < n; i++) changed[i] = rand() < 0.3 ? 1 + Math.floor(rand() * 4) : 0;
  for (const [b, a] of Object.entries(before.bands) as [BandName, Float32Array][]) {
    const o = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (changed[i] === 1) o[i] = a[i] + 300 + 200 * rand(); // brightening (haze)
      else if (changed[i] === 2) o[i] = a[i] * (0.4 + 0.5 * rand()); // darkening (shadow)
      else if (changed[i] === 3) o[i] = value(rand, Math.floor(rand() * 5), nonFinite);
      else o[i] = 1.02 * a[i] + 15 + 40 * (rand() - 0.5);
    }
    bands[b] = o;
  }
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) valid[i] = rand() < 0.03 ? 0 : 1;
  return { ...before, bands, valid };
}

const FOUR: readonly BandName[] = ['blue', 'green', 'red', 'nir'];
const SIX: readonly BandName[] = [...FOUR, 'swir1', 'swir2'];

function fitOf(bands: readonly BandName[]): NormFit {
  const f: NormFit = { bands: {}, reflectanceScale: SCALE, samplePixels: 0, invariantPixels: 0 };
  bands.forEach((b, k) => { f.bands[b] = { gain: 0.97 + 0.013 * k, offset: -11.5 + 3 * k, sigma: 41 + 7.25 * k }; });
  return f;
}

const bits = (a: Float32Array | Uint8Array, n: number) => (a instanceof Float32Array ? new Uint32Array(a.buffer, a.byteOffset, n) : a.subarray(0, n));

/** Index and values of the first difference of two planes' bits (two NaNs are the same), or null. */
function firstDiff(a: Float32Array | Uint8Array, b: Float32Array | Uint8Array, n: number): string | null {
  const x = bits(a, n), y = bits(b, n);
  for (let i = 0; i < n; i++) {
    if (x[i] === y[i] || (a[i] !== a[i] && b[i] !== b[i])) continue;
    return `pixel ${i}: ${a[i]} (0x${x[i].toString(16)}) vs ${b[i]} (0x${y[i].toString(16)})`;
  }
  return null;
}

interface Case {
  width: number;
  height: number;
  bands: readonly BandName[];
  learned: boolean;
  params: Pick<DetectorParams, 'score' | 'learned'>;
  /** Output rows (the rest are halo). */
  first: number;
  count: number;
  /** NaN and ±∞ among the values (default true). */
  nonFinite?: boolean;
  /** Gain of every band's fit × this (default 1): a negative gain reaches the gate's scan for g ≤ 0. */
  gainSign?: number;
  /** Share of nodata pixels in the before epoch (default 0.05). */
  nodata?: number;
  /** Values rounded to multiples of this (default none): ties among a neighbourhood's values. */
  quantum?: number;
}

function learnedScoring(width: number, height: number, pixelSizeM: number, fourBand: boolean): LearnedScoring {
  const m = fourBand ? shippedChangeModel4Band() : shippedChangeModel();
  const scratch = createFeatureScratch(width, height, pixelSizeM);
  return { folded: foldModel(m), threshold: m.threshold, scratch, features: createFeaturePlanes(scratch, width, height) };
}

/** Runs one case through both passes and returns the differences found (plane: first difference). */
function compare(seed: number, c: Case): string[] {
  const rand = mulberry32(seed);
  const before = randomRaster(rand, c.width, c.height, c.bands, c.nodata ?? 0.05, c.nonFinite ?? true);
  const after = afterOf(rand, before, c.nonFinite ?? true);
  if (c.quantum) for (const r of [before, after]) for (const a of Object.values(r.bands)) for (let i = 0; i < a!.length; i++) a![i] = Math.round(a![i] / c.quantum) * c.quantum;
  const fit = fitOf(c.bands);
  if (c.gainSign !== undefined) for (const b of c.bands) fit.bands[b]!.gain *= c.gainSign;
  const px = c.params.score.pixelSizeM;
  const run = (reference: boolean) => {
    const sc: ScoreScratch = createScoreScratch(c.width, c.height, px);
    sc.referencePass = reference;
    const learned = c.learned ? learnedScoring(c.width, c.height, px, c.bands.length === 4) : undefined;
    const out = { score: new Float32Array(c.width * c.count), type: new Uint8Array(c.width * c.count) };
    scorePixels(before, after, fit, c.params, out, { first: c.first, count: c.count }, sc, learned);
    const planes: Record<string, Float32Array | Uint8Array> = { score: out.score, outType: out.type };
    if (learned) {
      planes.raw = learned.scratch.raw;
      planes.plain = learned.scratch.plain;
      planes.type = learned.scratch.type;
      BASE_PLANES.forEach((p, k) => { planes[p] = learned.scratch.base[k]; });
      learned.features.forEach((f, k) => { planes[`feature${k}`] = f.slice(); });
    } else {
      planes.raw = sc.raw;
      planes.type = sc.type;
    }
    return planes;
  };
  const js = run(true), wasm = run(false);
  const diffs: string[] = [];
  for (const [name, a] of Object.entries(js)) {
    const n = name.startsWith('feature') || name === 'score' || name === 'outType' ? c.width * c.count : c.width * c.height;
    const d = firstDiff(a, wasm[name], n);
    if (d) diffs.push(`${name}: ${d}`);
  }
  return diffs;
}

const P = DEFAULT_DETECTOR_PARAMS;
const withScore = (s: Partial<DetectorParams['score']>, l: Partial<DetectorParams['learned']> = {}) => ({ score: { ...P.score, ...s }, learned: { ...P.learned, ...l } });

/** The 4-band model's scoring settings (change-model-4band.json "scoring"), the 'auto' path for 4-band tiles. */
const GATE4 = { gateShift: 0.5, gateBothWays: true, gateSmooth: false, rescueSigma: 5 } as const;

/**
 * Cases on a grid of `px` m (range and gate radius r px): the 4-band model's gate with and without
 * NaN / ±∞, ties (values on a coarse quantum), much nodata, strips at the raster's top and bottom
 * and in its middle, rows narrower than a window, widths that leave 1–3 columns past the last four.
 */
function fineGridCases(r: number, px: number): [string, Case][] {
  const at = ` (r ${r}, ${px} m)`;
  const g = (l: Partial<DetectorParams['learned']> = {}, sc: Partial<DetectorParams['score']> = {}) => withScore({ pixelSizeM: px, ...sc }, { ...GATE4, ...l });
  const h = 4 * r + 20;
  return [
    [`learned, 4 bands, the 4-band model's gate${at}`, { width: 61, height: h, bands: FOUR, learned: true, params: g(), first: 2 * r, count: h - 4 * r }],
    [`learned, 4 bands, the 4-band model's gate, finite values only${at}`, { width: 58, height: h, bands: FOUR, learned: true, params: g(), first: 2 * r, count: h - 4 * r, nonFinite: false }],
    [`learned, 4 bands, ties (values on a 50 DN quantum), finite${at}`, { width: 45, height: h, bands: FOUR, learned: true, params: g(), first: r, count: h - 2 * r, nonFinite: false, quantum: 50 }],
    [`learned, 4 bands, 40 % nodata${at}`, { width: 47, height: h, bands: FOUR, learned: true, params: g(), first: r, count: h - 2 * r, nodata: 0.4 }],
    [`learned, 4 bands, strip at the raster's top${at}`, { width: 43, height: h, bands: FOUR, learned: true, params: g({ gateShift: 0.75 }), first: 0, count: h - 2 * r }],
    [`learned, 4 bands, strip at the raster's bottom${at}`, { width: 50, height: h, bands: FOUR, learned: true, params: g(), first: 2 * r, count: h - 2 * r }],
    [`learned, 4 bands, rows narrower than a window${at}`, { width: 2 * r - 1, height: h, bands: FOUR, learned: true, params: g(), first: r, count: h - 2 * r }],
    [`learned, 4 bands, width 4k + 3${at}`, { width: 39, height: h, bands: FOUR, learned: true, params: g(), first: r, count: h - 2 * r, nonFinite: false }],
    [`learned, 4 bands, gate one way, no range difference${at}`, { width: 41, height: h, bands: FOUR, learned: true, params: g({ gateBothWays: false }, { rangeDifference: false }), first: r, count: h - 2 * r }],
    [`learned, 4 bands, gate both ways, negative gains${at}`, { width: 37, height: h, bands: FOUR, learned: true, params: g(), first: r, count: h - 2 * r, gainSign: -1 }],
    [`learned, 6 bands, gate both ways (δ 1)${at}`, { width: 42, height: h, bands: SIX, learned: true, params: g({ gateShift: 1 }), first: r, count: h - 2 * r }],
    [`unsupervised, 6 bands${at}`, { width: 53, height: h, bands: SIX, learned: false, params: withScore({ pixelSizeM: px }), first: r, count: h - 2 * r }],
    [`unsupervised, 4 bands, finite values only${at}`, { width: 46, height: h, bands: FOUR, learned: false, params: withScore({ pixelSizeM: px }), first: 0, count: h, nonFinite: false }],
  ];
}

describe('the WebAssembly per-pixel pass is bit for bit the JS pass', () => {
  const cases: [string, Case][] = [
    ['unsupervised, 4 bands, odd width', { width: 37, height: 29, bands: FOUR, learned: false, params: withScore({}), first: 2, count: 25 }],
    ['unsupervised, 6 bands', { width: 64, height: 40, bands: SIX, learned: false, params: withScore({}), first: 0, count: 40 }],
    ['unsupervised, 4 bands, 5 m grid (5×5 range)', { width: 33, height: 31, bands: FOUR, learned: false, params: withScore({ pixelSizeM: 5 }), first: 3, count: 25 }],
    ['unsupervised, 6 bands, no range difference', { width: 41, height: 23, bands: SIX, learned: false, params: withScore({ rangeDifference: false }), first: 1, count: 21 }],
    ['unsupervised, one column', { width: 1, height: 19, bands: FOUR, learned: false, params: withScore({}), first: 0, count: 19 }],
    ['learned, 6 bands, plain gate', { width: 45, height: 38, bands: SIX, learned: true, params: withScore({}, { gateOn: 'plain' }), first: 7, count: 24 }],
    ['learned, 6 bands, range gate', { width: 52, height: 30, bands: SIX, learned: true, params: withScore({}, { gateOn: 'range' }), first: 7, count: 16 }],
    ['learned, 4 bands (the 4-band model)', { width: 39, height: 34, bands: FOUR, learned: true, params: withScore({}), first: 7, count: 20 }],
    ['learned, 6 bands, 5 m grid', { width: 47, height: 44, bands: SIX, learned: true, params: withScore({ pixelSizeM: 5 }), first: 13, count: 18 }],
    ['unsupervised, 4 bands, finite values only', { width: 71, height: 33, bands: FOUR, learned: false, params: withScore({}), first: 2, count: 29, nonFinite: false }],
    ['unsupervised, 6 bands, finite values only', { width: 66, height: 27, bands: SIX, learned: false, params: withScore({}), first: 0, count: 27, nonFinite: false }],
    ['learned, 6 bands, finite values only', { width: 63, height: 36, bands: SIX, learned: true, params: withScore({}), first: 7, count: 22, nonFinite: false }],
    ['learned, 4 bands, finite values only', { width: 58, height: 35, bands: FOUR, learned: true, params: withScore({}, { gateOn: 'range' }), first: 7, count: 21, nonFinite: false }],
    ['learned, 4 bands, shift-tolerant gate (δ 0.5)', { width: 43, height: 37, bands: FOUR, learned: true, params: withScore({}, { gateShift: 0.5 }), first: 7, count: 23 }],
    ['learned, 6 bands, shift-tolerant gate (δ 1), 5 m grid', { width: 40, height: 41, bands: SIX, learned: true, params: withScore({ pixelSizeM: 5 }, { gateShift: 1 }), first: 13, count: 15 }],
    ['learned, 4 bands, shift-tolerant gate both ways, unsmoothed', { width: 44, height: 36, bands: FOUR, learned: true, params: withScore({}, { gateShift: 0.5, gateBothWays: true, gateSmooth: false }), first: 7, count: 22 }],
    // The 4-band model's own scoring settings (change-model-4band.json "scoring"), the default path for 4-band tiles.
    ['learned, 4 bands, the 4-band model\'s gate (δ 0.5 both ways, own evidence, rescue 5σ)', { width: 61, height: 39, bands: FOUR, learned: true, params: withScore({}, { gateShift: 0.5, gateBothWays: true, gateSmooth: false, rescueSigma: 5 }), first: 7, count: 25 }],
    ['learned, 4 bands, the 4-band model\'s gate, finite values only', { width: 57, height: 34, bands: FOUR, learned: true, params: withScore({}, { gateShift: 0.5, gateBothWays: true, gateSmooth: false, rescueSigma: 5 }), first: 7, count: 20, nonFinite: false }],
    ['learned, 6 bands, gate both ways (δ 1), 5 m grid (5×5 neighbourhoods)', { width: 42, height: 43, bands: SIX, learned: true, params: withScore({ pixelSizeM: 5 }, { gateShift: 1, gateBothWays: true }), first: 13, count: 17 }],
    ['learned, 4 bands, gate both ways without the range difference', { width: 35, height: 31, bands: FOUR, learned: true, params: withScore({ rangeDifference: false }, { gateShift: 0.5, gateBothWays: true, gateSmooth: false }), first: 7, count: 17 }],
    ['learned, 4 bands, gate both ways, negative gains (no monotone shortcut)', { width: 40, height: 33, bands: FOUR, learned: true, params: withScore({}, { gateShift: 0.5, gateBothWays: true, gateSmooth: false }), first: 7, count: 19, gainSign: -1 }],
    ['learned, 4 bands, gate both ways, strip at the raster\'s top (no halo above)', { width: 36, height: 30, bands: FOUR, learned: true, params: withScore({}, { gateShift: 0.75, gateBothWays: true, gateSmooth: false }), first: 0, count: 23 }],
    // Radius > 1 (grids finer than ~6.7 m): the window rows (assembly/score-pass.ts windowRows) feed the
    // range distance and the tolerant gate four pixels at a time; the scan is the reference.
    ...fineGridCases(2, 5),
    ...fineGridCases(5, 2),
    ['learned, 6 bands, unsmoothed range gate', { width: 38, height: 33, bands: SIX, learned: true, params: withScore({}, { gateOn: 'range', gateSmooth: false }), first: 7, count: 19 }],
  ];
  for (const [name, c] of cases) {
    it(`${name}: raw, plain, type, base planes, scores and features identical over 8 seeds`, () => {
      for (let seed = 1; seed <= 8; seed++) expect(compare(seed * 101 + c.width, c), `seed ${seed * 101 + c.width}`).toEqual([]);
    });
  }

  it('the cases above reach the branches they are meant to (clouds hidden, candidates, fringes, NaN outputs, every type)', () => {
    const rand = mulberry32(5);
    const before = randomRaster(rand, 64, 40, SIX, 0.05);
    const after = afterOf(rand, before);
    const sc = createScoreScratch(64, 40);
    const out = { score: new Float32Array(64 * 40), type: new Uint8Array(64 * 40) };
    scorePixels(before, after, fitOf(SIX), P, out, undefined, sc);
    const seen = new Set<number>();
    for (const t of out.type) seen.add(t);
    for (const code of [0, 1, 2, 3, 4, 5, 6, 255]) expect([...seen].some((t) => (t & 0x3f) === code || t === code), `type ${code}`).toBe(true);
    expect([...seen].some((t) => t !== 255 && (t & 0x40) !== 0)).toBe(true);
    expect([...seen].some((t) => t !== 255 && (t & 0x80) !== 0)).toBe(true);
  });
});

describe('log1p in WebAssembly is V8 Math.log1p bit for bit', () => {
  const pass = createScoreScratch(4, 4).pass;
  const f64 = new Float64Array(1), u32 = new Uint32Array(f64.buffer);
  // Bits through Float64Array stores (Object.is would call every NaN the same).
  const got = new Float64Array(2), gotBits = new BigUint64Array(got.buffer);
  const same = (x: number) => {
    got[0] = pass.log1p(x);
    got[1] = Math.log1p(x);
    return gotBits[0] === gotBits[1];
  };
  it('on edge inputs: ±0, subnormals, NaN, ±∞, near −1, the fdlibm thresholds, huge', () => {
    const edges = [NaN, -NaN, 0 / 0, Infinity - Infinity, -2, 0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, NaN, Infinity, -Infinity, -1, -1 + 2 ** -52, -0.9999999, -0.5, -0.2928932188134524, -0.29289321881345254,
      2 ** -29, 2 ** -54, 2 ** -55, 1e-10, 0.41421356237309503, 0.4142135623730951, 1, 2, 2 ** 53, 2 ** 54, 1e300, Number.MAX_VALUE];
    for (const x of edges) expect(same(x), `log1p(${x})`).toBe(true);
    // Every boundary of the high word the routine branches on, and its neighbours.
    for (const hi of [0x3fda827a, 0x3ff00000, 0x3e200000, 0x3c900000, 0xbfd2bec4, 0xbfd2bec3, 0x7ff00000, 0x43400000, 0x3ff6a09e, 0x3fe6a09e]) {
      for (const d of [-1, 0, 1]) for (const lo of [0, 1, 0x80000000, 0xffffffff]) {
        u32[1] = (hi + d) >>> 0; u32[0] = lo;
        expect(same(f64[0]), `log1p(0x${u32[1].toString(16)}${u32[0].toString(16)})`).toBe(true);
      }
    }
  });
  it('on 2 million random inputs over the range the pass feeds it (√(m²/4) ≥ 0) and over every double', () => {
    const rand = mulberry32(99);
    let bad = 0;
    for (let k = 0; k < 1_000_000; k++) {
      // Uniform in exponent: 2^-60 … 2^40, then a few linear ranges near 0 and 1.
      const x = k % 4 === 0 ? rand() * 3 : k % 4 === 1 ? rand() * 1e-6 : 2 ** (rand() * 100 - 60);
      if (!same(x)) bad++;
    }
    for (let k = 0; k < 1_000_000; k++) {
      u32[0] = (rand() * 2 ** 32) >>> 0; u32[1] = (rand() * 2 ** 32) >>> 0;
      if (!same(f64[0])) bad++;
    }
    expect(bad).toBe(0);
  });
  // The pass's two-lane log1p (log1pV): each lane the scalar's bits, whatever the other lane holds
  // (a pair with one lane off its vector branches goes through the scalar routine whole).
  const sameLanes = (a: number, b: number) => {
    got[0] = pass.log1pPair(a, b, 0);
    got[1] = Math.log1p(a);
    if (gotBits[0] !== gotBits[1]) return false;
    got[0] = pass.log1pPair(a, b, 1);
    got[1] = Math.log1p(b);
    return gotBits[0] === gotBits[1];
  };
  it('two lanes at a time: the edge inputs beside each other and beside ordinary values', () => {
    const edges = [NaN, Infinity, -Infinity, -1, -0.5, 0, -0, 5e-324, 2 ** -60, 2 ** -55, 2 ** -54, 2 ** -54 + 2 ** -106, 2 ** -30, 2 ** -29, 2 ** -29 - 2 ** -82, 1e-10, 0.1,
      0.41421356237309503, 0.4142135623730951, 0.41421353816986084, 0.4142135381698609, 1 - 2 ** -53, 1, 1 + 2 ** -52, 2, 3, 2 ** 20, 2 ** 52, 2 ** 53 - 1, 2 ** 53, 1e300, Number.MAX_VALUE];
    for (let hi = 0; hi < 0x400; hi += 7) {
      // u = 1 + x just past each power of two (the |f| < 2^-20 branch) and around √2's mantissa.
      edges.push(2 ** hi - 1, 2 ** hi - 1 + 2 ** (hi - 21), Math.SQRT2 * 2 ** (hi % 40) - 1);
    }
    for (const hi of [0x3fda827a, 0x3e200000, 0x3c900000, 0x43400000, 0x3ff6a09e, 0x3fe6a09e, 0x3ff00000]) {
      for (const d of [-1, 0, 1]) for (const lo of [0, 1, 0x80000000, 0xffffffff]) {
        u32[1] = (hi + d) >>> 0; u32[0] = lo;
        edges.push(f64[0]);
      }
    }
    const plain = [0.7, 3.2, 1e-5, 12];
    for (const a of edges) {
      for (const b of [...plain, a]) {
        expect(sameLanes(a, b), `log1pPair(${a}, ${b})`).toBe(true);
        expect(sameLanes(b, a), `log1pPair(${b}, ${a})`).toBe(true);
      }
    }
  });
  it('two lanes at a time: 2 million random pairs over the range the pass feeds it', () => {
    const rand = mulberry32(7);
    const draw = (k: number) => (k % 4 === 0 ? rand() * 3 : k % 4 === 1 ? rand() * 1e-6 : k % 4 === 2 ? rand() * 40 : 2 ** (rand() * 100 - 60));
    let bad = 0;
    for (let k = 0; k < 1_000_000; k++) if (!sameLanes(draw(k), draw(k >> 2))) bad++;
    expect(bad).toBe(0);
  });
});

describe('learned.gateSmooth', () => {
  /** Flat 4-band ground, one pixel changed by ~30 σ in the after epoch: which pixels ask the trees. */
  function asked(gateSmooth: boolean): number {
    const w = 21, h = 21, n = w * h;
    const flat = () => Object.fromEntries(FOUR.map((b) => [b, new Float32Array(n).fill(1500)])) as Partial<Record<BandName, Float32Array>>;
    const before: Raster = { width: w, height: h, crs: 'EPSG:32650', transform: [500_000, 10, 0, 4_060_000, 0, -10], bands: flat(), valid: new Uint8Array(n).fill(1) };
    const after: Raster = { ...before, bands: flat() };
    for (const b of FOUR) after.bands[b]![10 * w + 10] = 3000;
    const fit: NormFit = { bands: {}, reflectanceScale: SCALE, samplePixels: 0, invariantPixels: 0 };
    for (const b of FOUR) fit.bands[b] = { gain: 1, offset: 0, sigma: 50 };
    const sc = createScoreScratch(w, h);
    sc.kernelMs = {};
    const out = { score: new Float32Array(n), type: new Uint8Array(n) };
    scorePixels(before, after, fit, withScore({}, { gateSmooth }), out, undefined, sc, learnedScoring(w, h, 10, true));
    return sc.kernelMs.askedPx ?? 0;
  }
  it('true (as before): the box mean lends the changed pixel\'s evidence to its 8 neighbours; false: only the pixel itself is asked', () => {
    expect(asked(true)).toBe(9);
    expect(asked(false)).toBe(1);
  });
});
