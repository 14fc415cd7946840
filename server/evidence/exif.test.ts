import { describe, expect, it } from 'vitest';
import { jpegWithExif } from '../testing/fixtures.js';
import { checkFileName, sniffType } from './evidence-store.js';
import { readPhotoExif } from './exif.js';

describe('EXIF of field photos', () => {
  it('reads time, position and azimuth', () => {
    const jpg = jpegWithExif({ taken: '2026:11:05 14:30:07', lat: 36.6512345, lon: 117.0234567, azimuth: 215.5 });
    expect(sniffType(jpg)).toBe('image/jpeg');
    const e = readPhotoExif(jpg)!;
    expect(e.taken_at).toBe('2026-11-05T14:30:07');
    expect(e.lat).toBeCloseTo(36.6512345, 6);
    expect(e.lon).toBeCloseTo(117.0234567, 6);
    expect(e.azimuth).toBe(215.5);
    expect(e.azimuth_ref).toBe('T');
  });

  it('returns null for a JPEG without EXIF and never throws on garbage', () => {
    expect(readPhotoExif(Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0, 4, 0, 0, 0xff, 0xd9]))).toBeNull();
    const jpg = jpegWithExif({ taken: '2026:11:05 14:30:07', lat: 36.6, lon: 117, azimuth: 10 });
    for (let cut = 4; cut < jpg.length; cut += 7) expect(() => readPhotoExif(jpg.subarray(0, cut))).not.toThrow();
  });

  it('checks type by content and names by shape', () => {
    expect(sniffType(Buffer.from('%PDF-1.7\n'))).toBe('application/pdf');
    expect(sniffType(Buffer.from('GIF89a'))).toBeNull();
    expect(checkFileName('现场照片 1.jpg')).toBe('现场照片 1.jpg');
    for (const bad of ['../../etc/passwd', 'a/b.jpg', 'a\\b.jpg', '..', 'x\u0000.jpg', '']) expect(() => checkFileName(bad)).toThrow(/plain name/);
  });
});
