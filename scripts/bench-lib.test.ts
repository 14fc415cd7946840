import { describe, expect, it } from 'vitest';
import { cpuByThreadName, errorLine, median, parseThreadStat, parseTimeV } from './bench-lib.js';

const TIME_V = `\tCommand being timed: "node x.js"
\tUser time (seconds): 3.10
\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50
\tMaximum resident set size (kbytes): 2097152
\tExit status: 0
`;

describe('bench helpers', () => {
  it('reads wall seconds and peak RSS from /usr/bin/time -v', () => {
    expect(parseTimeV(TIME_V)).toEqual({ wallS: 62.5, peakRssGiB: 2 });
    expect(parseTimeV('no timing here')).toBeNull();
  });

  it('takes the median of odd and even counts, null when empty', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('picks the error line out of a failed command', () => {
    const stderr = `node:internal/modules/esm/resolve:283\n\nError [ERR_MODULE_NOT_FOUND]: Cannot find module 'x'\n}\n${TIME_V}`;
    expect(errorLine(stderr)).toMatch(/^Error \[ERR_MODULE_NOT_FOUND\]/);
  });

  it('reads a thread of /proc/<pid>/task/<tid>/stat, a comm with spaces and parentheses too', () => {
    // Field 14 utime 250, 15 stime 50 (ticks of 100 Hz), 22 starttime 9000.
    const line = (tid: number, comm: string, utime: number, stime: number, start: number) =>
      `${tid} (${comm}) S 1 2 3 0 -1 4194304 100 0 0 0 ${utime} ${stime} 0 0 20 0 9 0 ${start} 1000 200`;
    expect(parseThreadStat(line(41, 'tuban-score', 250, 50, 9000), 100)).toEqual({ tid: 41, name: 'tuban-score', cpuS: 3, start: 9000 });
    expect(parseThreadStat(line(42, 'a (b) c', 1, 0, 7), 100)).toEqual({ tid: 42, name: 'a (b) c', cpuS: 0.01, start: 7 });
    expect(parseThreadStat('', 100)).toBeNull();
    expect(parseThreadStat('41 (x) S 1', 100)).toBeNull();
  });

  it('sums CPU by thread name: each thread at its last sample and last name, the main thread apart', () => {
    const t = (tid: number, name: string, cpuS: number, start = 1) => ({ tid, name, cpuS, start });
    const samples = [
      [t(10, 'node', 0.5), t(11, 'node', 0.1), t(12, 'node', 0.2), t(13, 'node', 0.3)],
      // 12 and 13 named themselves; 11 is V8's; 14 a thread that came and went.
      [t(10, 'node', 1.5), t(11, 'node', 0.4), t(12, 'tuban-score', 2.0), t(13, 'tuban-score', 2.5), t(14, 'tuban-gpkg', 0.25)],
      // Thread 14's tid reused by another thread: counted apart.
      [t(10, 'node', 2.0), t(11, 'node', 0.5), t(12, 'tuban-score', 3.0), t(13, 'tuban-score', 3.5), t(14, 'node', 0.125, 2)],
    ];
    expect(cpuByThreadName(samples, 10)).toEqual([['score', 6.5], ['main', 2.0], ['V8 & libuv', 0.625], ['gpkg', 0.25]]);
  });
});
