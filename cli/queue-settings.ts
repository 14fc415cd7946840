/**
 * What production mode needs from the environment (`tuban batch --queue`, `tuban worker`,
 * `tuban status`): a PostgreSQL server and Redis. Apart from the commands' modules, which load BullMQ,
 * so that `tuban batch --queue` can refuse a missing one before it makes its --out or a database.
 */
import { config } from '../pipeline/config.js';
import { UsageError } from './args.js';

export function need(name: 'DATABASE_URL' | 'REDIS_URL', flag?: string): string {
  const v = flag ?? (name === 'DATABASE_URL' ? config().databaseUrl : config().redisUrl);
  if (!v) throw new UsageError(`${name} is not set: production mode needs a PostgreSQL+PostGIS server and Redis (see README, "Production")`);
  return v;
}

export const QUEUE_NEEDS_POSTGRES = '--queue needs a PostgreSQL server (--db postgres://… or DATABASE_URL): workers on other machines cannot reach an embedded database';

/** `tuban batch --queue` on `target`: a usage error unless it is a PostgreSQL server and REDIS_URL is set. */
export function checkQueueTarget(target: string): void {
  if (!/^postgres(ql)?:\/\//i.test(target)) throw new UsageError(QUEUE_NEEDS_POSTGRES, 'batch');
  need('REDIS_URL');
}
