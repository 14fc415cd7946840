import { describe, expect, it } from 'vitest';
import { encodeShapefile, utf8Prefix } from './write-shapefile.js';
import { deflatedEntry, zipEntries } from './zip.js';
import { crc32, inflateRawSync } from 'node:zlib';

describe('shapefile encoding', () => {
  it('cuts UTF-8 text at a character boundary', () => {
    expect(utf8Prefix('历下区', 7).toString('utf8')).toBe('历下'); // 3 bytes each: 7 fits two
    expect(utf8Prefix('ab历', 4).toString('utf8')).toBe('ab');
    expect(utf8Prefix('abc', 10).toString('utf8')).toBe('abc');
  });

  it('refuses a field name over 10 bytes: 图斑编号 is 12 in UTF-8', () => {
    const f = { geometry: { type: 'Point' as const, coordinates: [117, 36] }, properties: { 图斑编号: 'x' } };
    expect(() => encodeShapefile([f], { fields: [{ name: '图斑编号', type: 'C', width: 10 }] })).toThrow(/12 bytes/);
  });

  it('writes fixed-width numbers and a DBF record per feature', () => {
    const parts = encodeShapefile(
      [{ geometry: { type: 'Point', coordinates: [117.1, 36.2] }, properties: { AREA: 1.5, NAME: '历下区' } }],
      { fields: [{ name: 'AREA', type: 'N', width: 8, decimals: 2 }, { name: 'NAME', type: 'C', width: 9 }] },
    );
    expect(parts.dbf.readUInt32LE(4)).toBe(1);
    const headLen = parts.dbf.readUInt16LE(8);
    const rec = parts.dbf.subarray(headLen + 1, headLen + 1 + 17);
    expect(rec.toString('utf8')).toBe('    1.50历下区');
    expect(parts.shp.readInt32LE(32)).toBe(1); // point shapefile
    expect(parts.shx.length).toBe(108);
  });
});

describe('zipEntries', () => {
  it('writes local headers whose data inflates back with the right CRC', () => {
    const data = Buffer.from('图斑'.repeat(100));
    const zip = zipEntries([{ name: 'a.txt', data }, { name: 'b.cpg', data: Buffer.from('UTF-8') }]);
    expect(zip.readUInt32LE(0)).toBe(0x04034b50);
    expect(zip.readUInt16LE(8)).toBe(8); // deflated
    const size = zip.readUInt32LE(18);
    expect(inflateRawSync(zip.subarray(30 + 5, 30 + 5 + size)).equals(data)).toBe(true);
    const end = zip.subarray(zip.length - 22);
    expect(end.readUInt32LE(0)).toBe(0x06054b50);
    expect(end.readUInt16LE(10)).toBe(2);
    expect(() => zipEntries([{ name: '../x', data }])).toThrow(/unsafe/);
  });

  it('deflates an entry piece by piece into one stream that inflates back whole, with its CRC and size', () => {
    const pieces = [Buffer.from('<row>图斑</row>'.repeat(5000)), Buffer.alloc(0), Buffer.from('x'), Buffer.from('<row>末</row>'.repeat(300))];
    const whole = Buffer.concat(pieces);
    const zip = zipEntries([deflatedEntry('sheet.xml', pieces[Symbol.iterator]())]);
    expect(zip.readUInt16LE(8)).toBe(8);
    expect(zip.readUInt32LE(14)).toBe(crc32(whole) >>> 0);
    expect(zip.readUInt32LE(22)).toBe(whole.length);
    const size = zip.readUInt32LE(18);
    expect(inflateRawSync(zip.subarray(30 + 9, 30 + 9 + size)).equals(whole)).toBe(true);
    const none = zipEntries([deflatedEntry('empty', [])]);
    expect(inflateRawSync(none.subarray(30 + 5, 30 + 5 + none.readUInt32LE(18))).length).toBe(0);
  });
});

describe('inferred fields', () => {
  it('sizes a number field for its widest value at the field decimals', () => {
    const pt = (v: number) => ({ geometry: { type: 'Point' as const, coordinates: [0, 0] }, properties: { v } });
    const parts = encodeShapefile([pt(1234.5), pt(12.345)]);
    const width = parts.dbf[32 + 16];
    expect(parts.dbf[32 + 17]).toBe(3);
    expect(width).toBe('1234.500'.length);
  });
});
