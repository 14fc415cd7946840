/**
 * One error base with stable codes. A code keeps its meaning across process
 * boundaries (worker threads, BullMQ jobs): serialise with toJSON, rebuild with fromJSON.
 * `DISPOSITION` is the one table that decides what the batch does with each code.
 */

export type ErrorCode =
  | 'TILE.UNREADABLE' // corrupt / truncated / not a TIFF, or its GDAL .aux.xml sidecar cannot be read
  | 'TILE.CRS_MISSING'
  | 'TILE.CRS_UNSUPPORTED'
  | 'TILE.BAND_MISMATCH' // wrong band count or missing bands
  | 'TILE.NO_OVERLAP' // no prior tile covers it
  | 'TILE.PRIOR_NOT_EARLIER' // the prior tiles over it are not dated before it (epochs swapped?)
  | 'TILE.DATE_MISMATCH' // dated after the batch's month (wrong --epoch?)
  | 'TILE.ALREADY_FILED' // the very acquisition an earlier month's batch used as its current imagery (last month's folder?)
  | 'TILE.DUPLICATE' // a current tile given twice in one batch (its imagery under other names, or its names with other pixels): the original is used
  | 'TILE.NOT_OBSERVABLE' // hardly a pixel valid in both epochs (nodata, cloud): nothing to compare
  | 'TILE.NOT_FOUND' // --tiles or --prior gave nothing to read (a folder that does not exist or holds no tile): the batch stops
  | 'TILE.DATE_MISSING'
  | 'TILE.FORMAT_UNSUPPORTED' // recognised but not read (.SAFE / JPEG 2000, zip): the message says how to convert
  | 'RASTER.TOO_LARGE' // allocation would exceed the byte cap
  | 'ZONES.UNREADABLE'
  | 'ZONES.EMPTY'
  | 'ZONES.CRS_MISSING'
  | 'ZONES.INVALID_GEOMETRY'
  | 'ZONES.UNKNOWN_KIND'
  | 'ZONES.NO_DISTRICTS' // no usable district layer: every code and lead bureau would be wrong
  | 'RULES.INVALID'
  | 'CONFIG.INVALID' // a TUBAN_* environment variable out of its range
  | 'INPUT.NOT_FOUND'
  | 'OUTPUT.WRITE_FAILED' // an output file could not be written: none was replaced
  | 'LEDGER.DUPLICATE_CODE' // the ledger lists a code twice
  | 'LEDGER.UNKNOWN_CODE' // a workflow disposition for a code the ledger does not hold
  | 'LEDGER.DUPLICATE_DISPOSITION'
  | 'LEDGER.BAD_GEOMETRY' // a clue geometry no export format can hold
  | 'LEDGER.BAD_REQUEST' // unknown format, malformed epoch or quarter
  | 'DB.TRANSIENT' // connection dropped, serialisation failure: retry
  | 'DB.LOCKED' // the embedded database directory is held by another process
  | 'DB.TOO_NEW' // the database was upgraded by a later Tuban: refused, never written
  | 'DB.SERVER_OLDER' // an earlier Tuban's tuban serve holds the embedded database: not upgraded under it
  | 'DB.SETUP' // the PostgreSQL server refuses the database as set up: none of that name, a role or password it does not take, no PostGIS; a queued job from another database than its worker's
  | 'BATCH.CANNOT_REPLACE' // --replaces names no finished batch of the month
  | 'BATCH.TILES_FAILED' // a queued batch's tile job(s) failed for good (retries spent, or a fail code): not finalised
  | 'BACKUP.INVALID' // a backup that cannot be restored here (damaged, newer than this Tuban, a database not empty)
  | 'QUEUE.TRANSIENT'
  | 'INTERNAL';

/** What the batch does: skip = report the input by name and carry on; retry = transient; fail = stop the batch. */
export type Disposition = 'skip' | 'retry' | 'fail';

export const DISPOSITION: Record<ErrorCode, Disposition> = {
  'TILE.UNREADABLE': 'skip',
  'TILE.CRS_MISSING': 'skip',
  'TILE.CRS_UNSUPPORTED': 'skip',
  'TILE.BAND_MISMATCH': 'skip',
  'TILE.NO_OVERLAP': 'skip',
  'TILE.NOT_OBSERVABLE': 'skip',
  'TILE.PRIOR_NOT_EARLIER': 'skip',
  'TILE.DATE_MISMATCH': 'skip',
  'TILE.ALREADY_FILED': 'skip',
  'TILE.DUPLICATE': 'skip',
  'TILE.NOT_FOUND': 'fail',
  'TILE.DATE_MISSING': 'skip',
  'TILE.FORMAT_UNSUPPORTED': 'skip',
  'RASTER.TOO_LARGE': 'skip',
  'ZONES.UNREADABLE': 'skip',
  'ZONES.EMPTY': 'skip',
  'ZONES.CRS_MISSING': 'skip',
  'ZONES.INVALID_GEOMETRY': 'skip',
  'ZONES.UNKNOWN_KIND': 'skip',
  'ZONES.NO_DISTRICTS': 'fail',
  'RULES.INVALID': 'fail',
  'CONFIG.INVALID': 'fail',
  'OUTPUT.WRITE_FAILED': 'fail',
  'INPUT.NOT_FOUND': 'skip',
  'LEDGER.DUPLICATE_CODE': 'fail',
  'LEDGER.UNKNOWN_CODE': 'fail',
  'LEDGER.DUPLICATE_DISPOSITION': 'fail',
  'LEDGER.BAD_GEOMETRY': 'fail',
  'LEDGER.BAD_REQUEST': 'fail',
  'DB.TRANSIENT': 'retry',
  'DB.LOCKED': 'fail',
  'DB.TOO_NEW': 'fail',
  'DB.SERVER_OLDER': 'fail',
  'DB.SETUP': 'fail',
  'BATCH.CANNOT_REPLACE': 'fail',
  'BATCH.TILES_FAILED': 'fail',
  'BACKUP.INVALID': 'fail',
  'QUEUE.TRANSIENT': 'retry',
  INTERNAL: 'fail',
};

export interface TubanErrorJSON {
  code: ErrorCode;
  message: string;
  /** The input the error is about (file path, feature id), so reports can name it. */
  subject?: string;
}

export class TubanError extends Error {
  override readonly name = 'TubanError';
  readonly code: ErrorCode;
  readonly subject?: string;

  constructor(code: ErrorCode, message: string, subject?: string, options?: { cause?: unknown }) {
    super(subject ? `${subject}: ${message}` : message, options);
    this.code = code;
    this.subject = subject;
  }

  get disposition(): Disposition {
    return DISPOSITION[this.code];
  }

  toJSON(): TubanErrorJSON {
    return { code: this.code, message: this.message, subject: this.subject };
  }

  static fromJSON(json: TubanErrorJSON): TubanError {
    const err = new TubanError(json.code, json.message);
    Object.defineProperty(err, 'subject', { value: json.subject });
    return err;
  }
}

/** Any thrown value as a TubanError (unknown errors become INTERNAL, keeping the cause). */
export function asTubanError(err: unknown, subject?: string): TubanError {
  if (err instanceof TubanError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TubanError('INTERNAL', message, subject, { cause: err });
}
