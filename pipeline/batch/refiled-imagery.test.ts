/**
 * A month's batch over the very acquisition an earlier month filed (last month's folder given as
 * --tiles) is said in a warning; a tile of the same files with another date, or the month's own
 * batch run again, is not. Embedded PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TileInfo } from '../../geo/tile-reader.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { upsertBatch, upsertTiles } from '../store/repository.js';
import type { BatchArgs } from './batch-args.js';
import { refiledImageryWarnings } from './refiled-imagery.js';

let db: Database;
beforeAll(async () => {
  db = await openDatabase('memory://');
  await migrate(db);
}, 120_000);
afterAll(async () => {
  await db?.close();
});

const tile = (id: string, date: string) => ({ tile: { id, date, files: [`/data/${id}.tif`] } as unknown as TileInfo, priorIds: [], bands: [] });
const plan = (batchId: string, epoch: string, tiles: ReturnType<typeof tile>[]) => ({ batchId, args: { epoch } as BatchArgs, tiles });

describe('refiledImageryWarnings', () => {
  it("names a current tile an earlier month's batch already filed with the same date", async () => {
    await upsertBatch(db, { id: 'b-oct', epoch: '2026-10', params: {} });
    await upsertTiles(db, 'b-oct', [tile('t1', '2026-10-08'), tile('t2', '2026-10-08')].map((t) => ({ tileId: t.tile.id, role: 'current' as const, info: { tile: t.tile } })));
    const nov = plan('b-nov', '2026-11', [tile('t1', '2026-10-08'), tile('t2', '2026-11-05'), tile('t3', '2026-10-08')]);
    const w = await refiledImageryWarnings(db, nov);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain('/data/t1.tif: this acquisition (2026-10-08) was already the current imagery of 2026-10 (batch b-oct)');
    // The month's own re-run, and an earlier month, are not "already filed".
    expect(await refiledImageryWarnings(db, plan('b-oct-2', '2026-10', [tile('t1', '2026-10-08')]))).toEqual([]);
    expect(await refiledImageryWarnings(db, plan('b-sep', '2026-09', [tile('t1', '2026-10-08')]))).toEqual([]);
  });
});
