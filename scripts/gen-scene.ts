/**
 * Write a seeded synthetic two-epoch scene (see fixtures/synthetic-scene.ts):
 *
 *   node dist/scripts/gen-scene.js OUTDIR [--size N] [--seed S] [--prior-crs EPSG:4527] [--tiles N]
 *                                         [--clouds] [--per-band] [--epoch yyyy-mm]
 *                                         [--footprint K]
 *
 * --footprint K: each pixel the mean of K × K sub-points of its square, as a sensor integrates
 * over its footprint (default 3; 1 = the value at the pixel centre, the scenes before 2026-12-05).
 *
 * Prints the manifest (dirs, zones, truth, planted count) as JSON on stdout.
 */
import { parseArgs } from 'node:util';
import { generateScene } from '../fixtures/synthetic-scene.js';

const USAGE = 'usage: gen-scene OUTDIR [--size N] [--seed S] [--prior-crs EPSG:n] [--tiles N] [--clouds] [--per-band] [--epoch yyyy-mm] [--footprint K (default 3)]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      size: { type: 'string' },
      seed: { type: 'string' },
      'prior-crs': { type: 'string' },
      tiles: { type: 'string' },
      clouds: { type: 'boolean' },
      'per-band': { type: 'boolean' },
      epoch: { type: 'string' },
      footprint: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 64;
  }
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${v}'`);
    return n;
  };
  const t0 = performance.now();
  const m = await generateScene({
    dir: positionals[0],
    size: int('size', values.size),
    seed: int('seed', values.seed),
    priorCrs: values['prior-crs'],
    tilesPerSide: int('tiles', values.tiles),
    clouds: values.clouds,
    perBandFiles: values['per-band'],
    epoch: values.epoch,
    footprint: int('footprint', values.footprint),
  });
  const { planted, ...rest } = m;
  process.stdout.write(`${JSON.stringify({ ...rest, planted: planted.length, seconds: Math.round((performance.now() - t0) / 100) / 10 }, null, 1)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`gen-scene: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(1);
  },
);
