/**
 * The whole detector on a fine grid: one OSCD city upsampled in code to 10/f m (4 bands, as GF-1/2,
 * ZY-3, SuperView and PlanetScope deliver them; evaluation/resampled-scene.ts, nothing stored), run
 * through the product path (detectScene → detectPair) with the default parameters (model 'auto':
 * the 4-band model and its scoring settings), timed in CPU (user + sys of this process, min of
 * `--reps`), with a SHA-256 of what it emits (the detections, their polygons and attributes, the
 * not-observed outline, the threshold, the score and type rasters). Build first:
 *
 *   npm run build && node dist/scripts/bench-fine-grid.js [--city rennes] [--factors 1,2,4]
 *     [--data ../shared/data] [--reps 3] [--baseline DIR]
 *
 * `--baseline DIR`: also runs the detector built in another checkout (DIR/dist), alternating with
 * this build's runs on the same files; the digests must match (identical outputs).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { detectScene } from '../evaluation/detect-scene.js';
import { resampledCityFiles } from '../evaluation/resampled-scene.js';
import { parseDetectorParams } from '../pipeline/detect/detector-params.js';
import { flag } from './bench-lib.js';

type DetectSceneFn = typeof detectScene;

const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

async function main(): Promise<void> {
  const data = flag('data', '../shared/data');
  const city = flag('city', 'rennes');
  const factors = flag('factors', '1,2,4').split(',').map(Number);
  const reps = Math.max(1, Number(flag('reps', '3')));
  const baseline = flag('baseline', '');
  const builds: [string, DetectSceneFn][] = [['this build', detectScene]];
  if (baseline) {
    const m = await import(pathToFileURL(resolve(baseline, 'dist/evaluation/detect-scene.js')).href);
    builds.unshift(['baseline', m.detectScene as DetectSceneFn]);
  }
  const params = parseDetectorParams({}, 'bench:fine-grid'); // model 'auto'
  const dir = mkdtempSync(join(tmpdir(), 'tuban-fine-grid-'));
  try {
    for (const f of factors) {
      const files = await resampledCityFiles(join(data, 'oscd'), city, f, dir);
      const four = { ...files, bands: files.bands.filter((b) => ['blue', 'green', 'red', 'nir'].includes(b)) };
      const mpx = (files.width * files.height) / 1e6;
      const cpu = builds.map(() => [] as number[]);
      const digest = builds.map(() => new Set<string>());
      let polygons = 0;
      for (let k = 0; k < reps; k++) {
        for (const [b, [, run]] of builds.entries()) {
          const t0 = cpuMs();
          const { det, detection } = await run(four, params);
          cpu[b].push(cpuMs() - t0);
          polygons = detection.detections.length;
          const h = createHash('sha256');
          h.update(JSON.stringify({ detections: detection.detections, notObserved: detection.notObserved, threshold: detection.threshold, model: detection.stamp }));
          h.update(new Uint8Array(det.score.buffer, det.score.byteOffset, det.score.byteLength)).update(det.type);
          digest[b].add(h.digest('hex').slice(0, 16));
        }
      }
      const load = loadavg().map((l) => l.toFixed(2)).join(' ');
      console.log(`\n${city} 4 bands at ${10 / f} m (×${f}): ${files.width}×${files.height} = ${mpx.toFixed(2)} Mpx, ${polygons} detections; CPU ms (user + sys) min of ${reps}; load average ${load}`);
      for (const [b, [name]] of builds.entries()) {
        const best = Math.min(...cpu[b]);
        console.log(`  ${name.padEnd(11)} ${best.toFixed(0).padStart(7)} ms  ${(best / mpx).toFixed(0).padStart(6)} ms/Mpx  outputs sha256 ${[...digest[b]].join(' ≠ ')}`);
      }
      if (builds.length > 1) {
        const same = [...digest[0]].join() === [...digest[1]].join();
        console.log(`  speed-up ${(Math.min(...cpu[0]) / Math.min(...cpu[1])).toFixed(2)}×; outputs ${same ? 'identical' : 'DIFFER'}`);
      }
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
