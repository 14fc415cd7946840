/**
 * Strips scored in worker threads must give exactly what the calling thread gives: same
 * probabilities, same components. Real imagery (OSCD bercy, both dates, learned model), cut into
 * 64-row strips so several are in flight at once.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECTOR_PARAMS } from '../pipeline/detect/detector-params.js';
import { oscdCityFiles } from './bench-data.js';
import { detectScene } from './detect-scene.js';

const DATA = new URL('../../shared/data/oscd', import.meta.url).pathname;

describe('score workers', () => {
  it('scores a tile in 3 workers exactly as on the calling thread', async () => {
    expect(existsSync(DATA), `${DATA} is missing`).toBe(true);
    const files = await oscdCityFiles(DATA, 'bercy');
    const inline = await detectScene(files, DEFAULT_DETECTOR_PARAMS, { stripRows: 64, scoreWorkers: 0 });
    const pooled = await detectScene(files, DEFAULT_DETECTOR_PARAMS, { stripRows: 64, scoreWorkers: 3 });
    expect(Buffer.from(pooled.det.score.buffer).equals(Buffer.from(inline.det.score.buffer))).toBe(true);
    expect(Buffer.from(pooled.det.labels.buffer).equals(Buffer.from(inline.det.labels.buffer))).toBe(true);
    expect(pooled.det.components.length).toBe(inline.det.components.length);
    expect(inline.det.components.length).toBeGreaterThan(10);
  }, 60_000);
});
