/**
 * Chips: a square crop around a polygon, in web mercator so before and after share one grid
 * pixel for pixel (the page slides one over the other), with the polygon outlined on top.
 */
import sharp from 'sharp';
import type { Polygon, MultiPolygon } from 'geojson';
import type { Grid } from '../../geo/raster.js';
import { WEB_MERCATOR, lonLatToMercator } from './web-mercator.js';

export interface ChipOptions {
  /** Output side in pixels (default 320). */
  size?: number;
  /** Margin around the polygon's box, as a share of its larger side (default 0.6). */
  marginShare?: number;
  /** Least margin in metres on the ground (default 120 m: a dozen Sentinel-2 pixels of context). */
  minMarginM?: number;
}

/** The square mercator grid of a chip around a lon/lat polygon. */
export function chipGrid(geom: Polygon | MultiPolygon, opts: ChipOptions = {}): Grid {
  const size = opts.size ?? 320;
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  let latSum = 0;
  let count = 0;
  for (const ring of rings(geom)) {
    for (const [lon, lat] of ring) {
      const [x, y] = lonLatToMercator(lon, lat);
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      latSum += lat;
      count++;
    }
  }
  // Mercator metres are ground metres × 1/cos(lat): scale the ground margin accordingly.
  const scale = 1 / Math.cos(((latSum / Math.max(1, count)) * Math.PI) / 180);
  const side = Math.max(maxX - minX, maxY - minY);
  const margin = Math.max(side * (opts.marginShare ?? 0.6), (opts.minMarginM ?? 120) * scale);
  const half = side / 2 + margin;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const res = (2 * half) / size;
  return { width: size, height: size, crs: WEB_MERCATOR, transform: [cx - half, res, 0, cy + half, 0, -res] };
}

function rings(geom: Polygon | MultiPolygon): number[][][] {
  return geom.type === 'Polygon' ? geom.coordinates : geom.coordinates.flat();
}

/** SVG path data of the polygon in the chip's pixel space (holes included, even-odd). */
export function outlinePath(geom: Polygon | MultiPolygon, grid: Grid): string {
  const [x0, res, , y0, , negRes] = grid.transform;
  return rings(geom)
    .map((ring) =>
      ring
        .map(([lon, lat], i) => {
          const [x, y] = lonLatToMercator(lon, lat);
          return `${i === 0 ? 'M' : 'L'}${((x - x0) / res).toFixed(1)},${((y - y0) / negRes).toFixed(1)}`;
        })
        .join('') + 'Z',
    )
    .join('');
}

/**
 * PNG of a rendered chip with the outline drawn over it: a dark halo under a bright line, so it
 * reads on bright roofs and dark water alike. Transparent pixels (no data) become a neutral grey.
 */
export async function chipPng(rgba: Uint8Array, grid: Grid, geom: Polygon | MultiPolygon): Promise<Buffer> {
  const { width, height } = grid;
  const d = outlinePath(geom, grid);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<path d="${d}" fill="none" stroke="#000" stroke-opacity="0.6" stroke-width="4" stroke-linejoin="round"/>` +
    `<path d="${d}" fill="none" stroke="#ffd400" stroke-width="2" stroke-linejoin="round"/></svg>`;
  return sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), { raw: { width, height, channels: 4 } })
    .flatten({ background: '#808080' })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
}
