/**
 * What a worker logs while Redis is away. ioredis reconnects every ≤ 2 s (`connection.ts`) and
 * each refused try is an 'error' event: logged one by one, that was a warning a second (356 lines in
 * 5½ minutes) and then nothing when Redis came back. Now: one warning when the connection is lost,
 * a reminder at most every `remindMs` with how long it has been, and one info line when it is back.
 */
import type { Logger } from 'pino';

export interface RedisOutageLog {
  /** Whether Redis is away now (errors meanwhile are the outage's, not news). */
  readonly down: boolean;
  /** A connection error or close: warns on the first, then reminds at most every `remindMs`. */
  lost(reason: string): void;
  /** The connection is ready again: one info line if it had been lost. */
  back(): void;
}

export function redisOutageLog(log: Logger, where: string, remindMs = 60_000, now: () => number = Date.now): RedisOutageLog {
  let since: number | null = null;
  let lastTold = 0;
  const seconds = () => Math.round((now() - since!) / 1000);
  return {
    get down() {
      return since !== null;
    },
    lost(reason) {
      if (since === null) {
        since = lastTold = now();
        log.warn({ err: reason }, `lost the connection to Redis at ${where}: reconnecting; no job starts or finishes until it is back`);
      } else if (now() - lastTold >= remindMs) {
        lastTold = now();
        log.warn({ err: reason, downS: seconds() }, `Redis at ${where} still does not answer after ${seconds()} s: reconnecting`);
      }
    },
    back() {
      if (since === null) return;
      log.info({ downS: seconds() }, `Redis at ${where} is back after ${seconds()} s`);
      since = null;
    },
  };
}
