/**
 * `tuban batch --wait-db`: the plan is made before the database is waited for, so a mistyped --tiles
 * fails in about a second whatever the wait; but the batch runs on the files as they are once the
 * wait is over. Before, a tile replaced while the batch waited (a re-delivered scene) was run under
 * the id the plan gave the old file. The lock is a real one, held by this process (a live holder).
 */
import { copyFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { acquireDirectoryLock, lockPathFor } from '../pipeline/store/directory-lock.js';
import { TubanError } from '../schemas/errors.js';
import { parseFlags } from './args.js';
import { batchArgsFromFlags, planAndTakeDatabase } from './batch-command.js';

let dir: string;
let scene: SceneManifest;
/** The same ground from another seed: a file to replace the scene's tile with. */
let other: SceneManifest;

const tifsIn = async (d: string) => (await readdir(d)).filter((f) => f.endsWith('.tif')).sort().map((f) => join(d, f));
const argsFor = (tiles: string) =>
  batchArgsFromFlags(parseFlags(['--epoch', scene.epoch, '--tiles', tiles, '--prior', scene.priorDir, '--zones', scene.zonesPath]).flags);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-waitdb-'));
  scene = await generateScene({ dir: join(dir, 'scene'), size: 192, seed: 3, tilesPerSide: 1 });
  other = await generateScene({ dir: join(dir, 'other'), size: 192, seed: 4, tilesPerSide: 1 });
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tuban batch --wait-db', () => {
  it('runs the batch on the files as they are after the wait: a tile replaced meanwhile under its new id', async () => {
    const [tile] = await tifsIn(scene.currentDir);
    const [replacement] = await tifsIn(other.currentDir);
    expect((await stat(replacement)).size).not.toBe((await stat(tile)).size);
    const idOf = async (path: string) => (await catalogueTiles([path])).tiles[0].id;
    const oldId = await idOf(tile);

    const db = join(dir, 'db');
    const holder = await acquireDirectoryLock(db);
    let newId: string | undefined;
    let done: Promise<void> | undefined;
    const { planned, lock } = await planAndTakeDatabase(argsFor(scene.currentDir), db, {
      waitSeconds: 60,
      pollMs: 20,
      // While the batch waits: the tile is re-delivered, then the other process finishes.
      onWait: () => {
        done = (async () => {
          await copyFile(replacement, tile);
          newId = await idOf(tile);
          await holder.release();
        })();
      },
    });
    await done;
    await lock!.release();
    expect(newId).toBeDefined();
    expect(newId).not.toBe(oldId);
    expect(planned.plan.rejected).toEqual([]);
    expect(planned.plan.tiles.map((t) => t.tile.id)).toEqual([newId]);
    expect(planned.plan.tiles[0].tile.files).toEqual([tile]);
  }, 60_000);

  it('fails a mistyped --tiles before waiting for the database, leaving the holder its lock', async () => {
    const db = join(dir, 'db-held');
    const holder = await acquireDirectoryLock(db);
    const waits: string[] = [];
    const started = Date.now();
    const missing = join(dir, 'sceen', 'current');
    try {
      const err = await planAndTakeDatabase(argsFor(missing), db, { waitSeconds: 60, onWait: (m) => waits.push(m) }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(TubanError);
      expect((err as TubanError).code).toBe('TILE.NOT_FOUND');
      expect((err as TubanError).message).toContain(`${missing}: does not exist`);
      expect(waits).toEqual([]);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(JSON.parse(await readFile(lockPathFor(db), 'utf8')).token).toBe(holder.holder.token);
    } finally {
      await holder.release();
    }
  });
});
