import { describe, expect, it } from 'vitest';
import type { Zone } from '../model.js';
import { rect } from './testing/test-geometry.js';
import { bboxOf, ZoneIndex } from './zone-index.js';

function zone(id: string, kind: Zone['kind'], x0: number, y0: number, x1: number, y1: number): Zone {
  return { id, kind, geometry: rect(x0, y0, x1, y1), source: 'test' };
}

describe('ZoneIndex', () => {
  const zones = [
    zone('a', 'forest', 0, 0, 100, 100),
    zone('b', 'farmland', 1000, 1000, 1100, 1100),
    zone('c', 'forest', 50, 50, 150, 150),
    { id: 'empty', kind: 'mining', geometry: { type: 'Polygon', coordinates: [] }, source: 'test' } as Zone,
  ];
  const index = new ZoneIndex(zones);

  it('returns only zones whose boxes touch the query box, in input order', () => {
    expect(index.candidates(bboxOf(rect(60, 60, 70, 70))).map((z) => z.id)).toEqual(['a', 'c']);
    expect(index.candidates(bboxOf(rect(1050, 1050, 1060, 1060))).map((z) => z.id)).toEqual(['b']);
    expect(index.candidates(bboxOf(rect(500, 500, 510, 510)))).toEqual([]);
  });

  it('filters candidates and skips geometries without coordinates', () => {
    expect(index.candidates(bboxOf(rect(60, 60, 70, 70)), (z) => z.id !== 'a').map((z) => z.id)).toEqual(['c']);
    expect(index.emptyCount).toBe(1);
    expect(index.size).toBe(4);
  });

  it('keeps each zone bbox', () => {
    expect(index.bbox(1)).toEqual(bboxOf(zones[1].geometry));
  });

  it('accepts an empty layer', () => {
    expect(new ZoneIndex([]).candidates([0, 0, 180, 90])).toEqual([]);
  });
});
