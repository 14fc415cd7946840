/**
 * Evidence files under `<data>/evidence/<aa>/<sha256>`: content-addressed (the same photo uploaded
 * twice is stored once; a name can never point outside the directory), type-checked by magic bytes
 * (JPEG or PDF, whatever the client claims), size-limited, written to a temporary name and renamed.
 */
import { createHash } from 'node:crypto';
import { rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { makeDirectory } from '../../pipeline/make-directory.js';
import { ApiError } from '../errors.js';
import { readPhotoExif, type PhotoExif } from './exif.js';

/** 20 MiB: a phone photo at full resolution is 3–8 MB; a scanned approval document a few MB. */
export const MAX_EVIDENCE_BYTES = 20 * 1024 * 1024;

export type EvidenceMime = 'image/jpeg' | 'application/pdf';

export function sniffType(buf: Buffer): EvidenceMime | null {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'image/jpeg';
  if (buf.length >= 5 && buf.toString('latin1', 0, 5) === '%PDF-') return 'application/pdf';
  return null;
}

/** A display name: one path segment, no control characters, no '..', at most 200 characters. */
export function checkFileName(name: string): string {
  const n = name.normalize('NFC');
  // eslint-disable-next-line no-control-regex
  if (n.length === 0 || n.length > 200 || /[\\/\u0000-\u001f\u007f]/.test(n) || n === '.' || n.includes('..')) {
    throw new ApiError('EVIDENCE.BAD_NAME', JSON.stringify(name.slice(0, 80)));
  }
  return n;
}

const EXTENSION: Record<EvidenceMime, { ends: RegExp; add: string }> = {
  'image/jpeg': { ends: /\.jpe?g$/i, add: '.jpg' },
  'application/pdf': { ends: /\.pdf$/i, add: '.pdf' },
};

/**
 * The name a file is saved under: its display name, with its type's extension added when the name
 * does not end in it. The type is the content's (sniffType), the name the uploader's: a PDF named
 * `笔录.html` saved as such would open from the downloads folder as a page.
 */
export function downloadName(name: string, mime: string): string {
  const ext = EXTENSION[mime as EvidenceMime];
  return !ext || ext.ends.test(name) ? name : `${name}${ext.add}`;
}

export interface StoredEvidence {
  sha256: string;
  mime: EvidenceMime;
  size: number;
  exif: PhotoExif | null;
  /** Whether this call wrote the file (an identical one may have been stored before, for any case). */
  created: boolean;
}

export function evidencePath(dataDir: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ApiError('INTERNAL', 'bad evidence hash');
  return join(dataDir, 'evidence', sha256.slice(0, 2), sha256);
}

/** Check and store a file; the caller records the row (in the same transaction as its audit entry). */
export async function storeEvidence(dataDir: string, buf: Buffer, maxBytes = MAX_EVIDENCE_BYTES): Promise<StoredEvidence> {
  if (buf.length === 0) throw new ApiError('EVIDENCE.EMPTY');
  if (buf.length > maxBytes) throw new ApiError('EVIDENCE.TOO_LARGE', `${buf.length} bytes > ${maxBytes}`);
  const mime = sniffType(buf);
  if (!mime) throw new ApiError('EVIDENCE.BAD_TYPE');
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const path = evidencePath(dataDir, sha256);
  const exists = await stat(path).then(
    (s) => s.size === buf.length,
    () => false,
  );
  if (!exists) {
    await makeDirectory(join(dataDir, 'evidence', sha256.slice(0, 2)));
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, buf, { mode: 0o640 });
    await rename(tmp, path);
  }
  return { sha256, mime, size: buf.length, exif: mime === 'image/jpeg' ? readPhotoExif(buf) : null, created: !exists };
}

/**
 * Removes a file this request stored when its row was not recorded (the action was refused), unless
 * a row references the same bytes; so a refused upload leaves nothing on disk.
 */
export async function discardUnrecorded(db: Queryable, dataDir: string, stored: StoredEvidence): Promise<void> {
  if (!stored.created) return;
  const used = await db.query('SELECT 1 FROM evidence WHERE sha256 = $1 LIMIT 1', [stored.sha256]);
  if (used.rows.length === 0) await unlink(evidencePath(dataDir, stored.sha256)).catch(() => {});
}
