/**
 * A minimal ZIP writer (PKWARE APPNOTE 6.3, no ZIP64): deflate via node:zlib, CRC-32 from
 * node:zlib's `crc32` (Node ≥ 20.15). Entry times are fixed at 1980-01-01 00:00 so the same files
 * always zip to the same bytes (exports are compared and cached by content). Names are stored as
 * UTF-8 with general-purpose flag bit 11 set, which GDAL's /vsizip/, unzip and Windows all honour.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';

export type ZipEntry = WholeEntry | DeflatedEntry;

interface WholeEntry {
  /** Path inside the archive, '/'-separated, no leading '/' or '..'. */
  name: string;
  data: Uint8Array;
}

/** An entry deflated already, piece by piece (deflatedEntry): its raw deflate stream, CRC and size. */
interface DeflatedEntry {
  name: string;
  deflated: { body: Buffer; crc: number; size: number };
}

/**
 * An entry made of `pieces` (each consumed as it comes, e.g. a generator), deflated piece by piece:
 * a part too large to hold whole (a 100 000-row sheet is ~280 MB of XML) costs only its compressed
 * bytes and one piece. Each piece is its own run of deflate blocks (flushed, not finished, but the
 * last), so the stream is one valid DEFLATE stream; the dictionary starts afresh at each piece,
 * which costs little for pieces of a megabyte or more.
 */
export function deflatedEntry(name: string, pieces: Iterable<Uint8Array>): ZipEntry {
  const parts: Buffer[] = [];
  let crc = 0;
  let size = 0;
  let pending: Uint8Array | null = null;
  const flush = (piece: Uint8Array, last: boolean) => {
    crc = crc32(piece, crc);
    size += piece.length;
    parts.push(deflateRawSync(piece, { level: 6, finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH }));
  };
  // One piece behind, so the last is known when it is deflated.
  for (const piece of pieces) {
    if (pending) flush(pending, false);
    pending = piece;
  }
  flush(pending ?? new Uint8Array(0), true);
  return { name, deflated: { body: Buffer.concat(parts), crc: crc >>> 0, size } };
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
    const { body, crc, size, stored } = 'data' in e ? deflateWhole(e.data) : { ...e.deflated, stored: false };
    if (size > MAX_32 || offset + body.length + 30 + name.length > MAX_32) throw new Error(`zip: '${e.name}' would need ZIP64 (over 4 GiB)`);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // bit 11: names are UTF-8
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt16LE(0, 10); // time 00:00
    local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
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
    central.writeUInt32LE(size, 24);
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

/** Deflated, or stored where deflate does not pay (tiny .cpg/.prj files). */
function deflateWhole(data: Uint8Array): { body: Buffer; crc: number; size: number; stored: boolean } {
  const deflated = deflateRawSync(data, { level: 6 });
  const stored = deflated.length >= data.length;
  return { body: stored ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : deflated, crc: crc32(data) >>> 0, size: data.length, stored };
}
