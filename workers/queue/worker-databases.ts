/**
 * Which database each connected `tuban worker` runs on, for `tuban batch --queue` to ask before it
 * changes anything in Redis (enqueue-batch.ts `assertQueuedFromSameDatabase`). Each worker writes its
 * database (database-identity.ts, with its URL without the password) into the hash
 * `<prefix>:<queue>:tuban-databases` under its name (`host:pid`, as `processedBy` says it) when it
 * starts, every ANNOUNCE_EVERY_MS while it runs and each time its connection is ready again (a Redis
 * restarted without its data), and removes it when it closes. An entry is read only while it is
 * fresh (written within ENTRY_TTL_MS by Redis's clock, so hosts' clocks do not matter) and, where Redis
 * answers CLIENT LIST, while a worker of that name is connected: a worker killed (-9, OOM, a reboot)
 * never withdraws its entry, which would otherwise vouch for its database for ever. Stale entries are
 * dropped when read.
 */
import type { Queue } from 'bullmq';
import type { DatabaseIdentity } from '../../pipeline/store/database-identity.js';

export const WORKER_DATABASES_KEY = 'tuban-databases';
/** How often a running worker writes its entry again. */
export const ANNOUNCE_EVERY_MS = 20_000;
/** How long an entry vouches for its worker after it was written: a few missed writes (a Redis hiccup). */
export const ENTRY_TTL_MS = 90_000;

export type WorkerDatabase = DatabaseIdentity & { url: string };

interface HashClient {
  time(): Promise<[string, string]>;
  hset(key: string, field: string, value: string): Promise<unknown>;
  hdel(key: string, ...fields: string[]): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
}

/** The Redis client BullMQ holds for `queue` (a Queue or a Worker). */
async function clientOf(queue: Pick<Queue, 'getBackend'>): Promise<HashClient> {
  return (queue.getBackend() as unknown as { client: Promise<HashClient> }).client;
}

/** Redis's own clock, ms. */
async function redisNow(client: HashClient): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Writes this worker's database under its name, stamped with Redis's time. */
export async function announceDatabase(worker: Pick<Queue, 'getBackend' | 'toKey'>, name: string, database: WorkerDatabase): Promise<void> {
  const client = await clientOf(worker);
  await client.hset(worker.toKey(WORKER_DATABASES_KEY), name, JSON.stringify({ ...database, seenAt: await redisNow(client) }));
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
  const client = await clientOf(queue);
  const key = queue.toKey(WORKER_DATABASES_KEY);
  const entries = await client.hgetall(key);
  const [connected, now] = await Promise.all([connectedWorkers(queue), redisNow(client)]);
  const out: WorkerDatabase[] = [];
  const stale: string[] = [];
  for (const [name, json] of Object.entries(entries)) {
    let d: Partial<WorkerDatabase> & { seenAt?: unknown };
    try {
      d = JSON.parse(json) as typeof d;
    } catch {
      stale.push(name); // Not one a worker wrote: nothing to go by.
      continue;
    }
    const fresh = typeof d.seenAt === 'number' && now - d.seenAt <= ENTRY_TTL_MS;
    if (!fresh || (connected && !connected.includes(name))) {
      stale.push(name);
      continue;
    }
    if (typeof d.database === 'string' && typeof d.schema === 'string' && typeof d.url === 'string') out.push({ system: d.system ?? null, id: d.id ?? null, database: d.database, schema: d.schema, url: d.url });
  }
  // A worker that comes back writes its entry again within ANNOUNCE_EVERY_MS.
  if (stale.length) await client.hdel(key, ...stale).catch(() => undefined);
  return out;
}
