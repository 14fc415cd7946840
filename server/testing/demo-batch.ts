/**
 * Test support: a generated two-epoch scene run through the real batch into an embedded
 * database, so imagery and page tests read real plans, tiles and polygons (no hand-made rows).
 */
import { join } from 'node:path';
import { generateScene } from '../../fixtures/synthetic-scene.js';
import { writeSceneTownships, writeSceneVillages } from '../../fixtures/scene-townships.js';
import type { SceneManifest } from '../../fixtures/synthetic-scene.js';
import { createLogger } from '../../pipeline/log.js';
import { runBatch } from '../../pipeline/batch/run-batch.js';
import type { BatchPlan } from '../../pipeline/batch/plan-batch.js';
import { openDatabase } from '../../pipeline/store/open-database.js';
import { migrate } from '../../pipeline/store/migrations.js';
import type { Database } from '../../pipeline/store/queryable.js';

export interface DemoBatch {
  db: Database;
  scene: SceneManifest;
  plan: BatchPlan;
  out: string;
}

/**
 * Generate a scene in `dir` (`size` px, 2×2 tiles, prior epoch on a CGCS2000 Gauss-Krüger grid so
 * the before imagery is reprojected) and run the batch into `dbTarget` (default in memory), with the
 * scene's 乡镇/街道 layer too when `townships`, and its 村/社区 layer when `villages` (fixtures/scene-townships.ts).
 */
export async function demoBatch(dir: string, opts: { size?: number; seed?: number; dbTarget?: string; townships?: boolean; villages?: boolean } = {}): Promise<DemoBatch> {
  const scene = await generateScene({ dir: join(dir, 'scene'), size: opts.size ?? 384, seed: opts.seed ?? 7, tilesPerSide: 2, priorCrs: 'EPSG:4527', clouds: true });
  const db = await openDatabase(opts.dbTarget ?? 'memory://');
  await migrate(db);
  const out = join(dir, 'out');
  const zones = [scene.zonesPath];
  if (opts.townships) {
    const townships = join(dir, 'townships.geojson');
    await writeSceneTownships(scene.zonesPath, townships);
    zones.push(townships);
  }
  if (opts.villages) {
    const villages = join(dir, 'villages.geojson');
    await writeSceneVillages(scene.zonesPath, villages);
    zones.push(villages);
  }
  const { plan } = await runBatch(
    { epoch: scene.epoch, tiles: [scene.currentDir], prior: [scene.priorDir], zones, bands: ['blue', 'green', 'red', 'nir'] },
    { db, log: createLogger({ level: 'silent' }), out },
  );
  return { db, scene, plan, out };
}
