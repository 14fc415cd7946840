/**
 * How the queue layer reaches Redis. Every producer, worker and follower takes the same
 * `QueueTarget`, so tests (and two Tuban deployments sharing one Redis) isolate themselves
 * with their own queue name and key prefix.
 */
import type { ConnectionOptions } from 'bullmq';
import { config } from '../../pipeline/config.js';

export interface QueueTarget {
  /** A `redis://` URL or BullMQ connection options. */
  connection: string | ConnectionOptions;
  queueName?: string;
  queuePrefix?: string;
}

/**
 * BullMQ connection options for a Redis URL. `maxRetriesPerRequest: null` is what BullMQ
 * requires for blocking workers; ioredis' default retryStrategy then reconnects forever,
 * which is what lets a worker ride out a Redis restart.
 */
export function redisConnection(connection: string | ConnectionOptions): ConnectionOptions {
  if (typeof connection !== 'string') return connection;
  return { url: connection, maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(times * 100, 2000) };
}

/**
 * Explicit options win; then TUBAN_QUEUE_NAME / TUBAN_QUEUE_PREFIX (so `tuban worker`
 * processes spawned by a benchmark or a second deployment share a private queue without new
 * CLI flags); then the defaults (`pipeline/config.ts`: one queue named `tuban` holds both job
 * names, and the Redis key prefix `tuban` — BullMQ's is `bull` — keeps Tuban's keys recognisable).
 */
export function resolveTarget(target: QueueTarget): { connection: ConnectionOptions; queueName: string; prefix: string } {
  return {
    connection: redisConnection(target.connection),
    queueName: target.queueName ?? config().queueName,
    prefix: target.queuePrefix ?? config().queuePrefix,
  };
}
