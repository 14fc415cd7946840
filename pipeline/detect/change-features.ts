/**
 * Per-pixel features of the learned change model, computed strip by strip from the same values
 * scorePixels already derives (normalised difference, 3×3 range distance, indices), so the model
 * adds a few box means and a dot product per pixel, not another pass over the bands.
 *
 * Needs blue, green, red, nir, swir1 and swir2 in both epochs (Sentinel-2, Landsat): swir separates
 * new roofs and concrete from bare soil (NDBI). Magnitudes (`lr`) use the four 10 m bands only, so
 * 20 m swir pixels do not smear small buildings. Reflectances in [0, 1]; differences in σ units.
 */
import type { KernelHost } from './tree-kernel.js';
import { wasmInstance } from './wasm-module.js';
import { createPassRegion, passRegionBytes, rangeRadius, type PassRegion } from './score-pass.js';

/**
 * Planes written per pixel of the halo'd strip (NaN where not observable). `d*` = signed distance
 * of the normalised after band from the 3×3 before range, σ units (plain difference on quiet
 * pixels); `lr` = log1p of its RMS. Only misregistration-robust differences enter the model: the
 * OSCD pairs are well co-registered, so a model fed plain differences learns that shifted edges
 * are change (tried: 0.40 LOCO F1 but 92 % false polygons on the shifted synthetic scene).
 */
export const BASE_PLANES = ['dBlue', 'dGreen', 'dRed', 'dNir', 'dSwir1', 'dSwir2', 'ndbi0', 'ndbi1', 'lr', 'ndvi0', 'ndvi1', 'ndwi0', 'ndwi1', 'br0', 'br1', 'br0sq', 'br1sq', 'dNdvi'] as const;
export type BasePlane = (typeof BASE_PLANES)[number];
export const BASE = Object.fromEntries(BASE_PLANES.map((p, i) => [p, i])) as Record<BasePlane, number>;

/** Feature vector of the model, in order. `_bN` = box mean of radius N. */
export const FEATURE_NAMES = [
  'dBlue', 'dGreen', 'dRed', 'dNir', 'dSwir1', 'dSwir2', 'lr', 'ndvi0', 'ndvi1', 'ndwi0', 'ndwi1', 'ndbi0', 'ndbi1', 'br0', 'br1',
  'lr_b1', 'lr_b3', 'lr_b6', 'dSwir1_b2', 'ndbi1_b2',
  'dBlue_b2', 'dGreen_b2', 'dRed_b2', 'dNir_b2',
  'std0', 'std1', 'stdLogRatio', 'dNdvi_b3',
] as const;
export const FEATURE_COUNT = FEATURE_NAMES.length;

/**
 * The features that read swir (NDBI and the swir differences). A 4-band tile (GF-1/2/6, ZY-3,
 * SuperView, PlanetScope: blue, green, red, nir only) has none of them: scorePixels writes 0 into
 * their base planes there, and the 4-band model never reads them.
 */
export const SWIR_FEATURES: readonly string[] = ['dSwir1', 'dSwir2', 'ndbi0', 'ndbi1', 'dSwir1_b2', 'ndbi1_b2'];

/** Feature vector of the 4-band model, in order: FEATURE_NAMES without the swir features (a model's planes are looked up by name). */
export const FEATURE_NAMES_4BAND: readonly string[] = FEATURE_NAMES.filter((f) => !SWIR_FEATURES.includes(f));

/**
 * The base planes each feature is made from: a plane as is, a box mean of one, or the texture's
 * (brightness and its square, per epoch). What a model reads decides which planes scorePixels'
 * pass writes and which box means contextFeatures takes (featureUse).
 */
const FEATURE_SOURCES: Readonly<Record<(typeof FEATURE_NAMES)[number], readonly BasePlane[]>> = {
  dBlue: ['dBlue'], dGreen: ['dGreen'], dRed: ['dRed'], dNir: ['dNir'], dSwir1: ['dSwir1'], dSwir2: ['dSwir2'], lr: ['lr'],
  ndvi0: ['ndvi0'], ndvi1: ['ndvi1'], ndwi0: ['ndwi0'], ndwi1: ['ndwi1'], ndbi0: ['ndbi0'], ndbi1: ['ndbi1'], br0: ['br0'], br1: ['br1'],
  lr_b1: ['lr'], lr_b3: ['lr'], lr_b6: ['lr'], dSwir1_b2: ['dSwir1'], ndbi1_b2: ['ndbi1'],
  dBlue_b2: ['dBlue'], dGreen_b2: ['dGreen'], dRed_b2: ['dRed'], dNir_b2: ['dNir'],
  std0: ['br0', 'br0sq', 'br1', 'br1sq'], std1: ['br0', 'br0sq', 'br1', 'br1sq'], stdLogRatio: ['br0', 'br0sq', 'br1', 'br1sq'], dNdvi_b3: ['dNdvi'],
};

