/**
 * The ledger's 发现依据说明 says the detector's reasons in Chinese: it read "change probability 0.95
 * (peak 0.99, cut 0.92)；3703 m² at or above the cut" in a table a bureau files. Every reason the
 * detectors write is checked from the functions that write it, so a new wording in confidence.ts
 * without its Chinese fails here.
 */
import { describe, expect, it } from 'vitest';
import { componentConfidence, learnedConfidence, type ComponentEvidence } from '../detect/confidence.js';
import { reasonInChinese } from './reason-text.js';

const HAN = /[\u4e00-\u9fff]/;

describe('reasonInChinese', () => {
  it("says every reason of the learned and the unsupervised detector in Chinese, keeping its figures", () => {
    const learned: ComponentEvidence = { pixelCount: 37, pixelAreaM2: 100, meanScore: 0.951, maxScore: 0.994, threshold: 0.92, typeAgreement: 0.55 };
    const weak: ComponentEvidence = { ...learned, meanScore: 5.1, maxScore: 9.3, threshold: 4, ndviDelta: -0.35, compactness: 0.1 };
    const strong: ComponentEvidence = { ...weak, meanScore: 9 };
    const reasons = [
      ...learnedConfidence(learned, { mmuM2: 200 }).reasons,
      ...componentConfidence(weak, { mmuM2: 200 }).reasons,
      ...componentConfidence(strong, { mmuM2: 200 }).reasons,
      'object model 0.83 (shape, contrast, neighbourhood)',
    ];
    expect(reasons.some((r) => r.startsWith('strong')) && reasons.some((r) => r.startsWith('moderate'))).toBe(true);
    expect(reasons.length).toBeGreaterThanOrEqual(11);
    for (const r of reasons) {
      const zh = reasonInChinese(r);
      expect(zh, r).toMatch(HAN);
      expect(zh, r).not.toMatch(/[a-z]{3,}/); // no English words left (NDVI stays)
      for (const n of r.match(/\d+(\.\d+)?/g) ?? []) expect(zh, r).toContain(n);
    }
    expect(reasonInChinese('change probability 0.95 (peak 0.99, cut 0.92)')).toBe('变化概率 0.95（峰值 0.99，阈值 0.92）');
    expect(reasonInChinese('3703 m² at or above the cut')).toBe('达到阈值的面积 3703 平方米');
  });

  it('keeps a reason of no known form as it is (a clue description, Chinese already)', () => {
    expect(reasonInChinese('NDVI 下降 0.42')).toBe('NDVI 下降 0.42');
    expect(reasonInChinese('群众举报：村东有人挖土')).toBe('群众举报：村东有人挖土');
  });
});
