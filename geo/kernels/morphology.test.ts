import { describe, expect, it } from 'vitest';
import { close, createMorphScratch, dilate, erode, open, openClose, openClosePacked, packedLength, packedStride, packMask, unpackMask } from './morphology.js';
import type { StructuringShape } from './morphology.js';
import { maskFromRows, mulberry32, randomMask } from './testing/kernel-fixtures.js';

function rows(mask: Uint8Array, w: number, h: number): string[] {
  const out: string[] = [];
  for (let y = 0; y < h; y++) {
    let s = '';
    for (let x = 0; x < w; x++) s += mask[y * w + x] ? '#' : '.';
    out.push(s);
  }
  return out;
}

/** Reference: direct neighbourhood min/max with the documented border rule. */
function naive(mask: Uint8Array, w: number, h: number, r: number, shape: StructuringShape, isErode: boolean): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = isErode ? 1 : 0;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          if (shape === 'cross' && dx !== 0 && dy !== 0) continue;
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue; // clipped element
          if (isErode) v &= mask[yy * w + xx];
          else v |= mask[yy * w + xx];
        }
      }
      out[y * w + x] = v;
    }
  }
  return out;
}

/** Reference closing: the image continues as background (padded by 2r), then cropped. */
function naiveClose(mask: Uint8Array, w: number, h: number, r: number, shape: StructuringShape): Uint8Array {
  const p = 2 * r;
  const pw = w + 2 * p;
  const ph = h + 2 * p;
  const padded = new Uint8Array(pw * ph);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) padded[(y + p) * pw + x + p] = mask[y * w + x];
  const closed = naive(naive(padded, pw, ph, r, shape, false), pw, ph, r, shape, true);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = closed[(y + p) * pw + x + p];
  return out;
}

