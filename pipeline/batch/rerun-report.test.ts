/**
 * Running the same batch again (the same inputs, so the same batch id) replaces its own rows and
 * keeps its codes and the bureaus' cases; the summary said only "Polygons 68 (new 68, …)", which an
 * analyst read as 68 more cases in the inboxes. The report now says it was a re-run (`rerun`), when
 * the batch first ran, and what the database holds: codes kept, new and gone, cases kept and new,
 * and cases whose polygon the run no longer finds. A run resumed after a crash says so; a crash
 * before any polygon was stored leaves nothing issued, and the run reads as a first one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../../fixtures/synthetic-scene.js';
import { migrate } from '../store/migrations.js';
import { openDatabase } from '../store/open-database.js';
import type { Database } from '../store/queryable.js';
import { BatchArgsSchema } from './batch-args.js';
import { planAndStore, runBatch } from './run-batch.js';

describe('a batch run again', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });
  const log = pino({ level: 'silent' });
  let dir: string;
  let scene: SceneManifest;
  const args = () => BatchArgsSchema.parse({ epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones: [scene.zonesPath] });
  const freshDb = async () => {
    const db = await openDatabase('memory://');
    cleanup.push(() => db.close());
    await migrate(db);
    return db;
  };
  /** A case the server opened for `code` (its sync pass does this for every polygon). */
  const openCase = (db: Database, code: string) =>
    db.query(
      `INSERT INTO cases (code, epoch, lead_bureau, co_bureaus, district_code, issued_on, geom_hash)
       SELECT code, epoch, lead_bureau, co_bureaus, district_code, '2026-11-02', md5(ST_AsBinary(geom)) FROM polygons WHERE code = $1`,
      [code],
    );

  it('says it is a re-run of the batch, with the codes and cases it kept, and a first run says nothing of the kind', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-rerun-report-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    scene = await generateScene({ dir, size: 256, seed: 7, tilesPerSide: 1 });
    const db = await freshDb();
    const first = await runBatch(args(), { db, log, out: join(dir, 'first') });
    expect(first.report.rerun).toBeUndefined();
    const n = first.report.counts.polygons;
    expect(n).toBeGreaterThan(3);
    const codes = (await db.query<{ code: string }>('SELECT code FROM polygons ORDER BY code')).rows.map((r) => r.code);
    // The server's pass opened a case for each (the bureaus' inboxes hold them).
    for (const code of codes) await openCase(db, code);
    const created = (await db.query<{ t: Date }>('SELECT created_at AS t FROM batches WHERE id = $1', [first.report.batchId])).rows[0].t;

    const again = await runBatch(args(), { db, log, out: join(dir, 'again') });
    expect(again.report.batchId).toBe(first.report.batchId);
    expect(again.report.rerun).toEqual({
      earlier: 'finished',
      firstRunAt: created.toISOString(),
      supersedes: [],
      polygonsBefore: n,
      codesKept: n,
      codesNew: 0,
      codesGone: 0,
      casesKept: n,
      casesNew: 0,
      casesGone: 0,
    });
  }, 300_000);

  it('a run resumed after a crash that had stored the polygons says so; one that had stored none reads as a first run', async () => {
    const db = await freshDb();
    // Crashed before any polygon was stored: the plan and the batch row only.
    await planAndStore(db, args(), log);
    const resumedEarly = await runBatch(args(), { db, log, out: join(dir, 'early') });
    expect(resumedEarly.report.rerun).toBeUndefined();
    // Crashed after the polygons' transaction, before the batch was marked done.
    await db.query(`UPDATE batches SET status = 'planned', finished_at = NULL, report = NULL`);
    const resumed = await runBatch(args(), { db, log, out: join(dir, 'late') });
    const n = resumed.report.counts.polygons;
    expect(resumed.report.rerun).toMatchObject({ earlier: 'interrupted', polygonsBefore: n, codesKept: n, codesNew: 0, codesGone: 0, casesKept: 0, casesNew: n });
  }, 300_000);
});
