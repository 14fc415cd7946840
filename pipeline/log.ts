/**
 * One pino logger per process; jobs and stages get child loggers whose bindings are
 * serialised once (pino's lesson). On a terminal the progress bar owns stderr, so logs
 * go to the batch's log file and only warnings reach the screen.
 */
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
  if (stderrLevel !== 'silent') streams.push({ level: stderrLevel, stream: stderrDestination() });
  if (opts.file) streams.push({ level: level === 'silent' ? 'info' : level, stream: pino.destination({ dest: opts.file, mkdir: true, sync: true }) });
  if (streams.length === 0) return pino({ level: 'silent' });
  return pino({ level: level === 'silent' ? 'silent' : minLevel(level, stderrLevel), base: { pid: process.pid } }, pino.multistream(streams));
}

/**
 * Synchronous JSON lines on fd 2. When the reader closes the pipe (`tuban batch 2>&1 | head`), the
 * write fails with EPIPE, which sonic-boom emits as an 'error' event: with no listener that killed
 * the batch mid-tile. The copy to stderr stops instead; the log file and the batch go on.
 */
function stderrDestination(): pino.DestinationStream {
  const dest = pino.destination({ fd: 2, sync: true });
  let closed = false;
  dest.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  });
  return { write: (line: string) => void (closed || dest.write(line)) };
}

function minLevel(a: string, b: string): Level {
  const order: string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  return order[Math.min(order.indexOf(a), order.indexOf(b))] as Level;
}
