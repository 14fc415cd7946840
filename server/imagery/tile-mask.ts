/**
 * A map tile with only some pixel rectangles kept, the rest transparent: how a tile at the edge of
 * a caller's part of the month is served (server/access/imagery-scope.ts decides the rectangles).
 */
import sharp from 'sharp';
import type { TileFormat } from './imagery-service.js';
import { encodeTile } from './tile-encoding.js';

/** Pixel rectangle [x0, y0, x1, y1) of a map tile, rows from the top. */
export type PixelRect = readonly [number, number, number, number];

export async function keepRects(bytes: Buffer, format: TileFormat, rects: readonly PixelRect[]): Promise<Buffer> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const keep = new Uint8Array(width * height);
  for (const [x0, y0, x1, y1] of rects) {
    for (let r = Math.max(0, y0); r < Math.min(height, y1); r++) keep.fill(1, r * width + Math.max(0, x0), r * width + Math.min(width, x1));
  }
  for (let i = 0; i < keep.length; i++) if (!keep[i]) data.writeUInt32LE(0, i * 4);
  return encodeTile(data, width, height, format);
}
