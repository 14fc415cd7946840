/**
 * Per-pixel features of the learned change model, computed strip by strip from the same values
 * scorePixels already derives (normalised difference, 3×3 range distance, indices), so the model
 * adds a few box means and a dot product per pixel, not another pass over the bands.
 *
 * Needs blue, green, red, nir, swir1 and swir2 in both epochs (Sentinel-2, Landsat): swir separates
 * new roofs and concrete from bare soil (NDBI). Magnitudes (`lr`) use the four 10 m bands only, so
 * 20 m swir pixels do not smear small buildings. Reflectances in [0, 1]; differences in σ units.
 */
// A call-time cycle with score.ts (which calls contextFeatures): safe under ESM.
import { boxMeanRows, createBoxMeanScratch, type BoxMeanScratch } from './box-mean.js';

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

export interface FeatureScratch extends BoxMeanScratch {
  /** Pixels of the halo'd strip the base planes can hold. */
  capacity: number;
  base: Float32Array[];
  /** Output-sized temporaries for the texture features. */
  t0: Float32Array;
  t1: Float32Array;
  /** Indices of the output pixels the model is asked about (those the gate lets through). */
  asked: Int32Array;
}

export function createFeatureScratch(width: number, rows: number): FeatureScratch {
  const n = width * rows;
  return {
    ...createBoxMeanScratch(width, n),
    capacity: n,
    base: BASE_PLANES.map(() => new Float32Array(n)),
    t0: new Float32Array(n),
    t1: new Float32Array(n),
    asked: new Int32Array(n),
  };
}

/** The features that are a base plane as is (the first 15), in feature order. */
const COPIED = ['dBlue', 'dGreen', 'dRed', 'dNir', 'dSwir1', 'dSwir2', 'lr', 'ndvi0', 'ndvi1', 'ndwi0', 'ndwi1', 'ndbi0', 'ndbi1', 'br0', 'br1'] as const;

/**
 * Feature planes for contextFeatures over strips of up to `outRows` output rows, in this scratch:
 * the features that are a base plane as is (COPIED) are views of the scratch's base planes, not
 * copies (on a 10980-wide strip of 182 rows, 120 MB not allocated and not written per strip);
 * contextFeatures re-points them at each strip's output rows. The others are planes of their own.
 */
export function createFeaturePlanes(sc: FeatureScratch, width: number, outRows: number): Float32Array[] {
  const n = width * outRows;
  if (n > sc.capacity) throw new Error(`createFeaturePlanes: ${outRows} rows of ${width} exceed the scratch's ${sc.capacity} px`);
  return FEATURE_NAMES.map((_, k) => (k < COPIED.length ? sc.base[BASE[COPIED[k]]].subarray(0, n) : new Float32Array(n)));
}

/**
 * From base planes over rows [first − FEATURE_CONTEXT, first + count + FEATURE_CONTEXT) of a
 * width × height strip, writes the FEATURE_COUNT planes of `out` (each count × width, row 0 =
 * strip row `first`). Invalid pixels come out NaN in the per-pixel features. A plane of `out` that
 * is a view of a base plane (createFeaturePlanes) is re-pointed at the output rows; any other
 * plane is written.
 */
export function contextFeatures(sc: FeatureScratch, width: number, height: number, first: number, count: number, out: Float32Array[], radii: FeatureRadii = RADII_10M): void {
  const nOut = width * count;
  const base = sc.base;
  const off = first * width;
  const copy = (p: BasePlane, f: number) => {
    const rows = base[BASE[p]].subarray(off, off + nOut);
    if (out[f].buffer === rows.buffer) out[f] = rows;
    else out[f].set(rows);
  };
  const box = (p: BasePlane, r: number, f: number) => boxMeanRows(base[BASE[p]], width, height, r, first, count, sc, out[f]);
  let f = 0;
  for (const p of COPIED) copy(p, f++);
  box('lr', radii.texture, f++);
  box('lr', radii.mid, f++);
  box('lr', radii.far, f++);
  box('dSwir1', radii.near, f++);
  box('ndbi1', radii.near, f++);
  for (const p of ['dBlue', 'dGreen', 'dRed', 'dNir'] as const) box(p, radii.near, f++);
  // Texture: 3×3 std of brightness per epoch and its log ratio (new roofs and roads add edges).
  const fStd0 = f++, fStd1 = f++, fRatio = f++;
  const m0 = out[fStd0], m1 = out[fStd1];
  boxMeanRows(base[BASE.br0], width, height, radii.texture, first, count, sc, m0);
  boxMeanRows(base[BASE.br1], width, height, radii.texture, first, count, sc, m1);
  boxMeanRows(base[BASE.br0sq], width, height, radii.texture, first, count, sc, sc.t0);
  boxMeanRows(base[BASE.br1sq], width, height, radii.texture, first, count, sc, sc.t1);
  const ratio = out[fRatio];
  for (let i = 0; i < nOut; i++) {
    const s0 = Math.sqrt(Math.max(0, sc.t0[i] - m0[i] * m0[i]));
    const s1 = Math.sqrt(Math.max(0, sc.t1[i] - m1[i] * m1[i]));
    m0[i] = s0;
    m1[i] = s1;
    ratio[i] = Math.log((s1 + 0.005) / (s0 + 0.005));
  }
  box('dNdvi', radii.mid, f++);
  if (f !== FEATURE_COUNT) throw new Error(`contextFeatures: wrote ${f} of ${FEATURE_COUNT} features`);
}
