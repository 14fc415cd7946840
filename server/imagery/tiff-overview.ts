/**
 * Internal overviews of a GeoTIFF / COG (the reduced-resolution images GDAL's `gdaladdo` and the COG
 * driver write after the full image): when every true-colour band's file has one at least as fine
 * as the overview a TileSource needs, it is read instead of decoding the full image — a real
 * Sentinel-2 COG then costs one small read, not a whole-file pass. geotiff.js decodes it (any
 * compression it knows); these images are small, so its slower per-sample path does not matter.
 */
import { fromFile } from 'geotiff';
import type { TileInfo } from '../../geo/tile-reader.js';
import type { BandName } from '../../geo/raster.js';
import { tiffDirectories } from '../../geo/tiff/image-directories.js';

type Image = Awaited<ReturnType<Awaited<ReturnType<typeof fromFile>>['getImage']>>;

/**
 * red/green/blue at `ow`×`oh` (the tile's grid `factor` times coarser) from the files' internal
 * overviews, NaN where nodata; null when some band's file has no overview at least `ow` wide.
 */
export async function readTiffOverview(info: TileInfo, bands: readonly BandName[], ow: number, oh: number): Promise<Float32Array[] | null> {
  const out: Float32Array[] = [];
  const opened = new Map<string, Awaited<ReturnType<typeof fromFile>>>();
  try {
    for (const band of bands) {
      const src = info.bands[band];
      if (!src) return null;
      let tiff = opened.get(src.file);
      if (!tiff) opened.set(src.file, (tiff = await fromFile(src.file)));
      // The coarsest reduced-resolution image still at least as wide as the target, up to a directory
      // that cannot be parsed: a broken link past the first image is a file without overviews, as the
      // batch reads it (open-geotiff.ts), not a map that fails. A mask's directory (GDAL's internal
      // mask, a COG's) is no overview (its 0/1 were drawn as a band), nor is another full-size page of
      // a multi-page file. An I/O error on the way refuses the file.
      let best: Image | null = null;
      for (const { index, kind, image: img } of (await tiffDirectories(tiff, src.file)).directories) {
        if (index === 0 || kind !== 'overview') continue;
        if (img.getWidth() >= ow && img.getHeight() >= oh && (!best || img.getWidth() < best.getWidth())) best = img;
      }
      if (!best) return null;
      const [data] = (await best.readRasters({ samples: [src.sample], interleave: false })) as unknown as ArrayLike<number>[];
      out.push(boxResample(data, best.getWidth(), best.getHeight(), ow, oh, info.nodata));
    }
    return out;
  } finally {
    for (const t of opened.values()) await Promise.resolve(t.close()).catch(() => undefined);
  }
}

/** Mean of the source pixels each output pixel covers (nodata and NaN skipped; NaN when none). */
function boxResample(src: ArrayLike<number>, sw: number, sh: number, ow: number, oh: number, nodata: number | null): Float32Array {
  const out = new Float32Array(ow * oh);
  const sx = sw / ow;
  const sy = sh / oh;
  for (let oy = 0; oy < oh; oy++) {
    const y0 = Math.floor(oy * sy);
    const y1 = Math.max(y0 + 1, Math.min(sh, Math.floor((oy + 1) * sy)));
    for (let ox = 0; ox < ow; ox++) {
      const x0 = Math.floor(ox * sx);
      const x1 = Math.max(x0 + 1, Math.min(sw, Math.floor((ox + 1) * sx)));
      let sum = 0;
      let n = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const v = src[y * sw + x];
          if (v !== v || v === nodata) continue;
          sum += v;
          n++;
        }
      }
      out[oy * ow + ox] = n ? sum / n : NaN;
    }
  }
  return out;
}
