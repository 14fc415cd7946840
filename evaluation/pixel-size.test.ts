/**
 * Pixel size through the product path: an OSCD city written at 10 m and upsampled in code to 5 m
 * (evaluation/resampled-scene.ts; nothing stored), both scored by the 4-band model's
 * leave-one-city-out fold through detectScene → detectPair. The detector's windows, minimum mapping
 * unit and cloud rules are set in metres (atPixelSize, featureRadii), so the 5 m run must find
 * the same labelled objects and keep its pixel F1 within 0.05 of the 10 m run. Reads ../shared/data.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChangeModel } from '../pipeline/detect/change-model.js';
import { comparePixelSizes } from './pixel-size.js';

const DATA = new URL('../../shared/data', import.meta.url).pathname;
const LOCO = new URL('../bench-results/change-model-4band-loco.json', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tuban-pixel-size-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pixel size (10 m → 5 m, resampled in code, product path)', () => {
  it('finds the same objects on rennes at 5 m as at 10 m, pixel F1 within 0.05', async () => {
    const folds = (JSON.parse(readFileSync(LOCO, 'utf8')) as { folds: Record<string, ChangeModel> }).folds;
    const r = await comparePixelSizes(DATA, 'rennes', 2, ['blue', 'green', 'red', 'nir'], folds.rennes, dir);
    expect(Math.abs(r.f1[1] - r.f1[0]), `F1 10 m ${r.f1[0].toFixed(3)}, 5 m ${r.f1[1].toFixed(3)}`).toBeLessThanOrEqual(0.05);
    const objects = r.both + r.coarseOnly + r.fineOnly + r.neither;
    // Found at one size and not the other: at most 1 object in 20.
    expect(r.coarseOnly + r.fineOnly, JSON.stringify(r)).toBeLessThanOrEqual(Math.ceil(objects / 20));
    expect(r.both).toBeGreaterThan(0);
  }, 300_000);
});
