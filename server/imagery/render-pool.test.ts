import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoBatch, type DemoBatch } from '../testing/demo-batch.js';
import { loadConfig } from '../../pipeline/config.js';
import { createImageryService } from './imagery-service.js';
import { loadEpochScene } from './epoch-scenes.js';
import { RenderPool, defaultImageryWorkers } from './render-pool.js';
import { createTileRenderer, type TileJob } from './tile-renderer.js';
import { footprintBounds } from './epoch-scenes.js';
import { tileAt, tileBounds } from './web-mercator.js';
import { bboxPolygon } from '@turf/bbox-polygon';
import { booleanIntersects } from '@turf/boolean-intersects';

/** Map tile z/x/y as a lon/lat box polygon (as the service picks the satellite tiles a map tile meets). */
function tileBox(z: number, x: number, y: number) {
  const R = 6378137;
  const [x0, y0, x1, y1] = tileBounds(z, x, y);
  const lon = (m: number) => (m / R) * (180 / Math.PI);
  const lat = (m: number) => Math.atan(Math.sinh(m / R)) * (180 / Math.PI);
  return bboxPolygon([lon(x0), lat(y0), lon(x1), lat(y1)]);
}

describe('imagery cut in worker threads', () => {
  let dir: string;
  let demo: DemoBatch;
  /** z/x/y over the scene: its middle and corners from z11 (the whole scene) to z17 (finer than its pixels). */
  let tiles: [number, number, number][];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-render-pool-'));
    demo = await demoBatch(dir);
    const [w, s, e, n] = footprintBounds(demo.plan.tiles.map((t) => t.tile));
    tiles = [];
    for (const z of [11, 13, 14, 15, 16, 17]) {
      for (const [lon, lat] of [[(w + e) / 2, (s + n) / 2], [w + 1e-4, n - 1e-4], [e - 1e-4, s + 1e-4]]) {
        const t = tileAt(lon, lat, z);
        tiles.push([z, t.x, t.y]);
      }
    }
  });
  afterAll(async () => {
    await demo?.db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('cuts the very bytes the calling thread cuts: map tiles of both epochs, png and webp, and chips', async () => {
    const inline = createImageryService(demo.db, { workers: 0 });
    const pooled = createImageryService(demo.db, { workers: 2 });
    try {
      const epoch = demo.scene.epoch;
      let painted = 0;
      for (const side of ['after', 'before'] as const) {
        for (const [z, x, y] of tiles) {
          const a = await inline.tile(epoch, side, z, x, y);
          const b = await pooled.tile(epoch, side, z, x, y);
          expect(b.contentType).toBe(a.contentType);
          expect(b.bytes === null ? null : Buffer.compare(b.bytes, a.bytes!)).toBe(a.bytes === null ? null : 0);
          if (a.bytes && a.bytes.length > 2000) painted++;
        }
        const [z, x, y] = tiles[6];
        const wa = await inline.tile(epoch, side, z, x, y, 'webp');
        const wb = await pooled.tile(epoch, side, z, x, y, 'webp');
        expect(Buffer.compare(wb.bytes!, wa.bytes!)).toBe(0);
      }
      // Not a comparison of empty tiles: most of them show imagery.
      expect(painted).toBeGreaterThan(tiles.length);
      const code = (await demo.db.query<{ code: string }>('SELECT code FROM polygons ORDER BY area_m2 DESC LIMIT 1')).rows[0].code;
      for (const side of ['after', 'before'] as const) {
        const a = await inline.chip(code, side);
        const b = await pooled.chip(code, side);
        expect(Buffer.compare(b.png, a.png)).toBe(0);
        expect(b.date).toBe(a.date);
      }
    } finally {
      await Promise.all([inline.close(), pooled.close()]);
    }
  });

  it("keeps the server's main thread free: a pan's tiles cost it a fraction of cutting them there", async () => {
    const epoch = demo.scene.epoch;
    // The busy time of this thread's event loop while a pan's tiles are cut (fresh service, cold caches).
    const busyMs = async (workers: number) => {
      const svc = createImageryService(demo.db, { workers });
      try {
        await svc.warm(epoch); // scenes, stretches and overviews alike, outside what is measured
        const start = performance.eventLoopUtilization();
        await Promise.all(tiles.flatMap(([z, x, y]) => (['after', 'before'] as const).map((side) => svc.tile(epoch, side, z, x, y))));
        return performance.eventLoopUtilization(start).active;
      } finally {
        await svc.close();
      }
    };
    const inline = await busyMs(0);
    const pooled = await busyMs(1);
    expect(pooled).toBeLessThan(inline / 2);
  });

  it('gives a worker\'s error back as the error the calling thread would throw', async () => {
    const scene = (await loadEpochScene(demo.db, demo.scene.epoch))!;
    const gone = { ...scene.after[0], id: 'gone', files: [join(dir, 'gone.tif')], bands: Object.fromEntries(Object.entries(scene.after[0].bands).map(([b, v]) => [b, { ...v!, file: join(dir, 'gone.tif') }])) };
    const [z, x, y] = tiles[6];
    const job: TileJob = { infos: [gone], z, x, y, stretch: null, format: 'png' };
    const inline = createTileRenderer();
    const pool = new RenderPool(1);
    try {
      const a = await inline.tile(job).then(() => null, (e: Error) => e);
      const b = await pool.tile(job).then(() => null, (e: Error) => e);
      expect(a).not.toBeNull();
      expect(b).toMatchObject({ name: a!.name, message: a!.message, ...('code' in a! ? { code: a.code } : {}) });
      expect(b!.constructor).toBe(a!.constructor);
      // The worker survives it.
      expect(await pool.tile({ ...job, infos: scene.after })).toBeInstanceOf(Uint8Array);
    } finally {
      await Promise.all([inline.close(), pool.close()]);
    }
  });

  it('drops queued tiles whose request went away, and closes without waiting on anything', async () => {
    const scene = (await loadEpochScene(demo.db, demo.scene.epoch))!;
    const pool = new RenderPool(1);
    const gone = new AbortController();
    const jobs = tiles.slice(0, 6).map(([z, x, y]) => pool.tile({ infos: scene.after, z, x, y, stretch: null, format: 'png' }, gone.signal).then(() => 'cut', (e: Error) => e.name));
    gone.abort();
    // Two were with the worker already (they finish, for the cache); the four waiting are dropped.
    expect(await Promise.all(jobs)).toEqual(['cut', 'cut', 'AbortError', 'AbortError', 'AbortError', 'AbortError']);
    expect(pool.started).toBe(1);
    const late = pool.tile({ infos: scene.after, z: tiles[0][0], x: tiles[0][1], y: tiles[0][2], stretch: null, format: 'png' }).catch((e: Error) => e.message);
    await pool.close();
    expect(await late).toMatch(/closed/);
    expect(pool.started).toBe(0);
    await expect(pool.warm(scene.after[0])).rejects.toThrow(/closed/);
  });

  it("builds each overview only where warm() put it: a map tile over several satellite tiles goes to the worker of the lowest id, whatever the order", async () => {
    const scene = (await loadEpochScene(demo.db, demo.scene.epoch))!;
    const side = scene.after;
    expect(side.length).toBeGreaterThan(1);
    const pool = new RenderPool(4);
    try {
      // As the service warms a month: each tile with those whose footprints meet its.
      for (const t of side) await pool.warm(t, side.filter((o) => o !== t && booleanIntersects(o.footprint, t.footprint)));
      const warmed = await pool.overviewsHeld();
      expect(warmed.flat().sort()).toEqual(expect.arrayContaining(side.map((t) => t.id).sort()));
      // The whole scene's tile (every source), in the scene's order and reversed (a chip's own tile first), and each corner's.
      for (const [z, x, y] of tiles.filter(([z]) => z <= 13)) {
        const infos = side.filter((t) => booleanIntersects(t.footprint, tileBox(z, x, y)));
        if (infos.length === 0) continue;
        await pool.tile({ infos, z, x, y, stretch: null, format: 'png' });
        await pool.tile({ infos: [...infos].reverse(), z, x, y, stretch: null, format: 'png' });
      }
      expect(await pool.overviewsHeld()).toEqual(warmed);
    } finally {
      await pool.close();
    }
  });

  it('keeps a process with no server alive while a tile is cut, and lets it exit once it is (an idle worker held it for ever)', async () => {
    const scene = (await loadEpochScene(demo.db, demo.scene.epoch))!;
    const [z, x, y] = tiles[0];
    const jobFile = join(dir, 'one-tile.json');
    await writeFile(jobFile, JSON.stringify({ infos: scene.after, z, x, y, stretch: null, format: 'png' } satisfies TileJob));
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const child = fileURLToPath(new URL('../testing/one-tile-process.ts', import.meta.url));
    // It exits by itself (no close): the timeout fails the test if the idle worker held it.
    const r = await promisify(execFile)(process.execPath, ['--import', './test-support/register-ts.mjs', child, jobFile], { cwd: root, timeout: 60_000 });
    expect(r.stdout).toMatch(/^tile \d{4,} bytes$/m);
  });

  it('sizes the pool one below the cores, 1 to 4, or TUBAN_IMAGERY_WORKERS', () => {
    expect([1, 2, 3, 8, 64].map((c) => defaultImageryWorkers(c))).toEqual([1, 1, 2, 4, 4]);
    expect(loadConfig({ TUBAN_IMAGERY_WORKERS: '0' }).imageryWorkers).toBe(0);
    expect(loadConfig({}).imageryWorkers).toBeUndefined();
    expect(() => loadConfig({ TUBAN_IMAGERY_WORKERS: 'two' })).toThrow(/TUBAN_IMAGERY_WORKERS must be a whole number from 0 to 16, got 'two'/);
    expect(() => new RenderPool(0)).toThrow(/size/);
  });
});
