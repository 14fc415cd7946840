/**
 * A misregistered but unchanged pair, through the product path: a real OSCD scene against itself
 * hazed, noised and moved three pixels. Uncorrected, every edge of the city reads as change; the
 * detector measures the shift, moves the prior back and raises nothing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BANDS, asDn, detect, perturb, writeBands } from './stability-scenes.js';
import { readOscdCity } from './bench-data.js';
import { DEFAULT_DETECTOR_PARAMS } from '../pipeline/detect/detector-params.js';

const DATA = new URL('../../shared/data/oscd', import.meta.url).pathname;

describe('co-registration of the epochs', () => {
  let dir: string;
  const before = () => join(dir, 'before.tif');
  const after = () => join(dir, 'after.tif');

  beforeAll(async () => {
    expect(existsSync(DATA), `${DATA} is missing`).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'tuban-coreg-'));
    const scene = await readOscdCity(DATA, 'rennes');
    const { width, height } = scene.before;
    await writeBands(before(), scene.before, '2016-06-01', (k) => asDn(scene.before, k));
    const moved = { name: '+3 px', shift: [3, -1] as [number, number], radiometric: true };
    await writeBands(after(), scene.before, '2016-07-01', (k) => perturb(scene.before.bands[BANDS[k]]!, width, height, moved, k));
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures the shift, moves the prior back and finds no change', async () => {
    const r = await detect(before(), after(), DEFAULT_DETECTOR_PARAMS);
    // The after content moved by (+3, −1): the prior's matching pixel is 3 left and 1 down.
    expect(r.coregistration?.applied).toBe(true);
    expect(Math.abs(r.coregistration!.dx + 3)).toBeLessThan(0.25);
    expect(Math.abs(r.coregistration!.dy - 1)).toBeLessThan(0.25);
    expect(r.polygons).toBe(0);
  }, 60_000);

  it('without the correction the same pair is full of false changes', async () => {
    const r = await detect(before(), after(), { ...DEFAULT_DETECTOR_PARAMS, score: { ...DEFAULT_DETECTOR_PARAMS.score, coregisterMinPx: 0 } });
    expect(r.coregistration?.applied).toBe(false);
    expect(r.polygons).toBeGreaterThan(20);
  }, 60_000);
});
