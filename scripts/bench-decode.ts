/**
 * The decode limit of this machine for Tuban's reader: both epochs of a pair decoded in full by
 * geo/tiff (node:zlib inflate in the inflate pool, one worker per core, straight into shared strip
 * memory), with nothing else running. `npm run bench` runs it beside each Tuban run and prints how
 * far Tuban's read stage is from it. Prints one JSON line: seconds, Mpx/s of the tile, CPU seconds.
 *
 *   node dist/scripts/bench-decode.js BEFORE.tif AFTER.tif
 */
import { openGeoTiff } from '../geo/tiff/open-geotiff.js';
import { sharedInflatePool } from '../geo/tiff/inflate-pool.js';

async function decodeAll(path: string): Promise<number> {
  const f = await openGeoTiff(path);
  try {
    const { width, height } = f.grid;
    const samples = Array.from({ length: f.samplesPerPixel }, (_, k) => k);
    // One block row per read, two reads in flight (as the strip stream keeps them), each into its own shared slot.
    const rows = f.blockHeight;
    const slots = [0, 1].map(() => samples.map(() => new Float32Array(new SharedArrayBuffer(width * rows * 4))));
    let next = 0;
    const lane = async (slot: Float32Array[]) => {
      while (next < height) {
        const row = next;
        next += rows;
        await f.readWindow({ col: 0, row, width, height: Math.min(rows, height - row) }, samples, slot);
      }
    };
    await Promise.all(slots.map(lane));
    return width * height;
  } finally {
    await f.close();
  }
}

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error('usage: bench-decode.js FILE.tif [FILE.tif …]');
  sharedInflatePool(); // workers started before the clock, as in a detection (they start with the first read)
  await new Promise((r) => setTimeout(r, 200));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const px = await Promise.all(files.map(decodeAll));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ seconds, tileMpxPerS: px[0] / 1e6 / seconds, cpuS: (cpu.user + cpu.system) / 1e6, workers: sharedInflatePool().size }));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench-decode: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
