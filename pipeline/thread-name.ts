/**
 * Names this OS thread, so `top -H`, `ps -T` and `pidstat -t` show which of a tuban process's
 * threads is busy (`tuban-score`, `tuban-db` …) instead of a column of `node`; the benchmark sums
 * CPU by these names. Linux only (the thread's `comm`, 15 bytes); elsewhere, or where /proc is
 * read-only, nothing happens: a name is a diagnostic, never a reason to fail.
 */
import { writeFileSync } from 'node:fs';

/** The names Tuban's worker threads take (the main thread keeps the process's `node`). */
export type ThreadName = 'tuban-score' | 'tuban-inflate' | 'tuban-db' | 'tuban-zones' | 'tuban-gpkg' | 'tuban-imagery';

export function nameThisThread(name: ThreadName): void {
  if (process.platform !== 'linux') return;
  try {
    writeFileSync('/proc/thread-self/comm', name);
  } catch {
    // A sandbox without /proc/thread-self: the thread stays `node`.
  }
}
