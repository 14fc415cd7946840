/**
 * Node's error for a write the disk refused (ENOSPC, EDQUOT, EIO) names no file: `tuban: Error:
 * ENOSPC: no space left on device, write` said neither where nor what was kept. `atPath` gives it the
 * path it was writing, and the CLI prints it as one line (`cli/tuban.ts`, a place error), exit 1.
 */
export function atPath(err: unknown, path: string, after = ''): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || typeof e.path === 'string') return err;
  const named = new Error(`${path}: ${e.message}${after}`, { cause: err }) as NodeJS.ErrnoException;
  named.code = e.code;
  named.path = path;
  if (e.syscall) named.syscall = e.syscall;
  return named;
}
