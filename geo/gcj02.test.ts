import { describe, expect, it } from 'vitest';
import { distance } from '@turf/turf';
import { gcj02ToWgs84, insideChina, wgs84ToGcj02 } from './gcj02.js';

const metres = (a: [number, number], b: [number, number]) => distance(a, b, { units: 'kilometers' }) * 1000;

describe('GCJ-02', () => {
  it('offsets Jinan by several hundred metres', () => {
    const wgs: [number, number] = [117.0, 36.65];
    const d = metres(wgs, wgs84ToGcj02(...wgs));
    expect(d).toBeGreaterThan(200);
    expect(d).toBeLessThan(800);
  });

  it('inverts the forward offset to well under 0.5 m across China', () => {
    let worst = 0;
    // Deterministic grid across the box, including Jinan, Chongqing, Hong Kong latitudes.
    for (let lon = 74; lon <= 134; lon += 3.7) {
      for (let lat = 18; lat <= 53; lat += 2.9) {
        const back = gcj02ToWgs84(...wgs84ToGcj02(lon, lat));
        worst = Math.max(worst, metres([lon, lat], back));
      }
    }
    expect(worst).toBeLessThan(0.5);
    expect(worst).toBeLessThan(0.01); // the iteration converges far tighter than required
  });

  it('leaves points outside China untouched', () => {
    expect(insideChina(2.35, 48.85)).toBe(false);
    expect(wgs84ToGcj02(2.35, 48.85)).toEqual([2.35, 48.85]);
    expect(gcj02ToWgs84(9.5, 47.1)).toEqual([9.5, 47.1]);
  });
});
