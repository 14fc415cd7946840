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
  if (stderrLevel !== 'silent') streams.push({ level: stderrLevel, stream: pino.destination({ fd: 2, sync: true }) });
  if (opts.file) streams.push({ level: level === 'silent' ? 'info' : level, stream: pino.destination({ dest: opts.file, mkdir: true, sync: true }) });
  if (streams.length === 0) return pino({ level: 'silent' });
  return pino({ level: level === 'silent' ? 'silent' : minLevel(level, stderrLevel), base: { pid: process.pid } }, pino.multistream(streams));
}

function minLevel(a: string, b: string): Level {
  const order: string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  return order[Math.min(order.indexOf(a), order.indexOf(b))] as Level;
}
