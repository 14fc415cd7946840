/**
 * Which database each connected `tuban worker` runs on, for `tuban batch --queue` to ask before it
 * changes anything in Redis (enqueue-batch.ts `assertQueuedFromSameDatabase`). Each worker writes its
 * database (database-identity.ts, with its URL without the password) into the hash
 * `<prefix>:<queue>:tuban-databases` under its name (`host:pid`, as `processedBy` says it) when it
 * starts and each time its connection is ready again (a Redis restarted without its data), and removes
 * it when it closes. The one a killed worker left is read only while a worker of that name is
 * connected (all are, where Redis refuses CLIENT LIST).
 */
import type { Queue } from 'bullmq';
import type { DatabaseIdentity } from '../../pipeline/store/database-identity.js';

export const WORKER_DATABASES_KEY = 'tuban-databases';

export type WorkerDatabase = DatabaseIdentity & { url: string };

interface HashClient {
  hset(key: string, field: string, value: string): Promise<unknown>;
  hdel(key: string, ...fields: string[]): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
}

/** The Redis client BullMQ holds for `queue` (a Queue or a Worker). */
async function clientOf(queue: Pick<Queue, 'getBackend'>): Promise<HashClient> {
  return (queue.getBackend() as unknown as { client: Promise<HashClient> }).client;
}

/** Writes this worker's database under its name. */
export async function announceDatabase(worker: Pick<Queue, 'getBackend' | 'toKey'>, name: string, database: WorkerDatabase): Promise<void> {
  await (await clientOf(worker)).hset(worker.toKey(WORKER_DATABASES_KEY), name, JSON.stringify(database));
}

/** Removes this worker's entry. */
export async function withdrawDatabase(worker: Pick<Queue, 'getBackend' | 'toKey'>, name: string): Promise<void> {
  await (await clientOf(worker)).hdel(worker.toKey(WORKER_DATABASES_KEY), name);
}

/** Names of the workers connected to `queue`, or undefined when Redis refuses CLIENT LIST. */
export async function connectedWorkers(queue: Queue): Promise<string[] | undefined> {
  try {
    const clients = (await queue.getWorkers()) as { rawname?: string }[];
    // A refused CLIENT LIST comes back as one made-up entry without a raw name.
    if (clients.some((c) => c.rawname === undefined)) return undefined;
    // The name follows the queue's own client name (BullMQ's getWorkers() matches on it), which may hold ':w:' itself.
    const named = `${queue.getBackend().clientName()}:w:`;
    return clients.map((c) => (c.rawname!.startsWith(named) ? c.rawname!.slice(named.length) : ''));
  } catch {
    return undefined;
  }
}

/** The databases of the workers connected to `queue` that said theirs (an earlier Tuban's do not). */
export async function workerDatabases(queue: Queue): Promise<WorkerDatabase[]> {
  const entries = await (await clientOf(queue)).hgetall(queue.toKey(WORKER_DATABASES_KEY));
  const connected = await connectedWorkers(queue);
  const out: WorkerDatabase[] = [];
  for (const [name, json] of Object.entries(entries)) {
    if (connected && !connected.includes(name)) continue;
    try {
      const d = JSON.parse(json) as Partial<WorkerDatabase>;
      if (typeof d.database === 'string' && typeof d.schema === 'string' && typeof d.url === 'string') out.push({ system: d.system ?? null, id: d.id ?? null, database: d.database, schema: d.schema, url: d.url });
    } catch {
      // Not one a worker wrote: nothing to go by.
    }
  }
  return out;
}