/**
 * What a model reads, so that scorePixels computes only that (LearnedScoring.use): the features
 * (1 where read, FEATURE_NAMES order) and the base planes they are made from (bit k: BASE_PLANES[k]).
 */
export interface FeatureUse {
  feature: Uint8Array;
  planes: number;
}

/** Every base plane (the pass kernel's mask where the caller reads all features). */
export const ALL_PLANES = (1 << BASE_PLANES.length) - 1;

/** FeatureUse of the features at indices `read` (FEATURE_NAMES order). The three texture features are made together, so any one needs all four texture planes. */
export function featureUse(read: Iterable<number>): FeatureUse {
  const feature = new Uint8Array(FEATURE_COUNT);
  let planes = 0;
  for (const f of read) {
    if (!(f >= 0 && f < FEATURE_COUNT)) throw new Error(`featureUse: feature ${f} outside 0..${FEATURE_COUNT - 1}`);
    feature[f] = 1;
    for (const p of FEATURE_SOURCES[FEATURE_NAMES[f]]) planes |= 1 << BASE[p];
  }
  return { feature, planes };
}

/** Rows of context the features read on each side of an output row (largest box radius) on a 10 m grid; featureRadii(p).context elsewhere. */
export const FEATURE_CONTEXT = 6;

/**
 * Radii of the feature windows in pixels of a grid of `pixelSizeM` metres. The windows are set in
 * metres (texture 10 m, near 20 m, mid 30 m, far 60 m: the 1, 2, 3 and 6 pixels the model was
 * trained with on Sentinel-2's 10 m grid), so a 5 m tile reads the same ground (2, 4, 6, 12 px).
 * The texture window keeps at least 1 px: a standard deviation over one pixel is no texture.
 */
export interface FeatureRadii {
  texture: number;
  near: number;
  mid: number;
  far: number;
  /** Largest of them: rows of context on each side of an output row. */
  context: number;
}

export function featureRadii(pixelSizeM = 10): FeatureRadii {
  const px = (m: number) => Math.round(m / pixelSizeM);
  const r = { texture: Math.max(1, px(10)), near: px(20), mid: px(30), far: px(60) };
  return { ...r, context: Math.max(r.texture, r.near, r.mid, r.far) };
}

const RADII_10M = featureRadii(10);

/** Signed differences are clipped here (σ units): a cloud edge of 200 σ must not dominate a linear model. */
export const D_CLIP = 30;

/** The box-mean kernel (assembly/box-mean.ts) as this module calls it: byte addresses in its memory. */
interface BoxKernel {
  memory: WebAssembly.Memory;
  boxMeanRows(src: number, width: number, height: number, r: number, first: number, count: number, hsum: number, hcnt: number, vsum: number, vcnt: number, out: number): void;
  gateSweep(type: number, gateScore: number, score: number, n: number, gate: number, rescue: number, threshold: number, allTypes: number, asked: number): number;
  range3x3Row(up: number, mid: number, down: number, width: number, lo: number, hi: number): void;
}

/**
 * The 3×3 before-range of scorePixels' fast path, a row at a time (assembly/box-mean.ts range3x3Row):
 * per band slot (blue, green, red, nir, swir1, swir2), a ring of three rows of the before band and
 * the min and max of each pixel's nine values on the current row.
 */
export interface RangeRows {
  /** ring[3·slot + row % 3]: row `row` of that band. */
  ring: Float32Array[];
  lo: Float32Array[];
  hi: Float32Array[];
  /** Last row copied into the ring in this strip (−1: none). */
  last: number;
  kernel: BoxKernel;
}

/**
 * The learned features' working memory. Its planes live in the memory of a WebAssembly instance of
 * their own (made with the scratch, never grown, so the views stay valid), where the box means run
 * (assembly/box-mean.ts: bit for bit ../box-mean.ts boxMeanRows, the vertical pass two columns per
 * step); scorePixels writes the base planes through the views as it would any Float32Array.
 */
