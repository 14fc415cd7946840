/**
 * `tuban batch --detector` and `--detector-params`: what they put into the batch's arguments, the
 * parameters its tiles are scored with, and its id; and the mistakes they refuse before anything is read.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlags } from './args.js';
import { UsageError } from './args.js';
import { batchArgsFromFlags } from './batch-command.js';
import { batchIdFor, detectorParamsFor } from '../pipeline/batch/batch-args.js';
import { DEFAULT_DETECTOR_PARAMS } from '../pipeline/detect/detector-params.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-detector-flags-'));
  await writeFile(join(dir, 'z.geojson'), '{}'); // a zone path must name a file; it is not read here
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const argsOf = (...extra: string[]) =>
  batchArgsFromFlags(parseFlags(['--epoch', '2026-10', '--tiles', join(dir, 'cur'), '--prior', join(dir, 'pri'), '--zones', join(dir, 'z.geojson'), ...extra]).flags);

describe('tuban batch --detector / --detector-params', () => {
  it('leaves the defaults, and the batch id, as they were when neither is given', () => {
    const a = argsOf();
    expect(a.detector).toBeUndefined();
    expect(detectorParamsFor(a)).toBe(DEFAULT_DETECTOR_PARAMS);
  });

  it('sets the model, merges inline or file parameters over the defaults, and gives the batch its own id', async () => {
    const plain = argsOf();
    const unsup = argsOf('--detector', 'unsupervised');
    expect(detectorParamsFor(unsup).model).toBe('unsupervised');
    expect(batchIdFor(unsup, ['t'], ['p'], 'd')).not.toBe(batchIdFor(plain, ['t'], ['p'], 'd'));
    const inline = detectorParamsFor(argsOf('--detector-params', '{"learned":{"rescueSigma":6}}', '--mmu', '500'));
    expect(inline.learned.rescueSigma).toBe(6);
    expect(inline.learned.gateSigma).toBe(DEFAULT_DETECTOR_PARAMS.learned.gateSigma);
    expect(inline.components.mmuM2).toBe(500);
    const file = join(dir, 'params.json');
    await writeFile(file, '{"learnedGrowCut": 1, "model": "learned"}');
    // --detector wins over a model in the file.
    const fromFile = detectorParamsFor(argsOf('--detector-params', file, '--detector', 'unsupervised'));
    expect(fromFile.learned.growCut).toBe(1);
    expect(fromFile.model).toBe('unsupervised');
  });

  it('refuses an unknown model, bad JSON, an unknown or out-of-range parameter and a missing file, naming the flag', () => {
    const refused = (...extra: string[]) => {
      try {
        argsOf(...extra);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error(`accepted ${extra.join(' ')}`);
    };
    expect(refused('--detector', 'deep')).toMatch(/--detector: 'deep' is not one of auto, learned, unsupervised/);
    expect(refused('--detector-params', '{"learned":')).toMatch(/--detector-params: not JSON/);
    expect(refused('--detector-params', '{"learned":{"rescueSigmaa":6}}')).toMatch(/--detector-params: invalid detector parameters: .*rescueSigmaa/);
    expect(refused('--detector-params', '{"learned":{"gateShift":2}}')).toMatch(/learned\.gateShift/);
    expect(refused('--detector-params', join(dir, 'nope.json'))).toMatch(/cannot read .*nope\.json \(ENOENT\)/);
  });
});
