import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import type { Detection } from '../model.js';
import { dropSeamDuplicates } from './finalise-batch.js';

function square(x: number, y: number, s = 0.001): Polygon {
  return { type: 'Polygon', coordinates: [[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]] };
}

function det(tileId: string, index: number, geometry: Polygon, confidence: number): Detection {
  return { tileId, index, geometry, confidence, areaM2: 100, changeType: 'construction', reasons: [], beforeDate: '2026-09-06', afterDate: '2026-10-08', pixelCount: 1 };
}

describe('dropSeamDuplicates', () => {
  const a = det('tileA', 0, square(117, 36.5), 0.7);
  const b = det('tileB', 3, square(117.0005, 36.5), 0.9); // the same change seen from the overlapping tile
  const c = det('tileA', 1, square(117.01, 36.5), 0.5); // elsewhere
  const d = det('tileA', 2, square(117.0102, 36.5002), 0.4); // overlaps c, but from the same tile

  it('keeps the most confident of overlapping detections from different tiles', () => {
    const kept = dropSeamDuplicates([a, b, c, d]);
    expect(kept.map((k) => `${k.tileId}#${k.index}`)).toEqual(['tileA#1', 'tileA#2', 'tileB#3']);
  });

  it('does not depend on the order tiles finished', () => {
    const one = dropSeamDuplicates([a, b, c, d]);
    const two = dropSeamDuplicates([d, c, b, a]);
    expect(two).toEqual(one);
  });

  it('breaks confidence ties by tile id', () => {
    const x = det('tileB', 0, square(118, 36), 0.8);
    const y = det('tileA', 5, square(118, 36), 0.8);
    expect(dropSeamDuplicates([x, y]).map((k) => k.tileId)).toEqual(['tileA']);
  });
});
