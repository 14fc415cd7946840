/**
 * A minimal ZIP writer (PKWARE APPNOTE 6.3, no ZIP64): deflate via node:zlib, CRC-32 from
 * node:zlib's `crc32` (Node ≥ 20.15). Entry times are fixed at 1980-01-01 00:00 so the same files
 * always zip to the same bytes (exports are compared and cached by content). Names are stored as
 * UTF-8 with general-purpose flag bit 11 set, which GDAL's /vsizip/, unzip and Windows all honour.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** Path inside the archive, '/'-separated, no leading '/' or '..'. */
  name: string;
  data: Uint8Array;
}

/** Limit of a non-ZIP64 archive: sizes and offsets are 32-bit. */
const MAX_32 = 0xffff_fffe;
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;

/** Bytes of a ZIP archive holding `entries`, deflated where that is smaller, in the given order. */
export function zipEntries(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const e of entries) {
    if (!e.name || e.name.startsWith('/') || e.name.split('/').includes('..')) throw new Error(`zip: unsafe entry name '${e.name}'`);
    if (names.has(e.name)) throw new Error(`zip: duplicate entry name '${e.name}'`);
    names.add(e.name);
    const name = Buffer.from(e.name, 'utf8');
    const deflated = deflateRawSync(e.data, { level: 6 });
    // Stored when deflate does not pay (tiny .cpg/.prj files).
    const stored = deflated.length >= e.data.length;
    const body = stored ? Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength) : deflated;
    if (e.data.length > MAX_32 || offset + body.length + 30 + name.length > MAX_32) throw new Error(`zip: '${e.name}' would need ZIP64 (over 4 GiB)`);
    const crc = crc32(e.data) >>> 0;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // bit 11: names are UTF-8
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt16LE(0, 10); // time 00:00
    local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(stored ? 0 : 8, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(DOS_DATE_1980_01_01, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  if (entries.length > 0xffff) throw new Error('zip: more than 65535 entries needs ZIP64');
  const cdSize = centrals.reduce((s, b) => s + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}