describe('morphology', () => {
  it('opening removes a 1-pixel speck and keeps a 3×3 block', () => {
    const { mask, w, h } = maskFromRows(['.......', '.#.....', '....###', '....###', '....###']);
    open(mask, w, h, createMorphScratch(w, h));
    expect(rows(mask, w, h)).toEqual(['.......', '.......', '....###', '....###', '....###']);
  });

  it('closing fills a 1-pixel gap', () => {
    const { mask, w, h } = maskFromRows(['.........', '.###.###.', '.###.###.', '.###.###.', '.........']);
    close(mask, w, h, createMorphScratch(w, h));
    expect(rows(mask, w, h)).toEqual(['.........', '.#######.', '.#######.', '.#######.', '.........']);
  });

  it('does not erode from the image border (outside counts as foreground for erosion)', () => {
    const { mask, w, h } = maskFromRows(['###.', '###.', '###.']);
    erode(mask, w, h, createMorphScratch(w, h));
    // Only column 2 (next to the background column) is eaten.
    expect(rows(mask, w, h)).toEqual(['##..', '##..', '##..']);
    const full = new Uint8Array(w * h).fill(1);
    openClose(full, w, h, createMorphScratch(w, h));
    expect(full.every((v) => v === 1)).toBe(true);
  });

  it('closing does not bridge a blob to the image edge', () => {
    const { mask, w, h } = maskFromRows(['.##.', '.##.', '.##.']);
    close(mask, w, h, createMorphScratch(w, h));
    expect(rows(mask, w, h)).toEqual(['.##.', '.##.', '.##.']);
  });

  it('does not grow in from outside (outside counts as background for dilation)', () => {
    const { mask, w, h } = maskFromRows(['#...', '....']);
    dilate(mask, w, h, createMorphScratch(w, h));
    expect(rows(mask, w, h)).toEqual(['##..', '##..']);
  });

  it('cross element dilates to the 4-neighbourhood only', () => {
    const { mask, w, h } = maskFromRows(['.....', '.....', '..#..', '.....', '.....']);
    dilate(mask, w, h, createMorphScratch(w, h), 1, 'cross');
    expect(rows(mask, w, h)).toEqual(['.....', '..#..', '.###.', '..#..', '.....']);
  });

  it('matches a direct reference across word boundaries, radii and shapes', () => {
    const rand = mulberry32(3);
    for (const [w, h] of [[70, 9], [32, 5], [33, 7], [5, 6], [96, 4]]) {
      const scratch = createMorphScratch(w, h);
      for (const shape of ['square', 'cross'] as const) {
        for (const r of [1, 2, 5]) {
          const m = randomMask(w, h, 0.6, rand);
          const a = m.slice();
          erode(a, w, h, scratch, r, shape);
          expect(a).toEqual(naive(m, w, h, r, shape, true));
          const b = m.slice();
          dilate(b, w, h, scratch, r, shape);
          expect(b).toEqual(naive(m, w, h, r, shape, false));
          const c = m.slice();
          close(c, w, h, scratch, r, shape);
          expect(c).toEqual(naiveClose(m, w, h, r, shape));
          const d = m.slice();
          openClose(d, w, h, scratch, r, shape);
          const opened = naive(naive(m, w, h, r, shape, true), w, h, r, shape, false);
          expect(d).toEqual(naiveClose(opened, w, h, r, shape));
        }
      }
    }
  });

  it('packs and unpacks losslessly, treating any non-zero byte as foreground', () => {
    const w = 45;
    const h = 3;
    const m = randomMask(w, h, 0.5, mulberry32(9));
    m[4] = m[4] ? 200 : 0;
    const packed = new Uint32Array(packedLength(w, h));
    packMask(m, w, h, packed);
    // row 0 sits after 32 margin rows and one margin word; bits past x = 44 stay clear
    expect(packed[32 * packedStride(w) + 2] >>> 13).toBe(0);
    const back = new Uint8Array(w * h);
    unpackMask(packed, w, h, back);
    expect(Array.from(back)).toEqual(Array.from(m, (v) => (v ? 1 : 0)));
  });

  it('unpacks the same bytes 4 pixels a store (aligned rows) as one by one (unaligned output), on odd widths', () => {
    const rand = mulberry32(12);
    for (const [w, h] of [[64, 5], [100, 7], [45, 9], [130, 3], [7, 4]]) {
      const m = randomMask(w, h, 0.4, rand);
      for (let x = 0; x < w; x++) m[x] = 0; // a row of empty words
      const packed = new Uint32Array(packedLength(w, h));
      packMask(m, w, h, packed);
      const aligned = new Uint8Array(w * h).fill(7);
      const unaligned = new Uint8Array(w * h + 1).fill(7).subarray(1);
      unpackMask(packed, w, h, aligned);
      unpackMask(packed, w, h, unaligned);
      expect(Array.from(aligned)).toEqual(Array.from(m));
      expect(Array.from(unaligned)).toEqual(Array.from(m));
    }
  });

  it('openClosePacked from a plane packed by the caller (margins holding anything) equals open then close', () => {
    const rand = mulberry32(13);
    for (const [w, h, r, shape] of [[67, 45, 1, 'square'], [96, 33, 2, 'cross'], [31, 70, 3, 'square'], [1, 9, 1, 'square']] as const) {
      const m = randomMask(w, h, 0.45, rand);
      const ref = m.slice();
      const scratch = createMorphScratch(w, h);
      open(ref, w, h, scratch, r, shape);
      close(ref, w, h, scratch, r, shape);
      const fresh = createMorphScratch(w, h);
      for (const plane of [fresh.a, fresh.b, fresh.t]) for (let k = 0; k < plane.length; k++) plane[k] = (rand() * 2 ** 32) >>> 0;
      packMask(m, w, h, fresh.a);
      // Garbage in the margins and past the last column, as a caller that writes image words only leaves them.
      const stride = packedStride(w);
      for (let y = 0; y < h + 64; y++) { fresh.a[y * stride] = 0xffffffff; fresh.a[y * stride + stride - 1] = 0x5555aaaa; }
      if (w & 31) for (let y = 32; y < h + 32; y++) fresh.a[y * stride + stride - 2] |= ~((1 << (w & 31)) - 1);
      for (let k = 0; k < 32 * stride; k++) fresh.a[k] = 0xdeadbeef;
      const out = new Uint8Array(w * h).fill(3);
      openClosePacked(out, w, h, fresh, r, shape);
      expect(Array.from(out)).toEqual(Array.from(ref));
    }
  });

  it('rejects scratch of the wrong size', () => {
    expect(() => open(new Uint8Array(16), 4, 4, createMorphScratch(8, 2))).toThrow(/createMorphScratch/);
  });
});
