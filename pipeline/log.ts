/**
 * One pino logger per process; jobs and stages get child loggers whose bindings are
 * serialised once (pino's lesson). On a terminal the progress bar owns stderr, so logs
 * go to the batch's log file and only warnings reach the screen.
 */
import { isatty } from 'node:tty';
import { pino, type Logger, type Level } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: Level | 'silent';
  /** Write JSON lines here (besides stderr). */
  file?: string;
  /** Minimum level that reaches stderr (e.g. 'warn' while a progress bar is drawn). */
  stderrLevel?: Level | 'silent';
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const streams: pino.StreamEntry[] = [];
  const stderrLevel = opts.stderrLevel ?? level;
  if (stderrLevel !== 'silent') streams.push({ level: stderrLevel, stream: stdioDestination(2) });
  if (opts.file) streams.push({ level: level === 'silent' ? 'info' : level, stream: pino.destination({ dest: opts.file, mkdir: true, sync: true }) });
  if (streams.length === 0) return pino({ level: 'silent' });
  return pino({ level: level === 'silent' ? 'silent' : minLevel(level, stderrLevel), base: { pid: process.pid } }, pino.multistream(streams));
}

/**
 * Whether a failed write to standard output or error means nobody reads it any more: EPIPE (the
 * reader closed the pipe: `tuban batch 2>&1 | head`), or EIO on what was a terminal when the process
 * started (the terminal closed: an SSH session ended under a command started without nohup). What
 * goes there is a copy for a person; the work and its files must not die of it. Any other error, and
 * EIO on a file, is real.
 */
export function readerGone(err: NodeJS.ErrnoException, wasTerminal: boolean): boolean {
  return err.code === 'EPIPE' || (err.code === 'EIO' && wasTerminal);
}

/**
 * Synchronous JSON lines on fd 1 or 2 that stop, instead of throwing, once the reader is gone
 * (`readerGone`): sonic-boom emits the failed write as an 'error' event, which with no listener
 * killed a batch mid-tile, and pino's own default stream on stdout retried a write to a closed
 * terminal forever at exit (a stopped `tuban serve` spinning at 100 % CPU, never exiting).
 */
export function stdioDestination(fd: 1 | 2): pino.DestinationStream {
  const dest = pino.destination({ fd, sync: true });
  const wasTerminal = isatty(fd);
  let gone = false;
  dest.on('error', (err: NodeJS.ErrnoException) => {
    if (!readerGone(err, wasTerminal)) throw err;
    gone = true;
  });
  return { write: (line: string) => void (gone || dest.write(line)) };
}

function minLevel(a: string, b: string): Level {
  const order: string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  return order[Math.min(order.indexOf(a), order.indexOf(b))] as Level;
}