export interface FeatureScratch {
  /** Pixels of the halo'd strip the base planes can hold. */
  capacity: number;
  width: number;
  base: Float32Array[];
  /** Output-sized temporaries for the texture features. */
  t0: Float32Array;
  t1: Float32Array;
  /** scorePixels' unsmoothed score and plain difference on the learned path (smoothed here by featureBoxMean). */
  raw: Float32Array;
  plain: Float32Array;
  /** The output rows' smoothed score, then their probabilities (scorePixels' learned gate works on it here, then copies it out). */
  score: Float32Array;
  /** Indices of the output pixels the model is asked about (those the gate lets through). */
  asked: Int32Array;
  /** The features that are planes of their own (createFeaturePlanes hands these out), FEATURE_COUNT − COPIED of them. */
  own: Float32Array[];
  /** Where a box mean into a plane outside this memory is written first. */
  tmp: Float32Array;
  /** Rows of horizontal sums the ring holds: box radii up to (ringRows − 3) / 2 on strips taller than that (assembly/box-mean.ts makes one row ahead). */
  ringRows: number;
  kernel: BoxKernel;
  /** Byte addresses of the ring's sums and counts and of the vertical sums and counts. */
  hsum: number;
  hcnt: number;
  vsum: number;
  vcnt: number;
  range: RangeRows;
  /** The region of this memory the trees work in (predictPlanes' host: features gathered here, from `asked`). */
  trees: KernelHost;
  /** scorePixels' per-pixel type codes on the learned path (beside raw and plain, where the pass kernel writes them). */
  type: Uint8Array;
  /** The per-pixel pass kernel (score-pass.ts) over this memory: it writes raw, plain, type and the base planes in place. */
  pass: PassRegion;
}

/** Bytes for the trees' table, gather pairs and block (tree-kernel.ts): ~40 KB for the shipped models' 120 trees over 28 planes; room for 1,000 trees. */
const TREES_BYTES = 160 * 1024;

/** Band slots of the range rows: blue, green, red, nir, swir1, swir2. */
const RANGE_BANDS = 6;

/**
 * Fills `rr.lo[slot]`/`rr.hi[slot]` with the 3×3 min and max of `bands[slot]` (before bands, width
 * wide, one halo'd strip; null: absent, skipped) around row `row` (0 < row < height − 1), copying
 * the rows it needs into the ring (each row once per strip: rows come in order; `rr.last` = −1 at
 * a strip's start).
 */
export function rangeRow(rr: RangeRows, bands: (Float32Array | null)[], width: number, row: number): void {
  for (let q = Math.max(row - 1, rr.last + 1); q <= row + 1; q++) {
    for (let b = 0; b < RANGE_BANDS; b++) {
      const a = bands[b];
      if (a) rr.ring[3 * b + (q % 3)].set(a.subarray(q * width, (q + 1) * width));
    }
    rr.last = q;
  }
  for (let b = 0; b < RANGE_BANDS; b++) {
    if (!bands[b]) continue;
    const up = rr.ring[3 * b + ((row - 1) % 3)], mid = rr.ring[3 * b + (row % 3)], down = rr.ring[3 * b + ((row + 1) % 3)];
    rr.kernel.range3x3Row(up.byteOffset, mid.byteOffset, down.byteOffset, width, rr.lo[b].byteOffset, rr.hi[b].byteOffset);
  }
}

/** Bytes below which nothing is placed (the module's own, if its compiler ever puts data there). */
const WASM_RESERVED = 65536;

/** The features that are a base plane as is (the first 15), in feature order. */
const COPIED = ['dBlue', 'dGreen', 'dRed', 'dNir', 'dSwir1', 'dSwir2', 'lr', 'ndvi0', 'ndvi1', 'ndwi0', 'ndwi1', 'ndbi0', 'ndbi1', 'br0', 'br1'] as const;

/**
 * Scratch for halo'd strips of up to `rows` rows, `width` wide, on a grid of `pixelSizeM` metres
 * (the feature windows' radii, featureRadii, size the box means' ring).
 */
