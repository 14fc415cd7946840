import { describe, expect, it } from 'vitest';
import { errorLine, median, parseTimeV } from './bench-lib.js';

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
});
