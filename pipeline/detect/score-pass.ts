/**
 * The per-pixel pass of scorePixels (score.ts) in WebAssembly (assembly/score-pass.ts, built into
 * score-pass.wasm by `npm run build`): bit for bit score.ts scoreRows, which stays as the reference
 * it is tested against (score-pass.test.ts).
 *
 * The kernel reads its inputs from its own memory, a row at a time: runPass copies each before and
 * after row into a ring of 2R + 1 rows (the neighbourhood the range distance and the tolerant gate
 * read) once per strip; the outputs (raw score, plain difference, type, the learned
 * base planes) are written in place, so they must be views of the same memory (the score scratch's
 * for the unsupervised score, the feature scratch's for the learned one).
 *
 * At radius > 1 (grids finer than ~6.7 m) the region also holds window rows: each band's min / max
 * over every pixel's (2R + 1)² valid neighbours, made once per row in the kernel, which both the
 * range distance and the tolerant gate read four pixels at a time.
 *
 * With LearnedParams.gateShift > 0 (and a plain plane) the kernel also rewrites each row's plain
 * difference with the misregistration-tolerant one (shift-gate.ts tolerateShift, bit for bit,
 * which stays the JS pass's post-pass and the reference): the rings it reads are the pass's own.
 */
import { wasmInstanceOn } from './wasm-module.js';

interface Exports {
  scoreRow(p: number, row: number): void;
  log1p(x: number): number;
  log1pPair(a: number, b: number, lane: number): number;
}

/**
 * Radius of the before-range neighbourhood, pixels: 10 m of ground (the 3×3 range of a 10 m grid,
 * 5×5 at 5 m), at least 1 px. On a finer grid a 3×3 range spans too little ground to hold the
 * texture a roof edge or a field border sweeps through when the epochs are a little off.
 */
export function rangeRadius(pixelSizeM = 10): number {
  return Math.max(1, Math.round(10 / pixelSizeM));
}

/** Band slots of the kernel: blue, green, red, nir, swir1, swir2. */
const SLOTS = 6;
/** Planes the learned path writes (change-features.ts BASE_PLANES). */
const PLANES = 18;
/** Parameter block: 24 f64 slots, then I_PLANE_MASK + 1 i32 slots (assembly/score-pass.ts lays them out). */
const I_AT = 8 * 24;
const PARAMS_BYTES = 512;
const HAS_S1 = 1, HAS_S2 = 2, USE_RANGE = 4, HAS_PLAIN = 8, LEARNED = 16, GATE_SHIFT = 32, BOTH_WAYS = 64;
/** i32 slots of the after rows' ring (assembly/score-pass.ts I_AFTER_RING, I_AFTER_VALID_RING). */
const I_AFTER_RING = 34, I_AFTER_VALID_RING = 35;