export function createFeatureScratch(width: number, rows: number, pixelSizeM = 10): FeatureScratch {
  const n = width * rows;
  const ringRows = Math.min(rows, 2 * featureRadii(pixelSizeM).context + 3);
  const nOwn = FEATURE_COUNT - COPIED.length;
  // Layout: base planes, t0, t1, tmp, raw, plain, score, the own feature planes (f32, n each); ring sums and counts, vertical sums and counts (f64).
  // Then the range rows: 6 bands × (3 ring rows + lo + hi), f32, width each.
  const f32Planes = BASE_PLANES.length + 6 + nOwn;
  const f32At = WASM_RESERVED;
  const f64At = f32At + Math.ceil((f32Planes * n * 4) / 16) * 16;
  const rangeAt = f64At + 2 * ringRows * width * 8 + 2 * width * 8;
  // Then `asked` (i32, n) and the trees' region.
  const askedAt = rangeAt + RANGE_BANDS * 5 * width * 4;
  const treesAt = askedAt + Math.ceil((n * 4) / 64) * 64;
  // Then the type codes (u8, n) and the pass kernel's region (its ring of input rows).
  const typeAt = treesAt + TREES_BYTES;
  const passAt = Math.ceil((typeAt + n) / 64) * 64;
  const maxR = rangeRadius(pixelSizeM);
  const end = passAt + passRegionBytes(width, maxR);
  const { exports, memory: mem } = wasmInstance<Omit<BoxKernel, 'memory'>>('box-mean', end);
  const ex: BoxKernel = { memory: mem, boxMeanRows: exports.boxMeanRows, gateSweep: exports.gateSweep, range3x3Row: exports.range3x3Row };
  let k = 0;
  const plane = () => new Float32Array(mem.buffer, f32At + 4 * n * k++, n);
  const base = BASE_PLANES.map(plane);
  const t0 = plane(), t1 = plane(), tmp = plane(), raw = plane(), plain = plane(), score = plane();
  const own = Array.from({ length: nOwn }, plane);
  const hsum = f64At, hcnt = hsum + ringRows * width * 8, vsum = hcnt + ringRows * width * 8, vcnt = vsum + width * 8;
  let r = 0;
  const row = () => new Float32Array(mem.buffer, rangeAt + 4 * width * r++, width);
  const range: RangeRows = { ring: Array.from({ length: 3 * RANGE_BANDS }, row), lo: Array.from({ length: RANGE_BANDS }, row), hi: Array.from({ length: RANGE_BANDS }, row), last: -1, kernel: ex };
  const asked = new Int32Array(mem.buffer, askedAt, n);
  const type = new Uint8Array(mem.buffer, typeAt, n);
  const pass = createPassRegion(mem, passAt, width, maxR);
  return { capacity: n, width, base, t0, t1, raw, plain, score, asked, own, tmp, ringRows, kernel: ex, hsum, hcnt, vsum, vcnt, range, trees: { memory: mem, at: treesAt, bytes: TREES_BYTES }, type, pass };
}

/**
 * Feature planes for contextFeatures over strips of up to `outRows` output rows, in this scratch:
 * the features that are a base plane as is (COPIED) are views of the scratch's base planes, not
 * copies (on a 10980-wide strip of 182 rows, 120 MB not allocated and not written per strip);
 * contextFeatures re-points them at each strip's output rows. The others are the scratch's own
 * planes, where the box means write directly.
 */
export function createFeaturePlanes(sc: FeatureScratch, width: number, outRows: number): Float32Array[] {
  if (width !== sc.width) throw new Error(`createFeaturePlanes: width ${width}, the scratch's is ${sc.width}`);
  // A strip's output rows never exceed its halo'd rows (strip rows asked of a shorter tile: as many as there are).
  const n = Math.min(width * outRows, sc.capacity);
  return FEATURE_NAMES.map((_, k) => (k < COPIED.length ? sc.base[BASE[COPIED[k]]] : sc.own[k - COPIED.length]).subarray(0, n));
}

/**
 * Box mean of radius r over rows [first, first + count) of `src` (a plane of the scratch) into `out`:
 * in place when `out` is in the scratch's memory, else through `tmp`. Bit for bit box-mean.ts boxMeanRows.
 */
export function featureBoxMean(sc: FeatureScratch, src: Float32Array, width: number, height: number, r: number, first: number, count: number, out: Float32Array): void {
  boxMean(sc, src, width, height, r, first, count, out);
}

function boxMean(sc: FeatureScratch, src: Float32Array, width: number, height: number, r: number, first: number, count: number, out: Float32Array): void {
  const nOut = width * count;
  if (r <= 0) {
    out.set(src.subarray(first * width, first * width + nOut));
    return;
  }
  const buf = sc.kernel.memory.buffer;
  if (src.buffer !== buf) throw new Error('contextFeatures: a base plane is not in the feature scratch');
  const inPlace = out.buffer === buf;
  sc.kernel.boxMeanRows(src.byteOffset, width, height, r, first, count, sc.hsum, sc.hcnt, sc.vsum, sc.vcnt, inPlace ? out.byteOffset : sc.tmp.byteOffset);
  if (!inPlace) out.set(sc.tmp.subarray(0, nOut));
}

/**
 * contextFeatures restricted to what a model reads: the features of `use` only, and the texture
 * features only at output pixels at[0..n) (the pixels put to the trees, in increasing order).
 */
export interface FeaturesAt {
  use: FeatureUse;
  at: Int32Array;
  n: number;
}

