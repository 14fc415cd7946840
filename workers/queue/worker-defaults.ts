/**
 * A worker's job-lock timing (start-worker.ts uses them; why the lock is long is said there), in one
 * place because `tuban status` and `tuban batch --queue` read them too: they tell an operator when a
 * dead worker's job is taken over, and cannot ask the worker, which may be the one that died.
 */
/** A job's lock: renewed every half of it while its worker lives; gone this long after it died. */
export const LOCK_DURATION_MS = 120_000;
/** How often a running worker looks for jobs whose lock has gone, and hands them back to the queue. */
export const STALLED_INTERVAL_MS = 30_000;
/** Times a job is handed back after its worker died; once more and it fails for good. */
export const MAX_STALLED_COUNT = 2;
