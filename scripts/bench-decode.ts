/**
 * The decode limit of this machine for Tuban's reader: both epochs of a pair decoded in full by
 * geo/tiff (node:zlib inflate in the inflate pool, one worker per core, straight into shared strip
 * memory), with nothing else running. `npm run bench` runs it beside each Tuban run and prints how
 * far Tuban's read stage is from it. Prints one JSON line: seconds, Mpx/s of the tile, CPU seconds.
 * With --strip-rows N [--halo H] it reads as the strip stream does (pipeline/detect/score-stream.ts:
 * strips of N rows with H halo rows above and below, two in flight) instead of one block row at a
 * time, so the cost of strips that do not line up with the file's blocks shows beside the limit.
 *
 *   node dist/scripts/bench-decode.js [--strip-rows N] [--halo H] BEFORE.tif AFTER.tif
 */
import { parseArgs } from 'node:util';
import { openGeoTiff } from '../geo/tiff/open-geotiff.js';
import { sharedInflatePool } from '../geo/tiff/inflate-pool.js';

async function decodeAll(path: string, stripRows: number | null, halo: number): Promise<number> {
  const f = await openGeoTiff(path);
  try {
    const { width, height } = f.grid;
    const samples = Array.from({ length: f.samplesPerPixel }, (_, k) => k);
    // One block row (or strip) per read, two reads in flight (as the strip stream keeps them), each into its own shared slot.
    const rows = stripRows ?? f.blockHeight;
    const slots = [0, 1].map(() => samples.map(() => new Float32Array(new SharedArrayBuffer(width * (rows + 2 * halo) * 4))));
    let next = 0;
    const lane = async (slot: Float32Array[]) => {
      while (next < height) {
        const row = next;
        next += rows;
        const top = Math.max(0, row - halo);
        await f.readWindow({ col: 0, row: top, width, height: Math.min(height, row + rows + halo) - top }, samples, slot);
      }
    };
    await Promise.all(slots.map(lane));
    return width * height;
  } finally {
    await f.close();
  }
}

async function main(): Promise<void> {
  const { values, positionals: files } = parseArgs({ allowPositionals: true, options: { 'strip-rows': { type: 'string' }, halo: { type: 'string', default: '0' } } });
  if (files.length === 0) throw new Error('usage: bench-decode.js [--strip-rows N] [--halo H] FILE.tif [FILE.tif …]');
  const stripRows = values['strip-rows'] === undefined ? null : Number(values['strip-rows']);
  const halo = Number(values.halo);
  if (stripRows !== null && !(Number.isInteger(stripRows) && stripRows > 0)) throw new Error(`--strip-rows must be a positive whole number, got '${values['strip-rows']}'`);
  if (!(Number.isInteger(halo) && halo >= 0)) throw new Error(`--halo must be a whole number ≥ 0, got '${values.halo}'`);
  sharedInflatePool(); // workers started before the clock, as in a detection (they start with the first read)
  await new Promise((r) => setTimeout(r, 200));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const px = await Promise.all(files.map((f) => decodeAll(f, stripRows, halo)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ seconds, tileMpxPerS: px[0] / 1e6 / seconds, cpuS: (cpu.user + cpu.system) / 1e6, workers: sharedInflatePool().size, stripRows, halo }));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench-decode: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
