import { describe, expect, it } from 'vitest';
import { addTradeOff, tradeOffCurve, type BenchDetection, type BenchReference } from './detect-scene.js';
import { REF_CHANGE, REF_IGNORE, REF_NO_CHANGE } from './metrics.js';

/**
 * A 6×4 scene: labelled change in columns 0–1 of rows 0–1 (one reference object of 4 px), the
 * rest no change except an ignored last row. Component 1 (confidence 0.9) covers the change and
 * one no-change pixel; component 2 (0.1) lies on no change; component 3 (0.5) on ignored pixels only.
 */
function scene(): { ref: BenchReference; det: BenchDetection } {
  const W = 6, H = 4;
  const reference = new Uint8Array(W * H).fill(REF_NO_CHANGE);
  for (const i of [0, 1, 6, 7]) reference[i] = REF_CHANGE;
  for (let x = 0; x < W; x++) reference[3 * W + x] = REF_IGNORE;
  const labels = new Int32Array(W * H);
  for (const i of [0, 1, 6, 7, 2]) labels[i] = 1;
  for (const i of [4, 5]) labels[i] = 2;
  labels[3 * W + 5] = 3;
  const mask = Uint8Array.from(labels, (l) => (l ? 1 : 0));
  const det: BenchDetection = {
    labels, mask, score: new Float32Array(W * H), type: new Uint8Array(W * H), threshold: 0.9,
    components: [{ label: 1, confidence: 0.9 }, { label: 2, confidence: 0.1 }, { label: 3, confidence: 0.5 }],
  };
  return { ref: { name: 't', reference, width: W, height: H, pixelSizeM: 10 }, det };
}

describe('tradeOffCurve', () => {
  it('removes the polygons under each cut from the pixel and object counts', () => {
    const { ref, det } = scene();
    const [all, mid, high] = tradeOffCurve(ref, det, 1, [0, 0.2, 0.95]);
    // Every polygon: 2 on labelled pixels (the third lies on ignored pixels only), 1 touching change.
    expect(all).toMatchObject({ polygons: 2, hit: 1, refObjectsHit: 1, counts: { tp: 4, fp: 3, fn: 0 } });
    // ≥ 0.2: the false one goes, its 2 pixels with it; the reference object is still found.
    expect(mid).toMatchObject({ polygons: 1, hit: 1, refObjectsHit: 1, counts: { tp: 4, fp: 1, fn: 0 } });
    // ≥ 0.95: nothing left; the change is missed.
    expect(high).toMatchObject({ polygons: 0, hit: 0, refObjectsHit: 0, counts: { tp: 0, fp: 0, fn: 4 } });
    // The input is left as it was.
    expect(det.labels[4]).toBe(2);
  });

  it('pools scenes point by point and refuses curves of other cuts', () => {
    const { ref, det } = scene();
    const a = tradeOffCurve(ref, det, 1, [0, 0.2]);
    const pooled = addTradeOff(addTradeOff([], a), a);
    expect(pooled[1]).toMatchObject({ cut: 0.2, polygons: 2, hit: 2, refObjectsHit: 2, counts: { tp: 8, fp: 2 } });
    expect(() => addTradeOff(a, tradeOffCurve(ref, det, 1, [0, 0.3]))).toThrow(/cut 0.3 against 0.2/);
  });
});
