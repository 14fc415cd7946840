/**
 * `--replaces` checks, on an in-memory PGlite: a batch another batch already replaced holds none of
 * the month's sites any more (they went to the batch that replaced it), so replacing it again took
 * nothing and left the month with both batches' sites, each twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { storePlan } from './batch-store.js';
import type { BatchPlan } from './plan-batch.js';

let db: Database;

beforeAll(async () => {
  db = await openDatabase('memory://');
  await migrate(db);
}, 120_000);

afterAll(async () => {
  await db?.close();
});

const plan = (batchId: string, replaces: string[]): BatchPlan =>
  ({ batchId, plannedAt: '2026-11-02T00:00:00Z', args: { epoch: '2026-10', tiles: [], prior: [], zones: [], replaces }, tiles: [], prior: [], rejected: [] }) as unknown as BatchPlan;

describe('storePlan --replaces', () => {
  it('refuses a batch another batch replaced, naming that one; the batch that replaced it may run again', async () => {
    await db.query(`INSERT INTO batches (id, epoch, status) VALUES ('202610-aaaaaaaaaaaa', '2026-10', 'done'), ('202610-bbbbbbbbbbbb', '2026-10', 'done')`);
    await db.query(`UPDATE batches SET replaced_by = '202610-bbbbbbbbbbbb' WHERE id = '202610-aaaaaaaaaaaa'`);
    const refused = storePlan(db, plan('202610-cccccccccccc', ['202610-aaaaaaaaaaaa']));
    await expect(refused).rejects.toMatchObject({ code: 'BATCH.CANNOT_REPLACE' });
    await expect(refused).rejects.toThrow(/202610-aaaaaaaaaaaa was replaced by batch 202610-bbbbbbbbbbbb: replace that one/);
    await storePlan(db, plan('202610-bbbbbbbbbbbb', ['202610-aaaaaaaaaaaa']));
  });
});
