import { describe, expect, it } from 'vitest';
import { assignCodes, shiftSerial } from './codes.js';
import type { CodeItem } from './codes.js';

/** Seeded LCG so the shuffles are reproducible. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1664525 + 1013904223) % 4294967296;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const items: CodeItem[] = [
  { districtCode: '370102', centroid: [117.05, 36.66], tileId: 't1', index: 0 },
  { districtCode: '370102', centroid: [117.01, 36.68], tileId: 't1', index: 1 }, // northernmost in 370102
  { districtCode: '370103', centroid: [116.99, 36.64], tileId: 't2', index: 0 },
  { districtCode: '370102', centroid: [117.02, 36.66], tileId: 't2', index: 3 }, // same lat as [0], further west
  { districtCode: '370102', centroid: [117.02, 36.66], tileId: 't1', index: 7 }, // same spot, earlier tile id
  { districtCode: '370103', centroid: [116.98, 36.7], tileId: 't2', index: 1 },
];

describe('assignCodes', () => {
  it('numbers each district north to south, then west to east, then by tile and index', () => {
    expect(assignCodes(items, '2026-10')).toEqual([
      '370102-202610-0004',
      '370102-202610-0001',
      '370103-202610-0002',
      '370102-202610-0003',
      '370102-202610-0002',
      '370103-202610-0001',
    ]);
  });

  it('gives every item the same code whatever the input order', () => {
    const expected = new Map(items.map((it, i) => [it, assignCodes(items, '2026-10')[i]]));
    for (const seed of [1, 2, 3, 42]) {
      const s = shuffled(items, seed);
      const codes = assignCodes(s, '2026-10');
      s.forEach((it, i) => expect(codes[i]).toBe(expected.get(it)));
    }
  });

  it('continues the numbering of a district after serials other batches used', () => {
    const codes = assignCodes(items, '2026-10', { [items[0].districtCode]: 41 });
    const own = codes.filter((c) => c.startsWith(`${items[0].districtCode}-`)).sort();
    expect(own[0]).toBe(`${items[0].districtCode}-202610-0042`);
  });

  it('ignores sub-decimetre centroid noise', () => {
    const noisy = items.map((it) => ({ ...it, centroid: [it.centroid[0] + 1e-9, it.centroid[1] - 1e-9] as [number, number] }));
    expect(assignCodes(noisy, '2026-10')).toEqual(assignCodes(items, '2026-10'));
  });

  it('pads past 9999 and rejects a malformed epoch', () => {
    const many = Array.from({ length: 10000 }, (_, i) => ({ districtCode: '370102', centroid: [117, 36 - i * 1e-4] as [number, number], tileId: 't', index: i }));
    const codes = assignCodes(many, '2026-01');
    expect(codes[0]).toBe('370102-202601-0001');
    expect(codes[9999]).toBe('370102-202601-10000');
    expect(new Set(codes).size).toBe(10000);
    expect(() => assignCodes(items, '2026-13')).toThrow(RangeError);
    expect(() => assignCodes(items, '202610')).toThrow(RangeError);
  });
});

describe('shiftSerial', () => {
  it('moves the serial on, keeping district, epoch and four-digit padding', () => {
    expect(shiftSerial('370102-202610-0002', 5)).toBe('370102-202610-0007');
    expect(shiftSerial('370102-202610-0002', 0)).toBe('370102-202610-0002');
    expect(shiftSerial('370102-202610-9999', 1)).toBe('370102-202610-10000');
  });

  it('refuses a negative or fractional offset', () => {
    expect(() => shiftSerial('370102-202610-0002', -1)).toThrow(RangeError);
    expect(() => shiftSerial('370102-202610-0002', 0.5)).toThrow(RangeError);
  });
});
