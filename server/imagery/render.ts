/**
 * Paint several satellite tiles onto one target grid as RGBA: the first source with data wins
 * each pixel (the order is the caller's: a polygon's own tile first), and each source is
 * stretched with its own percentiles before it is composited.
 */
import type { Grid } from '../../geo/raster.js';
import { toRgba } from './stretch.js';
import type { RgbStretch } from './stretch.js';
import type { PaintPath, TileSource } from './tile-source.js';

export interface Rendered {
  readonly width: number;
  readonly height: number;
  /** 4 bytes per pixel, alpha 0 where no source had data. */
  readonly rgba: Uint8Array;
  /** Pixels that got data. */
  readonly filled: number;
  /** How each source was read, in source order (for tests and the benchmark). */
  readonly paths: PaintPath[];
}

/** `stretch`: one stretch for every source (a month's pooled stretch); default each source's own. */
export async function renderGrid(sources: readonly TileSource[], target: Grid, stretchAll?: RgbStretch | null): Promise<Rendered> {
  const n = target.width * target.height;
  const outs: [Float32Array, Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const valid = new Uint8Array(n);
  const before = new Uint8Array(n);
  const rgba = new Uint8Array(n * 4);
  const scratch = new Uint8Array(n * 4);
  const paths: PaintPath[] = [];
  let filled = 0;
  for (const src of sources) {
    if (filled === n) break;
    before.set(valid);
    const path = await src.paint(target, outs, valid);
    paths.push(path);
    if (path === 'none') continue;
    const stretch = stretchAll ?? (await src.overview()).stretch;
    if (!stretch) continue;
    toRgba(outs[0], outs[1], outs[2], valid, stretch, scratch);
    // Copy only the pixels this source newly filled: earlier sources keep theirs.
    for (let i = 0; i < n; i++) {
      if (!valid[i] || before[i]) continue;
      const o = i * 4;
      rgba[o] = scratch[o];
      rgba[o + 1] = scratch[o + 1];
      rgba[o + 2] = scratch[o + 2];
      rgba[o + 3] = 255;
      filled++;
    }
  }
  return { width: target.width, height: target.height, rgba, filled, paths };
}
