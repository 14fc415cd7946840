/**
 * `--wait-db <seconds>`: how long a command waits for another tuban process holding the embedded
 * database directory (default 0: fail at once with DB.LOCKED, exit 75, naming the holder). The
 * waiting and any take-over of a dead process's lock are said on stderr, so an operator sees why a
 * run sits idle.
 */
import type { LockOptions } from '../pipeline/store/directory-lock.js';
import { UsageError, one, type Flags } from './args.js';

/** sysexits' EX_TEMPFAIL: the same command can succeed later, once the holder is done. */
export const EXIT_DB_LOCKED = 75;

export function waitDbSeconds(flags: Flags): number {
  const raw = one(flags, 'wait-db');
  if (raw === undefined) return 0;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0) throw new UsageError(`--wait-db: expected a number of seconds (0 or more), got '${raw}'`);
  return s;
}

/** Lock options for an embedded target from the flags; `note` also gets each message (e.g. the batch log). */
export function lockOptionsFromFlags(flags: Flags, note: (message: string) => void = () => {}): LockOptions {
  const say = (message: string) => {
    process.stderr.write(`tuban: ${message}\n`);
    note(message);
  };
  return { waitSeconds: waitDbSeconds(flags), onWait: say, onTakeover: say };
}

export function isEmbeddedTarget(target: string): boolean {
  return !/^postgres(ql)?:\/\//i.test(target) && !target.startsWith('memory://');
}
