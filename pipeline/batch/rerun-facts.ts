/**
 * What a batch's store did to what the month held before: the same batch run again (same inputs,
 * same id), a run resumed after a crash, or a batch over tiles another batch of the month held (a
 * corrected zone file, `--replaces`). Codes found again keep their cases (keyed by code), so a
 * re-run adds nothing to the bureaus' inboxes but its new codes; the report says so in numbers.
 */
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import type { HeldPolygon } from '../store/repository.js';
import type { BatchReport } from './batch-report.js';

/** The batch's row as this run found it: when it was first planned, and when a run of it last finished (null: none has). */
export interface EarlierRuns {
  createdAt: Date;
  finishedAt: Date | null;
}

export function rerunFacts(batchId: string, runs: EarlierRuns | null, held: readonly HeldPolygon[], stored: readonly MonitoringPolygon[]): BatchReport['rerun'] {
  const own = held.some((h) => h.batchId === batchId);
  // A first run, or one resumed after a crash before any polygon was stored: nothing was issued before.
  if (held.length === 0 && !runs?.finishedAt) return undefined;
  const now = new Set(stored.map((p) => p.code));
  const before = new Set(held.map((h) => h.code));
  const kept = held.filter((h) => now.has(h.code));
  const gone = held.filter((h) => !now.has(h.code));
  const casesKept = kept.filter((h) => h.hasCase).length;
  return {
    earlier: runs?.finishedAt ? 'finished' : own ? 'interrupted' : null,
    firstRunAt: runs && (runs.finishedAt || own) ? runs.createdAt.toISOString() : null,
    supersedes: [...new Set(held.map((h) => h.batchId).filter((id) => id !== batchId))].sort(),
    polygonsBefore: held.length,
    codesKept: kept.length,
    codesNew: stored.filter((p) => !before.has(p.code)).length,
    codesGone: gone.length,
    casesKept,
    // A code with no case yet gets one at the server's next pass; new codes never name an earlier case.
    casesNew: stored.length - casesKept,
    casesGone: gone.filter((h) => h.hasCase).length,
  };
}
