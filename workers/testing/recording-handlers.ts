/**
 * Small real handlers for queue-layer tests, written before the pipeline's own handlers
 * existed: they write rows to a real PostgreSQL schema, so a test can check exactly which
 * tiles ran, how often, on which worker, and what the finaliser saw.
 */
import type pg from 'pg';
import type { JobContext, JobHandlers } from '../../schemas/jobs.js';

export interface RecordingOptions {
  /** Runs before a tile's row is written; throw to fail the attempt, await to make it slow. */
  beforeTile?: (tileId: string, attempt: number, ctx: JobContext) => Promise<void>;
  /** Stored with each attempt, to tell workers apart. */
  workerLabel?: string;
}

export async function createRecordingTables(pool: pg.Pool): Promise<void> {
  await pool.query(`
    create table if not exists tile_attempts (id serial primary key, batch_id text, tile_id text, worker text, at timestamptz default clock_timestamp());
    create table if not exists tile_results (batch_id text, tile_id text, worker text, primary key (batch_id, tile_id));
    create table if not exists finalised (batch_id text primary key, tiles int, runs int default 1);
  `);
}

export function recordingHandlers(pool: pg.Pool, opts: RecordingOptions = {}): JobHandlers {
  const worker = opts.workerLabel ?? `pid-${process.pid}`;
  return {
    async 'tile.detect'({ batchId, tileId }, ctx) {
      const { rows } = await pool.query<{ n: number }>(
        `insert into tile_attempts (batch_id, tile_id, worker) values ($1, $2, $3) returning (select count(*)::int + 1 from tile_attempts where batch_id = $1 and tile_id = $2) as n`,
        [batchId, tileId, worker],
      );
      ctx.progress(0.5);
      await opts.beforeTile?.(tileId, rows[0].n, ctx);
      await pool.query(`insert into tile_results values ($1, $2, $3) on conflict do nothing`, [batchId, tileId, worker]);
      ctx.progress(1);
      return { tileId };
    },
    async 'batch.finalise'({ batchId }) {
      const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from tile_results where batch_id = $1`, [batchId]);
      await pool.query(`insert into finalised values ($1, $2) on conflict (batch_id) do update set runs = finalised.runs + 1`, [batchId, rows[0].n]);
      return { tiles: rows[0].n };
    },
  };
}
