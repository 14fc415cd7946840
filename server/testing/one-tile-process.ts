/**
 * A process that uses the imagery pool and nothing else (no server listening, no database): it
 * asks for one map tile, does not wait on it, and writes what it got to stdout (render-pool.test.ts).
 * Its job (JSON) is argv[2]. Run as `node --import ./test-support/register-ts.mjs <this> <job.json>`.
 */
import { readFileSync } from 'node:fs';
import { RenderPool } from '../imagery/render-pool.js';
import type { TileJob } from '../imagery/tile-renderer.js';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as TileJob;
const pool = new RenderPool(1);
// Not awaited, not closed: the pending tile alone must keep the process alive, and nothing once it is cut.
void pool.tile(job).then(
  (bytes) => process.stdout.write(`tile ${bytes?.length ?? 'null'} bytes\n`),
  (e: Error) => process.stdout.write(`failed ${e.message}\n`),
);
