/**
 * Every job Tuban runs, declared once. The embedded runner and the BullMQ workers
 * dispatch the same names to the same handlers (`satisfies JobHandlers` makes a
 * missing handler a compile error). Payloads carry ids only: the plan lives in the database,
 * so any worker on any machine can pick up any job.
 */
import { z } from 'zod';

/**
 * The database the batch was enqueued from (pipeline/store/database-identity.ts) and its URL without
 * the password: a worker runs only the jobs of its own database. Absent from jobs an earlier Tuban enqueued
 * (and `id` from those of a Tuban before migration 22).
 */
const EnqueuedFrom = z.object({ system: z.string().nullable(), id: z.string().nullable().default(null), database: z.string(), schema: z.string(), url: z.string() });

export const JobPayloads = {
  /** Detect change on one current-epoch tile against the prior mosaic; stores detections. */
  'tile.detect': z.object({ batchId: z.string(), tileId: z.string(), from: EnqueuedFrom.optional() }),
  /** After every tile: de-duplicate seams, route, code, store polygons, compile the ledger. */
  'batch.finalise': z.object({ batchId: z.string(), from: EnqueuedFrom.optional() }),
} as const;

export type JobName = keyof typeof JobPayloads;
export type JobPayload<N extends JobName> = z.infer<(typeof JobPayloads)[N]>;

/** What a handler may use besides its payload. */
export interface JobContext {
  /** Report progress in [0, 1] of this job. */
  progress(fraction: number): void;
  /** Set when the worker is shutting down: long handlers check it between strips and stop early. */
  readonly signal: AbortSignal;
}

export type JobHandlers = {
  [N in JobName]: (payload: JobPayload<N>, ctx: JobContext) => Promise<unknown>;
};

/** Deterministic job id: the same batch and tile always map to the same job (no duplicates on re-enqueue). */
export function jobId<N extends JobName>(name: N, payload: Pick<JobPayload<N>, 'batchId'> & { tileId?: string }): string {
  return [name, payload.batchId, ...(payload.tileId === undefined ? [] : [payload.tileId])].join('~'); // BullMQ rejects ':' in custom ids
}
