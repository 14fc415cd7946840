/**
 * The finalise job and the storing of a tile's detections, alone, on a copy of a finished batch's
 * embedded database (for example the one `npm run bench` leaves at
 * /tmp/tuban-bench/out-node/tuban_db_10980_0): load the detections, finaliseDetections (zones,
 * seams, overlay, routing, codes, previous sites), store the polygons, then replace the tile's
 * detections as the tile job does. Prints CPU seconds of the whole process (PGlite's thread
 * included) and wall seconds per phase, with the load average: on a shared machine compare CPU,
 * and A/B two builds by running each build's copy of this script on the same database.
 *
 *   node dist/scripts/bench-finalise.js DB_DIR [--repeat N]
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPlan } from '../pipeline/batch/batch-store.js';
import { detectorParamsFor } from '../pipeline/batch/batch-args.js';
import { finaliseDetections } from '../pipeline/batch/finalise-batch.js';
import { detectorStamp, modelsFor } from '../pipeline/detect/detect-tile.js';
import { loadRuleTable } from '../pipeline/route/load-rule-table.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import * as repo from '../pipeline/store/repository.js';

async function once(source: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tuban-bench-finalise-'));
  await cp(source, dir, { recursive: true });
  const db = await openDatabase(dir, { thread: true });
  try {
    const batch = await db.query<{ id: string }>('SELECT id FROM batches ORDER BY id LIMIT 1');
    if (batch.rows.length === 0) throw new Error(`${source}: no batch in this database (run a batch into it first)`);
    const batchId = batch.rows[0].id;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let [cLast, tLast] = [0, 0];
    const lap = (label: string) => {
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1e6;
      const wall = (performance.now() - t0) / 1000;
      console.log(`  ${label.padEnd(24)} cpu ${(cpu - cLast).toFixed(2)} s  wall ${(wall - tLast).toFixed(2)} s`);
      [cLast, tLast] = [cpu, wall];
    };
    const plan = await loadPlan(db, batchId);
    const params = detectorParamsFor(plan.args);
    const stamp = detectorStamp(params, modelsFor(params, plan.tiles.map((t) => t.bands)));
    const detections = await repo.loadDetections(db, batchId);
    lap(`load ${detections.length} detections`);
    const rules = await loadRuleTable(plan.args.rules);
    const result = await finaliseDetections(plan, rules, detections, stamp, (geoms) => repo.findPreviousSites(db, plan.args.epoch, geoms));
    lap('finaliseDetections');
    const tileIds = plan.tiles.map((t) => t.tile.id);
    await repo.storeBatchPolygons(db, batchId, result.polygons, { epoch: plan.args.epoch, tileIds });
    lap(`store ${result.polygons.length} polygons`);
    const finalise = cLast;
    for (const tileId of tileIds) {
      const own = detections.filter((d) => d.tileId === tileId);
      await db.query('DELETE FROM detections WHERE batch_id = $1 AND tile_id = $2', [batchId, tileId]);
      lap(`(delete ${own.length} old rows)`);
      await repo.replaceTileDetections(db, batchId, tileId, own, null);
      lap(`store ${own.length} detections`);
    }
    console.log(`finalise work ${finalise.toFixed(2)} s CPU; load average ${loadavg()[0].toFixed(2)}`);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { repeat: { type: 'string', default: '1' } } });
if (positionals.length !== 1) {
  console.error('usage: node dist/scripts/bench-finalise.js DB_DIR [--repeat N]');
  process.exit(2);
}
for (let k = 0; k < Number(values.repeat); k++) await once(positionals[0]);
