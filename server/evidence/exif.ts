/**
 * A small EXIF reader for field photos: the time taken (DateTimeOriginal), position (GPS latitude
 * and longitude, WGS84 degrees) and azimuth (GPSImgDirection, degrees from north) — what
 * verification photos must show (RESEARCH.md: 拍照举证 with GPS, 拍摄时间, 方位角). It reads only the
 * JPEG's APP1 segment and never throws on malformed data: a field it cannot read is left out.
 */
export interface PhotoExif {
  /** 'YYYY-MM-DDTHH:MM:SS', the camera's local time as recorded (EXIF has no zone). */
  taken_at?: string;
  lon?: number;
  lat?: number;
  /** Degrees clockwise from north (true or magnetic per `azimuth_ref`). */
  azimuth?: number;
  azimuth_ref?: 'T' | 'M';
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

/** The TIFF block inside a JPEG's Exif APP1 segment, or null. */
function findTiff(buf: Buffer): Buffer | null {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= buf.length) {
    if (buf[i] !== 0xff) return null;
    const marker = buf[i + 1];
    if (marker === 0xda || marker === 0xd9) return null; // image data starts: no EXIF before it
    const len = buf.readUInt16BE(i + 2);
    if (len < 2 || i + 2 + len > buf.length) return null;
    if (marker === 0xe1 && len >= 8 && buf.toString('latin1', i + 4, i + 10) === 'Exif\0\0') return buf.subarray(i + 10, i + 2 + len);
    i += 2 + len;
  }
  return null;
}

interface Entry {
  type: number;
  count: number;
  /** Offset of the value inside the TIFF block. */
  at: number;
}

function readIfd(t: Buffer, le: boolean, off: number): Map<number, Entry> {
  const out = new Map<number, Entry>();
  if (off < 8 || off + 2 > t.length) return out;
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const u32 = (o: number) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o));
  const n = u16(off);
  for (let k = 0; k < n && k < 512; k++) {
    const e = off + 2 + k * 12;
    if (e + 12 > t.length) break;
    const type = u16(e + 2);
    const count = u32(e + 4);
    const size = (TYPE_SIZE[type] ?? 0) * count;
    if (size === 0) continue;
    const at = size <= 4 ? e + 8 : u32(e + 8);
    if (at + size > t.length) continue;
    out.set(u16(e), { type, count, at });
  }
  return out;
}

export function readPhotoExif(buf: Buffer): PhotoExif | null {
  const t = findTiff(buf);
  if (!t || t.length < 8) return null;
  const order = t.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const le = order === 'II';
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const u32 = (o: number) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o));
  if (u16(2) !== 42) return null;
  const ifd0 = readIfd(t, le, u32(4));
  const ascii = (e: Entry | undefined) => (e && e.type === 2 ? t.toString('latin1', e.at, e.at + e.count).replace(/\0.*$/s, '') : undefined);
  const rational = (e: Entry | undefined, i: number) => {
    if (!e || e.type !== 5 || i >= e.count) return undefined;
    const den = u32(e.at + i * 8 + 4);
    return den === 0 ? undefined : u32(e.at + i * 8) / den;
  };
  const num = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : undefined);
  const out: PhotoExif = {};

  const exifPtr = ifd0.get(0x8769);
  const exif = exifPtr && exifPtr.type === 4 ? readIfd(t, le, u32(exifPtr.at)) : new Map<number, Entry>();
  const dt = ascii(exif.get(0x9003)) ?? ascii(ifd0.get(0x0132));
  const m = dt?.match(/^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})/);
  if (m) out.taken_at = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;

  const gpsPtr = ifd0.get(0x8825);
  if (gpsPtr && gpsPtr.type === 4) {
    const gps = readIfd(t, le, u32(gpsPtr.at));
    const dms = (tag: number) => {
      const e = gps.get(tag);
      const [d, mi, s] = [rational(e, 0), rational(e, 1) ?? 0, rational(e, 2) ?? 0];
      return d === undefined ? undefined : d + mi / 60 + s / 3600;
    };
    const lat = dms(2);
    const lon = dms(4);
    const latRef = ascii(gps.get(1));
    const lonRef = ascii(gps.get(3));
    if (lat !== undefined && lat <= 90) out.lat = Math.round((latRef === 'S' ? -lat : lat) * 1e7) / 1e7;
    if (lon !== undefined && lon <= 180) out.lon = Math.round((lonRef === 'W' ? -lon : lon) * 1e7) / 1e7;
    const az = num(rational(gps.get(0x11), 0));
    if (az !== undefined && az >= 0 && az <= 360) {
      out.azimuth = Math.round(az * 100) / 100;
      const ref = ascii(gps.get(0x10));
      if (ref === 'T' || ref === 'M') out.azimuth_ref = ref;
    }
  }
  return Object.keys(out).length > 0 ? out : null;
}
