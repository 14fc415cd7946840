import { describe, expect, it } from 'vitest';
import { dateFromName, parseUserDate, showDate } from './name-date.js';

describe('dateFromName', () => {
  it('reads month-precision dates from YYYY-MM, YYYY_MM and YYYYMM names', () => {
    expect(dateFromName('after-2026-10.tif')).toEqual({ date: '2026-10-01', precision: 'month' });
    expect(dateFromName('before_2026_09.tif')).toEqual({ date: '2026-09-01', precision: 'month' });
    expect(dateFromName('mosaic_202610_T50SNA.tif')).toEqual({ date: '2026-10-01', precision: 'month' });
    expect(dateFromName('202609.tiff')).toEqual({ date: '2026-09-01', precision: 'month' });
  });

  it('prefers a day date, the first one, and keeps 8-digit runs whole', () => {
    expect(dateFromName('scene_2023-11-05.tif')).toEqual({ date: '2023-11-05', precision: 'day' });
    expect(dateFromName('S2A_MSIL2A_20260915T023551_N0511_R089_T50SNA_20261001T060254.tif')).toEqual({ date: '2026-09-15', precision: 'day' });
    expect(dateFromName('LC08_L2SP_122035_20261005_02_T1.tif')).toEqual({ date: '2026-10-05', precision: 'day' });
  });

  it('does not read tile ids, district codes, other digit runs or bad months as months', () => {
    expect(dateFromName('T50SNA.tif')).toBeNull();
    expect(dateFromName('370112_tile.tif')).toBeNull(); // year 3701
    expect(dateFromName('mosaic202610.tif')).toBeNull(); // glued to letters
    expect(dateFromName('x_2026101_y.tif')).toBeNull(); // 7 digits
    expect(dateFromName('x_202613.tif')).toBeNull(); // month 13
    expect(dateFromName('x_2026-09-45.tif')).toBeNull(); // impossible day, not a month either
    expect(dateFromName('after-2026-10_ref-202609.tif')).toBeNull(); // two months disagree
    expect(dateFromName('after-2026-10_202610.tif')).toEqual({ date: '2026-10-01', precision: 'month' });
  });
});

describe('parseUserDate / showDate', () => {
  it('accepts YYYY-MM-DD and YYYY-MM and shows months as YYYY-MM', () => {
    expect(parseUserDate('2026-10-05')).toEqual({ date: '2026-10-05', precision: 'day' });
    expect(parseUserDate('2026-10')).toEqual({ date: '2026-10-01', precision: 'month' });
    expect(parseUserDate('202610')).toBeNull();
    expect(parseUserDate('2026-13')).toBeNull();
    expect(showDate('2026-10-01', 'month')).toBe('2026-10');
    expect(showDate('2026-10-01', 'day')).toBe('2026-10-01');
    expect(showDate('2026-10-01', undefined)).toBe('2026-10-01');
  });
});
