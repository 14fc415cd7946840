/**
 * The normalisation settings of the score group reach the fit: detector 0.7.0 fitted every tile
 * with the built-in 3 refits and 60 % share whatever `score.normIterations`/`normKeepShare` said.
 * Real imagery (OSCD bercy, both dates) through the product's first stage.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECTOR_PARAMS } from '../pipeline/detect/detector-params.js';
import { fitEpochs } from '../pipeline/detect/epoch-fit.js';
import { oscdCityFiles } from './bench-data.js';
import { withScene } from './detect-scene.js';

const DATA = new URL('../../shared/data/oscd', import.meta.url).pathname;

describe('fitEpochs', () => {
  it('fits the normalisation with the score group’s refits and keep share', async () => {
    expect(existsSync(DATA), `${DATA} is missing`).toBe(true);
    const files = await oscdCityFiles(DATA, 'bercy');
    const fits = await withScene(files, async ({ pair, bands }) => {
      const score = DEFAULT_DETECTOR_PARAMS.score;
      return Promise.all([
        fitEpochs(pair, bands, score),
        fitEpochs(pair, bands, { ...score, normIterations: 3, normKeepShare: 0.6 }),
        fitEpochs(pair, bands, { ...score, normIterations: 0 }),
        fitEpochs(pair, bands, { ...score, normKeepShare: 0.2 }),
      ]);
    });
    const [defaults, explicit, noRefit, narrow] = fits.map((f) => f.fit.bands.nir!);
    expect(explicit).toEqual(defaults);
    expect(noRefit.gain).not.toBe(defaults.gain);
    expect(narrow.sigma).toBeLessThan(defaults.sigma); // the least-changed 20 % are tighter than 60 %
  }, 60_000);
});