/**
 * From base planes over rows [first − FEATURE_CONTEXT, first + count + FEATURE_CONTEXT) of a
 * width × height strip, writes the FEATURE_COUNT planes of `out` (each count × width, row 0 =
 * strip row `first`). Invalid pixels come out NaN in the per-pixel features. A plane of `out` that
 * is a view of a base plane (createFeaturePlanes) is re-pointed at the output rows; any other
 * plane is written. With `only`, just the features a model reads, the texture at the asked pixels
 * (FeaturesAt): the planes it leaves are stale, so only a caller that reads no other feature and no
 * other pixel (scorePixels with LearnedScoring.use; never the trainer) passes it.
 */
export function contextFeatures(sc: FeatureScratch, width: number, height: number, first: number, count: number, out: Float32Array[], radii: FeatureRadii = RADII_10M, only?: FeaturesAt): void {
  const nOut = width * count;
  const read = only?.use.feature;
  const base = sc.base;
  const off = first * width;
  const copy = (p: BasePlane, f: number) => {
    const rows = base[BASE[p]].subarray(off, off + nOut);
    if (out[f].buffer === rows.buffer) out[f] = rows;
    else out[f].set(rows);
  };
  if (width !== sc.width || width * height > sc.capacity) throw new Error(`contextFeatures: a ${width}×${height} strip does not fit the feature scratch (${sc.width} wide, ${sc.capacity} px)`);
  if (Math.min(2 * radii.context + 3, height) > sc.ringRows) throw new Error(`contextFeatures: feature radius ${radii.context} px needs a scratch made for that pixel size (createFeatureScratch's pixelSizeM)`);
  // A feature the model does not read (only.use) is not made: its plane keeps what it held.
  const box = (p: BasePlane, r: number, f: number) => {
    if (!read || read[f]) boxMean(sc, base[BASE[p]], width, height, r, first, count, out[f]);
  };
  let f = 0;
  for (const p of COPIED) {
    if (!read || read[f]) copy(p, f);
    f++;
  }
  box('lr', radii.texture, f++);
  box('lr', radii.mid, f++);
  box('lr', radii.far, f++);
  box('dSwir1', radii.near, f++);
  box('ndbi1', radii.near, f++);
  for (const p of ['dBlue', 'dGreen', 'dRed', 'dNir'] as const) box(p, radii.near, f++);
  // Texture: 3×3 std of brightness per epoch and its log ratio (new roofs and roads add edges).
  const fStd0 = f++, fStd1 = f++, fRatio = f++;
  if (!read || read[fStd0] || read[fStd1] || read[fRatio]) {
    const m0 = out[fStd0], m1 = out[fStd1];
    boxMean(sc, base[BASE.br0], width, height, radii.texture, first, count, m0);
    boxMean(sc, base[BASE.br1], width, height, radii.texture, first, count, m1);
    boxMean(sc, base[BASE.br0sq], width, height, radii.texture, first, count, sc.t0);
    boxMean(sc, base[BASE.br1sq], width, height, radii.texture, first, count, sc.t1);
    const ratio = out[fRatio];
    if (only) textureAt(sc.t0, sc.t1, m0, m1, ratio, only.at, only.n);
    else {
      for (let i = 0; i < nOut; i++) {
        const s0 = Math.sqrt(Math.max(0, sc.t0[i] - m0[i] * m0[i]));
        const s1 = Math.sqrt(Math.max(0, sc.t1[i] - m1[i] * m1[i]));
        m0[i] = s0;
        m1[i] = s1;
        ratio[i] = Math.log((s1 + 0.005) / (s0 + 0.005));
      }
    }
  }
  box('dNdvi', radii.mid, f++);
  if (f !== FEATURE_COUNT) throw new Error(`contextFeatures: wrote ${f} of ${FEATURE_COUNT} features`);
}

/**
 * contextFeatures' texture step at output pixels at[0..n) only (the trees read no other pixel): the
 * same operations on the same values, so those pixels hold the same bits as a full pass gives; the
 * other pixels keep the box means of brightness (m0, m1) and whatever `ratio` held.
 */
function textureAt(t0: Float32Array, t1: Float32Array, m0: Float32Array, m1: Float32Array, ratio: Float32Array, at: Int32Array, n: number): void {
  for (let k = 0; k < n; k++) {
    const i = at[k];
    const s0 = Math.sqrt(Math.max(0, t0[i] - m0[i] * m0[i]));
    const s1 = Math.sqrt(Math.max(0, t1[i] - m1[i] * m1[i]));
    m0[i] = s0;
    m1[i] = s1;
    ratio[i] = Math.log((s1 + 0.005) / (s0 + 0.005));
  }
}
