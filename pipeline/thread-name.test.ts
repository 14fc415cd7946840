/**
 * Tuban's worker threads name themselves (thread-name.ts), so `top -H` and the benchmark's CPU by
 * thread tell them apart: the real pools and threads, started here, show under their names in this
 * process's /proc/self/task/<tid>/comm.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InflatePool } from '../geo/tiff/inflate-pool.js';
import { DEFAULT_DETECTOR_PARAMS } from './detect/detector-params.js';
import { ScorePool } from './detect/score-pool.js';
import { startPolygonsGpkgThread } from './outputs/polygons-gpkg-thread.js';
import { startZoneFileThread } from './zone-file-thread.js';

/** This process's thread names, one entry per thread. */
function threadNames(): string[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      return [readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()];
    } catch {
      return []; // ended between the listing and the read
    }
  });
}

/** The names once each of `names` shows (a worker names itself as its module loads), or after 20 s. */
async function namesShowing(names: string[]): Promise<string[]> {
  const until = Date.now() + 20_000;
  for (;;) {
    const now = threadNames();
    if (names.every((n) => now.includes(n)) || Date.now() > until) return now;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(process.platform === 'linux')('worker thread names', () => {
  it('each pool and thread shows under its own name; the calling thread keeps its own', async () => {
    const mainName = readFileSync('/proc/thread-self/comm', 'utf8').trim();
    const inflate = new InflatePool(2);
    const score = new ScorePool(1, { params: DEFAULT_DETECTOR_PARAMS, model: null, width: 16, haloRows: 16, outRows: 16 });
    const zones = startZoneFileThread();
    const gpkg = startPolygonsGpkgThread();
    try {
      const names = await namesShowing(['tuban-inflate', 'tuban-score', 'tuban-zones', 'tuban-gpkg']);
      expect(names.filter((n) => n === 'tuban-inflate')).toHaveLength(2);
      expect(names.filter((n) => n === 'tuban-score')).toHaveLength(1);
      expect(names).toContain('tuban-zones');
      expect(names).toContain('tuban-gpkg');
      expect(readFileSync('/proc/thread-self/comm', 'utf8').trim()).toBe(mainName);
    } finally {
      zones.close();
      gpkg.close();
      await Promise.all([inflate.close(), score.close()]);
    }
  });
});
