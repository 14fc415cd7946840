/** `tuban status <batch-id>`: a queued batch's progress, from Redis and the database, as JSON. */
import { batchStatus } from '../workers/queue/batch-status.js';
import { assertRedisAnswers } from '../workers/queue/redis-answers.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { UsageError, one, type Flags } from './args.js';
import { need } from './queue-settings.js';

export async function statusCommand(flags: Flags, positional: string[]): Promise<number> {
  const batchId = positional[0];
  if (!batchId) throw new UsageError('tuban status <batch-id>');
  const redis = need('REDIS_URL');
  await assertRedisAnswers(redis);
  const db = await openDatabase(need('DATABASE_URL', one(flags, 'db')));
  try {
    const status = await batchStatus(redis, db, batchId);
    if (!status) {
      process.stderr.write(`batch ${batchId} is not on the queue\n`);
      return 2;
    }
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    // Also said to a person who reads the JSON through jq or not at all (it is in `warnings` too).
    for (const w of status.warnings) process.stderr.write(`tuban: warning: ${w}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
