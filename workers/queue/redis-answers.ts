/**
 * One question to Redis before a command that only asks it (`tuban status`) or enqueues and then
 * follows (`tuban batch --queue`): BullMQ's connections reconnect forever (`connection.ts`), which
 * is right for a worker riding out a Redis restart, but a command started while Redis is down then
 * hung, printing a stack trace a second, and never said which Redis it was waiting for.
 */
import { Redis } from 'ioredis';
import { TubanError } from '../../schemas/errors.js';
import { redactUrl } from '../../pipeline/redact-url.js';

/**
 * ioredis options for one question asked once: no reconnecting, no queue while away, no retries,
 * the connect bounded (a worker's own connections reconnect forever, which is right for them).
 */
export function oneQuestionOptions(timeoutMs: number) {
  return { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false } as const;
}

/**
 * Resolves once Redis answers PING; throws QUEUE.TRANSIENT naming it when it does not within
 * `timeoutMs`, the whole check: ioredis' `connectTimeout` ends once the socket connects, so a port
 * that accepts and never answers (a firewall, another service, a Redis loading its file) hung.
 */
export async function assertRedisAnswers(url: string, timeoutMs = 10_000): Promise<void> {
  const client = new Redis(url, oneQuestionOptions(timeoutMs));
  let lastError: Error | undefined;
  // Without a listener ioredis prints each connection error itself.
  client.on('error', (err: Error) => (lastError ??= err));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), late]);
  } catch (err) {
    const reason = (lastError ?? (err instanceof Error ? err : new Error(String(err)))).message;
    throw new TubanError('QUEUE.TRANSIENT', `Redis at ${redactUrl(url)} does not answer (${reason}): start it, or check REDIS_URL`);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