/** The kernel's region of a memory: its parameters, the input rows' ring, the after row. */
export interface PassRegion {
  memory: WebAssembly.Memory;
  /** Width of the rows it holds. */
  width: number;
  /** Largest range radius its ring holds (rangeRadius of the pixel size it was made for). */
  maxR: number;
  run: Exports['scoreRow'];
  log1p: Exports['log1p'];
  /** The pass's two-lane log1p on the pair (a, b), lane 0 or 1 (for the identity test). */
  log1pPair: Exports['log1pPair'];
  params: number;
  f64: Float64Array;
  i32: Int32Array;
  ringRows: number;
  /** ring[slot · ringRows + q mod ringRows]: before band `slot` at row q. */
  ring: Float32Array[];
  ringValid: Uint8Array[];
  /** afterRing[(q mod ringRows) · SLOTS + slot]: after band `slot` at row q (a row's slots are adjacent). */
  afterRing: Float32Array[];
  afterValidRing: Uint8Array[];
  /** Byte addresses of the after ring and its validity rows. */
  afterAt: number;
  afterValidAt: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;
/** i32 slots of the window rows (assembly/score-pass.ts I_WIN, I_VTMP, I_VTB, I_MEMO). */
const I_WIN = 36, I_VTMP = 37, I_VTB = 38, I_MEMO = 39;
/** i32 slot of the mask of base planes written (assembly/score-pass.ts I_PLANE_MASK). */
const I_PLANE_MASK = 40;
/** i32 slot of the after epoch's row of valid neighbourhoods (assembly/score-pass.ts I_OK_AFTER). */
const I_OK_AFTER = 41;
/** Bytes of one window row (assembly/score-pass.ts winRowBytes). */
const winRowBytes = (width: number) => align((width + 4) * 4, 64);
/** Bytes of one padded row of the columns' min / max, radius up to `maxR`. */
const columnRowBytes = (width: number, maxR: number) => align((width + 2 * maxR + 8) * 4, 64);
/** Bytes of one row of window bookkeeping (assembly/score-pass.ts memoRowBytes). */
const memoRowBytes = (width: number) => align(width + 16, 64);

/**
 * Bytes of the window rows a region of radius `maxR` > 1 holds (none at 1, the 3×3 paths): the
 * min and max of each band slot of both epochs over the (2R + 1)² neighbourhood of the scored row,
 * the padded rows of the columns' min / max they are made from, and which groups are made
 * (assembly/score-pass.ts windowGroup).
 */
function windowBytes(width: number, maxR: number): number {
  return maxR > 1 ? 4 * SLOTS * winRowBytes(width) + 4 * SLOTS * columnRowBytes(width, maxR) + 4 * memoRowBytes(width) : 0;
}

/** Bytes a pass region for rows `width` wide and range radii up to `maxR` takes. */
export function passRegionBytes(width: number, maxR: number): number {
  const ringRows = 2 * maxR + 1;
  return PARAMS_BYTES + align(ringRows * ringRows * 4, 64) + align(SLOTS * 2 * ringRows * width * 4, 64) + align(2 * ringRows * width, 64)
    + 2 * align(width + 16, 64) + windowBytes(width, maxR);
}

/** The pass kernel over bytes [at, at + passRegionBytes(width, maxR)) of `memory` (at: 64-byte aligned). */
export function createPassRegion(memory: WebAssembly.Memory, at: number, width: number, maxR: number): PassRegion {
  if (at % 64 !== 0) throw new Error(`createPassRegion: region at ${at} is not 64-byte aligned`);
  if (at + passRegionBytes(width, maxR) > memory.buffer.byteLength) throw new Error(`createPassRegion: a ${width}-wide region of radius ${maxR} does not fit the memory`);
  const ex = wasmInstanceOn<Exports>('score-pass', memory);
  const ringRows = 2 * maxR + 1;
  const buf = memory.buffer;
  const params = at;
  const nbrAt = params + PARAMS_BYTES;
  const ringAt = nbrAt + align(ringRows * ringRows * 4, 64);
  const afterAt = ringAt + SLOTS * ringRows * width * 4;
  const validAt = ringAt + align(SLOTS * 2 * ringRows * width * 4, 64);
  const afterValidAt = validAt + width * ringRows;
  const f32Row = (k: number) => new Float32Array(buf, ringAt + 4 * width * k, width);
  const ring = Array.from({ length: SLOTS * ringRows }, (_, k) => f32Row(k));
  const afterRing = Array.from({ length: SLOTS * ringRows }, (_, k) => f32Row(SLOTS * ringRows + k));
  const ringValid = Array.from({ length: ringRows }, (_, k) => new Uint8Array(buf, validAt + width * k, width));
  const afterValidRing = Array.from({ length: ringRows }, (_, k) => new Uint8Array(buf, afterValidAt + width * k, width));
  // The 3×3 fast path's row of whether each pixel's 8 neighbours are valid.
  const okAt = validAt + align(2 * ringRows * width, 64);
  const okAfterAt = okAt + align(width + 16, 64);
  const i32 = new Int32Array(buf, params + I_AT, I_OK_AFTER + 1);
  i32[I_OK_AFTER] = okAfterAt;
  if (maxR > 1) {
    const winAt = okAfterAt + align(width + 16, 64);
    i32[I_WIN] = winAt;
    i32[I_VTMP] = winAt + 4 * SLOTS * winRowBytes(width);
    i32[I_VTB] = columnRowBytes(width, maxR);
    i32[I_MEMO] = i32[I_VTMP] + 4 * SLOTS * columnRowBytes(width, maxR);
  }
  i32[5] = ringRows;
  i32[6] = ringAt;
  i32[7] = validAt;
  i32[13] = nbrAt;
  i32[15 + PLANES] = okAt;
  i32[I_AFTER_RING] = afterAt;
  i32[I_AFTER_VALID_RING] = afterValidAt;
  return { memory, width, maxR, run: ex.scoreRow, log1p: ex.log1p, log1pPair: ex.log1pPair, params, f64: new Float64Array(buf, params, 24), i32, ringRows, ring, ringValid, afterRing, afterValidRing, afterAt, afterValidAt };
}

/** One strip's inputs and outputs (score.ts's JS reference pass takes the same, plus its row ranges). */
export interface PassJob {
  width: number;
  height: number;
  /** Rows [r0, r1) of the halo'd strip are scored. */
  r0: number;
  r1: number;
  /** Bands compared (4–6): the RMS divides by it. */
  nb: number;
  /** 1 / reflectance scale. */
  inv: number;
  useRange: boolean;
  ndviVegetated: number;
  vegetatedBothWeight: number;
  v0: Uint8Array;
  v1: Uint8Array;
  /** Before (…0) and after (…1) bands; swir1/swir2 stand in as blue where hasS1/hasS2 is false and are never read then. */
  b0: Float32Array; g0: Float32Array; red0: Float32Array; n0: Float32Array; s10: Float32Array; s20: Float32Array;
  b1: Float32Array; g1: Float32Array; red1: Float32Array; n1: Float32Array; s11: Float32Array; s21: Float32Array;
  hasS1: boolean;
  hasS2: boolean;
  /** Radius of the before-range neighbourhood (rangeRadius: 1 on a 10 m grid, the 3×3 fast path). */
  rangeR: number;
  /** Slots blue, green, red, nir, swir1, swir2. */
  gain: Float64Array;
  off: Float64Array;
  isig: Float64Array;
  raw: Float32Array;
  plain: Float32Array | null;
  type: Uint8Array;
  planes: Float32Array[] | null;
  /**
   * Which of `planes` to write (bit k: BASE_PLANES[k]; absent: all): the ones the model reads
   * (LearnedScoring.use). The WebAssembly pass leaves the others as they were; the JS pass writes all.
   */
  planeMask?: number;
  /**
   * The misregistration-tolerant gate's δ (LearnedParams.gateShift, in [0, 1]; 0 or absent: off)
   * and whether it measures both ways: the WebAssembly pass rewrites `plain` with it (the JS pass
   * leaves that to shift-gate.ts tolerateShift).
   */
  gateShift?: number;
  gateBothWays?: boolean;
}

/** Byte address of `a` in the region's memory; throws when it lives elsewhere. */
function addressOf(pr: PassRegion, a: Float32Array | Uint8Array, what: string): number {
  if (a.buffer !== pr.memory.buffer) throw new Error(`scorePixels: the ${what} plane is not in the pass kernel's memory (make it with createScoreScratch / createFeatureScratch)`);
  return a.byteOffset;
}

/** scoreRows of score.ts, in WebAssembly: the same outputs, bit for bit. */
export function runPass(pr: PassRegion, job: PassJob): void {
  const { width, height, r0, r1, rangeR, hasS1, hasS2, useRange } = job;
  if (width !== pr.width) throw new Error(`scorePixels: a ${width}-wide strip, the pass kernel holds ${pr.width}-wide rows`);
  const shift = job.gateShift ?? 0;
  if (!(shift >= 0 && shift <= 1)) throw new Error(`tolerateShift: shift must be in [0, 1], got ${shift}`);
  const gate = job.plain !== null && shift > 0;
  if ((useRange || gate) && rangeR > pr.maxR) throw new Error(`scorePixels: range radius ${rangeR} px, the pass kernel was made for ${pr.maxR} (createFeatureScratch's pixelSizeM)`);
  const { f64, i32 } = pr;
  for (let s = 0; s < SLOTS; s++) {
    f64[s] = job.gain[s];
    f64[6 + s] = job.off[s];
    f64[12 + s] = job.isig[s];
  }
  f64[18] = job.inv;
  f64[19] = job.ndviVegetated;
  f64[20] = job.vegetatedBothWeight;
  f64[21] = shift;
  const learned = job.planes !== null;
  i32[0] = width;
  i32[1] = height;
  i32[2] = job.nb;
  i32[3] = (hasS1 ? HAS_S1 : 0) | (hasS2 ? HAS_S2 : 0) | (useRange ? USE_RANGE : 0) | (job.plain ? HAS_PLAIN : 0) | (learned ? LEARNED : 0)
    | (gate ? GATE_SHIFT : 0) | (gate && job.gateBothWays ? BOTH_WAYS : 0);
  i32[4] = rangeR;
  i32[10] = addressOf(pr, job.raw, 'raw score');
  i32[11] = job.plain ? addressOf(pr, job.plain, 'plain difference') : 0;
  i32[12] = addressOf(pr, job.type, 'type');
  for (let k = 0; k < PLANES; k++) i32[14 + k] = learned ? addressOf(pr, job.planes![k], 'feature') : 0;
  i32[I_PLANE_MASK] = learned ? (job.planeMask ?? (1 << PLANES) - 1) : 0;
  const before = [job.b0, job.g0, job.red0, job.n0, hasS1 ? job.s10 : null, hasS2 ? job.s20 : null];
  const afterBands = [job.b1, job.g1, job.red1, job.n1, hasS1 ? job.s11 : null, hasS2 ? job.s21 : null];
  const { ring, ringValid, afterRing, afterValidRing, ringRows } = pr;
  // Rows the range and the tolerant gate read around a row (none without either).
  const R = useRange || gate ? rangeR : 0;
  const rowBytes = 4 * width;
  let last = -1;
  for (let row = r0; row < r1; row++) {
    const need = Math.min(height - 1, row + R);
    for (let q = Math.max(last + 1, row - R, 0); q <= need; q++) {
      const s = q % ringRows, a = q * width, b = a + width;
      for (let k = 0; k < SLOTS; k++) {
        const band = before[k];
        if (band) ring[k * ringRows + s].set(band.subarray(a, b));
      }
      ringValid[s].set(job.v0.subarray(a, b));
      for (let k = 0; k < SLOTS; k++) {
        const band = afterBands[k];
        if (band) afterRing[s * SLOTS + k].set(band.subarray(a, b));
      }
      afterValidRing[s].set(job.v1.subarray(a, b));
    }
    last = need;
    const cur = row % ringRows;
    i32[8] = pr.afterAt + cur * SLOTS * rowBytes;
    i32[9] = pr.afterValidAt + cur * width;
    pr.run(pr.params, row);
  }
}
