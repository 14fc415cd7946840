/**
 * A failed job's reason, as BullMQ stores it (one string in Redis), keeps the TubanError's
 * code and subject so the finalise job, `tuban status` and any other process can decide by
 * code instead of parsing prose.
 */
import { TubanError, type ErrorCode, DISPOSITION } from '../../schemas/errors.js';

const MARK = 'tuban-error ';

/** `tuban-error {"code":…,"message":…,"subject":…}`: human-readable enough for a dashboard, exact for code. */
export function encodeFailure(err: TubanError): string {
  return MARK + JSON.stringify(err.toJSON());
}

/**
 * The TubanError behind a failedReason. Reasons BullMQ writes itself (e.g. "job stalled more
 * than allowable limit") or foreign errors become INTERNAL, keeping the text.
 */
export function decodeFailure(reason: string | undefined, subject?: string): TubanError {
  if (reason?.startsWith(MARK)) {
    try {
      const json = JSON.parse(reason.slice(MARK.length)) as { code?: string; message?: string; subject?: string };
      if (json.code && json.code in DISPOSITION) {
        return TubanError.fromJSON({ code: json.code as ErrorCode, message: json.message ?? '', subject: json.subject ?? subject });
      }
    } catch {
      // fall through: not ours after all
    }
  }
  return new TubanError('INTERNAL', reason ?? 'unknown failure', subject);
}
